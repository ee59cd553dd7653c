"""Fault injection with ground truth: a scenario file of faults, each with a kind, a building, a
target device, a start and a duration, injected into the simulated site and recorded as truth.

Scenario file (YAML)::

    name: a month of faults          # optional
    faults:
    - {kind: water_leak, building: '341122A002', target: W-TOILET, start: '2026-10-08T18:00', duration: 2d}
    - {kind: device_offline, building: '341122A003', target: E-CH1, start: '2026-10-22T14:00+08:00', duration: 3h}

``start`` is ISO-8601; without a UTC offset it is local time of the site. ``duration`` is a number of
seconds or a text such as ``90m``, ``3h``, ``1d12h``. Optional on every fault: ``severity``
(critical/major/minor; each kind has a default) and ``description``; kind-specific parameters are
listed in :class:`Fault`. :func:`load_faults` validates the file against the site registry and names
file, line and fault for every problem, like :func:`facmon.registry.load_site` does.

How each kind shows in the data (what a detector can see):

========================== ======================================================================
kind                       effect during [start, start + duration)
========================== ======================================================================
meter_stuck                the meter's register stays flat while its power (the load) continues;
                           the energy of the window is never counted (plan: no raw count added)
device_offline             the device publishes nothing at all (reading hook drops its readings)
spike                      every reading of an electricity meter jumps: power ``factor`` × rated
                           power and the register by ``factor`` × rated power × interval, then
                           back (reading hook)
out_of_range               ``field`` of every reading exceeds its facmon.schema.FIELD_RANGES
                           bound: upper bound + span (reading hook)
meter_reset                the register drops to 0 at the first tick of the window (meter
                           replaced) and counts on from there (plan: ``DayPlan.meter_resets``)
lights_after_hours         ``extra_kw`` more load on a lighting meter (and the main meter) outside
                           working hours: after hours, weekends, holidays
hvac_weekend               an HVAC unit runs (``level`` × rated power, running = 1) on days off;
                           its meter and the main meter carry the load
water_leak                 a steady ``flow_m3_h`` on a water meter (and on the MAIN water meter
                           upstream of a sub-meter), day and night: night flow that never stops
equipment_fault_code       the equipment reports ``fault_code`` = ``code``, stops (running 0,
                           power 0), its meter loses its load
elevator_out_of_service    an elevator stops: running 0, trips 0, power 0
ventilation_failure        the zone's fresh air fails: ``air_changes_h`` only, CO₂ climbs with
                           occupancy
comfort_out_of_band        the zone's temperature is driven to ``temperature_c`` (GB/T 18883
                           comfort band 16-28 °C) with the HVAC time constant
simultaneous_heating_      the target heats while ``partner`` (another HVAC unit of the building)
cooling                    cools, both running at ``level`` × rated power
========================== ======================================================================

Ground truth: :func:`truth_lines` gives ``sim_truth`` points (tags building, kind, target; field
``active`` 1 at the start and 0 at the end) and :func:`labels` the JSON labels file (format
``facmon-fault-labels/1``; one entry per fault with kind, building, target, vendor, severity,
start/end as UTC ISO-8601 and epoch s, description and parameters).

Injection is deterministic and independent of how a period is split into calls: plan faults are
applied to each day's plan (built from the moment only), data faults to each reading by its time
only, and a meter reset lives in the carried raw counts.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from facmon.errors import FacmonError

# FaultKind and friends live in facmon (analytics shares them); re-exported here for the simulator's users.
from facmon.fault_kinds import DEFAULT_SEVERITY, FaultKind
from facmon.registry import (
    Building,
    Equipment,
    EquipmentType,
    Identifier,
    IeqSensor,
    Meter,
    RegistryYamlLoader,
    Site,
    System,
    WeatherSensor,
    duplicate_key_problems,
    require_quoted_code,
    responsible_system,
    validation_error_message,
    yaml_node_at,
)
from facmon.schema import FIELD_RANGES, allowed_fields, device_kind
from facmon.schema.truth import SimTruth, sim_truth_line
from facmon.simulators.parameters import hour_of
from facmon.standards import Severity
from facmon.workdays import is_working_day

if TYPE_CHECKING:
    from facmon.simulators.site import DayPlan, Reading, SiteSimulator

LABELS_FORMAT = "facmon-fault-labels/1"


# Faults of the data path (what the gateway reports), injected into readings; the others change the building.
READING_FAULTS = frozenset({FaultKind.DEVICE_OFFLINE, FaultKind.SPIKE, FaultKind.OUT_OF_RANGE})


# Kind-specific parameters: which kinds take them and their defaults (L: chosen so that each fault is
# plainly visible against normal operation of the example site).
PARAMETERS: dict[str, tuple[frozenset[FaultKind], float | str | None]] = {
    "extra_kw": (frozenset({FaultKind.LIGHTS_AFTER_HOURS}), None),  # default 0.6 × the meter's rated power
    "level": (frozenset({FaultKind.HVAC_WEEKEND, FaultKind.SIMULTANEOUS_HEATING_COOLING}), 0.6),  # share of rated power
    "flow_m3_h": (frozenset({FaultKind.WATER_LEAK}), 0.5),
    "code": (frozenset({FaultKind.EQUIPMENT_FAULT_CODE}), 101),
    "field": (frozenset({FaultKind.OUT_OF_RANGE}), None),  # default: power of a meter or equipment, else the first quantity
    "factor": (frozenset({FaultKind.SPIKE}), 5.0),  # multiple of rated power
    "air_changes_h": (frozenset({FaultKind.VENTILATION_FAILURE}), 0.05),  # air tight, fans and windows shut, 1/h
    "temperature_c": (frozenset({FaultKind.COMFORT_OUT_OF_BAND}), 31.0),
    "partner": (frozenset({FaultKind.SIMULTANEOUS_HEATING_COOLING}), None),  # default: another unit of the same type
}
COMFORT_TIME_CONSTANT_H = 1.0  # how fast a zone drifts to the fault's temperature (L)
HVAC_MODE_TYPES = (EquipmentType.HEAT_PUMP, EquipmentType.AHU, EquipmentType.FRESH_AIR_UNIT, EquipmentType.SPLIT_AC)
PARTNER_TYPES = (*HVAC_MODE_TYPES, EquipmentType.CHILLER)
# Supply temperatures of a unit heating or cooling, °C (as simulators/equipment.py models them).
HEATING_SUPPLY_C = {"supply_temp": 45.0, "supply_air_temp": 32.0}
COOLING_SUPPLY_C = {"supply_temp": 7.5, "supply_air_temp": 15.0, "chw_supply_temp": 7.0}
_RUNNING_VALUES = {"fan_speed_pct": 60.0, "frequency_hz": 40.0}

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$")


def parse_duration_s(value: object) -> int:
    """Seconds in a duration: a number of seconds, or text such as ``90m``, ``3h``, ``1d12h``, ``45s``."""
    if isinstance(value, bool):
        raise ValueError(f"duration {value!r} is not a duration such as 3h or 1d12h")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)) and any(match.groups()):
        d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = d * 86400 + h * 3600 + m * 60 + s
    else:
        raise ValueError(f"duration {value!r} is not a duration such as 90m, 3h or 1d12h")
    if seconds <= 0 or seconds != round(seconds):
        raise ValueError(f"duration {value!r} must be a positive whole number of seconds")
    return int(seconds)


class Fault(BaseModel):
    """One fault of a scenario file, as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    building: str
    target: Identifier = Field(description="device id in the building")
    start: datetime = Field(description="ISO-8601; without an offset local time of the site")
    duration_s: int = Field(alias="duration", description="seconds, or text such as 3h, 1d12h")
    severity: Severity | None = None
    description: str | None = None
    extra_kw: float | None = Field(None, gt=0, description="lights_after_hours: added load, kW")
    level: float | None = Field(None, gt=0, le=1, description="hvac_weekend, simultaneous_heating_cooling: share of rated power")
    flow_m3_h: float | None = Field(None, gt=0, description="water_leak: leak flow, m³/h")
    code: int | None = Field(None, ge=1, le=65535, description="equipment_fault_code: the vendor fault code")
    field: str | None = Field(None, description="out_of_range: the field that goes out of range")
    factor: float | None = Field(None, gt=1.2, description="spike: multiple of the meter's rated power")
    air_changes_h: float | None = Field(None, gt=0, description="ventilation_failure: remaining air changes, 1/h")
    temperature_c: float | None = Field(None, ge=-15, le=55, description="comfort_out_of_band: zone temperature driven to, °C")
    partner: Identifier | None = Field(None, description="simultaneous_heating_cooling: the unit cooling while the target heats")

    _check_code = field_validator("building", mode="before")(require_quoted_code)

    @field_validator("duration_s", mode="before")
    @classmethod
    def _duration(cls, value: object) -> int:
        return parse_duration_s(value)

    @model_validator(mode="after")
    def _parameters_fit_the_kind(self) -> Fault:
        for name, (kinds, _) in PARAMETERS.items():
            if getattr(self, name) is not None and self.kind not in kinds:
                raise ValueError(f"{name} does not apply to kind {self.kind.value} (it is for {', '.join(sorted(k.value for k in kinds))})")
        return self

    def parameter(self, name: str) -> Any:
        """A kind-specific parameter as written, or its default."""
        value = getattr(self, name)
        return PARAMETERS[name][1] if value is None else value


