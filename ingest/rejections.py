"""``ingest_rejected`` points: every rejected input, with its reason, stored next to the data.

The stored shape, its writer and readers are :mod:`facmon.schema.ingest` (:class:`~facmon.schema.ingest.RejectedInput`,
:func:`~facmon.schema.ingest.rejected_line`). Here the collector's side: the tag ``building`` only for a
building of the registry (codes taken from arbitrary topics must not become tag values), the payload
as text, and a timestamp that is the arrival time in nanoseconds, made unique per rejection by
:class:`UniqueClock` so that two rejections never overwrite each other.
"""

from __future__ import annotations

import threading
import time

from facmon.ingest.model import Rejection
from facmon.registry import Site
from facmon.schema.ingest import DETAIL_LIMIT, PAYLOAD_LIMIT, TOPIC_LIMIT, RejectedInput, printable, rejected_line

__all__ = ["DETAIL_LIMIT", "PAYLOAD_LIMIT", "TOPIC_LIMIT", "UniqueClock", "payload_text", "printable", "rejection_line"]


class UniqueClock:
    """Nanosecond wall-clock timestamps, strictly increasing across calls (thread-safe)."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            now = time.time_ns()
            self._last = now if now > self._last else self._last + 1
            return self._last


def payload_text(payload: bytes, limit: int = PAYLOAD_LIMIT) -> str:
    """The payload as text for people, truncated to ``limit`` characters (undecodable bytes replaced)."""
    return printable(payload[: limit * 4].decode("utf-8", errors="replace"), limit)


def rejection_line(site: Site, rejection: Rejection, topic: str, payload: str, time_ns: int) -> str:
    """One ``ingest_rejected`` point; ``payload`` is already truncated text (see :func:`payload_text`)."""
    building = rejection.building if rejection.building and site.building(rejection.building) is not None else ""
    return rejected_line(RejectedInput(rejection.reason.value, building, topic, payload, rejection.detail, time_ns))
