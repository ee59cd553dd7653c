"""Hourly baseline by months (the CalTRACK 2.0 hourly method: one model per calendar month).

For each calendar month a time-of-week-and-temperature model is fitted on three months, that month
weighted 1 and its two neighbours (wrapping round the year) ½, by weighted least squares:

    consumption_kwh[hour] = α[hour of week] + occupied slopes · bins(T)   (occupied hours of week)
                                            + unoccupied slopes · bins(T) (the others)

- **Occupancy, per month's segment**: a weighted regression of the load on heating and cooling degree
  hours (balance points 50 °F and 65 °F); an hour of the week is occupied when more than 65 % of its
  hours in the segment lie above it (the count unweighted, as CalTRACK counts it).
- **Temperature bins, per segment and per occupancy**: knots at 30, 45, 55, 65, 75, 90 °F, merged from
  the outside in while a bin holds fewer than 20 hours (a first bin too small loses its upper knot, a
  last one its lower knot; only when both ends are full do small inner bins lose their upper knots).
- **Prediction**: each hour by its own month's model.

Day kinds as in :mod:`facmon.analytics.towt`: a holiday counts as a Sunday and a 调休 working weekend
day as a Wednesday when the caller gives ``working_day``. The fit is plain numpy (one least-squares
solve of about 2,200 × 180 per month), not statsmodels as in OpenDSM: the same method, about a hundred
times faster (docs/benchmarks.md).

Sources: CalTRACK 2.0 methods, §3.8 (hourly); OpenDSM's ``hourly_caltrack`` implementation
(docs/standards.md#hourly-towt-model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facmon.analytics.data_sufficiency import DataSufficiency, baseline_sufficiency
from facmon.analytics.fit_statistics import FitStatistics, fit_statistics
from facmon.analytics.towt import HOURS_PER_WEEK, hour_of_week, least_squares_by_hour_of_week, temperature_segments
from facmon.errors import FacmonError
from facmon.standards import MV_TOWT_OCCUPANCY_BALANCE_C, MV_TOWT_OCCUPANCY_THRESHOLD, MV_TOWT_TEMPERATURE_KNOTS_C

NEIGHBOUR_MONTH_WEIGHT = 0.5  # CalTRACK's "three_month_weighted" segments: 1 for the month, ½ for each neighbour
MIN_BIN_HOURS = 20  # CalTRACK: a temperature bin needs at least 20 hours


def merged_knots(temperature_c: np.ndarray, knots_c: tuple[float, ...], min_hours: int = MIN_BIN_HOURS) -> tuple[float, ...]:
    """The knots left once every bin (right-closed spans between knots, open at both ends) holds at least
    ``min_hours`` temperatures, merging from the outside in as CalTRACK does. No temperatures: no knots."""
    knots = list(knots_c)
    temperature_c = np.asarray(temperature_c, dtype=float)
    if temperature_c.size == 0:
        return ()
    while knots:
        counts = np.bincount(np.searchsorted(np.asarray(knots), temperature_c, side="left"), minlength=len(knots) + 1)
        small = counts < min_hours
        if not small.any():
            break
        drop: set[int] = set()
        if small[0]:
            drop.add(0)  # the first bin's upper knot
        if small[-1]:
            drop.add(len(knots) - 1)  # the last bin's lower knot
        if not drop:
            drop = {i for i in range(1, len(knots)) if small[i]}  # inner bins lose their upper knots
        knots = [k for i, k in enumerate(knots) if i not in drop]
    return tuple(knots)


@dataclass(frozen=True)
class MonthModel:
    """One calendar month's model: intercepts per hour of week (kWh, NaN where the segment never saw
    that hour), which hours of the week are occupied, and each occupancy's knots (°C) and slopes (kWh/K)."""

    month: int  # 1..12
    hour_of_week_kwh: np.ndarray
    occupied: np.ndarray
    occupied_knots_c: tuple[float, ...]
    occupied_slopes_kwh_per_k: np.ndarray
    unoccupied_knots_c: tuple[float, ...]
    unoccupied_slopes_kwh_per_k: np.ndarray

    def predict(self, how: np.ndarray, temperature_c: np.ndarray) -> np.ndarray:
        occupied = self.occupied[how]
        with np.errstate(invalid="ignore"):
            busy = temperature_segments(temperature_c, self.occupied_knots_c) @ self.occupied_slopes_kwh_per_k
            idle = temperature_segments(temperature_c, self.unoccupied_knots_c) @ self.unoccupied_slopes_kwh_per_k
        return self.hour_of_week_kwh[how] + np.where(occupied, busy, idle)


@dataclass(frozen=True)
class MonthlyHourlyBaseline:
    """Twelve month models; ``statistics`` of each baseline hour predicted by its own month's model."""

    months: dict[int, MonthModel]
    statistics: FitStatistics
    sufficiency: DataSufficiency

    def predict(self, hours: np.ndarray, temperature_c: np.ndarray, working_day: np.ndarray | None = None) -> np.ndarray:
        """Baseline consumption in kWh per hour for local hours (datetime64) and temperatures (°C); NaN in a
        month the baseline did not cover or for an hour of the week its segment never saw."""
        hours = np.asarray(hours, dtype="datetime64[h]")
        temperature_c = np.asarray(temperature_c, dtype=float)
        how = hour_of_week(hours, working_day)
        month = _month(hours)
        predicted = np.full(hours.size, np.nan)
        for number, model in self.months.items():
            rows = month == number
            if rows.any():
                predicted[rows] = model.predict(how[rows], temperature_c[rows])
        return predicted

    def as_dict(self) -> dict:
        return {
            "method": "by months (CalTRACK hourly)",
            "months": {
                str(number): {
                    "occupied_hours_of_week": int(model.occupied.sum()),
                    "occupied_knots_c": list(model.occupied_knots_c),
                    "unoccupied_knots_c": list(model.unoccupied_knots_c),
                }
                for number, model in sorted(self.months.items())
            },
            "statistics": self.statistics.as_dict(),
            "sufficiency": self.sufficiency.as_dict(),
        }


