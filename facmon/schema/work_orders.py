"""The ``work_order`` measurement: every event of every work order, written from the work-order
database (the source of truth) so dashboards and scores read orders beside the faults.

Tags: ``building, vendor, severity, kind`` (fault kind or repair category), ``source`` (fault or
request) and ``order`` (the order's number: a few thousand a year per site, so one series each is cheap
and ``last()`` per order is its current state). Fields: ``action``, ``state`` (after the event),
``from_state``, ``open`` (1 while the vendor owes work), ``onsite_due`` / ``restore_due`` (epoch s, the
running SLA limits), and the SLA outcome an event carries: ``acknowledge_min``, ``onsite_min``,
``onsite_breached``, ``restore_min``, ``restore_breached`` (minutes, 0/1), ``breach`` ("onsite" or
"restore"), ``rating`` (return visit, 1-5).

Time: the event's time in microseconds, plus its database id modulo 1000 in the last nanoseconds, so
two events of one order in the same microsecond stay two points, and writing an event again (after a
crash, :mod:`facmon.workorders.timeline`) overwrites the same point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from facmon.schema.names import WORK_ORDER
from facmon.store import FieldValue, InfluxStore, line, quote_identifier, quote_string

WORK_ORDER_TAGS = ("building", "vendor", "severity", "kind", "source", "order")
_OUTCOME_FIELDS = ("acknowledge_min", "onsite_min", "onsite_breached", "restore_min", "restore_breached", "rating")


@dataclass(frozen=True)
class WorkOrderEvent:
    """One event as stored (epoch microseconds for its time)."""

    event_id: int
    at_us: int
    tags: Mapping[str, str]
    action: str
    state: str
    from_state: str
    open: bool
    onsite_due_s: int | None
    restore_due_s: int | None
    detail: Mapping[str, Any]

    def time_ns(self) -> int:
        return self.at_us * 1000 + self.event_id % 1000


def work_order_line(event: WorkOrderEvent) -> str:
    """The event's line-protocol line."""
    fields: dict[str, FieldValue] = {
        "action": event.action,
        "state": event.state,
        "from_state": event.from_state,
        "open": float(event.open),
    }
    if event.onsite_due_s is not None:
        fields["onsite_due"] = float(event.onsite_due_s)
    if event.restore_due_s is not None:
        fields["restore_due"] = float(event.restore_due_s)
    for name in _OUTCOME_FIELDS:
        value = event.detail.get(name)
        if isinstance(value, bool):
            fields[name] = float(value)
        elif isinstance(value, int | float):
            fields[name] = float(value)
    if isinstance(event.detail.get("breach"), str):
        fields["breach"] = str(event.detail["breach"])
    return line(WORK_ORDER, {tag: event.tags[tag] for tag in WORK_ORDER_TAGS}, fields, event.time_ns())


def work_order_states(store: InfluxStore) -> dict[str, dict[str, Any]]:
    """order number -> the fields of its last stored event (its current state on the timeline)."""
    rows = store.query(f'SELECT last("state") AS "state", last("open") AS "open" FROM {quote_identifier(WORK_ORDER)} GROUP BY "order"')
    return {
        series["tags"]["order"]: dict(zip(series["columns"], series["values"][0], strict=True))
        for series in rows
        if series.get("tags", {}).get("order")
    }


@dataclass(frozen=True)
class OnsiteOutcome:
    """One on-site clock decided: an arrival (in time or late), or a limit passed without one."""

    order: str
    onsite_min: float | None  # minutes from report to arrival; None when nobody arrived in the period
    breached: bool


def _vendor_period(vendor: str, start_s: int, end_s: int) -> str:
    return f'"vendor" = {quote_string(vendor)} AND time >= {int(start_s)}s AND time < {int(end_s)}s'


def onsite_outcomes(store: InfluxStore, vendor: str, start_s: int, end_s: int) -> list[OnsiteOutcome]:
    """The vendor's on-site clocks decided in [start_s, end_s) (UTC s): each arrival, and each on-site
    limit that passed with no arrival in the period (breached)."""
    measurement = quote_identifier(WORK_ORDER)
    arrivals = store.query(
        f'SELECT "onsite_min", "onsite_breached" FROM {measurement} WHERE {_vendor_period(vendor, start_s, end_s)} '
        'AND "action" = \'arrive\' GROUP BY "order"'
    )
    breaches = store.query(
        f'SELECT "breach" FROM {measurement} WHERE {_vendor_period(vendor, start_s, end_s)} '
        'AND "action" = \'breach\' AND "breach" = \'onsite\' GROUP BY "order"'
    )
    outcomes: list[OnsiteOutcome] = []
    arrived = set()
    for series in arrivals:
        order = series.get("tags", {}).get("order", "")
        arrived.add(order)
        for _, minutes, breached in series["values"]:
            outcomes.append(OnsiteOutcome(order, None if minutes is None else float(minutes), bool(breached)))
    for series in breaches:
        order = series.get("tags", {}).get("order", "")
        if order not in arrived:
            outcomes.append(OnsiteOutcome(order, None, True))
    return outcomes


def return_visit_ratings(store: InfluxStore, vendor: str, start_s: int, end_s: int) -> list[int]:
    """Ratings (1-5) of the vendor's repairs from return visits in [start_s, end_s) (UTC s)."""
    rows = store.query(
        f'SELECT "rating" FROM {quote_identifier(WORK_ORDER)} WHERE {_vendor_period(vendor, start_s, end_s)} '
        "AND \"action\" = 'return_visit'"
    )
    return [int(value) for series in rows for _, value in series["values"] if value is not None]
