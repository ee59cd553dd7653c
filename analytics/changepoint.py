"""Daily change-point baseline on outdoor temperature (CalTRACK 2.0 daily methods, IPMVP Option C).

    consumption_kwh_per_day = intercept + heating_slope · max(heating_balance − T, 0)
                                        + cooling_slope · max(T − cooling_balance, 0)

with T the day's mean outdoor temperature in °C. Four candidates are fitted: intercept only, heating
(HDD) only, cooling (CDD) only, heating and cooling; balance points are searched on a grid (30–90 °F,
0.5 K steps by default). A candidate qualifies when every slope is positive, significant (p < 0.10)
and backed by enough days with non-zero degree days; the qualifying candidate with the best
adjusted R² wins, and the intercept-only model is always there as the fallback.

Working and non-working days get a model each when both have enough days and the split fits better
(adjusted R² over the whole baseline); otherwise one model serves all days. Which days are working
days is the caller's choice: ``facmon.workdays.is_working_day`` (Chinese calendar with 调休) for
facmon's buildings, Monday–Friday for data from elsewhere.

The balance-point search is vectorised: all heating-only, cooling-only and heating×cooling
combinations are solved at once from closed-form normal equations, which keeps a fit in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from facmon.analytics.data_sufficiency import DataSufficiency, baseline_sufficiency
from facmon.analytics.fit_statistics import FitStatistics, fit_statistics, two_sided_p_values
from facmon.errors import FacmonError
from facmon.standards import (
    MV_BALANCE_POINT_MAX_C,
    MV_BALANCE_POINT_MIN_C,
    MV_BALANCE_POINT_STEP_K,
    MV_MIN_NONZERO_DEGREE_DAYS,
    MV_MIN_TOTAL_DEGREE_DAYS_K_DAY,
    MV_SLOPE_P_VALUE_MAX,
)

ALL_DAYS = "all_days"
WORKING_DAYS = "working_days"
NON_WORKING_DAYS = "non_working_days"


class ModelType(StrEnum):
    INTERCEPT_ONLY = "intercept_only"
    HEATING = "hdd"
    COOLING = "cdd"
    HEATING_COOLING = "hdd_cdd"


# Fitted parameters per candidate: the intercept, each slope and each searched balance point (as in
# ASHRAE's 3P/5P change-point models), so CV(RMSE) and NMBE are charged for the search too.
N_PARAMETERS = {ModelType.INTERCEPT_ONLY: 1, ModelType.HEATING: 3, ModelType.COOLING: 3, ModelType.HEATING_COOLING: 5}


@dataclass(frozen=True)
class ChangePointSearch:
    """Search ranges and qualification rules (defaults: CalTRACK 2.0 §3.2 via facmon.standards)."""

    balance_point_min_c: float = MV_BALANCE_POINT_MIN_C
    balance_point_max_c: float = MV_BALANCE_POINT_MAX_C
    balance_point_step_k: float = MV_BALANCE_POINT_STEP_K
    slope_p_value_max: float = MV_SLOPE_P_VALUE_MAX
    min_nonzero_degree_days: int = MV_MIN_NONZERO_DEGREE_DAYS
    min_total_degree_days_k_day: float = MV_MIN_TOTAL_DEGREE_DAYS_K_DAY
    # Engineering default (M, as OpenDSM's split_min_days): fewer days of a kind than this and
    # working and non-working days share one model.
    min_days_per_day_kind: int = 30

    def balance_points_c(self) -> np.ndarray:
        return np.arange(self.balance_point_min_c, self.balance_point_max_c + self.balance_point_step_k / 2, self.balance_point_step_k)


@dataclass(frozen=True)
class ChangePointModel:
    """One fitted change-point regression. Slopes in kWh per day per kelvin of degree day, intercept in kWh per day."""

    model_type: ModelType
    intercept_kwh: float
    heating_slope_kwh_per_k: float = 0.0
    heating_balance_c: float | None = None
    heating_p_value: float | None = None
    cooling_slope_kwh_per_k: float = 0.0
    cooling_balance_c: float | None = None
    cooling_p_value: float | None = None
    n_days: int = 0

    @property
    def n_parameters(self) -> int:
        return N_PARAMETERS[self.model_type]

    def predict(self, temperature_c: np.ndarray) -> np.ndarray:
        """Consumption in kWh per day for daily mean outdoor temperatures in °C (NaN stays NaN)."""
        temperature_c = np.asarray(temperature_c, dtype=float)
        predicted = np.full(temperature_c.shape, self.intercept_kwh)
        if self.heating_balance_c is not None:
            predicted += self.heating_slope_kwh_per_k * np.maximum(self.heating_balance_c - temperature_c, 0.0)
        if self.cooling_balance_c is not None:
            predicted += self.cooling_slope_kwh_per_k * np.maximum(temperature_c - self.cooling_balance_c, 0.0)
        return np.where(np.isnan(temperature_c), np.nan, predicted)

    def as_dict(self) -> dict:
        return {
            "model_type": self.model_type.value,
            "intercept_kwh": self.intercept_kwh,
            "heating_slope_kwh_per_k": self.heating_slope_kwh_per_k,
            "heating_balance_c": self.heating_balance_c,
            "heating_p_value": self.heating_p_value,
            "cooling_slope_kwh_per_k": self.cooling_slope_kwh_per_k,
            "cooling_balance_c": self.cooling_balance_c,
            "cooling_p_value": self.cooling_p_value,
            "n_days": self.n_days,
            "n_parameters": self.n_parameters,
        }


@dataclass(frozen=True)
class DailyBaseline:
    """A fitted daily baseline: one model for all days, or one for working and one for non-working days."""

    models: dict[str, ChangePointModel]
    statistics: FitStatistics
    sufficiency: DataSufficiency
    search: ChangePointSearch = field(default_factory=ChangePointSearch)

    @property
    def split_by_day_kind(self) -> bool:
        return ALL_DAYS not in self.models

    def predict(self, temperature_c: np.ndarray, working_day: np.ndarray | None = None) -> np.ndarray:
        """Baseline consumption in kWh per day for daily mean temperatures (°C) and day kinds.

        ``working_day`` (bool per day) is required when the baseline has separate working-day and
        non-working-day models; it is ignored otherwise.
        """
        temperature_c = np.asarray(temperature_c, dtype=float)
        if not self.split_by_day_kind:
            return self.models[ALL_DAYS].predict(temperature_c)
        if working_day is None:
            raise FacmonError("this baseline has separate working-day and non-working-day models: give the day kind of each day")
        working_day = np.asarray(working_day, dtype=bool)
        return np.where(working_day, self.models[WORKING_DAYS].predict(temperature_c), self.models[NON_WORKING_DAYS].predict(temperature_c))

    def as_dict(self) -> dict:
        return {
            "split_by_day_kind": self.split_by_day_kind,
            "segments": {kind: model.as_dict() for kind, model in self.models.items()},
            "statistics": self.statistics.as_dict(),
            "sufficiency": self.sufficiency.as_dict(),
        }


def fit_daily_baseline(
    days: np.ndarray,
    temperature_c: np.ndarray,
    consumption_kwh: np.ndarray,
    working_day: np.ndarray | None = None,
    search: ChangePointSearch | None = None,
) -> DailyBaseline:
    """Fit the daily change-point baseline.

    ``days``: local calendar day of each value (datetime64[D] or dates, any order); ``temperature_c``:
    daily mean outdoor temperature in °C; ``consumption_kwh``: the day's consumption in kWh (or any
    unit: predictions come out in the same unit); ``working_day``: bool per day, or None for one model
    for all days. NaN in temperature or consumption marks a day as missing: it is left out of the fit
    and counts against data sufficiency.
    """
    search = search or ChangePointSearch()
    days = np.asarray(days, dtype="datetime64[D]")
    temperature_c = np.asarray(temperature_c, dtype=float)
    consumption_kwh = np.asarray(consumption_kwh, dtype=float)
    if not (days.shape == temperature_c.shape == consumption_kwh.shape) or days.ndim != 1:
        raise FacmonError(
            f"days ({days.shape}), temperature_c ({temperature_c.shape}) and consumption_kwh ({consumption_kwh.shape}) must be 1-D arrays of one length"
        )
    if working_day is not None:
        working_day = np.asarray(working_day, dtype=bool)
        if working_day.shape != days.shape:
            raise FacmonError(f"working_day ({working_day.shape}) must have one value per day ({days.shape})")
    order = np.argsort(days, kind="stable")
    days, temperature_c, consumption_kwh = days[order], temperature_c[order], consumption_kwh[order]
    working_day = None if working_day is None else working_day[order]

    valid = np.isfinite(temperature_c) & np.isfinite(consumption_kwh)
    sufficiency = baseline_sufficiency(days, valid)
    if valid.sum() < 10:
        raise FacmonError(f"only {int(valid.sum())} days have both consumption and temperature: a daily baseline needs at least 10")
    t_valid, y_valid = temperature_c[valid], consumption_kwh[valid]

    single = {ALL_DAYS: _fit_segment(t_valid, y_valid, search)}
    candidates = [single]
    if working_day is not None:
        w_valid = working_day[valid]
        if min(w_valid.sum(), (~w_valid).sum()) >= search.min_days_per_day_kind:
            candidates.append(
                {
                    WORKING_DAYS: _fit_segment(t_valid[w_valid], y_valid[w_valid], search),
                    NON_WORKING_DAYS: _fit_segment(t_valid[~w_valid], y_valid[~w_valid], search),
                }
            )

    def predict_with(models: dict[str, ChangePointModel]) -> np.ndarray:
        if ALL_DAYS in models:
            return models[ALL_DAYS].predict(t_valid)
        return np.where(working_day[valid], models[WORKING_DAYS].predict(t_valid), models[NON_WORKING_DAYS].predict(t_valid))

    # Split or not: the better adjusted R² over the whole baseline (its parameters all counted).
    scored = [(fit_statistics(y_valid, predict_with(m), sum(s.n_parameters for s in m.values())), m) for m in candidates]
    statistics, models = max(scored, key=lambda pair: pair[0].adjusted_r2)
    return DailyBaseline(models=models, statistics=statistics, sufficiency=sufficiency, search=search)


def _fit_segment(temperature_c: np.ndarray, consumption_kwh: np.ndarray, search: ChangePointSearch) -> ChangePointModel:
    """Best qualifying change-point model for one set of days (all arrays free of NaN)."""
    n = temperature_c.size
    y_mean = float(consumption_kwh.mean())
    y_centred = consumption_kwh - y_mean
    syy = float(y_centred @ y_centred)
    best = ChangePointModel(ModelType.INTERCEPT_ONLY, intercept_kwh=y_mean, n_days=n)
    if n < 6 or syy == 0.0:
        return best
    best_adjusted_r2 = 0.0  # the intercept-only model explains nothing beyond the mean

    def adjusted_r2(sse: np.ndarray, model_type: ModelType) -> np.ndarray:
        return 1.0 - (sse / (n - N_PARAMETERS[model_type])) / (syy / (n - 1))

    grid_c = search.balance_points_c()
    heating_dd = np.maximum(grid_c[None, :] - temperature_c[:, None], 0.0)  # K·day, one column per balance point
    cooling_dd = np.maximum(temperature_c[:, None] - grid_c[None, :], 0.0)
    single_slopes = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for model_type, degree_days in ((ModelType.HEATING, heating_dd), (ModelType.COOLING, cooling_dd)):
            enough = ((degree_days > 0).sum(axis=0) >= search.min_nonzero_degree_days) & (
                degree_days.sum(axis=0) >= search.min_total_degree_days_k_day
            )
            mean = degree_days.mean(axis=0)
            centred = degree_days - mean
            sxx = (centred * centred).sum(axis=0)
            sxy = centred.T @ y_centred
            slope = sxy / sxx
            sse = syy - slope * sxy
            p_value = two_sided_p_values(slope / np.sqrt(sse / (n - 2) / sxx), n - 2)
            single_slopes[model_type] = (enough, mean, centred, sxx, sxy)
            ok = enough & (sxx > 0) & (slope > 0) & (p_value < search.slope_p_value_max)
            if not ok.any():
                continue
            score = np.where(ok, adjusted_r2(sse, model_type), -np.inf)
            g = int(np.argmax(score))
            if score[g] > best_adjusted_r2:
                best_adjusted_r2 = float(score[g])
                intercept = y_mean - slope[g] * mean[g]
                if model_type is ModelType.HEATING:
                    best = ChangePointModel(
                        model_type,
                        float(intercept),
                        heating_slope_kwh_per_k=float(slope[g]),
                        heating_balance_c=float(grid_c[g]),
                        heating_p_value=float(p_value[g]),
                        n_days=n,
                    )
                else:
                    best = ChangePointModel(
                        model_type,
                        float(intercept),
                        cooling_slope_kwh_per_k=float(slope[g]),
                        cooling_balance_c=float(grid_c[g]),
                        cooling_p_value=float(p_value[g]),
                        n_days=n,
                    )

        # Heating and cooling together: every (heating, cooling) pair with heating ≤ cooling balance
        # point, solved from the 2×2 centred normal equations all at once.
        h_enough, h_mean, h_centred, shh, shy = single_slopes[ModelType.HEATING]
        c_enough, c_mean, c_centred, scc, scy = single_slopes[ModelType.COOLING]
        shc = h_centred.T @ c_centred  # [heating point, cooling point]
        det = shh[:, None] * scc[None, :] - shc * shc
        heating_slope = (scc[None, :] * shy[:, None] - shc * scy[None, :]) / det
        cooling_slope = (shh[:, None] * scy[None, :] - shc * shy[:, None]) / det
        sse = syy - heating_slope * shy[:, None] - cooling_slope * scy[None, :]
        residual_variance = sse / (n - 3)
        heating_p = two_sided_p_values(heating_slope / np.sqrt(residual_variance * scc[None, :] / det), n - 3)
        cooling_p = two_sided_p_values(cooling_slope / np.sqrt(residual_variance * shh[:, None] / det), n - 3)
        ok = (
            h_enough[:, None]
            & c_enough[None, :]
            & (grid_c[:, None] <= grid_c[None, :])
            & (det > 1e-9 * shh[:, None] * scc[None, :])
            & (heating_slope > 0)
            & (cooling_slope > 0)
            & (heating_p < search.slope_p_value_max)
            & (cooling_p < search.slope_p_value_max)
        )
        if ok.any() and n > 5:
            score = np.where(ok, adjusted_r2(sse, ModelType.HEATING_COOLING), -np.inf)
            gh, gc = np.unravel_index(int(np.argmax(score)), score.shape)
            if score[gh, gc] > best_adjusted_r2:
                intercept = y_mean - heating_slope[gh, gc] * h_mean[gh] - cooling_slope[gh, gc] * c_mean[gc]
                best = ChangePointModel(
                    ModelType.HEATING_COOLING,
                    float(intercept),
                    heating_slope_kwh_per_k=float(heating_slope[gh, gc]),
                    heating_balance_c=float(grid_c[gh]),
                    heating_p_value=float(heating_p[gh, gc]),
                    cooling_slope_kwh_per_k=float(cooling_slope[gh, gc]),
                    cooling_balance_c=float(grid_c[gc]),
                    cooling_p_value=float(cooling_p[gh, gc]),
                    n_days=n,
                )
    return best