def _month(hours: np.ndarray) -> np.ndarray:
    """Calendar month (1..12) of datetime64 values."""
    return (hours.astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.int64)


def _weighted_lstsq(design: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    root = np.sqrt(weights)
    coefficients, *_ = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)
    return coefficients


def _fit_month(
    number: int,
    how: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    knots_c: tuple[float, ...],
    occupancy_threshold: float,
    occupancy_balance_c: tuple[float, float],
) -> MonthModel:
    degree_hours = np.column_stack(
        [np.ones_like(t), np.maximum(occupancy_balance_c[0] - t, 0.0), np.maximum(t - occupancy_balance_c[1], 0.0)]
    )
    above = (y - degree_hours @ _weighted_lstsq(degree_hours, y, weights)) > 0
    seen = np.bincount(how, minlength=HOURS_PER_WEEK)
    share_above = np.bincount(how, weights=above, minlength=HOURS_PER_WEEK) / np.maximum(seen, 1)
    occupied = (share_above > occupancy_threshold) | (seen == 0)  # CalTRACK counts an unseen hour of the week as occupied
    busy = occupied[how]
    busy_knots = merged_knots(t[busy], knots_c)
    idle_knots = merged_knots(t[~busy], knots_c)
    busy_bins = temperature_segments(t, busy_knots) * busy[:, None]
    idle_bins = temperature_segments(t, idle_knots) * ~busy[:, None]
    coefficients = least_squares_by_hour_of_week(how, np.column_stack([busy_bins, idle_bins]), y, weights)
    return MonthModel(
        month=number,
        hour_of_week_kwh=coefficients[:HOURS_PER_WEEK],
        occupied=occupied,
        occupied_knots_c=busy_knots,
        occupied_slopes_kwh_per_k=coefficients[HOURS_PER_WEEK : HOURS_PER_WEEK + busy_bins.shape[1]],
        unoccupied_knots_c=idle_knots,
        unoccupied_slopes_kwh_per_k=coefficients[HOURS_PER_WEEK + busy_bins.shape[1] :],
    )


def fit_monthly_hourly_baseline(
    hours: np.ndarray,
    temperature_c: np.ndarray,
    consumption_kwh: np.ndarray,
    working_day: np.ndarray | None = None,
    *,
    knots_c: tuple[float, ...] = MV_TOWT_TEMPERATURE_KNOTS_C,
    occupancy_threshold: float = MV_TOWT_OCCUPANCY_THRESHOLD,
    occupancy_balance_c: tuple[float, float] = MV_TOWT_OCCUPANCY_BALANCE_C,
    neighbour_weight: float = NEIGHBOUR_MONTH_WEIGHT,
) -> MonthlyHourlyBaseline:
    """Fit one model per calendar month the baseline covers.

    ``hours``: local start of each hour (datetime64); ``temperature_c``: the hour's outdoor temperature
    (°C); ``consumption_kwh``: the hour's consumption (kWh, or any unit); ``working_day``: bool per hour
    or None (weekdays as they fall). NaN marks a missing hour."""
    hours = np.asarray(hours, dtype="datetime64[h]")
    temperature_c = np.asarray(temperature_c, dtype=float)
    consumption_kwh = np.asarray(consumption_kwh, dtype=float)
    if not (hours.shape == temperature_c.shape == consumption_kwh.shape) or hours.ndim != 1:
        raise FacmonError(
            f"hours ({hours.shape}), temperature_c ({temperature_c.shape}) and consumption_kwh ({consumption_kwh.shape}) "
            "must be 1-D arrays of one length"
        )
    valid = np.isfinite(temperature_c) & np.isfinite(consumption_kwh)
    sufficiency = baseline_sufficiency(hours.astype("datetime64[D]"), valid, points_per_day=24)
    if valid.sum() < 2 * HOURS_PER_WEEK:
        raise FacmonError(
            f"only {int(valid.sum())} hours have both consumption and temperature: an hourly baseline needs at least two weeks"
        )
    how = hour_of_week(hours[valid], None if working_day is None else np.asarray(working_day, dtype=bool)[valid])
    t, y, month = temperature_c[valid], consumption_kwh[valid], _month(hours[valid])
    months: dict[int, MonthModel] = {}
    for number in np.unique(month):
        before, after = (number - 2) % 12 + 1, number % 12 + 1
        weights = np.where(month == number, 1.0, np.where((month == before) | (month == after), neighbour_weight, 0.0))
        rows = weights > 0
        months[int(number)] = _fit_month(
            int(number), how[rows], t[rows], y[rows], weights[rows], knots_c, occupancy_threshold, occupancy_balance_c
        )
    predicted = np.full(y.size, np.nan)
    for number, model in months.items():
        rows = month == number
        predicted[rows] = model.predict(how[rows], t[rows])
    scored = np.isfinite(predicted)
    # Every month's parameters count: the baseline is all twelve models (G14's n − p stays honest).
    n_parameters = sum(HOURS_PER_WEEK + m.occupied_slopes_kwh_per_k.size + m.unoccupied_slopes_kwh_per_k.size for m in months.values())
    return MonthlyHourlyBaseline(months, fit_statistics(y[scored], predicted[scored], n_parameters), sufficiency)
