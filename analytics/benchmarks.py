"""An office building's indicators against GB/T 51161-2016 (progress against the conservation plan is
analytics/plan_progress.py).

**GB/T 51161 (Table 5.2.1, offices).** The table covers office buildings only: a building whose use
is not office (a canteen, a data centre) is not compared with it (:func:`gbt51161_applies`). The
standard states non-heating electricity-equivalent EUI in
kWh/(m²·a). What facmon compares: the main electricity meters' annual kWh (annualised for a month or
partial data) per m² of floor area, corrected for use hours and occupancy density,

    E_c = E × γ₁ × γ₂,   γ₁ = 0.3 + 0.7·T₀/T,   γ₂ = 0.7 + 0.3·S/S₀

(T annual use hours, default working hours × working days of the year; S floor area per energy user;
T₀ = 2500 h, S₀ = 10 m²/person; docs/standards.md#office-energy-benchmarks, confidence M; all configurable in the registry's
``energy_targets.gbt51161``). Other fuels (gas for a canteen) are not converted to equivalent
electricity, so E is electricity only. In severe-cold and cold zones district heating is excluded by
the standard (assessed by its Chapter 6); electric heating on the main meter stays in E and makes the
comparison stricter — the explanation says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

from facmon.analytics.indicators import IndicatorError
from facmon.registry import Building, Gbt51161Parameters, WorkingHours
from facmon.standards import (
    GBT51161_GAMMA1_COEFFICIENTS,
    GBT51161_GAMMA2_COEFFICIENTS,
    ClimateZone,
    OfficeHvacClass,
    OfficeUse,
)
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


def gbt51161_applies(building: Building) -> str | None:
    """None when GB/T 51161's office values apply to ``building``, else why not."""
    if building.is_office:
        return None
    return f"not applicable: GB/T 51161 Table 5.2.1 covers office buildings; {building.name} is a {building.use.value.replace('_', ' ')}"


def compare_gbt51161(
    building: Building,
    climate_zone: ClimateZone,
    electricity_kwh_per_m2_a: float,
    params: Gbt51161Parameters,
    year: int,
) -> Gbt51161Comparison:
    """Correct the measured annual EUI (kWh/(m²·a)) of an office building with γ₁γ₂ and place it against
    the benchmark. Raises IndicatorError for a building that is not an office (:func:`gbt51161_applies`)."""
    not_applicable = gbt51161_applies(building)
    if not_applicable is not None or building.office_use is None:
        raise IndicatorError(f"building {building.code}: {not_applicable or 'office_use missing'}")
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
