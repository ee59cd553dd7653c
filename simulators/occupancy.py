"""Who is in the building: office occupancy by local time and the Chinese working calendar, and
the canteen's meal rhythm.

Working days (ordinary weekdays and 调休 working weekends, :func:`facmon.workdays.is_working_day`):
arrivals ramp up in the hour before opening, 85-95 % of the energy users are present in core hours
(drawn per building and day), fewer over lunch, a few percent work late, ~1 % at night. Weekends
and public holidays: a few percent duty staff in the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from facmon.registry import WorkingHours
from facmon.simulators.clock import DayGrid
from facmon.simulators.noise import Stream, keyed_rng
from facmon.simulators.parameters import OccupancyParameters, hour_of


def _monotonic_knots(knots: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Knots clipped to the day and made strictly increasing in time (later knots win)."""
    kept: list[tuple[float, float]] = []
    for hour, value in knots:
        hour = min(max(hour, 0.0), 24.0)
        while kept and kept[-1][0] >= hour:
            kept.pop()
        kept.append((hour, value))
    return np.array([k[0] for k in kept]), np.array([k[1] for k in kept])


@lru_cache(maxsize=64)
def working_day_profile(hours: WorkingHours, params: OccupancyParameters, lunch_break: bool) -> tuple[np.ndarray, np.ndarray]:
    """Knots (local hour, share of the core-hours level) of a working day."""
    start, end = hour_of(hours.start), hour_of(hours.end)
    lunch_start, lunch_end = hour_of(params.lunch_start), hour_of(params.lunch_end)
    knots = [(0.0, 0.0), (start - 1.5, 0.0), (start - 0.75, 0.15), (start - 0.25, 0.55), (start + 0.25, 0.95), (start + 0.75, 1.0)]
    if lunch_break and start + 1 <= lunch_start and lunch_end <= end - 1:
        knots += [
            (lunch_start - 0.1, 1.0),
            (lunch_start + 0.25, params.lunch_dip),
            (lunch_end - 0.25, params.lunch_dip),
            (lunch_end + 0.1, 1.0),
        ]
    knots += [
        (end - 0.5, 1.0),
        (end, 0.8),
        (end + 0.5, 0.2),
        (end + 1.5, params.overtime_fraction),
        (end + 3.0, params.overtime_fraction / 3),
        (end + 4.5, 0.0),
        (24.0, 0.0),
    ]
    return _monotonic_knots(knots)


# Days off: duty staff from 08:30 to 17:30.
_DAY_OFF_HOURS = np.array([0.0, 8.0, 9.0, 17.0, 18.0, 24.0])
_DAY_OFF_SHARE = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0])

# Canteen kitchen activity on a working day (0..1): breakfast, lunch, dinner preparation and serving.
_KITCHEN_HOURS = np.array([0.0, 5.75, 6.25, 7.0, 8.25, 9.5, 10.5, 11.5, 12.5, 13.5, 14.5, 16.0, 17.0, 18.5, 19.5, 20.0, 24.0])
_KITCHEN_SHARE = np.array([0.0, 0.0, 0.4, 0.6, 0.2, 0.25, 0.8, 1.0, 0.7, 0.2, 0.1, 0.3, 0.5, 0.3, 0.05, 0.0, 0.0])
# Diners in the dining halls relative to the lunch peak: breakfast 07:00-08:30, lunch 11:40-13:00, dinner 17:30-18:45.
_DINING_HOURS = np.array([0.0, 6.75, 7.25, 8.25, 8.6, 11.5, 11.9, 12.6, 13.1, 17.3, 17.7, 18.5, 18.9, 24.0])
_DINING_SHARE = np.array([0.0, 0.0, 0.3, 0.3, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.22, 0.22, 0.0, 0.0])
KITCHEN_ACTIVITY_HOURS_PER_DAY = float(
    np.sum((_KITCHEN_SHARE[1:] + _KITCHEN_SHARE[:-1]) / 2 * np.diff(_KITCHEN_HOURS))
)  # ∫ activity dt over a working day, h


