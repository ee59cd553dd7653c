"""Shelly Gen2+ devices (Plus, Pro, Gen3, Gen4) over MQTT: their own RPC convention, no gateway in between.

A Shelly publishes under its MQTT topic prefix, by default its device id (``shellypro3em-c8f09e8a1b2c``);
the installer may set another, e.g. ``shellies/341122A002/shellypro3em-c8f09e8a1b2c``. The **device
name** facmon reads is the last level of that prefix, which is the device id unless changed:

* ``<prefix>/events/rpc``: notification frames ``{"src": ..., "method": "NotifyStatus", "params":
  {"ts": 1700000000.52, "switch:0": {"apower": 12.5, "aenergy": {"total": 1234.5}}, ...}}``
  (``NotifyFullStatus`` likewise). ``params.ts`` is epoch seconds UTC and required. Only changed
  attributes are included, so a notification may carry power without energy or neither.
  ``NotifyEvent`` frames (button presses, ...) carry no readings and are passed over.
* ``<prefix>/status/<component>``: the component's whole status object, sent when "Generic status
  update over MQTT" is on. It carries **no timestamp**; it is stamped with its arrival time at the
  collector, to the second. Shelly pushes these as values change, so arrival is within broker latency
  of the measurement; but a status held by the broker while the collector was down is stamped when it
  is finally delivered. Prefer the ``events/rpc`` notifications, which carry their own time.
* ``<prefix>/online`` (``true``/``false``) carries no readings and is passed over.

Metering components and what they become (``register`` kWh, ``power`` kW, so Wh and W are divided
by 1000):

============================ =========================== ==========================
component                    register                    power
============================ =========================== ==========================
``switch:N`` ``cover:N``     ``aenergy.total`` (Wh)      ``apower`` (W)
``light:N`` ``pm1:N``
``em:N`` (Pro 3EM, 3EM)      (from ``emdata:N``)         ``total_act_power`` (W)
``emdata:N``                 ``total_act`` (Wh)
``em1:N`` (Pro EM, EM Gen3)  (from ``em1data:N``)        ``act_power`` (W)
``em1data:N``                ``total_act_energy`` (Wh)
============================ =========================== ==========================

Energy returned to the grid (``total_act_ret``) is not read: facmon measures consumption. A channel
is named ``<device>:<component>`` (``emdata:N`` counts for ``em:N``, ``em1data:N`` for ``em1:N``) and
mapped to a registry meter by the decoder entry's ``devices``; a channel with readings but no mapping
is rejected as ``unknown_device``. Other components (``sys``, ``wifi``, ``input:0``, ...) and
metering components without any of these attributes carry no readings and are passed over.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from facmon.ingest.model import Decoded, Reason, Rejection
from facmon.ingest.payload import mapped_readings, scaled, shown
from facmon.ingest.timestamps import TimestampError, parse_timestamp

# component type -> (channel type, {facmon field: (path in the status object, divisor)})
_METERING: dict[str, tuple[str, dict[str, tuple[tuple[str, ...], float]]]] = {
    "switch": ("switch", {"register": (("aenergy", "total"), 1000.0), "power": (("apower",), 1000.0)}),
    "cover": ("cover", {"register": (("aenergy", "total"), 1000.0), "power": (("apower",), 1000.0)}),
    "light": ("light", {"register": (("aenergy", "total"), 1000.0), "power": (("apower",), 1000.0)}),
    "pm1": ("pm1", {"register": (("aenergy", "total"), 1000.0), "power": (("apower",), 1000.0)}),
    "em": ("em", {"power": (("total_act_power",), 1000.0)}),
    "emdata": ("em", {"register": (("total_act",), 1000.0)}),
    "em1": ("em1", {"power": (("act_power",), 1000.0)}),
    "em1data": ("em1", {"register": (("total_act_energy",), 1000.0)}),
}
_UNIT = {"register": "Wh", "power": "W"}
_COMPONENT = re.compile(r"^([a-z][a-z0-9_]*):(\d{1,3})$")
_PASSED_OVER_METHODS = frozenset({"NotifyEvent"})
_STATUS_METHODS = frozenset({"NotifyStatus", "NotifyFullStatus"})


class ShellyGen2Decoder:
    """Shelly Gen2+ status and NotifyStatus messages on one topic filter, for one building."""

    name = "shelly_gen2"

    def __init__(self, topic_filter: str, building: str, devices: Mapping[str, str], *, clock: Callable[[], int] = time.time_ns):
        self.topic_filter = topic_filter
        self.building = building
        self.devices = dict(devices)
        self.clock = clock

    @property
    def topic_filters(self) -> Sequence[str]:
        return (self.topic_filter,)

    def decode(self, topic: str, payload: bytes) -> Decoded:
        out = Decoded()
        levels = topic.split("/")
        if len(levels) >= 2 and levels[-1] == "online" and levels[-2]:
            return out  # availability, not a reading
        if len(levels) >= 3 and levels[-2:] == ["events", "rpc"] and levels[-3]:
            self._decode_notification(topic, levels[-3], payload, out)
        elif len(levels) >= 3 and levels[-2] == "status" and levels[-3] and levels[-1]:
            self._decode_status(topic, levels[-3], levels[-1], payload, out)
        else:
            out.rejections.append(
                Rejection(
                    Reason.BAD_TOPIC,
                    self.building,
                    f"topic {topic!r} is not a Shelly Gen2 topic <device>/status/<component>, <device>/events/rpc or <device>/online",
                )
            )
        return out

    def _load(self, topic: str, payload: bytes, out: Decoded) -> dict[str, Any] | None:
        try:
            body = json.loads(payload)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            out.rejections.append(Rejection(Reason.BAD_JSON, self.building, f"{topic}: payload is not UTF-8 JSON: {exc}"))
            return None
        if not isinstance(body, dict):
            out.rejections.append(
                Rejection(Reason.BAD_PAYLOAD, self.building, f"{topic}: payload is a JSON {type(body).__name__}, expected an object")
            )
            return None
        return body

    def _decode_notification(self, topic: str, device: str, payload: bytes, out: Decoded) -> None:
        body = self._load(topic, payload, out)
        if body is None:
            return
        method = body.get("method")
        if method in _PASSED_OVER_METHODS:
            return
        if method not in _STATUS_METHODS:
            out.rejections.append(
                Rejection(
                    Reason.BAD_PAYLOAD,
                    self.building,
                    f"{topic}: method {shown(method)} is not NotifyStatus, NotifyFullStatus or NotifyEvent",
                )
            )
            return
        params = body.get("params")
        if not isinstance(params, dict):
            out.rejections.append(
                Rejection(Reason.BAD_PAYLOAD, self.building, f"{topic}: {method} 'params' must be an object, got {shown(params)}")
            )
            return
        channels = self._channels(topic, device, params, out)
        if not channels:
            return
        if "ts" not in params:
            out.rejections.append(Rejection(Reason.BAD_TIMESTAMP, self.building, f"{topic}: {method} 'params.ts' is missing"))
            return
        try:
            ts_ns = parse_timestamp(params["ts"])
        except TimestampError as exc:
            out.rejections.append(Rejection(Reason.BAD_TIMESTAMP, self.building, f"{topic}: params.{exc}"))
            return
        self._readings(topic, channels, ts_ns, out)

    def _decode_status(self, topic: str, device: str, component: str, payload: bytes, out: Decoded) -> None:
        body = self._load(topic, payload, out)
        if body is None:
            return
        channels = self._channels(topic, device, {component: body}, out)
        if channels:
            self._readings(topic, channels, self.clock() // 10**9 * 10**9, out)

    def _channels(self, topic: str, device: str, components: dict[str, Any], out: Decoded) -> dict[str, dict[str, float]]:
        """Fields per channel name (``<device>:<type>:<id>``) of the metering components; bad values rejected."""
        channels: dict[str, dict[str, float]] = {}
        for key, status in components.items():
            match = _COMPONENT.match(key) if isinstance(key, str) else None
            if match is None or match.group(1) not in _METERING or not isinstance(status, dict):
                continue  # sys, wifi, input:0, ...: no readings
            channel_type, fields = _METERING[match.group(1)]
            channel = f"{device}:{channel_type}:{int(match.group(2))}"
            for name, (path, divisor) in fields.items():
                value: Any = status
                for step in path:
                    value = value.get(step) if isinstance(value, dict) else None
                    if value is None:
                        break
                if value is None:
                    continue  # not in this (partial) status
                number = scaled(value, divisor)
                if number is None:
                    out.rejections.append(
                        Rejection(
                            Reason.BAD_VALUE,
                            self.building,
                            f"{topic}: {key} {'.'.join(path)} = {shown(value)} is not a finite number of {_UNIT[name]} (channel {channel})",
                        )
                    )
                    continue
                channels.setdefault(channel, {})[name] = number
        return channels

    def _readings(self, topic: str, channels: dict[str, dict[str, float]], ts_ns: int, out: Decoded) -> None:
        mapped_readings("Shelly channel", self.building, self.devices, self.topic_filter, topic, channels, ts_ns, out)
