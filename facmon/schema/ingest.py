"""The collector's own measurements: ``ingest_stats`` and ``ingest_rejected``, their records, their one
writer each and their readers.

Stored shapes (docs/architecture.md#the-measurement-schema):

- ``ingest_stats``: one point per collector every ``--stats-interval`` (time: when written, ns). Tag
  ``collector`` (its MQTT client id). Fields, every one a float but the string ``store_error``: see
  :class:`IngestStats`. Points the collector could not write while InfluxDB refused writes are written
  when it takes them again, so the history covers the outage.
- ``ingest_rejected``: one point per input the collector could not store (time: its arrival, ns, made
  unique per rejection by the collector's clock so that two never overwrite each other). Tags
  ``reason`` (``facmon.ingest.model.Reason``) and ``building`` (only a building of the registry: codes
  taken from arbitrary topics must not become tag values); string fields ``topic``, ``payload`` and
  ``detail``, made printable and truncated by the writer so that a rejection can never itself be refused.

The collector (ingest/collector.py, ingest/rejections.py) writes both through :func:`ingest_stats_line`
and :func:`rejected_line`; ``facmon ingest status`` reads :func:`latest_ingest_stats`, fault
detection the details of out-of-range rejections (:func:`rejected_details`). Grafana's panels have
their own InfluxQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from facmon.schema.names import INGEST_REJECTED, INGEST_STATS
from facmon.store import InfluxStore, line, quote_identifier, quote_string

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000

# -- ingest_stats ----------------------------------------------------------------------------------


class StoreProblem(StrEnum):
    """Why a collector's writes to InfluxDB fail: the ``store_error`` field of ``ingest_stats`` (the empty
    string while writes succeed). The collector keeps what it cannot write in its spool whatever the cause."""

    DISK_FULL = "disk_full"  # InfluxDB answers that its disk is full (HTTP 5xx, "no space left on device")
    REFUSED = "refused"  # InfluxDB refuses the write request itself (HTTP 4xx: login, permission, unknown database)
    UNREACHABLE = "unreachable"  # no answer: connection refused or timed out, TLS failed
    SERVER_ERROR = "server_error"  # another HTTP 5xx
    OTHER = "other"  # anything else (a bug in the collector: its log has the traceback)

    @property
    def text(self) -> str:
        """What it means, for people: "InfluxDB disk full", ..."""
        return _PROBLEM_TEXTS[self]


_PROBLEM_TEXTS = {
    StoreProblem.DISK_FULL: "InfluxDB disk full",
    StoreProblem.REFUSED: "InfluxDB refuses writes",
    StoreProblem.UNREACHABLE: "InfluxDB unreachable",
    StoreProblem.SERVER_ERROR: "InfluxDB failing",
    StoreProblem.OTHER: "writes failing",
}


def store_problem_text(value: str | None) -> str:
    """People's words for a ``store_error`` value: "ok" for the empty string, "-" for None (not reported)."""
    if value is None:
        return "-"
    if not value:
        return "ok"
    try:
        return StoreProblem(value).text
    except ValueError:
        return value


