"""Fault detectors on synthetic series with and without their fault, including the usual false-positive
traps, and fault state carried across analysis runs (InfluxDB)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from facmon.analytics import fault_detectors as fd
from facmon.analytics.fault_state import (
    FaultSeries,
    active_before,
    fault_lines,
    replace_faults,
)
from facmon.fault_kinds import FaultKind

TZ = ZoneInfo("Asia/Shanghai")
OPENS, CLOSES = time(8, 30), time(17, 30)


def at(day: str, hh: int = 0, mm: int = 0) -> int:
    y, m, d = map(int, day.split("-"))
    return int(datetime(y, m, d, hh, mm, tzinfo=TZ).timestamp())


def grid(start_s: int, hours: float, step_s: int) -> np.ndarray:
    return start_s + step_s * np.arange(int(hours * 3600 / step_s))


# -- persistence -------------------------------------------------------------------------------


def test_a_run_is_raised_at_its_persistence_th_sample_and_cleared_at_the_next_good_one():
    """Samples 2..5 bad, persistence 3: raised at sample 4, cleared at sample 6; a 2-sample run is ignored."""
    t = np.arange(10) * 300
    mask = np.array([0, 0, 1, 1, 1, 1, 0, 1, 1, 0], bool)
    assert fd.persistent_runs(t, mask, 3) == [(1200, 1800, 2, 5)]


# -- data path ---------------------------------------------------------------------------------


def test_offline_after_missed_readings_clears_at_the_next_reading():
    """5-min readings with a 1-hour hole: offline 2.5 intervals after the last reading, cleared at the next one."""
    t = np.concatenate((np.arange(0, 3600, 300), np.arange(7200, 9000, 300)))
    [e] = fd.offline_episodes("IEQ-1F", t, 300, 9000, missed_readings=2.5)
    assert (e.kind, e.raised_s, e.cleared_s) == (FaultKind.DEVICE_OFFLINE, 3300 + 750, 7200)
    assert e.onset_s == 3300 + 300, "its onset is the first reading that did not come"
    assert fd.offline_episodes("IEQ-1F", np.arange(0, 9000, 300), 300, 9000, missed_readings=2.5) == []


def test_a_register_flat_while_power_flows_is_stuck_but_a_meter_without_load_is_not():
    """15-min readings, 10 kW flowing: two flat steps imply 5 kWh ≥ 5 × 0.4 kWh resolution → stuck at the
    2nd flat step. The same flat register with power 0 (no load: legitimately steady) is no fault."""
    t = np.arange(8) * 900
    register = np.array([100, 102.5, 105, 105, 105, 105, 107.5, 110.0])
    power = np.full(8, 10.0)
    [e] = fd.stuck_register_episodes("E-LS-4F", t, register, power, resolution=0.4, min_steps=2, min_resolutions=5)
    assert (e.raised_s, e.cleared_s) == (t[4], t[6])
    assert e.onset_s == t[3], "flat from the step ending at t[3]"
    idle = np.full(8, 100.0)
    assert fd.stuck_register_episodes("E-LS-4F", t, idle, np.zeros(8), resolution=0.4, min_steps=2, min_resolutions=5) == []


def test_a_load_switching_on_between_readings_is_not_a_stuck_register():
    """Outdoor lights switch on just before a reading: the register has not moved yet, the power says 9 kW.
    Only a load on at both ends of a step surely ran through it, so one flat step at switch-on is no fault."""
    t = np.arange(5) * 900
    register = np.array([50.0, 50.0, 50.0, 52.2, 54.4])
    power = np.array([0.0, 0.0, 9.0, 9.0, 9.0])
    assert fd.stuck_register_episodes("E-LOUT", t, register, power, resolution=0.1, min_steps=2, min_resolutions=5) == []


def test_a_frozen_sensor_is_stuck_but_a_steady_noisy_one_is_not():
    """Every quantity bit-identical for 6 h → stuck; a room at a steady 22 °C whose readings still jitter is fine."""
    t = grid(0, 8, 300)
    frozen = np.tile([22.0, 55.0, 480.0], (t.size, 1))
    [e] = fd.stuck_sensor_episodes("IEQ-2F", t, frozen, min_duration_s=6 * 3600)
    assert e.raised_s == t[0] + 6 * 3600 and e.cleared_s is None
    assert e.onset_s == t[1], "the first repeated reading"
    rng = np.random.default_rng(1)
    steady = frozen + np.round(rng.normal(0, 0.1, frozen.shape), 1)
    assert fd.stuck_sensor_episodes("IEQ-2F", t, steady, min_duration_s=6 * 3600) == []


def test_out_of_range_from_stored_and_rejected_readings_clears_at_the_next_good_reading():
    """Bad readings at 600 (stored) and 900 (rejected by the collector), good ones around: one episode 600..1200."""
    [e] = fd.out_of_range_episodes("AHU-2", np.array([600, 900]), np.array([0, 300, 1200, 1500]), "supply_air_temp")
    assert (e.raised_s, e.cleared_s) == (600, 1200)


# -- equipment ---------------------------------------------------------------------------------


def test_a_fault_code_raises_at_once_and_an_elevator_stopped_after_persistence():
    """A chiller reports code 231 at sample 3..5 → raised at sample 3. An elevator (in service around the clock)
    with running 0 from sample 2 on → out of service at sample 3 (2 readings), still active at the end."""
    t = np.arange(8) * 300
    code = np.array([0, 0, 0, 231, 231, 231, 0, 0.0])
    [e] = fd.equipment_episodes("CH-2", t, np.ones(8), code, must_run=False, elevator=False, persistence_code=1, persistence_stopped=2)
    assert (e.kind, e.raised_s, e.cleared_s, e.value) == (FaultKind.EQUIPMENT_FAULT_CODE, 900, 1800, 231.0)
    running = np.array([1, 1, 0, 0, 0, 0, 0, 0.0])
    [e] = fd.equipment_episodes("EL-2", t, running, np.zeros(8), must_run=True, elevator=True, persistence_code=1, persistence_stopped=2)
    assert (e.kind, e.raised_s, e.cleared_s) == (FaultKind.ELEVATOR_OUT_OF_SERVICE, 900, None)
    assert e.onset_s == 600, "stopped since sample 2"
    chiller_idle = fd.equipment_episodes(
        "CH-1", t, np.zeros(8), np.zeros(8), must_run=False, elevator=False, persistence_code=1, persistence_stopped=2
    )
    assert chiller_idle == []  # a chiller off is not a fault


def test_hvac_on_a_weekend_is_a_fault_but_not_on_a_tiaoxiu_working_saturday():
    """2026-10-17 is an ordinary Saturday, 2026-10-10 a 调休 working Saturday: the same AHU running 09:00-12:00
    is a fault only on the first."""
    for day, expected in (("2026-10-17", 1), ("2026-10-10", 0)):
        t = grid(at(day, 9), 3, 300)
        found = fd.days_off_running_episodes("AHU-1", t, np.ones(t.size), TZ, OPENS, CLOSES, occupant_switched=False, persistence=6)
        assert len(found) == expected, day
        if expected:
            assert found[0].raised_s == t[5]


def test_occupant_switched_units_may_run_for_duty_staff_in_office_hours_on_a_day_off_but_not_at_night():
    """A class-A split unit on 2026-10-17 (Saturday): running 10:00-16:00 is duty staff; from 00:00 it is a fault
    that stays raised through the office hours while the unit keeps running."""
    day = grid(at("2026-10-17", 10), 6, 300)
    assert fd.days_off_running_episodes("VRF-1", day, np.ones(day.size), TZ, OPENS, CLOSES, occupant_switched=True, persistence=6) == []
    night = grid(at("2026-10-17", 0), 24, 300)
    [e] = fd.days_off_running_episodes("VRF-2", night, np.ones(night.size), TZ, OPENS, CLOSES, occupant_switched=True, persistence=6)
    assert e.raised_s == at("2026-10-17", 0, 25) and e.cleared_s is None


def test_heating_while_another_unit_cools_is_filed_against_the_heating_unit():
    """VRF-1 heats and VRF-3 cools for 4 readings: one fault on VRF-1 raised at the 3rd; units in one mode are fine."""
    t = np.arange(6) * 300
    heating = {"VRF-1": np.array([0, 1, 1, 1, 1, 0], bool), "VRF-3": np.zeros(6, bool)}
    cooling = {"VRF-1": np.zeros(6, bool), "VRF-3": np.array([0, 1, 1, 1, 1, 0], bool)}
    [e] = fd.simultaneous_heating_cooling_episodes(t, heating, cooling, persistence=3)
    assert (e.target, e.raised_s, e.cleared_s, e.onset_s) == ("VRF-1", 900, 1500, 300)
    all_cooling = {"VRF-1": np.ones(6, bool), "VRF-3": np.ones(6, bool)}
    assert fd.simultaneous_heating_cooling_episodes(t, {"VRF-1": np.zeros(6, bool)}, all_cooling, persistence=3) == []


# -- energy waste ------------------------------------------------------------------------------


def lighting_history(days: int, start: str, extra_kw_from: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """15-min lighting power: 12 kW in office hours on working days, 1.5 kW otherwise (+20 kW from ``extra_kw_from``)."""
    t = grid(at(start), days * 24, 900)
    hours, working, _, _ = fd.local_clock(t, TZ)
    kw = np.where(fd.occupied(hours, working, OPENS, CLOSES), 12.0, 1.5)
    if extra_kw_from is not None:
        kw = np.where(t >= extra_kw_from, kw + 20.0, kw)
    return t, kw


def test_lights_left_on_after_hours_are_found_against_the_meters_own_unoccupied_baseline():
    """Three weeks of normal nights, then +20 kW from 19:00 on 2026-10-16 (32 kW circuit, margin 8 kW):
    raised after 4 intervals, i.e. at 20:00."""
    t, kw = lighting_history(26, "2026-09-21", extra_kw_from=at("2026-10-16", 19))
    found = fd.after_hours_episodes(
        "E-LS-2F",
        t,
        kw,
        TZ,
        OPENS,
        CLOSES,
        rated_kw=32,
        analyse_from_s=at("2026-10-16"),
        lookback_days=21,
        min_days=3,
        margin_share=0.25,
        persistence=4,
    )
    assert found and found[0].raised_s == at("2026-10-16", 20)
    assert found[0].onset_s == at("2026-10-16", 19), "the interval the extra load began in"


def test_holidays_and_a_tiaoxiu_saturday_raise_no_after_hours_fault():
    """National Day (1-7 Oct) is dark; 10 Oct is a 调休 working Saturday with office-hours lighting: neither is a fault."""
    t, kw = lighting_history(31, "2026-09-17")
    found = fd.after_hours_episodes(
        "E-LS-2F",
        t,
        kw,
        TZ,
        OPENS,
        CLOSES,
        rated_kw=32,
        analyse_from_s=at("2026-10-01"),
        lookback_days=21,
        min_days=3,
        margin_share=0.25,
        persistence=4,
    )
    assert found == []


def test_a_building_legitimately_empty_raises_no_after_hours_fault():
    """A building closed for a week (lights at standby day and night) uses less, never more: no fault."""
    t, kw = lighting_history(28, "2026-09-21")
    kw = np.where(t >= at("2026-10-12"), 1.5, kw)
    assert (
        fd.after_hours_episodes(
            "E-LS-1F",
            t,
            kw,
            TZ,
            OPENS,
            CLOSES,
            rated_kw=32,
            analyse_from_s=at("2026-10-12"),
            lookback_days=21,
            min_days=3,
            margin_share=0.25,
            persistence=4,
        )
        == []
    )


def test_night_flow_that_never_stops_is_a_leak_until_a_dry_night():
    """Water meter with 0.05 m³/h night flow; 0.5 m³/h more from the 6th evening through the 8th day:
    nights 7 and 8 leak (raised at the end of night 7's window, 05:00), night 9 is dry (cleared at its 05:00)."""
    t = grid(at("2026-10-01"), 10 * 24, 900)
    flow = np.full(t.size, 0.05)
    flow = np.where((t >= at("2026-10-06", 18)) & (t < at("2026-10-08", 18)), flow + 0.5, flow)
    _, ends, flows = fd.night_flows(t, flow / 4, 900, TZ, time(1), time(5))
    leaking, _excess = fd.leaking_nights(flows, lookback_nights=14, min_flow_m3_h=0.2, baseline_share=1.0)
    [e] = fd.leak_episodes("W-TOILET", ends, leaking, flows)
    assert (e.raised_s, e.cleared_s) == (at("2026-10-07", 5), at("2026-10-09", 5))
    assert fd.leak_episodes("W-TOILET", ends, leaking, flows, night_length_s=4 * 3600)[0].onset_s == at("2026-10-07", 1), (
        "the first leaking night window's start"
    )
    assert e.value == pytest.approx(0.55)


def test_ieq_outside_the_band_counts_in_occupied_hours_only():
    """CO₂ at 1400 ppm all day on a working day: the 1-hour mean passes 1000 ppm in office hours only, raised
    at the 3rd occupied reading; the same on a Sunday is no fault (nobody to protect)."""
    for day, expected in (("2026-10-13", 1), ("2026-10-18", 0)):
        t = grid(at(day, 6), 14, 300)
        co2 = np.full(t.size, 1400.0)
        hours, working, _, _ = fd.local_clock(t, TZ)
        occ = fd.occupied(hours, working, OPENS, CLOSES)
        found = fd.ieq_band_episodes(
            FaultKind.VENTILATION_FAILURE,
            "IEQ-5F",
            t,
            co2,
            np.full(t.size, -np.inf),
            np.full(t.size, 1000.0),
            occ,
            window_s=3600,
            persistence=3,
            what="co2",
        )
        assert len(found) == expected, day
        if expected:
            assert found[0].raised_s == at(day, 8, 40) and found[0].cleared_s == at(day, 17, 30)
            assert found[0].onset_s == at(day, 8, 30), "out of the band from the first occupied reading"


# -- state across runs -------------------------------------------------------------------------

SERIES = {("water_leak", "W-TOILET"): FaultSeries("water_leak", "W-TOILET", "major", "property")}


def _points(store, building="341122A002"):
    return [(r["time"], r["active"]) for r in store.rows(f"SELECT active FROM fault WHERE building='{building}'")]


def test_state_carries_across_runs_and_reruns_are_idempotent(store):
    """Run 1 (day 1) raises a leak at 05:00 that lasts past its end: one start point, no clear. Run 2 (day 2)
    sees it running since before its start: it continues it (no new start) and clears it at 06:00. Rerunning
    run 2 writes the same points. A run 3 without the episode writes nothing (the fault is already cleared)."""

    b = "341122A002"
    day1, day2, day3 = at("2026-10-08"), at("2026-10-09"), at("2026-10-10")
    leak_open = fd.detection(FaultKind.WATER_LEAK, "W-TOILET", day1 + 5 * 3600, None, 0.5, "leak")
    replace_faults(store, [b], fault_lines(b, [leak_open], SERIES, active_before(store, b, day1), day1, day2), day1, day2)
    assert _points(store) == [(day1 + 5 * 3600, 1.0)]
    assert active_before(store, b, day2) == {("water_leak", "W-TOILET"): (day1 + 5 * 3600, 1.0)}
    leak_closed = fd.detection(FaultKind.WATER_LEAK, "W-TOILET", day1 + 5 * 3600, day2 + 6 * 3600, 0.5, "leak")
    for _ in range(2):
        replace_faults(store, [b], fault_lines(b, [leak_closed], SERIES, active_before(store, b, day2), day2, day3), day2, day3)
        assert _points(store) == [(day1 + 5 * 3600, 1.0), (day2 + 6 * 3600, 0.0)]
    assert fault_lines(b, [], SERIES, active_before(store, b, day3), day3, day3 + 86400) == []


def test_a_fault_active_before_a_run_that_no_longer_shows_is_cleared_at_the_runs_start(store):
    """The last point before the run says active; the run finds nothing: one clear point at the run's start."""
    b = "341122A002"
    day1, day2 = at("2026-10-08"), at("2026-10-09")

    open_leak = fd.detection(FaultKind.WATER_LEAK, "W-TOILET", day1 + 3600, None, 0.5, "leak")
    replace_faults(store, [b], fault_lines(b, [open_leak], SERIES, {}, day1, day2), day1, day2)
    replace_faults(store, [b], fault_lines(b, [], SERIES, active_before(store, b, day2), day2, day2 + 86400), day2, day2 + 86400)
    assert _points(store) == [(day1 + 3600, 1.0), (day2, 0.0)]


def test_a_morning_warm_up_is_not_a_comfort_fault_but_an_office_still_cold_after_it_is():
    """Monday 16 November 2026, a split-AC office at 14 °C when people arrive at 08:30: warmed to 20 °C
    by 10:00 it raises nothing (the band is judged from two hours after opening); left at 14 °C it
    raises comfort_out_of_band once the warm-up is over."""
    tz = ZoneInfo("Asia/Shanghai")
    start = int(datetime(2026, 11, 16, 7, 0, tzinfo=tz).timestamp())
    times = np.arange(start, start + 10 * 3600, 300)
    hours, working, _, _ = fd.local_clock(times, tz)
    judged = fd.after_warm_up(hours, working, time(8, 30), time(17, 30), 2.0)
    warming = np.clip(14.0 + (hours - 8.5) * 4.0, 14.0, 20.0)  # 14 °C at 08:30, 20 °C at 10:00
    cold = np.full(times.size, 14.0)
    low, high = np.full(times.size, 16.0), np.full(times.size, 24.0)

    def comfort(values):
        return fd.ieq_band_episodes(
            FaultKind.COMFORT_OUT_OF_BAND, "IEQ-1F", times, values, low, high, judged, window_s=3600, persistence=3, what="t"
        )

    assert comfort(warming) == []
    [episode] = comfort(cold)
    assert (
        datetime.fromtimestamp(episode.raised_s, tz).hour == 10
        and episode.raised_s - int(datetime(2026, 11, 16, 10, 30, tzinfo=tz).timestamp()) <= 600
    )


def _starts(store, building="341122A002"):
    return [(r["time"], r["active"], r.get("raised")) for r in store.rows(f"SELECT active, raised FROM fault WHERE building='{building}'")]


def test_a_fault_starts_at_its_onset_and_says_when_it_was_raised(store):
    """A leak raised at 05:00 whose first leaking night window began at 01:00: the start point is at 01:00
    (time to restore and availability run from there) and carries raised = 05:00 (time to detect)."""

    b = "341122A002"
    day1, day2 = at("2026-10-08"), at("2026-10-09")
    leak = fd.detection(FaultKind.WATER_LEAK, "W-TOILET", day1 + 5 * 3600, day1 + 20 * 3600, 0.5, "leak", onset_s=day1 + 3600)
    replace_faults(store, [b], fault_lines(b, [leak], SERIES, active_before(store, b, day1), day1, day2), day1, day2)
    assert _starts(store) == [(day1 + 3600, 1.0, float(day1 + 5 * 3600)), (day1 + 20 * 3600, 0.0, None)]


def test_a_fault_raised_in_a_run_with_its_onset_before_it_is_written_once_and_reruns_change_nothing(store):
    """Run [06:00, 12:00) raises a leak at 07:00 whose onset was 01:00, before the run: its start point goes
    to 01:00. Rerunning the same period finds that point active before the run and writes nothing new."""

    b = "341122A002"
    day = at("2026-10-08")
    run = (day + 6 * 3600, day + 12 * 3600)
    leak = fd.detection(FaultKind.WATER_LEAK, "W-TOILET", day + 7 * 3600, None, 0.5, "leak", onset_s=day + 3600)
    for _ in range(2):
        replace_faults(store, [b], fault_lines(b, [leak], SERIES, active_before(store, b, run[0]), *run), *run)
        assert _starts(store) == [(day + 3600, 1.0, float(day + 7 * 3600))]


def test_a_start_point_never_goes_before_the_series_last_clear():
    """An earlier leak cleared at 03:00; a new one raised at 07:00 claims an onset of 01:00 (the data do not
    separate them): its start is put just after the clear, so the clear is neither overwritten nor reordered."""

    day = at("2026-10-08")
    previous = {("water_leak", "W-TOILET"): (day + 3 * 3600, 0.0)}
    leak = fd.detection(FaultKind.WATER_LEAK, "W-TOILET", day + 7 * 3600, None, 0.5, "leak", onset_s=day + 3600)
    [start] = fault_lines("341122A002", [leak], SERIES, previous, day + 6 * 3600, day + 12 * 3600)
    assert start.endswith(f" {(day + 3 * 3600 + 1) * 1_000_000_000}")
