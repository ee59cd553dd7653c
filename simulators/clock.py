"""The simulation's time grid: base ticks, UTC days, local clock time and the working calendar."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from facmon.registry import Collection
from facmon.workdays import DayKind, day_kind

DAY_S = 86_400
_EPOCH_DATE = date(1970, 1, 1)


def base_tick_s(collection: Collection) -> int:
    """The simulation step, s: the greatest common divisor of the devices' reporting intervals."""
    return math.gcd(collection.meter_interval_s, collection.ieq_interval_s, collection.equipment_interval_s, collection.weather_interval_s)


def epoch_s(moment: datetime) -> int:
    """A timezone-aware datetime as whole epoch seconds (rounded up to the next second)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; pass an aware datetime (UTC)")
    return math.ceil(moment.timestamp())


def first_tick_at_or_after(ts_s: int, step_s: int) -> int:
    return -(-ts_s // step_s) * step_s


def utc_datetime(ts_s: int) -> datetime:
    return datetime.fromtimestamp(ts_s, tz=UTC)


@lru_cache(maxsize=4096)
def _kind_of(local_day: int) -> DayKind:
    return day_kind(_EPOCH_DATE + timedelta(days=local_day))


def local_date(local_day: int) -> date:
    return _EPOCH_DATE + timedelta(days=local_day)


@dataclass(frozen=True)
class DayGrid:
    """The base ticks of one UTC day with their local-time coordinates.

    Arrays are indexed by tick; the same UTC day always yields the same arrays, which keeps every
    derived value independent of how a simulated period is split into calls.
    """

    day: int  # days since 1970-01-01, UTC
    step_s: int  # base tick, s
    ts_s: np.ndarray  # epoch seconds of each tick, int64
    local_hour: np.ndarray  # local clock hour of day, 0 <= h < 24 (float)
    local_day: np.ndarray  # local date as days since 1970-01-01 (int64)
    day_of_year: np.ndarray  # local day of year, 0-based and fractional (0.5 = noon on 1 January)
    working: np.ndarray  # bool: local date is a working day (incl. 调休 working weekends)

    @property
    def size(self) -> int:
        return len(self.ts_s)


def day_grid(day: int, step_s: int, tz: ZoneInfo) -> DayGrid:
    """Ticks of UTC day ``day`` (days since epoch) on the ``step_s`` grid, in site time zone ``tz``."""
    ts = np.arange(first_tick_at_or_after(day * DAY_S, step_s), (day + 1) * DAY_S, step_s, dtype=np.int64)
    offsets = _utc_offsets_s(ts, tz)
    local_s = ts + offsets
    local_day = local_s // DAY_S
    local_hour = (local_s - local_day * DAY_S) / 3600.0
    unique_days = np.unique(local_day)
    year_start = {int(d): (local_date(int(d)) - date(local_date(int(d)).year, 1, 1)).days for d in unique_days}
    working_of = {int(d): _kind_of(int(d)) in (DayKind.WORKDAY, DayKind.ADJUSTED_WORKDAY) for d in unique_days}
    doy = np.array([year_start[int(d)] for d in local_day], dtype=np.float64) + local_hour / 24.0
    working = np.array([working_of[int(d)] for d in local_day], dtype=bool)
    return DayGrid(day, step_s, ts, local_hour, local_day, doy, working)


def _utc_offsets_s(ts: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """UTC offset of each tick, s. Evaluated at the first and last tick and, only if they differ
    (a daylight-saving change), at every tick."""
    first = datetime.fromtimestamp(int(ts[0]), tz).utcoffset()
    last = datetime.fromtimestamp(int(ts[-1]), tz).utcoffset()
    if first == last and first is not None:
        return np.full(len(ts), int(first.total_seconds()), dtype=np.int64)
    return np.array([int(datetime.fromtimestamp(int(t), tz).utcoffset().total_seconds()) for t in ts], dtype=np.int64)  # type: ignore[union-attr]