@dataclass(frozen=True)
class IngestStats:
    """One ``ingest_stats`` point: a collector's counters at ``time_ns`` (epoch ns).

    Cumulative since the collector started: ``received`` (MQTT messages), ``written`` (readings stored
    in InfluxDB; spooled ones once replayed), ``rejected`` (rejections of every reason) and
    ``rejected_by_reason`` (reason -> rejections; stored as the fields ``rejected_<reason>``).
    Describing now: ``spooled`` (readings in the on-disk spool), ``spool_bytes`` (bytes of the spool),
    ``spool_full`` (nothing is being acknowledged; stored as 1.0 / 0.0), ``lag_s`` (seconds from the
    newest stored reading's timestamp to now; stored as the field ``lag``) and ``broker_dropped`` (the
    broker's own cumulative count of dropped messages; None, and no field, when it does not publish it).
    How it connects: ``mqtt_login`` (with a username; stored as 1.0 / 0.0) and ``mqtt_tls`` (over TLS);
    None when the point was written by a collector too old to say. ``store_error``: a
    :class:`StoreProblem` value while the collector's writes to InfluxDB fail, "" while they succeed (a
    string field); None, and no field, when the point was written by a collector too old to say.
    """

    collector: str
    time_ns: int
    received: float
    written: float
    rejected: float
    spooled: float
    spool_bytes: float
    spool_full: bool
    lag_s: float
    broker_dropped: float | None = None
    rejected_by_reason: Mapping[str, float] = field(default_factory=dict)
    mqtt_login: bool | None = None
    mqtt_tls: bool | None = None
    store_error: str | None = None

    @property
    def time_s(self) -> float:
        """The point's time, epoch seconds."""
        return self.time_ns / NS_PER_S

    def fields(self) -> dict[str, float | str]:
        """The point's fields as stored: names and values (floats, ``store_error`` a string), in the order written."""
        fields: dict[str, float | str] = {
            "received": float(self.received),
            "written": float(self.written),
            "rejected": float(self.rejected),
            "spooled": float(self.spooled),
            "spool_bytes": float(self.spool_bytes),
            "spool_full": 1.0 if self.spool_full else 0.0,
            "lag": float(self.lag_s),
        }
        if self.broker_dropped is not None:
            fields["broker_dropped"] = float(self.broker_dropped)
        if self.mqtt_login is not None:
            fields["mqtt_login"] = 1.0 if self.mqtt_login else 0.0
        if self.mqtt_tls is not None:
            fields["mqtt_tls"] = 1.0 if self.mqtt_tls else 0.0
        if self.store_error is not None:
            fields["store_error"] = self.store_error
        for reason, count in sorted(self.rejected_by_reason.items()):
            fields[f"{_REJECTED_PREFIX}{reason}"] = float(count)
        return fields


_REJECTED_PREFIX = "rejected_"
# Record attribute of each fixed field (the rejected_<reason> fields go to rejected_by_reason).
_STATS_ATTRIBUTES = {
    "received": "received",
    "written": "written",
    "rejected": "rejected",
    "spooled": "spooled",
    "spool_bytes": "spool_bytes",
    "spool_full": "spool_full",
    "lag": "lag_s",
    "broker_dropped": "broker_dropped",
    "mqtt_login": "mqtt_login",
    "mqtt_tls": "mqtt_tls",
}


def ingest_stats_line(stats: IngestStats) -> str:
    """The ``ingest_stats`` point of ``stats`` as line protocol."""
    return line(INGEST_STATS, {"collector": stats.collector}, stats.fields(), stats.time_ns)


def latest_ingest_stats(store: InfluxStore) -> list[IngestStats]:
    """The newest ``ingest_stats`` point of every collector, sorted by collector id; times to the
    millisecond. A counter a point lacks (written by an older collector) reads as 0."""
    found = []
    query = f'SELECT * FROM {quote_identifier(INGEST_STATS)} GROUP BY "collector" ORDER BY time DESC LIMIT 1'
    for series in store.query(query, epoch="ms"):
        point = dict(zip(series["columns"], series["values"][0], strict=True))
        found.append(_stats(series.get("tags", {}).get("collector", ""), int(point.pop("time")) * NS_PER_MS, point))
    return sorted(found, key=lambda stats: stats.collector)


def _stats(collector: str, time_ns: int, point: Mapping[str, Any]) -> IngestStats:
    values: dict[str, Any] = {"received": 0.0, "written": 0.0, "rejected": 0.0, "spooled": 0.0, "spool_bytes": 0.0, "lag_s": 0.0}
    by_reason: dict[str, float] = {}
    store_error = point.get("store_error")
    for name, value in point.items():
        if value is None or name in ("collector", "store_error"):
            continue
        attribute = _STATS_ATTRIBUTES.get(name)
        if attribute is not None:
            values[attribute] = float(value)
        elif name.startswith(_REJECTED_PREFIX):
            by_reason[name.removeprefix(_REJECTED_PREFIX)] = float(value)
    return IngestStats(
        collector=collector,
        time_ns=time_ns,
        received=values["received"],
        written=values["written"],
        rejected=values["rejected"],
        spooled=values["spooled"],
        spool_bytes=values["spool_bytes"],
        spool_full=bool(values.get("spool_full", 0.0)),
        lag_s=values["lag_s"],
        broker_dropped=values.get("broker_dropped"),
        rejected_by_reason=dict(sorted(by_reason.items())),
        mqtt_login=None if values.get("mqtt_login") is None else bool(values["mqtt_login"]),
        mqtt_tls=None if values.get("mqtt_tls") is None else bool(values["mqtt_tls"]),
        store_error=None if store_error is None else str(store_error),
    )


