"""A building's indicators against GB/T 51161-2016 and against the conservation plan's targets.

**GB/T 51161 (Table 5.2.1, offices).** The standard states non-heating electricity-equivalent EUI in
kWh/(m²·a). What facmon compares: the main electricity meters' annual kWh (annualised for a month or
partial data) per m² of floor area, corrected for use hours and occupancy density,

    E_c = E × γ₁ × γ₂,   γ₁ = 0.3 + 0.7·T₀/T,   γ₂ = 0.7 + 0.3·S/S₀

(T annual use hours, default working hours × working days of the year; S floor area per energy user;
T₀ = 2500 h, S₀ = 10 m²/person; docs/standards.md#office-energy-benchmarks, confidence M; all configurable in the registry's
``energy_targets.gbt51161``). Other fuels (gas for a canteen) are not converted to equivalent
electricity, so E is electricity only. In severe-cold and cold zones district heating is excluded by
the standard (assessed by its Chapter 6); electric heating on the main meter stays in E and makes the
comparison stricter — the explanation says so.

**Plan progress.** The plan (14th Five-Year plan by default) sets each indicator's reduction r against
the base year B by the target year Y_t. For a period in year Y the reduction required so far is
r·min(1, (Y − B)/(Y_t − B)) (a straight path; beyond the target year the full r). Progress is the
reduction achieved, (base − actual)/base, against the reduction required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from facmon.analytics.indicators import (
    IndicatorError,
    building_indicators,
    parse_period,
    read_energy_totals,
)
from facmon.registry import Building, EnergyPlan, Gbt51161Parameters, Site, WorkingHours
from facmon.standards import (
    GBT51161_GAMMA1_COEFFICIENTS,
    GBT51161_GAMMA2_COEFFICIENTS,
    ClimateZone,
    OfficeHvacClass,
    OfficeUse,
)
from facmon.store import InfluxStore
from facmon.workdays import is_working_day

# ---------------------------------------------------------------------------------------------
# GB/T 51161


@dataclass(frozen=True)
class EuiBenchmarkValues:
    """Constraint (约束值) and guide (引导值) value, kWh/(m²·a), and where they come from."""

    constraint_kwh_m2: float
    guide_kwh_m2: float
    source: str


def eui_benchmark(
    office_class: OfficeHvacClass, office_use: OfficeUse, climate_zone: ClimateZone, params: Gbt51161Parameters
) -> EuiBenchmarkValues:
    """The benchmark of a building class and climate zone: the registry's override, else Table 5.2.1."""
    return EuiBenchmarkValues(*params.benchmark(office_class, office_use, climate_zone))


def working_days_in_year(year: int) -> int:
    """Working days of a Chinese public institution in the year (调休 weekends in, holidays out)."""
    day, end, count = date(year, 1, 1), date(year + 1, 1, 1), 0
    while day < end:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count


def default_use_hours_h(working_hours: WorkingHours, year: int) -> float:
    """Annual use hours T, h/a: daily working hours × working days of the year."""
    return working_hours.hours_per_day * working_days_in_year(year)


def gamma1(use_hours_h: float, reference_use_hours_h: float) -> float:
    """γ₁ = 0.3 + 0.7·T₀/T (use hours, h/a)."""
    if use_hours_h <= 0:
        raise IndicatorError(f"annual use hours must be positive (got {use_hours_h} h)")
    a, b = GBT51161_GAMMA1_COEFFICIENTS
    return a + b * reference_use_hours_h / use_hours_h


def gamma2(area_per_person_m2: float, reference_area_per_person_m2: float) -> float:
    """γ₂ = 0.7 + 0.3·S/S₀ (floor area per person, m²/person)."""
    if area_per_person_m2 <= 0:
        raise IndicatorError(f"floor area per person must be positive (got {area_per_person_m2} m²)")
    a, b = GBT51161_GAMMA2_COEFFICIENTS
    return a + b * area_per_person_m2 / reference_area_per_person_m2


@dataclass(frozen=True)
class Gbt51161Comparison:
    """A building's corrected EUI against its GB/T 51161 benchmark (kWh/(m²·a))."""

    building: str
    measured_kwh_m2: float  # annual (annualised) main-meter electricity per m²
    use_hours_h: float  # T
    use_hours_source: str
    area_per_person_m2: float  # S
    gamma1: float
    gamma2: float
    corrected_kwh_m2: float  # E_c = E·γ₁·γ₂
    constraint_kwh_m2: float
    guide_kwh_m2: float
    benchmark_source: str
    verdict: str  # "at or below guide", "between guide and constraint", "above constraint"
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


def _scope_note(climate_zone: ClimateZone) -> str:
    note = "E = main-meter electricity only (other fuels not converted to equivalent electricity)"
    if climate_zone is ClimateZone.SEVERE_COLD_COLD:
        note += (
            "; heating is assessed separately under GB/T 51161 Ch. 6 — district heat is excluded, electric heating on the main meter is not"
        )
    return note


