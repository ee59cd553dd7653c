"""The site simulator: every building of a registry, tick by tick, as raw device readings.

How a period is simulated
-------------------------
Time advances in base ticks (the greatest common divisor of the reporting intervals in
``site.collection``, 300 s by default). Everything exogenous -- weather, occupancy, loads, meter
rates, equipment values, IEQ targets -- is computed for a whole UTC day at once (a :class:`DayPlan`)
from random generators keyed by (seed, stream, building, day), so it depends only on the moment,
never on how a period was split into calls. Only two things are carried from tick to tick: the
meters' unwrapped raw counts and the zones' temperature, CO₂ and water vapour. They are advanced strictly
sequentially, so one call over [a, c) and two calls over [a, b) and [b, c) give identical readings.

Where a simulation starts
-------------------------
The first call fixes the *origin*: its first tick, with seeded starting registers. Every later
call is positioned relative to it: a call that continues where the last one ended is seamless; a
call that starts later fast-forwards (the meters keep counting through the gap); a call that starts
earlier replays from the origin (so re-simulating a period reproduces the same values, and
rewriting them to InfluxDB is idempotent); a call before the origin moves the origin back, with
starting registers lowered by what the meters counted in between.

State file (``state_path``)
---------------------------
JSON, written atomically by :meth:`SiteSimulator.save_state` and read on construction. Registers are
physical counters: they are never rebased silently. With the same seed, site and model the state is
used; under another fault scenario or other efficiency measures the registers continue from where the
state ended (its ``current`` becomes the origin, :attr:`SiteSimulator.state_note` says so); a state of
another seed, site or model, or an unreadable one, raises :class:`SimulatorStateError` (new registers
would jump: a reset or a spike on every meter)::

    {"format": "facmon-simulator-state/1", "seed": 0, "site": "<sha256 of the site and parameters>",
     "scenario": "<sha256 of the efficiency measures and faults>", "step_s": 300,
     "origin":  {"ts": <epoch s>, "meters": {"<building>/<meter>": <unwrapped raw count>, ...},
                 "last_report": {...}, "zones": {"<building>/<sensor>": [<temp °C>, <CO₂ ppm>, <vapour hPa>], ...}},
     "current": {... same keys, "ts" = the next tick to simulate ...}}

An unwrapped raw count is everything the meter has counted, in raw units; the register it shows is
that count modulo its ``rollover``.

Fault injection
---------------
Two hook lists are the seams for it: :attr:`SiteSimulator.plan_hooks` may change a day's plan
(loads, equipment values, IEQ targets, meter resets) before it is simulated,
:attr:`SiteSimulator.reading_hooks` may change or drop each tick's readings before they are
returned. ``SiteSimulator(site, faults=...)`` installs both for a scenario of
:mod:`facmon.simulators.faults`; the faults join the state file's fingerprint. A meter reset is part of the
plan (``DayPlan.meter_resets``) and of the carried raw counts, so it survives split calls, fast
forwards and the state file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from facmon.errors import FacmonError
from facmon.registry import Building, Meter, Site, WeatherSensor
from facmon.schema import MEASUREMENT_OF_KIND, Device, device_kind
from facmon.simulators.clock import DAY_S, DayGrid, base_tick_s, day_grid, epoch_s, first_tick_at_or_after, utc_datetime
from facmon.simulators.equipment import BuildingActivity, EquipmentSpec, elevator_trip_rate, equipment_spec, equipment_values
from facmon.simulators.indoor import Zone, ZoneDrivers, indoor_quantities, layout_zones, step_first_order, zone_drivers
from facmon.simulators.loads import MeterAllocation, MeterShare, allocate, building_loads, meter_rates
from facmon.simulators.measures import EfficiencyMeasure, apply_measures, check_measures
from facmon.simulators.noise import Stream, keyed_rng
from facmon.simulators.occupancy import dining_presence, kitchen_activity, meals_per_day, office_occupancy
from facmon.simulators.parameters import DEFAULT_PARAMETERS, ModelParameters
from facmon.simulators.registers import POWER_DECIMALS, displayed_registers, initial_raw_counts
from facmon.simulators.weather import OutdoorWeather, outdoor_weather

if TYPE_CHECKING:
    from facmon.simulators.faults import FaultInjector, InjectedFault

STATE_FORMAT = "facmon-simulator-state/1"
IEQ_QUANTITIES = ("temperature", "humidity", "co2", "pm25", "pm10", "tvoc", "hcho")
IEQ_DECIMALS = {"temperature": 2, "humidity": 1, "co2": 0, "pm25": 1, "pm10": 1, "tvoc": 3, "hcho": 3}
WEATHER_DECIMALS = {"temperature": 2, "humidity": 1}
EQUIPMENT_DECIMALS = {
    "running": 0,
    "fault_code": 0,
    "power": 3,
    "load_ratio": 3,
    "chw_supply_temp": 2,
    "supply_temp": 2,
    "supply_air_temp": 2,
    "fan_speed_pct": 1,
    "frequency_hz": 2,
    "trips": 0,
    "water_temp": 2,
    "cabinet_temp": 2,
}
_PLAN_CACHE_DAYS = 4
_CHECKPOINTS = 400


@dataclass(frozen=True, slots=True)
class Reading:
    """One device's raw reading, exactly what a gateway would publish.

    ``fields`` are raw values as the device reports them: a meter's ``register`` is its raw display
    (before the CT/PT ``multiplier``, wrapping at ``rollover``) and ``power`` its raw kW (kW /
    multiplier); IEQ in °C, % RH, ppm, µg/m³, mg/m³; equipment per facmon.schema.FIELD_RANGES.
    """

    building: str  # building code
    device: str  # device id in the registry
    ts: int  # epoch seconds, UTC, aligned to the device's reporting interval
    fields: dict[str, float]


ReadingHook = Callable[[int, list[Reading]], list[Reading]]


@dataclass
class DayPlan:
    """Everything exogenous about one UTC day, at each base tick (ticks × columns arrays)."""

    grid: DayGrid
    weather: OutdoorWeather
    meter_rate: np.ndarray  # ticks × meters: kW (electricity), m³/h (water, gas), GJ/h (district heat/cooling)
    raw_step: np.ndarray  # ticks × meters: raw count added over each tick
    zone_temp_target_c: np.ndarray  # ticks × zones
    zone_temp_gain: np.ndarray
    zone_co2_target_ppm: np.ndarray
    zone_co2_gain: np.ndarray
    zone_vapour_target_hpa: np.ndarray
    zone_vapour_gain: np.ndarray
    zone_pm25_ugm3: np.ndarray
    zone_air_changes_h: np.ndarray
    zone_occupancy: np.ndarray
    zone_noise: np.ndarray  # ticks × zones × 4 standard normals (sensor noise)
    equipment: list[np.ndarray] = field(default_factory=list)  # per equipment: ticks × fields (NaN = absent)
    weather_sensors: list[np.ndarray] = field(default_factory=list)  # per weather sensor: ticks × quantities
    meter_resets: list[tuple[int, int]] = field(default_factory=list)  # (tick index, meter column): the count is 0 at that tick


@dataclass
class _State:
    """What is carried between ticks, as of the instant ``ts`` (the next tick to simulate)."""

    ts: int
    raw_counts: np.ndarray  # per meter, unwrapped raw count
    last_report: np.ndarray  # per meter, raw count at its last report (for non-cumulative meters)
    zones: np.ndarray  # per zone temperature °C, then per zone CO₂ ppm, then per zone water vapour hPa

    def copy(self) -> _State:
        return _State(self.ts, self.raw_counts.copy(), self.last_report.copy(), self.zones.copy())


@dataclass(frozen=True)
class _BuildingDevices:
    """A building's devices in reporting order, with their columns in the site arrays."""

    code: str
    meters: list[tuple[str, int, bool, bool]]  # (id, column, reports power, cumulative)
    zones: list[tuple[str, int, tuple[tuple[str, int], ...]]]  # (id, zone column, (quantity, index)...)
    weather: list[tuple[str, int, tuple[str, ...]]]  # (id, weather column, quantities)
    equipment: list[tuple[str, int, tuple[str, ...], bool]]  # (id, equipment column, field names, may omit)


