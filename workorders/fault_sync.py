"""Orders from the fault data: the work-order service reads the ``fault`` measurement that
``facmon analyze`` writes (the parts meet in InfluxDB) and

- opens one order per fault episode that has a responsible vendor;
- reopens the earlier order when the same fault (building, kind, target) comes back within the
  registry's repeat window (``vendor_scoring.repeat_window_days``) after it cleared;
- marks the service restored when the data show the episode clear, which verifies a resolved order.

Idempotent: an episode is known by its onset, so running it again, or after a crash, changes nothing
that is already recorded. The report time of a fault order is when detection raised the fault (data
time); live, facmon notices within a minute of it (bench/fault_latency.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from facmon.registry import Site
from facmon.schema.faults import NO_VENDOR, Fault, read_faults
from facmon.store import InfluxStore
from facmon.workorders import orders
from facmon.workorders.lifecycle import WORKING, Channel, State
from facmon.workorders.models import WorkOrder


@dataclass
class SyncReport:
    """What one sync did (order numbers)."""

    opened: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unowned: int = 0  # faults no vendor covers: shown in Grafana, no order


def _utc(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=UTC)


def sync_faults(store: InfluxStore, site: Site, since: datetime, until: datetime) -> SyncReport:
    """Apply the fault episodes active in [since, until) to the orders."""
    report = SyncReport()
    faults = read_faults(store, int(since.timestamp()), int(until.timestamp()) + 1)
    for fault in sorted(faults, key=lambda f: (f.onset_s, f.building, f.kind, f.target)):
        if not fault.vendor or fault.vendor == NO_VENDOR or site.vendor(fault.vendor) is None:
            report.unowned += 1
            continue
        with transaction.atomic():
            # one sync at a time (`facmon serve` and `facmon workorders sync` may overlap): both would
            # find no order for a new episode and open two
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('facmon.workorders.fault_sync'))")
            _apply(site, fault, report)
    return report


def _apply(site: Site, fault: Fault, report: SyncReport) -> None:
    onset = _utc(fault.onset_s)
    reported = _utc(fault.detected_s)
    latest = (
        WorkOrder.objects.select_for_update()
        .filter(source=WorkOrder.SOURCE_FAULT, building=fault.building, kind=fault.kind, target=fault.target)
        .order_by("-fault_onset_at", "-id")
        .first()
    )
    detail = {"onset": onset.isoformat(), "detail": fault.detail, "value": fault.value}
    known = latest.fault_onset_at if latest is not None else None
    if latest is not None and known is not None and known > onset:
        return  # an episode older than the order's latest: recorded when it happened
    if latest is not None and known == onset:
        order = latest
    elif latest is not None and latest.state in WORKING:
        orders.fault_returned(site, latest, onset)  # back before anyone finished: the same order, its clocks run on
        order = latest
    elif latest is not None and _is_repeat(site, latest, onset):
        orders.fault_reopened(site, latest, reported, onset, detail)
        order = latest
        report.reopened.append(order.number)
    else:
        order = orders.open_order(
            site,
            source=WorkOrder.SOURCE_FAULT,
            building=fault.building,
            vendor=fault.vendor,
            severity=fault.severity,
            kind=fault.kind,
            target=fault.target,
            reported_at=reported,
            onset_at=onset,
            fault_onset_at=onset,
            actor=orders.SYSTEM,
            channel=Channel.SYSTEM,
            description=fault.detail,
            detail=detail,
        )
        report.opened.append(order.number)
    if fault.cleared_s is not None and order.fault_cleared_at is None and order.state != State.CANCELLED:
        orders.fault_cleared(site, order, _utc(fault.cleared_s))
        report.restored.append(order.number)


def _is_repeat(site: Site, order: WorkOrder, onset: datetime) -> bool:
    """The same fault came back within the repeat window after the order's episode cleared."""
    if order.state not in (State.RESOLVED, State.VERIFIED, State.CLOSED) or order.fault_cleared_at is None:
        return False
    return onset - order.fault_cleared_at <= timedelta(days=site.vendor_scoring.repeat_window_days)
