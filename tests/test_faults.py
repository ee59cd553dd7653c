"""Fault injection: scenario files are checked against the site, every fault kind shows in the
simulated data the way a detector will look for it, injection does not depend on how a period is
split into calls, and the ground truth (labels file, sim_truth points) says exactly what was injected.

Pure simulation first (short periods, no servers), then `facmon simulate --backfill --faults` against
the real InfluxDB of conftest.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from facmon.registry import Meter, Site
from facmon.schema import FIELD_RANGES
from facmon.simulators import Reading, SiteSimulator
from facmon.simulators.faults import (
    FaultFileError,
    FaultKind,
    InjectedFault,
    labels,
    load_faults,
    parse_faults,
    truth_lines,
)
from facmon.store import InfluxStore
from tests.conftest import ROOT
from tests.test_cli import run

TZ = ZoneInfo("Asia/Shanghai")
MONTH = ROOT / "examples" / "faults-month.yaml"
SEED = 0


def scenario(site: Site, *entries: str) -> list[InjectedFault]:
    """Faults from flow-style YAML entries, one per line."""
    text = "faults:\n" + "".join(f"- {entry}\n" for entry in entries)
    return parse_faults(text, Path("scenario.yaml"), site)


def problems_of(site: Site, text: str) -> list[str]:
    with pytest.raises(FaultFileError) as caught:
        parse_faults(text, Path("bad.yaml"), site)
    return caught.value.problems


def simulate(site: Site, faults: list[InjectedFault], start: datetime, end: datetime) -> list[Reading]:
    sim = SiteSimulator(site, seed=SEED, faults=faults)
    return [reading for tick in sim.readings(start, end) for reading in tick]


def values(readings: list[Reading], building: str, device: str, field: str, start_s: int, end_s: int) -> list[tuple[int, float]]:
    return [
        (r.ts, r.fields[field])
        for r in readings
        if r.building == building and r.device == device and field in r.fields and start_s <= r.ts < end_s
    ]


def around(fault: InjectedFault, margin_h: float = 1.0) -> tuple[datetime, datetime]:
    margin = timedelta(hours=margin_h)
    return datetime.fromtimestamp(fault.start_s, UTC) - margin, datetime.fromtimestamp(fault.end_s, UTC) + margin


def with_and_without(site: Site, entry: str, margin_h: float = 1.0) -> tuple[InjectedFault, list[Reading], list[Reading]]:
    """(the fault, readings with it, readings of the same seed without it) around its window."""
    (fault,) = scenario(site, entry)
    start, end = around(fault, margin_h)
    return fault, simulate(site, [fault], start, end), simulate(site, [], start, end)


def before(readings: list[Reading], fault: InjectedFault) -> list[Reading]:
    return [r for r in readings if r.ts < fault.start_s]


# -- the scenario file ---------------------------------------------------------------------------


def test_the_example_month_has_every_kind_at_least_twice_across_the_site(example_site):
    """examples/faults-month.yaml: October 2026, every kind ≥ 2 times, in more than one building."""
    faults = load_faults(MONTH, example_site)
    for kind in FaultKind:
        of_kind = [f for f in faults if f.kind == kind]
        assert len(of_kind) >= 2, kind
    assert len({f.building for f in faults}) == 5
    october = (datetime(2026, 10, 1, tzinfo=TZ).timestamp(), datetime(2026, 11, 1, tzinfo=TZ).timestamp())
    assert all(october[0] <= f.start_s and f.end_s <= october[1] for f in faults)


def test_an_unknown_kind_is_refused_with_file_line_and_the_known_kinds(example_site):
    text = (
        "faults:\n- {kind: meter_stuck, building: '341122A001', target: E-LS-4F, start: '2026-10-13T00:00', duration: 1d}\n"
        "- {kind: gremlins, building: '341122A001', target: E-LS-4F, start: '2026-10-14T00:00', duration: 1d}\n"
    )
    (problem,) = problems_of(example_site, text)
    assert problem.startswith("bad.yaml:3: faults[1] (gremlins 341122A001/E-LS-4F) > kind:")
    assert "'meter_stuck'" in problem and "'water_leak'" in problem and "(got 'gremlins')" in problem


def test_an_unknown_device_or_building_is_refused_naming_the_fault(example_site):
    text = (
        "name: broken\n"
        "faults:\n"
        "- kind: water_leak\n"
        "  building: '341122A002'\n"
        "  target: W-NOWHERE\n"
        "  start: '2026-10-08T18:00'\n"
        "  duration: 2d\n"
        "- {kind: device_offline, building: '341122A009', target: E-MAIN, start: '2026-10-08T18:00', duration: 3h}\n"
    )
    assert problems_of(example_site, text) == [
        "bad.yaml:5: faults[0] (water_leak 341122A002/W-NOWHERE) > target: target 'W-NOWHERE' is not a device of building 341122A002",
        "bad.yaml:8: faults[1] (device_offline 341122A009/E-MAIN) > building: building '341122A009' is not in the site registry",
    ]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{kind: water_leak, building: '341122A002', target: E-LS-1F, start: '2026-10-08T18:00', duration: 2d}", "must be a water meter"),
        ("{kind: spike, building: '341122A002', target: W-MAIN, start: '2026-10-08T18:00', duration: 15m}", "must be an electricity meter"),
        (
            "{kind: elevator_out_of_service, building: '341122A001', target: AHU-1, start: '2026-10-08T18:00', duration: 1h}",
            "must be an elevator",
        ),
        (
            "{kind: water_leak, building: '341122A002', target: W-MAIN, start: '2026-10-08T18:00', duration: 2d, code: 7}",
            "code does not apply to kind water_leak",
        ),
        (
            "{kind: water_leak, building: '341122A002', target: W-MAIN, start: '2026-10-08T18:00', duration: soon}",
            "is not a duration such as 90m",
        ),
        ("{kind: device_offline, building: '341122A002', target: E-MAIN, start: '2026-10-08T18:00', duration: 5m}", "reports every 900 s"),
        (
            "{kind: out_of_range, building: '341122A002', target: IEQ-1F, start: '2026-10-08T18:00', duration: 1h, field: tvoc}",
            "field 'tvoc' is not reported by IEQ-1F",
        ),
        (
            "{kind: lights_after_hours, building: '341122A001', target: E-LS-2F, start: '2026-10-16T17:00', duration: 3h}",
            "outside working hours",
        ),
        (
            "{kind: hvac_weekend, building: '341122A001', target: AHU-1, start: '2026-10-09T00:00', duration: 2d}",
            "2026-10-09 is a working day",
        ),
        (
            "{kind: ventilation_failure, building: '341122A001', target: IEQ-5F, start: '2026-10-17T08:00', duration: 10h}",
            "the window has none",
        ),
    ],
)
def test_a_fault_that_does_not_fit_its_target_or_calendar_is_refused(example_site, entry, expected):
    """Targets must suit the kind, parameters the kind, and the window must be able to show the fault
    (10-09 is a Friday, 10-16 17:00 is still working hours, 10-17 a Saturday)."""
    (problem,) = problems_of(example_site, f"faults:\n- {entry}\n")
    assert problem.startswith("bad.yaml:2: faults[0] (")
    assert expected in problem


def test_faults_of_one_kind_on_one_target_must_not_overlap(example_site):
    text = (
        "faults:\n"
        "- {kind: device_offline, building: '341122A002', target: E-MAIN, start: '2026-10-08T18:00', duration: 3h}\n"
        "- {kind: device_offline, building: '341122A002', target: E-MAIN, start: '2026-10-08T20:00', duration: 3h}\n"
        "- {kind: device_offline, building: '341122A002', target: E-MAIN, start: '2026-10-08T23:00', duration: 3h}\n"
    )
    (problem,) = problems_of(example_site, text)
    assert problem.startswith("bad.yaml:3: faults[1]") and "overlaps faults[0]" in problem


# -- each kind shows in the data -------------------------------------------------------------------


def test_a_stuck_meter_keeps_its_register_flat_while_its_load_continues(example_site):
    fault, faulty, normal = with_and_without(
        example_site, "{kind: meter_stuck, building: '341122A004', target: E-IT, start: '2026-10-21T06:00', duration: 6h}"
    )
    registers = [v for _, v in values(faulty, fault.building, fault.target, "register", fault.start_s, fault.end_s)]
    powers = [v for _, v in values(faulty, fault.building, fault.target, "power", fault.start_s, fault.end_s)]
    assert len(registers) == 24 and len(set(registers)) == 1
    assert min(powers) > 0
    assert powers == [v for _, v in values(normal, fault.building, fault.target, "power", fault.start_s, fault.end_s)]
    normal_registers = [v for _, v in values(normal, fault.building, fault.target, "register", fault.start_s, fault.end_s)]
    assert normal_registers[-1] > normal_registers[0]
    assert before(faulty, fault) == before(normal, fault)


def test_an_offline_device_publishes_nothing_for_the_duration(example_site):
    fault, faulty, normal = with_and_without(
        example_site, "{kind: device_offline, building: '341122A002', target: IEQ-3F, start: '2026-10-14T09:00', duration: 3h}"
    )
    mine = [r for r in faulty if r.building == fault.building and r.device == fault.target]
    assert mine and not [r for r in mine if fault.start_s <= r.ts < fault.end_s]
    assert (
        len([r for r in normal if (r.building, r.device) == (fault.building, fault.target) and fault.start_s <= r.ts < fault.end_s]) == 36
    )
    others = [r for r in faulty if (r.building, r.device) != (fault.building, fault.target)]
    assert others == [r for r in normal if (r.building, r.device) != (fault.building, fault.target)]


def test_a_spike_jumps_beyond_rated_power_in_power_and_register(example_site):
    fault, faulty, normal = with_and_without(
        example_site, "{kind: spike, building: '341122A003', target: E-LS-5-6F, start: '2026-10-15T10:00', duration: 15m}"
    )
    meter = example_site.building(fault.building).device(fault.target)
    assert isinstance(meter, Meter) and meter.rated_power_kw == 65
    ((ts, power),) = values(faulty, fault.building, fault.target, "power", fault.start_s, fault.end_s)
    assert power * meter.multiplier == pytest.approx(5 * 65, abs=0.01)
    registers = dict(values(faulty, fault.building, fault.target, "register", fault.start_s - 900, fault.end_s + 900))
    jump_kwh = (registers[ts] - registers[ts - 900]) * meter.multiplier
    assert jump_kwh / 0.25 > 1.2 * 65  # above rated power × interval × 1.2 (docs/standards.md#metering-data-model validation rule)
    normal_registers = dict(values(normal, fault.building, fault.target, "register", fault.start_s + 900, fault.end_s + 900))
    assert registers[ts + 900] == normal_registers[ts + 900]  # a transient: the next reading is back


def test_an_out_of_range_value_exceeds_the_schema_bound(example_site):
    fault, faulty, normal = with_and_without(
        example_site, "{kind: out_of_range, building: '341122A004', target: IEQ-2F, start: '2026-10-16T11:00', duration: 30m}"
    )
    low, high, _ = FIELD_RANGES["ieq"]["temperature"]
    inside = [v for _, v in values(faulty, fault.building, fault.target, "temperature", fault.start_s, fault.end_s)]
    assert len(inside) == 6 and all(v > high for v in inside)
    assert all(low <= v <= high for _, v in values(normal, fault.building, fault.target, "temperature", fault.start_s, fault.end_s))


def test_a_meter_reset_drops_the_register_to_zero_and_counts_on(example_site):
    fault, faulty, normal = with_and_without(
        example_site, "{kind: meter_reset, building: '341122A002', target: E-MAIN, start: '2026-10-19T10:00', duration: 15m}", margin_h=2
    )
    after = values(faulty, fault.building, fault.target, "register", fault.start_s, fault.start_s + 7200)
    normal_after = values(normal, fault.building, fault.target, "register", fault.start_s, fault.start_s + 7200)
    assert after[0] == (fault.start_s, 0.0)
    assert normal_after[0][1] > 1000
    # from the reset on it counts what the unfaulted meter counts
    for (_, a0), (_, a1), (_, n0), (_, n1) in zip(after, after[1:], normal_after, normal_after[1:]):
        assert a1 - a0 == pytest.approx(n1 - n0, abs=0.002)


def test_lights_left_on_after_hours_add_their_load_to_the_meter_and_the_main_meter(example_site):
    fault, faulty, normal = with_and_without(
        example_site,
        "{kind: lights_after_hours, building: '341122A001', target: E-LS-2F, start: '2026-10-16T19:00', duration: 12h, extra_kw: 20}",
    )
    b = example_site.building(fault.building)
    for meter_id, expected_kw in (("E-LS-2F", 20.0), ("E-MAIN", 20.0 * 1.02)):
        multiplier = b.device(meter_id).multiplier
        with_kw = values(faulty, fault.building, meter_id, "power", fault.start_s, fault.end_s)
        without_kw = values(normal, fault.building, meter_id, "power", fault.start_s, fault.end_s)
        assert len(with_kw) == 48
        for (_, w), (_, n) in zip(with_kw, without_kw):
            assert (w - n) * multiplier == pytest.approx(expected_kw, abs=0.01 * multiplier)


def test_hvac_running_on_a_weekend_shows_running_and_power(example_site):
    fault, faulty, normal = with_and_without(
        example_site, "{kind: hvac_weekend, building: '341122A001', target: AHU-1, start: '2026-10-24T00:00', duration: 12h}"
    )
    running = [v for _, v in values(faulty, fault.building, "AHU-1", "running", fault.start_s, fault.end_s)]
    assert len(running) == 144 and set(running) == {1.0}
    assert {v for _, v in values(normal, fault.building, "AHU-1", "running", fault.start_s, fault.end_s)} == {0.0}
    assert min(v for _, v in values(faulty, fault.building, "AHU-1", "power", fault.start_s, fault.end_s)) >= 0.6 * 44
    meter_kw = [v * 40 for _, v in values(faulty, fault.building, "E-AHU1", "power", fault.start_s, fault.end_s)]
    assert min(meter_kw) >= 0.6 * 44 - 0.01


def test_a_water_leak_adds_a_steady_flow_seen_at_night_on_the_meter_and_the_main(example_site):
    fault, faulty, normal = with_and_without(
        example_site, "{kind: water_leak, building: '341122A002', target: W-TOILET, start: '2026-10-08T18:00', duration: 1d}"
    )

    def counted_m3(readings: list[Reading], meter_id: str) -> float:
        series = values(readings, fault.building, meter_id, "register", fault.start_s, fault.end_s + 1)
        return series[-1][1] - series[0][1]

    for meter_id in ("W-TOILET", "W-MAIN"):
        assert counted_m3(faulty, meter_id) - counted_m3(normal, meter_id) == pytest.approx(0.5 * 24, abs=0.01)  # 0.5 m³/h for 24 h
    night_start = int(datetime(2026, 10, 9, 1, 0, tzinfo=TZ).timestamp())
    night = values(faulty, fault.building, "W-TOILET", "register", night_start, night_start + 3 * 3600 + 1)
    assert (night[-1][1] - night[0][1]) / 3 >= 0.5  # night flow at least the leak, m³/h


def test_a_fault_code_stops_the_equipment_and_is_reported(example_site):
    fault, faulty, normal = with_and_without(
        example_site, "{kind: equipment_fault_code, building: '341122A003', target: AHU-3, start: '2026-10-20T09:00', duration: 5h}"
    )
    codes = {v for _, v in values(faulty, fault.building, "AHU-3", "fault_code", fault.start_s, fault.end_s)}
    assert codes == {101.0}
    assert {v for _, v in values(faulty, fault.building, "AHU-3", "running", fault.start_s, fault.end_s)} == {0.0}
    assert {v for _, v in values(normal, fault.building, "AHU-3", "running", fault.start_s, fault.end_s)} == {1.0}
    assert {v for _, v in values(normal, fault.building, "AHU-3", "fault_code", fault.start_s, fault.end_s)} == {0.0}


def test_an_elevator_out_of_service_stops_and_makes_no_trips(example_site):
    fault, faulty, normal = with_and_without(
        example_site, "{kind: elevator_out_of_service, building: '341122A003', target: EL-2, start: '2026-10-12T09:00', duration: 8h}"
    )
    assert {v for _, v in values(faulty, fault.building, "EL-2", "running", fault.start_s, fault.end_s)} == {0.0}
    assert {v for _, v in values(faulty, fault.building, "EL-2", "trips", fault.start_s, fault.end_s)} == {0.0}
    assert sum(v for _, v in values(normal, fault.building, "EL-2", "trips", fault.start_s, fault.end_s)) > 100


@pytest.mark.parametrize("building", ["341122A001", "341122A002"])
def test_a_ventilation_failure_makes_co2_climb_above_1000_ppm(example_site, building):
    """B-class (central fresh air) and A-class (windows and fans) zones alike; 1000 ppm is GB/T 18883's limit."""
    fault, faulty, normal = with_and_without(
        example_site, f"{{kind: ventilation_failure, building: '{building}', target: IEQ-4F, start: '2026-10-21T08:00', duration: 10h}}"
    )
    co2 = [v for _, v in values(faulty, building, "IEQ-4F", "co2", fault.start_s, fault.end_s)]
    usual = [v for _, v in values(normal, building, "IEQ-4F", "co2", fault.start_s, fault.end_s)]
    assert max(co2) > 1000 and max(usual) < 1000
    assert max(co2) - max(usual) > 300


