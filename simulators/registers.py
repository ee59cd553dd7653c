"""Meter registers as a gateway reads them.

The simulator keeps, per meter, the *unwrapped* raw count: everything the meter has counted since
it was installed, in raw units (engineering units / ``multiplier``). The register shown is that
count modulo ``rollover``, rounded to the meter's display resolution, so it grows monotonically
and wraps to 0 at ``rollover`` like a mechanical or electronic register does.
"""

from __future__ import annotations

import numpy as np

from facmon.registry import Meter
from facmon.simulators.noise import Stream, keyed_rng

REGISTER_DECIMALS = 3  # raw register resolution reported, decimal places
POWER_DECIMALS = 4  # raw power resolution, decimal places


def initial_raw_counts(seed: int, meters: list[tuple[int, Meter]]) -> np.ndarray:
    """Starting unwrapped raw count of each (building index, meter): 5-40 % of its rollover,
    drawn per meter so that adding a meter does not change the others."""
    counts = np.empty(len(meters))
    for column, (building_index, meter) in enumerate(meters):
        rng = keyed_rng(seed, Stream.INITIAL_REGISTERS, building_index, _stable_key(meter.id))
        counts[column] = round(rng.uniform(0.05, 0.40) * meter.rollover, 2)
    return counts


def _stable_key(text: str) -> int:
    """A small non-negative integer from a string, stable across processes (unlike hash())."""
    value = 0
    for byte in text.encode("utf-8"):
        value = (value * 131 + byte) % 2_147_483_647
    return value


def displayed_registers(raw_counts: np.ndarray, rollover: np.ndarray) -> np.ndarray:
    """The raw register display for unwrapped ``raw_counts``: modulo ``rollover``, rounded; a value
    that rounds up to the rollover shows 0 (it has just wrapped)."""
    shown = np.round(np.mod(raw_counts, rollover), REGISTER_DECIMALS)
    return np.where(shown >= rollover, 0.0, shown)
