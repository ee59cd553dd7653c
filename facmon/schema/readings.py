"""Device readings (``meter``, ``ieq``, ``equipment``, ``weather``): which fields each kind of device
reports, their plausible physical ranges, and how one device reading becomes one InfluxDB point.

The collector (ingest/) and the simulator's fast backfill (simulators/) both go through
:func:`reading_line`, so a backfilled reading is stored exactly as the same reading arriving over MQTT.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Literal

import numpy as np

from facmon.registry import Building, Equipment, EquipmentType, IeqSensor, Meter, Site, WeatherSensor
from facmon.schema.names import EQUIPMENT, IEQ, METER, WEATHER
from facmon.store import InfluxStore, line, quote_identifier, quote_string

DeviceKind = Literal["meter", "ieq", "equipment", "weather"]

MEASUREMENT_OF_KIND: dict[DeviceKind, str] = {"meter": METER, "ieq": IEQ, "equipment": EQUIPMENT, "weather": WEATHER}

# Plausible physical range of each field, inclusive, with its unit. A reading outside is
# rejected by the collector as out_of_range; the simulator stays inside them.
FIELD_RANGES: dict[DeviceKind, dict[str, tuple[float, float, str]]] = {
    "meter": {
        "register": (0.0, 1e12, "kWh or m3, raw meter display before the multiplier"),
        "power": (0.0, 1e6, "kW, raw before the multiplier"),
    },
    "ieq": {
        "temperature": (-20.0, 60.0, "°C"),
        "humidity": (0.0, 100.0, "% RH"),
        "co2": (0.0, 10000.0, "ppm"),
        "pm25": (0.0, 1000.0, "µg/m³"),
        "pm10": (0.0, 2000.0, "µg/m³"),
        "tvoc": (0.0, 50.0, "mg/m³"),
        "hcho": (0.0, 10.0, "mg/m³"),
    },
    "weather": {
        "temperature": (-60.0, 60.0, "°C"),
        "humidity": (0.0, 100.0, "% RH"),
    },
    "equipment": {
        "running": (0.0, 1.0, "0 stopped, 1 running"),
        "fault_code": (0.0, 65535.0, "vendor fault code, 0 = no fault"),
        "power": (0.0, 1e5, "kW"),
        "load_ratio": (0.0, 1.5, "share of rated capacity"),
        "chw_supply_temp": (-10.0, 30.0, "°C chilled-water supply"),
        "supply_temp": (0.0, 90.0, "°C water supply"),
        "supply_air_temp": (-10.0, 60.0, "°C"),
        "fan_speed_pct": (0.0, 100.0, "%"),
        "frequency_hz": (0.0, 60.0, "Hz drive frequency"),
        "trips": (0.0, 10000.0, "trips in the reporting interval"),
        "water_temp": (0.0, 100.0, "°C"),
        "cabinet_temp": (-40.0, 30.0, "°C"),
    },
}

# Fields every piece of equipment reports, and the extra ones each type may report.
EQUIPMENT_COMMON_FIELDS = frozenset({"running", "fault_code", "power"})
EQUIPMENT_TYPE_FIELDS: dict[EquipmentType, frozenset[str]] = {
    EquipmentType.CHILLER: frozenset({"load_ratio", "chw_supply_temp"}),
    EquipmentType.HEAT_PUMP: frozenset({"load_ratio", "supply_temp"}),
    EquipmentType.BOILER: frozenset({"load_ratio", "supply_temp"}),
    EquipmentType.COOLING_TOWER: frozenset({"fan_speed_pct"}),
    EquipmentType.AHU: frozenset({"supply_air_temp", "fan_speed_pct"}),
    EquipmentType.FRESH_AIR_UNIT: frozenset({"supply_air_temp", "fan_speed_pct"}),
    EquipmentType.FAN_COIL: frozenset({"fan_speed_pct"}),
    EquipmentType.SPLIT_AC: frozenset({"supply_air_temp"}),
    EquipmentType.PUMP: frozenset({"frequency_hz"}),
    EquipmentType.ELEVATOR: frozenset({"trips"}),
    EquipmentType.ESCALATOR: frozenset(),
    EquipmentType.LIGHTING_CIRCUIT: frozenset(),
    EquipmentType.VENTILATION_FAN: frozenset({"frequency_hz"}),
    EquipmentType.WATER_HEATER: frozenset({"water_temp"}),
    EquipmentType.TRANSFORMER: frozenset({"load_ratio"}),
    EquipmentType.UPS: frozenset({"load_ratio"}),
    EquipmentType.KITCHEN_APPLIANCE: frozenset({"cabinet_temp"}),
}

Device = Meter | IeqSensor | WeatherSensor | Equipment


def device_kind(device: Device) -> DeviceKind:
    if isinstance(device, Meter):
        return "meter"
    if isinstance(device, IeqSensor):
        return "ieq"
    if isinstance(device, WeatherSensor):
        return "weather"
    return "equipment"


def allowed_fields(device: Device) -> frozenset[str]:
    """Field names this device may report."""
    if isinstance(device, Meter):
        return frozenset({"register", "power"})
    if isinstance(device, (IeqSensor, WeatherSensor)):
        return frozenset(q.value for q in device.quantities)
    return EQUIPMENT_COMMON_FIELDS | EQUIPMENT_TYPE_FIELDS[device.type]


def device_tags(site: Site, building: Building, device: Device) -> dict[str, str]:
    """The InfluxDB tags of a device's points (docs/architecture.md#the-measurement-schema)."""
    if isinstance(device, Meter):
        return {"building": building.code, "meter": device.id, "energy": device.energy, "subitem": device.subitem}
    if isinstance(device, IeqSensor):
        return {"building": building.code, "zone": device.zone, "sensor": device.id}
    if isinstance(device, WeatherSensor):
        return {"building": building.code}
    return {
        "building": building.code,
        "equipment": device.id,
        "type": device.type.value,
        "vendor": site.equipment_vendor(building.code, device) or "",
    }


