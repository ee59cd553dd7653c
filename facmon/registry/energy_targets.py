"""Energy targets (registry section ``energy_targets``): what a building's energy use is judged against,
the conservation plan, the GB/T 51161 comparison's parameters, and the energy score's rules.

Defaults come from facmon/standards.py (docs/standards.md#energy-indicators-and-plan-targets,
#office-energy-benchmarks); every M/L number can be overridden here."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, cast

from pydantic import Field, field_validator, model_validator

from facmon.registry.common import Entry, require_quoted_code
from facmon.registry.scoring import Scoring
from facmon.standards import (
    ENERGY_CATEGORIES,
    FYP14_BASE_YEAR,
    FYP14_NAME,
    FYP14_NATIONAL_BASE_VALUES,
    FYP14_REDUCTIONS,
    FYP14_SOURCE,
    FYP14_TARGET_YEAR,
    GBT51161_CORRECTION_SOURCE,
    GBT51161_OFFICE_EUI_KWH_M2,
    GBT51161_REFERENCE_AREA_PER_PERSON_M2,
    GBT51161_REFERENCE_USE_HOURS_H,
    GBT51161_SOURCE,
    ClimateZone,
    OfficeHvacClass,
    OfficeUse,
)

# Indicators a plan sets reduction targets for (analytics/indicators.py computes them per year).
PlanIndicator = Literal["kgce_per_m2", "kgce_per_person", "water_m3_per_person", "co2_kg_per_m2"]
_BENCHMARK_KEY = re.compile(r"^(?P<office_class>[AB])/(?P<office_use>government|commercial)/(?P<climate_zone>[a-z_]+)$")


# Categories whose consumption converts to kgce and CO₂; water (02) is a resource, not energy.
WATER_CATEGORY = "02"


class BaseYearValues(Entry):
    """A building's base-year values as reported elsewhere (e.g. its statistics for the base year), with
    the energy categories they cover, so that facmon compares them only with measurements of the same
    categories (like for like)."""

    energy: list[str] = Field(
        min_length=1,
        description="energy categories the kgce and CO₂ values include, e.g. ['01', '03'] for electricity and natural gas; "
        "never water (02), whose value is water_m3_per_person",
    )
    values: dict[PlanIndicator, Annotated[float, Field(gt=0)]] = Field(
        min_length=1, description="base-year value per indicator: kgce/(m²·a), kgce/(person·a), m³ water/(person·a), kgCO₂/(m²·a)"
    )
    source: str = Field(min_length=1, description="where the values come from, shown with every plan figure")

    @field_validator("energy", mode="before")
    @classmethod
    def _quoted_codes(cls, value: Any) -> Any:
        return [require_quoted_code(code) for code in value] if isinstance(value, list) else value

    @field_validator("energy")
    @classmethod
    def _energy_categories(cls, energy: list[str]) -> list[str]:
        for code in energy:
            if code not in ENERGY_CATEGORIES:
                raise ValueError(f"energy {code!r} is not a category code 01..13")
            if code == WATER_CATEGORY:
                raise ValueError("water (02) is not energy: its base value is values.water_m3_per_person, not part of energy")
        if len(set(energy)) != len(energy):
            raise ValueError(f"energy lists a category twice: {energy}")
        return sorted(energy)


_NOT_A_BASE = (
    "national averages cover every energy type of every public institution and are no building's base-year value "
    "(not like for like): give the building's own base-year values with the energy categories they cover "
    "({energy: ['01'], values: {kgce_per_m2: 6.1}, source: '2020 statistics'}), or measured"
)


class EnergyPlan(Entry):
    """A conservation plan: base year, target year and reductions per indicator (14th Five-Year plan by default).

    A building's base-year values are ``base_values[code]`` when given (its own values with the energy
    categories they cover, or ``measured``), else ``default_base``: ``measured`` reads the base year from
    energy_daily; ``none`` leaves the building without a base (its plan component is not available).
    A base counts only when it covers the same energy categories as the measurements it is compared with.
    """

    name: str = Field(FYP14_NAME, description="name of the plan, shown with the plan's figures")
    source: str = Field(FYP14_SOURCE, description="where the plan's numbers come from, shown with the plan's figures")
    base_year: int = Field(FYP14_BASE_YEAR, ge=2000, le=2100, description="year the reductions are measured from")
    target_year: int = Field(FYP14_TARGET_YEAR, ge=2000, le=2100, description="year by which the full reductions are due; after base_year")
    reductions: dict[PlanIndicator, Annotated[float, Field(ge=0, lt=1)]] = Field(
        default_factory=lambda: cast(dict[PlanIndicator, float], dict(FYP14_REDUCTIONS)),
        description="fraction below the base-year value by target_year, e.g. 0.05",
    )
    national_base_values: dict[PlanIndicator, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: cast(dict[PlanIndicator, float], dict(FYP14_NATIONAL_BASE_VALUES)),
        description="national base-year averages of all energy types: kgce/(m²·a), kgce/(person·a), m³ water/(person·a); "
        "shown as context, never used as a building's base",
    )
    default_base: Literal["measured", "none"] = Field(
        "measured",
        description="base-year values of buildings not in base_values: measured (energy_daily of the base year) or none",
    )
    base_values: dict[str, BaseYearValues | Literal["measured"]] = Field(
        default_factory=dict, description="per building code: its base-year values with the energy categories they cover, or measured"
    )
    min_coverage: float = Field(
        0.9,
        gt=0,
        le=1,
        description="share of a year's days that must have data for the year to count, as the plan year and as a measured base year",
    )

    @field_validator("default_base", mode="before")
    @classmethod
    def _no_national_default(cls, value: Any) -> Any:
        if value in ("national", "measured_else_national"):
            raise ValueError(f"default_base {value!r} is no longer offered: {_NOT_A_BASE}")
        return value

    @field_validator("base_values", mode="before")
    @classmethod
    def _base_values_say_their_scope(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for code, entry in value.items():
            if entry in ("national", "measured_else_national"):
                raise ValueError(f"base_values[{code!r}] = {entry!r}: {_NOT_A_BASE}")
            if isinstance(entry, dict) and "values" not in entry and set(entry) & set(FYP14_REDUCTIONS):
                raise ValueError(
                    f"base_values[{code!r}] must say which energy categories its values cover, "
                    f"e.g. {{energy: ['01', '03'], values: {{kgce_per_m2: {next(iter(entry.values()))}}}, source: '2020 statistics'}}"
                )
        return value

    def required_reduction(self, indicator: str, year: int) -> float | None:
        """Fraction below the base-year value the plan requires of ``indicator`` by ``year``, on a straight
        path from the base year to the target year (the full reduction after it); None when the plan sets
        none for the indicator or ``year`` is not after the base year."""
        full: float | None = self.reductions.get(indicator)  # type: ignore[call-overload]
        if full is None or year <= self.base_year:
            return None
        return full * min(1.0, (year - self.base_year) / (self.target_year - self.base_year))

    @model_validator(mode="after")
    def _years_in_order(self) -> EnergyPlan:
        if self.target_year <= self.base_year:
            raise ValueError(f"target_year {self.target_year} must be after base_year {self.base_year}")
        return self


class EuiBenchmark(Entry):
    """GB/T 51161 constraint and guide value of non-heating EUI, kWh/(m²·a)."""

    constraint_kwh_m2: float = Field(gt=0, description="约束值")
    guide_kwh_m2: float = Field(gt=0, description="引导值")

    @model_validator(mode="after")
    def _guide_below_constraint(self) -> EuiBenchmark:
        if self.guide_kwh_m2 > self.constraint_kwh_m2:
            raise ValueError(f"guide_kwh_m2 {self.guide_kwh_m2:g} cannot exceed constraint_kwh_m2 {self.constraint_kwh_m2:g}")
        return self


class Gbt51161Parameters(Entry):
    """Parameters of the GB/T 51161 comparison: correction references, use hours, table overrides."""

    source: str = Field(
        f"{GBT51161_SOURCE}; {GBT51161_CORRECTION_SOURCE}", description="where the comparison's values and corrections come from"
    )
    reference_use_hours_h: float = Field(GBT51161_REFERENCE_USE_HOURS_H, gt=0, description="T₀, h/a")
    reference_area_per_person_m2: float = Field(GBT51161_REFERENCE_AREA_PER_PERSON_M2, gt=0, description="S₀, m²/person")
    use_hours_h: dict[str, Annotated[float, Field(gt=0, le=8784)]] = Field(
        default_factory=dict, description="per building code: annual use hours T; default working hours × working days of the year"
    )
    benchmarks: dict[str, EuiBenchmark] = Field(
        default_factory=dict, description="overrides of Table 5.2.1, keyed '<A|B>/<government|commercial>/<climate zone>'"
    )

    def benchmark(self, office_class: OfficeHvacClass, office_use: OfficeUse, climate_zone: ClimateZone) -> tuple[float, float, str]:
        """(constraint, guide) EUI in kWh/(m²·a) of a building class and climate zone, and where they come
        from: this registry's override, else GB/T 51161-2016 Table 5.2.1."""
        key = f"{office_class.value}/{office_use.value}/{climate_zone.value}"
        override = self.benchmarks.get(key)
        if override is not None:
            return override.constraint_kwh_m2, override.guide_kwh_m2, f"registry energy_targets.gbt51161.benchmarks[{key!r}]"
        constraint, guide = GBT51161_OFFICE_EUI_KWH_M2[(office_class, office_use, climate_zone)]
        return constraint, guide, GBT51161_SOURCE

    @field_validator("benchmarks")
    @classmethod
    def _benchmark_keys(cls, benchmarks: dict[str, EuiBenchmark]) -> dict[str, EuiBenchmark]:
        zones = {zone.value for zone in ClimateZone}
        for key in benchmarks:
            match = _BENCHMARK_KEY.match(key)
            if match is None or match["climate_zone"] not in zones:
                raise ValueError(
                    f"benchmark key {key!r} must look like 'B/government/hot_summer_cold_winter' (zones: {', '.join(sorted(zones))})"
                )
        return benchmarks


class EnergyTargets(Entry):
    """What a building's energy use is judged against: the plan, GB/T 51161, and the score's weights."""

    plan: EnergyPlan = Field(default_factory=EnergyPlan, description="the conservation plan (14th Five-Year plan by default)")
    gbt51161: Gbt51161Parameters = Field(
        default_factory=Gbt51161Parameters,
        description="GB/T 51161 comparison: correction references, use hours, benchmark overrides",
    )
    scoring: Scoring = Field(default_factory=Scoring, description="energy score: weights and points rules")
