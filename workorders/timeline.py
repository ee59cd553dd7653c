"""The ``work_order`` timeline in InfluxDB, written from the database through an outbox.

The database is the source of truth. Each change commits its event together with a
:class:`~.models.TimelinePending` row; :func:`flush` writes pending events to InfluxDB and deletes their
rows only after InfluxDB accepted them. A crash between the two writes leaves the row pending, and the
next flush (at the service's start and every few seconds) writes the event again; a crash after
InfluxDB accepted but before the rows were deleted writes the same points again, which overwrite
themselves (same series, same time). So after a restart both hold every event exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from django.db import transaction

from facmon.registry import Site
from facmon.schema.work_orders import WorkOrderEvent, work_order_line
from facmon.store import InfluxStore
from facmon.workorders.lifecycle import ACTIVE, State
from facmon.workorders.models import Event, TimelinePending, WorkOrder
from facmon.workorders.orders import sla_clock

log = logging.getLogger(__name__)

BATCH = 500


def _epoch_us(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def timeline_event(event: Event, order: WorkOrder, site: Site) -> WorkOrderEvent:
    """The stored shape of ``event``: tagged with the vendor and severity recorded with it; the running
    SLA deadlines are the order's when the event is written (normally at once)."""
    open_now = State(event.to_state) in ACTIVE
    onsite_due = restore_due = None
    if open_now and site.vendor(order.vendor) is not None and order.state == event.to_state:
        clock = sla_clock(order, site)
        onsite_due = None if order.on_site_at else int(clock.onsite_due.timestamp())
        restore_due = None if order.restored_at else int(clock.restore_due.timestamp())
    return WorkOrderEvent(
        event_id=event.pk,
        at_us=_epoch_us(event.at),
        tags={
            "building": order.building,
            "vendor": str(event.detail.get("vendor") or order.vendor),
            "severity": str(event.detail.get("severity") or order.severity),
            "kind": order.kind,
            "source": order.source,
            "order": order.number,
        },
        action=event.action,
        state=event.to_state,
        from_state=event.from_state,
        open=open_now,
        onsite_due_s=onsite_due,
        restore_due_s=restore_due,
        detail=event.detail,
    )


def flush(store: InfluxStore, site: Site, *, limit: int | None = None) -> int:
    """Write pending events to InfluxDB, oldest first; returns how many were written. InfluxDB being
    down leaves them pending (raises the store's error for the caller to log and retry)."""
    written = 0
    while limit is None or written < limit:
        pending = list(TimelinePending.objects.select_related("event", "event__order").order_by("event_id")[:BATCH])
        if not pending:
            break
        lines = []
        for p in pending:
            event = timeline_event(p.event, p.event.order, site)
            lines.append(work_order_line(event))
            handed_over = p.event.detail.get("from_vendor") if p.event.action == "assign" else None
            if handed_over and handed_over != event.tags["vendor"]:
                # the vendor who gave the order up: its series of the order ends here, no longer open
                lines.append(work_order_line(replace(event, tags={**event.tags, "vendor": handed_over}, open=False)))
        store.write(lines)
        with transaction.atomic():
            TimelinePending.objects.filter(pk__in=[p.pk for p in pending]).delete()
        written += len(pending)
    return written


def pending_count() -> int:
    """Events not yet confirmed in InfluxDB."""
    return TimelinePending.objects.count()
