"""Work orders against a real PostgreSQL and InfluxDB: orders from fault data, the vendor's path, SLA
breaches as they happen, the append-only history, and the InfluxDB timeline across a crash."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from facmon.registry import Site
from facmon.schema.faults import FaultSeries, clear_line, start_line
from facmon.schema.names import WORK_ORDER
from facmon.store import InfluxStore

T0 = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
CHILLER = FaultSeries(kind="equipment_fault_code", target="CH-1", severity="critical", vendor="hvac")
LEAK = FaultSeries(kind="water_leak", target="W-TOILET", severity="major", vendor="property")
NOBODY = FaultSeries(kind="meter_stuck", target="E-MAIN", severity="minor", vendor="none")


def s(at: datetime) -> int:
    return int(at.timestamp())


def sync(store: InfluxStore, site: Site, now: datetime):  # type: ignore[no-untyped-def]
    from facmon.workorders.fault_sync import sync_faults

    return sync_faults(store, site, now - timedelta(days=35), now)


def actor(username: str):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import User

    from facmon.workorders.orders import Actor

    return Actor.of_user(User.objects.get(username=username))


def test_each_fault_episode_with_a_vendor_opens_one_order(store: InfluxStore, example_site: Site, workorder_db: str) -> None:
    from facmon.workorders.models import WorkOrder

    store.write(
        [
            start_line("341122A001", CHILLER, s(T0), 101, "fault code 101", raised_s=s(T0) + 300),
            start_line("341122A003", LEAK, s(T0), 0.8, "night flow 0.8 m³/h", raised_s=s(T0) + 3600),
            start_line("341122A002", NOBODY, s(T0), 0, "stuck", raised_s=s(T0) + 600),
        ]
    )
    report = sync(store, example_site, T0 + timedelta(hours=2))
    assert len(report.opened) == 2
    assert report.unowned == 1
    chiller = WorkOrder.objects.get(kind="equipment_fault_code")
    assert (chiller.vendor, chiller.severity, chiller.state) == ("hvac", "critical", "open")
    assert chiller.onset_at == T0
    assert chiller.reported_at == T0 + timedelta(seconds=300)  # when detection raised it
    again = sync(store, example_site, T0 + timedelta(hours=3))
    assert again.opened == [] and again.reopened == []
    assert WorkOrder.objects.count() == 2


def test_resolved_while_the_data_show_the_fault_is_flagged_until_they_recover(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    from facmon.workorders import orders
    from facmon.workorders.lifecycle import Action, Channel
    from facmon.workorders.models import WorkOrder

    store.write([start_line("341122A001", CHILLER, s(T0), 101, "fault code 101", raised_s=s(T0))])
    sync(store, example_site, T0 + timedelta(minutes=5))
    order = WorkOrder.objects.get()
    vendor = actor("hvac-staff")
    orders.act(example_site, order.pk, Action.ACKNOWLEDGE, vendor, Channel.API, T0 + timedelta(minutes=10))
    orders.act(example_site, order.pk, Action.ARRIVE, vendor, Channel.API, T0 + timedelta(minutes=50))
    orders.act(example_site, order.pk, Action.RESOLVE, vendor, Channel.API, T0 + timedelta(minutes=90))
    order.refresh_from_db()
    assert (order.state, order.flagged, order.restored_at) == ("resolved", True, None)

    store.write([clear_line("341122A001", CHILLER, s(T0 + timedelta(minutes=130)))])
    report = sync(store, example_site, T0 + timedelta(minutes=135))
    order.refresh_from_db()
    assert report.restored == [order.number]
    assert (order.state, order.flagged) == ("verified", False)
    assert order.restored_at == T0 + timedelta(minutes=130)
    # hvac critical: on site within 60 min (50: in time), restore within 480 (130: in time)
    status = orders.sla_status(order, example_site, T0 + timedelta(days=1))
    assert (status.onsite_min, status.onsite_breached, status.restore_min, status.restore_breached) == (50, False, 130, False)
    assert [e.action for e in order.events.all()] == ["open", "acknowledge", "arrive", "resolve", "verify"]


def test_a_repeat_within_the_window_reopens_the_order_and_a_later_one_opens_a_new_one(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    from facmon.workorders import orders
    from facmon.workorders.lifecycle import Action, Channel
    from facmon.workorders.models import WorkOrder

    window = timedelta(days=example_site.vendor_scoring.repeat_window_days)
    cleared = T0 + timedelta(hours=2)
    store.write([start_line("341122A003", LEAK, s(T0), 0.8, "leak", raised_s=s(T0)), clear_line("341122A003", LEAK, s(cleared))])
    sync(store, example_site, cleared + timedelta(minutes=1))
    order = WorkOrder.objects.get()
    staff = actor("property-staff")
    for step, minutes in ((Action.ACKNOWLEDGE, 5), (Action.ARRIVE, 30), (Action.RESOLVE, 100)):
        orders.act(example_site, order.pk, step, staff, Channel.WEB, T0 + timedelta(minutes=minutes))
    order.refresh_from_db()
    assert order.state == "verified"  # the data had recovered before the vendor resolved it

    back = cleared + window - timedelta(hours=1)
    store.write([start_line("341122A003", LEAK, s(back), 0.9, "leak again", raised_s=s(back))])
    report = sync(store, example_site, back + timedelta(minutes=1))
    order.refresh_from_db()
    assert report.reopened == [order.number]
    assert (order.state, order.episodes, order.reported_at, order.acknowledged_at) == ("reopened", 2, back, None)

    store.write([clear_line("341122A003", LEAK, s(back + timedelta(hours=1)))])
    sync(store, example_site, back + timedelta(hours=2))
    for step, minutes in ((Action.ACKNOWLEDGE, 5), (Action.ARRIVE, 30), (Action.RESOLVE, 150)):
        orders.act(example_site, order.pk, step, staff, Channel.WEB, back + timedelta(minutes=minutes))
    order.refresh_from_db()
    assert order.state == "verified"
    late = back + timedelta(hours=1) + window + timedelta(hours=1)
    store.write([start_line("341122A003", LEAK, s(late), 0.7, "leak once more", raised_s=s(late))])
    report = sync(store, example_site, late + timedelta(minutes=1))
    assert len(report.opened) == 1
    assert WorkOrder.objects.count() == 2


def test_breaches_are_marked_when_the_limit_passes_once(store: InfluxStore, example_site: Site, workorder_db: str) -> None:
    from facmon.workorders import orders
    from facmon.workorders.models import WorkOrder

    store.write([start_line("341122A001", CHILLER, s(T0), 101, "fault code 101", raised_s=s(T0))])
    sync(store, example_site, T0 + timedelta(minutes=1))
    assert orders.mark_breaches(example_site, T0 + timedelta(minutes=59)) == []
    marked = orders.mark_breaches(example_site, T0 + timedelta(minutes=61))
    order = WorkOrder.objects.get()
    assert marked == [(order.number, "onsite")]
    breach = order.events.get(action="breach")
    assert breach.at == T0 + timedelta(minutes=60)  # stamped when the limit passed
    assert orders.mark_breaches(example_site, T0 + timedelta(minutes=90)) == []
    assert orders.mark_breaches(example_site, T0 + timedelta(minutes=481)) == [(order.number, "restore")]


def test_history_cannot_be_changed_by_the_application_or_in_the_database(
    store: InfluxStore, example_site: Site, stack, workorder_db: str
) -> None:  # type: ignore[no-untyped-def]
    from facmon.workorders.models import Event

    store.write([start_line("341122A001", CHILLER, s(T0), 101, "fault code 101", raised_s=s(T0))])
    sync(store, example_site, T0 + timedelta(minutes=1))
    event = Event.objects.get()
    event.note = "edited"
    with pytest.raises(PermissionError, match="append-only"):
        event.save()
    with pytest.raises(PermissionError, match="append-only"):
        event.delete()
    dsn = {**stack.postgres_dsn(), "dbname": workorder_db}
    with psycopg.connect(**dsn) as connection:
        for statement in (
            "UPDATE workorders_event SET note = 'edited'",
            "DELETE FROM workorders_event",
            "TRUNCATE workorders_event CASCADE",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                connection.execute(statement)
            connection.rollback()


def _timeline(store: InfluxStore) -> list[dict]:
    return store.rows(f'SELECT "action", "state", "order" FROM "{WORK_ORDER}"')


def test_the_timeline_holds_every_event_once_after_a_crash_at_either_write(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    from facmon.workorders import orders, timeline
    from facmon.workorders.lifecycle import Action, Channel
    from facmon.workorders.models import Event, TimelinePending, WorkOrder

    store.write([start_line("341122A001", CHILLER, s(T0), 101, "fault code 101", raised_s=s(T0))])
    sync(store, example_site, T0 + timedelta(minutes=1))
    order = WorkOrder.objects.get()
    orders.act(example_site, order.pk, Action.ACKNOWLEDGE, actor("hvac-staff"), Channel.API, T0 + timedelta(minutes=3))

    # 1. the process dies after the database commit, before InfluxDB heard of it: nothing written yet
    assert _timeline(store) == []
    assert TimelinePending.objects.count() == 2

    # 2. it dies after InfluxDB accepted the points, before the outbox rows were deleted
    class Crash(Exception):
        pass

    real_atomic = timeline.transaction.atomic

    def dying_atomic(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Crash()

    timeline.transaction.atomic = dying_atomic  # type: ignore[assignment]
    try:
        with pytest.raises(Crash):
            timeline.flush(store, example_site)
    finally:
        timeline.transaction.atomic = real_atomic  # type: ignore[assignment]
    assert len(_timeline(store)) == 2 and TimelinePending.objects.count() == 2

    # the restarted service flushes again: the same points overwrite themselves
    assert timeline.flush(store, example_site) == 2
    rows = _timeline(store)
    assert len(rows) == Event.objects.count() == 2
    assert [r["action"] for r in rows] == ["open", "acknowledge"]
    assert {r["order"] for r in rows} == {order.number}
    assert TimelinePending.objects.count() == 0


def test_influxdb_down_leaves_the_events_pending_and_loses_none(example_site: Site, workorder_db: str, store: InfluxStore) -> None:
    from facmon.stack import free_port
    from facmon.store import StoreUnavailable
    from facmon.workorders import timeline
    from facmon.workorders.models import TimelinePending

    store.write([start_line("341122A001", CHILLER, s(T0), 101, "fault code 101", raised_s=s(T0))])
    sync(store, example_site, T0 + timedelta(minutes=1))
    down = InfluxStore(f"http://127.0.0.1:{free_port()}", store.database)
    with pytest.raises(StoreUnavailable):
        timeline.flush(down, example_site)
    assert TimelinePending.objects.count() == 1
    assert timeline.flush(store, example_site) == 1


def test_an_order_handed_to_another_vendor_is_open_only_for_the_new_one(store: InfluxStore, example_site: Site, workorder_db: str) -> None:
    from facmon.schema.work_orders import work_order_states
    from facmon.workorders import orders, timeline
    from facmon.workorders.lifecycle import Action, Channel
    from facmon.workorders.models import WorkOrder

    store.write([start_line("341122A001", CHILLER, s(T0), 101, "fault code 101", raised_s=s(T0))])
    sync(store, example_site, T0 + timedelta(minutes=1))
    order = WorkOrder.objects.get()
    timeline.flush(store, example_site)
    orders.act(example_site, order.pk, Action.ASSIGN, actor("officer"), Channel.WEB, T0 + timedelta(minutes=5), vendor="property")
    timeline.flush(store, example_site)
    rows = store.rows(f'SELECT last("open") AS "open" FROM "{WORK_ORDER}" GROUP BY "vendor"')
    assert {row["vendor"]: row["open"] for row in rows} == {"hvac": 0.0, "property": 1.0}
    assert work_order_states(store)[order.number]["state"] == "open"


def test_accounts_are_made_from_the_command_line_with_the_password_kept_out_of_it(workorder_db: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess

    from django.contrib.auth import authenticate

    from tests.conftest import EXAMPLE_SITE

    facmon = str(Path(sys.executable).with_name("facmon"))
    password_file = tmp_path / "pw"
    password_file.write_text("li-hua-password-1\n")
    env = {
        **os.environ,
        "FACMON_POSTGRES_DB": workorder_db,
        "FACMON_SITE": str(EXAMPLE_SITE),
        "FACMON_ACCOUNT_PASSWORD_FILE": str(password_file),
    }
    made = subprocess.run(
        [facmon, "workorders", "account", "li.hua", "--role", "vendor", "--vendor", "hvac"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    user = authenticate(username="li.hua", password="li-hua-password-1")
    assert user is not None and user.account.vendor == "hvac"
    assert user.password.startswith("pbkdf2_sha256$")  # stored hashed
    wrong = subprocess.run(
        [facmon, "workorders", "account", "x", "--role", "vendor", "--vendor", "nobody"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode == 2 and "--vendor 'nobody' is not a vendor of the registry" in wrong.stderr


def test_a_contract_with_working_day_clocks_moves_the_deadline_past_the_weekend(example_site: Site, workorder_db: str) -> None:
    from facmon.workorders import orders
    from facmon.workorders.models import WorkOrder

    friday = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    order = WorkOrder(
        source="request", building="341122A001", vendor="hvac", severity="major", kind="hvac", reported_at=friday, onset_at=friday
    )
    hvac = example_site.vendor("hvac")
    assert hvac is not None
    paused = hvac.model_copy(update={"contract": hvac.contract.model_copy(update={"sla_clock": "working_days"})})
    site = example_site.model_copy(update={"vendors": [paused if v.id == "hvac" else v for v in example_site.vendors]})
    site.model_post_init(None)
    assert orders.sla_clock(order, example_site).restore_due == friday + timedelta(minutes=1440)
    assert orders.sla_clock(order, site).restore_due == friday + timedelta(days=3)  # Monday 17:00


def test_an_arrival_recorded_after_the_data_cleared_is_judged_by_its_own_time(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    """A history entered after the fact (the demo's backfill, a vendor catching up on paper): the fault
    opened and cleared before anyone recorded the arrival; the arrival, in time, is no breach."""
    from facmon.workorders import orders
    from facmon.workorders.lifecycle import Action, Channel
    from facmon.workorders.models import WorkOrder

    store.write(
        [
            start_line("341122A001", CHILLER, s(T0), 101, "code 101", raised_s=s(T0)),
            clear_line("341122A001", CHILLER, s(T0 + timedelta(hours=2))),
        ]
    )
    sync(store, example_site, T0 + timedelta(hours=3))
    order = WorkOrder.objects.get()
    assert order.onsite_breached_at is None and order.restored_at == T0 + timedelta(hours=2)
    staff = actor("hvac-staff")
    orders.act(example_site, order.pk, Action.ACKNOWLEDGE, staff, Channel.API, T0 + timedelta(minutes=5))
    orders.act(example_site, order.pk, Action.ARRIVE, staff, Channel.API, T0 + timedelta(minutes=40))  # hvac critical: 60 min
    order.refresh_from_db()
    assert order.onsite_breached_at is None and not order.events.filter(action="breach").exists()
    assert orders.mark_breaches(example_site, T0 + timedelta(hours=4)) == []


def test_an_officer_cannot_verify_a_fault_the_data_still_show(store: InfluxStore, example_site: Site, workorder_db: str) -> None:
    from facmon.workorders import orders
    from facmon.workorders.lifecycle import Action, Channel, TransitionRefused
    from facmon.workorders.models import WorkOrder

    store.write([start_line("341122A001", CHILLER, s(T0), 101, "code 101", raised_s=s(T0))])
    sync(store, example_site, T0 + timedelta(minutes=1))
    order = WorkOrder.objects.get()
    staff = actor("hvac-staff")
    for step, minutes in ((Action.ACKNOWLEDGE, 2), (Action.ARRIVE, 20), (Action.RESOLVE, 40)):
        orders.act(example_site, order.pk, step, staff, Channel.API, T0 + timedelta(minutes=minutes))
    with pytest.raises(TransitionRefused, match="the data still show this fault"):
        orders.act(example_site, order.pk, Action.VERIFY, actor("officer"), Channel.WEB, T0 + timedelta(minutes=50))


def test_reopening_a_fault_order_keeps_its_one_restore_breach(store: InfluxStore, example_site: Site, workorder_db: str) -> None:
    from facmon.workorders import orders
    from facmon.workorders.lifecycle import Action, Channel
    from facmon.workorders.models import WorkOrder

    cleared = T0 + timedelta(hours=10)  # hvac critical restore limit 480 min: breached
    store.write([start_line("341122A001", CHILLER, s(T0), 101, "code 101", raised_s=s(T0)), clear_line("341122A001", CHILLER, s(cleared))])
    sync(store, example_site, cleared + timedelta(minutes=1))
    order = WorkOrder.objects.get()
    staff = actor("hvac-staff")
    for step, minutes in ((Action.ACKNOWLEDGE, 2), (Action.ARRIVE, 30), (Action.RESOLVE, 610)):
        orders.act(example_site, order.pk, step, staff, Channel.API, T0 + timedelta(minutes=minutes))
    orders.act(example_site, order.pk, Action.REOPEN, actor("officer"), Channel.WEB, T0 + timedelta(hours=12), note="not fixed")
    assert order.events.filter(action="breach", detail__breach="restore").count() == 1


def test_an_order_whose_vendor_left_the_registry_stops_no_other_clock(store: InfluxStore, example_site: Site, workorder_db: str) -> None:
    from facmon.workorders import orders
    from facmon.workorders.models import WorkOrder

    store.write(
        [
            start_line("341122A001", CHILLER, s(T0), 101, "code 101", raised_s=s(T0)),
            start_line("341122A003", LEAK, s(T0), 0.8, "leak", raised_s=s(T0)),
        ]
    )
    sync(store, example_site, T0 + timedelta(minutes=1))
    without_hvac = example_site.model_copy(update={"vendors": [v for v in example_site.vendors if v.id != "hvac"]})
    without_hvac.model_post_init(None)
    marked = orders.mark_breaches(without_hvac, T0 + timedelta(days=3))
    leak = WorkOrder.objects.get(vendor="property")
    assert {number for number, _ in marked} == {leak.number}


def test_events_written_after_a_reassignment_stay_with_the_vendor_who_had_the_order(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    """InfluxDB was away while hvac arrived late and the officer handed the order to property: hvac's
    arrival is hvac's on the timeline, not property's."""
    from facmon.workorders import orders, timeline
    from facmon.workorders.lifecycle import Action, Channel

    store.write([start_line("341122A001", CHILLER, s(T0), 101, "code 101", raised_s=s(T0))])
    sync(store, example_site, T0 + timedelta(minutes=1))
    from facmon.workorders.models import WorkOrder

    order_id = WorkOrder.objects.get().pk
    staff = actor("hvac-staff")
    orders.act(example_site, order_id, Action.ACKNOWLEDGE, staff, Channel.API, T0 + timedelta(minutes=5))
    orders.act(example_site, order_id, Action.ARRIVE, staff, Channel.API, T0 + timedelta(minutes=90))
    orders.act(example_site, order_id, Action.ASSIGN, actor("officer"), Channel.WEB, T0 + timedelta(minutes=100), vendor="property")
    timeline.flush(store, example_site)
    arrivals = store.rows(f'SELECT "onsite_breached" FROM "{WORK_ORDER}" WHERE "action" = \'arrive\' GROUP BY "vendor"')
    assert [(row["vendor"], row["onsite_breached"]) for row in arrivals] == [("hvac", 1.0)]


# -- episodes the data take back: late readings, a rewritten period -----------------------------------

OFFLINE = FaultSeries(kind="device_offline", target="CH-1", severity="major", vendor="hvac")


def _rewrite_without(store: InfluxStore, building: str, start: datetime, end: datetime) -> None:
    """What `facmon analyze` does to a period once its late readings arrived: the points go, and the period
    is written again without the episode their delay made."""
    from facmon.schema.faults import delete_faults

    delete_faults(store, [building], s(start), s(end))


def _history(order) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    return [(e.action, e.from_state, e.to_state, e.role) for e in order.events.order_by("id")]


def test_an_order_whose_episode_the_data_no_longer_show_is_withdrawn_and_charged_to_nobody(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    from facmon.schema.work_orders import work_order_states
    from facmon.workorders import orders, timeline
    from facmon.workorders.models import Event, WorkOrder

    # the collector restarted: the chiller's readings stopped arriving, the analysis found it offline
    store.write([start_line("341122A001", OFFLINE, s(T0), 12, "no readings since the last one (minutes)", raised_s=s(T0) + 60)])
    first = sync(store, example_site, T0 + timedelta(minutes=5))
    phantom = WorkOrder.objects.get()
    assert first.opened == [phantom.number] and phantom.state == "open"
    # its spool drained: the readings were there all along, and the rewritten period has no such episode
    _rewrite_without(store, "341122A001", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    report = sync(store, example_site, T0 + timedelta(minutes=20))
    phantom.refresh_from_db()
    assert report.withdrawn == [phantom.number]
    assert report.opened == report.reopened == report.reinstated == report.restored == []
    assert (phantom.state, phantom.closed_at) == ("cancelled", T0 + timedelta(minutes=20))
    withdrawal = phantom.events.order_by("id").last()
    assert withdrawal is not None
    assert (withdrawal.action, withdrawal.actor, withdrawal.role, withdrawal.channel) == ("cancel", "facmon", "system", "system")
    assert "the data no longer show this fault" in withdrawal.note and "arrived late" in withdrawal.note
    assert withdrawal.detail["withdrawn"] == "opened" and withdrawal.detail["onset_s"] == s(T0)

    # the vendor owes nothing for it: no open order on the timeline, no SLA limit passes on it
    timeline.flush(store, example_site)
    current = work_order_states(store)[phantom.number]
    assert (current["state"], current["open"]) == ("cancelled", 0.0)
    rows = store.rows(f'SELECT last("open") AS "open" FROM "{WORK_ORDER}" GROUP BY "order", "vendor"')
    assert [(row["vendor"], row["open"]) for row in rows] == [("hvac", 0.0)]
    assert orders.mark_breaches(example_site, T0 + timedelta(days=3)) == []  # hvac major: 120 / 1440 min, long past
    status = orders.sla_status(phantom, example_site, T0 + timedelta(days=3))
    assert not (status.onsite_breached or status.restore_breached)

    # once more: nothing changes
    events = Event.objects.count()
    again = sync(store, example_site, T0 + timedelta(minutes=30))
    assert again.withdrawn == again.opened == again.reinstated == [] and Event.objects.count() == events

    # the next real episode of the same fault gets an order of its own: the withdrawn one does not absorb it
    real = T0 + timedelta(hours=3)
    store.write([start_line("341122A001", OFFLINE, s(real), 30, "no readings since the last one (minutes)", raised_s=s(real) + 60)])
    later = sync(store, example_site, real + timedelta(minutes=5))
    assert len(later.opened) == 1 and later.opened != [phantom.number]
    assert WorkOrder.objects.get(fault_onset_at=real).state == "open"
    phantom.refresh_from_db()
    assert phantom.state == "cancelled" and phantom.events.count() == 2


def test_a_withdrawn_episode_back_in_the_data_reinstates_its_order_as_it_was(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    """The analysis deletes a period's points before it writes them again: a sync in between sees the
    episode gone, the next one sees it back with the same onset."""
    from facmon.workorders import orders
    from facmon.workorders.lifecycle import Action, Channel
    from facmon.workorders.models import Event, WorkOrder

    episode = start_line("341122A001", CHILLER, s(T0), 101, "fault code 101", raised_s=s(T0))
    store.write([episode])
    sync(store, example_site, T0 + timedelta(minutes=1))
    order = WorkOrder.objects.get()
    orders.act(example_site, order.pk, Action.ACKNOWLEDGE, actor("hvac-staff"), Channel.API, T0 + timedelta(minutes=4))
    _rewrite_without(store, "341122A001", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert sync(store, example_site, T0 + timedelta(minutes=5)).withdrawn == [order.number]
    store.write([episode])  # the rewrite puts it back

    report = sync(store, example_site, T0 + timedelta(minutes=6))
    assert report.reinstated == [order.number]
    assert report.opened == report.reopened == report.withdrawn == []
    assert WorkOrder.objects.count() == 1 and Event.objects.filter(action="open").count() == 1
    order.refresh_from_db()
    assert (order.state, order.acknowledged_at, order.closed_at) == ("acknowledged", T0 + timedelta(minutes=4), None)
    assert order.fault_onset_at == T0
    assert _history(order)[-2:] == [("cancel", "acknowledged", "cancelled", "system"), ("reopen", "cancelled", "acknowledged", "system")]
    assert "the data show this fault again" in order.events.order_by("id").last().note  # type: ignore[union-attr]

    events = Event.objects.count()
    again = sync(store, example_site, T0 + timedelta(minutes=7))
    assert again.reinstated == again.withdrawn == again.opened == [] and Event.objects.count() == events

    # it goes on as if never withdrawn: the data's clear restores the service
    store.write([clear_line("341122A001", CHILLER, s(T0 + timedelta(hours=2)))])
    assert sync(store, example_site, T0 + timedelta(hours=2, minutes=1)).restored == [order.number]
    order.refresh_from_db()
    assert order.restored_at == T0 + timedelta(hours=2)

    # withdrawn and back again, twice: still the one order
    _rewrite_without(store, "341122A001", T0 - timedelta(hours=1), T0 + timedelta(hours=3))
    assert sync(store, example_site, T0 + timedelta(hours=3)).withdrawn == [order.number]
    store.write([episode, clear_line("341122A001", CHILLER, s(T0 + timedelta(hours=2)))])
    assert sync(store, example_site, T0 + timedelta(hours=3, minutes=1)).reinstated == [order.number]
    order.refresh_from_db()
    assert (order.state, order.restored_at, order.fault_cleared_at) == ("acknowledged", T0 + timedelta(hours=2), T0 + timedelta(hours=2))
    assert WorkOrder.objects.count() == 1


def test_an_order_an_officer_cancelled_is_neither_withdrawn_nor_reinstated_by_the_data(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    from facmon.workorders import orders
    from facmon.workorders.lifecycle import Action, Channel
    from facmon.workorders.models import Event, WorkOrder

    episode = start_line("341122A001", CHILLER, s(T0), 101, "fault code 101", raised_s=s(T0))
    store.write([episode])
    sync(store, example_site, T0 + timedelta(minutes=1))
    order = WorkOrder.objects.get()
    orders.act(example_site, order.pk, Action.CANCEL, actor("officer"), Channel.WEB, T0 + timedelta(minutes=3), note="duplicate of a call")
    _rewrite_without(store, "341122A001", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    gone = sync(store, example_site, T0 + timedelta(minutes=5))
    store.write([episode])
    back = sync(store, example_site, T0 + timedelta(minutes=6))
    assert gone.withdrawn == back.reinstated == back.opened == []
    order.refresh_from_db()
    assert order.state == "cancelled" and WorkOrder.objects.count() == 1
    assert [(e.action, e.role) for e in Event.objects.order_by("id")] == [("open", "system"), ("cancel", "officer")]


def test_an_order_is_judged_only_when_the_synced_period_holds_its_onset(store: InfluxStore, example_site: Site, workorder_db: str) -> None:
    """An episode over before the synced period is not read back, which does not mean it is gone."""
    from facmon.workorders.fault_sync import sync_faults
    from facmon.workorders.models import WorkOrder

    store.write(
        [
            start_line("341122A001", CHILLER, s(T0), 101, "code 101", raised_s=s(T0)),
            clear_line("341122A001", CHILLER, s(T0 + timedelta(hours=1))),
        ]
    )
    sync(store, example_site, T0 + timedelta(hours=2))
    order = WorkOrder.objects.get()
    assert order.state == "open"  # cleared in the data; the vendor has not been yet
    later = sync_faults(store, example_site, T0 + timedelta(hours=2), T0 + timedelta(hours=3))
    assert later.withdrawn == []
    order.refresh_from_db()
    assert order.state == "open"


def test_a_repeat_the_data_take_back_leaves_the_order_as_its_first_episode_did(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    from facmon.workorders import orders
    from facmon.workorders.lifecycle import Action, Channel
    from facmon.workorders.models import WorkOrder

    cleared = T0 + timedelta(hours=2)
    store.write([start_line("341122A003", LEAK, s(T0), 0.8, "leak", raised_s=s(T0)), clear_line("341122A003", LEAK, s(cleared))])
    sync(store, example_site, cleared + timedelta(minutes=1))
    order = WorkOrder.objects.get()
    staff = actor("property-staff")
    for step, minutes in ((Action.ACKNOWLEDGE, 5), (Action.ARRIVE, 30), (Action.RESOLVE, 100)):
        orders.act(example_site, order.pk, step, staff, Channel.WEB, T0 + timedelta(minutes=minutes))
    order.refresh_from_db()
    kept = ("state", "episodes", "reported_at", "acknowledged_at", "on_site_at", "verified_at", "restored_at")
    first = {f: getattr(order, f) for f in kept}
    assert first["state"] == "verified"

    back = cleared + timedelta(days=1)
    repeat = start_line("341122A003", LEAK, s(back), 0.9, "leak again", raised_s=s(back))
    store.write([repeat])
    assert sync(store, example_site, back + timedelta(minutes=1)).reopened == [order.number]
    orders.act(example_site, order.pk, Action.ACKNOWLEDGE, staff, Channel.WEB, back + timedelta(minutes=3))

    _rewrite_without(store, "341122A003", back - timedelta(minutes=1), back + timedelta(hours=1))
    report = sync(store, example_site, back + timedelta(minutes=10))
    assert report.withdrawn == [order.number]
    order.refresh_from_db()
    # only the repeat is taken back: the order is as its first episode left it, not cancelled
    assert {f: getattr(order, f) for f in first} == first
    assert (order.fault_onset_at, order.fault_cleared_at) == (T0, cleared)
    assert sync(store, example_site, back + timedelta(minutes=11)).withdrawn == []

    store.write([repeat])
    report = sync(store, example_site, back + timedelta(minutes=12))
    assert report.reinstated == [order.number] and report.reopened == report.opened == []
    order.refresh_from_db()
    assert (order.state, order.episodes, order.fault_onset_at) == ("acknowledged", 2, back)
    assert order.acknowledged_at == back + timedelta(minutes=3)
    assert WorkOrder.objects.count() == 1


def test_a_return_the_data_take_back_gives_the_order_its_earlier_clear_again(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    from facmon.workorders.models import WorkOrder

    cleared = T0 + timedelta(minutes=30)
    store.write([start_line("341122A001", CHILLER, s(T0), 101, "code 101", raised_s=s(T0)), clear_line("341122A001", CHILLER, s(cleared))])
    sync(store, example_site, cleared + timedelta(minutes=1))
    came_back = T0 + timedelta(hours=1)
    store.write([start_line("341122A001", CHILLER, s(came_back), 101, "code 101", raised_s=s(came_back))])
    sync(store, example_site, came_back + timedelta(minutes=1))
    order = WorkOrder.objects.get()
    assert (order.state, order.fault_onset_at, order.restored_at) == ("open", came_back, None)  # returned while still open

    _rewrite_without(store, "341122A001", came_back - timedelta(minutes=1), came_back + timedelta(hours=1))
    assert sync(store, example_site, came_back + timedelta(minutes=10)).withdrawn == [order.number]
    order.refresh_from_db()
    assert (order.state, order.fault_onset_at, order.fault_cleared_at, order.restored_at) == ("open", T0, cleared, cleared)
    assert sync(store, example_site, came_back + timedelta(minutes=11)).withdrawn == []
    assert WorkOrder.objects.count() == 1


def test_an_episode_the_rewrite_moved_is_one_order_after_one_sync(store: InfluxStore, example_site: Site, workorder_db: str) -> None:
    """Late readings move an onset: the order of the old onset is withdrawn and the new one opened in the same pass."""
    from facmon.workorders.models import WorkOrder

    store.write([start_line("341122A001", CHILLER, s(T0 + timedelta(minutes=5)), 101, "code 101", raised_s=s(T0) + 300)])
    sync(store, example_site, T0 + timedelta(minutes=6))
    old = WorkOrder.objects.get()
    _rewrite_without(store, "341122A001", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    store.write([start_line("341122A001", CHILLER, s(T0), 101, "code 101", raised_s=s(T0) + 300)])
    report = sync(store, example_site, T0 + timedelta(minutes=10))
    assert report.withdrawn == [old.number] and len(report.opened) == 1
    assert sync(store, example_site, T0 + timedelta(minutes=11)).opened == []
    live = WorkOrder.objects.exclude(state="cancelled")
    assert [(o.fault_onset_at, o.state) for o in live] == [(T0, "open")]
