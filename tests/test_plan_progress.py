"""Progress against the conservation plan: only like for like. Whole years against whole years (a
month is judged on the twelve months ending with it), a base covering the same energy categories as
the measurements, and never the national average as a building's base. Known answers by hand."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from facmon.analytics.indicators import EnergyTotals, parse_period, twelve_months_ending
from facmon.analytics.plan_progress import (
    PlanYear,
    assess_plan,
    configured_base,
    measured_base,
    plan_progress,
    plan_year,
    read_plan_assessments,
    resolve_base,
)
from facmon.registry import BaseYearValues, EnergyPlan, parse_site
from facmon.store import line

SHANGHAI = ZoneInfo("Asia/Shanghai")


def year_of(energy: tuple[str, ...], kgce_per_m2: float, days_with_data: int = 365, days: int = 365, label: str = "2026") -> PlanYear:
    return PlanYear(label, days, days_with_data, energy, True, {"kgce_per_m2": kgce_per_m2, "water_m3_per_person": 20.0})


ELECTRICITY_BASE = BaseYearValues(energy=["01"], values={"kgce_per_m2": 6.0}, source="2020 statistics")


# -- the plan's path ------------------------------------------------------------------------------


def test_the_plan_requires_a_straight_path_from_base_year_to_target_year():
    """14th FYP: kgce/m² −5 % from 2020 to 2025 → 2023 requires 3 %, 2025 and later 5 %, 2020 nothing."""
    plan = EnergyPlan()
    assert plan.required_reduction("kgce_per_m2", 2023) == pytest.approx(0.03)
    assert plan.required_reduction("kgce_per_m2", 2025) == pytest.approx(0.05)
    assert plan.required_reduction("kgce_per_m2", 2027) == pytest.approx(0.05)
    assert plan.required_reduction("co2_kg_per_m2", 2025) == pytest.approx(0.07)
    assert plan.required_reduction("kgce_per_m2", 2020) is None


def test_plan_progress_by_hand():
    """Base 10 kgce/m², 2023 actual 9.8: achieved 2 % of the 3 % required → progress 2/3, target 9.7."""
    found = plan_progress("kgce_per_m2", 9.8, 10.0, "test", EnergyPlan(), 2023)
    assert found.achieved_reduction == pytest.approx(0.02)
    assert found.required_reduction == pytest.approx(0.03)
    assert found.target_value == pytest.approx(9.7)
    assert found.progress == pytest.approx(2 / 3)


def test_the_14th_five_year_plan_is_preloaded_and_can_be_replaced(example_site):
    plan = example_site.energy_targets.plan
    assert (plan.base_year, plan.target_year) == (2020, 2025)
    assert plan.reductions == {"kgce_per_m2": 0.05, "kgce_per_person": 0.06, "water_m3_per_person": 0.06, "co2_kg_per_m2": 0.07}
    assert plan.national_base_values == {"kgce_per_m2": 18.48, "kgce_per_person": 329.56, "water_m3_per_person": 21.53}
    next_plan = EnergyPlan(name="十五五", base_year=2025, target_year=2030, reductions={"kgce_per_m2": 0.04})
    assert next_plan.required_reduction("kgce_per_m2", 2026) == pytest.approx(0.008)


# -- like for like --------------------------------------------------------------------------------


def test_a_base_of_the_same_energy_categories_gives_progress():
    """Electricity base 6.0 kgce/m², 2026 measured 5.82 (electricity): 3 % achieved of the 5 % required."""
    found = assess_plan(EnergyPlan(), 2026, configured_base(ELECTRICITY_BASE), "", year_of(("01",), 5.82))
    headline = found.indicator("kgce_per_m2")
    assert headline is not None
    assert headline.achieved_reduction == pytest.approx(0.03)
    assert headline.required_reduction == pytest.approx(0.05)
    assert headline.base_source == "2020 statistics"


def test_a_base_with_gas_is_not_compared_with_electricity_alone():
    """A base of electricity and gas against electricity only would show the missing gas as a saving."""
    base = configured_base(BaseYearValues(energy=["01", "03"], values={"kgce_per_m2": 9.0}, source="2020 statistics"))
    found = assess_plan(EnergyPlan(), 2026, base, "", year_of(("01",), 5.82))
    assert found.indicator("kgce_per_m2") is None
    reason = found.unavailable["kgce_per_m2"]
    assert "not like for like" in reason and "01 electricity, 03 gas" in reason and "measured 01 electricity" in reason


def test_the_national_average_is_never_a_buildings_base():
    """The national 2020 averages cover every energy type of every institution: refused, with what to give instead."""
    with pytest.raises(ValueError, match="national averages cover every energy type"):
        EnergyPlan(default_base="measured_else_national")
    with pytest.raises(ValueError, match="no building's base-year value"):
        EnergyPlan(base_values={"341122A001": "national"})


def test_configured_base_values_must_say_which_energy_categories_they_cover():
    with pytest.raises(ValueError, match=r"must say which energy categories.*energy: \['01', '03'\]"):
        EnergyPlan(base_values={"341122A001": {"kgce_per_m2": 11.2}})
    with pytest.raises(ValueError, match="water"):
        BaseYearValues(energy=["01", "02"], values={"kgce_per_m2": 6.0}, source="x")
    with pytest.raises(ValueError, match="quoted"):
        BaseYearValues(energy=[1], values={"kgce_per_m2": 6.0}, source="x")


def test_a_year_with_too_few_days_of_data_is_not_judged():
    """The demo's situation: 30 days in the twelve months ending with its month. Annualising them would
    carry one season into a yearly figure, so the plan is not available and says why."""
    found = assess_plan(EnergyPlan(), 2026, configured_base(ELECTRICITY_BASE), "", year_of(("01",), 1.0, 30, 365, "2025-12..2026-11"))
    assert found.progress == []
    assert "2025-12..2026-11 has data on 30 of 365 days" in found.unavailable["kgce_per_m2"]


def test_a_period_not_after_the_base_year_has_no_plan_figures():
    found = assess_plan(EnergyPlan(), 2020, configured_base(ELECTRICITY_BASE), "", year_of(("01",), 5.0, label="2020"))
    assert found.progress == [] and "not after the plan's base year 2020" in found.unavailable["kgce_per_m2"]


def test_a_measured_base_needs_the_base_year_covered(example_site):
    """default_base measured: a base year measured on 120 of 366 days is no base; 360 of 366 is,
    and its categories travel with it."""
    plan = EnergyPlan()
    building = example_site.building("341122A001")
    thin = PlanYear("2020", 366, 120, ("01",), True, {"kgce_per_m2": 6.0})
    base, why = resolve_base(plan, building, thin)
    assert base is None and "120 of 366 days" in why
    full = PlanYear("2020", 366, 360, ("01",), True, {"kgce_per_m2": 6.0, "electricity_kwh_per_m2": 50.0, "co2_kg_per_m2": 0.0})
    base, why = resolve_base(plan, building, full)
    assert base is not None and base.kind == "measured" and base.energy == ("01",)
    assert base.values == {"kgce_per_m2": 6.0}  # electricity kWh/m² is no plan indicator; a 0 cannot be a base
    none_base, none_why = resolve_base(EnergyPlan(default_base="none"), building, full)
    assert none_base is None and "base_values['341122A001']" in none_why


def test_configured_values_win_over_measurement(example_site):
    plan = EnergyPlan(base_values={"341122A001": ELECTRICITY_BASE})
    full = PlanYear("2020", 366, 366, ("01",), True, {"kgce_per_m2": 99.0})
    base, _ = resolve_base(plan, example_site.building("341122A001"), full)
    assert base is not None and base.kind == "configured" and base.values == {"kgce_per_m2": 6.0}
    assert measured_base(full).kind == "measured"


def test_the_example_site_configures_illustrative_bases_of_its_own_categories(example_site):
    """Each building's configured base covers the categories its meters measure (01; the canteen 01 and 03)
    and says it is illustrative."""
    plan = example_site.energy_targets.plan
    for building in example_site.buildings:
        base = plan.base_values[building.code]
        assert isinstance(base, BaseYearValues), building.code
        metered = sorted({m.energy for m in building.meters if m.subitem.endswith("000") and m.energy != "02"})
        assert base.energy == metered, building.code
        assert "illustrative" in base.source


def test_plan_year_takes_its_categories_from_the_data():
    totals = EnergyTotals(electricity_kwh=36500, kgce=4485.5, consumption_by_energy={"01": 36500, "02": 700}, days_with_data=365)
    window = twelve_months_ending(parse_period("2026-11"))
    building = parse_site(SITE, Path("site.yaml")).buildings[0]
    found = plan_year(building, window, totals)
    assert (found.energy, found.water, found.coverage) == (("01",), True, 1.0)
    assert found.values["kgce_per_m2"] == pytest.approx(4485.5 / 1000)


# -- from InfluxDB --------------------------------------------------------------------------------

SITE = """
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
- code: '341122A002'
  name: 二号楼
  floor_area_m2: 1000
  energy_users: 100
  office_class: A
  office_use: government
  meters:
  - {id: E-MAIN, energy: '01', subitem: '01000', unit: kWh, rated_power_kw: 200}
  - {id: G-MAIN, energy: '03', subitem: '03000', unit: m3}
