"""Daily change-point baseline on outdoor temperature (CalTRACK 2.0 daily methods, IPMVP Option C).

    consumption_kwh_per_day = intercept + heating_slope · max(heating_balance − T, 0)
                                        + cooling_slope · max(T − cooling_balance, 0)

with T the day's mean outdoor temperature in °C. Four candidates are fitted: intercept only, heating
(HDD) only, cooling (CDD) only, heating and cooling; balance points are searched on a grid (30–90 °F,
0.5 K steps by default). A candidate qualifies when every slope is positive, significant (p < 0.10)
and backed by enough days with non-zero degree days; the qualifying candidate with the best
adjusted R² wins, and the intercept-only model is always there as the fallback.

The days can be split into segments with a model each: working and non-working days; the seasons
(winter November–February, shoulder March–May and October, summer June–September, OpenDSM's default
seasons); seasons × day kinds; or seasons for working days and one model for the other days. A split
is a candidate when every segment has enough days; the candidate whose predictions for held-out weeks
(each fourth week in turn) are best is refitted on all days. A building with terms or summer closures
(a school, a university) gets its seasons apart; one with a steady year gets one model, because the
extra segments only fit noise and predict held-out weeks worse. Which days are working days is the
caller's choice: ``facmon.workdays.is_working_day`` (Chinese calendar with 调休) for facmon's
buildings, Monday–Friday for data from elsewhere.

The balance-point search is vectorised: all heating-only, cooling-only and heating×cooling
combinations are solved at once from closed-form normal equations, which keeps a fit in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from facmon.analytics.data_sufficiency import DataSufficiency, baseline_sufficiency
from facmon.analytics.fit_statistics import FitStatistics, fit_statistics, significant_t, two_sided_p_values
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


# OpenDSM's default seasons (its daily model's Season_Definition), by calendar month.
SEASON_OF_MONTH = {1: "winter", 2: "winter", 3: "shoulder", 4: "shoulder", 5: "shoulder", 6: "summer", 7: "summer", 8: "summer",
                   9: "summer", 10: "shoulder", 11: "winter", 12: "winter"}  # fmt: skip
HELD_OUT_FOLDS = 4  # held-out weeks: every fourth week in turn


class Split(StrEnum):
    """How the days are divided into segments, each with its own change-point model."""

    NONE = "none"
    DAY_KIND = "day_kind"
    SEASON = "season"
    SEASON_AND_DAY_KIND = "season_and_day_kind"
    SEASON_FOR_WORKING_DAYS = "season_for_working_days"


def segment_keys(split: Split, days: np.ndarray, working_day: np.ndarray | None) -> np.ndarray:
    """The segment of each day (``all_days``, ``working_days``, ``summer/working_days``, ...)."""
    days = np.asarray(days, dtype="datetime64[D]")
    if split is Split.NONE:
        return np.full(days.size, ALL_DAYS, dtype=object)
    if split is not Split.SEASON and working_day is None:
        raise FacmonError(f"this baseline's segments ({split.value}) need the day kind of each day")
    kind = None if working_day is None else np.where(np.asarray(working_day, dtype=bool), WORKING_DAYS, NON_WORKING_DAYS)
    if split is Split.DAY_KIND:
        return kind.astype(object)
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    season = np.array([SEASON_OF_MONTH[m] for m in month], dtype=object)
    if split is Split.SEASON:
        return season + "/" + ALL_DAYS
    if split is Split.SEASON_AND_DAY_KIND:
        return season + "/" + kind.astype(object)
    return np.where(kind == WORKING_DAYS, season + "/" + WORKING_DAYS, NON_WORKING_DAYS).astype(object)


@dataclass(frozen=True)
class DailyBaseline:
    """A fitted daily baseline: a change-point model per segment of days (``split``), and every candidate
    split's CV(RMSE) for held-out weeks (fraction; None where a split was not a candidate)."""

    models: dict[str, ChangePointModel]
    statistics: FitStatistics
    sufficiency: DataSufficiency
    search: ChangePointSearch = field(default_factory=ChangePointSearch)
    split: Split = Split.NONE
    held_out_cvrmse: dict[str, float | None] = field(default_factory=dict)

    @property
    def split_by_day_kind(self) -> bool:
        return self.split in (Split.DAY_KIND, Split.SEASON_AND_DAY_KIND, Split.SEASON_FOR_WORKING_DAYS)

    def predict(self, temperature_c: np.ndarray, working_day: np.ndarray | None = None, days: np.ndarray | None = None) -> np.ndarray:
        """Baseline consumption in kWh per day for daily mean temperatures (°C), day kinds and dates.

        ``working_day`` (bool per day) is required when the baseline splits by day kind, ``days``
        (datetime64[D]) when it splits by season; each is ignored otherwise.
        """
        temperature_c = np.asarray(temperature_c, dtype=float)
        if self.split is Split.NONE:
            return self.models[ALL_DAYS].predict(temperature_c)
        if self.split is not Split.DAY_KIND and days is None:
            raise FacmonError("this baseline has a model per season: give the date of each day")
        keys = segment_keys(self.split, np.zeros(temperature_c.size, dtype="datetime64[D]") if days is None else days, working_day)
        predicted = np.full(temperature_c.size, np.nan)
        for key, model in self.models.items():
            rows = keys == key
            predicted[rows] = model.predict(temperature_c[rows])
        return predicted

    def as_dict(self) -> dict:
        return {
            "split": self.split.value,
            "split_by_day_kind": self.split_by_day_kind,
            "held_out_cvrmse": self.held_out_cvrmse,
            "segments": {kind: model.as_dict() for kind, model in self.models.items()},
            "statistics": self.statistics.as_dict(),
            "sufficiency": self.sufficiency.as_dict(),
        }