class FaultScenario(BaseModel):
    """The root of a scenario file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    description: str | None = None
    faults: list[Fault] = Field(min_length=1)


@dataclass(frozen=True)
class InjectedFault:
    """A fault resolved against the site: what is injected and recorded as ground truth."""

    number: int  # position in the scenario file, 0-based
    kind: FaultKind
    building: str
    target: str
    start_s: int  # epoch s, UTC
    end_s: int  # epoch s, UTC, exclusive
    vendor: str | None  # responsible vendor by the registry's coverage, None if nobody covers it
    system: System
    severity: Severity
    description: str
    parameters: tuple[tuple[str, float | str], ...] = field(default=())

    def parameter(self, name: str) -> Any:
        return dict(self.parameters)[name]

    def label(self) -> dict[str, Any]:
        """The fault as an entry of the labels file."""
        return {
            "kind": self.kind.value,
            "building": self.building,
            "target": self.target,
            "vendor": self.vendor,
            "system": self.system.value,
            "severity": self.severity.value,
            "start": _iso(self.start_s),
            "end": _iso(self.end_s),
            "start_s": self.start_s,
            "end_s": self.end_s,
            "description": self.description,
            "parameters": dict(self.parameters),
        }


class FaultFileError(FacmonError):
    """The scenario file cannot be used. ``problems`` holds one line per problem, naming file, line and fault."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s) in the fault scenario:\n" + "\n".join(f"  {p}" for p in problems))


