"""Validated consumption: one meter's register readings to consumption per collection interval.

Plain numpy functions, no I/O. Readings may arrive at any time; intervals are the fixed grid
``[start_s + k·interval_s, start_s + (k+1)·interval_s)``, labelled by their START (docs/standards.md#metering-data-model).

Cumulative meters (the register counts up), :func:`interval_consumption`:

1. Readings are sorted by time; non-finite values and repeated timestamps (the last one wins) are dropped.
2. Each *step* between two consecutive readings gets an increment, never negative:
   - the register rose: the difference;
   - it fell and the step ``wrap_at − previous + new`` is small (both values near the ends of the
     register's range, within ``ROLLOVER_NEAR_FRACTION`` of it): a **rollover**, that step counts;
   - any other fall is a **reset** (meter replaced or cleared): the new meter counted from 0, so the
     step gets the new register value. The old meter's last, unseen part is lost, so the step is an
     estimate.
3. A step whose mean power exceeds ``rated_power_kw × SPIKE_FACTOR`` (for steps shorter than one
   interval, over one interval, so register resolution on close readings is no spike) is a
   **spike**: its increment is excluded and replaced by the step's duration × the mean rate of
   the nearest valid steps before and after it (an estimate).
4. The increments make an unwrapped register; it is interpolated linearly at the interval
   boundaries, and an interval's consumption is the difference across it. Readings straddling a
   boundary thus split their step's consumption in proportion to time.
5. Each interval takes the worst state of the steps it overlaps: **measured** when every step is at
   most ``REGULAR_STEP_FACTOR`` intervals long and plain; **estimated** when a step is a gap of at
   most ``max_gap_s`` between readings (linear interpolation of the register spreads its
   consumption evenly), a reset or a replaced spike; **missing** when a step is a longer gap, or the
   interval lies outside the readings. Missing intervals carry NaN and are reported as gaps.

Interval meters (``cumulative: false``, each reading the amount since the meter's previous report),
:func:`interval_amounts`: a reading at ``t`` is the amount of the interval ending at about ``t``;
spikes and negative amounts are excluded; runs of missing intervals whose bounding readings are at
most ``max_gap_s`` apart are estimated by linear interpolation between the neighbouring amounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# docs/standards.md#metering-data-model (engineering default, M): an interval above rated power × interval × 1.2 is implausible.
SPIKE_FACTOR = 1.2
# Issue #1: gaps up to 2 h between readings are interpolated and flagged estimated; longer stay missing.
MAX_GAP_S = 7200
# A step up to 1.5 intervals long is the normal cadence with jitter, not a missing reading.
REGULAR_STEP_FACTOR = 1.5
# A fall counts as a rollover when, counted through the wrap, the step is below this share of the
# register's range: the old value was near the top and the new one near zero. A replacement meter
# starting near 0 after an old one in mid-range is a reset instead.
ROLLOVER_NEAR_FRACTION = 0.01

# Interval states.
MEASURED = 0
ESTIMATED = 1
MISSING = 2

# Interval flag bits (an interval may carry several).
FLAG_ROLLOVER = 1  # the register wrapped within the interval (consumption counted through the wrap)
FLAG_RESET = 2  # the register fell: meter replaced or cleared
FLAG_SPIKE = 4  # consumption above the rated power bound, excluded
FLAG_GAP = 8  # readings missing within the interval


@dataclass(frozen=True)
class IntervalConsumption:
    """Consumption of one meter per interval, with how each value came about.

    ``consumption`` is in the meter's unit (kWh, m³, ...) per interval, NaN where ``state`` is
    MISSING; ``state`` is MEASURED, ESTIMATED or MISSING; ``flags`` ORs the FLAG_* bits.
    ``gaps_s`` lists the runs of missing intervals as (start, end) epoch seconds, end exclusive.
    ``rollovers`` and ``resets`` count register wraps and falls among the readings used.
    """

    start_s: int
    interval_s: int
    consumption: np.ndarray
    state: np.ndarray
    flags: np.ndarray
    gaps_s: list[tuple[int, int]]
    rollovers: int
    resets: int

    @property
    def interval_starts_s(self) -> np.ndarray:
        """Epoch seconds (UTC) at which each interval starts."""
        return self.start_s + self.interval_s * np.arange(self.consumption.size, dtype=np.int64)

    def counts(self) -> dict[str, int]:
        """Intervals measured, estimated and missing, and intervals flagged as spikes."""
        return {
            "measured": int(np.count_nonzero(self.state == MEASURED)),
            "estimated": int(np.count_nonzero(self.state == ESTIMATED)),
            "missing": int(np.count_nonzero(self.state == MISSING)),
            "spikes": int(np.count_nonzero(self.flags & FLAG_SPIKE)),
        }


class ConsumptionInputError(ValueError):
    """The period or the meter parameters given to the consumption functions cannot be used."""


def _grid(start_s: int, end_s: int, interval_s: int) -> int:
    if interval_s <= 0:
        raise ConsumptionInputError(f"interval_s must be positive, got {interval_s}")
    if end_s < start_s or (end_s - start_s) % interval_s:
        raise ConsumptionInputError(f"the period [{start_s}, {end_s}) s must be a whole number of {interval_s} s intervals")
    return (end_s - start_s) // interval_s


def _clean(times_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Finite readings sorted by time; of readings sharing a timestamp the last one given wins."""
    t = np.asarray(times_s, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.shape != v.shape or t.ndim != 1:
        raise ConsumptionInputError(f"times ({t.shape}) and values ({v.shape}) must be 1-D arrays of the same length")
    keep = np.isfinite(t) & np.isfinite(v)
    t, v = t[keep], v[keep]
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    if t.size > 1:
        last_of_time = np.append(t[1:] != t[:-1], True)
        t, v = t[last_of_time], v[last_of_time]
    return t, v


def _fill_from_neighbours(rate: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the mean of the nearest finite values before and after it (either if only one exists)."""
    n = rate.size
    valid = np.isfinite(rate)
    idx = np.arange(n)
    before = np.maximum.accumulate(np.where(valid, idx, -1))
    after = np.minimum.accumulate(np.where(valid, idx, n)[::-1])[::-1]
    prev = np.where(before >= 0, rate[np.clip(before, 0, n - 1)], np.nan)
    nxt = np.where(after < n, rate[np.clip(after, 0, n - 1)], np.nan)
    both = np.isfinite(prev) & np.isfinite(nxt)
    filled = np.where(both, (prev + nxt) / 2, np.where(np.isfinite(prev), prev, nxt))
    return np.where(valid, rate, filled)


def _range_any(per_step: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """For each interval, whether ``per_step`` is true for any step index in [lo, hi]."""
    cumulative = np.concatenate(([0], np.cumsum(per_step, dtype=np.int64)))
    return cumulative[hi + 1] - cumulative[lo] > 0


def _gap_runs(missing: np.ndarray, start_s: int, interval_s: int) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
    begins = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [(start_s + int(b) * interval_s, start_s + int(e) * interval_s) for b, e in zip(begins, ends)]


def interval_consumption(
    times_s: np.ndarray,
    registers: np.ndarray,
    *,
    start_s: int,
    end_s: int,
    interval_s: int = 900,
    wrap_at: float,
    rated_power_kw: float | None = None,
    max_gap_s: float = MAX_GAP_S,
    spike_factor: float = SPIKE_FACTOR,
) -> IntervalConsumption:
    """Consumption per interval of [start_s, end_s) from a cumulative meter's register readings.

    ``times_s``: reading times, epoch seconds; ``registers``: register values as stored (multiplier
    applied, kWh or m³); ``wrap_at``: the stored register value at which it wraps to 0 (the meter's
    raw rollover × multiplier); ``rated_power_kw``: bound for spikes (kW, electricity; None: no spike
    check); ``max_gap_s``: longest span between readings that is still interpolated, seconds.
    Pass readings from before ``start_s`` and after ``end_s`` (at least ``max_gap_s``) so the first and
    last intervals have their neighbours. See the module docstring for the rules.
    """
    n = _grid(start_s, end_s, interval_s)
    if wrap_at <= 0:
        raise ConsumptionInputError(f"wrap_at must be positive, got {wrap_at}")
    t, r = _clean(times_s, registers)
    consumption = np.full(n, np.nan)
    state = np.full(n, MISSING, dtype=np.int8)
    flags = np.zeros(n, dtype=np.int16)
    if t.size < 2 or n == 0:
        flags[:] = FLAG_GAP
        return IntervalConsumption(start_s, interval_s, consumption, state, flags, _gap_runs(state == MISSING, start_s, interval_s), 0, 0)

    dt = np.diff(t)
    rise = np.diff(r)
    through_wrap = wrap_at - r[:-1] + r[1:]
    fell = rise < 0
    wrapped = fell & (through_wrap >= 0) & (through_wrap <= ROLLOVER_NEAR_FRACTION * wrap_at)
    reset = fell & ~wrapped
    increment = np.where(wrapped, through_wrap, np.where(reset, np.maximum(r[1:], 0.0), rise))

    spike = np.zeros(dt.size, dtype=bool)
    if rated_power_kw is not None:
        bound = rated_power_kw * spike_factor * np.maximum(dt, interval_s) / 3600.0
        spike = increment > bound
        if spike.any():
            rate = np.where(spike, np.nan, increment / dt)
            increment = np.where(spike, _fill_from_neighbours(rate) * dt, increment)
    unknown = ~np.isfinite(increment)  # a spike with no valid step to borrow a rate from
    increment = np.where(unknown, 0.0, increment)

    long_gap = dt > max_gap_s
    step_missing = long_gap | unknown
    step_estimated = ~step_missing & ((dt > REGULAR_STEP_FACTOR * interval_s) | reset | spike)

    # Unwrapped register = register + corrections made at wraps, resets and spikes. Kept as close to
    # the register as possible (no running sum of every step) so that an interval between two readings
    # has exactly their difference, whatever period is analysed: reruns give identical values.
    unwrapped = r + np.concatenate(([0.0], np.cumsum(increment - rise)))
    boundaries = start_s + interval_s * np.arange(n + 1, dtype=np.float64)
    at_boundary = np.interp(boundaries, t, unwrapped)
    consumption = np.diff(at_boundary)

    # Steps overlapping interval k: from the one containing its start to the one ending at or after its end.
    lo = np.searchsorted(t, boundaries[:-1], side="right") - 1
    hi = np.searchsorted(t, boundaries[1:], side="left") - 1
    outside = (lo < 0) | (hi >= dt.size)
    lo_c = np.clip(lo, 0, dt.size - 1)
    hi_c = np.clip(hi, 0, dt.size - 1)

    state = np.where(_range_any(step_estimated, lo_c, hi_c), ESTIMATED, MEASURED).astype(np.int8)
    state[_range_any(step_missing, lo_c, hi_c) | outside] = MISSING
    flags = np.zeros(n, dtype=np.int16)
    for bit, per_step in (
        (FLAG_ROLLOVER, wrapped),
        (FLAG_RESET, reset),
        (FLAG_SPIKE, spike),
        (FLAG_GAP, dt > REGULAR_STEP_FACTOR * interval_s),
    ):
        flags |= np.where(_range_any(per_step, lo_c, hi_c), bit, 0).astype(np.int16)
    flags[outside] |= FLAG_GAP
    consumption = np.where(state == MISSING, np.nan, np.maximum(consumption, 0.0))

    # Count wraps and resets of steps that end inside the period (each step once, however many intervals it spans).
    inside = (t[1:] > start_s) & (t[:-1] < end_s)
    return IntervalConsumption(
        start_s,
        interval_s,
        consumption,
        state,
        flags,
        _gap_runs(state == MISSING, start_s, interval_s),
        int(np.count_nonzero(wrapped & inside)),
        int(np.count_nonzero(reset & inside)),
    )


def interval_amounts(
    times_s: np.ndarray,
    amounts: np.ndarray,
    *,
    start_s: int,
    end_s: int,
    interval_s: int = 900,
    rated_power_kw: float | None = None,
    max_gap_s: float = MAX_GAP_S,
    spike_factor: float = SPIKE_FACTOR,
) -> IntervalConsumption:
    """Consumption per interval of [start_s, end_s) from a meter reporting interval amounts (``cumulative: false``).

    ``amounts`` are in the meter's unit, each the amount of the interval ending at about its
    reading time (``times_s``, epoch seconds); amounts landing in the same interval add up.
    Amounts above ``rated_power_kw × spike_factor × interval`` are spikes and, like negative amounts,
    excluded. A run of missing intervals whose bounding readings lie at most ``max_gap_s`` apart is
    estimated by linear interpolation between the amounts either side; longer runs stay missing.
    """
    n = _grid(start_s, end_s, interval_s)
    t, a = _clean(times_s, amounts)
    # The amount reported at t covers [t − interval, t): its label is the start, to the nearest interval.
    k = np.floor((t - start_s - interval_s / 2) / interval_s).astype(np.int64)
    flags = np.zeros(n, dtype=np.int16)
    valid_reading = a >= 0
    inside = (k >= 0) & (k < n)
    consumption = np.bincount(k[inside & valid_reading], weights=a[inside & valid_reading], minlength=n).astype(np.float64)
    reported = np.bincount(k[inside & valid_reading], minlength=n) > 0
    flags |= np.where(np.bincount(k[inside & ~valid_reading], minlength=n) > 0, FLAG_RESET, 0).astype(np.int16)
    if rated_power_kw is not None:
        spike = reported & (consumption > rated_power_kw * spike_factor * interval_s / 3600.0)
        flags |= np.where(spike, FLAG_SPIKE, 0).astype(np.int16)
        reported &= ~spike
    state = np.where(reported, MEASURED, MISSING).astype(np.int8)
    consumption = np.where(reported, consumption, np.nan)

    # Runs of unreported intervals bounded by reported ones, short enough to interpolate.
    if reported.any() and not reported.all():
        idx = np.arange(n)
        known = np.flatnonzero(reported)
        before = np.maximum.accumulate(np.where(reported, idx, -1))
        after = np.minimum.accumulate(np.where(reported, idx, n)[::-1])[::-1]
        bounded = ~reported & (before >= 0) & (after < n)
        span_s = (after - before) * interval_s  # time between the bounding readings
        fillable = bounded & (span_s <= max_gap_s)
        estimate = np.interp(idx, known, consumption[known])
        consumption = np.where(fillable, estimate, consumption)
        state = np.where(fillable, ESTIMATED, state).astype(np.int8)
    flags |= np.where(state != MEASURED, FLAG_GAP, 0).astype(np.int16)
    return IntervalConsumption(start_s, interval_s, consumption, state, flags, _gap_runs(state == MISSING, start_s, interval_s), 0, 0)
