"""Energy indicators of public-institution statistics, per building and for the site, per month or year.

From ``energy_daily`` (per building × energy category × sub-item per local day, docs/standards.md#energy-indicators-and-plan-targets):

- intensities: electricity kWh/m², kgce/m², kgce/person, water m³/person, kgCO₂/m²;
- electricity sub-item shares (分项) of the main meter's total, by sub-item and by group, with the
  unmetered remainder;

and from ``energy_interval`` of the main electricity meters (sub-item ``01000``):

- the share of electricity used outside working hours on working days and on rest days (weekends and
  holidays, with 调休 working weekends counted as working days, facmon.workdays).

Which ``energy_daily`` rows are totals: a category's whole-building row has sub-item ``<cc>000``
(``01000`` main electricity meter, ``02000`` water, ``03000`` gas, ...). Totals (kWh, kgce, CO₂, m³) are
summed over those rows only; electricity sub-meter rows (``01A10``, ``01B20``, ...) give the shares and
are never added to the totals, which would count their energy twice.

Monthly and partial periods: an indicator is reported for the period as measured **and annualised**
(period value × days of the year / days with data), because GB/T 51161 and the plan state annual values.
A single month annualised carries its season (a July overstates the year, an April understates it).

The core is plain functions on numbers and numpy arrays; ``read_*`` functions are the thin layer that
queries InfluxDB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from facmon.errors import FacmonError
from facmon.periods import Period, PeriodError
from facmon.periods import parse_period as core_parse_period
from facmon.periods import resolve_period as core_resolve_period
from facmon.registry import Building, Site, WorkingHours
from facmon.schema.energy import completeness_by_building, days_with_totals, energy_daily_sums, interval_consumption_by_building
from facmon.standards import ELECTRICITY_SUBITEMS
from facmon.store import InfluxStore
from facmon.workdays import is_working_day

ELECTRICITY = "01"
WATER = "02"
MAIN_ELECTRICITY_SUBITEM = "01000"

# Indicator name → unit of its annual value; the plan's indicator names are the same (facmon.registry.PlanIndicator).
INDICATOR_UNITS: dict[str, str] = {
    "electricity_kwh_per_m2": "kWh/(m²·a)",
    "kgce_per_m2": "kgce/(m²·a)",
    "kgce_per_person": "kgce/(person·a)",
    "water_m3_per_person": "m³/(person·a)",
    "co2_kg_per_m2": "kgCO₂/(m²·a)",
}


class IndicatorError(FacmonError):
    """An indicator cannot be computed from the given input (named in the message)."""


# ---------------------------------------------------------------------------------------------
# Periods: the core's (facmon.periods); energy indicators are given per month, quarter, year or twelve months.


def twelve_months_ending(period: Period) -> Period:
    """The twelve calendar months ending with a month's or a quarter's last month (``2025-12..2026-11`` for
    ``2026-11``, ``2025-10..2026-09`` for ``2026-Q3``)."""
    if period.kind not in ("month", "quarter"):
        raise IndicatorError(f"twelve months end with a month or a quarter, not with {period.label!r}")
    last = (period.end - timedelta(days=1)).replace(day=1)  # the first day of the period's last month
    first_year, first_month = (last.year, 1) if last.month == 12 else (last.year - 1, last.month + 1)
    start = date(first_year, first_month, 1)
    return Period(f"{first_year:04d}-{first_month:02d}..{last:%Y-%m}", "twelve_months", start, period.end)


def parse_period(text: str) -> Period:
    """``2025`` → the year 2025; ``2025-Q3`` → its third quarter; ``2025-06`` → June 2025. Raises
    IndicatorError on anything else."""
    try:
        return core_parse_period(text)
    except PeriodError as error:
        raise IndicatorError(str(error)) from None


def resolve_period(text: str | None, today: date) -> Period:
    """The period a command scores: ``None`` → the last complete month before ``today`` (local date);
    ``current`` → the month holding ``today``; otherwise :func:`parse_period`."""
    try:
        return core_resolve_period(text, today)
    except PeriodError as error:
        raise IndicatorError(str(error)) from None


# ---------------------------------------------------------------------------------------------
# Pure computations


@dataclass(frozen=True)
class EnergyTotals:
    """One building's energy over a period, summed from energy_daily.

    ``electricity_kwh`` is the main meters' (01000) total; ``kgce`` and ``co2_kg`` sum the whole-building
    rows of every category; ``subitem_kwh`` holds the electricity sub-meter rows; ``days_with_data`` counts
    local days that have any whole-building row.
    """

    electricity_kwh: float = 0.0
    kgce: float = 0.0
    co2_kg: float = 0.0
    water_m3: float = 0.0
    subitem_kwh: Mapping[str, float] = field(default_factory=dict)
    consumption_by_energy: Mapping[str, float] = field(default_factory=dict)  # category → kWh, m³, GJ, ... (its unit)
    days_with_data: int = 0


@dataclass(frozen=True)
class SubitemShares:
    """Electricity sub-item shares of the main meters' total (fractions 0..1; unmetered may be negative)."""

    by_subitem: dict[str, float]
    by_group: dict[str, float]  # 01A00 lighting & sockets, 01B00 HVAC, 01C00 power, 01D00 special
    unmetered: float  # main − Σ sub-meters, as a share of main: losses and unmetered circuits


