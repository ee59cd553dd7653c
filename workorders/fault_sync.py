"""Orders from the fault data: the work-order service reads the ``fault`` measurement that
``facmon analyze`` writes (the parts meet in InfluxDB) and

- opens one order per fault episode that has a responsible vendor;
- reopens the earlier order when the same fault (building, kind, target) comes back within the
  registry's repeat window (``vendor_scoring.repeat_window_days``) after it cleared;
- marks the service restored when the data show the episode clear, which verifies a resolved order;
- withdraws the current episode of an order still owed when the data no longer show it: the analysis
  rewrote the period once late readings arrived (a collector restart, a spool drain), and an episode
  that only their delay made is gone. The order opened for it is cancelled by facmon (it counts against
  nobody); a repeat or return that brought it onto an earlier order is undone. Only orders whose onset
  lies in the synced period are judged: only for those would the read have returned the episode;
- reinstates a withdrawn episode that is back in the data with the same onset (the analysis deletes a
  period's points before it writes them again, so a sync in between sees them gone for a moment): the
  same order, as the withdrawal found it, never a second one. An order an officer cancelled stays so.

Idempotent: an episode is known by its onset, so running it again, or after a crash, changes nothing
that is already recorded. The report time of a fault order is when detection raised the fault (data
time); live, facmon notices within a minute of it (bench/fault_latency.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from facmon.registry import Site
from facmon.schema.faults import NO_VENDOR, Fault, read_faults
from facmon.store import InfluxStore
from facmon.workorders import orders
from facmon.workorders.lifecycle import ACTIVE, WORKING, Channel, State
from facmon.workorders.models import WorkOrder

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    """What one sync did (order numbers)."""

    opened: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)  # the data no longer show their episode
    reinstated: list[str] = field(default_factory=list)  # a withdrawn episode back in the data
    unowned: int = 0  # faults no vendor covers: shown in Grafana, no order


def _utc(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=UTC)


def sync_faults(store: InfluxStore, site: Site, since: datetime, until: datetime) -> SyncReport:
    """Apply the fault episodes active in [since, until) to the orders."""
    report = SyncReport()
    faults = read_faults(store, int(since.timestamp()), int(until.timestamp()) + 1)
    # withdrawals first: an episode the rewrite moved (a new onset) or a real one after a withdrawn repeat
    # then finds the orders as they would be without the withdrawn episode
    episodes = {(f.building, f.kind, f.target, f.onset_s) for f in faults}
    _withdraw_vanished(site, episodes, since, until, report)
    for fault in sorted(faults, key=lambda f: (f.onset_s, f.building, f.kind, f.target)):
        if not fault.vendor or fault.vendor == NO_VENDOR or site.vendor(fault.vendor) is None:
            report.unowned += 1
            continue
        with transaction.atomic():
            _one_sync_at_a_time()
            _apply(site, fault, report, until)
    return report


def _one_sync_at_a_time() -> None:
    """`facmon serve` and `facmon workorders sync` may overlap: both would find no order for a new episode
    and open two (inside a transaction: held until it ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('facmon.workorders.fault_sync'))")


def _withdraw_vanished(site: Site, episodes: set[tuple[str, str, str, int]], since: datetime, until: datetime, report: SyncReport) -> None:
    """Withdraw the current episode of each fault order still owed whose onset lies in [since, until) and is
    no longer among the episodes the data show."""
    candidates = WorkOrder.objects.filter(
        source=WorkOrder.SOURCE_FAULT, state__in=[s.value for s in ACTIVE], fault_onset_at__gte=since, fault_onset_at__lt=until
    ).values_list("pk", "building", "kind", "target", "fault_onset_at")
    for pk, building, kind, target, onset in candidates:
        if (building, kind, target, int(onset.timestamp())) in episodes:
            continue
        try:
            with transaction.atomic():
                _one_sync_at_a_time()
                order = WorkOrder.objects.select_for_update().get(pk=pk)
                if order.state not in ACTIVE or order.fault_onset_at != onset:
                    continue  # moved on since the list was read
                if orders.withdraw_episode(site, order, until):
                    report.withdrawn.append(order.number)
        except LookupError as error:  # its vendor left the registry: the other orders still count
            log.warning("work order %s: not withdrawn: %s", pk, error)


def _latest(fault: Fault) -> WorkOrder | None:
    """The order of the fault's (building, kind, target) with the latest episode, locked; orders withdrawn
    because the data took their episode back do not count."""
    orders_of_fault = (
        WorkOrder.objects.select_for_update()
        .filter(source=WorkOrder.SOURCE_FAULT, building=fault.building, kind=fault.kind, target=fault.target)
        .order_by("-fault_onset_at", "-id")
    )
    return next((order for order in orders_of_fault if not orders.is_withdrawn(order)), None)


def _apply(site: Site, fault: Fault, report: SyncReport, at: datetime) -> None:
    onset = _utc(fault.onset_s)
    reported = _utc(fault.detected_s)
    latest = _latest(fault)
    if latest is not None and latest.fault_onset_at == onset:
        order = latest  # known: the usual case of every pass
    elif (reinstated := orders.reinstate_episode(site, fault.building, fault.kind, fault.target, onset, at)) is not None:
        order = reinstated
        report.reinstated.append(order.number)
    elif (found := _order_for(site, fault, latest, onset, reported, report)) is not None:
        order = found
    else:
        return
    if fault.cleared_s is not None and order.fault_cleared_at is None and order.state != State.CANCELLED:
        orders.fault_cleared(site, order, _utc(fault.cleared_s))
        report.restored.append(order.number)


def _order_for(
    site: Site, fault: Fault, latest: WorkOrder | None, onset: datetime, reported: datetime, report: SyncReport
) -> WorkOrder | None:
    """The order of a new episode: the latest order it comes back to, or a new one; None for an episode
    older than the latest order's."""
    detail = {"onset": onset.isoformat(), "detail": fault.detail, "value": fault.value}
    known = latest.fault_onset_at if latest is not None else None
    if latest is not None and known is not None and known > onset:
        return None  # an episode older than the order's latest: recorded when it happened
    if latest is not None and latest.state in WORKING:
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
    return order


def _is_repeat(site: Site, order: WorkOrder, onset: datetime) -> bool:
    """The same fault came back within the repeat window after the order's episode cleared."""
    if order.state not in (State.RESOLVED, State.VERIFIED, State.CLOSED) or order.fault_cleared_at is None:
        return False
    return onset - order.fault_cleared_at <= timedelta(days=site.vendor_scoring.repeat_window_days)
