"""Known-answer tests of validated consumption: registers to 15-minute intervals, and intervals to days.

Every expected number is worked out by hand in the test from the readings it builds.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from facmon.analytics.analyze import AnalysisError, analysis_period, meter_intervals
from facmon.analytics.consumption import (
    ESTIMATED,
    FLAG_GAP,
    FLAG_RESET,
    FLAG_ROLLOVER,
    FLAG_SPIKE,
    MEASURED,
    MISSING,
    ConsumptionInputError,
    interval_amounts,
    interval_consumption,
)
from facmon.analytics.daily import Factors, daily_energy, local_midnights_s, meter_days
from facmon.registry import EnergyFactors, Meter

Q = 900  # one 15-minute interval, s


def regular(registers: list[float], start_s: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Readings every 15 minutes from ``start_s``."""
    return start_s + Q * np.arange(len(registers)), np.array(registers, dtype=float)


# -- registers: rollover, reset, multiplier ------------------------------------------------------


def test_steady_readings_give_register_differences_all_measured():
    """Consumption of an interval is the register at its end minus the register at its start."""
    t, r = regular([100.0, 103.0, 110.0, 110.0, 121.5])
    result = interval_consumption(t, r, start_s=0, end_s=4 * Q, wrap_at=1e6)
    assert result.consumption.tolist() == [3.0, 7.0, 0.0, 11.5]
    assert (result.state == MEASURED).all()
    assert result.flags.tolist() == [0, 0, 0, 0]
    assert result.gaps_s == []


def test_rollover_counts_through_the_wrap():
    """A register that falls from near its top to near 0 wrapped: 995 -> 3 at wrap 1000 is 8 units."""
    t, r = regular([990.0, 995.0, 3.0, 8.0])
    result = interval_consumption(t, r, start_s=0, end_s=3 * Q, wrap_at=1000.0)
    assert result.consumption == pytest.approx([5.0, 8.0, 5.0])
    assert (result.state == MEASURED).all()
    assert result.flags[1] == FLAG_ROLLOVER and result.flags[0] == 0 and result.flags[2] == 0
    assert result.rollovers == 1 and result.resets == 0


def test_rollover_of_a_meter_with_multiplier_uses_rollover_times_multiplier():
    """Stored registers carry the multiplier, so they wrap at rollover × multiplier:
    raw 999999.50 -> 0.25 with rollover 999999.99 and multiplier 400 is (0.49 + 0.25) × 400 = 296 kWh."""
    meter = Meter(id="E-MAIN", energy="01", subitem="01000", unit="kWh", multiplier=400.0, rollover=999999.99, rated_power_kw=1300)
    t, r = regular([999999.20 * 400, 999999.50 * 400, 0.25 * 400, 1.00 * 400])
    period = analysis_period_utc(0, 3 * Q)
    result = meter_intervals(meter, t, r, period)
    assert result.consumption == pytest.approx([0.30 * 400, 296.0, 0.75 * 400])
    assert (result.state == MEASURED).all()
    assert result.rollovers == 1


def test_replacement_is_never_negative_and_counts_the_new_register():
    """A fall that is not a wrap is a meter replacement: the new meter counted from 0, so the interval
    gets the new register value (2), flagged reset and estimated; the following intervals carry on."""
    t, r = regular([500.0, 510.0, 2.0, 6.0])
    result = interval_consumption(t, r, start_s=0, end_s=3 * Q, wrap_at=1e6)
    assert result.consumption == pytest.approx([10.0, 2.0, 4.0])
    assert (result.consumption >= 0).all()
    assert result.state.tolist() == [MEASURED, ESTIMATED, MEASURED]
    assert result.flags[1] & FLAG_RESET
    assert result.resets == 1 and result.rollovers == 0


def test_fall_from_mid_range_to_zero_is_a_reset_not_a_rollover():
    """500 -> 0 on a register wrapping at 1000 is no wrap (it would mean 500 units in 15 minutes)."""
    t, r = regular([499.0, 500.0, 0.0, 1.0])
    result = interval_consumption(t, r, start_s=0, end_s=3 * Q, wrap_at=1000.0)
    assert result.consumption == pytest.approx([1.0, 0.0, 1.0])
    assert result.flags[1] & FLAG_RESET and not result.flags[1] & FLAG_ROLLOVER


# -- gaps ----------------------------------------------------------------------------------------


