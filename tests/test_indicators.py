"""Energy indicators: intensities, sub-item shares, after-hours share with the Chinese calendar, the
GB/T 51161 comparison with γ₁/γ₂ (office buildings only). Known answers are computed by hand; plan
progress is tests/test_plan_progress.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from facmon.analytics.benchmarks import (
    compare_gbt51161,
    default_use_hours_h,
    gamma1,
    gamma2,
    gbt51161_applies,
    working_days_in_year,
)
from facmon.analytics.indicators import (
    EnergyTotals,
    IndicatorError,
    after_hours_split,
    building_indicators,
    intensities,
    parse_period,
    read_indicators,
    resolve_period,
    site_indicators,
    subitem_shares,
    twelve_months_ending,
)
from facmon.registry import Gbt51161Parameters, WorkingHours, parse_site
from facmon.standards import ClimateZone
from facmon.store import line

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_s(day: date, hour: int, minute: int = 0) -> int:
    """UTC epoch seconds of a local (Asia/Shanghai) time."""
    return int(datetime.combine(day, time(hour, minute), SHANGHAI).timestamp())


# -- periods ------------------------------------------------------------------------------------


def test_a_period_is_a_year_or_a_month():
    """2025 spans 365 days; 2024-02 is a leap February; the bounds are local midnights in UTC."""
    year = parse_period("2025")
    assert (year.kind, year.start, year.end, year.days) == ("year", date(2025, 1, 1), date(2026, 1, 1), 365)
    february = parse_period("2024-02")
    assert (february.kind, february.days, february.days_in_year) == ("month", 29, 366)
    start_s, end_s = parse_period("2025-06").bounds_utc_s("Asia/Shanghai")
    assert datetime.fromtimestamp(start_s, UTC) == datetime(2025, 5, 31, 16, 0, tzinfo=UTC)
    assert datetime.fromtimestamp(end_s, UTC) == datetime(2025, 6, 30, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("today", "last_complete", "current"),
    [
        (date(2026, 12, 3), "2026-11", "2026-12"),
        (date(2026, 12, 1), "2026-11", "2026-12"),  # the first of a month: the month before is complete
        (date(2027, 1, 1), "2026-12", "2027-01"),  # across a year end
        (date(2024, 3, 1), "2024-02", "2024-03"),
    ],
)
def test_commands_score_the_last_complete_month_unless_asked_for_the_current_one(today, last_complete, current):
    assert resolve_period(None, today).label == last_complete
    assert resolve_period("current", today).label == current
    assert resolve_period("2025", today).label == "2025"


def test_the_plan_window_of_a_month_is_the_twelve_months_ending_with_it():
    window = twelve_months_ending(parse_period("2026-11"))
    assert (window.label, window.start, window.end, window.days, window.days_in_year) == (
        "2025-12..2026-11",
        date(2025, 12, 1),
        date(2026, 12, 1),
        365,
        365,
    )
    assert twelve_months_ending(parse_period("2025-12")).label == "2025-01..2025-12"
    assert twelve_months_ending(parse_period("2024-03")).days == 366  # holds 29 February 2024


def test_the_plan_window_of_a_quarter_is_the_twelve_months_ending_with_its_last_month():
    window = twelve_months_ending(parse_period("2026-Q3"))
    assert (window.label, window.start, window.end) == ("2025-10..2026-09", date(2025, 10, 1), date(2026, 10, 1))
    assert twelve_months_ending(parse_period("2026-Q4")).label == "2026-01..2026-12"


@pytest.mark.parametrize("text", ["25", "2025-6", "2025-13", "2025/06", "June", "1999"])
def test_a_malformed_period_is_refused_by_name(text):
    with pytest.raises(IndicatorError, match="period"):
        parse_period(text)


# -- intensities and shares ---------------------------------------------------------------------


def test_intensities_divide_by_floor_area_and_energy_users():
    """1000 m² and 50 users with 50,000 kWh, 6,145 kgce, 26,530 kg CO₂ and 1,000 m³ water."""
    totals = EnergyTotals(electricity_kwh=50_000, kgce=6_145, co2_kg=26_530, water_m3=1_000, days_with_data=365)
    found = intensities(totals, floor_area_m2=1000, energy_users=50)
    assert found["electricity_kwh_per_m2"] == pytest.approx(50.0)
    assert found["kgce_per_m2"] == pytest.approx(6.145)
    assert found["kgce_per_person"] == pytest.approx(122.9)
    assert found["water_m3_per_person"] == pytest.approx(20.0)
    assert found["co2_kg_per_m2"] == pytest.approx(26.53)


def test_a_month_is_annualised_over_the_days_with_data():
    """30 days of June with 3,000 kWh on 1000 m²: 3 kWh/m² in the month, 3 × 365/30 = 36.5 a year."""
    found = building_indicators("X", "x", 1000, 50, parse_period("2025-06"), EnergyTotals(electricity_kwh=3000, days_with_data=30))
    assert found.period_values["electricity_kwh_per_m2"] == pytest.approx(3.0)
    assert found.annualisation == pytest.approx(365 / 30)
    assert found.annual["electricity_kwh_per_m2"] == pytest.approx(36.5)


def test_an_annual_figure_from_fewer_days_than_the_minimum_is_flagged():
    """3 days of a month annualised (× 365/3) are a poor annual figure: flagged with the count; 28 days
    are not; a whole year is not annualised at all, so never flagged."""
    month = parse_period("2026-11")
    totals = EnergyTotals(electricity_kwh=300, kgce=36.9, days_with_data=3)
    three = building_indicators("B", "b", 1000, 10, month, totals, min_days_annualised=28)
    assert three.few_days is not None and "3 day(s)" in three.few_days and "28" in three.few_days
    assert three.as_dict()["few_days"] == three.few_days
    enough = building_indicators("B", "b", 1000, 10, month, replace(totals, days_with_data=28), min_days_annualised=28)
    assert enough.few_days is None
    year = building_indicators("B", "b", 1000, 10, parse_period("2025"), replace(totals, days_with_data=365), min_days_annualised=400)
    assert year.few_days is None


def test_no_data_gives_no_annual_values():
    found = building_indicators("X", "x", 1000, 50, parse_period("2025"), EnergyTotals())
    assert not found.has_data and found.annual == {} and found.annualisation is None


def test_bad_building_figures_are_named():
    with pytest.raises(IndicatorError, match="floor_area_m2"):
        intensities(EnergyTotals(), floor_area_m2=0, energy_users=1)
    with pytest.raises(IndicatorError, match="energy_users"):
        intensities(EnergyTotals(), floor_area_m2=10, energy_users=0)


def test_subitem_shares_are_parts_of_the_main_meter_and_the_rest_is_unmetered():
    """Main 1000 kWh; 01A10 300, 01A20 100, 01B10 400 → groups 01A00 40 %, 01B00 40 %, unmetered 20 %."""
    shares = subitem_shares(1000, {"01A10": 300, "01A20": 100, "01B10": 400})
    assert shares.by_subitem == pytest.approx({"01A10": 0.3, "01A20": 0.1, "01B10": 0.4})
    assert shares.by_group == pytest.approx({"01A00": 0.4, "01B00": 0.4})
    assert shares.unmetered == pytest.approx(0.2)
    assert subitem_shares(0, {"01A10": 5}) is None


def test_the_site_sums_buildings_scaled_to_the_same_coverage():
    """A: 1000 m², 30 days, 3000 kWh; B: 3000 m², 15 days, 1500 kWh (= 3000 kWh over 30 days).
    Site: 6000 kWh over 30 days on 4000 m² → 1.5 kWh/m² in the period."""
    period = parse_period("2025-06")
    a = building_indicators("A", "a", 1000, 10, period, EnergyTotals(electricity_kwh=3000, days_with_data=30))
    b = building_indicators("B", "b", 3000, 30, period, EnergyTotals(electricity_kwh=1500, days_with_data=15))
    empty = building_indicators("C", "c", 5000, 50, period, EnergyTotals())
    site = site_indicators("site", period, [a, b, empty])
    assert site.floor_area_m2 == 4000 and site.energy_users == 40
    assert site.period_values["electricity_kwh_per_m2"] == pytest.approx(1.5)


# -- after hours with the Chinese calendar --------------------------------------------------------


def test_after_hours_follow_working_hours_and_the_chinese_calendar():
    """Working hours 08:30-17:30 local. By hand:
    2025-10-09 Thu (workday): 08:15 → off-hours 16; 08:30 → working 32; 17:15 → working 64; 17:30 → off-hours 128
    2025-10-11 Sat (调休 working Saturday): 10:00 → working 1; 20:00 → off-hours 2; 23:45 → off-hours 256
    2025-10-01 Wed (National Day holiday): 10:00 → rest 4
    2025-10-12 Sun (ordinary weekend): 00:00 → rest 512 (16:00 UTC the day before); 10:00 → rest 8
    working 97, off-hours on working days 402, rest days 524, total 1023."""
    readings = [
        (local_s(date(2025, 10, 9), 8, 15), 16),
        (local_s(date(2025, 10, 9), 8, 30), 32),
        (local_s(date(2025, 10, 9), 17, 15), 64),
        (local_s(date(2025, 10, 9), 17, 30), 128),
        (local_s(date(2025, 10, 11), 10), 1),
        (local_s(date(2025, 10, 11), 20), 2),
        (local_s(date(2025, 10, 11), 23, 45), 256),
        (local_s(date(2025, 10, 1), 10), 4),
        (local_s(date(2025, 10, 12), 0), 512),
        (local_s(date(2025, 10, 12), 10), 8),
    ]
    assert datetime.fromtimestamp(readings[8][0], UTC) == datetime(2025, 10, 11, 16, 0, tzinfo=UTC)
    starts = np.array([r[0] for r in readings])
    kwh = np.array([r[1] for r in readings], dtype=float)
    split = after_hours_split(starts, kwh, "Asia/Shanghai", WorkingHours(start=time(8, 30), end=time(17, 30)))
    assert split.working_hours_kwh == 97
    assert split.off_hours_workday_kwh == 402
    assert split.rest_day_kwh == 524
    assert split.total_kwh == 1023 and split.intervals == 10
    assert split.after_hours_share == pytest.approx(926 / 1023)
    assert split.rest_day_share == pytest.approx(524 / 1023)


def test_after_hours_input_must_be_consistent():
    hours = WorkingHours()
    with pytest.raises(IndicatorError, match="equal length"):
        after_hours_split(np.array([1, 2]), np.array([1.0]), "Asia/Shanghai", hours)
    with pytest.raises(IndicatorError, match="NaN"):
        after_hours_split(np.array([1]), np.array([np.nan]), "Asia/Shanghai", hours)
    assert after_hours_split(np.array([], dtype=np.int64), np.array([]), "Asia/Shanghai", hours).after_hours_share is None


# -- GB/T 51161 ------------------------------------------------------------------------------------


def test_working_days_of_2025_count_holidays_out_and_adjusted_weekends_in():
    """2025 by hand: 365 days − 104 weekend days − 18 weekday holidays (1 Jan; 28-31 Jan, 3-4 Feb; 4 Apr;
    1, 2, 5 May; 2 Jun; 1-3, 6-8 Oct) + 5 working weekends (26 Jan, 8 Feb, 27 Apr, 28 Sep, 11 Oct) = 248."""
    assert working_days_in_year(2025) == 248
    assert default_use_hours_h(WorkingHours(start=time(8, 30), end=time(17, 30)), 2025) == pytest.approx(9 * 248)


def test_gamma_corrections_by_hand():
    """γ₁ = 0.3 + 0.7 × 2500/2000 = 1.175; γ₂ = 0.7 + 0.3 × 20/10 = 1.3."""
    assert gamma1(2000, 2500) == pytest.approx(1.175)
    assert gamma1(2500, 2500) == pytest.approx(1.0)
    assert gamma2(20, 10) == pytest.approx(1.3)
    assert gamma2(10, 10) == pytest.approx(1.0)
    with pytest.raises(IndicatorError, match="use hours"):
        gamma1(0, 2500)


def test_a_building_is_corrected_and_placed_against_table_5_2_1(example_site):
    """县委办公楼: B government, 夏热冬冷 → constraint 90, guide 65 kWh/(m²·a). 14500 m² / 420 users =
    34.524 m²/person → γ₂ = 0.7 + 0.3 × 3.4524 = 1.73571; T given as 2000 h → γ₁ = 1.175.
    Measured 50 → E_c = 50 × 1.175 × 1.73571 = 101.973: above the constraint."""
    building = example_site.building("341122A001")
    params = Gbt51161Parameters(use_hours_h={"341122A001": 2000})
    found = compare_gbt51161(building, ClimateZone.HOT_SUMMER_COLD_WINTER, 50.0, params, 2025)
    assert (found.constraint_kwh_m2, found.guide_kwh_m2) == (90.0, 65.0)
    assert found.gamma1 == pytest.approx(1.175)
    assert found.gamma2 == pytest.approx(0.7 + 0.3 * (14500 / 420) / 10)
    assert found.corrected_kwh_m2 == pytest.approx(50 * 1.175 * (0.7 + 0.3 * (14500 / 420) / 10))
    assert found.verdict == "above constraint"
    assert "electricity only" in found.note


def test_benchmarks_and_references_are_configurable(example_site):
    """An override of the table and S₀ = 14500/420 (so γ₂ = 1) with T = T₀ (γ₁ = 1): E_c = E."""
    building = example_site.building("341122A001")
    params = Gbt51161Parameters(
        reference_area_per_person_m2=14500 / 420,
        use_hours_h={"341122A001": 2500},
        benchmarks={"B/government/hot_summer_cold_winter": {"constraint_kwh_m2": 80, "guide_kwh_m2": 60}},
    )
    found = compare_gbt51161(building, ClimateZone.HOT_SUMMER_COLD_WINTER, 70.0, params, 2025)
    assert found.corrected_kwh_m2 == pytest.approx(70.0)
    assert (found.constraint_kwh_m2, found.guide_kwh_m2, found.verdict) == (80, 60, "between guide and constraint")
    assert "registry" in found.benchmark_source


def test_a_canteen_is_never_compared_with_the_office_table(example_site):
    """机关食堂 is a canteen: GB/T 51161 Table 5.2.1 covers offices, so there is no comparison and the reason says so."""
    canteen = example_site.building("341122A005")
    assert canteen.use.value == "canteen" and canteen.canteen and not canteen.is_office
    reason = gbt51161_applies(canteen)
    assert reason is not None and "not applicable" in reason and "canteen" in reason
    with pytest.raises(IndicatorError, match="not applicable"):
        compare_gbt51161(canteen, ClimateZone.HOT_SUMMER_COLD_WINTER, 281.0, Gbt51161Parameters(), 2026)
    assert all(gbt51161_applies(b) is None for b in example_site.buildings if b.code != "341122A005")


def test_severe_cold_zones_say_heating_is_assessed_separately(example_site):
    building = example_site.building("341122A002")
    found = compare_gbt51161(building, ClimateZone.SEVERE_COLD_COLD, 40.0, Gbt51161Parameters(), 2025)
    assert (found.constraint_kwh_m2, found.guide_kwh_m2) == (55.0, 45.0)  # A government, 严寒寒冷
    assert "heating is assessed separately" in found.note


# -- reading from InfluxDB ------------------------------------------------------------------------

TEST_SITE = """
site: {name: 测试园区, timezone: Asia/Shanghai, division_code: '341122', climate_zone: hot_summer_cold_winter}
buildings:
- code: '341122A001'
  name: 一号楼
  floor_area_m2: 1000
  energy_users: 100
  office_class: A
  office_use: government
  meters:
  - {id: E-MAIN, energy: '01', subitem: '01000', unit: kWh, rated_power_kw: 200}
  - {id: E-LS, energy: '01', subitem: '01A10', unit: kWh, rated_power_kw: 50}
  - {id: W-MAIN, energy: '02', subitem: '02000', unit: m3}
