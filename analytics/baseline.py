"""M&V in one call: fit the baseline before a date, judge it, and measure savings after it.

This is what `facmon baseline fit` runs on an exported CSV; the same functions serve facmon's own
series. The baseline is every day (or hour) up to and including ``baseline_end``; the reporting
period is everything after it. Fit statistics, G14 acceptance and data sufficiency always come back
with the model, and savings with their uncertainty when there is a reporting period.

Working and non-working days (``calendar``):
- ``china``: the Chinese working calendar with public holidays and 调休 working weekends
  (``facmon.workdays``), the default for facmon's public institutions;
- ``weekend``: Monday–Friday work, Saturday and Sunday off (data from elsewhere, e.g. OpenDSM's US samples);
- ``none``: one model for all days (daily) / hours of the week as they fall (hourly).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np

from facmon.analytics.changepoint import DailyBaseline, fit_daily_baseline
from facmon.analytics.data_sufficiency import DataSufficiency
from facmon.analytics.fit_statistics import FitStatistics
from facmon.analytics.hourly_baseline import HourlyBaselineChoice, fit_chosen_hourly_baseline
from facmon.analytics.interval_csv import RegularSeries
from facmon.analytics.savings import Savings, savings_with_uncertainty
from facmon.errors import FacmonError
from facmon.standards import MV_DAILY_CVRMSE_MAX, MV_DAILY_NMBE_MAX, MV_HOURLY_CVRMSE_MAX, MV_HOURLY_NMBE_MAX
from facmon.workdays import is_working_day


class WorkCalendar(StrEnum):
    CHINA = "china"
    WEEKEND = "weekend"
    NONE = "none"


def working_days(days: np.ndarray, calendar: WorkCalendar) -> np.ndarray | None:
    """True per working day under the calendar (None for ``none``); ``days`` as datetime64[D]."""
    days = np.asarray(days, dtype="datetime64[D]")
    if calendar is WorkCalendar.NONE:
        return None
    if calendar is WorkCalendar.WEEKEND:
        return np.is_busday(days)
    unique, inverse = np.unique(days, return_inverse=True)
    kinds = np.array([is_working_day(day.item()) for day in unique], dtype=bool)
    return kinds[inverse]


@dataclass(frozen=True)
class Acceptance:
    """ASHRAE G14 acceptance of a baseline fit (fractions; docs/standards.md#fit-acceptance)."""

    cvrmse_max: float
    nmbe_max: float
    cvrmse_ok: bool
    nmbe_ok: bool

    @property
    def accepted(self) -> bool:
        return self.cvrmse_ok and self.nmbe_ok

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accepted": self.accepted}


def acceptance(statistics_cvrmse: float, statistics_nmbe: float, interval: str) -> Acceptance:
    """ASHRAE G14 acceptance of a baseline fit (docs/standards.md#measurement-and-verification thresholds, daily or hourly)."""
    cvrmse_max, nmbe_max = (MV_DAILY_CVRMSE_MAX, MV_DAILY_NMBE_MAX) if interval == "daily" else (MV_HOURLY_CVRMSE_MAX, MV_HOURLY_NMBE_MAX)
    return Acceptance(cvrmse_max, nmbe_max, bool(statistics_cvrmse <= cvrmse_max), bool(abs(statistics_nmbe) <= nmbe_max))


@dataclass(frozen=True)
class Window:
    """A stretch of the series: first and last start (local), and how many points it holds."""

    start: str
    end: str
    points: int


@dataclass(frozen=True)
class SavingsReport:
    """What `facmon baseline fit` measures: the baseline model with its fit statistics, G14 acceptance and
    data sufficiency, and savings with their uncertainty when the series goes on past the baseline
    (energies in the series' unit; ``reporting_issue`` says why savings could not be measured)."""

    interval: str  # daily or hourly
    calendar: str
    baseline: Window
    model: DailyBaseline | HourlyBaselineChoice
    statistics: FitStatistics
    acceptance: Acceptance
    sufficiency: DataSufficiency
    reporting: Window | None = None
    reporting_issue: str | None = None
    savings: Savings | None = None

    def as_dict(self) -> dict[str, Any]:
        """As `facmon baseline fit --format json` prints it."""
        statistics = self.statistics
        body: dict[str, Any] = {
            "interval": self.interval,
            "calendar": self.calendar,
            "baseline": asdict(self.baseline),
            "model": self.model.as_dict(),
            "n": statistics.n,
            "n_parameters": statistics.n_parameters,
            "cvrmse": statistics.cvrmse,
            "nmbe": statistics.nmbe,
            "r2": statistics.r2,
            "adjusted_r2": statistics.adjusted_r2,
            "autocorrelation": statistics.autocorrelation,
            "n_effective": statistics.n_effective,
            "acceptance": self.acceptance.as_dict(),
            "sufficiency": self.sufficiency.as_dict(),
        }
        if self.reporting is not None:
            body["reporting"] = asdict(self.reporting) | ({"issue": self.reporting_issue} if self.reporting_issue else {})
            body["savings"] = None if self.savings is None else {"avoided": self.savings.avoided_kwh, **self.savings.as_dict()}
        return body


def measure_savings(series: RegularSeries, baseline_end: date | None = None, calendar: WorkCalendar = WorkCalendar.CHINA) -> SavingsReport:
    """Fit the baseline on the series up to ``baseline_end`` (inclusive, local date) and measure savings after it.

    Daily series get the change-point model (analytics.changepoint), hourly ones the hourly model chosen
    by held-out error (analytics.hourly_baseline)."""
    days = series.starts.astype("datetime64[D]")
    in_baseline = np.ones(days.size, dtype=bool) if baseline_end is None else days <= np.datetime64(baseline_end, "D")
    if not in_baseline.any():
        raise FacmonError(f"--baseline-end {baseline_end} is before the first day of the data ({days.min()})")
    working = working_days(days, calendar)

    def part(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        return series.starts[mask], series.temperature_c[mask], series.consumption[mask], None if working is None else working[mask]

    model: DailyBaseline | HourlyBaselineChoice
    if series.interval == "daily":
        model = fit_daily_baseline(*part(in_baseline))
    else:
        model = fit_chosen_hourly_baseline(*part(in_baseline))
    statistics = model.statistics
    baseline_starts = series.starts[in_baseline]
    report = SavingsReport(
        interval=series.interval,
        calendar=calendar.value,
        baseline=Window(str(baseline_starts.min()), str(baseline_starts.max()), int(in_baseline.sum())),
        model=model,
        statistics=statistics,
        acceptance=acceptance(statistics.cvrmse, statistics.nmbe, series.interval),
        sufficiency=model.sufficiency,
    )
    in_reporting = ~in_baseline
    if not in_reporting.any():
        return report
    starts, temperature_c, observed, working_part = part(in_reporting)
    if isinstance(model, DailyBaseline):
        predicted = model.predict(temperature_c, working_part, starts)
    else:
        predicted = model.predict(starts, temperature_c, working_part)
    reporting = Window(str(starts.min()), str(starts.max()), int(in_reporting.sum()))
    try:
        savings = savings_with_uncertainty(predicted, observed, statistics, series.interval)
    except FacmonError as exc:
        return replace(report, reporting=reporting, reporting_issue=str(exc))
    return replace(report, reporting=reporting, savings=savings)
