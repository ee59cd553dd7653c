"""The building simulator: what a simulated site must look like to the rest of facmon.

Pure simulation tests first (fast, no servers), then backfill into a real InfluxDB and publishing
through a real Mosquitto (the ``store`` and ``stack`` fixtures of conftest.py).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from facmon.registry import Meter, Site
from facmon.schema import FIELD_RANGES, MEASUREMENT_OF_KIND, allowed_fields, device_kind, reading_line
from facmon.simulators import EfficiencyMeasure, Reading, SimulatorStateError, SiteSimulator, backfill, publish
from facmon.simulators.backfill import LineFormatter
from facmon.stack import Stack, free_port, port_is_open
from facmon.store import InfluxStore
from facmon.workdays import DayKind, day_kind

TZ = ZoneInfo("Asia/Shanghai")
B_CLASS = "341122A001"  # 县委办公楼, central HVAC
CANTEEN = "341122A005"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def collect(sim: SiteSimulator, start: datetime, end: datetime) -> list[Reading]:
    return [reading for tick in sim.readings(start, end) for reading in tick]


def series(readings: list[Reading], building: str, device: str, field: str) -> list[tuple[int, float]]:
    return [(r.ts, r.fields[field]) for r in readings if r.building == building and r.device == device and field in r.fields]


def meter(site: Site, building: str, meter_id: str) -> Meter:
    found = site.building(building).device(meter_id)  # type: ignore[union-attr]
    assert isinstance(found, Meter)
    return found


def consumption(site: Site, readings: list[Reading], building: str, meter_id: str) -> float:
    """kWh or m³ counted between the first and last reading (multiplier applied, rollovers unwrapped)."""
    m = meter(site, building, meter_id)
    values = [v for _, v in series(readings, building, meter_id, "register")]
    total = 0.0
    for before, after in zip(values, values[1:]):
        total += after - before if after >= before else after + m.rollover - before
    return total * m.multiplier


def first_day(kind: DayKind, after: date, weekday: int | None = None) -> date:
    day = after
    while day_kind(day) != kind or (weekday is not None and day.weekday() != weekday):
        day += timedelta(days=1)
        assert day < after + timedelta(days=400), f"no {kind} after {after}"
    return day


# -- calendar and occupancy -------------------------------------------------------------------


def test_adjusted_working_saturday_is_worked_like_a_weekday_and_days_off_are_not(example_site: Site) -> None:
    """调休: a Saturday made a working day draws lighting and socket power like a weekday, far
    above an ordinary weekend day and a public holiday."""
    saturday = first_day(DayKind.ADJUSTED_WORKDAY, date(2026, 1, 1), weekday=5)
    weekday = first_day(DayKind.WORKDAY, saturday - timedelta(days=6))
    weekend = first_day(DayKind.WEEKEND, saturday)
    holiday = first_day(DayKind.HOLIDAY, saturday)

    def office_hours_kwh(day: date) -> float:
        sim = SiteSimulator(example_site, seed=3)
        readings = collect(sim, local(day.year, day.month, day.day, 9), local(day.year, day.month, day.day, 17, 1))
        lighting = [m.id for m in example_site.building(B_CLASS).meters if m.subitem == "01A10"]  # type: ignore[union-attr]
        return sum(consumption(example_site, readings, B_CLASS, m) for m in lighting)

    worked, adjusted = office_hours_kwh(weekday), office_hours_kwh(saturday)
    assert adjusted == pytest.approx(worked, rel=0.15)
    assert adjusted > 3 * office_hours_kwh(weekend)
    assert adjusted > 3 * office_hours_kwh(holiday)


def test_co2_rises_with_people_and_falls_at_night(example_site: Site) -> None:
    sim = SiteSimulator(example_site, seed=1)
    day = first_day(DayKind.WORKDAY, date(2026, 3, 2))
    readings = collect(sim, local(day.year, day.month, day.day), local(day.year, day.month, day.day) + timedelta(days=1))
    ieq = [r for r in readings if r.building == B_CLASS and r.device.startswith("IEQ")]
    occupied = [r.fields["co2"] for r in ieq if 14 <= datetime.fromtimestamp(r.ts, TZ).hour < 16]
    night = [r.fields["co2"] for r in ieq if 3 <= datetime.fromtimestamp(r.ts, TZ).hour < 5]
    assert sum(occupied) / len(occupied) > sum(night) / len(night) + 150
    assert 600 < max(occupied) < 1200
    assert max(night) < 550


def test_canteen_cooks_with_gas_before_meals_on_working_days(example_site: Site) -> None:
    sim = SiteSimulator(example_site, seed=1)
    day = first_day(DayKind.WORKDAY, date(2026, 3, 2))
    readings = collect(sim, local(day.year, day.month, day.day, 2), local(day.year, day.month, day.day, 17))
    gas = {datetime.fromtimestamp(ts, TZ).hour: v for ts, v in series(readings, CANTEEN, "G-KITCHEN", "register") if ts % 3600 == 0}
    lunch_cooking, afternoon, night = gas[12] - gas[10], gas[16] - gas[14], gas[5] - gas[3]
    assert lunch_cooking > 2 * afternoon
    assert night == 0
    offices_gas = [m for b in example_site.buildings if not b.canteen for m in b.meters if m.energy == "03"]
    assert offices_gas == []  # gas only in the canteen in the example site


# -- weather and indoor climate -----------------------------------------------------------------


def test_july_afternoons_are_warmer_than_january_afternoons(example_site: Site) -> None:
    def afternoon_mean_c(month: int) -> float:
        sim = SiteSimulator(example_site, seed=5)
        readings = collect(sim, local(2026, month, 10), local(2026, month, 15))
        values = [v for ts, v in series(readings, "341122A003", "WX-ROOF", "temperature") if datetime.fromtimestamp(ts, TZ).hour == 15]
        return sum(values) / len(values)

    january, july = afternoon_mean_c(1), afternoon_mean_c(7)
    assert july > january + 15
    assert 0 < january < 15 and 26 < july < 38  # hot_summer_cold_winter (夏热冬冷)


def test_conditioned_offices_stay_at_the_public_building_set_points(example_site: Site) -> None:
    """国办发〔2007〕42号: cooling not below 26 °C, heating not above 20 °C (allowing sensor noise)."""
    for month in (1, 7):
        day = first_day(DayKind.WORKDAY, date(2026, month, 12))
        sim = SiteSimulator(example_site, seed=2)
        readings = collect(sim, local(day.year, day.month, day.day, 14), local(day.year, day.month, day.day, 16))
        temps = [r.fields["temperature"] for r in readings if r.building == B_CLASS and r.device.startswith("IEQ")]
        if month == 1:
            assert all(16 <= t <= 20.5 for t in temps), temps
        else:
            assert all(25.5 <= t <= 28 for t in temps), temps


# -- meters -------------------------------------------------------------------------------------


def tiny_rollover_site(site: Site) -> Site:
    data = site.model_dump(mode="json")
    for building in data["buildings"]:
        for m in building["meters"]:
            m["rollover"] = 5.0 if m["energy"] == "01" else 10.0
    return Site.model_validate(data)


def test_registers_only_decrease_when_they_roll_over(example_site: Site) -> None:
    site = tiny_rollover_site(example_site)
    sim = SiteSimulator(site, seed=4)
    readings = collect(sim, local(2026, 7, 20), local(2026, 7, 22))
    interval_h = site.collection.meter_interval_s / 3600
    rollovers = Counter()
    for building in site.buildings:
        for m in building.meters:
            values = series(readings, building.code, m.id, "register")
            assert len(values) == 2 * 24 / interval_h
            for (t0, before), (t1, after) in zip(values, values[1:]):
                assert t1 - t0 == site.collection.meter_interval_s
                assert 0 <= after < m.rollover and 0 <= before < m.rollover
                if after < before:
                    rollovers[m.id] += 1
                    counted = after + m.rollover - before
                else:
                    counted = after - before
                if m.rated_power_kw is not None:
                    assert counted * m.multiplier <= m.rated_power_kw * interval_h * 1.2 + 0.01
    assert rollovers["E-MAIN"] >= 5
    assert rollovers["W-MAIN"] >= 1


def test_main_meter_is_the_sum_of_the_submeters_plus_losses(example_site: Site) -> None:
    sim = SiteSimulator(example_site, seed=6)
    readings = collect(sim, local(2026, 5, 6), local(2026, 5, 7, 0, 1))
    for building in example_site.buildings:
        main = consumption(example_site, readings, building.code, "E-MAIN")
        subs = sum(
            consumption(example_site, readings, building.code, m.id) for m in building.meters if m.energy == "01" and m.subitem != "01000"
        )
        assert main == pytest.approx(1.02 * subs, rel=0.01), building.code
        water_main = consumption(example_site, readings, building.code, "W-MAIN")
        water_subs = sum(
            consumption(example_site, readings, building.code, m.id) for m in building.meters if m.energy == "02" and m.id != "W-MAIN"
        )
        assert water_subs == pytest.approx(0.8 * water_main, rel=0.01)


def test_an_efficiency_measure_cuts_its_sub_item_from_its_date_and_the_main_meter_sees_it(example_site: Site) -> None:
    """A lighting retrofit (01A10 × 0.85 from 7 May) against the same seed without it: lighting is 15 %
    lower from that date and unchanged before; the main meter drops by the lighting saving plus losses."""
    building = example_site.building(B_CLASS)
    lighting = [m.id for m in building.meters if m.subitem == "01A10"]  # type: ignore[union-attr]
    retrofit = EfficiencyMeasure(B_CLASS, "01A10", 0.85, date(2026, 5, 7))
    before_and_after = (local(2026, 5, 6), local(2026, 5, 7), local(2026, 5, 8))
    plain = collect(SiteSimulator(example_site, seed=6), before_and_after[0], before_and_after[2])
    changed = collect(SiteSimulator(example_site, seed=6, measures=[retrofit]), before_and_after[0], before_and_after[2])

    def used(readings: list[Reading], meter_ids: list[str], day: int) -> float:
        start, end = before_and_after[day], before_and_after[day + 1]
        window = [r for r in readings if start.timestamp() <= r.ts <= end.timestamp()]
        return sum(consumption(example_site, window, B_CLASS, m) for m in meter_ids)

    assert used(changed, lighting, 0) == pytest.approx(used(plain, lighting, 0), rel=1e-9)
    assert used(changed, lighting, 1) == pytest.approx(0.85 * used(plain, lighting, 1), rel=0.01)
    saved_kwh = used(plain, lighting, 1) - used(changed, lighting, 1)
    assert used(plain, ["E-MAIN"], 1) - used(changed, ["E-MAIN"], 1) == pytest.approx(1.02 * saved_kwh, rel=0.02)


def test_an_efficiency_measure_for_an_unknown_building_or_a_whole_category_is_refused(example_site: Site) -> None:
    with pytest.raises(ValueError, match="320000A999"):
        SiteSimulator(example_site, measures=[EfficiencyMeasure("320000A999", "01A10", 0.85, date(2026, 1, 1))])
    with pytest.raises(ValueError, match="01A00"):
        SiteSimulator(example_site, measures=[EfficiencyMeasure(B_CLASS, "01A00", 0.85, date(2026, 1, 1))])


def test_meter_power_is_raw_kw_and_matches_the_register_advance(example_site: Site) -> None:
    sim = SiteSimulator(example_site, seed=6)
    readings = collect(sim, local(2026, 5, 6), local(2026, 5, 7))
    main = meter(example_site, B_CLASS, "E-MAIN")
    power_kw = [v * main.multiplier for _, v in series(readings, B_CLASS, "E-MAIN", "power")]
    mean_kw = sum(power_kw) / len(power_kw)
    energy_kwh = consumption(example_site, readings, B_CLASS, "E-MAIN")
    assert energy_kwh / 24 == pytest.approx(mean_kw, rel=0.1)
    assert max(power_kw) <= main.rated_power_kw  # type: ignore[operator]


def test_a_non_cumulative_meter_reports_each_interval_amount(example_site: Site) -> None:
    data = example_site.model_dump(mode="json")
    for m in data["buildings"][0]["meters"]:
        if m["id"] == "W-TOILET":
            m["cumulative"] = False
    site = Site.model_validate(data)
    readings = collect(SiteSimulator(site, seed=6), local(2026, 5, 6, 6), local(2026, 5, 6, 18))
    main = [v for _, v in series(readings, B_CLASS, "W-MAIN", "register")]
    toilet = [v for _, v in series(readings, B_CLASS, "W-TOILET", "register")]
    assert toilet[0] == 0.0  # nothing counted yet when the simulation starts
    for before, after, amount in zip(main, main[1:], toilet[1:]):
        assert amount == pytest.approx(0.8 * (after - before), abs=0.002)  # the only sub-meter: 80 % of the main


# -- determinism and continuity -----------------------------------------------------------------


def test_same_seed_same_readings_and_another_seed_other_readings(example_site: Site) -> None:
    start, end = local(2026, 4, 1, 6), local(2026, 4, 1, 12)
    first = collect(SiteSimulator(example_site, seed=11), start, end)
    assert first == collect(SiteSimulator(example_site, seed=11), start, end)
    other = collect(SiteSimulator(example_site, seed=12), start, end)
    assert [(r.building, r.device, r.ts) for r in other] == [(r.building, r.device, r.ts) for r in first]
    assert [r.fields for r in other] != [r.fields for r in first]


def test_a_period_split_into_calls_gives_the_same_readings_as_one_call(example_site: Site) -> None:
    start, middle, end = local(2026, 4, 1, 6), local(2026, 4, 2, 13, 7), local(2026, 4, 3, 2)  # split inside a tick, across UTC midnight
    whole = collect(SiteSimulator(example_site, seed=7), start, end)
    sim = SiteSimulator(example_site, seed=7)
    split = collect(sim, start, middle) + collect(sim, middle, end)
    assert split == whole


def test_a_simulation_resumes_from_its_state_file(example_site: Site, tmp_path: Path) -> None:
    """`facmon simulate` after `facmon simulate --backfill` continues the registers."""
    start, middle, end = local(2026, 4, 1), local(2026, 4, 2), local(2026, 4, 2, 12)
    continuous = collect(SiteSimulator(example_site, seed=8), start, end)
    state = tmp_path / "sim-state.json"
    first = SiteSimulator(example_site, seed=8, state_path=state)
    collect(first, start, middle)
    first.save_state()
    assert json.loads(state.read_text())["format"] == "facmon-simulator-state/1"

    resumed = SiteSimulator(example_site, seed=8, state_path=state)
    assert resumed.state_note is None and resumed.position == middle
    assert collect(resumed, middle, end) == [r for r in continuous if r.ts >= middle.timestamp()]

    # registers are physical counters: a state whose registers another seed could not continue is refused
    with pytest.raises(SimulatorStateError, match=r"written for seed 8, not 9.*move .* away"):
        SiteSimulator(example_site, seed=9, state_path=state)
    state.write_text("{not json")
    with pytest.raises(SimulatorStateError, match="not readable"):
        SiteSimulator(example_site, seed=8, state_path=state)


def test_a_gap_keeps_the_meters_counting_and_a_replay_repeats_history(example_site: Site) -> None:
    sim = SiteSimulator(example_site, seed=10)
    day1 = collect(sim, local(2026, 4, 1), local(2026, 4, 2))
    day3 = collect(sim, local(2026, 4, 3), local(2026, 4, 4))  # skips 2 April
    reference = collect(SiteSimulator(example_site, seed=10), local(2026, 4, 1), local(2026, 4, 4))
    assert day3 == [r for r in reference if r.ts >= local(2026, 4, 3).timestamp()]
    assert collect(sim, local(2026, 4, 1, 12), local(2026, 4, 2)) == [r for r in day1 if r.ts >= local(2026, 4, 1, 12).timestamp()]


def test_simulating_before_the_origin_ends_where_the_later_history_begins(example_site: Site) -> None:
    sim = SiteSimulator(example_site, seed=10)
    later = collect(sim, local(2026, 4, 2), local(2026, 4, 3))
    earlier = collect(sim, local(2026, 4, 1), local(2026, 4, 2))
    assert sim.origin == local(2026, 4, 1)
    for m in example_site.building(B_CLASS).meters:  # type: ignore[union-attr]
        last_before = series(earlier, B_CLASS, m.id, "register")[-1][1]
        first_after = series(later, B_CLASS, m.id, "register")[0][1]
        assert 0 <= first_after - last_before < (m.rated_power_kw or 50) * 0.25 / m.multiplier


# -- the schema ---------------------------------------------------------------------------------


def test_every_reading_uses_allowed_fields_within_their_ranges(example_site: Site) -> None:
    readings = collect(SiteSimulator(example_site, seed=13), local(2026, 1, 20), local(2026, 1, 21))
    readings += collect(SiteSimulator(example_site, seed=13), local(2026, 7, 24), local(2026, 7, 25))
    intervals = {
        "meter": example_site.collection.meter_interval_s,
        "ieq": example_site.collection.ieq_interval_s,
        "equipment": example_site.collection.equipment_interval_s,
        "weather": example_site.collection.weather_interval_s,
    }
    seen_devices = set()
    for r in readings:
        building = example_site.building(r.building)
        device = building.device(r.device)  # type: ignore[union-attr]
        assert device is not None
        kind = device_kind(device)
        assert r.ts % intervals[kind] == 0
        assert r.fields and set(r.fields) <= allowed_fields(device), (r.device, r.fields)
        for name, value in r.fields.items():
            low, high, _ = FIELD_RANGES[kind][name]
            assert isinstance(value, float) and math.isfinite(value)
            assert low <= value <= high, (r.building, r.device, name, value)
        seen_devices.add((r.building, r.device))
    assert seen_devices == {(b.code, d.id) for b in example_site.buildings for d in b.all_devices()}


def test_backfill_lines_are_exactly_what_the_collector_would_write(example_site: Site) -> None:
    sim = SiteSimulator(example_site, seed=14)
    formatter = LineFormatter(example_site)
    readings = collect(sim, local(2026, 7, 24, 10), local(2026, 7, 24, 10, 30))
    for r in readings:
        building, device = sim.device_of(r)
        assert formatter.line(r) == reading_line(example_site, building, device, r.fields, r.ts * 1_000_000_000)


def expected_counts(site: Site, readings: list[Reading]) -> Counter[tuple[str, str]]:
    """Readings per (measurement, building), from the registry."""
    kinds = {(b.code, d.id): MEASUREMENT_OF_KIND[device_kind(d)] for b in site.buildings for d in b.all_devices()}
    return Counter((kinds[(r.building, r.device)], r.building) for r in readings)


# -- InfluxDB -----------------------------------------------------------------------------------


def test_backfill_writes_every_reading_to_influxdb(example_site: Site, store: InfluxStore) -> None:
    start, end = local(2026, 2, 13, 8), local(2026, 2, 13, 14)
    sim = SiteSimulator(example_site, seed=15)
    progress: list[tuple[int, int]] = []
    counts = backfill(sim, store, start, end, batch_lines=2000, progress=lambda done, total: progress.append((done, total)))

    assert counts == expected_counts(example_site, collect(SiteSimulator(example_site, seed=15), start, end))
    first_field = {"meter": "register", "ieq": "temperature", "equipment": "running", "weather": "temperature"}
    for measurement, field in first_field.items():
        stored = {row["building"]: row["count"] for row in store.rows(f'SELECT count("{field}") FROM "{measurement}" GROUP BY "building"')}
        assert stored == {b: n for (m, b), n in counts.items() if m == measurement}, measurement
    assert progress[-1] == (int(end.timestamp() - start.timestamp()),) * 2

    main = meter(example_site, B_CLASS, "E-MAIN")
    raw = series(collect(SiteSimulator(example_site, seed=15), start, end), B_CLASS, "E-MAIN", "register")
    rows = store.rows(f"""SELECT "register" FROM "meter" WHERE "building" = '{B_CLASS}' AND "meter" = 'E-MAIN'""")
    assert [(row["time"], row["register"]) for row in rows] == [(ts, pytest.approx(v * main.multiplier)) for ts, v in raw]


# -- MQTT ---------------------------------------------------------------------------------------


class Subscriber:
    """A plain paho client collecting everything under a prefix (QoS 1)."""

    def __init__(self, host: str, port: int, prefix: str):
        self.messages: list[tuple[str, dict]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-sub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
        subscribed = threading.Event()
        self.client.on_message = lambda c, u, msg: self.messages.append((msg.topic, json.loads(msg.payload)))
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{prefix}/#", qos=1)
        self.client.connect(host, port)
        self.client.loop_start()
        assert subscribed.wait(10)

    def wait_for(self, count: int, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_publish_sends_every_reading_on_its_device_topic(example_site: Site, stack: Stack) -> None:
    prefix = f"simtest-{uuid.uuid4().hex[:6]}"
    start = local(2026, 2, 14, 8)
    subscriber = Subscriber(stack.host, stack.mqtt_port, prefix)
    try:
        counts = publish(SiteSimulator(example_site, seed=16), stack.host, stack.mqtt_port, start, 1.0, 7200, topic_prefix=prefix)
        expected = collect(SiteSimulator(example_site, seed=16), start, start + timedelta(hours=2))
        subscriber.wait_for(len(expected))
    finally:
        subscriber.close()
    assert counts == expected_counts(example_site, expected)
    assert sorted(subscriber.messages, key=lambda m: (m[1]["ts"], m[0])) == sorted(
        ((f"{prefix}/{r.building}/{r.device}", {"ts": r.ts, **r.fields}) for r in expected), key=lambda m: (m[1]["ts"], m[0])
    )


def test_publish_gateway_batches_one_message_per_building_and_tick(example_site: Site, stack: Stack) -> None:
    prefix = f"simtest-{uuid.uuid4().hex[:6]}"
    start = local(2026, 2, 14, 8)
    subscriber = Subscriber(stack.host, stack.mqtt_port, prefix)
    try:
        counts = publish(
            SiteSimulator(example_site, seed=17), stack.host, stack.mqtt_port, start, 0.5, 7200, topic_prefix=prefix, gateway_batches=True
        )
        expected = collect(SiteSimulator(example_site, seed=17), start, start + timedelta(hours=1))
        batches = {(r.building, r.ts) for r in expected}
        subscriber.wait_for(len(batches))
    finally:
        subscriber.close()
    assert counts == expected_counts(example_site, expected)
    assert len(subscriber.messages) == len(batches)
    received = sorted(
        (
            topic.split("/")[1],
            item["device"],
            item["ts"],
            json.dumps({k: v for k, v in item.items() if k not in ("device", "ts")}, sort_keys=True),
        )
        for topic, body in subscriber.messages
        for item in body["readings"]
    )
    assert all(topic.endswith("/_batch") for topic, _ in subscriber.messages)
    assert received == sorted((r.building, r.device, r.ts, json.dumps(r.fields, sort_keys=True)) for r in expected)


def test_publish_stops_when_asked(example_site: Site, stack: Stack) -> None:
    stop = threading.Event()
    stop.set()
    counts = publish(
        SiteSimulator(example_site), stack.host, stack.mqtt_port, local(2026, 2, 14), math.inf, 1.0, topic_prefix="simtest-stop", stop=stop
    )
    assert counts == Counter()


@pytest.mark.integration  # starts its own Mosquitto
def test_publish_rides_out_a_broker_restart(example_site: Site, tmp_path: Path) -> None:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 100000\n")

    def start_broker() -> subprocess.Popen:
        broker = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not port_is_open("127.0.0.1", port):
            assert time.monotonic() < deadline and broker.poll() is None, "mosquitto did not start"
            time.sleep(0.05)
        return broker

    broker = start_broker()
    start = local(2026, 2, 14, 8)
    result: list[Counter] = []
    publisher = threading.Thread(
        target=lambda: result.append(
            publish(SiteSimulator(example_site, seed=18), "127.0.0.1", port, start, 3.0, 2400, topic_prefix="restart")
        )
    )
    try:
        publisher.start()
        time.sleep(0.8)
        broker.terminate()
        broker.wait(10)
        time.sleep(0.7)
        broker = start_broker()
        publisher.join(60)
        assert not publisher.is_alive()
    finally:
        broker.terminate()
        broker.wait(10)
    expected = collect(SiteSimulator(example_site, seed=18), start, start + timedelta(hours=2))
    assert result == [expected_counts(example_site, expected)]


def test_simulated_vendors_are_reproducible_mostly_on_time_and_sometimes_resolve_early() -> None:
    from datetime import UTC, datetime, timedelta

    from facmon.simulators.vendors import OrderFacts, VendorBehaviour, vendor_steps

    reported = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
    behaviour = VendorBehaviour(late_share=0.2, early_resolve_share=0.25)
    active = [OrderFacts(f"GD{n:06d}", reported, 60.0, from_fault=True) for n in range(400)]
    plans = [vendor_steps(order, behaviour, seed=3) for order in active]
    assert plans == [vendor_steps(order, behaviour, seed=3) for order in active]
    for steps in plans:
        assert [s.action for s in steps][:2] == ["acknowledge", "arrive"]
        assert reported < steps[0].at < steps[1].at
    late = sum(steps[1].at - reported > timedelta(minutes=60) for steps in plans) / len(plans)
    early = sum(len(steps) == 3 for steps in plans) / len(plans)  # resolved while the fault is still active
    assert 0.14 < late < 0.26 and 0.19 < early < 0.31
    cleared = reported + timedelta(hours=5)
    done = [vendor_steps(OrderFacts(o.number, reported, 60.0, True, cleared), behaviour, seed=3) for o in active]
    assert all(steps[-1].action == "resolve" for steps in done)
    # those not resolved early resolve after the data show recovery
    after = [steps for steps, plan in zip(done, plans) if len(plan) == 2]
    assert after and all(steps[-1].at > cleared for steps in after)
    request = vendor_steps(OrderFacts("GD000999", reported, 240.0, from_fault=False), behaviour)
    assert [s.action for s in request] == ["acknowledge", "arrive", "resolve"]
