"""How facmon states a bound: an upper bound is rounded *up* to two significant digits, so the figure printed
is still a bound ("at most 15 kWh" for 14.4 kWh, never "at most 14"). Core, because the analytics compute the
bounds and the reports sum them."""

from __future__ import annotations

import math


def up_to_two_significant(value: float) -> float:
    """``value`` rounded up (away from zero for a positive bound) to two significant digits: 14.4 → 15, 266.4 → 270."""
    if value <= 0:
        return 0.0
    step = 10.0 ** (math.floor(math.log10(value)) - 1)
    rounded = math.ceil(round(value / step, 9)) * step  # round(..., 9): 14.0 / 1.0 stays 14, not 14.000000000000002 → 15
    return float(f"{rounded:.2g}")