def test_gap_up_to_two_hours_is_interpolated_and_flagged_estimated():
    """Readings at 45 min and 2 h apart (1 h 15 min between them, four readings lost): the register
    rose 50 across the gap, spread evenly over its five intervals, 10 each, all estimated."""
    times = np.array([0, 900, 1800, 2700, 7200, 8100])
    registers = np.array([0.0, 3.0, 6.0, 9.0, 59.0, 62.0])
    result = interval_consumption(times, registers, start_s=0, end_s=9 * Q, wrap_at=1e6)
    assert result.consumption == pytest.approx([3, 3, 3, 10, 10, 10, 10, 10, 3])
    assert result.state.tolist() == [MEASURED] * 3 + [ESTIMATED] * 5 + [MEASURED]
    assert all(result.flags[3:8] & FLAG_GAP)
    assert result.gaps_s == []


def test_gap_of_exactly_two_hours_is_still_estimated():
    """Readings exactly 7200 s apart: eight intervals, 16 units between them, 2 each, estimated."""
    times = np.array([0, 7200])
    registers = np.array([100.0, 116.0])
    result = interval_consumption(times, registers, start_s=0, end_s=8 * Q, wrap_at=1e6)
    assert result.consumption == pytest.approx([2.0] * 8)
    assert (result.state == ESTIMATED).all()


def test_gap_longer_than_two_hours_stays_missing_and_is_reported():
    """Readings 2 h 30 min apart: the ten intervals between them are missing (NaN, no estimate) and
    reported as one gap; the intervals around it are measured."""
    times = np.array([0, 900, 900 + 9000, 900 + 9900])
    registers = np.array([0.0, 4.0, 60.0, 64.0])
    result = interval_consumption(times, registers, start_s=0, end_s=12 * Q, wrap_at=1e6)
    assert result.consumption[0] == 4.0 and result.consumption[11] == 4.0
    assert np.isnan(result.consumption[1:11]).all()
    assert result.state.tolist() == [MEASURED] + [MISSING] * 10 + [MEASURED]
    assert result.gaps_s == [(900, 900 + 9000)]
    assert result.counts() == {"measured": 2, "estimated": 0, "missing": 10, "spikes": 0}


def test_intervals_outside_the_readings_are_missing():
    """Without a reading at or before an interval's start and at or after its end, it is missing."""
    t, r = regular([10.0, 12.0], start_s=2 * Q)
    result = interval_consumption(t, r, start_s=0, end_s=4 * Q, wrap_at=1e6)
    assert result.state.tolist() == [MISSING, MISSING, MEASURED, MISSING]
    assert result.consumption[2] == 2.0
    assert result.gaps_s == [(0, 2 * Q), (3 * Q, 4 * Q)]


# -- spikes --------------------------------------------------------------------------------------


def test_spike_above_rated_power_is_excluded_and_estimated_from_neighbours():
    """Rated 10 kW bounds an interval at 10 × 0.25 h × 1.2 = 3 kWh. A jump of 50 kWh is excluded and
    replaced by the neighbouring intervals' 2 kWh, flagged spike and estimated."""
    t, r = regular([0.0, 2.0, 4.0, 54.0, 56.0, 58.0])
    result = interval_consumption(t, r, start_s=0, end_s=5 * Q, wrap_at=1e6, rated_power_kw=10.0)
    assert result.consumption == pytest.approx([2.0, 2.0, 2.0, 2.0, 2.0])
    assert result.state.tolist() == [MEASURED, MEASURED, ESTIMATED, MEASURED, MEASURED]
    assert result.flags[2] & FLAG_SPIKE
    assert result.counts()["spikes"] == 1


def test_consumption_at_the_rated_power_bound_is_no_spike():
    """Exactly 3 kWh in 15 minutes at 10 kW rated (10 × 0.25 × 1.2) is plausible and measured."""
    t, r = regular([0.0, 3.0, 6.0])
    result = interval_consumption(t, r, start_s=0, end_s=2 * Q, wrap_at=1e6, rated_power_kw=10.0)
    assert result.consumption == pytest.approx([3.0, 3.0])
    assert (result.state == MEASURED).all()


# -- irregular timing ----------------------------------------------------------------------------


def test_irregular_readings_are_interpolated_at_the_interval_boundaries():
    """Readings at 0, 10, 25 and 45 min with 0, 6, 24, 36: the register at 15 min is 6 + 18 × 5/15 = 12,
    at 30 min 24 + 12 × 5/20 = 27, so the intervals get 12, 15 and 9, summing to the 36 counted."""
    times = np.array([0, 600, 1500, 2700])
    registers = np.array([0.0, 6.0, 24.0, 36.0])
    result = interval_consumption(times, registers, start_s=0, end_s=3 * Q, wrap_at=1e6)
    assert result.consumption == pytest.approx([12.0, 15.0, 9.0])
    assert result.consumption.sum() == pytest.approx(36.0)
    assert (result.state == MEASURED).all()


