"""Exported interval data for M&V: a CSV of consumption and outdoor temperature, to days or hours.

The file has a header row. The time column holds ISO-8601 times with or without a UTC offset
("2025-03-01T00:15:00+08:00", "2025-03-01 00:15", "2025/03/01 00:15"); days and hours are the
local calendar days and hours **as written**, so export local time. Each time labels the start of
its interval (docs/standards.md#metering-data-model). The load column is the consumption in that interval (kWh, or m³ …: savings
come out in the same unit), not a meter register. The temperature column is outdoor temperature and
may come at its own interval (hourly weather beside 15-minute load): rows may leave either column
blank, and a temperature-only row is fine.

To days: consumption is summed, and a day counts only when every one of its load intervals is there
(a partial sum would read as savings); temperature is the mean of the day's readings when at least
half of them are there. To hours: the same per hour, and an hour without a temperature reading gets
one interpolated linearly from readings at most 3 hours away (for 3-hourly weather).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from facmon.errors import FacmonError

TEMPERATURE_INTERPOLATION_MAX_GAP_H = 3  # engineering default: 3-hourly synoptic weather still fills every hour
TEMPERATURE_MIN_COVERAGE = 0.5  # engineering default: a daily mean from at least half the day's readings


@dataclass(frozen=True)
class IntervalReadings:
    """Rows of the file: local wall-clock times (datetime64[s]), consumption and temperature in °C (NaN = blank)."""

    source: str
    times: np.ndarray
    consumption: np.ndarray
    temperature_c: np.ndarray


@dataclass(frozen=True)
class RegularSeries:
    """Consumption and temperature on a complete grid of local days or hours (NaN = missing)."""

    interval: str  # "daily" or "hourly"
    starts: np.ndarray  # datetime64[D] for days, datetime64[h] for hours
    consumption: np.ndarray
    temperature_c: np.ndarray


def parse_local_time(text: str) -> datetime:
    """A timestamp's local wall-clock time (any UTC offset is dropped: it is already local time)."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("/", "-"))  # 2025/03/01 00:15, common in Chinese exports
    return moment.replace(tzinfo=None)


def read_interval_csv(path: Path, time_col: str, load_col: str, temp_col: str, temp_unit: str = "C") -> IntervalReadings:
    """Read the time, load and temperature columns of a CSV file; temperature converted to °C."""
    if temp_unit not in ("C", "F"):
        raise FacmonError(f"--temp-unit must be C or F (got {temp_unit!r})")
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise FacmonError(f"{path}: no such file") from None
    times, loads, temperatures = [], [], []
    with handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        for wanted, option in ((time_col, "--time-col"), (load_col, "--load-col"), (temp_col, "--temp-col")):
            if wanted not in columns:
                raise FacmonError(f"{path}: no column {wanted!r} ({option}); the header has {', '.join(map(repr, columns)) or 'nothing'}")
        for line, row in enumerate(reader, start=2):
            stamp = (row.get(time_col) or "").strip()
            if not stamp:
                raise FacmonError(f"{path}:{line}: {time_col} is empty")
            try:
                times.append(parse_local_time(stamp))
            except ValueError:
                raise FacmonError(f"{path}:{line}: {time_col} {stamp!r} is not a time such as 2025-03-01T00:15:00+08:00") from None
            loads.append(_number(row.get(load_col), path, line, load_col))
            temperatures.append(_number(row.get(temp_col), path, line, temp_col))
    if not times:
        raise FacmonError(f"{path}: no data rows")
    temperature = np.array(temperatures, dtype=float)
    if temp_unit == "F":
        temperature = (temperature - 32.0) / 1.8
    return IntervalReadings(str(path), np.array(times, dtype="datetime64[s]"), np.array(loads, dtype=float), temperature)


def _number(text: str | None, path: Path, line: int, column: str) -> float:
    text = (text or "").strip()
    if text == "" or text.lower() in ("nan", "na", "null", "none"):
        return float("nan")
    try:
        return float(text)
    except ValueError:
        raise FacmonError(f"{path}:{line}: {column} {text!r} is not a number") from None


