"""Where the collector's batches go: InfluxDB, or the local on-disk spool while InfluxDB is away.

:class:`Sink` is the seam. The collector acknowledges a batch's MQTT messages once ``write`` returns;
``write`` returns only when every line is either stored, or refused by the database for a reason
retrying cannot fix (reported back so the collector stores an ``ingest_rejected`` point instead), or
safe in the on-disk spool (``SinkResult.spooled``). When none of that is possible it raises
:class:`facmon.store.StoreUnavailable` and the collector keeps the batch unacknowledged and retries.

:class:`StoreSink` writes to an :class:`facmon.store.InfluxStore`. When InfluxDB refuses a batch
because of its points (HTTP 400, e.g. a field type conflict), it splits the batch in halves until it
has isolated the refused lines, so one bad point never sinks the other 4,999. A refusal of the
request itself (missing permission, unknown database) is not about any point: it is raised as
StoreRefusesWrites (a StoreUnavailable), so nothing is acknowledged until an operator fixes the store
(with a spool, the batch is spooled). Every write's outcome goes to the StoreSink's ``observer``
(None for a write InfluxDB took, else the error): how the collector knows the store's state. The one exception is
InfluxDB 1.x's "database not found": the collector creates its database at start-up, and when it
started during an outage, or somebody dropped the database, it creates it then and writes again.

:class:`SpoolingSink` puts a :class:`facmon.ingest.spool.Spool` in front of a StoreSink: a batch InfluxDB
cannot take now goes to disk, and :meth:`SpoolingSink.replay` feeds the spool back to InfluxDB
oldest first. While the spool holds anything, new batches are appended behind it, so InfluxDB always
receives batches in the order they arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from facmon.ingest.spool import Record, Spool
from facmon.ingest.status import StoreRefusesWrites
from facmon.schema.ingest import is_rejected_line
from facmon.store import InfluxStore, StoreRejected, StoreUnavailable

log = logging.getLogger("facmon.ingest")

# Status codes for which InfluxDB refuses points, not the request: 400 bad points / type conflict, 413 too large.
_POINT_STATUSES = {400, 413}


@dataclass(slots=True)
class SinkResult:
    """What happened to a batch: ``refused`` lists (index in the batch, InfluxDB's message) for lines the
    database will never accept; ``spooled`` counts lines kept on disk for a later write instead (a
    batch is spooled whole or not at all, so it is 0 or the batch's length)."""

    refused: list[tuple[int, str]] = field(default_factory=list)
    spooled: int = 0
    requests: int = 0


class Sink(Protocol):
    def write(self, lines: Sequence[str]) -> SinkResult:
        """Store ``lines``; raises StoreUnavailable when they are not safe anywhere yet."""
        ...


def refusal_status(exc: StoreRejected) -> int | None:
    """The HTTP status of a refusal (None when InfluxDB reported the error inside a 200 response)."""
    return exc.status


class StoreSink:
    """Writes batches to InfluxDB, isolating refused lines by binary split. ``observer`` is told the outcome
    of every write: None when InfluxDB took it (refused points included: it answers), else the exception."""

    def __init__(self, store: InfluxStore, observer: Callable[[BaseException | None], None] | None = None):
        self.store = store
        self.observer = observer

    def write(self, lines: Sequence[str]) -> SinkResult:
        result = SinkResult()
        if lines:
            try:
                self._write(lines, 0, result)
            except Exception as exc:
                if self.observer is not None:
                    self.observer(exc)
                raise
            if self.observer is not None:
                self.observer(None)
        return result

    def _write(self, lines: Sequence[str], offset: int, result: SinkResult, may_create: bool = True) -> None:
        result.requests += 1
        try:
            self.store.write(lines)
            return
        except StoreRejected as exc:
            status = refusal_status(exc)
            if may_create and status == 404 and "database not found" in str(exc) and self._create_database():
                self._write(lines, offset, result, may_create=False)  # once: a store that still says so is refused below
                return
            if status is not None and status not in _POINT_STATUSES:
                raise StoreRefusesWrites(f"InfluxDB refuses writes to database {self.store.database!r}: {exc}", status) from None
            if len(lines) == 1:
                result.refused.append((offset, str(exc)))
                return
        middle = len(lines) // 2
        self._write(lines[:middle], offset, result, may_create)
        self._write(lines[middle:], offset + middle, result, may_create)

    def _create_database(self) -> bool:
        """Create the missing database; False when InfluxDB refuses (then the write stays refused)."""
        try:
            created = self.store.create_database()
        except StoreRejected as exc:
            log.error("InfluxDB has no database %r and refuses to create it: %s", self.store.database, exc)
            return False
        if not created:  # InfluxDB 2.x: the database is a DBRP mapping the operator makes (docs/deploy.md)
            log.error("InfluxDB has no database %r and makes none: map it to a bucket (influx v1 dbrp create)", self.store.database)
            return False
        log.warning("InfluxDB had no database %r: created it", self.store.database)
        return True


def is_reading(text: str) -> bool:
    """True for a reading's line, False for an ``ingest_rejected`` point."""
    return not is_rejected_line(text)


def line_time_ns(text: str) -> int:
    """The timestamp (ns) at the end of a line-protocol line; 0 if it has none."""
    try:
        return int(text.rsplit(" ", 1)[1])
    except (IndexError, ValueError):
        return 0


@dataclass(slots=True)
class ReplayResult:
    """One spooled batch stored by :meth:`SpoolingSink.replay`: ``readings`` reading lines stored,
    ``refused`` (line, InfluxDB's message) the database will never accept (rejection points for
    them were spooled), ``newest_ts_ns`` the newest stored reading's timestamp."""

    readings: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    newest_ts_ns: int = 0
    requests: int = 0


class SpoolingSink:
    """InfluxDB first; the on-disk spool when InfluxDB is unreachable or failing server-side.

    ``refused_line(line, message)`` builds the ``ingest_rejected`` point for a spooled line that
    InfluxDB refuses during replay (the collector knows the site and the rejection format)."""

    def __init__(self, store_sink: StoreSink, spool: Spool, refused_line: Callable[[str, str], str]):
        self.store_sink = store_sink
        self.spool = spool
        self.refused_line = refused_line

    @property
    def pending(self) -> bool:
        """True while the spool holds batches that InfluxDB has not accepted yet."""
        return bool(self.spool)

    def write(self, lines: Sequence[str]) -> SinkResult:
        """Store ``lines`` in InfluxDB, or in the spool when InfluxDB cannot take them now or the spool
        is not empty; raises StoreUnavailable (SpoolFull, SpoolError) when neither can take them."""
        if not lines:
            return SinkResult()
        if not self.spool:
            try:
                return self.store_sink.write(lines)
            except StoreUnavailable as exc:
                log.warning("InfluxDB cannot take a batch (%s); spooling to %s until it takes writes again", exc, self.spool.folder)
        return self._spool(list(lines))

    def _spool(self, lines: list[str]) -> SinkResult:
        self.spool.append(lines, sum(1 for text in lines if is_reading(text)))
        return SinkResult(spooled=len(lines))

    def replay(self) -> ReplayResult | None:
        """Write the oldest spooled batch to InfluxDB and drop it from the spool; None when the spool is
        empty. Raises StoreUnavailable when InfluxDB cannot take it (it stays first in the spool)."""
        record = self.spool.peek()
        if record is None:
            return None
        result = self._store(record)
        self.spool.pop(record)
        return result

    def _store(self, record: Record) -> ReplayResult:
        written = self.store_sink.write(record.lines)
        result = ReplayResult(requests=written.requests)
        refused = {index for index, _ in written.refused}
        for index, text in enumerate(record.lines):
            if index not in refused and is_reading(text):
                result.readings += 1
                result.newest_ts_ns = max(result.newest_ts_ns, line_time_ns(text))
        if written.refused:
            result.refused = [(record.lines[index], message) for index, message in written.refused]
            points = []
            for text, message in result.refused:
                if is_reading(text):
                    points.append(self.refused_line(text, message))
                else:  # rejection points are escaped so that this cannot happen; never loop on one
                    log.error("InfluxDB refused a spooled ingest_rejected point (%s); it is dropped: %.300s", message, text)
            # The rejection points go behind the rest of the spool before the batch leaves it, so a
            # crash in between repeats the batch instead of losing them. They may pass the size limit
            # (they are few and small): a full spool must still drain.
            if points:
                self.spool.append(points, 0, force=True)
        return result
