"""Weather-normalised electricity savings of a building, from what InfluxDB holds (IPMVP Option C).

The whole-building meter carries every measure, so the consumption is the building's main
electricity (``energy_daily``, sub-item 01000) per local day, and the temperature is the daily mean
of its outdoor-air sensor (``weather.temperature``). A day enters the baseline or the reporting period
only when every interval of its main meters was measured or estimated (a day with a longer gap would
understate the load) and its temperature is known. The daily change-point baseline is fitted with
working and non-working days told apart by the Chinese calendar (调休 included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from facmon.analytics.changepoint import DailyBaseline, fit_daily_baseline
from facmon.analytics.savings import Savings, savings_with_uncertainty
from facmon.errors import FacmonError
from facmon.registry import Site
from facmon.schema.energy import read_energy_daily
from facmon.schema.readings import mean_outdoor_temperature
from facmon.standards import MV_FSU_CONFIDENCE
from facmon.store import InfluxStore
from facmon.workdays import is_working_day

MAIN_ELECTRICITY = ("01", "01000")
COMPLETE_DAY = 0.999  # measured + estimated share of a day's main-meter intervals for the day to count
MIN_BASELINE_DAYS = 60  # fewer complete days: no baseline at all (the sufficiency report flags anything below 365)
BASELINE_DAYS = 365  # CalTRACK: the baseline is the year before the reporting period


class InsufficientBaseline(FacmonError):
    """Too few complete days before the reporting period to fit a baseline."""


@dataclass(frozen=True)
class DailySeries:
    """A building's local days with main electricity (kWh, NaN when incomplete) and mean outdoor temperature (°C, NaN when unknown)."""

    days: np.ndarray  # datetime64[D], local calendar days
    consumption_kwh: np.ndarray
    temperature_c: np.ndarray
    working_day: np.ndarray  # bool


@dataclass(frozen=True)
class BuildingSavings:
    """The baseline of a building and, when the reporting period has complete days, its savings."""

    building: str
    baseline_start: date
    baseline_end: date  # exclusive
    reporting_start: date
    reporting_end: date  # exclusive
    baseline: DailyBaseline
    savings: Savings | None
    reporting_days: int  # complete days measured against the baseline

    def as_dict(self) -> dict:
        return {
            "building": self.building,
            "baseline": {"start": self.baseline_start.isoformat(), "end": self.baseline_end.isoformat(), **self.baseline.as_dict()},
            "reporting": {"start": self.reporting_start.isoformat(), "end": self.reporting_end.isoformat(), "days": self.reporting_days},
            "savings": None if self.savings is None else self.savings.as_dict(),
        }


def read_daily_series(store: InfluxStore, site: Site, building: str, start: date, end: date) -> DailySeries:
    """Local days [start, end) of ``building``: main electricity from energy_daily and mean outdoor temperature."""
    if site.building(building) is None:
        raise FacmonError(f"building {building!r} is not in the site registry")
    tz = site.site.tz
    start_s = int(datetime.combine(start, time(), tz).timestamp())
    end_s = int(datetime.combine(end, time(), tz).timestamp())
    n = (end - start).days
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D"))
    index = {int(datetime.combine(start + timedelta(days=i), time(), tz).timestamp()): i for i in range(n)}
    consumption = np.full(n, np.nan)
    energy, subitem = MAIN_ELECTRICITY
    for daily in read_energy_daily(store, building, start_s, end_s, energy=energy, subitem=subitem):
        covered = np.nan_to_num(daily.completeness) + np.nan_to_num(daily.estimated_share)
        for day_s, value, whole in zip(daily.day_starts_s.tolist(), daily.consumption.tolist(), (covered >= COMPLETE_DAY).tolist()):
            i = index.get(day_s)
            if i is not None and whole:
                consumption[i] = value
    temperature = np.full(n, np.nan)
    for day_s, mean_c in mean_outdoor_temperature(store, building, start_s, end_s, "1d", site.site.timezone).items():
        i = index.get(day_s)
        if i is not None:
            temperature[i] = mean_c
    working = np.array([is_working_day(start + timedelta(days=i)) for i in range(n)], dtype=bool)
    return DailySeries(days, consumption, temperature, working)


def building_savings(
    store: InfluxStore,
    site: Site,
    building: str,
    baseline: tuple[date, date],
    reporting: tuple[date, date],
    *,
    confidence: float = MV_FSU_CONFIDENCE,
) -> BuildingSavings:
    """Fit the daily baseline on local days ``baseline`` [start, end) and measure ``reporting`` [start, end).

    ``confidence`` of the uncertainty band (G14 and docs/standards.md#measurement-and-verification report at 68 %).
    Raises FacmonError when the baseline has fewer than MIN_BASELINE_DAYS complete days. ``savings``
    is None when no reporting day is complete. Energies in kWh.
    """
    (b0, b1), (r0, r1) = baseline, reporting
    if not b0 < b1 <= r0 < r1:
        raise FacmonError(f"the baseline {b0}..{b1} must end before the reporting period {r0}..{r1} begins")
    fit_days = read_daily_series(store, site, building, b0, b1)
    complete = np.isfinite(fit_days.consumption_kwh) & np.isfinite(fit_days.temperature_c)
    if complete.sum() < MIN_BASELINE_DAYS:
        raise InsufficientBaseline(
            f"building {building}: only {int(complete.sum())} complete days of main electricity and outdoor temperature "
            f"from {b0} to {b1}; a baseline needs at least {MIN_BASELINE_DAYS}"
        )
    model = fit_daily_baseline(fit_days.days, fit_days.temperature_c, fit_days.consumption_kwh, fit_days.working_day)
    report_days = read_daily_series(store, site, building, r0, r1)
    usable = np.isfinite(report_days.consumption_kwh) & np.isfinite(report_days.temperature_c)
    savings = None
    if usable.any():
        predicted = np.where(
            usable, model.predict(np.where(usable, report_days.temperature_c, 0.0), report_days.working_day, report_days.days), np.nan
        )
        savings = savings_with_uncertainty(predicted, report_days.consumption_kwh, model.statistics, "daily", confidence=confidence)
    return BuildingSavings(building, b0, b1, r0, r1, model, savings, int(usable.sum()))


def savings_in_period(store: InfluxStore, site: Site, start: date, end: date) -> dict[str, BuildingSavings | None]:
    """Each building's savings over local days [start, end) against its baseline of the BASELINE_DAYS
    before ``start``; None for a building whose baseline has too few complete days."""
    found: dict[str, BuildingSavings | None] = {}
    for building in site.buildings:
        try:
            found[building.code] = building_savings(
                store, site, building.code, (start - timedelta(days=BASELINE_DAYS), start), (start, end)
            )
        except InsufficientBaseline:
            found[building.code] = None
    return found
