"""Rule-based fault detectors: plain functions over one device's (or zone's) arrays.

Each detector returns :class:`~facmon.schema.faults.Fault` s (made by :func:`detection`, of no building
yet): when the fault was raised (the time of the reading at which
its persistence rule was first met, epoch s), when the data first showed it (its onset: the first
reading of the run that met the rule), when it cleared (the first reading that no longer shows it;
None while it lasts to the end of the data), the measured value that triggered it and a short
explanation. Thresholds and persistence come from the registry's ``detection`` section
(:class:`facmon.registry.Detection`); nothing here knows about InfluxDB (analytics/fault_detection.py
reads the arrays) or about injected truth.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np

from facmon.analytics.consumption import FLAG_RESET, FLAG_SPIKE, IntervalConsumption
from facmon.fault_kinds import FaultKind
from facmon.schema.faults import Fault
from facmon.workdays import is_working_day


def detection(
    kind: FaultKind,
    target: str,
    raised_s: int,
    cleared_s: int | None,
    value: float,
    detail: str,
    onset_s: int | None = None,
) -> Fault:
    """A detector's finding as a :class:`~facmon.schema.faults.Fault` of no building yet (detection
    attributes it): raised at ``raised_s``, cleared at ``cleared_s`` (None: still active), first seen in
    the data at ``onset_s`` (None: when raised), epoch s. The onset is when the fault began as far as the
    sensors tell; the persistence rules only delay when it is raised."""
    onset = raised_s if onset_s is None else min(onset_s, raised_s)
    return Fault(building="", kind=kind, target=target, onset_s=onset, raised_s=raised_s, cleared_s=cleared_s, value=value, detail=detail)


def persistent_runs(times_s: np.ndarray, mask: np.ndarray, persistence: int) -> list[tuple[int, int | None, int, int]]:
    """Runs of ``mask`` at least ``persistence`` samples long: (raised at, cleared at or None, first index, last index).

    Raised at the time of the run's ``persistence``-th sample; cleared at the first sample after the run."""
    runs = []
    mask = np.asarray(mask, dtype=bool)
    if mask.size == 0:
        return runs
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for a, b in zip(starts, ends):
        if b - a >= persistence:
            runs.append((int(times_s[a + persistence - 1]), int(times_s[b]) if b < mask.size else None, int(a), int(b - 1)))
    return runs