- code: '341122A002'
  name: 二号楼
  floor_area_m2: 2000
  energy_users: 100
  office_class: B
  office_use: government
  meters:
  - {id: E-MAIN, energy: '01', subitem: '01000', unit: kWh, rated_power_kw: 400}
"""


def test_indicators_read_from_energy_daily_and_energy_interval(store, tmp_path):
    """June 2025, building 1: 30 days × (main 200 kWh, 24.58 kgce, 106.12 kg CO₂; lighting 60 kWh;
    water 5 m³). Rows on 1 July (outside) and a building-2 row are not counted for building 1.
    By hand: 6000 kWh → 6 kWh/m² in June, 6 × 365/30 = 73 kWh/(m²·a); lighting 30 %; water 150 m³ → 1.5 m³/person."""
    site = parse_site(TEST_SITE, tmp_path / "site.yaml")
    lines = []
    for day in range(1, 31):
        t_ns = local_s(date(2025, 6, day), 0) * 10**9
        lines.append(
            line(
                "energy_daily",
                {"building": "341122A001", "energy": "01", "subitem": "01000"},
                {"consumption": 200.0, "kgce": 24.58, "co2_kg": 106.12},
                t_ns,
            )
        )
        lines.append(
            line(
                "energy_daily",
                {"building": "341122A001", "energy": "01", "subitem": "01A10"},
                {"consumption": 60.0, "kgce": 7.374, "co2_kg": 31.836},
                t_ns,
            )
        )
        lines.append(line("energy_daily", {"building": "341122A001", "energy": "02", "subitem": "02000"}, {"consumption": 5.0}, t_ns))
    july_ns = local_s(date(2025, 7, 1), 0) * 10**9
    lines.append(
        line(
            "energy_daily",
            {"building": "341122A001", "energy": "01", "subitem": "01000"},
            {"consumption": 9999.0, "kgce": 1.0, "co2_kg": 1.0},
            july_ns,
        )
    )
    lines.append(
        line(
            "energy_daily",
            {"building": "341122A002", "energy": "01", "subitem": "01000"},
            {"consumption": 800.0, "kgce": 98.32, "co2_kg": 424.48},
            local_s(date(2025, 6, 5), 0) * 10**9,
        )
    )
    # Main-meter intervals: 3 June (Tuesday) 10:00 working 21 kWh; 7 June (Saturday) 10:00 rest 19 kWh.
    tags = {"building": "341122A001", "meter": "E-MAIN", "energy": "01", "subitem": "01000"}
    lines.append(line("energy_interval", tags, {"consumption": 21.0, "estimated": False}, local_s(date(2025, 6, 3), 10) * 10**9))
    lines.append(line("energy_interval", tags, {"consumption": 19.0, "estimated": False}, local_s(date(2025, 6, 7), 10) * 10**9))
    store.write(lines)

    report = read_indicators(store, site, parse_period("2025-06"), today=date(2025, 7, 10))
    one = report.building("341122A001")
    assert one.totals.electricity_kwh == pytest.approx(6000) and one.totals.days_with_data == 30
    assert one.totals.kgce == pytest.approx(30 * 24.58)  # the lighting sub-meter is not added again
    assert one.totals.water_m3 == pytest.approx(150)
    assert one.annual["electricity_kwh_per_m2"] == pytest.approx(73.0)
    assert one.annual["kgce_per_m2"] == pytest.approx(30 * 24.58 / 1000 * 365 / 30)
    assert one.period_values["water_m3_per_person"] == pytest.approx(1.5)
    assert one.shares.by_subitem == pytest.approx({"01A10": 0.3})
    assert one.after_hours.after_hours_share == pytest.approx(19 / 40)
    two = report.building("341122A002")
    assert two.totals.days_with_data == 1 and two.annual["electricity_kwh_per_m2"] == pytest.approx(800 / 2000 * 365)
    assert two.after_hours is None
    assert report.completeness is None  # no meter_daily yet: unknown, not zero