# -- loading and validation ------------------------------------------------------------------------


def load_faults(path: str | Path, site: Site) -> list[InjectedFault]:
    """Read a scenario file and resolve it against ``site``; raises :class:`FaultFileError` naming every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FaultFileError(path, [f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FaultFileError(path, [f"{path}: cannot be read: {exc}"]) from None
    return parse_faults(text, path, site)


def parse_faults(text: str, path: Path, site: Site) -> list[InjectedFault]:
    """Validate scenario YAML text against ``site``; ``path`` is used in messages only."""
    try:
        root = yaml.compose(text, Loader=RegistryYamlLoader)
        raw = yaml.load(text, Loader=RegistryYamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise FaultFileError(path, [f"{path}{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(raw, dict) or root is None:
        raise FaultFileError(
            path, [f"{path}:1: expected a mapping with a list of faults, e.g. faults: [{{kind: ..., building: ..., ...}}]"]
        )

    def at(loc: tuple[str | int, ...]) -> str:
        line_no = yaml_node_at(root, loc).start_mark.line + 1
        return f"{path}:{line_no}: {_describe_fault(raw, loc)}"

    problems = duplicate_key_problems(root, path)
    try:
        scenario = FaultScenario.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(step for step in error["loc"] if not (isinstance(step, str) and step.startswith(("function-", "literal["))))
            problems.append(f"{at(loc)}: {validation_error_message(error)}")
        raise FaultFileError(path, problems) from None
    faults: list[InjectedFault] = []
    for i, fault in enumerate(scenario.faults):
        where = ("faults", i)
        try:
            faults.append(resolve_fault(i, fault, site))
        except ValueError as exc:
            loc: tuple[str | int, ...] = where
            text_msg = str(exc)
            for name in ("target", "building", "partner", "field", "start", "duration"):
                if re.match(rf"{name}\b", text_msg):
                    loc = (*where, name)
                    break
            problems.append(f"{at(loc)}: {text_msg}")
    for i, j in overlapping_pairs(faults):
        problems.append(f"{at(('faults', j))}: overlaps faults[{i}] of the same kind on the same target; one event each, please")
    if problems:
        raise FaultFileError(path, problems)
    return faults


def _describe_fault(raw: Any, loc: tuple[str | int, ...]) -> str:
    """``faults[3] (water_leak 341122A002/W-TOILET) > flow_m3_h``."""
    if len(loc) >= 2 and loc[0] == "faults" and isinstance(loc[1], int):
        entries = raw.get("faults") if isinstance(raw, dict) else None
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        head = f"faults[{loc[1]}]"
        if isinstance(entry, dict):
            head += f" ({entry.get('kind')} {entry.get('building')}/{entry.get('target')})"
        return " > ".join([head, *(str(step) for step in loc[2:])])
    return " > ".join(str(step) for step in loc) or "(top level)"


def overlapping_pairs(faults: Sequence[InjectedFault]) -> list[tuple[int, int]]:
    """(earlier, later) numbers of faults of the same kind on the same target whose windows overlap."""
    pairs = []
    by_key: dict[tuple[FaultKind, str, str], list[InjectedFault]] = {}
    for fault in faults:
        by_key.setdefault((fault.kind, fault.building, fault.target), []).append(fault)
    for group in by_key.values():
        group = sorted(group, key=lambda f: f.start_s)
        for a, b in pairwise(group):
            if b.start_s < a.end_s:
                pairs.append((min(a.number, b.number), max(a.number, b.number)))
    return pairs


def resolve_fault(number: int, fault: Fault, site: Site) -> InjectedFault:
    """The fault checked against the site and its calendar; ValueError (starting with the field at
    fault) when the target does not exist, does not fit the kind, or the window cannot show the fault."""
    building = site.building(fault.building)
    if building is None:
        raise ValueError(f"building {fault.building!r} is not in the site registry")
    device = building.device(fault.target)
    if device is None:
        raise ValueError(f"target {fault.target!r} is not a device of building {building.code}")
    start = fault.start if fault.start.tzinfo is not None else fault.start.replace(tzinfo=site.site.tz)
    start_s = math.ceil(start.timestamp())
    end_s = start_s + fault.duration_s
    parameters: dict[str, float | str] = {}
    for name, (kinds, _) in PARAMETERS.items():
        if fault.kind in kinds:
            value = fault.parameter(name)
            if value is not None:
                parameters[name] = value
    _check_target(fault, building, device, parameters, site)
    _check_window(fault.kind, building, device, start_s, end_s, site)
    system = responsible_system(fault.kind, building, device)
    vendor = device.vendor if isinstance(device, Equipment) and device.vendor else site.covering_vendor(building.code, system)
    return InjectedFault(
        number=number,
        kind=fault.kind,
        building=building.code,
        target=device.id,
        start_s=start_s,
        end_s=end_s,
        vendor=vendor,
        system=system,
        severity=fault.severity or DEFAULT_SEVERITY[fault.kind],
        description=fault.description or _default_description(fault.kind, building, device, parameters),
        parameters=tuple(parameters.items()),
    )


def _reporting_interval_s(device: object, site: Site) -> int:
    c = site.collection
    if isinstance(device, Meter):
        return c.meter_interval_s
    if isinstance(device, IeqSensor):
        return c.ieq_interval_s
    if isinstance(device, WeatherSensor):
        return c.weather_interval_s
    return c.equipment_interval_s


def _check_target(fault: Fault, building: Building, device: object, parameters: dict[str, float | str], site: Site) -> None:
    kind = fault.kind
    name = f"target {fault.target!r}"
    electric = isinstance(device, Meter) and device.energy == "01"
    if kind in (FaultKind.METER_STUCK, FaultKind.METER_RESET):
        if not isinstance(device, Meter) or not device.cumulative:
            raise ValueError(f"{name} must be a cumulative meter for {kind.value}")
    elif kind == FaultKind.SPIKE:
        if not electric:
            raise ValueError(f"{name} must be an electricity meter (it has a rated power to jump beyond) for {kind.value}")
    elif kind == FaultKind.OUT_OF_RANGE:
        assert isinstance(device, (Meter, IeqSensor, WeatherSensor, Equipment))
        chosen = fault.field or _default_range_field(device)
        if chosen not in allowed_fields(device):
            raise ValueError(f"field {chosen!r} is not reported by {device.id}; it reports {', '.join(sorted(allowed_fields(device)))}")
        parameters["field"] = chosen
    elif kind == FaultKind.LIGHTS_AFTER_HOURS:
        if not (electric and device.subitem.startswith("01A")):  # type: ignore[union-attr]
            raise ValueError(f"{name} must be a lighting meter (sub-item 01A..) for {kind.value}")
        if "extra_kw" not in parameters:
            parameters["extra_kw"] = round(0.6 * (device.rated_power_kw or 0.0), 3)  # type: ignore[union-attr]
    elif kind == FaultKind.HVAC_WEEKEND:
        if not isinstance(device, Equipment) or device.maintained_system != System.HVAC or device.type == EquipmentType.PUMP:
            raise ValueError(f"{name} must be an HVAC unit (chiller, heat pump, AHU, ...) for {kind.value}")
    elif kind == FaultKind.WATER_LEAK:
        if not isinstance(device, Meter) or device.energy != "02":
            raise ValueError(f"{name} must be a water meter (energy 02) for {kind.value}")
    elif kind == FaultKind.EQUIPMENT_FAULT_CODE:
        if not isinstance(device, Equipment) or device.type in (EquipmentType.ELEVATOR, EquipmentType.ESCALATOR):
            raise ValueError(f"{name} must be equipment other than an elevator (see elevator_out_of_service) for {kind.value}")
    elif kind == FaultKind.ELEVATOR_OUT_OF_SERVICE:
        if not isinstance(device, Equipment) or device.type not in (EquipmentType.ELEVATOR, EquipmentType.ESCALATOR):
            raise ValueError(f"{name} must be an elevator or escalator for {kind.value}")
    elif kind == FaultKind.VENTILATION_FAILURE:
        if not isinstance(device, IeqSensor) or "co2" not in device.quantities:
            raise ValueError(f"{name} must be an IEQ sensor that reports co2 for {kind.value}")
    elif kind == FaultKind.COMFORT_OUT_OF_BAND:
        if not isinstance(device, IeqSensor) or "temperature" not in device.quantities:
            raise ValueError(f"{name} must be an IEQ sensor that reports temperature for {kind.value}")
    elif kind == FaultKind.SIMULTANEOUS_HEATING_COOLING:
        if not isinstance(device, Equipment) or device.type not in HVAC_MODE_TYPES:
            raise ValueError(f"{name} must be a unit that heats or cools ({', '.join(t.value for t in HVAC_MODE_TYPES)}) for {kind.value}")
        partner_id = fault.partner or next(
            (e.id for e in building.equipment if e.id != device.id and e.type == device.type),
            next((e.id for e in building.equipment if e.id != device.id and e.type in PARTNER_TYPES), None),
        )
        if partner_id is None:
            raise ValueError(f"{name}: building {building.code} has no other HVAC unit to cool while it heats; name a partner")
        partner = building.device(partner_id)
        if not isinstance(partner, Equipment) or partner.type not in PARTNER_TYPES or partner.id == device.id:
            raise ValueError(
                f"partner {partner_id!r} is not another HVAC unit ({', '.join(t.value for t in PARTNER_TYPES)}) of building {building.code}"
            )
        parameters["partner"] = partner_id
    # Data faults must touch at least one reading (stuck: two, to be flat).
    interval_s = _reporting_interval_s(device, site)
    needed = 2 * interval_s if kind == FaultKind.METER_STUCK else interval_s
    if kind in (*READING_FAULTS, FaultKind.METER_STUCK, FaultKind.METER_RESET) and fault.duration_s < needed:
        raise ValueError(
            f"duration {fault.duration_s} s is shorter than {needed} s: {device.id} reports every {interval_s} s, the fault would not show"
        )  # type: ignore[union-attr]


def _default_range_field(device: Meter | IeqSensor | WeatherSensor | Equipment) -> str:
    if isinstance(device, Meter):
        return "power" if device.energy == "01" else "register"
    if isinstance(device, (IeqSensor, WeatherSensor)):
        return device.quantities[0].value
    return "power"


def _occupied_steps(building: Building, start_s: int, end_s: int, site: Site) -> tuple[bool, bool]:
    """(any, all) of the 5-minute steps of [start_s, end_s) fall in the building's working hours on working days."""
    tz = site.site.tz
    opens, closes = hour_of(building.working_hours.start), hour_of(building.working_hours.end)
    any_in = False
    all_in = True
    for ts in range(start_s, end_s, 300):
        moment = datetime.fromtimestamp(ts, tz)
        hour = moment.hour + moment.minute / 60
        occupied = is_working_day(moment.date()) and opens <= hour < closes
        any_in |= occupied
        all_in &= occupied
    return any_in, all_in