@pytest.mark.parametrize(("temperature_c", "outside"), [(31.0, lambda t: t > 28.0), (13.0, lambda t: t < 16.0)])
def test_a_zone_is_driven_outside_the_comfort_band_in_occupied_hours(example_site, temperature_c, outside):
    """GB/T 18883-2022: 22-28 °C in summer, 16-24 °C in winter; the fault leaves both."""
    fault, faulty, normal = with_and_without(
        example_site,
        f"{{kind: comfort_out_of_band, building: '341122A004', target: IEQ-4F, start: '2026-10-15T09:00', duration: 8h, "
        f"temperature_c: {temperature_c}}}",
    )
    late = values(faulty, fault.building, "IEQ-4F", "temperature", fault.end_s - 4 * 3600, fault.end_s)
    assert len(late) == 48 and all(outside(v) for _, v in late)
    assert all(16.0 <= v <= 28.0 for _, v in values(normal, fault.building, "IEQ-4F", "temperature", fault.start_s, fault.end_s))


def test_simultaneous_heating_and_cooling_shows_one_unit_heating_while_another_cools(example_site):
    fault, faulty, normal = with_and_without(
        example_site,
        "{kind: simultaneous_heating_cooling, building: '341122A002', target: VRF-1, start: '2026-10-19T09:00', duration: 8h, partner: "
        "VRF-3}",
    )
    heating = values(faulty, fault.building, "VRF-1", "supply_temp", fault.start_s, fault.end_s)
    cooling = values(faulty, fault.building, "VRF-3", "supply_temp", fault.start_s, fault.end_s)
    assert len(heating) == 96 and all(v >= 40.0 for _, v in heating) and all(v <= 10.0 for _, v in cooling)
    for unit in ("VRF-1", "VRF-3"):
        assert {v for _, v in values(faulty, fault.building, unit, "running", fault.start_s, fault.end_s)} == {1.0}
    assert not any(v >= 40.0 for _, v in values(normal, fault.building, "VRF-1", "supply_temp", fault.start_s, fault.end_s))


