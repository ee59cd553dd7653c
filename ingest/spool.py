"""The collector's on-disk spool: batches of line protocol kept while InfluxDB cannot take them.

Layout: one folder per collector (``$FACMON_HOME/spool/<client id>/``) of append-only segment files
``<16-digit sequence>.seg``, oldest first. Each record is one batch:

    magic b"FSP1" | payload length (u32) | line count (u32) | reading count (u32) | CRC-32 (u32) | payload

all big-endian; the payload is the batch's lines joined by ``\\n`` in UTF-8 and the CRC covers the
two counts and the payload. :meth:`Spool.append` fsyncs the record (and the folder when it created a
segment) before returning, so a batch whose MQTT messages are acknowledged afterwards is on disk.

Reading checks every record: a torn write (the collector died mid-append, so the batch was never
acknowledged and the broker redelivers it) or a damaged record is logged as an ERROR with the file
and offset and skipped, resynchronising on the next valid record; it is never passed on silently.

Replay is FIFO: :meth:`peek` returns the oldest record, :meth:`pop` drops it once InfluxDB accepted
it. A segment file is deleted when its last record was popped; the position inside the oldest
segment is kept in ``cursor`` (best effort: losing it only means replaying a few records again,
which is harmless because writes are idempotent). New segments are started on open and when the
current one passes ``segment_bytes``, so nothing is ever appended after a possibly torn tail.

Not thread-safe: the collector's writer thread is its only user.
"""

from __future__ import annotations

import builtins  # Spool.bytes (its size) shadows the type inside the class
import logging
import os
import struct
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from facmon.store import StoreUnavailable

log = logging.getLogger("facmon.ingest.spool")

MAGIC = b"FSP1"
_HEADER = struct.Struct(">4sIIII")  # magic, payload length, lines, readings, crc32
HEADER_BYTES = _HEADER.size
SEGMENT_BYTES = 16 * 1024 * 1024  # a segment is closed once it holds this much
CURSOR_FILE = "cursor"
SUFFIX = ".seg"


class SpoolError(StoreUnavailable):
    """The spool cannot take the batch now (full, or the disk refused the write); the batch stays
    unacknowledged. A StoreUnavailable, so the collector holds and retries it like any store outage."""


class SpoolFull(SpoolError):
    """Taking the batch would pass the spool's size limit."""


@dataclass(frozen=True, slots=True)
class Record:
    """One spooled batch: where it is, and its lines."""

    segment: Path
    offset: int  # of the header, bytes
    end: int  # offset of the next record, bytes
    lines: list[str]
    readings: int  # how many of ``lines`` are readings (the rest are ingest_rejected points)


@dataclass(frozen=True, slots=True)
class _Index:
    """Where a record is and what it holds; the lines stay on disk."""

    segment: Path
    offset: int
    end: int
    lines: int
    readings: int


def _crc(lines: int, readings: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(struct.pack(">II", lines, readings)))