def _check_window(kind: FaultKind, building: Building, device: object, start_s: int, end_s: int, site: Site) -> None:
    """Calendar conditions that make a kind meaningful."""
    if end_s - start_s > 31 * 86400:
        raise ValueError(f"duration {end_s - start_s} s is longer than 31 days; split the fault")
    any_occupied, _ = _occupied_steps(building, start_s, end_s, site)
    if kind == FaultKind.LIGHTS_AFTER_HOURS and any_occupied:
        raise ValueError(
            f"start: lights left on must be outside working hours "
            f"({building.working_hours.start:%H:%M}-{building.working_hours.end:%H:%M} on working days)"
        )
    if kind == FaultKind.HVAC_WEEKEND:
        tz = site.site.tz
        day = datetime.fromtimestamp(start_s, tz).date()
        last = datetime.fromtimestamp(end_s - 1, tz).date()
        while day <= last:
            if is_working_day(day):
                raise ValueError(f"start: hvac_weekend must fall on days off only; {day.isoformat()} is a working day")
            day += timedelta(days=1)
    if kind in (FaultKind.VENTILATION_FAILURE, FaultKind.COMFORT_OUT_OF_BAND) and not any_occupied:
        raise ValueError(f"start: {kind.value} shows in occupied hours; the window has none (working hours on working days)")