def test_every_kind_is_covered_by_a_visibility_test():
    """The tests above, one per kind: adding a kind without showing its effect fails here."""
    tested = {
        "meter_stuck",
        "device_offline",
        "spike",
        "out_of_range",
        "meter_reset",
        "lights_after_hours",
        "hvac_weekend",
        "water_leak",
        "equipment_fault_code",
        "elevator_out_of_service",
        "ventilation_failure",
        "comfort_out_of_band",
        "simultaneous_heating_cooling",
    }
    assert {k.value for k in FaultKind} == tested


# -- determinism ---------------------------------------------------------------------------------------


SPLIT_SCENARIO = (
    "{kind: meter_reset, building: '341122A002', target: E-MAIN, start: '2026-10-19T10:00', duration: 15m}",
    "{kind: meter_stuck, building: '341122A001', target: E-LS-4F, start: '2026-10-19T06:00', duration: 12h}",
    "{kind: water_leak, building: '341122A002', target: W-TOILET, start: '2026-10-19T03:00', duration: 1d}",
    "{kind: device_offline, building: '341122A003', target: E-CH1, start: '2026-10-19T14:00', duration: 3h}",
    "{kind: ventilation_failure, building: '341122A001', target: IEQ-5F, start: '2026-10-19T08:00', duration: 10h}",
)