def _fit_split(
    split: Split, days: np.ndarray, t: np.ndarray, y: np.ndarray, working: np.ndarray | None, search: ChangePointSearch
) -> dict[str, ChangePointModel] | None:
    """A model per segment of ``split``, or None when a segment has too few days."""
    keys = segment_keys(split, days, working)
    segments = np.unique(keys)
    if split is not Split.NONE and any((keys == key).sum() < search.min_days_per_day_kind for key in segments):
        return None
    return {str(key): _fit_segment(t[keys == key], y[keys == key], search) for key in segments}


def _predict_split(
    models: dict[str, ChangePointModel], split: Split, days: np.ndarray, t: np.ndarray, working: np.ndarray | None
) -> np.ndarray:
    keys = segment_keys(split, days, working)
    predicted = np.full(t.size, np.nan)
    for key, model in models.items():
        rows = keys == key
        predicted[rows] = model.predict(t[rows])
    return predicted


def fit_daily_baseline(
    days: np.ndarray,
    temperature_c: np.ndarray,
    consumption_kwh: np.ndarray,
    working_day: np.ndarray | None = None,
    search: ChangePointSearch | None = None,
    splits: Sequence[Split] | None = None,
) -> DailyBaseline:
    """Fit the daily change-point baseline.

    ``days``: local calendar day of each value (datetime64[D] or dates, any order); ``temperature_c``:
    daily mean outdoor temperature in °C; ``consumption_kwh``: the day's consumption in kWh (or any
    unit: predictions come out in the same unit); ``working_day``: bool per day, or None (no day-kind
    splits); ``splits``: the candidate splits (default: all that the day kinds allow). NaN in temperature
    or consumption marks a day as missing: it is left out of the fit and counts against data sufficiency.
    """
    search = search or ChangePointSearch()
    days = np.asarray(days, dtype="datetime64[D]")
    temperature_c = np.asarray(temperature_c, dtype=float)
    consumption_kwh = np.asarray(consumption_kwh, dtype=float)
    if not (days.shape == temperature_c.shape == consumption_kwh.shape) or days.ndim != 1:
        raise FacmonError(
            f"days ({days.shape}), temperature_c ({temperature_c.shape}) and consumption_kwh ({consumption_kwh.shape}) "
            "must be 1-D arrays of one length"
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
    d, t, y = days[valid], temperature_c[valid], consumption_kwh[valid]
    w = None if working_day is None else working_day[valid]
    allowed = [Split.NONE, Split.SEASON] if w is None else list(Split)
    splits = allowed if splits is None else [split for split in splits if split in allowed]

    # Each candidate split predicts held-out weeks from the other weeks; the best is refitted on all days.
    week = (d.astype(np.int64) // 7) % HELD_OUT_FOLDS
    held_out: dict[str, float | None] = {}
    for split in splits:
        predicted = np.full(y.size, np.nan)
        for fold in range(HELD_OUT_FOLDS):
            kept, held = week != fold, week == fold
            models = _fit_split(split, d[kept], t[kept], y[kept], None if w is None else w[kept], search)
            if models is None:
                break
            known = np.isin(segment_keys(split, d[held], None if w is None else w[held]), list(models))
            rows = np.flatnonzero(held)[known]
            predicted[rows] = _predict_split(models, split, d[rows], t[rows], None if w is None else w[rows])
        scored = np.isfinite(predicted)
        full = _fit_split(split, d, t, y, w, search)
        held_out[split.value] = (
            float(np.sqrt(np.mean((predicted - y)[scored] ** 2)) / np.mean(y[scored])) if full and scored.all() else None
        )
    chosen = min((s for s in splits if held_out[s.value] is not None), key=lambda s: held_out[s.value], default=Split.NONE)
    models = _fit_split(chosen, d, t, y, w, search) or _fit_split(Split.NONE, d, t, y, w, search)
    assert models is not None  # one model for all days never lacks days
    statistics = fit_statistics(y, _predict_split(models, chosen, d, t, w), sum(m.n_parameters for m in models.values()))
    return DailyBaseline(
        models=models, statistics=statistics, sufficiency=sufficiency, search=search, split=chosen, held_out_cvrmse=held_out
    )


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
            t_stat = slope / np.sqrt(sse / (n - 2) / sxx)
            single_slopes[model_type] = (enough, mean, centred, sxx, sxy)
            # p < p_max is |t| > the t quantile: one quantile per fit instead of a p-value per balance point
            ok = enough & (sxx > 0) & (slope > 0) & (t_stat > significant_t(search.slope_p_value_max, n - 2))
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
                        heating_p_value=float(two_sided_p_values(t_stat[g], n - 2)),
                        n_days=n,
                    )
                else:
                    best = ChangePointModel(
                        model_type,
                        float(intercept),
                        cooling_slope_kwh_per_k=float(slope[g]),
                        cooling_balance_c=float(grid_c[g]),
                        cooling_p_value=float(two_sided_p_values(t_stat[g], n - 2)),
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
        heating_t = heating_slope / np.sqrt(residual_variance * scc[None, :] / det)
        cooling_t = cooling_slope / np.sqrt(residual_variance * shh[:, None] / det)
        t_min = significant_t(search.slope_p_value_max, n - 3)
        ok = (
            h_enough[:, None]
            & c_enough[None, :]
            & (grid_c[:, None] <= grid_c[None, :])
            & (det > 1e-9 * shh[:, None] * scc[None, :])
            & (heating_slope > 0)
            & (cooling_slope > 0)
            & (heating_t > t_min)
            & (cooling_t > t_min)
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
                    heating_p_value=float(two_sided_p_values(heating_t[gh, gc], n - 3)),
                    cooling_slope_kwh_per_k=float(cooling_slope[gh, gc]),
                    cooling_balance_c=float(grid_c[gc]),
                    cooling_p_value=float(two_sided_p_values(cooling_t[gh, gc], n - 3)),
                    n_days=n,
                )
    return best