def _default_description(kind: FaultKind, building: Building, device: object, p: dict[str, float | str]) -> str:
    where = f"{building.name} {getattr(device, 'id', '')}"
    texts = {
        FaultKind.METER_STUCK: "meter register stuck while the load continues",
        FaultKind.DEVICE_OFFLINE: "device offline: no readings",
        FaultKind.SPIKE: f"implausible spike, {p.get('factor')} x rated power",
        FaultKind.OUT_OF_RANGE: f"{p.get('field')} out of its plausible range",
        FaultKind.METER_RESET: "meter reset/replaced: register back to 0",
        FaultKind.LIGHTS_AFTER_HOURS: f"lights left on outside working hours, +{p.get('extra_kw')} kW",
        FaultKind.HVAC_WEEKEND: f"HVAC running on days off at {p.get('level')} of rated power",
        FaultKind.WATER_LEAK: f"water leak, {p.get('flow_m3_h')} m3/h day and night",
        FaultKind.EQUIPMENT_FAULT_CODE: f"equipment tripped with fault code {p.get('code')}",
        FaultKind.ELEVATOR_OUT_OF_SERVICE: "elevator out of service",
        FaultKind.VENTILATION_FAILURE: f"fresh air failed ({p.get('air_changes_h')} air changes/h left): CO2 climbs",
        FaultKind.COMFORT_OUT_OF_BAND: f"zone temperature driven to {p.get('temperature_c')} °C, outside the comfort band",
        FaultKind.SIMULTANEOUS_HEATING_COOLING: f"heating while {p.get('partner')} cools",
    }
    return f"{where}: {texts[kind]}"


