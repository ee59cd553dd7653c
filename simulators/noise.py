"""Deterministic randomness keyed by what it describes, never by call order.

Every random draw comes from a generator keyed by (seed, stream, keys...) such as (seed,
OCCUPANCY, building index, day). A value therefore depends only on the moment and the thing it
belongs to, not on how a period was split into calls or which days were simulated before.
"""

from __future__ import annotations

from enum import IntEnum
from functools import lru_cache

import numpy as np

# SeedSequence entropy must be non-negative; day numbers before 1970 would not be.
_KEY_OFFSET = 1 << 20


class Stream(IntEnum):
    """Independent random streams (changing a number changes every simulated value of that stream)."""

    WEATHER_DAILY = 1
    WEATHER_SYNOPTIC = 2
    WEATHER_SHORT = 3
    CLOUD = 4
    PM25 = 5
    ATTENDANCE = 10
    OCCUPANCY_TICK = 11
    ELECTRIC_TICK = 20
    WATER_TICK = 21
    EQUIPMENT_TICK = 22
    ELEVATOR_TRIPS = 23
    SENSOR_TICK = 30
    DEVICE_CONSTANTS = 40
    INITIAL_REGISTERS = 41


def keyed_rng(seed: int, stream: Stream, *keys: int) -> np.random.Generator:
    """A generator for one (seed, stream, keys...) combination."""
    return np.random.default_rng(np.random.SeedSequence([seed, int(stream), *(int(k) + _KEY_OFFSET for k in keys)]))


@lru_cache(maxsize=8192)
def _knot(seed: int, stream: Stream, spacing_s: int, index: int) -> float:
    return float(keyed_rng(seed, stream, spacing_s, index).standard_normal())


def value_noise(seed: int, stream: Stream, ts_s: np.ndarray, spacing_s: int) -> np.ndarray:
    """Smooth standard-normal-ish noise over time: independent N(0, 1) knots every ``spacing_s``
    seconds, joined by cosine interpolation. ``ts_s`` is epoch seconds; the result is dimensionless."""
    position = ts_s.astype(np.float64) / spacing_s
    index = np.floor(position).astype(np.int64)
    first = int(index.min())
    knots = np.array([_knot(seed, stream, spacing_s, j) for j in range(first, int(index.max()) + 2)])
    left = knots[index - first]
    right = knots[index - first + 1]
    blend = (1.0 - np.cos(np.pi * (position - index))) / 2.0
    return left + (right - left) * blend