def _typical_step_s(times: np.ndarray) -> float:
    unique = np.unique(times)
    if unique.size < 2:
        return 86400.0
    return float(np.median(np.diff(unique).astype("timedelta64[s]").astype(np.int64)))


def _sum_complete(bins: np.ndarray, values: np.ndarray, n_bins: int, per_bin: int) -> np.ndarray:
    """Sum per bin where the bin has all ``per_bin`` values, NaN elsewhere."""
    present = np.isfinite(values)
    total = np.bincount(bins[present], weights=values[present], minlength=n_bins)
    count = np.bincount(bins[present], minlength=n_bins)
    return np.where(count >= per_bin, total, np.nan)


def _mean_covered(bins: np.ndarray, values: np.ndarray, n_bins: int, min_count: float) -> np.ndarray:
    present = np.isfinite(values)
    total = np.bincount(bins[present], weights=values[present], minlength=n_bins)
    count = np.bincount(bins[present], minlength=n_bins)
    return np.where((count >= min_count) & (count > 0), total / np.maximum(count, 1), np.nan)


def to_regular(readings: IntervalReadings, interval: str) -> RegularSeries:
    """Consumption summed and temperature averaged per local day ("daily") or hour ("hourly")."""
    if interval not in ("daily", "hourly"):
        raise FacmonError(f"--freq must be daily or hourly (got {interval!r})")
    unit, bin_s = ("D", 86400) if interval == "daily" else ("h", 3600)
    has_load = np.isfinite(readings.consumption)
    has_temperature = np.isfinite(readings.temperature_c)
    if not has_load.any():
        raise FacmonError(f"{readings.source}: the load column has no numbers")
    if not has_temperature.any():
        raise FacmonError(f"{readings.source}: the temperature column has no numbers")
    load_step_s = _typical_step_s(readings.times[has_load])
    if load_step_s > bin_s:
        raise FacmonError(f"{readings.source}: load comes every {load_step_s / 3600:g} h, coarser than the {interval} model needs")
    if bin_s % load_step_s:
        raise FacmonError(f"{readings.source}: a load interval of {load_step_s:g} s does not divide a {'day' if unit == 'D' else 'hour'}")
    starts_all = readings.times.astype(f"datetime64[{unit}]")
    first, last = starts_all.min(), starts_all.max()
    starts = np.arange(first, last + 1)
    bins = (starts_all - first).astype(np.int64)
    consumption = _sum_complete(bins, readings.consumption, starts.size, int(bin_s // load_step_s))
    temperature_step_s = _typical_step_s(readings.times[has_temperature])
    expected_readings = max(bin_s / temperature_step_s, 1.0)
    temperature = _mean_covered(
        bins, readings.temperature_c, starts.size, TEMPERATURE_MIN_COVERAGE * expected_readings if interval == "daily" else 1
    )
    if interval == "hourly":
        temperature = _interpolate_short_gaps(temperature, TEMPERATURE_INTERPOLATION_MAX_GAP_H)
    return RegularSeries(interval, starts, consumption, temperature)


def _interpolate_short_gaps(values: np.ndarray, max_gap: int) -> np.ndarray:
    """Fill NaN runs linearly from known neighbours no more than ``max_gap`` steps apart."""
    known = np.flatnonzero(np.isfinite(values))
    if known.size < 2:
        return values
    filled = values.copy()
    positions = np.arange(values.size)
    interpolated = np.interp(positions, known, values[known])
    after = np.searchsorted(known, positions)  # index into known of the next known position
    has_both = (after > 0) & (after < known.size)
    gap = np.where(has_both, known[np.minimum(after, known.size - 1)] - known[np.maximum(after - 1, 0)], max_gap + 1)
    fill = np.isnan(values) & has_both & (gap <= max_gap)
    filled[fill] = interpolated[fill]
    return filled
