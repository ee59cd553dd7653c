"""Payload decoders: one MQTT message in, decoded readings and rejections out.

A decoder knows one device convention. It declares the MQTT topic filters it serves; the collector
subscribes to them and hands each message to the first decoder whose filter matches its topic
(:class:`DecoderSet`). Decoders parse only: whether the building, device, fields and values exist
and are plausible is :mod:`ingest.validation`'s job, so every decoder gets the same checks.

:class:`FacmonJsonDecoder` reads the documented facmon convention (DESIGN.md, MQTT):

* ``<prefix>/<building>/<device>``: one device's reading, a JSON object
  ``{"ts": ..., "<field>": <number>, ...}``; any number of fields ("multi-field"). A ``"device"`` key,
  if present, must equal the topic's device.
* ``<prefix>/<building>/_batch``: a gateway's batch ``{"readings": [{"device": ..., "ts": ..., ...}, ...]}``.
  Each entry is decoded on its own: one bad entry is rejected, the others still go through.

``ts`` is epoch seconds or epoch milliseconds as a JSON number (told apart by magnitude: below 1e11
is seconds, 1e11 up to 1e14 is milliseconds, larger is rejected as micro/nanoseconds), or an ISO-8601
string **with** a UTC offset (``2024-05-01T08:00:00+08:00`` or ``...Z``). A naive ISO string is
rejected (``bad_timestamp``), not read in the site's time zone: a gateway that drops the offset is
misconfigured, and guessing would silently shift its readings by hours. Timestamps must fall in
2000-01-01 .. 2100-01-01 UTC; a missing ``ts`` is rejected.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from paho.mqtt.client import topic_matches_sub

from ingest.model import Decoded, Reading, Reason, Rejection

BATCH_DEVICE = "_batch"

# Plausible timestamps: anything outside is a device clock or unit error, not a reading.
TS_MIN_NS = 946_684_800 * 10**9  # 2000-01-01T00:00:00Z
TS_MAX_NS = 4_102_444_800 * 10**9  # 2100-01-01T00:00:00Z
_SECONDS_BELOW = 1e11  # 1e11 s is the year 5138; 1e11 ms is 1973
_MILLISECONDS_BELOW = 1e14  # 1e14 ms is the year 5138
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@runtime_checkable
class Decoder(Protocol):
    """A device convention. Later conventions (Shelly, Tasmota, ...) implement this and are listed
    in the collector's decoders; the first whose ``topic_filters`` match a topic decodes it."""

    name: str

    @property
    def topic_filters(self) -> Sequence[str]:
        """MQTT topic filters (``+``/``#`` wildcards) this decoder serves; the collector subscribes to them."""
        ...

    def decode(self, topic: str, payload: bytes) -> Decoded:
        """Readings and rejections of one message. Must not raise on any payload (the collector turns an
        exception into an ``internal_error`` rejection anyway, but that hides the real reason)."""
        ...


class TimestampError(ValueError):
    """A ``ts`` value that cannot be used; the message says why."""


def _check_range(ns: int, shown: object) -> int:
    if not TS_MIN_NS <= ns < TS_MAX_NS:
        raise TimestampError(f"ts {shown!r} is outside 2000-01-01..2100-01-01 UTC")
    return ns