def test_unsorted_and_repeated_readings_are_put_in_order_last_one_wins():
    """Readings arrive in any order; of two readings with one timestamp the later-given one counts."""
    times = np.array([1800, 0, 900, 900])
    registers = np.array([9.0, 1.0, 99.0, 4.0])
    result = interval_consumption(times, registers, start_s=0, end_s=2 * Q, wrap_at=1e6)
    assert result.consumption == pytest.approx([3.0, 5.0])


def test_period_must_be_whole_intervals():
    """A period that is not a whole number of intervals is refused with a clear error."""
    with pytest.raises(ConsumptionInputError, match="whole number"):
        interval_consumption(np.array([0, 900]), np.array([0.0, 1.0]), start_s=0, end_s=1000, wrap_at=1e6)


# -- meters reporting interval amounts -----------------------------------------------------------


def test_interval_meter_amount_belongs_to_the_interval_ending_at_the_reading():
    """A reading at 15 min carries the amount of [0, 15 min); a lost report inside a short gap is
    interpolated between its neighbours ((4 + 8) / 2 = 6), estimated."""
    times = np.array([900, 1800, 3600, 4500])
    amounts = np.array([2.0, 4.0, 8.0, 1.0])
    result = interval_amounts(times, amounts, start_s=0, end_s=4 * Q)
    assert result.consumption == pytest.approx([2.0, 4.0, 6.0, 8.0])
    assert result.state.tolist() == [MEASURED, MEASURED, ESTIMATED, MEASURED]


def test_interval_meter_spike_is_excluded():
    """An amount above the rated bound (10 kW → 3 kWh per interval) is excluded and estimated from its neighbours."""
    times = np.array([900, 1800, 2700])
    amounts = np.array([2.0, 40.0, 2.0])
    result = interval_amounts(times, amounts, start_s=0, end_s=3 * Q, rated_power_kw=10.0)
    assert result.consumption == pytest.approx([2.0, 2.0, 2.0])
    assert result.flags[1] & FLAG_SPIKE and result.state[1] == ESTIMATED


# -- days ----------------------------------------------------------------------------------------


SHANGHAI = ZoneInfo("Asia/Shanghai")


def analysis_period_utc(start_s: int, end_s: int):
    """A period over [start_s, end_s) on a UTC site, for meter_intervals."""
    from facmon.analytics.analyze import AnalysisPeriod

    return AnalysisPeriod(start_s, end_s, np.array([start_s, end_s]), Q)


def test_local_days_start_at_local_midnight():
    """A Shanghai day (UTC+8) runs from 16:00 UTC the day before: 2026-03-02 starts at 2026-03-01T16:00Z."""
    edges = local_midnights_s(date(2026, 3, 2), 2, SHANGHAI)
    assert edges.tolist() == [1772380800, 1772380800 + 86400, 1772380800 + 2 * 86400]


def test_meter_days_count_completeness_and_estimates():
    """One day of 96 intervals, readings at 1:15-2:00 lost: the five intervals from 1:00 to 2:15 are
    estimated, 91 measured; completeness = measured / expected = 91/96; the day's consumption adds both."""
    edges = local_midnights_s(date(2026, 3, 2), 1, SHANGHAI)
    times = edges[0] + Q * np.arange(97)
    registers = np.arange(97, dtype=float)  # 1 unit per interval
    keep = (times <= edges[0] + 3600) | (times > edges[0] + 7200)  # readings at 1:15, 1:30, 1:45, 2:00 lost
    result = interval_consumption(times[keep], registers[keep], start_s=int(edges[0]), end_s=int(edges[1]), wrap_at=1e6)
    days = meter_days(result, edges)
    assert days.expected.tolist() == [96]
    assert days.estimated.tolist() == [5]
    assert days.measured.tolist() == [91]
    assert days.missing.tolist() == [0]
    assert days.completeness == pytest.approx([91 / 96])
    assert days.consumption == pytest.approx([96.0])


def test_analysis_period_covers_whole_local_days_up_to_the_last_complete_interval():
    """since 2026-03-02T10:00+08:00 widens to that local midnight; until 2026-03-03T09:07+08:00 is floored to 09:00."""
    from datetime import datetime

    from facmon.registry import load_site
    from tests.conftest import EXAMPLE_SITE

    site = load_site(EXAMPLE_SITE)
    period = analysis_period(site, datetime.fromisoformat("2026-03-02T10:00+08:00"), datetime.fromisoformat("2026-03-03T09:07+08:00"))
    assert period.start_s == int(datetime.fromisoformat("2026-03-02T00:00+08:00").timestamp())
    assert period.end_s == int(datetime.fromisoformat("2026-03-03T09:00+08:00").timestamp())
    assert period.days == 2
    with pytest.raises(AnalysisError, match="nothing to analyse"):
        analysis_period(site, datetime.fromisoformat("2026-03-02T10:00+08:00"), datetime.fromisoformat("2026-03-02T10:10+08:00"))