@dataclass(frozen=True)
class Occupancy:
    """People in one building at each tick."""

    fraction: np.ndarray  # share of the building's energy users present, 0..1
    persons: np.ndarray  # people present (energy users, plus diners in a canteen)
    working_hours: np.ndarray  # bool: inside office hours on a working day
    change_per_h: np.ndarray  # |d fraction / dt|, 1/h (elevator traffic)
    attendance: np.ndarray  # the day's core-hours attendance share at each tick


def daily_attendance(seed: int, building_index: int, local_days: np.ndarray, params: OccupancyParameters) -> tuple[np.ndarray, np.ndarray]:
    """Per tick: the day's core-hours attendance share and duty-staff share, drawn per (building, local date)."""
    attendance = np.empty(len(local_days))
    duty = np.empty(len(local_days))
    for day in np.unique(local_days):
        rng = keyed_rng(seed, Stream.ATTENDANCE, building_index, int(day))
        mask = local_days == day
        attendance[mask] = rng.uniform(params.attendance_min, params.attendance_max)
        duty[mask] = rng.uniform(params.duty_fraction_min, params.duty_fraction_max)
    return attendance, duty


def office_occupancy(
    grid: DayGrid,
    hours: WorkingHours,
    energy_users: int,
    *,
    seed: int,
    building_index: int,
    params: OccupancyParameters,
    lunch_break: bool = True,
) -> Occupancy:
    """Occupancy of an office building (or a canteen's own staff) at the ticks of ``grid``."""
    attendance, duty = daily_attendance(seed, building_index, grid.local_day, params)
    knot_hours, knot_share = working_day_profile(hours, params, lunch_break)
    working_share = np.interp(grid.local_hour, knot_hours, knot_share)
    day_off_share = np.interp(grid.local_hour, _DAY_OFF_HOURS, _DAY_OFF_SHARE)
    fraction = np.where(grid.working, attendance * working_share, duty * day_off_share)
    wobble = keyed_rng(seed, Stream.OCCUPANCY_TICK, building_index, grid.day).normal(1.0, params.tick_noise, grid.size)
    fraction = np.clip(np.maximum(fraction, params.night_fraction) * wobble, 0.0, 1.0)
    # Rate of change of the smooth profile (no wobble), for elevator traffic.
    step_h = grid.step_s / 3600.0
    ahead = np.interp(np.minimum(grid.local_hour + step_h, 24.0), knot_hours, knot_share)
    change = np.where(grid.working, attendance * np.abs(ahead - working_share) / step_h, 0.0)
    start, end = hour_of(hours.start), hour_of(hours.end)
    in_hours = grid.working & (grid.local_hour >= start) & (grid.local_hour < end)
    return Occupancy(fraction, fraction * energy_users, in_hours, change, attendance)


def kitchen_activity(grid: DayGrid, params: OccupancyParameters) -> np.ndarray:
    """Canteen kitchen activity 0..1 (cooking, dishwashing) at each tick."""
    share = np.interp(grid.local_hour, _KITCHEN_HOURS, _KITCHEN_SHARE)
    return np.where(grid.working, share, share * params.canteen_weekend_activity)


def dining_presence(grid: DayGrid, params: OccupancyParameters) -> np.ndarray:
    """Diners present in the dining halls relative to the working-day lunch peak, 0..1."""
    share = np.interp(grid.local_hour, _DINING_HOURS, _DINING_SHARE)
    return np.where(grid.working, share, share * params.canteen_weekend_activity)


def meals_per_day(lunches: np.ndarray, params: OccupancyParameters) -> np.ndarray:
    """Meals served on a working day for a given number of lunches (breakfast + lunch + dinner)."""
    return lunches * (1.0 + params.breakfast_per_lunch + params.dinner_per_lunch)