def stored_fields(device: Device, fields: Mapping[str, float]) -> dict[str, float]:
    """Fields as stored: a meter's raw register and power are multiplied by its CT/PT ``multiplier``."""
    if isinstance(device, Meter) and device.multiplier != 1.0:
        return {name: value * device.multiplier for name, value in fields.items()}
    return dict(fields)


def _reading_line(site: Site, building: Building, device: Device, fields: Mapping[str, float], time_ns: int) -> str:
    """The reference formatting of :func:`reading_line`, through :func:`facmon.store.line`."""
    return line(
        MEASUREMENT_OF_KIND[device_kind(device)],
        device_tags(site, building, device),
        stored_fields(device, fields),
        time_ns,
    )


# Per device: the escaped "measurement,tags" prefix of its lines and its multiplier (None for 1.0),
# computed once through _reading_line itself. Keyed by the ids of the (frozen) registry objects; the
# entry holds them, so an id cannot be reused by another object while it is cached, and a hit is
# checked by identity anyway.
_PREFIXES: dict[tuple[int, int, int], tuple[Site, Building, Device, str, float | None]] = {}
_PREFIXES_MAX = 100_000  # devices; cleared when exceeded (many sites loaded in one process, e.g. tests)
_PROBE_SUFFIX = " probe=0.0 0"
_PLAIN_KEYS: dict[str, bool] = {}  # field name -> needs no line-protocol escaping


def device_line_prefix(site: Site, building: Building, device: Device) -> tuple[str, float | None]:
    """The escaped "measurement,tags" start of the device's lines and its multiplier (None for 1.0), cached."""
    key = (id(site), id(building), id(device))
    entry = _PREFIXES.get(key)
    if entry is not None and entry[0] is site and entry[1] is building and entry[2] is device:
        return entry[3], entry[4]
    probe = _reading_line(site, building, device, {"probe": 0.0}, 0)
    assert probe.endswith(_PROBE_SUFFIX), probe
    multiplier = device.multiplier if isinstance(device, Meter) and device.multiplier != 1.0 else None
    if len(_PREFIXES) >= _PREFIXES_MAX:
        _PREFIXES.clear()
    _PREFIXES[key] = (site, building, device, probe[: -len(_PROBE_SUFFIX)], multiplier)
    return probe[: -len(_PROBE_SUFFIX)], multiplier


def _plain_key(name: str) -> bool:
    plain = _PLAIN_KEYS.get(name)
    if plain is None:
        plain = all(c not in name for c in "\\,= ")
        if len(_PLAIN_KEYS) < 4096:  # field names come from the schema; stay bounded for anything else
            _PLAIN_KEYS[name] = plain
    return plain


def reading_line(site: Site, building: Building, device: Device, fields: Mapping[str, float], time_ns: int) -> str:
    """One device reading (raw values as the device reports them) as a line of line protocol.

    Byte for byte what ``line(measurement, device_tags(...), stored_fields(...), time_ns)`` gives (tests
    check it); faster because the escaped measurement and tags of each device are cached. Anything
    other than finite float values under plain field names takes the reference path.
    """
    prefix, multiplier = device_line_prefix(site, building, device)
    parts = []
    for name, value in fields.items():
        if type(value) is not float or not _plain_key(name):
            return _reading_line(site, building, device, fields, time_ns)
        if multiplier is not None:
            value = value * multiplier
        if value - value != 0.0:  # NaN or infinity: let line() raise its ValueError
            return _reading_line(site, building, device, fields, time_ns)
        parts.append(f"{name}={value!r}")
    if not parts:
        return _reading_line(site, building, device, fields, time_ns)
    return f"{prefix} {','.join(parts)} {int(time_ns)}"


# A field every reading of each measurement carries, so count() counts readings.
_COUNTED_FIELD = {"meter": "register", "ieq": "temperature", "equipment": "running", "weather": "temperature"}