def test_faults_are_injected_identically_however_the_period_is_split(example_site):
    faults = scenario(example_site, *SPLIT_SCENARIO)
    start, end = datetime(2026, 10, 19, 0, 0, tzinfo=TZ), datetime(2026, 10, 20, 6, 0, tzinfo=TZ)
    whole = simulate(example_site, faults, start, end)
    for cuts in (
        [datetime(2026, 10, 19, 10, 0, tzinfo=TZ)],
        [datetime(2026, 10, 19, 9, 7, tzinfo=TZ), datetime(2026, 10, 19, 15, 0, tzinfo=TZ)],
    ):
        sim = SiteSimulator(example_site, seed=SEED, faults=faults)
        points = [start, *cuts, end]
        pieces = [r for a, b in pairwise(points) for tick in sim.readings(a, b) for r in tick]
        assert pieces == whole, cuts


def test_a_meter_reset_survives_the_state_file(example_site, tmp_path):
    """A run stopped after the reset and resumed from its state file counts on from the reset."""
    faults = scenario(example_site, *SPLIT_SCENARIO)
    start, middle, end = (datetime(2026, 10, 19, h, 0, tzinfo=TZ) for h in (0, 12, 20))
    whole = simulate(example_site, faults, start, end)
    first = SiteSimulator(example_site, seed=SEED, state_path=tmp_path / "state.json", faults=faults)
    before_stop = [r for tick in first.readings(start, middle) for r in tick]
    first.save_state()
    resumed = SiteSimulator(example_site, seed=SEED, state_path=tmp_path / "state.json", faults=faults)
    assert resumed.state_note is None
    after_stop = [r for tick in resumed.readings(middle, end) for r in tick]
    assert before_stop + after_stop == whole
    main = values(after_stop, "341122A002", "E-MAIN", "register", 0, 2**40)
    assert main[0][1] < 100  # still near zero: counting on from the reset, not from the old register