def parse_timestamp(value: object) -> int:
    """Nanoseconds since the Unix epoch from a payload's ``ts``; raises :class:`TimestampError`."""
    if isinstance(value, bool) or value is None:
        raise TimestampError(f"ts {value!r} is not a number or an ISO-8601 string")
    if isinstance(value, int):
        magnitude = abs(value)
        if magnitude < _SECONDS_BELOW:
            return _check_range(value * 10**9, value)
        if magnitude < _MILLISECONDS_BELOW:
            return _check_range(value * 10**6, value)
        raise TimestampError(f"ts {value!r} is too large for epoch seconds or milliseconds (microseconds or nanoseconds are not accepted)")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TimestampError(f"ts {value!r} is not a finite number")
        # repr() is the shortest text that reads back as this float: the digits the device sent.
        exact = Decimal(repr(value))
        magnitude = abs(value)
        if magnitude < _SECONDS_BELOW:
            return _check_range(int((exact * 10**9).to_integral_value()), value)
        if magnitude < _MILLISECONDS_BELOW:
            return _check_range(int((exact * 10**6).to_integral_value()), value)
        raise TimestampError(f"ts {value!r} is too large for epoch seconds or milliseconds (microseconds or nanoseconds are not accepted)")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise TimestampError(f"ts {value!r} is not an ISO-8601 date-time (nor a JSON number)") from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise TimestampError(f"ts {value!r} has no UTC offset; write e.g. {value}+08:00 or {value}Z")
        delta = moment - _EPOCH
        return _check_range((delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000, value)
    raise TimestampError(f"ts {value!r} is not a number or an ISO-8601 string")


def _shown(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class FacmonJsonDecoder:
    """facmon's own JSON convention on ``<prefix>/<building>/<device>`` and ``<prefix>/<building>/_batch``."""

    name = "facmon-json"

    def __init__(self, prefix: str = "facmon"):
        self.prefix = prefix
        self._levels = prefix.count("/") + 1

    @property
    def topic_filters(self) -> Sequence[str]:
        # The whole prefix, not just prefix/+/+: a wrongly shaped topic under the prefix is then
        # rejected as bad_topic instead of never being seen.
        return (f"{self.prefix}/#",)

    def decode(self, topic: str, payload: bytes) -> Decoded:
        out = Decoded()
        levels = topic.split("/")
        if levels[: self._levels] != self.prefix.split("/") or len(levels) != self._levels + 2 or not all(levels[self._levels :]):
            out.rejections.append(
                Rejection(Reason.BAD_TOPIC, "", f"topic {topic!r} is not {self.prefix}/<building>/<device> or {self.prefix}/<building>/{BATCH_DEVICE}")
            )
            return out
        building, device = levels[self._levels], levels[self._levels + 1]
        try:
            body = json.loads(payload)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            out.rejections.append(Rejection(Reason.BAD_JSON, building, f"{building}/{device}: payload is not UTF-8 JSON: {exc}"))
            return out
        if not isinstance(body, dict):
            out.rejections.append(
                Rejection(Reason.BAD_PAYLOAD, building, f"{building}/{device}: payload is a JSON {type(body).__name__}, expected an object")
            )
            return out
        if device == BATCH_DEVICE:
            self._decode_batch(building, body, out)
        else:
            self._decode_entry(building, device, body, f"{building}/{device}", out, device_key="optional")
        return out

    def _decode_batch(self, building: str, body: dict[str, Any], out: Decoded) -> None:
        where = f"{building}/{BATCH_DEVICE}"
        extra = sorted(k for k in body if k != "readings")
        if extra:
            out.rejections.append(
                Rejection(Reason.BAD_PAYLOAD, building, f"{where}: keys {', '.join(map(repr, extra))} are ignored; a batch has only 'readings'")
            )
        readings = body.get("readings")
        if not isinstance(readings, list):
            out.rejections.append(
                Rejection(Reason.BAD_PAYLOAD, building, f"{where}: 'readings' must be a list of reading objects, got {_shown(readings)}")
            )
            return
        for index, entry in enumerate(readings):
            entry_where = f"{where} readings[{index}]"
            if not isinstance(entry, dict):
                out.rejections.append(Rejection(Reason.BAD_PAYLOAD, building, f"{entry_where}: expected an object, got {_shown(entry)}"))
                continue
            device = entry.get("device")
            if not isinstance(device, str) or not device:
                out.rejections.append(Rejection(Reason.BAD_PAYLOAD, building, f"{entry_where}: 'device' must be a device id string, got {_shown(device)}"))
                continue
            self._decode_entry(building, device, entry, f"{entry_where} ({building}/{device})", out, device_key="present")

    def _decode_entry(self, building: str, device: str, body: dict[str, Any], where: str, out: Decoded, *, device_key: str) -> None:
        fields = dict(body)
        if device_key == "present":
            del fields["device"]
        elif "device" in fields:
            named = fields.pop("device")
            if named != device:
                out.rejections.append(
                    Rejection(Reason.BAD_PAYLOAD, building, f"{where}: payload names device {_shown(named)} but the topic names {device!r}")
                )
                return
        if "ts" not in fields:
            out.rejections.append(Rejection(Reason.BAD_TIMESTAMP, building, f"{where}: 'ts' is missing"))
            return
        try:
            ts_ns = parse_timestamp(fields.pop("ts"))
        except TimestampError as exc:
            out.rejections.append(Rejection(Reason.BAD_TIMESTAMP, building, f"{where}: {exc}"))
            return
        if not fields:
            out.rejections.append(Rejection(Reason.BAD_PAYLOAD, building, f"{where}: no fields besides 'ts'"))
            return
        out.readings.append(Reading(building, device, ts_ns, fields))


def filter_covers(outer: str, inner: str) -> bool:
    """True when every topic matching filter ``inner`` also matches filter ``outer``."""
    outer_levels, inner_levels = outer.split("/"), inner.split("/")
    for i, level in enumerate(outer_levels):
        if level == "#":
            return True
        if i >= len(inner_levels) or inner_levels[i] == "#":
            return False
        if level != "+" and level != inner_levels[i]:
            return False
    return len(inner_levels) == len(outer_levels)


class DecoderSet:
    """Decoders in order of preference; a topic goes to the first whose filters match it."""

    def __init__(self, decoders: Iterable[Decoder]):
        self.decoders = list(decoders)
        if not self.decoders:
            raise ValueError("at least one decoder is needed")

    @property
    def topic_filters(self) -> list[str]:
        """The filters to subscribe to: each decoder's, minus those another filter already covers
        (overlapping subscriptions make the broker deliver a message once per matching filter)."""
        wanted: list[str] = []
        for decoder in self.decoders:
            for topic_filter in decoder.topic_filters:
                if topic_filter not in wanted:
                    wanted.append(topic_filter)
        return [f for f in wanted if not any(other != f and filter_covers(other, f) for other in wanted)]

    def for_topic(self, topic: str) -> Decoder | None:
        for decoder in self.decoders:
            if any(topic_matches_sub(topic_filter, topic) for topic_filter in decoder.topic_filters):
                return decoder
        return None

    def decode(self, topic: str, payload: bytes) -> Decoded:
        """Decode with the matching decoder; a topic no decoder serves is one ``bad_topic`` rejection."""
        decoder = self.for_topic(topic)
        if decoder is None:
            return Decoded(rejections=[Rejection(Reason.BAD_TOPIC, "", f"no decoder serves topic {topic!r}")])
        return decoder.decode(topic, payload)
