"""``ingest_rejected`` points: every rejected input, with its reason, stored next to the data.

Tags ``reason`` (see :class:`facmon.ingest.model.Reason`) and ``building`` (only a building of the registry:
codes taken from arbitrary topics must not become tag values); fields ``topic``, ``payload``
(truncated), ``detail``. The timestamp is the arrival time in nanoseconds, made unique per
rejection by :class:`UniqueClock` so that two rejections never overwrite each other.
"""

from __future__ import annotations

import threading
import time

from facmon.ingest.model import Rejection
from facmon.registry import Site
from facmon.schema import INGEST_REJECTED
from facmon.store import line

PAYLOAD_LIMIT = 500
DETAIL_LIMIT = 1000
TOPIC_LIMIT = 300


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


def printable(text: str, limit: int) -> str:
    """``text`` with control characters and lone surrogates escaped (``\\x07``), cut to ``limit`` characters.

    Rejection points carry whatever a device sent; escaping keeps each point one valid UTF-8 line
    that InfluxDB accepts, so a rejection can never itself be refused.
    """
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii") for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def payload_text(payload: bytes, limit: int = PAYLOAD_LIMIT) -> str:
    """The payload as text for people, truncated to ``limit`` characters (undecodable bytes replaced)."""
    return printable(payload[: limit * 4].decode("utf-8", errors="replace"), limit)


def rejection_line(site: Site, rejection: Rejection, topic: str, payload: str, time_ns: int) -> str:
    """One ``ingest_rejected`` point; ``payload`` is already truncated text (see :func:`payload_text`)."""
    building = rejection.building if rejection.building and site.building(rejection.building) is not None else ""
    return line(
        INGEST_REJECTED,
        {"reason": rejection.reason.value, "building": building},
        {
            "topic": printable(topic, TOPIC_LIMIT),
            "payload": printable(payload, PAYLOAD_LIMIT),
            "detail": printable(rejection.detail, DETAIL_LIMIT),
        },
        time_ns,
    )