def test_a_run_under_another_fault_scenario_continues_the_registers_of_the_state_file(example_site, tmp_path):
    """A live run after a backfill with other faults (or none): the registers go on from where the
    backfill ended, never from another base (which would read as a reset or a spike on every meter)."""
    faults = scenario(example_site, *SPLIT_SCENARIO)
    start, middle, end = (datetime(2026, 10, 19, h, 0, tzinfo=TZ) for h in (0, 12, 20))
    backfill = SiteSimulator(example_site, seed=SEED, state_path=tmp_path / "state.json", faults=faults)
    before = [r for tick in backfill.readings(start, middle) for r in tick]
    backfill.save_state()
    live = SiteSimulator(example_site, seed=SEED, state_path=tmp_path / "state.json")  # no faults now
    assert live.state_note is not None and "registers continue from 2026-10-19 04:00 UTC" in live.state_note
    after = [r for tick in live.readings(middle, end) for r in tick]
    for meter in ("E-MAIN", "E-LS-1F"):
        last = values(before, "341122A001", meter, "register", 0, 2**40)[-1]
        first = values(after, "341122A001", meter, "register", 0, 2**40)[0]
        assert first[0] - last[0] == 15 * 60  # the next 15-minute reading
        assert 0 <= first[1] - last[1] < 100, (meter, last, first)  # counted on: one interval's worth, not rebased