# -- ingest_rejected -------------------------------------------------------------------------------

PAYLOAD_LIMIT = 500  # characters of the payload stored
DETAIL_LIMIT = 1000  # characters of the detail stored
TOPIC_LIMIT = 300  # characters of the topic stored


@dataclass(frozen=True)
class RejectedInput:
    """One ``ingest_rejected`` point: an input the collector could not store, at ``time_ns`` (epoch ns).

    ``reason``: a ``facmon.ingest.model.Reason`` value. ``building``: the building code when the
    registry knows it, else "" (no tag). ``topic``, ``payload`` (as text) and ``detail`` (why) are
    stored printable and truncated to TOPIC_LIMIT, PAYLOAD_LIMIT and DETAIL_LIMIT characters.
    """

    reason: str
    building: str
    topic: str
    payload: str
    detail: str
    time_ns: int


def printable(text: str, limit: int) -> str:
    """``text`` with control characters and lone surrogates escaped (``\\x07``), cut to ``limit`` characters.

    Rejection points carry whatever a device sent; escaping keeps each point one valid UTF-8 line
    that InfluxDB accepts, so a rejection can never itself be refused.
    """
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii") for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rejected_line(rejected: RejectedInput) -> str:
    """The ``ingest_rejected`` point of ``rejected`` as line protocol (its texts made printable and truncated)."""
    return line(
        INGEST_REJECTED,
        {"reason": rejected.reason, "building": rejected.building},
        {
            "topic": printable(rejected.topic, TOPIC_LIMIT),
            "payload": printable(rejected.payload, PAYLOAD_LIMIT),
            "detail": printable(rejected.detail, DETAIL_LIMIT),
        },
        rejected.time_ns,
    )


_REJECTED_LINE_STARTS = (INGEST_REJECTED + ",", INGEST_REJECTED + " ")


def is_rejected_line(text: str) -> bool:
    """True for a line of line protocol that :func:`rejected_line` made (an ``ingest_rejected`` point)."""
    return text.startswith(_REJECTED_LINE_STARTS)


def _rejected_where(building: str, reason: str, since_s: int, until_s: int) -> str:
    return (
        f'WHERE "reason"={quote_string(reason)} AND "building"={quote_string(building)} '
        f"AND time >= {int(since_s)}s AND time < {int(until_s)}s"
    )


def rejected_details(store: InfluxStore, building: str, reason: str, since_s: int, until_s: int) -> list[tuple[int, str]]:
    """(time epoch s, detail) of the ``building``'s rejections for ``reason`` in [since_s, until_s), in time order."""
    rows = store.rows(f'SELECT "detail" FROM {quote_identifier(INGEST_REJECTED)} {_rejected_where(building, reason, since_s, until_s)}')
    return [(int(row["time"]), str(row.get("detail", ""))) for row in rows]


def read_rejected(store: InfluxStore, building: str, reason: str, since_s: int, until_s: int) -> list[RejectedInput]:
    """The ``building``'s rejections for ``reason`` in [since_s, until_s), whole, in time order."""
    where = _rejected_where(building, reason, since_s, until_s)
    rows = store.rows(f'SELECT "topic", "payload", "detail" FROM {quote_identifier(INGEST_REJECTED)} {where}', epoch="ns")
    return [
        RejectedInput(
            reason, building, str(row.get("topic") or ""), str(row.get("payload") or ""), str(row.get("detail") or ""), int(row["time"])
        )
        for row in rows
    ]