def local_clock(times_s: np.ndarray, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per time: local hour as a float, working day (bool), local day ordinal, month (1-12)."""
    hours = np.empty(times_s.size)
    working = np.empty(times_s.size, dtype=bool)
    ordinal = np.empty(times_s.size, dtype=np.int64)
    month = np.empty(times_s.size, dtype=np.int64)
    cache: dict[int, bool] = {}
    for i, ts in enumerate(times_s.tolist()):
        moment = datetime.fromtimestamp(ts, tz)
        hours[i] = moment.hour + moment.minute / 60 + moment.second / 3600
        day = moment.date()
        o = day.toordinal()
        if o not in cache:
            cache[o] = is_working_day(day)
        working[i], ordinal[i], month[i] = cache[o], o, moment.month
    return hours, working, ordinal, month


def _hour(t: time) -> float:
    return t.hour + t.minute / 60


def occupied(hours: np.ndarray, working: np.ndarray, opens: time, closes: time) -> np.ndarray:
    """Working hours of working days (调休 working weekends included, holidays excluded)."""
    return working & (hours >= _hour(opens)) & (hours < _hour(closes))


def after_warm_up(hours: np.ndarray, working: np.ndarray, opens: time, closes: time, warm_up_h: float) -> np.ndarray:
    """Occupied hours from ``warm_up_h`` after opening: when a zone's temperature is judged. A split unit
    switched on at arrival, or a central plant after a cold weekend, needs that long to reach the band."""
    return working & (hours >= _hour(opens) + warm_up_h) & (hours < _hour(closes))


# -- the data path -------------------------------------------------------------------------------


def offline_episodes(target: str, times_s: np.ndarray, interval_s: int, end_s: int, *, missed_readings: float) -> list[Fault]:
    """A device is offline once ``missed_readings`` reporting intervals pass without a reading; it clears
    at its next reading. ``end_s``: the end of the data (a gap running into it stays open)."""
    limit_s = missed_readings * interval_s
    t = np.unique(times_s)
    episodes = []
    if t.size == 0:
        return episodes
    gaps = np.flatnonzero(np.diff(t) > limit_s)
    for i in gaps:
        episodes.append(
            detection(
                FaultKind.DEVICE_OFFLINE,
                target,
                int(t[i] + limit_s),
                int(t[i + 1]),
                float((t[i + 1] - t[i]) / 60),
                "no readings (minutes without)",
                int(t[i] + interval_s),
            )
        )
    if end_s - t[-1] > limit_s:
        episodes.append(
            detection(
                FaultKind.DEVICE_OFFLINE,
                target,
                int(t[-1] + limit_s),
                None,
                float((end_s - t[-1]) / 60),
                "no readings since the last one (minutes)",
                int(t[-1] + interval_s),
            )
        )
    return episodes


def stuck_register_episodes(
    target: str,
    times_s: np.ndarray,
    register: np.ndarray,
    power_kw: np.ndarray,
    *,
    resolution: float,
    min_steps: int,
    min_resolutions: float,
) -> list[Fault]:
    """A cumulative register stuck while power flows: ``min_steps`` flat steps in a row over which the
    reported power implies at least ``min_resolutions`` × ``resolution`` (register units) of energy.
    A meter with no load (power 0) keeps a flat register legitimately and is never stuck."""
    if times_s.size < min_steps + 1:
        return []
    flat = np.diff(register) == 0
    # Power is instantaneous: only a load on at both ends of a step surely ran through it (no switch-on/off artefacts).
    energy = np.minimum(power_kw[1:], power_kw[:-1]) * np.diff(times_s) / 3600.0
    energy = np.where(np.isfinite(energy), energy, 0.0)
    episodes = []
    step_times = times_s[1:]
    for _raised, _cleared, a, b in persistent_runs(step_times, flat, min_steps):
        cumulative = np.cumsum(energy[a : b + 1])
        enough = np.flatnonzero((cumulative >= min_resolutions * resolution) & (np.arange(cumulative.size) + 1 >= min_steps))
        if enough.size == 0:
            continue
        at = int(step_times[a + enough[0]])
        cleared = int(step_times[b + 1]) if b + 1 < step_times.size else None
        episodes.append(
            detection(
                FaultKind.METER_STUCK,
                target,
                at,
                cleared,
                float(cumulative[-1]),
                "register flat while the power implies this much energy (kWh)",
                int(step_times[a]),
            )
        )
    return episodes


def stuck_sensor_episodes(target: str, times_s: np.ndarray, values: np.ndarray, *, min_duration_s: float) -> list[Fault]:
    """An IEQ sensor whose every quantity repeats bit for bit for ``min_duration_s``: a frozen sensor.
    ``values`` has one column per quantity; real sensors carry noise in at least one of them."""
    if times_s.size < 3:
        return []
    same = np.all(np.diff(values, axis=0) == 0, axis=1)
    episodes = []
    for _raised, _cleared, a, b in persistent_runs(times_s[1:], same, 1):
        first = times_s[a]
        later = np.flatnonzero(times_s[a + 1 : b + 2] - first >= min_duration_s)
        if later.size == 0:
            continue
        cleared = int(times_s[b + 2]) if b + 2 < times_s.size else None
        episodes.append(
            detection(
                FaultKind.METER_STUCK,
                target,
                int(times_s[a + 1 + later[0]]),
                cleared,
                float(values[a, 0]),
                "sensor frozen: every quantity unchanged",
                int(times_s[a + 1]),
            )
        )
    return episodes


def register_event_episodes(target: str, intervals: IntervalConsumption) -> list[Fault]:
    """Spikes and resets as found by the consumption analysis (analytics.consumption flags, reused).

    A spike shows at the reading ending its interval; the register falling back right after a spike
    is the spike ending, not a reset. A reset (register fell: meter replaced) is an event of one interval."""
    starts = intervals.interval_starts_s
    step = intervals.interval_s
    spike = (intervals.flags & FLAG_SPIKE) != 0
    reset = (intervals.flags & FLAG_RESET) != 0
    after_spike = np.zeros_like(spike)
    after_spike[1:] |= spike[:-1]
    after_spike[2:] |= spike[:-2]
    episodes = []
    for a, b in _true_runs(spike):
        episodes.append(
            detection(
                FaultKind.SPIKE,
                target,
                int(starts[a] + step),
                int(starts[b] + 2 * step),
                float(b - a + 1),
                "intervals above rated power x 1.2 (excluded)",
            )
        )
    for i in np.flatnonzero(reset & ~after_spike & ~spike):
        episodes.append(
            detection(
                FaultKind.METER_RESET,
                target,
                int(starts[i] + step),
                int(starts[i] + 2 * step),
                0.0,
                "register fell: meter replaced or cleared",
            )
        )
    return episodes


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), (np.flatnonzero(edges == -1) - 1).tolist()))


def out_of_range_episodes(target: str, bad_times_s: np.ndarray, good_times_s: np.ndarray, detail: str) -> list[Fault]:
    """Readings outside their plausible range (stored, or rejected by the collector): raised at the
    first bad reading, cleared at the next good one."""
    if bad_times_s.size == 0:
        return []
    times = np.concatenate((bad_times_s, good_times_s))
    bad = np.concatenate((np.ones(bad_times_s.size, bool), np.zeros(good_times_s.size, bool)))
    order = np.lexsort((~bad, times))  # at equal times a bad reading wins
    times, bad = times[order], bad[order]
    return [
        detection(FaultKind.OUT_OF_RANGE, target, raised, cleared, float(b - a + 1), detail)
        for raised, cleared, a, b in persistent_runs(times, bad, 1)
    ]


# -- equipment -----------------------------------------------------------------------------------


def equipment_episodes(
    target: str,
    times_s: np.ndarray,
    running: np.ndarray,
    fault_code: np.ndarray,
    *,
    must_run: bool,
    elevator: bool,
    persistence_code: int,
    persistence_stopped: int,
) -> list[Fault]:
    """A non-zero fault code; for equipment that must run around the clock (``must_run``), running 0.
    Elevators and escalators out of service are ``elevator_out_of_service``, other equipment ``equipment_fault_code``."""
    code = np.nan_to_num(fault_code, nan=0.0) > 0
    stopped = (running == 0) if must_run else np.zeros(times_s.size, bool)
    kind = FaultKind.ELEVATOR_OUT_OF_SERVICE if elevator else FaultKind.EQUIPMENT_FAULT_CODE
    episodes = []
    # Raised by whichever rule fires first; a fault code needs fewer readings than a stop.
    for _raised, cleared, a, b in persistent_runs(times_s, code | stopped, 1):
        code_run = persistent_runs(times_s[a : b + 1], code[a : b + 1], persistence_code)
        stop_run = persistent_runs(times_s[a : b + 1], stopped[a : b + 1], persistence_stopped)
        firsts = [r[0] for r in code_run[:1] + stop_run[:1]]
        if not firsts:
            continue
        value = float(np.max(np.nan_to_num(fault_code[a : b + 1], nan=0.0)))
        detail = f"fault code {value:g}" if value > 0 else "not running when it should be in service"
        episodes.append(detection(kind, target, min(firsts), cleared, value, detail, int(times_s[a])))
    return episodes


def days_off_running_episodes(
    target: str,
    times_s: np.ndarray,
    running: np.ndarray,
    tz: ZoneInfo,
    opens: time,
    closes: time,
    *,
    occupant_switched: bool,
    persistence: int,
) -> list[Fault]:
    """HVAC running on a day off (weekend or holiday; 调休 working weekends are working days). Units
    that occupants switch on themselves (GB/T 51161 class A: split/VRF) may run for duty staff in
    office hours; running outside them on a day off is a fault for every unit."""
    hours, working, _, _ = local_clock(times_s, tz)
    running_off = ~working & (running == 1)
    starts_fault = running_off.copy()
    if occupant_switched:
        starts_fault &= ~((hours >= _hour(opens)) & (hours < _hour(closes)))
    episodes = []
    # Once raised, the fault lasts while the unit keeps running on the day off (office hours included).
    for _r, cleared, a, b in persistent_runs(times_s, running_off, 1):
        confirmed = persistent_runs(times_s[a : b + 1], starts_fault[a : b + 1], persistence)
        if confirmed:
            episodes.append(
                detection(
                    FaultKind.HVAC_WEEKEND,
                    target,
                    confirmed[0][0],
                    cleared,
                    1.0,
                    "HVAC running on a day off",
                    int(times_s[a + confirmed[0][2]]),
                )
            )
    return episodes


def simultaneous_heating_cooling_episodes(
    times_s: np.ndarray, heating: dict[str, np.ndarray], cooling: dict[str, np.ndarray], *, persistence: int
) -> list[Fault]:
    """Units of one building heating while another cools, on a common time grid. The fault is filed
    against each unit heating (the cooling one may be right for the season; either way both waste)."""
    episodes = []
    for unit, heats in heating.items():
        others = np.zeros(times_s.size, bool)
        partners = []
        for other, cools in cooling.items():
            if other != unit:
                others |= cools
                partners.append(other)
        mask = heats & others
        for r, c, a, b in persistent_runs(times_s, mask, persistence):
            who = sorted(o for o in partners if cooling[o][a : b + 1].any())
            episodes.append(
                detection(
                    FaultKind.SIMULTANEOUS_HEATING_COOLING,
                    unit,
                    r,
                    c,
                    float(b - a + 1),
                    f"heating while {', '.join(who)} cools",
                    int(times_s[a]),
                )
            )
    return episodes


# -- energy waste --------------------------------------------------------------------------------


def after_hours_episodes(
    target: str,
    starts_s: np.ndarray,
    power_kw: np.ndarray,
    tz: ZoneInfo,
    opens: time,
    closes: time,
    *,
    rated_kw: float,
    analyse_from_s: int,
    lookback_days: int,
    min_days: int,
    margin_share: float,
    persistence: int,
) -> list[Fault]:
    """Lighting power outside working hours above the meter's own unoccupied baseline: for each day,
    the median of the ``lookback_days`` before it at the same local hour and kind of day (working day
    or day off), plus ``margin_share`` × rated power. Holidays and 调休 days come from the calendar."""
    hours, working, ordinal, _ = local_clock(starts_s, tz)
    unocc = ~occupied(hours, working, opens, closes) & np.isfinite(power_kw)
    hour_index = np.floor(hours).astype(int)
    excess_kw = np.full(starts_s.size, np.nan)
    baseline_kw = np.full(starts_s.size, np.nan)
    for day in np.unique(ordinal[starts_s >= analyse_from_s]):
        today = (ordinal == day) & unocc
        history = unocc & (ordinal < day) & (ordinal >= day - lookback_days)
        for flag in (True, False):
            for h in np.unique(hour_index[today & (working == flag)]):
                past = history & (working == flag) & (hour_index == h)
                if np.unique(ordinal[past]).size < min_days:
                    continue
                sel = today & (working == flag) & (hour_index == h)
                baseline_kw[sel] = np.median(power_kw[past])
    excess_kw = power_kw - baseline_kw
    mask = unocc & np.isfinite(excess_kw) & (excess_kw > margin_share * rated_kw)
    episodes = []
    for r, c, a, b in persistent_runs(starts_s, mask, persistence):
        # Intervals are labelled by their start: the persistence is met at the end of the last one.
        episodes.append(
            detection(
                FaultKind.LIGHTS_AFTER_HOURS,
                target,
                r + int(starts_s[1] - starts_s[0]) if starts_s.size > 1 else r,
                c,
                float(np.nanmax(excess_kw[a : b + 1])),
                "lighting after hours above its unoccupied baseline (kW extra)",
                int(starts_s[a]),
            )
        )
    return [e for e in episodes if e.raised_s >= analyse_from_s or e.cleared_s is None or e.cleared_s > analyse_from_s]


def night_flows(
    starts_s: np.ndarray, consumption_m3: np.ndarray, interval_s: int, tz: ZoneInfo, night_start: time, night_end: time
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local day ordinal, night window end epoch s, median flow m³/h) of every night with readings in its window."""
    hours, _, ordinal, _ = local_clock(starts_s, tz)
    inside = (hours >= _hour(night_start)) & (hours < _hour(night_end)) & np.isfinite(consumption_m3)
    days, ends, flows = [], [], []
    for day in np.unique(ordinal[inside]):
        sel = inside & (ordinal == day)
        if sel.sum() < 0.5 * (_hour(night_end) - _hour(night_start)) * 3600 / interval_s:
            continue  # too few readings to judge this night
        days.append(day)
        ends.append(int(starts_s[sel].max()) + interval_s)
        flows.append(float(np.median(consumption_m3[sel])) * 3600 / interval_s)
    return np.array(days, dtype=np.int64), np.array(ends, dtype=np.int64), np.array(flows)


def leaking_nights(
    flows_m3_h: np.ndarray, *, lookback_nights: int, min_flow_m3_h: float, baseline_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """(leaking per night, excess flow m³/h): a night's flow above the median of up to ``lookback_nights``
    earlier non-leaking nights by ``min_flow_m3_h`` or ``baseline_share`` × that baseline, whichever is
    larger. Nights without 3 earlier nights of history are not judged."""
    leaking = np.zeros(flows_m3_h.size, bool)
    excess = np.full(flows_m3_h.size, np.nan)
    for i in range(flows_m3_h.size):
        history = [flows_m3_h[j] for j in range(max(0, i - lookback_nights), i) if not leaking[j]]
        if len(history) < 3:
            continue
        baseline = float(np.median(history))
        excess[i] = flows_m3_h[i] - baseline
        leaking[i] = excess[i] > max(min_flow_m3_h, baseline_share * baseline)
    return leaking, excess


def leak_episodes(
    target: str, night_ends_s: np.ndarray, leaking: np.ndarray, flows_m3_h: np.ndarray, *, night_length_s: int = 0
) -> list[Fault]:
    """Leaking nights in a row make one leak, raised at the end of its first night window, cleared at the end
    of the first dry one. Its onset is the start of the first leaking night window (``night_length_s``
    before its end): the earliest the meter shows it, though the leak may have begun the evening before."""
    return [
        detection(
            FaultKind.WATER_LEAK,
            target,
            r,
            c,
            float(np.max(flows_m3_h[a : b + 1])),
            "night flow that never stops (m3/h above the night baseline)",
            r - night_length_s,
        )
        for r, c, a, b in persistent_runs(night_ends_s, leaking, 1)
    ]


# -- indoor environment --------------------------------------------------------------------------


def rolling_mean(times_s: np.ndarray, values: np.ndarray, window_s: int) -> np.ndarray:
    """Mean of the finite values in (t − window_s, t] for each time t."""
    ok = np.isfinite(values)
    csum = np.concatenate(([0.0], np.cumsum(np.where(ok, values, 0.0))))
    ccount = np.concatenate(([0], np.cumsum(ok)))
    first = np.searchsorted(times_s, times_s - window_s, side="right")
    last = np.arange(times_s.size) + 1
    count = ccount[last] - ccount[first]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (csum[last] - csum[first]) / np.maximum(count, 1), np.nan)


def ieq_band_episodes(
    kind: FaultKind,
    target: str,
    times_s: np.ndarray,
    values: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    occupied_mask: np.ndarray,
    *,
    window_s: int,
    persistence: int,
    what: str,
) -> list[Fault]:
    """A zone whose rolling mean (over ``window_s``) leaves [low, high] in occupied hours, for ``persistence`` readings."""
    mean = rolling_mean(times_s, values, window_s)
    mask = occupied_mask & np.isfinite(mean) & ((mean < low) | (mean > high))
    return [
        detection(kind, target, r, c, float(mean[a + persistence - 1]), what, int(times_s[a]))
        for r, c, a, b in persistent_runs(times_s, mask, persistence)
    ]