# -- ground truth ----------------------------------------------------------------------------------------


def test_labels_say_kind_building_target_vendor_and_the_window_in_utc(example_site):
    faults = scenario(
        example_site,
        "{kind: elevator_out_of_service, building: '341122A003', target: EL-2, start: '2026-10-12T09:00', duration: 8h, severity: "
        "critical}",
        "{kind: equipment_fault_code, building: '341122A001', target: CH-2, start: '2026-10-14T10:00+08:00', duration: 6h, code: 231}",
        "{kind: water_leak, building: '341122A002', target: W-TOILET, start: '2026-10-14T02:00:00Z', duration: 1d12h, description: "
        "cistern valve}",
    )
    window = (int(datetime(2026, 10, 12, tzinfo=TZ).timestamp()), int(datetime(2026, 10, 15, tzinfo=TZ).timestamp()))
    content = labels(faults, *window, seed=7, scenario="s.yaml")
    assert content["format"] == "facmon-fault-labels/1" and content["seed"] == 7
    assert content["window"] == {"start": "2026-10-11T16:00:00Z", "end": "2026-10-14T16:00:00Z", "start_s": window[0], "end_s": window[1]}
    elevator, chiller, leak = content["faults"]
    assert elevator == {
        "kind": "elevator_out_of_service",
        "building": "341122A003",
        "target": "EL-2",
        "vendor": "elevator",
        "system": "elevator",
        "severity": "critical",
        "start": "2026-10-12T01:00:00Z",  # 09:00 local, UTC+8
        "end": "2026-10-12T09:00:00Z",
        "start_s": int(datetime(2026, 10, 12, 1, 0, tzinfo=UTC).timestamp()),
        "end_s": int(datetime(2026, 10, 12, 9, 0, tzinfo=UTC).timestamp()),
        "description": "县政府办公楼 EL-2: elevator out of service",
        "parameters": {},
    }
    assert (chiller["vendor"], chiller["severity"], chiller["start"], chiller["parameters"]) == (
        "hvac",
        "major",
        "2026-10-14T02:00:00Z",
        {"code": 231},
    )
    assert (leak["vendor"], leak["system"], leak["start"], leak["end"], leak["description"]) == (
        "property",
        "water_supply",
        "2026-10-14T02:00:00Z",
        "2026-10-15T14:00:00Z",
        "cistern valve",
    )
    assert labels(faults, window[0], faults[0].start_s, seed=7)["faults"] == []  # only faults overlapping the window