def encode(lines: list[str], readings: int) -> bytes:
    """One record as bytes."""
    payload = "\n".join(lines).encode("utf-8")
    return _HEADER.pack(MAGIC, len(payload), len(lines), readings, _crc(len(lines), readings, payload)) + payload


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """A bounded FIFO of line-protocol batches on disk; see the module docstring.

    ``max_bytes`` bounds the segment files' total size (bytes on disk, including records of the oldest
    segment already replayed but not yet deleted with it)."""

    def __init__(self, folder: Path, max_bytes: int, *, segment_bytes: int = SEGMENT_BYTES):
        if max_bytes < 1:
            raise ValueError("the spool needs a size limit of at least 1 byte")
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._index: deque[_Index] = deque()  # records not yet popped, oldest first
        self._sizes: dict[Path, int] = {}  # bytes of every segment file on disk
        self._lines = 0
        self._readings = 0
        self._writer: _Writer | None = None
        self._next_seq = 1
        self.skipped_bytes = 0  # bytes of torn or damaged records skipped since open
        self._opened = False

    # -- state -------------------------------------------------------------------------------------

    def open(self) -> None:
        """Create the folder if needed and index what an earlier run left; raises OSError if it cannot."""
        self.folder.mkdir(parents=True, exist_ok=True)
        cursor = self._read_cursor()
        segments = sorted(p for p in self.folder.iterdir() if p.suffix == SUFFIX and p.stem.isdigit())
        index: list[_Index] = []
        sizes: dict[Path, int] = {}
        for segment in segments:
            sizes[segment] = segment.stat().st_size
            start = cursor[1] if cursor and cursor[0] == segment.name else 0
            index.extend(self._scan(segment, start))
        # Sequence numbers are never reused, not even one a stale cursor names: the cursor must never
        # point into a newer segment of the same name.
        named = [int(segment.stem) for segment in segments] + (
            [int(cursor[0].split(".")[0])] if cursor and cursor[0].split(".")[0].isdigit() else []
        )
        self._next_seq = max([self._next_seq, *(n + 1 for n in named)])
        self._index = deque(index)
        self._sizes = sizes
        self._lines = sum(entry.lines for entry in index)
        self._readings = sum(entry.readings for entry in index)
        for segment in segments:  # fully replayed or holding only damaged bytes
            if not any(entry.segment == segment for entry in index):
                self._delete(segment)
        self._opened = True
        if self._index:
            log.warning(
                "spool %s holds %d batch(es), %d reading(s), %.1f MB from an earlier run: replaying them to InfluxDB first",
                self.folder,
                len(self._index),
                self._readings,
                self.bytes / 1e6,
            )

    @property
    def bytes(self) -> int:
        """Bytes of segment files on disk."""
        return sum(self._sizes.values())

    @property
    def lines(self) -> int:
        """Lines waiting in the spool."""
        return self._lines

    @property
    def readings(self) -> int:
        """Readings waiting in the spool (lines that are not ingest_rejected points)."""
        return self._readings

    @property
    def batches(self) -> int:
        return len(self._index)

    def __bool__(self) -> bool:
        return bool(self._index)

    def would_fit(self, size: int) -> bool:
        return self.bytes + size <= self.max_bytes

    # -- writing -----------------------------------------------------------------------------------

    def append(self, lines: list[str], readings: int, *, force: bool = False) -> None:
        """Add one batch at the end and fsync it; raises SpoolFull or SpoolError (nothing was added).
        ``force`` passes the size limit (for the few rejection points of a batch being replayed)."""
        if not self._opened:
            try:
                self.open()
            except OSError as exc:
                raise SpoolError(f"spool folder {self.folder} cannot be used: {exc.strerror or exc}") from None
        record = encode(lines, readings)
        if not force and not self.would_fit(len(record)):
            raise SpoolFull(f"spool {self.folder} is full ({self.bytes / 1e6:.1f} of {self.max_bytes / 1e6:.1f} MB)")
        try:
            writer = self._current_writer()
            offset = writer.append(record)
        except OSError as exc:
            self._close_writer()  # the segment may end in a partial record: never append after it
            raise SpoolError(f"cannot write to the spool {self.folder}: {exc.strerror or exc}") from None
        segment = writer.path
        self._sizes[segment] = offset + len(record)
        self._index.append(_Index(segment, offset, offset + len(record), len(lines), readings))
        self._lines += len(lines)
        self._readings += readings

    def _current_writer(self) -> _Writer:
        if self._writer is not None and self._writer.size >= self.segment_bytes:
            self._close_writer()
        if self._writer is None:
            path = self.folder / f"{self._next_seq:016d}{SUFFIX}"
            self._next_seq += 1
            self._writer = _Writer(path)
            self._sizes[path] = 0
            _fsync_dir(self.folder)  # the new file's name must survive a crash too
        return self._writer

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        self._close_writer()

    # -- replay ------------------------------------------------------------------------------------

    def peek(self) -> Record | None:
        """The oldest batch, read from disk and checked; None when the spool is empty.

        A record that no longer reads back intact (the disk damaged it since it was written) is
        logged as an ERROR, dropped, and the next one is returned."""
        while self._index:
            entry = self._index[0]
            try:
                with open(entry.segment, "rb") as handle:
                    handle.seek(entry.offset)
                    data = handle.read(entry.end - entry.offset)
            except OSError as exc:
                raise SpoolError(f"cannot read the spool segment {entry.segment}: {exc.strerror or exc}") from None
            lines = self._decode(data)
            if lines is not None and len(lines) == entry.lines:
                return Record(entry.segment, entry.offset, entry.end, lines, entry.readings)
            log.error(
                "spool %s: the batch at offset %d (%d reading(s)) was damaged on disk since it was written; "
                "it is skipped and those readings are LOST unless the devices resend them",
                entry.segment,
                entry.offset,
                entry.readings,
            )
            self.skipped_bytes += entry.end - entry.offset
            self._forget_oldest()
        return None

    def pop(self, record: Record) -> None:
        """Drop ``record`` (the oldest, as returned by :meth:`peek`) once InfluxDB accepted it."""
        entry = self._index[0]
        if (entry.segment, entry.offset) != (record.segment, record.offset):
            raise ValueError("pop() takes the record peek() returned")
        self._forget_oldest()

    def _forget_oldest(self) -> None:
        entry = self._index.popleft()
        self._lines -= entry.lines
        self._readings -= entry.readings
        if self._index and self._index[0].segment == entry.segment:
            self._write_cursor(entry.segment, entry.end)
            return
        # The segment's last record is gone: delete it (closing it if it is being appended to). The
        # cursor goes first: a crash in between replays the segment again, which is harmless.
        if self._writer is not None and self._writer.path == entry.segment:
            self._close_writer()
        self._remove_cursor()
        self._delete(entry.segment)

    def _delete(self, segment: Path) -> None:
        try:
            segment.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.error("cannot delete the replayed spool segment %s: %s", segment, exc)
            return
        self._sizes.pop(segment, None)

    # -- format ------------------------------------------------------------------------------------

    @staticmethod
    def _decode(data: builtins.bytes) -> list[str] | None:
        if len(data) < HEADER_BYTES:
            return None
        magic, length, lines, readings, crc = _HEADER.unpack_from(data)
        payload = data[HEADER_BYTES : HEADER_BYTES + length]
        if magic != MAGIC or len(payload) != length or _crc(lines, readings, payload) != crc:
            return None
        return payload.decode("utf-8").split("\n") if lines else []

    def _scan(self, segment: Path, start: int) -> list[_Index]:
        """Index a segment's intact records from ``start``; torn or damaged bytes are logged and skipped."""
        data = segment.read_bytes()
        found: list[_Index] = []
        offset = start if start <= len(data) else 0
        while offset < len(data):
            entry = self._record_at(segment, data, offset)
            if entry is not None:
                found.append(entry)
                offset = entry.end
                continue
            # Look for the next record that checks out: a torn append only damages the tail, but a
            # damaged sector in the middle must not hide the records after it.
            resume = data.find(MAGIC, offset + 1)
            while resume != -1 and self._record_at(segment, data, resume) is None:
                resume = data.find(MAGIC, resume + 1)
            end = len(data) if resume == -1 else resume
            self.skipped_bytes += end - offset
            log.error(
                "spool segment %s: %d byte(s) at offset %d are not an intact record (%s); skipped. A torn write at "
                "the end was never acknowledged and the broker redelivers it; damage elsewhere LOSES those readings",
                segment,
                end - offset,
                offset,
                "torn write at the end of the file" if resume == -1 else "damaged record",
            )
            offset = end
        return found

    @staticmethod
    def _record_at(segment: Path, data: builtins.bytes, offset: int) -> _Index | None:
        if len(data) - offset < HEADER_BYTES:
            return None
        magic, length, lines, readings, crc = _HEADER.unpack_from(data, offset)
        end = offset + HEADER_BYTES + length
        if magic != MAGIC or end > len(data) or _crc(lines, readings, data[offset + HEADER_BYTES : end]) != crc:
            return None
        return _Index(segment, offset, end, lines, readings)

    # -- cursor ------------------------------------------------------------------------------------

    def _read_cursor(self) -> tuple[str, int] | None:
        try:
            name, offset = (self.folder / CURSOR_FILE).read_text().split()
            return name, int(offset)
        except (OSError, ValueError):
            return None

    def _write_cursor(self, segment: Path, offset: int) -> None:
        path = self.folder / CURSOR_FILE
        try:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(f"{segment.name} {offset}\n")
            tmp.replace(path)
        except OSError as exc:  # only costs replaying a few batches again after a restart
            log.debug("cannot record the spool cursor: %s", exc)

    def _remove_cursor(self) -> None:
        try:
            (self.folder / CURSOR_FILE).unlink()
        except OSError:
            pass


class _Writer:
    """The segment being appended to."""

    def __init__(self, path: Path):
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size

    def append(self, record: bytes) -> int:
        """Write and fsync ``record``; returns its offset. On error, cuts the file back to where it was."""
        offset = self.size
        try:
            view = memoryview(record)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        except OSError:
            try:
                os.ftruncate(self._fd, offset)
            except OSError:
                pass  # the torn tail is detected and skipped when the segment is read
            raise
        self.size = offset + len(record)
        return offset

    def close(self) -> None:
        try:
            os.close(self._fd)
        except OSError:
            pass
