"""The figures the reports add to the scorecards: the energy faults wasted, an upper bound (peak × hours active
inside the period) to two significant digits, in CNY at the registry's tariffs; and the runs of days without data."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from facmon.analytics.fault_waste import fault_waste
from facmon.periods import parse_period
from facmon.registry import Site
from facmon.schema.faults import Fault

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOVEMBER = parse_period("2026-11")


def at(day: int, hour: int, month: int = 11) -> int:
    return int(datetime(2026, month, day, hour, tzinfo=SHANGHAI).timestamp())


def test_lights_after_hours_waste_at_most_their_peak_excess_for_the_hours_they_were_on(example_site: Site):
    lights = Fault("341122A001", "lights_after_hours", "E-LS-1F", at(10, 19), at(10, 19), at(10, 22), value=2.0)
    [found] = fault_waste(example_site, [lights], NOVEMBER)
    # 2.0 kW for 3 h = 6 kWh; 6 kWh × 0.65 CNY/kWh (the example's illustrative tariff) = 3.9 CNY
    assert (found.hours, found.at_most, found.at_most_cny, found.method) == (3.0, 6.0, 3.9, "peak_excess_kw")


def test_only_the_hours_inside_the_period_count_and_a_bound_has_two_significant_digits(example_site: Site):
    leak = Fault("341122A001", "water_leak", "W-MAIN", at(30, 12, month=10), at(31, 0, month=10), None, value=0.37)
    [found] = fault_waste(example_site, [leak], NOVEMBER)
    assert found.hours == 30 * 24  # active all of November, still active at its end
    # 0.37 m³/h × 720 h = 266.4 m³ → at most 270 m³; 266.4 m³ × 4.1 CNY/m³ = 1,092 → at most 1,100 CNY (rounded up: still bounds)
    assert (found.energy, found.at_most, found.at_most_cny) == ("02", 270.0, 1100.0)


def test_a_bound_is_rounded_up_so_it_still_bounds_and_its_cost_comes_from_the_unrounded_energy(example_site: Site):
    lights = Fault("341122A001", "lights_after_hours", "E-LS-1F", at(10, 19), at(10, 19), at(10, 19) + 7 * 3600 + 720, value=2.0)
    [found] = fault_waste(example_site, [lights], NOVEMBER)
    # 2 kW × 7.2 h = 14.4 kWh: at most 15 kWh (not 14); 14.4 × 0.65 = 9.36 CNY: at most 9.4 (not 15 × 0.65 = 9.75 → 9.8)
    assert (found.at_most, found.at_most_cny) == (15.0, 9.4)


def test_a_fault_still_active_in_a_period_not_over_counts_until_now_not_the_period_s_end(example_site: Site):
    lights = Fault("341122A001", "lights_after_hours", "E-LS-1F", at(2, 19, month=12), at(2, 19, month=12), None, value=2.0)
    [found] = fault_waste(example_site, [lights], parse_period("2026-12"), now_s=at(3, 9, month=12))
    assert (found.hours, found.at_most) == (14.0, 28.0)  # 19:00 to 09:00 the next morning, not to 31 December


def test_hvac_on_a_day_off_is_bounded_by_the_unit_s_rated_power_or_left_without_an_estimate(example_site: Site):
    ahu = Fault("341122A001", "hvac_weekend", "AHU-1", at(14, 8), at(14, 9), at(14, 18), value=1.0)
    unknown = Fault("341122A001", "hvac_weekend", "NO-SUCH-UNIT", at(14, 8), at(14, 9), at(14, 18), value=1.0)
    rated, unrated = fault_waste(example_site, [ahu, unknown], NOVEMBER)
    assert (rated.at_most, rated.method) == (440.0, "rated_kw")  # 44 kW × 10 h
    assert (unrated.at_most, unrated.at_most_cny, unrated.method) == (None, None, "no_rating")


def test_faults_that_waste_nothing_or_lie_outside_the_period_are_not_listed(example_site: Site):
    offline = Fault("341122A001", "device_offline", "E-MAIN", at(3, 8), at(3, 9), at(3, 12))
    october = Fault("341122A001", "lights_after_hours", "E-LS-1F", at(10, 19, month=10), None, at(10, 22, month=10), value=2.0)
    assert fault_waste(example_site, [offline, october], NOVEMBER) == []


def test_without_a_tariff_the_waste_is_stated_in_energy_only(example_site: Site):
    untariffed = example_site.model_copy(update={"tariffs": example_site.tariffs.model_copy(update={"cny_per_unit": {}})})
    lights = Fault("341122A001", "lights_after_hours", "E-LS-1F", at(10, 19), at(10, 19), at(10, 22), value=2.0)
    [found] = fault_waste(untariffed, [lights], NOVEMBER)
    assert (found.at_most, found.at_most_cny) == (6.0, None)


def test_data_gaps_are_the_runs_of_days_without_data_up_to_today():
    from datetime import date

    from facmon.analytics.data_gaps import missing_runs

    present = [date(2026, 11, d) for d in (1, 2, 5, 6, 7, 30)]
    gaps = [(g.first.day, g.last.day, g.days) for g in missing_runs("A", present, NOVEMBER)]
    assert gaps == [(3, 4, 2), (8, 29, 22)]
    assert [(g.first.day, g.last.day) for g in missing_runs("A", present, NOVEMBER, until=date(2026, 11, 10))] == [(3, 4), (8, 9)]
