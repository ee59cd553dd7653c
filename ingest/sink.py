"""Where the collector's batches go: InfluxDB now, InfluxDB-or-local-spool later.

:class:`Sink` is the seam. The collector acknowledges a batch's MQTT messages once ``write`` returns;
``write`` returns only when every line is either stored, or refused by the database for a reason
retrying cannot fix (reported back so the collector stores an ``ingest_rejected`` point instead), or
(later) safe in an on-disk spool. When none of that is possible it raises
:class:`facmon.store.StoreUnavailable` and the collector keeps the batch unacknowledged and retries.

:class:`StoreSink` writes to an :class:`facmon.store.InfluxStore`. When InfluxDB refuses a batch
because of its points (HTTP 400, e.g. a field type conflict), it splits the batch in halves until it
has isolated the refused lines, so one bad point never sinks the other 4,999. A refusal of the
request itself (unknown database, missing permission) is not about any point: it is raised as
StoreUnavailable, so nothing is acknowledged until an operator fixes the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from facmon.store import InfluxStore, StoreRejected, StoreUnavailable

# Status codes for which InfluxDB refuses points, not the request: 400 bad points / type conflict, 413 too large.
_POINT_STATUSES = {400, 413}


@dataclass(slots=True)
class SinkResult:
    """What happened to a batch: ``refused`` lists (index in the batch, InfluxDB's message) for lines the
    database will never accept; ``spooled`` counts lines kept on disk for a later write (0 until the spool exists)."""

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
    """Writes batches to InfluxDB, isolating refused lines by binary split."""

    def __init__(self, store: InfluxStore):
        self.store = store

    def write(self, lines: Sequence[str]) -> SinkResult:
        result = SinkResult()
        if lines:
            self._write(lines, 0, result)
        return result

    def _write(self, lines: Sequence[str], offset: int, result: SinkResult) -> None:
        result.requests += 1
        try:
            self.store.write(lines)
            return
        except StoreRejected as exc:
            status = refusal_status(exc)
            if status is not None and status not in _POINT_STATUSES:
                raise StoreUnavailable(f"InfluxDB refuses writes to database {self.store.database!r}: {exc}") from None
            if len(lines) == 1:
                result.refused.append((offset, str(exc)))
                return
        middle = len(lines) // 2
        self._write(lines[:middle], offset, result)
        self._write(lines[middle:], offset + middle, result)
