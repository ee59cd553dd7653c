"""Tasmota devices over MQTT: the telemetry a plug or relay with an energy monitor sends every TelePeriod.

Tasmota's default full topic is ``%prefix%/%topic%/``, so telemetry arrives on ``tele/<device>/SENSOR``
(``<device>`` is the device's ``Topic``, e.g. ``tasmota_C59B5E``). Other full topics work as long as
the last level is ``SENSOR``: the device name is the level before it, not counting a ``tele`` level
(``SONOFF/tele/DUALR3_PM06/SENSOR`` and ``DUALR3_PM06/tele/SENSOR`` both name ``DUALR3_PM06``).

Payload::

    {"Time": "2024-05-01T12:00:00",
     "ENERGY": {"TotalStartTime": "2023-01-01T00:00:00", "Total": 123.456, "Yesterday": 1.2,
                "Today": 0.5, "Power": 45, "Voltage": 230, "Current": 0.2, ...}}

* ``Time`` is the device's **local time without an offset** and is read in the site's time zone
  (``site.timezone``); a ``Time`` with an offset (``SetOption52 1``) is read as written. Required.
* ``ENERGY.Total`` (kWh since ``TotalStartTime``) becomes ``register``; ``ENERGY.Power`` (W) becomes
  ``power`` in kW. ``Today``, ``Yesterday``, voltage and current are not stored.
* A multi-channel device (Sonoff Dual R3, 4CH Pro, ...) sends lists, ``"Total": [0.0, 2.91]``: list
  element n (1-based) belongs to channel ``<device>:<n>``, a single number to ``<device>``.

Each device (or channel) is mapped to a registry meter by the decoder entry's ``devices``; one with
readings but no mapping is rejected as ``unknown_device``. The other telemetry (``tele/<device>/STATE``,
``LWT``, ``INFO1..3``, ``RESULT``, ``MARGINS``) carries no readings and is passed over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any

from facmon.ingest.model import Decoded, Reason, Rejection
from facmon.ingest.payload import mapped_readings, scaled, shown
from facmon.ingest.timestamps import TimestampError, parse_local_timestamp

PREFIX = "tele"
MAX_CHANNELS = 32  # Tasmota's MAX_RELAYS is 32 (8 on ESP8266)
_PASSED_OVER = frozenset({"STATE", "LWT", "INFO1", "INFO2", "INFO3", "RESULT", "MARGINS", "UPTIME", "HASS_STATE"})
# ENERGY key -> (facmon field, divisor, unit as sent)
_FIELDS = {"Total": ("register", 1.0, "kWh"), "Power": ("power", 1000.0, "W")}


class TasmotaDecoder:
    """Tasmota ``.../SENSOR`` telemetry with an ENERGY object on one topic filter, for one building."""

    name = "tasmota"

    def __init__(self, topic_filter: str, building: str, devices: Mapping[str, str], zone: tzinfo):
        self.topic_filter = topic_filter
        self.building = building
        self.devices = dict(devices)
        self.zone = zone

    @property
    def topic_filters(self) -> Sequence[str]:
        return (self.topic_filter,)

    def decode(self, topic: str, payload: bytes) -> Decoded:
        out = Decoded()
        levels = topic.split("/")
        named = [level for level in levels[:-1] if level != PREFIX]
        if len(levels) >= 2 and levels[-1] in _PASSED_OVER and named and named[-1]:
            return out  # state, availability, info: not readings
        if len(levels) < 2 or levels[-1] != "SENSOR" or not named or not named[-1]:
            out.rejections.append(
                Rejection(Reason.BAD_TOPIC, self.building, f"topic {topic!r} is not Tasmota telemetry tele/<device>/SENSOR")
            )
            return out
        device = named[-1]
        try:
            body = json.loads(payload)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            out.rejections.append(Rejection(Reason.BAD_JSON, self.building, f"{topic}: payload is not UTF-8 JSON: {exc}"))
            return out
        if not isinstance(body, dict):
            out.rejections.append(
                Rejection(Reason.BAD_PAYLOAD, self.building, f"{topic}: payload is a JSON {type(body).__name__}, expected an object")
            )
            return out
        energy = body.get("ENERGY")
        if not isinstance(energy, dict):
            out.rejections.append(
                Rejection(
                    Reason.BAD_PAYLOAD,
                    self.building,
                    f"{topic}: no ENERGY object (got {shown(energy)}); facmon reads Tasmota's energy monitor",
                )
            )
            return out
        channels = self._channels(topic, device, energy, out)
        if not channels:
            if not any(key in energy for key in _FIELDS):
                out.rejections.append(Rejection(Reason.BAD_PAYLOAD, self.building, f"{topic}: ENERGY has neither Total nor Power"))
            return out
        if "Time" not in body:
            out.rejections.append(Rejection(Reason.BAD_TIMESTAMP, self.building, f"{topic}: 'Time' is missing"))
            return out
        try:
            ts_ns = parse_local_timestamp(body["Time"], self.zone)
        except TimestampError as exc:
            out.rejections.append(Rejection(Reason.BAD_TIMESTAMP, self.building, f"{topic}: Time: {exc}"))
            return out
        mapped_readings("Tasmota", self.building, self.devices, self.topic_filter, topic, channels, ts_ns, out)
        return out

    def _channels(self, topic: str, device: str, energy: dict[str, Any], out: Decoded) -> dict[str, dict[str, float]]:
        channels: dict[str, dict[str, float]] = {}
        for key, (name, divisor, unit) in _FIELDS.items():
            if key not in energy:
                continue
            raw = energy[key]
            if isinstance(raw, list) and len(raw) > MAX_CHANNELS:
                out.rejections.append(
                    Rejection(
                        Reason.BAD_PAYLOAD,
                        self.building,
                        f"{topic}: ENERGY.{key} lists {len(raw)} channels; a Tasmota device has at most {MAX_CHANNELS}",
                    )
                )
                continue
            values = list(enumerate(raw, start=1)) if isinstance(raw, list) else [(0, raw)]
            for number, value in values:
                channel = f"{device}:{number}" if number else device
                converted = scaled(value, divisor)
                if converted is None:
                    where = f"ENERGY.{key}[{number - 1}]" if number else f"ENERGY.{key}"
                    out.rejections.append(
                        Rejection(
                            Reason.BAD_VALUE,
                            self.building,
                            f"{topic}: {where} = {shown(value)} is not a finite number of {unit} (device {channel})",
                        )
                    )
                    continue
                channels.setdefault(channel, {})[name] = converted
        return channels