def compare_gbt51161(
    building: Building,
    climate_zone: ClimateZone,
    electricity_kwh_per_m2_a: float,
    params: Gbt51161Parameters,
    year: int,
) -> Gbt51161Comparison:
    """Correct the measured annual EUI (kWh/(m²·a)) with γ₁γ₂ and place it against the benchmark."""
    if building.code in params.use_hours_h:
        use_hours_h, use_source = params.use_hours_h[building.code], "registry energy_targets.gbt51161.use_hours_h"
    else:
        use_hours_h = default_use_hours_h(building.working_hours, year)
        use_source = f"{building.working_hours.hours_per_day:g} h/day × {working_days_in_year(year)} working days of {year}"
    area_per_person_m2 = building.floor_area_m2 / building.energy_users
    g1 = gamma1(use_hours_h, params.reference_use_hours_h)
    g2 = gamma2(area_per_person_m2, params.reference_area_per_person_m2)
    corrected = electricity_kwh_per_m2_a * g1 * g2
    benchmark = eui_benchmark(building.office_class, building.office_use, climate_zone, params)
    if corrected <= benchmark.guide_kwh_m2:
        verdict = "at or below guide"
    elif corrected <= benchmark.constraint_kwh_m2:
        verdict = "between guide and constraint"
    else:
        verdict = "above constraint"
    return Gbt51161Comparison(
        building=building.code,
        measured_kwh_m2=electricity_kwh_per_m2_a,
        use_hours_h=use_hours_h,
        use_hours_source=use_source,
        area_per_person_m2=area_per_person_m2,
        gamma1=g1,
        gamma2=g2,
        corrected_kwh_m2=corrected,
        constraint_kwh_m2=benchmark.constraint_kwh_m2,
        guide_kwh_m2=benchmark.guide_kwh_m2,
        benchmark_source=benchmark.source,
        verdict=verdict,
        note=_scope_note(climate_zone),
    )


# ---------------------------------------------------------------------------------------------
# Plan progress


def required_reduction(plan: EnergyPlan, indicator: str, year: int) -> float | None:
    """Reduction (fraction of the base value) the plan requires of ``indicator`` by ``year``, on a
    straight path from the base year; None when the plan sets none or the year is not after the base year."""
    return plan.required_reduction(indicator, year)


@dataclass(frozen=True)
class PlanProgress:
    """One indicator of one building against the plan for a year."""

    indicator: str
    base_value: float
    base_source: str
    actual_value: float
    required_reduction: float  # fraction of the base value required by this year
    target_value: float  # base × (1 − required)
    achieved_reduction: float  # (base − actual) / base; negative when use grew
    progress: float  # achieved / required: 1 = on target

    def as_dict(self) -> dict:
        return asdict(self)


def plan_progress(
    indicator: str, actual_value: float, base_value: float, base_source: str, plan: EnergyPlan, year: int
) -> PlanProgress | None:
    """Progress of one indicator (annual value, the indicator's unit) against the plan; None when the
    plan sets no reduction for it or ``year`` is not after the base year."""
    required = required_reduction(plan, indicator, year)
    if required is None or required <= 0:
        return None
    if base_value <= 0:
        raise IndicatorError(f"base-year value of {indicator} must be positive (got {base_value} from {base_source})")
    achieved = (base_value - actual_value) / base_value
    return PlanProgress(
        indicator=indicator,
        base_value=base_value,
        base_source=base_source,
        actual_value=actual_value,
        required_reduction=required,
        target_value=base_value * (1.0 - required),
        achieved_reduction=achieved,
        progress=achieved / required,
    )


@dataclass(frozen=True)
class BaseValues:
    """A building's base-year indicator values and where they came from."""

    values: Mapping[str, float]
    source: str


def resolve_base_values(plan: EnergyPlan, code: str, measured: Mapping[str, float] | None) -> BaseValues | None:
    """Base-year values of one building by the plan's rules: configured numbers, ``measured`` (annual
    indicators of the base year, given here as ``measured``; None when there were no data), or ``national``."""
    choice = plan.base_values.get(code, plan.default_base)
    if isinstance(choice, dict):
        return BaseValues(dict(choice), f"registry energy_targets.plan.base_values[{code!r}]")
    if choice in ("measured", "measured_else_national") and measured:
        return BaseValues(dict(measured), f"measured {plan.base_year} (energy_daily)")
    if choice in ("national", "measured_else_national"):
        return BaseValues(dict(plan.national_base_values), f"national {plan.base_year} average of {plan.name}")
    return None


def read_measured_base_values(store: InfluxStore, site: Site) -> dict[str, dict[str, float]]:
    """Annual indicators of the plan's base year per building, from energy_daily (buildings with data only)."""
    period = parse_period(str(site.energy_targets.plan.base_year))
    totals = read_energy_totals(store, site, period)
    measured: dict[str, dict[str, float]] = {}
    for building in site.buildings:
        found = totals[building.code]
        if found.days_with_data > 0:
            row = building_indicators(building.code, building.name, building.floor_area_m2, building.energy_users, period, found)
            # an indicator measured as 0 (e.g. no water meter) cannot be a base for a reduction
            measured[building.code] = {k: v for k, v in row.annual.items() if k != "electricity_kwh_per_m2" and v > 0}
    return measured
