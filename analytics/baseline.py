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

from datetime import date
from enum import StrEnum

import numpy as np

from facmon.analytics.changepoint import DailyBaseline, fit_daily_baseline
from facmon.analytics.interval_csv import RegularSeries
from facmon.analytics.savings import savings_with_uncertainty
from facmon.analytics.towt import HourlyBaseline, fit_hourly_baseline
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


def acceptance(statistics_cvrmse: float, statistics_nmbe: float, interval: str) -> dict:
    """ASHRAE G14 acceptance of a baseline fit (docs/standards.md#measurement-and-verification thresholds, daily or hourly)."""
    cvrmse_max, nmbe_max = (MV_DAILY_CVRMSE_MAX, MV_DAILY_NMBE_MAX) if interval == "daily" else (MV_HOURLY_CVRMSE_MAX, MV_HOURLY_NMBE_MAX)
    cvrmse_ok = bool(statistics_cvrmse <= cvrmse_max)
    nmbe_ok = bool(abs(statistics_nmbe) <= nmbe_max)
    return {"cvrmse_max": cvrmse_max, "nmbe_max": nmbe_max, "cvrmse_ok": cvrmse_ok, "nmbe_ok": nmbe_ok, "accepted": cvrmse_ok and nmbe_ok}


def measure_savings(series: RegularSeries, baseline_end: date | None = None, calendar: WorkCalendar = WorkCalendar.CHINA) -> dict:
    """Fit the baseline on the series up to ``baseline_end`` (inclusive, local date) and measure savings after it.

    Returns a JSON-ready report: the model, ``cvrmse``, ``nmbe``, ``r2``, ``n`` and the other fit
    statistics, G14 ``acceptance``, ``sufficiency``, and ``savings`` (``avoided``, ``fraction``,
    ``fsu``, …, energies in the series' unit) when the series continues past ``baseline_end``.
    """
    days = series.starts.astype("datetime64[D]")
    in_baseline = np.ones(days.size, dtype=bool) if baseline_end is None else days <= np.datetime64(baseline_end, "D")
    if not in_baseline.any():
        raise FacmonError(f"--baseline-end {baseline_end} is before the first day of the data ({days.min()})")
    working = working_days(days, calendar)

    def part(mask: np.ndarray) -> tuple:
        return series.starts[mask], series.temperature_c[mask], series.consumption[mask], None if working is None else working[mask]

    model: DailyBaseline | HourlyBaseline
    if series.interval == "daily":
        model = fit_daily_baseline(*part(in_baseline))
    else:
        model = fit_hourly_baseline(*part(in_baseline))
    statistics = model.statistics
    baseline_starts = series.starts[in_baseline]
    report: dict = {
        "interval": series.interval,
        "calendar": calendar.value,
        "baseline": {"start": str(baseline_starts.min()), "end": str(baseline_starts.max()), "points": int(in_baseline.sum())},
        "model": model.as_dict(),
        "n": statistics.n,
        "n_parameters": statistics.n_parameters,
        "cvrmse": statistics.cvrmse,
        "nmbe": statistics.nmbe,
        "r2": statistics.r2,
        "adjusted_r2": statistics.adjusted_r2,
        "autocorrelation": statistics.autocorrelation,
        "n_effective": statistics.n_effective,
        "acceptance": acceptance(statistics.cvrmse, statistics.nmbe, series.interval),
        "sufficiency": model.sufficiency.as_dict(),
    }
    in_reporting = ~in_baseline
    if in_reporting.any():
        starts, temperature_c, observed, working_part = part(in_reporting)
        if series.interval == "daily":
            predicted = model.predict(temperature_c, working_part, starts)
        else:
            predicted = model.predict(starts, temperature_c, working_part)
        report["reporting"] = {"start": str(starts.min()), "end": str(starts.max()), "points": int(in_reporting.sum())}
        try:
            savings = savings_with_uncertainty(predicted, observed, statistics, series.interval)
        except FacmonError as exc:
            report["reporting"]["issue"] = str(exc)
            report["savings"] = None
        else:
            report["savings"] = {"avoided": savings.avoided_kwh, **savings.as_dict()}
    return report