def count_readings(store: InfluxStore, since: datetime, until: datetime) -> Counter[tuple[str, str]]:
    """Readings stored per (measurement, building) with timestamps in [since, until)."""
    window = f"time >= {int(since.timestamp())}s AND time < {int(until.timestamp())}s"
    counts: Counter[tuple[str, str]] = Counter()
    for measurement, field in _COUNTED_FIELD.items():
        query = f'SELECT count({quote_identifier(field)}) FROM {quote_identifier(measurement)} WHERE {window} GROUP BY "building"'
        for row in store.rows(query):
            counts[(measurement, row["building"])] = int(row["count"])
    return counts


# -- readers -----------------------------------------------------------------------------------------


def reading_series(
    store: InfluxStore, kind: DeviceKind, field: str, tags: Mapping[str, str], start_s: int, end_s: int
) -> tuple[np.ndarray, np.ndarray]:
    """Times (epoch s) and values of one field of the device readings matching ``tags`` in [start_s, end_s),
    columnar (:meth:`facmon.store.InfluxStore.field_series`): a meter's ``register`` in kWh or m³ after its
    multiplier, an IEQ sensor's ``temperature`` in °C, ..."""
    return store.field_series(MEASUREMENT_OF_KIND[kind], field, dict(tags), start_s, end_s)


def readings_outside(
    store: InfluxStore, kind: DeviceKind, field: str, building: str, low: float, high: float, start_s: int, end_s: int
) -> dict[str, list[tuple[int, float]]]:
    """Stored readings of ``field`` below ``low`` or above ``high`` in [start_s, end_s), per device id of the
    building ("" for its weather sensor), as (time s, value)."""
    key = _DEVICE_TAG[kind]
    group = f" GROUP BY {quote_identifier(key)}" if key else ""
    name = quote_identifier(field)
    found = store.query(
        f'SELECT {name} FROM {quote_identifier(MEASUREMENT_OF_KIND[kind])} WHERE "building"={quote_string(building)} '
        f"AND time >= {int(start_s)}s AND time < {int(end_s)}s AND ({name} > {high!r} OR {name} < {low!r}){group}"
    )
    readings: dict[str, list[tuple[int, float]]] = {}
    for series in found:
        device = series.get("tags", {}).get(key, "") if key else ""
        readings.setdefault(device, []).extend((int(ts), float(value)) for ts, value in series["values"])
    return readings


def mean_outdoor_temperature(
    store: InfluxStore, building: str, start_s: int, end_s: int, every: str, timezone: str | None = None
) -> dict[int, float]:
    """The building's mean outdoor temperature (°C) per ``every`` ("1h", "1d") from [start_s, end_s), keyed
    by the start (epoch s) of each period; daily periods start at local midnight of ``timezone``."""
    zone = f" tz({quote_string(timezone)})" if timezone else ""
    rows = store.rows(
        f'SELECT mean("temperature") AS "temperature" FROM {quote_identifier(WEATHER)} WHERE "building"={quote_string(building)} '
        f"AND time >= {int(start_s)}s AND time < {int(end_s)}s GROUP BY time({every}){zone}"
    )
    return {int(row["time"]): float(row["temperature"]) for row in rows if row.get("temperature") is not None}


def ieq_hourly_means(store: InfluxStore, building: str, start_s: int, end_s: int) -> dict[str, np.ndarray]:
    """Per IEQ sensor of the building: rows of (hour start s, mean temperature °C, mean humidity %, mean CO₂
    ppm) over [start_s, end_s), NaN where a quantity has no reading in the hour."""
    series = store.query(
        f'SELECT mean("temperature") AS temperature, mean("humidity") AS humidity, mean("co2") AS co2 FROM {quote_identifier(IEQ)} '
        f'WHERE "building" = {quote_string(building)} AND time >= {int(start_s)}s AND time < {int(end_s)}s '
        'GROUP BY time(1h), "sensor" fill(none)'
    )
    return {
        one.get("tags", {}).get("sensor", ""): np.array([[np.nan if v is None else v for v in row] for row in one["values"]], dtype=float)
        for one in series
        if one["values"]
    }


def readings_per_device(
    store: InfluxStore, kind: DeviceKind, start_s: int, end_s: int, field: str | None = None
) -> dict[tuple[str, str], int]:
    """How many readings each (building, device) of ``kind`` stored in [start_s, end_s): of ``field``, or
    else of the field it reported most often."""
    key = _DEVICE_TAG[kind]
    window = f"time >= {int(start_s)}s AND time < {int(end_s)}s"
    counted = "*" if field is None else quote_identifier(field)
    measurement = quote_identifier(MEASUREMENT_OF_KIND[kind])
    counts: dict[tuple[str, str], int] = {}
    for row in store.rows(f'SELECT count({counted}) FROM {measurement} WHERE {window} GROUP BY "building", {quote_identifier(key)}'):
        values = [int(v) for k, v in row.items() if k.startswith("count") and v is not None]
        counts[(row["building"], row[key])] = max(values) if values else 0
    return counts


_DEVICE_TAG: dict[DeviceKind, str] = {"meter": "meter", "ieq": "sensor", "equipment": "equipment", "weather": ""}