def test_sim_truth_marks_each_start_active_and_each_end_cleared(example_site):
    (fault,) = scenario(
        example_site, "{kind: device_offline, building: '341122A003', target: E-CH1, start: '2026-10-22T14:00', duration: 3h}"
    )
    ns = 1_000_000_000
    assert truth_lines([fault], fault.start_s, fault.end_s + 1) == [
        f"sim_truth,building=341122A003,kind=device_offline,target=E-CH1 active=1.0 {fault.start_s * ns}",
        f"sim_truth,building=341122A003,kind=device_offline,target=E-CH1 active=0.0 {fault.end_s * ns}",
    ]
    assert truth_lines([fault], fault.start_s + 1, fault.end_s) == []


def test_a_live_run_hands_over_truth_as_the_simulation_passes_each_start_and_end(example_site):
    (fault,) = scenario(
        example_site, "{kind: device_offline, building: '341122A003', target: E-CH1, start: '2026-10-22T14:00', duration: 3h}"
    )
    sim = SiteSimulator(example_site, seed=SEED, faults=[fault])
    assert sim.fault_injector is not None
    handed: list[str] = []
    sim.fault_injector.truth_sink = handed.extend
    start, end = around(fault)
    for _ in sim.readings(start, end):
        pass
    assert handed == truth_lines([fault], fault.start_s, fault.end_s + 1)


