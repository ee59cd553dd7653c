"""Why the collector's writes to InfluxDB fail, and the collector's local status file.

:func:`classify` sorts a failed write into a :class:`facmon.schema.ingest.StoreProblem`: the disk under
InfluxDB is full (it answers HTTP 500 "no space left on device"), it refuses the request (HTTP 4xx: login,
permission, database), it cannot be reached, or it fails otherwise (another 5xx).

The status file (``FACMON_HOME/ingest/<client id>.json``, :func:`status_path`) says how the collector
fares without InfluxDB's help: while InfluxDB takes no writes its ``ingest_stats`` points cannot be
stored, so `facmon ingest status` reads these files too. The collector rewrites its file atomically
(a temporary file, fsynced, renamed over the old one) every ``--stats-interval``, whenever the store's
state changes, and when it stops. One JSON object, :class:`CollectorStatus`::

    {"collector": "facmon-ingest-1", "pid": 4242, "running": true, "updated_at": "2025-06-01T08:00:10.5+00:00",
     "influx_url": "http://127.0.0.1:8086", "database": "facmon",
     "store_error": "disk_full", "store_error_detail": "InfluxDB at ... has no disk space left (500): ...",
     "store_error_since": "2025-06-01T07:58:02.1+00:00",
     "spooled": 12345, "spool_bytes": 1234567, "spool_full": false, "spool_folder": "/var/lib/facmon/spool/facmon-ingest-1",
     "received": 20000, "written": 7655}

``store_error`` is "" (and ``store_error_since`` null) while writes succeed. Times are ISO-8601 in UTC.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from facmon.schema.ingest import StoreProblem
from facmon.store import StoreDiskFull, StoreRejected, StoreTlsFailed, StoreUnavailable, StoreUnreachable

log = logging.getLogger("facmon.ingest")

STATUS_FOLDER = "ingest"  # under FACMON_HOME


class StoreRefusesWrites(StoreUnavailable):
    """InfluxDB refuses the write request itself (HTTP 4xx other than a refused point: no login, no
    permission, no such database). Retrying can succeed once an operator fixes it, so the collector
    holds or spools the batch as for any outage."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def classify(exc: BaseException) -> StoreProblem:
    """Why a write to InfluxDB failed."""
    if isinstance(exc, StoreDiskFull):
        return StoreProblem.DISK_FULL
    if isinstance(exc, StoreRefusesWrites | StoreRejected):
        return StoreProblem.REFUSED
    if isinstance(exc, StoreUnreachable | StoreTlsFailed):
        return StoreProblem.UNREACHABLE
    if isinstance(exc, StoreUnavailable):
        return StoreProblem.SERVER_ERROR
    return StoreProblem.OTHER


def status_path(home: Path, client_id: str) -> Path:
    """Where the collector ``client_id`` keeps its status file under ``home`` (FACMON_HOME)."""
    return Path(home) / STATUS_FOLDER / f"{quote(client_id, safe='')}.json"


def _iso(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC).isoformat()


def _epoch(text: Any) -> float | None:
    return None if text in (None, "") else datetime.fromisoformat(str(text)).timestamp()


@dataclass(frozen=True)
class CollectorStatus:
    """One collector's status file; times are epoch seconds here, ISO-8601 in the file."""

    collector: str
    pid: int
    running: bool  # False once it stopped (a collector that was killed leaves True, and an old updated_at)
    updated_at: float
    influx_url: str
    database: str
    store_error: str  # a StoreProblem value, "" while InfluxDB takes writes
    store_error_detail: str  # the last failed write's error, as InfluxDB answered it
    store_error_since: float | None  # when writes started failing (for this reason)
    spooled: int  # readings held in the spool
    spool_bytes: int
    spool_full: bool  # the spool refuses batches: nothing is being acknowledged
    spool_folder: str | None
    received: int
    written: int

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["updated_at"] = _iso(self.updated_at)
        body["store_error_since"] = _iso(self.store_error_since)
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CollectorStatus:
        """Raises KeyError, TypeError or ValueError for a file that is not a status file."""
        values = {f.name: body[f.name] for f in fields(cls)}
        updated_at = _epoch(values["updated_at"])
        if updated_at is None:
            raise ValueError("updated_at is missing")
        values["updated_at"] = updated_at
        values["store_error_since"] = _epoch(values["store_error_since"])
        return cls(**values)


def write_status(path: Path, status: CollectorStatus) -> None:
    """Replace the status file at ``path`` atomically; raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(status.to_json(), handle, ensure_ascii=False, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def read_statuses(home: Path) -> list[CollectorStatus]:
    """Every collector status file under ``home`` (FACMON_HOME), sorted by collector; a file that cannot be
    read or is not a status file is passed over with a warning."""
    folder = Path(home) / STATUS_FOLDER
    try:
        paths = sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except OSError:
        return []
    found = []
    for path in paths:
        try:
            found.append(CollectorStatus.from_json(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s is not a readable collector status file (%s); passed over", path, exc)
    return sorted(found, key=lambda status: status.collector)
