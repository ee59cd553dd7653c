"""Hourly time-of-week-and-temperature baseline (TOWT; Mathieu et al. 2011, CalTRACK 2.0 hourly;
docs/standards.md#measurement-and-verification).

    consumption_kwh[hour] = α[hour of week] + temperature terms

168 hour-of-week coefficients carry the weekly schedule. Hours of the week are split into occupied
and unoccupied ones: an hour is occupied when, in more than 65 % of its baseline hours, the load sits
above a regression on heating and cooling degree hours (balance points 50 °F and 65 °F). Occupied hours get a piecewise-linear
temperature response (knots at 30, 45, 55, 65, 75, 90 °F); unoccupied hours a single slope.

Day kinds: the hour of the week comes from the weekday, unless the caller says which days are
working days (``facmon.workdays.is_working_day`` for facmon's buildings). Then a non-working weekday
(a holiday) is treated as a Sunday and a working weekend day (调休) as a Wednesday, so holidays and
swapped days get the schedule they actually follow.

CalTRACK also weights neighbouring months in a separate model per month; this one fits the whole
baseline at once (simpler, and enough for a building whose schedule does not change with season).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facmon.analytics.data_sufficiency import DataSufficiency, baseline_sufficiency
from facmon.analytics.fit_statistics import FitStatistics, fit_statistics
from facmon.errors import FacmonError
from facmon.standards import MV_TOWT_OCCUPANCY_BALANCE_C, MV_TOWT_OCCUPANCY_THRESHOLD, MV_TOWT_TEMPERATURE_KNOTS_C

HOURS_PER_WEEK = 168
_SUNDAY, _WEDNESDAY = 6, 2


def hour_of_week(hours: np.ndarray, working_day: np.ndarray | None = None) -> np.ndarray:
    """Hour of the week (0 = Monday 00:00 … 167 = Sunday 23:00) of local times (datetime64, any unit).

    With ``working_day`` (bool per hour) a non-working weekday counts as a Sunday and a working
    weekend day as a Wednesday.
    """
    hours = np.asarray(hours, dtype="datetime64[h]")
    days = hours.astype("datetime64[D]")
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    if working_day is not None:
        working_day = np.asarray(working_day, dtype=bool)
        weekday = np.where((weekday < 5) & ~working_day, _SUNDAY, weekday)
        weekday = np.where((weekday >= 5) & working_day, _WEDNESDAY, weekday)
    return (weekday * 24 + (hours - days).astype(np.int64)).astype(np.int64)


def temperature_segments(temperature_c: np.ndarray, knots_c: tuple[float, ...]) -> np.ndarray:
    """Piecewise-linear temperature features: one column per span between knots (and beyond), in K.

    The columns add up to the temperature itself, so each column's coefficient is the slope (kWh/K)
    within its span.
    """
    temperature_c = np.asarray(temperature_c, dtype=float)
    if not knots_c:  # every knot merged away: one span, one slope
        return temperature_c[:, None].copy()
    edges = np.asarray(knots_c, dtype=float)
    columns = [np.minimum(temperature_c, edges[0])]
    for low, high in zip(edges[:-1], edges[1:]):
        columns.append(np.clip(temperature_c - low, 0.0, high - low))
    columns.append(np.maximum(temperature_c - edges[-1], 0.0))
    return np.column_stack(columns)


def least_squares_by_hour_of_week(how: np.ndarray, bins: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least squares of y on [one-hot hour of week | bins]: 168 intercepts, then the bins' slopes.

    The one-hot block of the normal equations is diagonal, so the intercepts are eliminated exactly (a
    Schur complement) and only a bins × bins system is solved: a few hundred times faster than a dense
    least-squares solve of the whole design, with the same solution. An hour of the week the data never
    saw gets NaN."""
    seen = np.bincount(how, weights=weights, minlength=HOURS_PER_WEEK)
    weighted = weights[:, None] * bins
    cross = np.column_stack([np.bincount(how, weights=weighted[:, j], minlength=HOURS_PER_WEEK) for j in range(bins.shape[1])])
    totals = np.bincount(how, weights=weights * y, minlength=HOURS_PER_WEEK)
    inverse = np.divide(1.0, seen, out=np.zeros(HOURS_PER_WEEK), where=seen > 0)
    reduced = weighted.T @ bins - (cross * inverse[:, None]).T @ cross
    slopes, *_ = np.linalg.lstsq(reduced, weighted.T @ y - cross.T @ (inverse * totals), rcond=None)
    intercepts = np.where(seen > 0, inverse * (totals - cross @ slopes), np.nan)
    return np.concatenate([intercepts, slopes])