# -- the command line against the real InfluxDB ---------------------------------------------------------------


def test_simulate_backfill_with_faults_writes_sim_truth_matching_the_labels(stack_env, store: InfluxStore, tmp_path):
    """Two days of the example month (13-14 October local): truth points in InfluxDB are the labels'
    starts and ends, and the offline device left a hole in the stored readings."""
    labels_path = tmp_path / "labels.json"
    result = run(
        "simulate",
        "--backfill",
        "--faults",
        str(MONTH),
        "--labels-out",
        str(labels_path),
        "--until",
        "2026-10-15T00:00:00+08:00",
        "--days",
        "2",
        "--format",
        "json",
        env=stack_env,
    )
    assert result.returncode == 0, result.stderr
    window = (int(datetime(2026, 10, 13, tzinfo=TZ).timestamp()), int(datetime(2026, 10, 15, tzinfo=TZ).timestamp()))
    content = json.loads(labels_path.read_text(encoding="utf-8"))
    assert (content["window"]["start_s"], content["window"]["end_s"]) == window
    expected_faults = [f for f in load_faults(MONTH, _site(stack_env)) if f.start_s < window[1] and f.end_s > window[0]]
    assert [(f["kind"], f["building"], f["target"], f["start_s"], f["end_s"]) for f in content["faults"]] == [
        (f.kind.value, f.building, f.target, f.start_s, f.end_s) for f in sorted(expected_faults, key=lambda f: (f.start_s, f.number))
    ]
    expected_points = set()
    for f in content["faults"]:
        for ts, active in ((f["start_s"], 1.0), (f["end_s"], 0.0)):
            if window[0] <= ts < window[1]:
                expected_points.add((f["building"], f["kind"], f["target"], ts, active))
    stored = {
        (row["building"], row["kind"], row["target"], row["time"], row["active"])
        for row in store.rows('SELECT "active" FROM "sim_truth" GROUP BY "building", "kind", "target"')
    }
    assert stored == expected_points and len(stored) >= 6
    backfilled = json.loads(result.stdout)["backfilled"]
    assert sum(backfilled["sim_truth"].values()) == len(expected_points)
    offline = next(f for f in content["faults"] if f["kind"] == "device_offline")
    hole = store.rows(
        f'SELECT count("temperature") FROM "ieq" WHERE "building" = \'{offline["building"]}\' AND "sensor" = \'{offline["target"]}\' '
        f"AND time >= {offline['start_s']}s AND time < {offline['end_s']}s"
    )
    assert hole == []
    around_hole = store.rows(
        f'SELECT count("temperature") FROM "ieq" WHERE "building" = \'{offline["building"]}\' AND "sensor" = \'{offline["target"]}\' '
        f"AND time >= {offline['start_s'] - 3600}s AND time < {offline['start_s']}s"
    )
    assert around_hole[0]["count"] == 12


def test_simulate_refuses_labels_without_faults_and_names_a_broken_scenario(tmp_path):
    alone = run("simulate", "--backfill", "--labels-out", str(tmp_path / "labels.json"), env={"FACMON_HOME": str(tmp_path)})
    assert alone.returncode == 2 and "--labels-out needs --faults" in alone.stderr and "Traceback" not in alone.stderr
    broken = tmp_path / "faults.yaml"
    broken.write_text(
        "faults:\n- {kind: water_leak, building: '341122A002', target: W-NOWHERE, start: '2026-10-08T18:00', duration: 2d}\n",
        encoding="utf-8",
    )
    result = run("simulate", "--backfill", "--faults", str(broken), env={"FACMON_HOME": str(tmp_path)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{broken}:2: faults[0] (water_leak 341122A002/W-NOWHERE) > target" in result.stderr


def _site(env: dict[str, str]) -> Site:
    from facmon.registry import load_site

    return load_site(env["FACMON_SITE"])