def subitem_shares(main_kwh: float, subitem_kwh: Mapping[str, float]) -> SubitemShares | None:
    """Shares of each electricity sub-item (kWh) in the main meters' total (kWh); None without a total."""
    if main_kwh <= 0:
        return None
    by_subitem = {code: kwh / main_kwh for code, kwh in sorted(subitem_kwh.items())}
    by_group: dict[str, float] = {}
    for code, share in by_subitem.items():
        group = f"{code[:3]}00"
        by_group[group] = by_group.get(group, 0.0) + share
    return SubitemShares(by_subitem, dict(sorted(by_group.items())), 1.0 - sum(by_subitem.values()))


@dataclass(frozen=True)
class AfterHoursSplit:
    """Electricity (kWh) by when it was used, and the after-hours share.

    ``off_hours_workday_kwh``: working days outside working hours; ``rest_day_kwh``: whole weekends and
    holidays (a 调休 working weekend counts as a working day, a holiday weekday as a rest day).
    """

    total_kwh: float
    working_hours_kwh: float
    off_hours_workday_kwh: float
    rest_day_kwh: float
    intervals: int

    @property
    def after_hours_kwh(self) -> float:
        return self.off_hours_workday_kwh + self.rest_day_kwh

    @property
    def after_hours_share(self) -> float | None:
        return self.after_hours_kwh / self.total_kwh if self.total_kwh > 0 else None

    @property
    def rest_day_share(self) -> float | None:
        return self.rest_day_kwh / self.total_kwh if self.total_kwh > 0 else None

    @property
    def off_hours_workday_share(self) -> float | None:
        return self.off_hours_workday_kwh / self.total_kwh if self.total_kwh > 0 else None


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def after_hours_split(
    interval_start_s: np.ndarray | Sequence[int],
    consumption_kwh: np.ndarray | Sequence[float],
    timezone: str,
    working_hours: WorkingHours,
) -> AfterHoursSplit:
    """Split interval electricity (kWh, interval START as UTC epoch seconds) into working hours,
    off-hours on working days, and rest days, in the site's local time.

    An interval belongs to working hours when its local start is in [start, end) on a working day.
    """
    starts = np.asarray(interval_start_s, dtype=np.int64)
    kwh = np.asarray(consumption_kwh, dtype=float)
    if starts.shape != kwh.shape or starts.ndim != 1:
        raise IndicatorError(f"interval_start_s and consumption_kwh must be 1-D of equal length (got {starts.shape} and {kwh.shape})")
    if not np.all(np.isfinite(kwh)):
        raise IndicatorError("consumption_kwh holds NaN or infinite values")
    if starts.size == 0:
        return AfterHoursSplit(0.0, 0.0, 0.0, 0.0, 0)
    zone = ZoneInfo(timezone)
    # UTC offsets change only at whole hours in China (and almost everywhere): one lookup per hour.
    hours, hour_index = np.unique(starts // 3600, return_inverse=True)
    offsets_s = np.array([int(datetime.fromtimestamp(int(h) * 3600, zone).utcoffset().total_seconds()) for h in hours], dtype=np.int64)
    local_s = starts + offsets_s[hour_index]
    local_day = local_s // 86400
    second_of_day = local_s - local_day * 86400
    days, day_index = np.unique(local_day, return_inverse=True)
    working_day = np.array([is_working_day(date.fromordinal(_EPOCH_ORDINAL + int(d))) for d in days], dtype=bool)[day_index]
    start_s = working_hours.start.hour * 3600 + working_hours.start.minute * 60
    end_s = working_hours.end.hour * 3600 + working_hours.end.minute * 60
    in_hours = (second_of_day >= start_s) & (second_of_day < end_s)
    return AfterHoursSplit(
        total_kwh=float(kwh.sum()),
        working_hours_kwh=float(kwh[working_day & in_hours].sum()),
        off_hours_workday_kwh=float(kwh[working_day & ~in_hours].sum()),
        rest_day_kwh=float(kwh[~working_day].sum()),
        intervals=int(starts.size),
    )


@dataclass(frozen=True)
class BuildingIndicators:
    """One building's (or the site's) indicators for a period. Intensities are annual values
    (annualised when the period is a month or data cover part of it); ``period_values`` are as measured."""

    building: str
    name: str
    period: str
    floor_area_m2: float
    energy_users: int
    totals: EnergyTotals
    days_in_period: int
    annualisation: float | None  # days of the year / days with data; None without data
    annual: dict[str, float]  # indicator → annual value (INDICATOR_UNITS)
    period_values: dict[str, float]  # indicator → value over the period's days with data (unit without "·a")
    shares: SubitemShares | None
    after_hours: AfterHoursSplit | None
    few_days: str | None = None  # why the annual values are a poor estimate (annualised from too few days), else None

    @property
    def has_data(self) -> bool:
        return self.totals.days_with_data > 0

    def as_dict(self) -> dict:
        record = asdict(self)
        record["totals"]["subitem_kwh"] = dict(self.totals.subitem_kwh)
        record["totals"]["consumption_by_energy"] = dict(self.totals.consumption_by_energy)
        if self.after_hours is not None:
            record["after_hours"].update(
                after_hours_share=self.after_hours.after_hours_share,
                off_hours_workday_share=self.after_hours.off_hours_workday_share,
                rest_day_share=self.after_hours.rest_day_share,
            )
        return record


def intensities(totals: EnergyTotals, floor_area_m2: float, energy_users: int) -> dict[str, float]:
    """Intensities of the totals as given (per m² of floor area, per energy user)."""
    if floor_area_m2 <= 0:
        raise IndicatorError(f"floor_area_m2 must be positive (got {floor_area_m2})")
    if energy_users <= 0:
        raise IndicatorError(f"energy_users must be positive (got {energy_users})")
    return {
        "electricity_kwh_per_m2": totals.electricity_kwh / floor_area_m2,
        "kgce_per_m2": totals.kgce / floor_area_m2,
        "kgce_per_person": totals.kgce / energy_users,
        "water_m3_per_person": totals.water_m3 / energy_users,
        "co2_kg_per_m2": totals.co2_kg / floor_area_m2,
    }


def few_days_flag(days_with_data: int, days_in_year: int, min_days_annualised: int) -> str | None:
    """Why an annual figure annualised from ``days_with_data`` is a poor estimate, or None: flagged when
    it was annualised (fewer days than the year's) from fewer than ``min_days_annualised`` days."""
    if 0 < days_with_data < min(min_days_annualised, days_in_year):
        return f"annualised from {days_with_data} day(s) of data (fewer than {min_days_annualised}): a poor annual figure"
    return None


def building_indicators(
    code: str,
    name: str,
    floor_area_m2: float,
    energy_users: int,
    period: Period,
    totals: EnergyTotals,
    after_hours: AfterHoursSplit | None = None,
    min_days_annualised: int = 0,
) -> BuildingIndicators:
    """Indicators of one building (or, with summed area and users, of the site) over ``period``; annual
    values from fewer than ``min_days_annualised`` days of data are flagged (``few_days``)."""
    period_values = intensities(totals, floor_area_m2, energy_users)
    if totals.days_with_data > 0:
        annualisation = period.days_in_year / totals.days_with_data
        annual = {key: value * annualisation for key, value in period_values.items()}
    else:
        annualisation, annual = None, {}
    return BuildingIndicators(
        building=code,
        name=name,
        period=period.label,
        floor_area_m2=floor_area_m2,
        energy_users=energy_users,
        totals=totals,
        days_in_period=period.days,
        annualisation=annualisation,
        annual=annual,
        period_values=period_values,
        shares=subitem_shares(totals.electricity_kwh, totals.subitem_kwh),
        after_hours=after_hours,
        few_days=few_days_flag(totals.days_with_data, period.days_in_year, min_days_annualised),
    )


def site_indicators(
    site_name: str, period: Period, buildings: Sequence[BuildingIndicators], min_days_annualised: int = 0, code: str = "site"
) -> BuildingIndicators:
    """The site (or a group of its buildings, named ``code``) as one building: annualised totals of the
    buildings with data summed over their summed floor area and users (buildings without data are left
    out and so do not dilute the intensities)."""
    with_data = [b for b in buildings if b.has_data]
    if not with_data:
        area = sum(b.floor_area_m2 for b in buildings)
        users = sum(b.energy_users for b in buildings)
        return building_indicators(code, site_name, area, users, period, EnergyTotals())
    # Sum each building's totals scaled to the same coverage, so a building with fewer days of data
    # weighs as if measured over the site's longest coverage.
    days = max(b.totals.days_with_data for b in with_data)
    subitems: dict[str, float] = {}
    energies: dict[str, float] = {}
    sums = {"electricity_kwh": 0.0, "kgce": 0.0, "co2_kg": 0.0, "water_m3": 0.0}
    after = [0.0, 0.0, 0.0, 0.0, 0]
    for b in with_data:
        scale = days / b.totals.days_with_data
        for key in sums:
            sums[key] += getattr(b.totals, key) * scale
        for code, kwh in b.totals.subitem_kwh.items():
            subitems[code] = subitems.get(code, 0.0) + kwh * scale
        for energy, amount in b.totals.consumption_by_energy.items():
            energies[energy] = energies.get(energy, 0.0) + amount * scale
        if b.after_hours is not None:
            split = b.after_hours
            for i, value in enumerate((split.total_kwh, split.working_hours_kwh, split.off_hours_workday_kwh, split.rest_day_kwh)):
                after[i] += value
            after[4] += split.intervals
    totals = EnergyTotals(**sums, subitem_kwh=subitems, consumption_by_energy=energies, days_with_data=days)
    after_hours = AfterHoursSplit(*after[:4], intervals=int(after[4])) if after[4] else None
    area_m2, users = sum(b.floor_area_m2 for b in with_data), sum(b.energy_users for b in with_data)
    return building_indicators(code, site_name, area_m2, users, period, totals, after_hours, min_days_annualised)


# ---------------------------------------------------------------------------------------------
# Reading from InfluxDB


def read_energy_totals(store: InfluxStore, site: Site, period: Period) -> dict[str, EnergyTotals]:
    """EnergyTotals of every building of the site from energy_daily (buildings without rows get empty totals)."""
    start_s, end_s = period.bounds_utc_s(site.site.timezone)
    sums = energy_daily_sums(store, start_s, end_s)
    # Days with any whole-building row: count per local day (time = local midnight) of the total rows.
    days = days_with_totals(store, start_s, end_s)
    per_building: dict[str, dict] = {
        b.code: {"electricity_kwh": 0.0, "kgce": 0.0, "co2_kg": 0.0, "water_m3": 0.0, "subitem_kwh": {}, "consumption_by_energy": {}}
        for b in site.buildings
    }
    for row in sums:
        record = per_building.get(row.building)
        if record is None:
            continue  # a building no longer in the registry
        energy, subitem = row.energy, row.subitem
        consumption = row.consumption or 0.0
        if subitem == f"{energy}000":
            record["kgce"] += row.kgce or 0.0
            record["co2_kg"] += row.co2_kg or 0.0
            record["consumption_by_energy"][energy] = record["consumption_by_energy"].get(energy, 0.0) + consumption
            if energy == ELECTRICITY:
                record["electricity_kwh"] += consumption
            elif energy == WATER:
                record["water_m3"] += consumption
        elif energy == ELECTRICITY and subitem in ELECTRICITY_SUBITEMS:
            record["subitem_kwh"][subitem] = record["subitem_kwh"].get(subitem, 0.0) + consumption
    return {code: EnergyTotals(**record, days_with_data=len(days.get(code, ()))) for code, record in per_building.items()}


def read_main_intervals(store: InfluxStore, site: Site, period: Period) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Main electricity meters' (01000) interval consumption per building: (interval start UTC s, kWh)."""
    start_s, end_s = period.bounds_utc_s(site.site.timezone)
    return interval_consumption_by_building(store, ELECTRICITY, MAIN_ELECTRICITY_SUBITEM, start_s, end_s)


@dataclass(frozen=True)
class Completeness:
    """Share of the expected meter-days' intervals that were measured (mean of meter_daily.completeness,
    with a meter-day that has no row counted as 0)."""

    completeness: float
    meter_days_expected: int
    meter_days_reported: int


def completeness_of(reported: Sequence[float], meters: int, expected_days: int) -> Completeness | None:
    """Completeness from per-meter-day completeness values (0..1); None when nothing is expected."""
    expected = meters * expected_days
    if expected <= 0:
        return None
    values = np.clip(np.asarray(reported, dtype=float), 0.0, 1.0)
    return Completeness(min(1.0, float(values.sum()) / expected), expected, int(values.size))


def read_completeness(store: InfluxStore, site: Site, period: Period, today: date | None = None) -> dict[str, Completeness] | None:
    """Completeness per building from meter_daily over the period's elapsed days; None when the
    measurement holds nothing for the site in the period (not analysed yet, so unknown rather than 0)."""
    zone = ZoneInfo(site.site.timezone)
    today = today or datetime.now(UTC).astimezone(zone).date()
    start_s, end_s = period.bounds_utc_s(site.site.timezone)
    by_building = completeness_by_building(store, start_s, end_s)
    if not by_building:
        return None
    days = period.elapsed_days(today)
    result: dict[str, Completeness] = {}
    for building in site.buildings:
        found = completeness_of(by_building.get(building.code, []), len(building.meters), days)
        if found is not None:
            result[building.code] = found
    return result


@dataclass(frozen=True)
class SiteIndicatorReport:
    """Indicators of every building and of the site for one period.

    ``site`` is the whole institution (every building, as the statistics count it); ``offices`` the
    office buildings alone (the scope of GB/T 51161's office values), None when all or none are offices."""

    period: Period
    buildings: list[BuildingIndicators]
    site: BuildingIndicators
    completeness: dict[str, Completeness] | None
    offices: BuildingIndicators | None = None

    def building(self, code: str) -> BuildingIndicators | None:
        return next((b for b in self.buildings if b.building == code), None)


def site_report(
    site: Site, period: Period, rows: Sequence[BuildingIndicators], completeness: dict[str, Completeness] | None = None
) -> SiteIndicatorReport:
    """The report of the building rows (in registry order): the whole site and, when some building is
    not an office, the office buildings alone."""
    min_days = site.energy_targets.scoring.min_days_annualised
    offices = None
    office_codes = {b.code for b in site.buildings if b.is_office}
    if office_codes and len(office_codes) < len(site.buildings):
        office_rows = [row for row in rows if row.building in office_codes]
        offices = site_indicators(f"{site.site.name} (offices)", period, office_rows, min_days, code="offices")
    return SiteIndicatorReport(period, list(rows), site_indicators(site.site.name, period, rows, min_days), completeness, offices)


def _building_row(
    building: Building, period: Period, totals: EnergyTotals, split: AfterHoursSplit | None, min_days: int
) -> BuildingIndicators:
    return building_indicators(building.code, building.name, building.floor_area_m2, building.energy_users, period, totals, split, min_days)


def read_indicators(store: InfluxStore, site: Site, period: Period, today: date | None = None) -> SiteIndicatorReport:
    """Read energy_daily, energy_interval and meter_daily for the period and compute every indicator."""
    totals = read_energy_totals(store, site, period)
    intervals = read_main_intervals(store, site, period)
    rows = []
    for building in site.buildings:
        split = None
        if building.code in intervals:
            starts, kwh = intervals[building.code]
            split = after_hours_split(starts, kwh, site.site.timezone, building.working_hours)
        rows.append(_building_row(building, period, totals[building.code], split, site.energy_targets.scoring.min_days_annualised))
    return site_report(site, period, rows, read_completeness(store, site, period, today))