def site_fingerprint(
    site: Site, parameters: ModelParameters, measures: Sequence[EfficiencyMeasure] = (), faults: Sequence[object] = ()
) -> str:
    """Identifies the site registry and model parameters (and, when given, efficiency measures and injected
    faults: the whole of what older state files recorded as ``site``)."""
    text = site.model_dump_json() + "\n" + repr(parameters) + ("\n" + repr(tuple(measures)) if measures else "")
    if faults:
        text += "\n" + repr(tuple(faults))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scenario_fingerprint(measures: Sequence[EfficiencyMeasure] = (), faults: Sequence[object] = ()) -> str:
    """Identifies the efficiency measures and injected faults a run simulates ("" for none)."""
    if not measures and not faults:
        return ""
    return hashlib.sha256((repr(tuple(measures)) + "\n" + repr(tuple(faults))).encode("utf-8")).hexdigest()


class SimulatorStateError(FacmonError):
    """A state file whose registers cannot be continued (another seed, site or model, or unreadable)."""


class SiteSimulator:
    """Simulates every building of ``site``; deterministic for a given ``seed``.

    Not thread-safe; one :meth:`readings` iteration at a time.
    """

    def __init__(
        self,
        site: Site,
        seed: int = 0,
        state_path: Path | None = None,
        *,
        parameters: ModelParameters = DEFAULT_PARAMETERS,
        measures: Sequence[EfficiencyMeasure] = (),
        faults: Sequence[InjectedFault] = (),
    ):
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        check_measures(site, measures)
        self.site = site
        self.measures = tuple(measures)
        self.seed = seed
        self.state_path = Path(state_path) if state_path is not None else None
        self.parameters = parameters
        self.step_s = base_tick_s(site.collection)
        self.climate = parameters.climates[site.site.climate_zone]
        self.faults = tuple(faults)
        self.fingerprint = site_fingerprint(site, parameters)
        self.scenario = scenario_fingerprint(self.measures, self.faults)
        # what a state file written before the scenario was recorded apart held as "site"
        self._combined_fingerprint = site_fingerprint(site, parameters, self.measures, self.faults)
        self.plan_hooks: list[Callable[[DayPlan], DayPlan]] = []
        self.reading_hooks: list[ReadingHook] = []
        self.state_note: str | None = None  # how a state file was used, when not as written

        self._meters: list[tuple[int, Meter]] = []
        self._columns: list[dict[str, int]] = []
        for b, building in enumerate(site.buildings):
            columns = {}
            for meter in building.meters:
                columns[meter.id] = len(self._meters)
                self._meters.append((b, meter))
            self._columns.append(columns)
        self._multiplier = np.array([m.multiplier for _, m in self._meters], dtype=np.float64)
        self._rollover = np.array([m.rollover for _, m in self._meters], dtype=np.float64)
        self._has_interval_meters = any(not m.cumulative for _, m in self._meters)
        self._allocations: list[MeterAllocation] = [allocate(b, self._columns[i], parameters.loads) for i, b in enumerate(site.buildings)]

        self._zones: list[Zone] = []
        self._zone_ranges: list[tuple[int, int]] = []
        for b, building in enumerate(site.buildings):
            first = len(self._zones)
            rng = keyed_rng(seed, Stream.DEVICE_CONSTANTS, b, 0)
            self._zones += layout_zones(b, building, rng, parameters.indoor)
            self._zone_ranges.append((first, len(self._zones)))
        self._equipment: list[EquipmentSpec] = [
            equipment_spec(b, building, equipment, self._columns[b])
            for b, building in enumerate(site.buildings)
            for equipment in building.equipment
        ]
        self._weather_sensors: list[tuple[int, WeatherSensor, float]] = []
        for b, building in enumerate(site.buildings):
            for sensor in building.weather_sensors:
                bias_c = float(keyed_rng(seed, Stream.DEVICE_CONSTANTS, b, 1).normal(0.0, 0.3))
                self._weather_sensors.append((b, sensor, bias_c))
        self._devices = self._device_order()
        self._measurements: dict[tuple[str, str], str] = {
            (building.code, device.id): MEASUREMENT_OF_KIND[device_kind(device)]
            for building in site.buildings
            for device in building.all_devices()
        }

        self._plans: OrderedDict[int, DayPlan] = OrderedDict()
        self._origin: _State | None = None
        self._current: _State | None = None
        self._checkpoints: OrderedDict[int, _State] = OrderedDict()
        self.fault_injector: FaultInjector | None = None
        if self.faults:
            from facmon.simulators.faults import FaultInjector  # faults.py builds on this module

            self.fault_injector = FaultInjector(self, self.faults)
        if self.state_path is not None:
            self._load_state(self.state_path)

    # -- public --------------------------------------------------------------------------------

    def measurement_of(self, reading: Reading) -> str:
        """The InfluxDB measurement a reading is stored in (meter, ieq, equipment or weather)."""
        return self._measurements[(reading.building, reading.device)]

    def device_of(self, reading: Reading) -> tuple[Building, Device]:
        """The registry building and device a reading comes from."""
        building = self.site.building(reading.building)
        assert building is not None
        device = building.device(reading.device)
        assert device is not None
        return building, device

    def building_index(self, code: str) -> int:
        """Position of building ``code`` in the registry (KeyError if it is not there)."""
        for b, building in enumerate(self.site.buildings):
            if building.code == code:
                return b
        raise KeyError(code)

    def meter_column(self, building: str, meter_id: str) -> int:
        """Column of a meter in the plan's meter arrays (``DayPlan.meter_rate``, ``raw_step``)."""
        return self._columns[self.building_index(building)][meter_id]

    def main_meters(self, building: str) -> list[MeterShare]:
        """The building's main electricity meters (01000) with their shares and ratings, kW."""
        return list(self._allocations[self.building_index(building)].main)

    def meter_rated_kw(self, column: int) -> float:
        """Rated power of the meter in ``column``, kW (+inf without one)."""
        rated = self._meters[column][1].rated_power_kw
        return float(rated) if rated else math.inf

    def equipment_column(self, building: str, equipment_id: str) -> tuple[int, EquipmentSpec]:
        """Index of a piece of equipment in ``DayPlan.equipment`` and its spec (fields, meter, rating)."""
        b = self.building_index(building)
        for j, spec in enumerate(self._equipment):
            if spec.building_index == b and spec.equipment.id == equipment_id:
                return j, spec
        raise KeyError(f"{building}/{equipment_id}")

    def zone_column(self, building: str, sensor_id: str) -> int:
        """Column of an IEQ sensor's zone in the plan's zone arrays."""
        b = self.building_index(building)
        for z, zone in enumerate(self._zones):
            if zone.building_index == b and zone.sensor.id == sensor_id:
                return z
        raise KeyError(f"{building}/{sensor_id}")

    def recount_meters(self, plan: DayPlan, columns: Sequence[int]) -> None:
        """After a plan hook changed ``plan.meter_rate`` of ``columns``: their raw counts per tick follow."""
        for c in columns:
            plan.raw_step[:, c] = plan.meter_rate[:, c] * (self.step_s / 3600.0) / self._multiplier[c]

    @property
    def position(self) -> datetime | None:
        """The next tick the simulation would produce (UTC), or None before the first call."""
        return utc_datetime(self._current.ts) if self._current is not None else None

    @property
    def origin(self) -> datetime | None:
        """The first tick of the simulated history (UTC): registers start from their seeded values here."""
        return utc_datetime(self._origin.ts) if self._origin is not None else None

    def readings(self, start: datetime, end: datetime) -> Iterator[list[Reading]]:
        """Advance the simulation over [start, end) (timezone-aware datetimes), yielding the readings
        of each base tick that has any (one list per tick, in time order; within a tick by building,
        then meters, IEQ sensors, weather sensors, equipment as in the registry).

        Meter registers and indoor state carry over between calls: a later call continuing at
        ``end`` is seamless. The state is advanced past a tick before its list is yielded, so a
        consumer that stops after handling a tick resumes at the next one."""
        start_s, end_s = epoch_s(start), epoch_s(end)
        first = first_tick_at_or_after(start_s, self.step_s)
        if end_s <= first:
            return
        self._position_at(first)
        for day in range(first // DAY_S, (end_s - 1) // DAY_S + 1):
            plan = self._plan(day)
            i0 = int(np.searchsorted(plan.grid.ts_s, max(first, day * DAY_S)))
            i1 = int(np.searchsorted(plan.grid.ts_s, end_s))
            if i1 > i0:
                yield from self._emit_chunk(plan, i0, i1)

    def seek(self, moment: datetime) -> None:
        """Position the simulation at the first tick at or after ``moment`` without producing
        readings: fast-forwards (the meters keep counting) or replays from the origin as needed."""
        self._position_at(first_tick_at_or_after(epoch_s(moment), self.step_s))

    def save_state(self) -> None:
        """Write the origin and current state to ``state_path`` (atomically); no-op without a path
        or before anything was simulated."""
        if self.state_path is None or self._current is None or self._origin is None:
            return
        body = {
            "format": STATE_FORMAT,
            "seed": self.seed,
            "site": self.fingerprint,
            "scenario": self.scenario,
            "step_s": self.step_s,
            "origin": self._state_json(self._origin),
            "current": self._state_json(self._current),
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_name(self.state_path.name + ".tmp")
        temporary.write_text(json.dumps(body, indent=1))
        os.replace(temporary, self.state_path)

    # -- positioning ---------------------------------------------------------------------------

    def _position_at(self, tick: int) -> None:
        """Make ``self._current`` the state at ``tick`` (see the module docstring)."""
        if self._current is None or self._origin is None:
            self._origin = self._fresh_state(tick)
            self._current = self._origin.copy()
            return
        if tick == self._current.ts:
            return
        if tick < self._origin.ts:
            self._origin = self._extend_origin_back(tick)
            self._current = self._origin.copy()
            self._checkpoints.clear()
            return
        if tick < self._current.ts:
            usable = [ts for ts in self._checkpoints if ts <= tick]
            self._current = (self._checkpoints[max(usable)] if usable else self._origin).copy()
        self._fast_forward(tick)

    def _fresh_state(self, tick: int) -> _State:
        plan = self._plan(tick // DAY_S)
        i = int(np.searchsorted(plan.grid.ts_s, tick))
        raw = initial_raw_counts(self.seed, self._meters)
        zones = np.concatenate([plan.zone_temp_target_c[i], plan.zone_co2_target_ppm[i], plan.zone_vapour_target_hpa[i]])
        return _State(tick, raw, raw.copy(), zones)

    def _extend_origin_back(self, tick: int) -> _State:
        """A new origin at ``tick`` before the current one, whose registers reach the old origin's values."""
        assert self._origin is not None
        counted = np.zeros(len(self._meters))
        reset = np.zeros(len(self._meters), dtype=bool)
        for day in range(tick // DAY_S, (self._origin.ts - 1) // DAY_S + 1):
            plan = self._plan(day)
            i0 = int(np.searchsorted(plan.grid.ts_s, tick))
            i1 = int(np.searchsorted(plan.grid.ts_s, self._origin.ts))
            counted += plan.raw_step[i0:i1].sum(axis=0)
            for i, column in plan.meter_resets:
                reset[column] |= i0 <= i < i1
        fresh = self._fresh_state(tick)
        # A meter reset in between hides what the meter showed before it: those start from their seeded values.
        raw = np.where(reset, fresh.raw_counts, self._origin.raw_counts - counted)
        return replace(fresh, raw_counts=raw, last_report=raw.copy())

    def _fast_forward(self, tick: int) -> None:
        assert self._current is not None
        while self._current.ts < tick:
            day = self._current.ts // DAY_S
            plan = self._plan(day)
            i0 = int(np.searchsorted(plan.grid.ts_s, self._current.ts))
            i1 = int(np.searchsorted(plan.grid.ts_s, tick))
            raw, zones = self._integrate(plan, i0, i1)
            state = self._current
            if self._has_interval_meters:
                for k in range(i1 - i0):
                    self._note_interval_reports(plan.grid.ts_s[i0 + k], raw[k], state.last_report)
            ts_next = int(plan.grid.ts_s[i1]) if i1 < plan.grid.size else first_tick_at_or_after((day + 1) * DAY_S, self.step_s)
            self._current = _State(ts_next, raw[-1], state.last_report, zones[-1])
            self._checkpoint()

    def _checkpoint(self) -> None:
        assert self._current is not None
        if self._current.ts % DAY_S < self.step_s:
            self._checkpoints[self._current.ts] = self._current.copy()
            while len(self._checkpoints) > _CHECKPOINTS:
                self._checkpoints.popitem(last=False)

    def _note_interval_reports(self, ts: int, raw: np.ndarray, last_report: np.ndarray) -> None:
        if int(ts) % self.site.collection.meter_interval_s == 0:
            last_report[:] = raw

    # -- simulation ----------------------------------------------------------------------------

    def _integrate(self, plan: DayPlan, i0: int, i1: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw counts and zone states (temperatures, CO₂, vapour) at ticks i0..i1 inclusive, rows 0..i1-i0."""
        assert self._current is not None
        raw = np.cumsum(np.vstack([self._current.raw_counts[None, :], plan.raw_step[i0:i1]]), axis=0)
        for i, column in plan.meter_resets:
            if i0 <= i < i1:  # the count shows 0 at tick i and counts on from there
                raw[i - i0 :, column] -= raw[i - i0, column]
        target = np.hstack([plan.zone_temp_target_c[i0:i1], plan.zone_co2_target_ppm[i0:i1], plan.zone_vapour_target_hpa[i0:i1]])
        gain = np.hstack([plan.zone_temp_gain[i0:i1], plan.zone_co2_gain[i0:i1], plan.zone_vapour_gain[i0:i1]])
        return raw, step_first_order(self._current.zones, target, gain)

    def _emit_chunk(self, plan: DayPlan, i0: int, i1: int) -> Iterator[list[Reading]]:
        assert self._current is not None
        raw, zones = self._integrate(plan, i0, i1)
        n_zones = len(self._zones)
        collection = self.site.collection
        ts_all = plan.grid.ts_s[i0:i1]
        meter_due = ts_all % collection.meter_interval_s == 0
        ieq_due = ts_all % collection.ieq_interval_s == 0
        weather_due = ts_all % collection.weather_interval_s == 0
        equipment_due = ts_all % collection.equipment_interval_s == 0

        registers = _rows(displayed_registers(raw[:-1], self._rollover), meter_due)
        power = _rows(np.round(plan.meter_rate[i0:i1] / self._multiplier, POWER_DECIMALS), meter_due)
        raw_rows = _rows(raw[:-1], meter_due) if self._has_interval_meters else {}
        ieq_rows: dict[int, list] = {}
        if n_zones and ieq_due.any():
            s = slice(i0, i1)
            quantities = indoor_quantities(
                zones[:-1, :n_zones],
                zones[:-1, n_zones : 2 * n_zones],
                zones[:-1, 2 * n_zones :],
                plan.zone_pm25_ugm3[s],
                plan.zone_air_changes_h[s],
                plan.zone_occupancy[s],
                plan.zone_noise[s],
                self.parameters.indoor,
            )
            stacked = np.stack([np.round(quantities[q], IEQ_DECIMALS[q]) for q in IEQ_QUANTITIES], axis=-1)
            ieq_rows = _rows(stacked, ieq_due)
        weather_rows = [_rows(values[i0:i1], weather_due) for values in plan.weather_sensors]
        equipment_rows = [_rows(values[i0:i1], equipment_due) for values in plan.equipment]

        state = self._current
        last_report = state.last_report
        for k in range(i1 - i0):
            ts = int(ts_all[k])
            batch: list[Reading] = []
            m_regs = registers.get(k)
            m_pow = power.get(k)
            m_raw = raw_rows.get(k)
            z_rows = ieq_rows.get(k)
            for devices in self._devices:
                code = devices.code
                if m_regs is not None:
                    for device_id, column, reports_power, cumulative in devices.meters:
                        if cumulative:
                            value = m_regs[column]
                        else:
                            value = round(m_raw[column] - last_report[column], 3)  # type: ignore[index]
                        if reports_power:
                            batch.append(Reading(code, device_id, ts, {"register": value, "power": m_pow[column]}))  # type: ignore[index]
                        else:
                            batch.append(Reading(code, device_id, ts, {"register": value}))
                if z_rows is not None:
                    for device_id, column, pairs in devices.zones:
                        row = z_rows[column]
                        batch.append(Reading(code, device_id, ts, {name: row[i] for name, i in pairs}))
                for device_id, column, names in devices.weather:
                    row = weather_rows[column].get(k)
                    if row is not None:
                        batch.append(Reading(code, device_id, ts, dict(zip(names, row))))
                for device_id, column, names, may_omit in devices.equipment:
                    row = equipment_rows[column].get(k)
                    if row is not None:
                        values = dict(zip(names, row))
                        if may_omit:
                            values = {name: v for name, v in values.items() if not math.isnan(v)}
                        batch.append(Reading(code, device_id, ts, values))
            if m_raw is not None:
                last_report[:] = m_raw
            if k + 1 < i1 - i0:
                next_ts = int(ts_all[k + 1])
            elif i1 < plan.grid.size:
                next_ts = int(plan.grid.ts_s[i1])
            else:
                next_ts = first_tick_at_or_after((plan.grid.day + 1) * DAY_S, self.step_s)
            self._current = _State(next_ts, raw[k + 1], last_report, zones[k + 1])
            if k + 1 == i1 - i0:
                self._checkpoint()
            for hook in self.reading_hooks:
                batch = hook(ts, batch)
            if batch:
                yield batch

    # -- day plans -----------------------------------------------------------------------------

    def _plan(self, day: int) -> DayPlan:
        plan = self._plans.get(day)
        if plan is not None:
            self._plans.move_to_end(day)
            return plan
        plan = self._build_plan(day)
        for hook in self.plan_hooks:
            plan = hook(plan)
        self._plans[day] = plan
        while len(self._plans) > _PLAN_CACHE_DAYS:
            self._plans.popitem(last=False)
        return plan

    def _build_plan(self, day: int) -> DayPlan:
        p = self.parameters
        site = self.site
        grid = day_grid(day, self.step_s, site.site.tz)
        n = grid.size
        weather = outdoor_weather(grid, self.climate, site.site.latitude_deg, self.seed, p.weather)
        kitchen = kitchen_activity(grid, p.occupancy)
        dining = dining_presence(grid, p.occupancy)
        occupancies = [
            office_occupancy(
                grid, b.working_hours, b.energy_users, seed=self.seed, building_index=i, params=p.occupancy, lunch_break=not b.canteen
            )
            for i, b in enumerate(site.buildings)
        ]
        lunches = p.occupancy.lunch_share * sum(
            (o.attendance * b.energy_users for o, b in zip(occupancies, site.buildings) if not b.canteen), np.zeros(n)
        )
        meals = meals_per_day(lunches, p.occupancy)

        rates = np.zeros((n, len(self._meters)))
        electric_noise = np.ones((n, len(self._meters)))
        n_zones = len(self._zones)
        drivers: list[ZoneDrivers] = []
        zone_noise = np.zeros((n, n_zones, 4))
        activities: list[BuildingActivity] = []
        for b, building in enumerate(site.buildings):
            columns = list(self._columns[b].values())
            rng = keyed_rng(self.seed, Stream.ELECTRIC_TICK, b, day)
            if columns:
                electric_noise[:, columns] = np.clip(rng.normal(1.0, p.loads.electric_noise, (n, len(columns))), 0.8, 1.2)
            shape = 1.0 / p.loads.water_noise**2
            water_noise = keyed_rng(self.seed, Stream.WATER_TICK, b, day).gamma(shape, 1.0 / shape, n)
            occupancy = occupancies[b]
            loads = building_loads(
                grid,
                building,
                self._allocations[b],
                weather,
                occupancy,
                kitchen_activity=kitchen,
                meals_per_working_day=meals,
                climate=self.climate,
                params=p.loads,
            )
            apply_measures(loads.subitem_kw, grid.local_day, [m for m in self.measures if m.building == building.code])
            meter_rates(loads, self._allocations[b], rates, electric_noise, water_noise, p.loads)
            first, last = self._zone_ranges[b]
            if last > first:
                persons = occupancy.persons + (lunches * dining if building.canteen else 0.0)
                drivers.append(
                    zone_drivers(
                        self._zones[first:last], building, self.step_s, weather, loads.hvac, occupancy.fraction, persons, kitchen, p.indoor
                    )
                )
                zone_noise[:, first:last] = keyed_rng(self.seed, Stream.SENSOR_TICK, b, day).standard_normal((n, last - first, 4))
            allocation = self._allocations[b]
            if allocation.main:
                main_kw = sum(rates[:, m.column] for m in allocation.main) / p.loads.main_meter_losses
            else:
                main_kw = sum(loads.subitem_kw.values(), np.zeros(n))
            activities.append(BuildingActivity(grid, weather, occupancy, loads, rates, main_kw, site.collection.equipment_interval_s))

        equipment: list[np.ndarray] = []
        per_building: dict[int, list[EquipmentSpec]] = {}
        for spec in self._equipment:
            per_building.setdefault(spec.building_index, []).append(spec)
        for b, specs in per_building.items():
            rng = keyed_rng(self.seed, Stream.EQUIPMENT_TICK, b, day)
            trips_rng = keyed_rng(self.seed, Stream.ELEVATOR_TRIPS, b, day)
            noise = rng.standard_normal((n, len(specs), 3))
            trips = trips_rng.poisson(
                np.repeat(elevator_trip_rate(activities[b].occupancy, site.collection.equipment_interval_s)[:, None], len(specs), axis=1)
            )
            for j, spec in enumerate(specs):
                values = equipment_values(spec, site.buildings[b], activities[b], noise[:, j], trips[:, j].astype(float), p.loads)
                decimals = [EQUIPMENT_DECIMALS.get(name, 3) for name in spec.field_names]
                equipment.append(np.column_stack([np.round(values[:, i], d) for i, d in enumerate(decimals)]))

        weather_sensors = []
        for b, sensor, bias_c in self._weather_sensors:
            noise = keyed_rng(self.seed, Stream.SENSOR_TICK, b, day + 1_000_000).standard_normal((n, 2))
            columns = {
                "temperature": np.round(np.clip(weather.temp_c + bias_c + 0.1 * noise[:, 0], -59.0, 59.0), WEATHER_DECIMALS["temperature"]),
                "humidity": np.round(np.clip(weather.humidity_pct + 1.0 * noise[:, 1], 5.0, 100.0), WEATHER_DECIMALS["humidity"]),
            }
            weather_sensors.append(np.column_stack([columns[q.value] for q in sensor.quantities]))

        def zone_array(name: str) -> np.ndarray:
            if not drivers:
                return np.zeros((n, 0))
            return np.hstack([getattr(d, name) for d in drivers])

        return DayPlan(
            grid=grid,
            weather=weather,
            meter_rate=rates,
            raw_step=rates * (self.step_s / 3600.0) / self._multiplier,
            zone_temp_target_c=zone_array("temp_target_c"),
            zone_temp_gain=zone_array("temp_gain"),
            zone_co2_target_ppm=zone_array("co2_target_ppm"),
            zone_co2_gain=zone_array("co2_gain"),
            zone_vapour_target_hpa=zone_array("vapour_target_hpa"),
            zone_vapour_gain=zone_array("vapour_gain"),
            zone_pm25_ugm3=zone_array("pm25_ugm3"),
            zone_air_changes_h=zone_array("air_changes_h"),
            zone_occupancy=zone_array("occupancy"),
            zone_noise=zone_noise,
            equipment=equipment,
            weather_sensors=weather_sensors,
        )

    # -- layout and state file -----------------------------------------------------------------

    def _device_order(self) -> list[_BuildingDevices]:
        zone_index = {(z.building_index, z.sensor.id): i for i, z in enumerate(self._zones)}
        weather_index = {(b, s.id): i for i, (b, s, _) in enumerate(self._weather_sensors)}
        equipment_index = {(s.building_index, s.equipment.id): i for i, s in enumerate(self._equipment)}
        spec_of = {(s.building_index, s.equipment.id): s for s in self._equipment}
        order = []
        for b, building in enumerate(self.site.buildings):
            order.append(
                _BuildingDevices(
                    code=building.code,
                    meters=[(m.id, self._columns[b][m.id], m.energy == "01", m.cumulative) for m in building.meters],
                    zones=[
                        (s.id, zone_index[(b, s.id)], tuple((q.value, IEQ_QUANTITIES.index(q.value)) for q in s.quantities))
                        for s in building.ieq_sensors
                    ],
                    weather=[(s.id, weather_index[(b, s.id)], tuple(q.value for q in s.quantities)) for s in building.weather_sensors],
                    equipment=[
                        (e.id, equipment_index[(b, e.id)], spec_of[(b, e.id)].field_names, spec_of[(b, e.id)].may_omit)
                        for e in building.equipment
                    ],
                )
            )
        return order

    def _meter_key(self, column: int) -> str:
        b, meter = self._meters[column]
        return f"{self.site.buildings[b].code}/{meter.id}"

    def _zone_key(self, index: int) -> str:
        zone = self._zones[index]
        return f"{self.site.buildings[zone.building_index].code}/{zone.sensor.id}"

    def _state_json(self, state: _State) -> dict:
        return {
            "ts": state.ts,
            "meters": {self._meter_key(c): float(state.raw_counts[c]) for c in range(len(self._meters))},
            "last_report": {self._meter_key(c): float(state.last_report[c]) for c in range(len(self._meters))},
            "zones": {self._zone_key(z): [float(state.zones[z + k * len(self._zones)]) for k in range(3)] for z in range(len(self._zones))},
        }

    def _state_from_json(self, data: dict) -> _State:
        meters = [data["meters"][self._meter_key(c)] for c in range(len(self._meters))]
        last = [data["last_report"][self._meter_key(c)] for c in range(len(self._meters))]
        zones = [data["zones"][self._zone_key(z)] for z in range(len(self._zones))]
        if any(len(z) != 3 for z in zones):
            raise ValueError("each zone needs [temperature °C, CO₂ ppm, vapour hPa]")
        return _State(
            int(data["ts"]),
            np.array(meters, dtype=np.float64),
            np.array(last, dtype=np.float64),
            np.array([z[k] for k in range(3) for z in zones], dtype=np.float64),
        )

    def _load_state(self, path: Path) -> None:
        if not path.exists():
            return
        way_out = (
            f"its registers cannot be continued, and new ones would jump (a reset or a spike on every meter): run with the "
            f"seed, registry and model it was written for, or move {path} away to start new registers on purpose"
        )
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise SimulatorStateError(f"{path}: not readable ({exc}); {way_out}") from None
        if not isinstance(body, dict) or body.get("format") != STATE_FORMAT:
            raise SimulatorStateError(f"{path}: not a {STATE_FORMAT} file; {way_out}")
        if body.get("seed") != self.seed:
            raise SimulatorStateError(f"{path}: written for seed {body.get('seed')}, not {self.seed}; {way_out}")
        if body.get("step_s") != self.step_s:
            raise SimulatorStateError(f"{path}: written for a {body.get('step_s')} s tick, not {self.step_s} s; {way_out}")
        if "scenario" in body:
            same_site, same_scenario = body.get("site") == self.fingerprint, body.get("scenario") == self.scenario
        else:  # written before the scenario was recorded apart: "site" covered both
            same_scenario = body.get("site") == self._combined_fingerprint
            same_site = same_scenario or (body.get("site") == self.fingerprint)  # that file had no scenario
        if not same_site:
            raise SimulatorStateError(f"{path}: written for a different site registry or model; {way_out}")
        try:
            origin = self._state_from_json(body["origin"])
            current = self._state_from_json(body["current"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise SimulatorStateError(f"{path}: incomplete ({type(exc).__name__}: {exc}); {way_out}") from None
        if same_scenario:
            self._origin, self._current = origin, current
            return
        # Another fault scenario or other measures: the registers are physical counters and go on from
        # where the state ended; earlier periods are simulated backwards from there under this scenario.
        self._origin, self._current = current, current.copy()
        self.state_note = (
            f"{path}: written under another fault scenario or other efficiency measures; the registers continue from "
            f"{datetime.fromtimestamp(current.ts, UTC):%Y-%m-%d %H:%M} UTC, where it ended"
        )


def _rows(values: np.ndarray, due: np.ndarray) -> dict[int, list]:
    """Rows of ``values`` at the due ticks, as Python lists keyed by tick index within the chunk."""
    indices = np.flatnonzero(due)
    if len(indices) == 0:
        return {}
    return dict(zip(indices.tolist(), values[indices].tolist()))