# -- ground truth ------------------------------------------------------------------------------------


def _iso(ts_s: int) -> str:
    return datetime.fromtimestamp(ts_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def overlapping(faults: Iterable[InjectedFault], start_s: int, end_s: int) -> list[InjectedFault]:
    """Faults whose window overlaps [start_s, end_s) (epoch s)."""
    return [f for f in faults if f.start_s < end_s and f.end_s > start_s]


def truth_points(faults: Iterable[InjectedFault], start_s: int, end_s: int) -> list[tuple[InjectedFault, int, int]]:
    """(fault, time epoch s, active 1/0) of every fault start and end inside [start_s, end_s)."""
    points = []
    for fault in faults:
        if start_s <= fault.start_s < end_s:
            points.append((fault, fault.start_s, 1))
        if start_s <= fault.end_s < end_s:
            points.append((fault, fault.end_s, 0))
    return sorted(points, key=lambda p: (p[1], p[0].number))


def truth_line(fault: InjectedFault, ts_s: int, active: int) -> str:
    """One ``sim_truth`` point (facmon.schema.truth) as line protocol: ``active`` 1 at the fault's start, 0 at its end."""
    return sim_truth_line(SimTruth(fault.building, fault.kind.value, fault.target, ts_s, bool(active)))


def truth_lines(faults: Iterable[InjectedFault], start_s: int, end_s: int) -> list[str]:
    """``sim_truth`` lines for the fault starts (active 1) and ends (active 0) inside [start_s, end_s)."""
    return [truth_line(fault, ts, active) for fault, ts, active in truth_points(faults, start_s, end_s)]


def labels(faults: Iterable[InjectedFault], start_s: int, end_s: int, *, seed: int, scenario: str | None = None) -> dict[str, Any]:
    """The labels file's content for the faults overlapping the simulated window [start_s, end_s)."""
    chosen = sorted(overlapping(faults, start_s, end_s), key=lambda f: (f.start_s, f.number))
    return {
        "format": LABELS_FORMAT,
        "scenario": scenario,
        "seed": seed,
        "window": {"start": _iso(start_s), "end": _iso(end_s), "start_s": start_s, "end_s": end_s},
        "faults": [f.label() for f in chosen],
    }


def write_labels(path: Path, content: dict[str, Any]) -> None:
    """Write the labels JSON (UTF-8, indented) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# -- injection -------------------------------------------------------------------------------------


class FaultInjector:
    """Injects resolved faults into a :class:`facmon.simulators.site.SiteSimulator` through its hooks.

    Created by the simulator itself (``SiteSimulator(site, faults=...)``). ``truth_sink``, when set,
    receives the ``sim_truth`` lines of fault starts and ends as the simulation emits their ticks
    (for a live run that records truth as it goes)."""

    def __init__(self, sim: SiteSimulator, faults: Sequence[InjectedFault]):
        self.sim = sim
        self.faults = tuple(faults)
        self.truth_sink: Callable[[list[str]], None] | None = None
        self._plan_faults = [f for f in self.faults if f.kind not in READING_FAULTS]
        self._reading_faults = [f for f in self.faults if f.kind in READING_FAULTS]
        sim.plan_hooks.append(self.change_plan)
        sim.reading_hooks.append(self.change_readings)

    # -- plans: the building ----------------------------------------------------------------

    def change_plan(self, plan: DayPlan) -> DayPlan:
        """Apply every building fault active during the plan's day (in the scenario's order, with
        stuck registers and resets last so they see the final loads)."""
        ts = plan.grid.ts_s
        first, end = int(ts[0]), int(ts[-1]) + self.sim.step_s
        active = [f for f in self._plan_faults if f.start_s < end and f.end_s > first]
        active.sort(key=lambda f: (f.kind in (FaultKind.METER_STUCK, FaultKind.METER_RESET), f.number))
        for fault in active:
            mask = (ts >= fault.start_s) & (ts < fault.end_s)
            if mask.any():
                _PLAN_EFFECTS[fault.kind](self, plan, fault, mask)
        return plan

    def _add_electric_load(self, plan: DayPlan, building: str, column: int | None, extra_kw: np.ndarray) -> None:
        """Add ``extra_kw`` (per tick, may be negative) to a sub-meter (None: unmetered load) and the
        building's main meters, within their ratings; raw counts follow."""
        sim = self.sim
        touched = []
        delta = extra_kw
        if column is not None:
            before = plan.meter_rate[:, column].copy()
            plan.meter_rate[:, column] = np.clip(before + extra_kw, 0.0, sim.meter_rated_kw(column))
            delta = plan.meter_rate[:, column] - before
            touched.append(column)
        losses = sim.parameters.loads.main_meter_losses
        for main in sim.main_meters(building):
            if main.column == column:
                continue
            plan.meter_rate[:, main.column] = np.clip(plan.meter_rate[:, main.column] + delta * losses * main.share, 0.0, main.rated_kw)
            touched.append(main.column)
        sim.recount_meters(plan, touched)

    def _set_equipment(
        self, plan: DayPlan, building: str, equipment_id: str, mask: np.ndarray, values: dict[str, float | np.ndarray]
    ) -> None:
        """Set equipment fields at the masked ticks; a new ``power`` moves the difference onto its meters."""
        j, spec = self.sim.equipment_column(building, equipment_id)
        table = plan.equipment[j]
        names = spec.field_names
        if "power" in values:
            old_kw = table[:, names.index("power")].copy()
            new_kw = np.where(mask, values["power"], old_kw)
            self._add_electric_load(plan, building, spec.meter_column, new_kw - old_kw)
        for name, value in values.items():
            if name in names:
                column = table[:, names.index(name)]
                table[:, names.index(name)] = np.round(np.where(mask, value, column), 3)

    def _running_values(
        self, plan: DayPlan, building: str, equipment_id: str, level: float, mode: str | None
    ) -> dict[str, float | np.ndarray]:
        """Values of a unit running at ``level`` × rated power, heating or cooling (``mode``), or in its own mode (None)."""
        j, spec = self.sim.equipment_column(building, equipment_id)
        power_kw = np.maximum(plan.equipment[j][:, spec.field_names.index("power")], level * spec.rated_kw)
        values: dict[str, float | np.ndarray] = {
            "running": 1.0,
            "power": power_kw,
            "load_ratio": np.clip(power_kw / spec.rated_kw, 0.0, 1.5),
            **_RUNNING_VALUES,
        }
        if mode is None:
            mode = "heating" if float(np.mean(plan.weather.temp_c)) < self.sim.parameters.loads.heating_balance_c else "cooling"
        values.update(HEATING_SUPPLY_C if mode == "heating" else COOLING_SUPPLY_C)
        return values

    def _stuck(self, plan: DayPlan, fault: InjectedFault, mask: np.ndarray) -> None:
        column = self.sim.meter_column(fault.building, fault.target)
        plan.raw_step[mask, column] = 0.0  # the load (power) goes on, the register does not count it

    def _reset(self, plan: DayPlan, fault: InjectedFault, mask: np.ndarray) -> None:
        ts = plan.grid.ts_s
        first = int(np.argmax(mask))
        if int(ts[first]) < fault.start_s + self.sim.step_s:  # only the day holding the window's first tick
            plan.meter_resets.append((first, self.sim.meter_column(fault.building, fault.target)))

    def _lights(self, plan: DayPlan, fault: InjectedFault, mask: np.ndarray) -> None:
        column = self.sim.meter_column(fault.building, fault.target)
        self._add_electric_load(plan, fault.building, column, mask * float(fault.parameter("extra_kw")))

    def _hvac_weekend(self, plan: DayPlan, fault: InjectedFault, mask: np.ndarray) -> None:
        values = self._running_values(plan, fault.building, fault.target, float(fault.parameter("level")), None)
        self._set_equipment(plan, fault.building, fault.target, mask, values)

    def _leak(self, plan: DayPlan, fault: InjectedFault, mask: np.ndarray) -> None:
        building = self.sim.site.building(fault.building)
        assert building is not None
        flow = mask * float(fault.parameter("flow_m3_h"))
        columns = [self.sim.meter_column(fault.building, fault.target)]
        if "MAIN" not in fault.target.upper():  # a leak behind a sub-meter also runs through the MAIN meters
            columns += [self.sim.meter_column(building.code, m.id) for m in building.meters if m.energy == "02" and "MAIN" in m.id.upper()]
        for column in columns:
            plan.meter_rate[:, column] += flow
        self.sim.recount_meters(plan, columns)

    def _fault_code(self, plan: DayPlan, fault: InjectedFault, mask: np.ndarray) -> None:
        stopped = {
            "running": 0.0,
            "fault_code": float(fault.parameter("code")),
            "power": 0.0,
            "load_ratio": 0.0,
            "fan_speed_pct": 0.0,
            "frequency_hz": 0.0,
        }
        self._set_equipment(plan, fault.building, fault.target, mask, stopped)

    def _elevator(self, plan: DayPlan, fault: InjectedFault, mask: np.ndarray) -> None:
        self._set_equipment(plan, fault.building, fault.target, mask, {"running": 0.0, "power": 0.0, "trips": 0.0})

    def _ventilation(self, plan: DayPlan, fault: InjectedFault, mask: np.ndarray) -> None:
        z = self.sim.zone_column(fault.building, fault.target)
        ach = float(fault.parameter("air_changes_h"))
        outdoor = plan.weather.co2_ppm
        normal_ach = plan.zone_air_changes_h[:, z]
        # Same CO₂ generation, less air to dilute it: the steady-state excess scales with 1/ACH.
        target = outdoor + (plan.zone_co2_target_ppm[:, z] - outdoor) * normal_ach / ach
        step_h = self.sim.step_s / 3600.0
        plan.zone_co2_target_ppm[:, z] = np.where(mask, target, plan.zone_co2_target_ppm[:, z])
        plan.zone_co2_gain[:, z] = np.where(mask, 1.0 - math.exp(-ach * step_h), plan.zone_co2_gain[:, z])
        plan.zone_air_changes_h[:, z] = np.where(mask, ach, normal_ach)

    def _comfort(self, plan: DayPlan, fault: InjectedFault, mask: np.ndarray) -> None:
        z = self.sim.zone_column(fault.building, fault.target)
        gain = 1.0 - math.exp(-(self.sim.step_s / 3600.0) / COMFORT_TIME_CONSTANT_H)
        plan.zone_temp_target_c[:, z] = np.where(mask, float(fault.parameter("temperature_c")), plan.zone_temp_target_c[:, z])
        plan.zone_temp_gain[:, z] = np.where(mask, gain, plan.zone_temp_gain[:, z])

    def _simultaneous(self, plan: DayPlan, fault: InjectedFault, mask: np.ndarray) -> None:
        level = float(fault.parameter("level"))
        partner = str(fault.parameter("partner"))
        self._set_equipment(
            plan, fault.building, fault.target, mask, self._running_values(plan, fault.building, fault.target, level, "heating")
        )
        self._set_equipment(plan, fault.building, partner, mask, self._running_values(plan, fault.building, partner, level, "cooling"))

    # -- readings: the data path -------------------------------------------------------------

    def change_readings(self, ts: int, batch: list[Reading]) -> list[Reading]:
        """Apply the data faults active at ``ts`` to one tick's readings; report truth transitions."""
        if self.truth_sink is not None:
            lines = truth_lines(self.faults, ts, ts + self.sim.step_s)
            if lines:
                self.truth_sink(lines)
        active = [f for f in self._reading_faults if f.start_s <= ts < f.end_s]
        if not active:
            return batch
        for fault in active:
            if fault.kind == FaultKind.DEVICE_OFFLINE:
                batch = [r for r in batch if not (r.device == fault.target and r.building == fault.building)]
            else:
                batch = [self._corrupt(fault, r) if r.device == fault.target and r.building == fault.building else r for r in batch]
        return batch

    def _corrupt(self, fault: InjectedFault, reading: Reading) -> Reading:
        fields = dict(reading.fields)
        if fault.kind == FaultKind.SPIKE:
            _, device = self.sim.device_of(reading)
            assert isinstance(device, Meter) and device.rated_power_kw is not None
            spike_kw = float(fault.parameter("factor")) * device.rated_power_kw
            interval_h = self.sim.site.collection.meter_interval_s / 3600.0
            fields["power"] = round(spike_kw / device.multiplier, 4)
            fields["register"] = round((fields["register"] + spike_kw * interval_h / device.multiplier) % device.rollover, 3)
        else:  # out of range: beyond the upper bound by the whole plausible span
            _, device = self.sim.device_of(reading)
            name = str(fault.parameter("field"))
            low, high, _unit = FIELD_RANGES[device_kind(device)][name]
            fields[name] = float(high + (high - low))
        return dataclasses.replace(reading, fields=fields)


_PLAN_EFFECTS: dict[FaultKind, Callable[[FaultInjector, DayPlan, InjectedFault, np.ndarray], None]] = {
    FaultKind.METER_STUCK: FaultInjector._stuck,
    FaultKind.METER_RESET: FaultInjector._reset,
    FaultKind.LIGHTS_AFTER_HOURS: FaultInjector._lights,
    FaultKind.HVAC_WEEKEND: FaultInjector._hvac_weekend,
    FaultKind.WATER_LEAK: FaultInjector._leak,
    FaultKind.EQUIPMENT_FAULT_CODE: FaultInjector._fault_code,
    FaultKind.ELEVATOR_OUT_OF_SERVICE: FaultInjector._elevator,
    FaultKind.VENTILATION_FAILURE: FaultInjector._ventilation,
    FaultKind.COMFORT_OUT_OF_BAND: FaultInjector._comfort,
    FaultKind.SIMULTANEOUS_HEATING_COOLING: FaultInjector._simultaneous,
}
