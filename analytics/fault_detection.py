"""Fault detection over a period: reads each building's series from InfluxDB, runs the detectors of
analytics/fault_detectors.py and writes ``fault`` points through analytics/fault_state.py.

Called by ``facmon analyze`` after the consumption analysis of the same period (energy_interval must
exist for the after-hours and leak detectors). Reads reach back ``lookback`` before the period where a
rule needs history (baselines, persistence, the last reading before a gap).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from facmon.analytics import fault_detectors as fd
from facmon.analytics.analyze import AnalysisSummary, analysis_period, meter_intervals
from facmon.analytics.common_cause import COLLECTION_TARGET, collection_outages, group_common_causes
from facmon.analytics.consumption import MAX_GAP_S
from facmon.analytics.daily import is_category_submeter
from facmon.analytics.fault_state import (
    FaultSeries,
    fault_lines,
    replace_faults,
)
from facmon.fault_kinds import DEFAULT_SEVERITY, FaultKind
from facmon.registry import Building, EquipmentType, OfficeHvacClass, Site, System, responsible_vendor
from facmon.schema import (
    ENERGY_INTERVAL,
    EQUIPMENT,
    FIELD_RANGES,
    IEQ,
    METER,
    WEATHER,
    allowed_fields,
    device_kind,
)
from facmon.schema.energy import interval_consumption
from facmon.schema.faults import NO_VENDOR, Fault, building_name_tag, last_points, noticed_in
from facmon.schema.ingest import rejected_details
from facmon.schema.readings import MEASUREMENT_OF_KIND, reading_series, readings_outside
from facmon.store import InfluxStore

_REJECTED_DEVICE = re.compile(r"^(?P<building>[^/\s]+)/(?P<device>[^:\s]+): field '(?P<field>\w+)'")
HEATING_WATER_FIELDS = ("supply_temp",)
AIR_FIELDS = ("supply_air_temp",)
HVAC_MODE_TYPES = (EquipmentType.HEAT_PUMP, EquipmentType.AHU, EquipmentType.FRESH_AIR_UNIT, EquipmentType.SPLIT_AC, EquipmentType.FAN_COIL)
DAYS_OFF_TYPES = (*HVAC_MODE_TYPES, EquipmentType.CHILLER, EquipmentType.BOILER, EquipmentType.COOLING_TOWER)


@dataclass
class BuildingFaults:
    """What detection found in one building: episodes by kind, lines written."""

    building: str
    episodes: list[Fault] = field(default_factory=list)
    points: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.episodes:
            out[e.kind.value] = out.get(e.kind.value, 0) + 1
        return out


def _series(
    store: InfluxStore, measurement: str, name: str, tags: dict[str, str], start_s: int, end_s: int
) -> tuple[np.ndarray, np.ndarray]:
    if measurement == ENERGY_INTERVAL:
        return interval_consumption(store, tags["building"], tags["meter"], start_s, end_s)
    return reading_series(store, _KIND_OF_MEASUREMENT[measurement], name, tags, start_s, end_s)


_KIND_OF_MEASUREMENT = {measurement: kind for kind, measurement in MEASUREMENT_OF_KIND.items()}


def _aligned(times_a: np.ndarray, values_a: np.ndarray, times_b: np.ndarray) -> np.ndarray:
    """Values of series a at times b (NaN where a has no point at that exact time)."""
    out = np.full(times_b.size, np.nan)
    idx = np.searchsorted(times_a, times_b)
    ok = idx < times_a.size
    ok[ok] = times_a[idx[ok]] == times_b[ok]
    out[ok] = values_a[idx[ok]]
    return out


def _in_range(values: np.ndarray, kind: str, name: str, multiplier: float = 1.0) -> np.ndarray:
    low, high, _ = FIELD_RANGES[kind][name]  # type: ignore[index]
    raw = values / multiplier
    return (raw >= low) & (raw <= high)


def detect_building(site: Site, building: Building, store: InfluxStore, from_s: int, until_s: int) -> list[Fault]:
    """Every rule-based detector over one building for [from_s, until_s) (with lookback before ``from_s``)."""
    d = site.detection
    c = site.collection
    tz = site.site.tz
    hours = building.working_hours
    code = building.code
    episodes: list[Fault] = []
    offline_from = from_s - int(d.offline_lookback_h * 3600)

    def keep(found: list[Fault]) -> None:
        episodes.extend(e for e in found if e.cleared_s is None or e.cleared_s > from_s - MAX_GAP_S)

    # Out-of-range readings the collector rejected (live data) per device.
    rejected: dict[str, list[int]] = {}
    for rejected_s, detail in rejected_details(store, code, "out_of_range", offline_from, until_s):
        match = _REJECTED_DEVICE.match(detail)
        if match and match["building"] == code:
            rejected.setdefault(match["device"], []).append(rejected_s)

    # Out-of-range readings stored as they came (a backfill, or a collector without range checks): one
    # query per measurement and field for candidates, checked precisely per device below.
    stored_bad: dict[str, dict[str, list[int]]] = {}
    min_multiplier = min((m.multiplier for m in building.meters), default=1.0)
    weather_id = building.weather_sensors[0].id if building.weather_sensors else ""
    for kind in ("meter", "ieq", "equipment", "weather"):
        for name, (low, high, _) in FIELD_RANGES[kind].items():
            top = high * min_multiplier if kind == "meter" else high
            for device_id, points in readings_outside(store, kind, name, code, low, top, offline_from, until_s).items():
                stored_bad.setdefault(device_id or weather_id, {}).setdefault(name, []).extend(points)

    def out_of_range(device, measurement: str, tags: dict[str, str], times_all: np.ndarray, multiplier: float = 1.0) -> None:
        kind = device_kind(device)
        bad_times = [np.asarray(rejected.get(device.id, []), dtype=np.int64)]
        fields = []
        for name, points in stored_bad.get(device.id, {}).items():
            t = np.array([p[0] for p in points], dtype=np.int64)
            v = np.array([p[1] for p in points])
            bad = ~_in_range(v, kind, name, multiplier)
            if bad.any():
                bad_times.append(t[bad])
                fields.append(name)
        bad_all = np.unique(np.concatenate(bad_times))
        if bad_all.size:
            good = np.setdiff1d(times_all, bad_all)
            keep(
                fd.out_of_range_episodes(
                    device.id, bad_all, good, f"outside the plausible range: {', '.join(sorted(fields)) or 'rejected by the collector'}"
                )
            )

    # -- meters
    margin_s = MAX_GAP_S + c.meter_interval_s
    lights_from = from_s - d.after_hours_lookback_days * 86400
    leak_from = from_s - (d.leak_lookback_nights + 1) * 86400
    water_nights: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    period = analysis_period(site, _dt(from_s), _dt(until_s))
    for meter in building.meters:
        tags = {"building": code, "meter": meter.id}
        t, reg = _series(store, METER, "register", tags, offline_from, until_s)
        keep(fd.offline_episodes(meter.id, t, c.meter_interval_s, until_s, missed_readings=d.offline_missed_readings))
        out_of_range(meter, METER, tags, t, meter.multiplier)
        if t.size == 0:
            continue
        good = _in_range(reg, "meter", "register", meter.multiplier)
        tp, power = _series(store, METER, "power", tags, offline_from, until_s)
        if meter.cumulative and tp.size:
            power_at = _aligned(tp, np.where(_in_range(power, "meter", "power", meter.multiplier), power, np.nan), t)
            resolution = meter.multiplier * 10 ** -_decimals(meter.rollover)
            keep(
                fd.stuck_register_episodes(
                    meter.id,
                    t[good],
                    reg[good],
                    power_at[good],
                    resolution=resolution,
                    min_steps=d.stuck_min_steps,
                    min_resolutions=d.stuck_min_resolutions,
                )
            )
        # Spikes and resets: the consumption analysis's own validation, reused on the period's readings.
        tr, rr = _series(store, METER, "register", tags, period.start_s - margin_s, period.end_s + margin_s)
        ok = _in_range(rr, "meter", "register", meter.multiplier)
        if meter.cumulative and tr.size >= 2:
            keep(fd.register_event_episodes(meter.id, meter_intervals(meter, tr[ok], rr[ok], period)))
        if meter.energy == "01" and meter.subitem in ("01A10", "01A20") and meter.rated_power_kw:
            ts, kwh = _series(store, ENERGY_INTERVAL, "consumption", tags, lights_from, until_s)
            if ts.size > 1:
                kw = kwh * 3600 / c.meter_interval_s
                keep(
                    fd.after_hours_episodes(
                        meter.id,
                        ts,
                        kw,
                        tz,
                        hours.start,
                        hours.end,
                        rated_kw=meter.rated_power_kw,
                        analyse_from_s=from_s,
                        lookback_days=d.after_hours_lookback_days,
                        min_days=d.after_hours_min_days,
                        margin_share=d.after_hours_margin_share,
                        persistence=d.after_hours_persistence,
                    )
                )
        if meter.energy == "02":
            ts, m3 = _series(store, ENERGY_INTERVAL, "consumption", tags, leak_from, until_s)
            days, ends, flows = fd.night_flows(ts, m3, c.meter_interval_s, tz, d.leak_night_start, d.leak_night_end)
            leaking, excess = fd.leaking_nights(
                flows, lookback_nights=d.leak_lookback_nights, min_flow_m3_h=d.leak_min_flow_m3_h, baseline_share=d.leak_baseline_share
            )
            water_nights[meter.id] = (days, ends, leaking, excess)
    # A leak behind a sub-meter also runs through its MAIN meter: the main is flagged only for what its sub-meters do not explain.
    water = [m for m in building.meters if m.energy == "02"]
    for meter in water:
        if meter.id not in water_nights:  # no readings in the window: nothing to judge (its silence is found as offline above)
            continue
        days, ends, leaking, excess = water_nights[meter.id]
        if not is_category_submeter(meter, water):
            subs = [water_nights[m.id] for m in water if m.id in water_nights and is_category_submeter(m, water)]
            for i, day in enumerate(days):
                explained = 0.0
                for sdays, _, sleak, sexcess in subs:
                    j = np.flatnonzero(sdays == day)
                    if j.size and sleak[j[0]]:
                        explained += float(sexcess[j[0]])
                if leaking[i] and excess[i] - explained <= d.leak_min_flow_m3_h:
                    leaking[i] = False
        night_length_s = (d.leak_night_end.hour - d.leak_night_start.hour) * 3600 + (
            d.leak_night_end.minute - d.leak_night_start.minute
        ) * 60
        # value: night flow above the baseline, m³/h
        keep(fd.leak_episodes(meter.id, ends, leaking, np.nan_to_num(excess), night_length_s=night_length_s))

    # -- IEQ sensors
    for sensor in building.ieq_sensors:
        tags = {"building": code, "sensor": sensor.id}
        quantities = [q.value for q in sensor.quantities]
        series = {q: _series(store, IEQ, q, tags, offline_from, until_s) for q in quantities}
        times_all = np.unique(np.concatenate([s[0] for s in series.values()])) if series else np.empty(0, np.int64)
        keep(fd.offline_episodes(sensor.id, times_all, c.ieq_interval_s, until_s, missed_readings=d.offline_missed_readings))
        out_of_range(sensor, IEQ, tags, times_all)
        if times_all.size == 0:
            continue
        columns = np.column_stack([_aligned(*series[q], times_all) for q in quantities])
        complete = np.all(np.isfinite(columns), axis=1)
        keep(fd.stuck_sensor_episodes(sensor.id, times_all[complete], columns[complete], min_duration_s=d.stuck_sensor_h * 3600))
        hours_f, working, _, month = fd.local_clock(times_all, tz)
        occ = fd.occupied(hours_f, working, hours.start, hours.end)
        if "co2" in quantities:
            t, v = series["co2"]
            v = np.where(_in_range(v, "ieq", "co2"), v, np.nan)
            vv = _aligned(t, v, times_all)
            keep(
                fd.ieq_band_episodes(
                    FaultKind.VENTILATION_FAILURE,
                    sensor.id,
                    times_all,
                    vv,
                    np.full(vv.size, -np.inf),
                    np.full(vv.size, d.co2_max_ppm),
                    occ,
                    window_s=d.ieq_mean_window_s,
                    persistence=d.ieq_persistence,
                    what=f"CO2 1-hour mean above {d.co2_max_ppm:g} ppm (GB/T 18883)",
                )
            )
        if "temperature" in quantities:
            t, v = series["temperature"]
            v = np.where(_in_range(v, "ieq", "temperature"), v, np.nan)
            vv = _aligned(t, v, times_all)
            summer = np.isin(month, d.summer_months)
            winter = np.isin(month, d.winter_months)
            low = np.where(
                summer,
                d.temperature_summer_c[0],
                np.where(winter, d.temperature_winter_c[0], min(d.temperature_summer_c[0], d.temperature_winter_c[0])),
            )
            high = np.where(
                summer,
                d.temperature_summer_c[1],
                np.where(winter, d.temperature_winter_c[1], max(d.temperature_summer_c[1], d.temperature_winter_c[1])),
            )
            # the band is judged once the morning warm-up is over (detection.comfort_warmup_h)
            warmed = fd.after_warm_up(hours_f, working, hours.start, hours.end, d.comfort_warmup_h)
            keep(
                fd.ieq_band_episodes(
                    FaultKind.COMFORT_OUT_OF_BAND,
                    sensor.id,
                    times_all,
                    vv,
                    low,
                    high,
                    warmed,
                    window_s=d.ieq_mean_window_s,
                    persistence=d.ieq_persistence,
                    what="temperature outside the GB/T 18883 band (°C, rolling mean)",
                )
            )

    # -- weather sensors: offline and out of range only
    for sensor in building.weather_sensors:
        tags = {"building": code}
        t, _ = _series(store, WEATHER, sensor.quantities[0].value, tags, offline_from, until_s)
        keep(fd.offline_episodes(sensor.id, t, c.weather_interval_s, until_s, missed_readings=d.offline_missed_readings))
        out_of_range(sensor, WEATHER, tags, t)

    # -- equipment
    heating: dict[str, np.ndarray] = {}
    cooling: dict[str, np.ndarray] = {}
    grid: np.ndarray | None = None
    per_unit: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
    for unit in building.equipment:
        tags = {"building": code, "equipment": unit.id}
        t, running = _series(store, EQUIPMENT, "running", tags, offline_from, until_s)
        keep(fd.offline_episodes(unit.id, t, c.equipment_interval_s, until_s, missed_readings=d.offline_missed_readings))
        out_of_range(unit, EQUIPMENT, tags, t)
        if t.size == 0:
            continue
        tc, code_v = _series(store, EQUIPMENT, "fault_code", tags, offline_from, until_s)
        fault_code = _aligned(tc, np.where(_in_range(code_v, "equipment", "fault_code"), code_v, np.nan), t)
        running = np.where(_in_range(running, "equipment", "running"), running, np.nan)
        elevator = unit.type in (EquipmentType.ELEVATOR, EquipmentType.ESCALATOR)
        keep(
            fd.equipment_episodes(
                unit.id,
                t,
                running,
                fault_code,
                must_run=unit.type in d.running_types,
                elevator=elevator,
                persistence_code=d.fault_code_persistence,
                persistence_stopped=d.not_running_persistence,
            )
        )
        if unit.type in DAYS_OFF_TYPES and unit.maintained_system == System.HVAC:
            keep(
                fd.days_off_running_episodes(
                    unit.id,
                    t,
                    running,
                    tz,
                    hours.start,
                    hours.end,
                    occupant_switched=building.office_class == OfficeHvacClass.A,
                    persistence=d.hvac_days_off_persistence,
                )
            )
        if unit.type in HVAC_MODE_TYPES or unit.type == EquipmentType.CHILLER:
            supply = None
            for name, heat_min, cool_max in (
                ("supply_temp", d.heating_water_min_c, d.cooling_water_max_c),
                ("supply_air_temp", d.heating_air_min_c, d.cooling_air_max_c),
                ("chw_supply_temp", None, d.cooling_water_max_c),
            ):
                if name in allowed_fields(unit):
                    ts, v = _series(store, EQUIPMENT, name, tags, offline_from, until_s)
                    v = np.where(_in_range(v, "equipment", name), v, np.nan)
                    supply = (_aligned(ts, v, t), heat_min, cool_max)
                    break
            per_unit[unit.id] = (t, running, supply)  # type: ignore[assignment]
    if len(per_unit) >= 2:
        grid = np.unique(np.concatenate([p[0] for p in per_unit.values()]))
        for unit_id, (t, running, supply) in per_unit.items():
            on = _aligned(t, running, grid) == 1
            if supply is None:
                continue
            values, heat_min, cool_max = supply  # type: ignore[misc]
            v = _aligned(t, values, grid)
            if heat_min is not None:
                heating[unit_id] = on & (v >= heat_min)
            cooling[unit_id] = on & (v <= cool_max)
        keep(fd.simultaneous_heating_cooling_episodes(grid, heating, cooling, persistence=d.simultaneous_persistence))
    return group_common_causes(episodes, window_s=common_cause_windows(site), min_devices=d.common_cause_min_devices)


def common_cause_windows(site: Site) -> dict[str, int]:
    """Seconds within which devices' episodes start together (:mod:`facmon.analytics.common_cause`):
    devices go offline within the time it takes to miss the slowest (meter) readings; registers reset
    or jump at the same meter reading."""
    meter_s = site.collection.meter_interval_s
    return {
        FaultKind.DEVICE_OFFLINE: int(site.detection.offline_missed_readings * meter_s),
        FaultKind.METER_RESET: meter_s,
        FaultKind.SPIKE: meter_s,
    }


def _decimals(rollover: float) -> int:
    text = f"{rollover:.6f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _dt(ts_s: int):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts_s, UTC)


def series_tags(site: Site, building: Building, kind: str, target: str) -> FaultSeries:
    """Severity (registry detection.severity, else the kind's default), responsible vendor and the building's
    name (the ``building_name`` tag Grafana's alert messages show) of a fault series."""
    fault_kind = FaultKind(kind)
    severity = site.detection.severity.get(kind, DEFAULT_SEVERITY[fault_kind])
    device = building.device(target)
    if target == COLLECTION_TARGET:
        vendor = None  # facmon's own collection path: no vendor answers for it
    elif device is not None:
        vendor = responsible_vendor(site, fault_kind, building, device)
    else:  # the data gateway, a building-wide finding
        vendor = site.covering_vendor(building.code, System.ELECTRICAL)
    return FaultSeries(kind, target, str(getattr(severity, "value", severity)), vendor or NO_VENDOR, building_name_tag(building.name))


def detect_faults(
    site: Site,
    store: InfluxStore,
    from_s: int,
    until_s: int,
    *,
    buildings: list[str] | None = None,
    now_s: int | None = None,
) -> list[BuildingFaults]:
    """Run the detectors for [from_s, until_s) and write ``fault`` points (idempotent; state carries across
    runs). ``now_s``: the wall-clock time recorded as ``noticed`` on new start points (default: now)."""
    now_s = int(time.time()) if now_s is None else now_s
    results = []
    all_lines: list[str] = []
    chosen = [b for b in site.buildings if buildings is None or b.code in buildings]
    found = collection_outages(
        {building.code: detect_building(site, building, store, from_s, until_s) for building in chosen},
        window_s=common_cause_windows(site)[FaultKind.DEVICE_OFFLINE],
    )
    earliest_s = min((e.onset_s for episodes in found.values() for e in episodes), default=from_s)
    noticed = noticed_in(store, [b.code for b in chosen], min(earliest_s, from_s), until_s)
    for building in chosen:
        episodes = found[building.code]
        last = last_points(store, building.code, from_s)
        previous = {key: (point.time_s, point.active) for key, point in last.items()}
        names = {key: point.building_name for key, point in last.items()}
        keys = {e.series for e in episodes} | {k for k in previous if k[0] in _KINDS}
        series_of = {key: series_tags(site, building, *key) for key in keys}
        known = {(kind, target, ts): value for (code, kind, target, ts), value in noticed.items() if code == building.code}
        lines = fault_lines(building.code, episodes, series_of, previous, from_s, until_s, now_s=now_s, noticed=known, previous_names=names)
        all_lines += lines
        attributed = [f.attributed(building.code, series_of[f.series].severity, series_of[f.series].vendor) for f in episodes]
        results.append(BuildingFaults(building.code, attributed, len(lines)))
    # One delete, then the writes: InfluxDB 1.x can drop freshly cached points of a delete that follows them.
    replace_faults(store, [b.code for b in chosen], all_lines, from_s, until_s)
    return results


_KINDS = {k.value for k in FaultKind}


def detect_faults_after(
    site: Site, store: InfluxStore, summary: AnalysisSummary | None, *, until_s: int | None = None
) -> list[BuildingFaults] | None:
    """Fault detection over the period a consumption analysis just covered (None when it did not run).
    ``until_s`` (epoch s) extends it past the analysis's last complete interval: live, the readings up to
    now are seen at once instead of when their 15-minute interval closes."""
    if summary is None:
        return None
    end_s = int(summary.end.timestamp()) if until_s is None else max(until_s, int(summary.end.timestamp()))
    # the buildings the analysis covered: a shard's worker detects only its own
    return detect_faults(site, store, int(summary.start.timestamp()), end_s, buildings=[b.building for b in summary.buildings])
