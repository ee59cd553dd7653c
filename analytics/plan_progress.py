"""Progress against the conservation plan, like for like.

The plan (14th Five-Year plan by default, registry ``energy_targets.plan``) sets each indicator's
reduction r against the base year B by the target year Y_t. For a year Y the reduction required so
far is r·min(1, (Y − B)/(Y_t − B)) (a straight path; beyond the target year the full r). Progress is
the reduction achieved, (base − actual)/base, against the reduction required.

A reduction is only meaningful between like and like, so a figure is given only when

- **the time is alike**: both sides are whole years. A calendar-year period is judged on itself; a
  month on the twelve months ending with it (a single month annualised carries its season: a
  November would show a large "reduction" against any annual base). Each year must have data on at
  least ``plan.min_coverage`` of its days (90 % by default), the base year too when it is measured;
- **the scope is alike**: the base covers the same energy categories as the measurements. kgce and
  CO₂ sum every category a building meters (electricity, gas, district heat, ...; never water); a base
  that includes gas compared with electricity alone would show a reduction that is only the missing
  gas. The national 2020 averages cover all energy types of all institutions and are never a
  building's base.

Otherwise the plan is "not available" and the reason says which side is missing what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

from facmon.analytics.indicators import (
    WATER,
    EnergyTotals,
    IndicatorError,
    Period,
    building_indicators,
    read_energy_totals,
    twelve_months_ending,
)
from facmon.periods import year_period
from facmon.registry import BaseYearValues, Building, EnergyPlan, Site
from facmon.standards import ENERGY_CATEGORIES
from facmon.store import InfluxStore

# The indicators whose value sums the energy categories (kgce and CO₂); water is its own scope.
ENERGY_SCOPED = ("kgce_per_m2", "kgce_per_person", "co2_kg_per_m2")
WATER_INDICATOR = "water_m3_per_person"


def describe_categories(energy: tuple[str, ...] | list[str]) -> str:
    """'01 electricity, 03 gas' for the category codes given."""
    return ", ".join(f"{code} {ENERGY_CATEGORIES[code][0]}" for code in energy) if energy else "no energy category"


@dataclass(frozen=True)
class PlanYear:
    """One building's energy over a year-long window (a calendar year or twelve months), as the plan sees it.

    ``values``: annual indicator values (the window's totals × days ÷ days with data; INDICATOR_UNITS);
    ``energy``: categories other than water that have whole-building data in the window; ``water``:
    whether water has."""

    label: str
    days: int
    days_with_data: int
    energy: tuple[str, ...]
    water: bool
    values: Mapping[str, float]

    @property
    def coverage(self) -> float:
        return self.days_with_data / self.days if self.days else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "values": dict(self.values), "coverage": self.coverage}


def plan_year(building: Building, window: Period, totals: EnergyTotals) -> PlanYear:
    """The plan's view of ``totals`` measured over ``window`` (a year or twelve months) for ``building``."""
    row = building_indicators(building.code, building.name, building.floor_area_m2, building.energy_users, window, totals)
    categories = tuple(sorted(code for code in totals.consumption_by_energy if code != WATER))
    return PlanYear(
        label=window.label,
        days=window.days,
        days_with_data=totals.days_with_data,
        energy=categories,
        water=WATER in totals.consumption_by_energy,
        values=dict(row.annual),
    )


@dataclass(frozen=True)
class PlanBase:
    """A building's base-year values with the scope they cover and where they come from.

    ``kind``: ``configured`` (the registry's base_values) or ``measured`` (energy_daily of the base year)."""

    kind: Literal["configured", "measured"]
    source: str
    energy: tuple[str, ...]
    water: bool
    values: Mapping[str, float]
    coverage: float | None = None  # measured: share of the base year's days with data

    def as_dict(self) -> dict:
        return {**asdict(self), "values": dict(self.values)}


def configured_base(values: BaseYearValues) -> PlanBase:
    """The plan's view of a building's configured base-year values."""
    return PlanBase(
        kind="configured",
        source=values.source,
        energy=tuple(values.energy),
        water=WATER_INDICATOR in values.values,
        values=dict(values.values),
    )


def measured_base(measured: PlanYear) -> PlanBase:
    """The plan's view of a measured base year; indicators measured as 0 (no meter) are left out."""
    values = {k: v for k, v in measured.values.items() if k in (*ENERGY_SCOPED, WATER_INDICATOR) and v > 0}
    return PlanBase(
        kind="measured",
        source=f"measured {measured.label} (energy_daily, {measured.days_with_data} of {measured.days} days)",
        energy=measured.energy,
        water=measured.water,
        values=values,
        coverage=measured.coverage,
    )


@dataclass(frozen=True)
class PlanProgress:
    """One indicator of one building against the plan for a year (values in the indicator's annual unit)."""

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
    required = plan.required_reduction(indicator, year)
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
class PlanAssessment:
    """A building's plan figures for a year, or why there are none.

    ``progress``: the indicators compared like for like; ``unavailable``: indicator → why it is not
    compared (the headline ``kgce_per_m2`` among them when the plan component is not available)."""

    year: int
    window: PlanYear | None
    base: PlanBase | None
    progress: list[PlanProgress] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    def indicator(self, name: str) -> PlanProgress | None:
        return next((p for p in self.progress if p.indicator == name), None)

    def as_dict(self) -> dict:
        return {
            "year": self.year,
            "window": None if self.window is None else self.window.as_dict(),
            "base": None if self.base is None else self.base.as_dict(),
            "progress": [p.as_dict() for p in self.progress],
            "unavailable": dict(self.unavailable),
        }


def _scope_mismatch(indicator: str, base: PlanBase, window: PlanYear) -> str | None:
    if indicator == WATER_INDICATOR:
        if not window.water:
            return f"no water data in {window.label}"
        return None
    if base.energy != window.energy:
        return (
            f"not like for like: the base ({base.kind}) covers {describe_categories(base.energy)}; "
            f"{window.label} measured {describe_categories(window.energy)}"
        )
    return None


def assess_plan(plan: EnergyPlan, year: int, base: PlanBase | None, base_missing: str, window: PlanYear) -> PlanAssessment:
    """Compare ``window`` (the year, or the twelve months ending with the period) with ``base`` for the
    plan's reduction required by ``year``; every indicator either compared or with its reason."""
    indicators = [name for name in plan.reductions if (plan.required_reduction(name, year) or 0) > 0]
    if year <= plan.base_year:
        reason = f"{year} is not after the plan's base year {plan.base_year}"
        return PlanAssessment(year, window, base, [], {name: reason for name in plan.reductions})
    if window.coverage < plan.min_coverage:
        reason = (
            f"{window.label} has data on {window.days_with_data} of {window.days} days (< {plan.min_coverage:.0%}): "
            "the plan compares whole years"
        )
        return PlanAssessment(year, window, base, [], dict.fromkeys(indicators, reason))
    if base is None:
        return PlanAssessment(year, window, None, [], dict.fromkeys(indicators, base_missing))
    rows: list[PlanProgress] = []
    unavailable: dict[str, str] = {}
    for name in indicators:
        if name not in base.values:
            unavailable[name] = f"the base ({base.kind}, {base.source}) has no {name}"
            continue
        mismatch = _scope_mismatch(name, base, window)
        if mismatch is not None:
            unavailable[name] = mismatch
            continue
        found = plan_progress(name, window.values[name], base.values[name], base.source, plan, year)
        if found is not None:
            rows.append(found)
    return PlanAssessment(year, window, base, rows, unavailable)


def plan_window(period: Period) -> Period:
    """The year-long window the plan judges ``period`` on: the year itself, or the twelve months ending with a month."""
    return period if period.kind == "year" else twelve_months_ending(period)


def resolve_base(plan: EnergyPlan, building: Building, measured: PlanYear | None) -> tuple[PlanBase | None, str]:
    """A building's base by the plan's rules, or None and why: configured values, else (``measured``)
    the base year as measured when it covers ``plan.min_coverage`` of its days."""
    choice = plan.base_values.get(building.code, plan.default_base)
    if isinstance(choice, BaseYearValues):
        return configured_base(choice), ""
    if choice == "none":
        return None, (
            f"no base-year ({plan.base_year}) values: give energy_targets.plan.base_values[{building.code!r}] "
            "(energy categories, values, source) or measure the base year"
        )
    if measured is None or measured.days_with_data == 0:
        return None, f"no data for the base year {plan.base_year} in energy_daily, and no configured base-year values"
    if measured.coverage < plan.min_coverage:
        return None, (
            f"the base year {plan.base_year} has data on {measured.days_with_data} of {measured.days} days (< {plan.min_coverage:.0%})"
        )
    return measured_base(measured), ""


def read_plan_years(store: InfluxStore, site: Site, window: Period) -> dict[str, PlanYear]:
    """Every building's PlanYear over ``window`` from energy_daily."""
    totals = read_energy_totals(store, site, window)
    return {b.code: plan_year(b, window, totals[b.code]) for b in site.buildings}


def needs_measured_base(plan: EnergyPlan, site: Site) -> bool:
    """Whether some building's base is to be measured (so the base year must be read)."""
    return any(plan.base_values.get(b.code, plan.default_base) == "measured" for b in site.buildings)


def read_plan_assessments(store: InfluxStore, site: Site, period: Period) -> dict[str, PlanAssessment]:
    """Every building's plan assessment for ``period``: its window read from energy_daily, and the base
    year read when some base is measured."""
    plan = site.energy_targets.plan
    window = plan_window(period)
    years = read_plan_years(store, site, window)
    measured: dict[str, PlanYear] = {}
    if period.year > plan.base_year and needs_measured_base(plan, site):
        measured = read_plan_years(store, site, year_period(plan.base_year))
    assessments = {}
    for building in site.buildings:
        base, missing = resolve_base(plan, building, measured.get(building.code))
        assessments[building.code] = assess_plan(plan, period.year, base, missing, years[building.code])
    return assessments
