"""Checking decoded readings against the site registry and the storage schema.

A reading names a building and a device; each of its fields must be one the device reports
(:func:`facmon.schema.allowed_fields`), a real number (not a string, bool, null, NaN or infinity),
inside :data:`facmon.schema.FIELD_RANGES`, and for a meter's ``register`` not above the meter's
``rollover``. The check is **per field**: a bad field is rejected with its reason while the good
fields of the same reading are still stored. A reading with no good field stores nothing.

A reading must also be stamped plausibly close to now: at most ``collection.max_future_s`` ahead of
the collector's clock and at most ``collection.max_age_days`` behind it (registry defaults 600 s and
35 days), otherwise the whole reading is rejected as ``implausible_time``. This holds for every
decoder; it catches device clocks that lost their time (RTC reset), local time sent as UTC, and
wrong dates, while a gateway replaying a month of buffered readings after an outage still gets
through.

The building and device a reading names must be registered, and the device must belong to that
building: a decoder for a device convention names the registry meter its device is mapped to, in the
building its topic belongs to, so the same check covers every convention.

Good fields become one line of line protocol through :func:`facmon.schema.reading_line`, which
applies a meter's CT/PT multiplier, exactly as the simulator's backfill does.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from facmon.ingest.model import Reading, Reason, Rejection
from facmon.ingest.timestamps import iso_utc
from facmon.registry import Building, Meter, Site
from facmon.schema import FIELD_RANGES, Device, allowed_fields, device_kind, device_line_prefix, reading_line


@dataclass(frozen=True, slots=True)
class _DeviceRules:
    building: Building
    device: Device
    allowed: frozenset[str]
    ranges: dict[str, tuple[float, float, str]]
    rollover: float | None
    prefix: str  # "measurement,tags" of the device's lines (facmon.schema.device_line_prefix)
    multiplier: float | None  # a meter's CT/PT ratio, None for 1.0
    plain_names: bool  # every allowed field name needs no line-protocol escaping (true for the schema's names)


def _shown(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(value: object) -> float | None:
    """The value as a finite float, or None when it is not a real number."""
    if type(value) is float:  # the common case, decided without the checks below
        return value if value - value == 0.0 else None  # NaN and infinity give NaN
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return number if math.isfinite(number) else None


_UNBOUNDED = (-math.inf, math.inf, "")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")


class Validator:
    """Checks readings against one site's registry; caches what it looked up per device."""

    def __init__(self, site: Site, *, clock: Callable[[], int] = time.time_ns):
        self.site = site
        self.clock = clock  # nanoseconds since the epoch; tests pin it
        self.max_future_ns = site.collection.max_future_s * 10**9
        self.max_age_ns = int(site.collection.max_age_days * 86_400) * 10**9
        self._rules: dict[tuple[str, str], _DeviceRules | Rejection] = {}

    def _implausible_time(self, reading: Reading) -> Rejection | None:
        now = self.clock()
        if reading.ts_ns > now + self.max_future_ns:
            ahead = (reading.ts_ns - now) / 1e9
            return Rejection(
                Reason.IMPLAUSIBLE_TIME,
                reading.building,
                f"{reading.building}/{reading.device}: ts {iso_utc(reading.ts_ns)} is {ahead:.0f} s ahead of the collector's clock, more "
                f"than "
                f"{self.site.collection.max_future_s} s (collection.max_future_s; local time sent as UTC?)",
            )
        if reading.ts_ns < now - self.max_age_ns:
            behind = (now - reading.ts_ns) / 86_400e9
            return Rejection(
                Reason.IMPLAUSIBLE_TIME,
                reading.building,
                f"{reading.building}/{reading.device}: ts {iso_utc(reading.ts_ns)} is {behind:.1f} days old, more than "
                f"{self.site.collection.max_age_days:g} days (collection.max_age_days; a device clock that lost its time?)",
            )
        return None

    def _lookup(self, building_code: str, device_id: str) -> _DeviceRules | Rejection:
        key = (building_code, device_id)
        found = self._rules.get(key)
        if found is not None:
            return found
        building = self.site.building(building_code)
        if building is None:
            # Not cached: unknown codes come from arbitrary topics and must not grow memory.
            return Rejection(Reason.UNKNOWN_BUILDING, building_code, f"building {building_code!r} is not in the site registry")
        device = building.device(device_id)
        if device is None:
            return Rejection(Reason.UNKNOWN_DEVICE, building_code, f"device {device_id!r} is not a device of building {building_code}")
        prefix, multiplier = device_line_prefix(self.site, building, device)
        rules = _DeviceRules(
            building=building,
            device=device,
            allowed=allowed_fields(device),
            ranges=FIELD_RANGES[device_kind(device)],
            rollover=device.rollover if isinstance(device, Meter) else None,
            prefix=prefix,
            multiplier=multiplier,
            plain_names=all(_PLAIN_NAME.fullmatch(name) for name in allowed_fields(device)),
        )
        self._rules[key] = rules
        return rules

    def check(self, reading: Reading) -> tuple[str | None, list[Rejection]]:
        """The line to store (None when no field is good) and one rejection per bad field."""
        rules = self._lookup(reading.building, reading.device)
        if isinstance(rules, Rejection):
            fields = ", ".join(sorted(map(str, reading.fields)))
            return None, [Rejection(rules.reason, rules.building, f"{rules.detail}; reading with fields {fields} not stored")]
        now = self.clock()
        implausible = None
        if not now - self.max_age_ns <= reading.ts_ns <= now + self.max_future_ns:
            implausible = self._implausible_time(reading)
        if implausible is not None:
            fields = ", ".join(sorted(map(str, reading.fields)))
            return None, [
                Rejection(implausible.reason, implausible.building, f"{implausible.detail}; reading with fields {fields} not stored")
            ]
        where = None  # "<building>/<device>" for messages, built only when something is rejected
        good: dict[str, float] = {}
        rejected: list[Rejection] = []
        for name, raw in reading.fields.items():
            if name in rules.allowed:
                value = _number(raw)
                if value is not None:
                    low, high, _ = rules.ranges.get(name, _UNBOUNDED)
                    if low <= value <= high and (name != "register" or rules.rollover is None or value <= rules.rollover):
                        good[name] = value
                        continue
            where = f"{reading.building}/{reading.device}"
            if name not in rules.allowed:
                rejected.append(
                    Rejection(
                        Reason.UNKNOWN_FIELD,
                        reading.building,
                        f"{where}: field {name!r} is not reported by this device; expected {', '.join(sorted(rules.allowed))}",
                    )
                )
                continue
            value = _number(raw)
            if value is None:
                rejected.append(
                    Rejection(Reason.BAD_VALUE, reading.building, f"{where}: field {name!r} = {_shown(raw)} is not a finite number")
                )
                continue
            low, high, unit = rules.ranges.get(name, _UNBOUNDED)
            if not low <= value <= high:
                rejected.append(
                    Rejection(
                        Reason.OUT_OF_RANGE, reading.building, f"{where}: field {name!r} = {value!r} is outside {low:g}..{high:g} ({unit})"
                    )
                )
                continue
            if name == "register" and rules.rollover is not None and value > rules.rollover:
                rejected.append(
                    Rejection(
                        Reason.OUT_OF_RANGE,
                        reading.building,
                        f"{where}: field 'register' = {value!r} (raw) is above the meter's rollover {rules.rollover:g}",
                    )
                )
                continue
            good[name] = value
        if not good:
            return None, rejected
        if not rules.plain_names:
            return reading_line(self.site, rules.building, rules.device, good, reading.ts_ns), rejected
        return _line(self.site, rules, good, reading.ts_ns), rejected


def _line(site: Site, rules: _DeviceRules, good: dict[str, float], time_ns: int) -> str:
    """reading_line() for fields already checked (allowed names, finite floats), with the device's cached
    prefix: the collector's hot path (byte for byte the same line; tests compare them)."""
    multiplier = rules.multiplier
    parts = []
    for name, value in good.items():
        if multiplier is not None:
            value = value * multiplier
            if value - value != 0.0:  # overflowed to infinity: the reference path raises its error
                return reading_line(site, rules.building, rules.device, good, time_ns)
        parts.append(f"{name}={value!r}")
    return f"{rules.prefix} {','.join(parts)} {int(time_ns)}"