# -- energy_daily: sub-items, totals, conversion factors -----------------------------------------


def one_day(consumption: float, edges: np.ndarray) -> object:
    """A meter's day with 96 measured intervals of consumption/96 each."""
    starts = edges[0] + Q * np.arange(97)
    result = interval_consumption(starts, np.linspace(0.0, consumption, 97), start_s=int(edges[0]), end_s=int(edges[1]), wrap_at=1e9)
    return meter_days(result, edges)


def test_daily_energy_converts_electricity_with_the_2023_national_factors():
    """kgce = kWh × 0.1229 (当量值) and CO₂ = kWh × 0.5306 (national grid 2023); sub-item rows kept apart."""
    edges = local_midnights_s(date(2026, 3, 2), 1, SHANGHAI)
    main = Meter(id="E-MAIN", energy="01", subitem="01000", unit="kWh", rated_power_kw=500)
    lights = Meter(id="E-LS", energy="01", subitem="01A10", unit="kWh", rated_power_kw=50)
    points = daily_energy(
        "341122A001", [(main, one_day(1000.0, edges)), (lights, one_day(200.0, edges))], Factors.from_registry(EnergyFactors())
    )
    by_subitem = {p.subitem: p for p in points}
    assert set(by_subitem) == {"01000", "01A10"}
    assert by_subitem["01000"].consumption == pytest.approx(1000.0)
    assert by_subitem["01000"].kgce == pytest.approx(122.9)
    assert by_subitem["01000"].co2_kg == pytest.approx(530.6)
    assert by_subitem["01A10"].kgce == pytest.approx(200.0 * 0.1229)
    assert by_subitem["01000"].completeness == 1.0 and by_subitem["01000"].factor_version == "2023-national"


def test_regional_grid_factor_and_version_come_from_the_registry():
    """grid_region east, 2023: 0.5500 kgCO₂/kWh, version '2023-east'."""
    edges = local_midnights_s(date(2026, 3, 2), 1, SHANGHAI)
    main = Meter(id="E-MAIN", energy="01", subitem="01000", unit="kWh", rated_power_kw=500)
    [point] = daily_energy("341122A001", [(main, one_day(1000.0, edges))], Factors.from_registry(EnergyFactors(grid_region="east")))
    assert point.co2_kg == pytest.approx(550.0)
    assert point.factor_version == "2023-east"


def test_unpublished_factor_version_is_refused():
    """There is no regional grid factor for 2021 in docs/standards.md#conversion-factors: the registry refuses it by name."""
    with pytest.raises(ValueError, match="no grid CO₂ factor for data_year 2021"):
        EnergyFactors(grid_region="east", data_year=2021)


def test_water_has_no_kgce_and_sub_meters_are_not_added_to_the_main_meter():
    """Water rows carry m³ only; W-TOILET (a sub-meter of W-MAIN) stays out of the 02000 total."""
    edges = local_midnights_s(date(2026, 3, 2), 1, SHANGHAI)
    main = Meter(id="W-MAIN", energy="02", subitem="02000", unit="m3")
    toilet = Meter(id="W-TOILET", energy="02", subitem="02000", unit="m3")
    [point] = daily_energy(
        "341122A001", [(main, one_day(30.0, edges)), (toilet, one_day(12.0, edges))], Factors.from_registry(EnergyFactors())
    )
    assert point.consumption == pytest.approx(30.0)
    assert point.kgce is None and point.co2_kg is None
    assert point.meters == 1


def test_gas_converts_to_kgce_and_co2_only_with_a_site_factor():
    """Gas: 1.2143 kgce/m³ (docs/standards.md#conversion-factors); no CO₂ factor in FACTS, so CO₂ only when the site gives one."""
    edges = local_midnights_s(date(2026, 3, 2), 1, SHANGHAI)
    gas = Meter(id="G-KITCHEN", energy="03", subitem="03000", unit="m3")
    [plain] = daily_energy("341122A005", [(gas, one_day(100.0, edges))], Factors.from_registry(EnergyFactors()))
    assert plain.kgce == pytest.approx(121.43) and plain.co2_kg is None
    [configured] = daily_energy(
        "341122A005", [(gas, one_day(100.0, edges))], Factors.from_registry(EnergyFactors(co2_kg_per_unit={"03": 2.0}))
    )
    assert configured.co2_kg == pytest.approx(200.0) and configured.factor_version == "2023-national+site"