energy_targets:
  plan:
    base_values:
      '341122A002': {energy: ['01', '03'], values: {kgce_per_m2: 9.0}, source: 2020 statistics}
"""


def _daily(building: str, energy: str, day: date, kgce: float) -> str:
    t_ns = int(datetime.combine(day, time(0), SHANGHAI).timestamp()) * 10**9
    return line(
        "energy_daily", {"building": building, "energy": energy, "subitem": f"{energy}000"}, {"consumption": 1.0, "kgce": kgce}, t_ns
    )


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]


def test_a_month_is_judged_on_its_twelve_months_against_the_measured_base_year(store, tmp_path):
    """Building 1 (electricity only, base measured): 2020 at 20 kgce/day → 7.32 kgce/m² over 366 days;
    2025-12..2026-11 at 19 kgce/day → 6.935 kgce/m²: 5.26 % achieved of the 5 % required, full.
    Building 2 has gas in its configured base but only electricity data: not like for like."""
    site = parse_site(SITE, tmp_path / "site.yaml")
    lines = [_daily("341122A001", "01", day, 20.0) for day in _days(date(2020, 1, 1), date(2020, 12, 31))]
    lines += [_daily("341122A001", "01", day, 19.0) for day in _days(date(2025, 12, 1), date(2026, 11, 30))]
    lines += [_daily("341122A002", "01", day, 19.0) for day in _days(date(2025, 12, 1), date(2026, 11, 30))]
    store.write(lines)

    found = read_plan_assessments(store, site, parse_period("2026-11"))
    one = found["341122A001"]
    assert one.window is not None and one.window.label == "2025-12..2026-11" and one.window.days_with_data == 365
    assert one.base is not None and one.base.kind == "measured" and one.base.energy == ("01",)
    headline = one.indicator("kgce_per_m2")
    assert headline is not None
    assert headline.base_value == pytest.approx(20 * 366 / 1000)
    assert headline.actual_value == pytest.approx(19 * 365 / 1000)
    assert headline.achieved_reduction == pytest.approx(1 - (19 * 365) / (20 * 366))
    two = found["341122A002"]
    assert two.indicator("kgce_per_m2") is None and "not like for like" in two.unavailable["kgce_per_m2"]