@dataclass(frozen=True)
class HourlyBaseline:
    """A fitted TOWT model: per hour of week an intercept (kWh) and whether it is occupied; slopes in kWh/K."""

    hour_of_week_kwh: np.ndarray  # 168 values, NaN for hours of the week the baseline never saw
    occupied: np.ndarray  # 168 bools
    occupied_slopes_kwh_per_k: np.ndarray  # one per temperature span
    unoccupied_slope_kwh_per_k: float
    knots_c: tuple[float, ...]
    statistics: FitStatistics
    sufficiency: DataSufficiency

    def predict(self, hours: np.ndarray, temperature_c: np.ndarray, working_day: np.ndarray | None = None) -> np.ndarray:
        """Baseline consumption in kWh per hour for local hours (datetime64) and temperatures (°C)."""
        how = hour_of_week(hours, working_day)
        temperature_c = np.asarray(temperature_c, dtype=float)
        occupied = self.occupied[how]
        temperature_kwh = np.where(
            occupied,
            temperature_segments(temperature_c, self.knots_c) @ self.occupied_slopes_kwh_per_k,
            self.unoccupied_slope_kwh_per_k * temperature_c,
        )
        return self.hour_of_week_kwh[how] + temperature_kwh

    def as_dict(self) -> dict:
        return {
            "occupied_hours_of_week": int(self.occupied.sum()),
            "knots_c": list(self.knots_c),
            "occupied_slopes_kwh_per_k": [float(v) for v in self.occupied_slopes_kwh_per_k],
            "unoccupied_slope_kwh_per_k": float(self.unoccupied_slope_kwh_per_k),
            "hour_of_week_kwh": [None if not np.isfinite(v) else float(v) for v in self.hour_of_week_kwh],
            "statistics": self.statistics.as_dict(),
            "sufficiency": self.sufficiency.as_dict(),
        }


def fit_hourly_baseline(
    hours: np.ndarray,
    temperature_c: np.ndarray,
    consumption_kwh: np.ndarray,
    working_day: np.ndarray | None = None,
    *,
    knots_c: tuple[float, ...] = MV_TOWT_TEMPERATURE_KNOTS_C,
    occupancy_threshold: float = MV_TOWT_OCCUPANCY_THRESHOLD,
    occupancy_balance_c: tuple[float, float] = MV_TOWT_OCCUPANCY_BALANCE_C,
) -> HourlyBaseline:
    """Fit the TOWT model.

    ``hours``: local start of each hour (datetime64); ``temperature_c``: the hour's outdoor temperature
    in °C; ``consumption_kwh``: the hour's consumption in kWh (or any unit); ``working_day``: bool per
    hour or None (weekdays as they fall). NaN marks a missing hour.
    """
    hours = np.asarray(hours, dtype="datetime64[h]")
    temperature_c = np.asarray(temperature_c, dtype=float)
    consumption_kwh = np.asarray(consumption_kwh, dtype=float)
    if not (hours.shape == temperature_c.shape == consumption_kwh.shape) or hours.ndim != 1:
        raise FacmonError(
            f"hours ({hours.shape}), temperature_c ({temperature_c.shape}) and consumption_kwh ({consumption_kwh.shape}) must be 1-D "
            f"arrays of one length"
        )
    order = np.argsort(hours, kind="stable")
    hours, temperature_c, consumption_kwh = hours[order], temperature_c[order], consumption_kwh[order]
    if working_day is not None:
        working_day = np.asarray(working_day, dtype=bool)[order]
    valid = np.isfinite(temperature_c) & np.isfinite(consumption_kwh)
    sufficiency = baseline_sufficiency(hours.astype("datetime64[D]"), valid, points_per_day=24)
    if valid.sum() < 2 * HOURS_PER_WEEK:
        raise FacmonError(
            f"only {int(valid.sum())} hours have both consumption and temperature: an hourly baseline needs at least two weeks"
        )
    how = hour_of_week(hours[valid], None if working_day is None else working_day[valid])
    t, y = temperature_c[valid], consumption_kwh[valid]

    # Occupancy: hours of the week whose load mostly sits above a heating/cooling degree-hour
    # regression with fixed balance points (CalTRACK 2.0 §3.8.2: 50 °F and 65 °F).
    degree_hours = np.column_stack(
        [np.ones_like(t), np.maximum(occupancy_balance_c[0] - t, 0.0), np.maximum(t - occupancy_balance_c[1], 0.0)]
    )
    coefficients, *_ = np.linalg.lstsq(degree_hours, y, rcond=None)
    above = (y - degree_hours @ coefficients) > 0
    seen = np.bincount(how, minlength=HOURS_PER_WEEK)
    share_above = np.bincount(how, weights=above, minlength=HOURS_PER_WEEK) / np.maximum(seen, 1)
    occupied = share_above > occupancy_threshold

    is_occupied = occupied[how]
    bins = np.column_stack([temperature_segments(t, knots_c) * is_occupied[:, None], t * ~is_occupied])
    coefficients = least_squares_by_hour_of_week(how, bins, y, np.ones_like(y))
    predicted = coefficients[:HOURS_PER_WEEK][how] + bins @ coefficients[HOURS_PER_WEEK:]
    n_parameters = int(np.count_nonzero(seen)) + int(np.linalg.matrix_rank(bins))
    statistics = fit_statistics(y, predicted, n_parameters)
    return HourlyBaseline(
        hour_of_week_kwh=coefficients[:HOURS_PER_WEEK],
        occupied=occupied,
        occupied_slopes_kwh_per_k=coefficients[HOURS_PER_WEEK:-1],
        unoccupied_slope_kwh_per_k=float(coefficients[-1]),
        knots_c=tuple(knots_c),
        statistics=statistics,
        sufficiency=sufficiency,
    )
