"""The hourly baseline facmon uses: the candidate with the lowest out-of-sample error.

Candidates (all time-of-week-and-temperature models, analytics/towt.py and analytics/caltrack_hourly.py):

- ``whole-year``: one model for the whole baseline (TOWT);
- ``by-months-half``: one model per calendar month, its neighbours weighted ½ (CalTRACK 2.0 hourly);
- ``by-months-quarter``: the same with neighbours weighted ¼;
- ``by-months-own``: each month on its own data.

A building whose schedule follows the seasons (a school's terms) needs the months apart; one with a
steady schedule is fitted as well, and predicted more robustly, with more data per model. Which is
better is measured, not assumed: every candidate is fitted on three of every four weeks and predicts
the fourth (four folds), and the one with the lowest pooled CV(RMSE) on the held-out weeks is refitted
on the whole baseline. The in-sample figures of a model that fits its own noise look better than they
predict; the held-out ones do not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from facmon.analytics.caltrack_hourly import MonthlyHourlyBaseline, fit_monthly_hourly_baseline
from facmon.analytics.data_sufficiency import DataSufficiency
from facmon.analytics.fit_statistics import FitStatistics
from facmon.analytics.towt import HourlyBaseline, fit_hourly_baseline
from facmon.errors import FacmonError

FOLDS = 4  # weeks held out in turn: every fourth week
HourlyModel = HourlyBaseline | MonthlyHourlyBaseline


def _by_months(weight: float) -> Callable[..., MonthlyHourlyBaseline]:
    def fit(
        hours: np.ndarray, temperature_c: np.ndarray, consumption_kwh: np.ndarray, working_day: np.ndarray | None
    ) -> MonthlyHourlyBaseline:
        return fit_monthly_hourly_baseline(hours, temperature_c, consumption_kwh, working_day, neighbour_weight=weight)

    return fit


CANDIDATES: dict[str, Callable[..., HourlyModel]] = {
    "whole-year": fit_hourly_baseline,
    "by-months-half": _by_months(0.5),
    "by-months-quarter": _by_months(0.25),
    "by-months-own": _by_months(0.0),
}


@dataclass(frozen=True)
class HourlyBaselineChoice:
    """The chosen hourly model, refitted on the whole baseline, and every candidate's held-out CV(RMSE)
    (fraction; None where a candidate could not be fitted or predicted nothing)."""

    method: str
    model: HourlyModel
    out_of_sample_cvrmse: dict[str, float | None]

    @property
    def statistics(self) -> FitStatistics:
        return self.model.statistics

    @property
    def sufficiency(self) -> DataSufficiency:
        return self.model.sufficiency

    def predict(self, hours: np.ndarray, temperature_c: np.ndarray, working_day: np.ndarray | None = None) -> np.ndarray:
        """Baseline consumption (kWh per hour) of the chosen model."""
        return self.model.predict(hours, temperature_c, working_day)

    def as_dict(self) -> dict:
        return {"method": self.method, "out_of_sample_cvrmse": self.out_of_sample_cvrmse, "chosen": self.model.as_dict()}


def held_out_predictions(
    fit: Callable[..., HourlyModel],
    hours: np.ndarray,
    temperature_c: np.ndarray,
    consumption_kwh: np.ndarray,
    working_day: np.ndarray | None,
    folds: int = FOLDS,
) -> np.ndarray | None:
    """Each hour predicted by a model fitted without its week (kWh; weeks held out in turn, every
    ``folds``-th week together); None when a fold cannot be fitted."""
    week = (np.asarray(hours, dtype="datetime64[h]").astype("datetime64[D]").astype(np.int64) // 7) % folds
    predicted = np.full(consumption_kwh.size, np.nan)
    for fold in range(folds):
        held = week == fold
        kept = ~held
        try:
            model = fit(hours[kept], temperature_c[kept], consumption_kwh[kept], None if working_day is None else working_day[kept])
        except FacmonError:
            return None
        predicted[held] = model.predict(hours[held], temperature_c[held], None if working_day is None else working_day[held])
    return predicted


def out_of_sample_cvrmse(
    fit: Callable[..., HourlyModel],
    hours: np.ndarray,
    temperature_c: np.ndarray,
    consumption_kwh: np.ndarray,
    working_day: np.ndarray | None,
    folds: int = FOLDS,
) -> float | None:
    """Pooled CV(RMSE) of :func:`held_out_predictions` (fraction); None when nothing could be predicted."""
    predicted = held_out_predictions(fit, hours, temperature_c, consumption_kwh, working_day, folds)
    if predicted is None:
        return None
    scored = np.isfinite(predicted) & np.isfinite(consumption_kwh)
    if not scored.any():
        return None
    observed = consumption_kwh[scored]
    return float(np.sqrt(np.mean((predicted[scored] - observed) ** 2)) / np.mean(observed))


def fit_chosen_hourly_baseline(
    hours: np.ndarray, temperature_c: np.ndarray, consumption_kwh: np.ndarray, working_day: np.ndarray | None = None
) -> HourlyBaselineChoice:
    """Fit every candidate on held-out weeks, refit the one that predicted best on the whole baseline.

    ``hours``: local start of each hour (datetime64); ``temperature_c``: °C; ``consumption_kwh``: kWh per
    hour; ``working_day``: bool per hour or None. NaN marks a missing hour."""
    hours = np.asarray(hours, dtype="datetime64[h]")
    temperature_c = np.asarray(temperature_c, dtype=float)
    consumption_kwh = np.asarray(consumption_kwh, dtype=float)
    working = None if working_day is None else np.asarray(working_day, dtype=bool)
    errors = {name: out_of_sample_cvrmse(fit, hours, temperature_c, consumption_kwh, working) for name, fit in CANDIDATES.items()}
    fitted = {name: error for name, error in errors.items() if error is not None}
    if not fitted:
        # not enough data for folds: the whole-year model on everything, or its own clear error
        return HourlyBaselineChoice("whole-year", fit_hourly_baseline(hours, temperature_c, consumption_kwh, working), errors)
    method = min(fitted, key=lambda name: fitted[name])
    return HourlyBaselineChoice(method, CANDIDATES[method](hours, temperature_c, consumption_kwh, working), errors)
