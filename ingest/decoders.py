"""Payload decoders: one MQTT message in, decoded readings and rejections out.

A decoder knows one device convention. It declares the MQTT topic filters it serves; the collector
subscribes to them and hands each message to the first decoder whose filter matches its topic
(:class:`DecoderSet`). Decoders parse only: whether the building, device, fields and values exist
and are plausible is :mod:`facmon.ingest.validation`'s job, so every decoder gets the same checks.

:class:`FacmonJsonDecoder` reads the documented facmon convention (docs/collecting.md#mqtt-topics-and-payloads):

* ``<prefix>/<building>/<device>``: one device's reading, a JSON object
  ``{"ts": ..., "<field>": <number>, ...}``; any number of fields ("multi-field"). A ``"device"`` key,
  if present, must equal the topic's device.
* ``<prefix>/<building>/_batch``: a gateway's batch ``{"readings": [{"device": ..., "ts": ..., ...}, ...]}``.
  Each entry is decoded on its own: one bad entry is rejected, the others still go through.

``ts`` is read by :func:`facmon.ingest.timestamps.parse_timestamp`: epoch seconds or milliseconds as a JSON
number, or an ISO-8601 string **with** a UTC offset (a naive one is rejected, ``bad_timestamp``);
2000-01-01 .. 2100-01-01 UTC; a missing ``ts`` is rejected.

Device conventions configured in the registry (``mqtt.decoders``) come from :mod:`facmon.ingest.shelly` and
:mod:`facmon.ingest.tasmota`; :meth:`DecoderSet.for_site` puts them behind facmon's JSON decoder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from paho.mqtt.client import topic_matches_sub

from facmon.ingest.model import Decoded, Reading, Reason, Rejection
from facmon.ingest.payload import shown
from facmon.ingest.shelly import ShellyGen2Decoder
from facmon.ingest.tasmota import TasmotaDecoder
from facmon.ingest.timestamps import TS_MAX_NS, TS_MIN_NS, TimestampError, parse_timestamp
from facmon.registry import DeviceFormat, Site

__all__ = [
    "BATCH_DEVICE",
    "TS_MAX_NS",
    "TS_MIN_NS",
    "Decoder",
    "DecoderSet",
    "FacmonJsonDecoder",
    "ShellyGen2Decoder",
    "TasmotaDecoder",
    "TimestampError",
    "filter_covers",
    "parse_timestamp",
]

BATCH_DEVICE = "_batch"


@runtime_checkable
class Decoder(Protocol):
    """A device convention (facmon JSON, Shelly Gen2, Tasmota, ...), listed in the collector's
    :class:`DecoderSet`; the first whose ``topic_filters`` match a topic decodes it."""

    name: str

    @property
    def topic_filters(self) -> Sequence[str]:
        """MQTT topic filters (``+``/``#`` wildcards) this decoder serves; the collector subscribes to them."""
        ...

    def decode(self, topic: str, payload: bytes) -> Decoded:
        """Readings and rejections of one message. Must not raise on any payload (the collector turns an
        exception into an ``internal_error`` rejection anyway, but that hides the real reason)."""
        ...


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
                Rejection(
                    Reason.BAD_TOPIC,
                    "",
                    f"topic {topic!r} is not {self.prefix}/<building>/<device> or {self.prefix}/<building>/{BATCH_DEVICE}",
                )
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
                Rejection(
                    Reason.BAD_PAYLOAD, building, f"{where}: keys {', '.join(map(repr, extra))} are ignored; a batch has only 'readings'"
                )
            )
        readings = body.get("readings")
        if not isinstance(readings, list):
            out.rejections.append(
                Rejection(Reason.BAD_PAYLOAD, building, f"{where}: 'readings' must be a list of reading objects, got {shown(readings)}")
            )
            return
        for index, entry in enumerate(readings):
            entry_where = f"{where} readings[{index}]"
            if not isinstance(entry, dict):
                out.rejections.append(Rejection(Reason.BAD_PAYLOAD, building, f"{entry_where}: expected an object, got {shown(entry)}"))
                continue
            device = entry.get("device")
            if not isinstance(device, str) or not device:
                out.rejections.append(
                    Rejection(Reason.BAD_PAYLOAD, building, f"{entry_where}: 'device' must be a device id string, got {shown(device)}")
                )
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
                    Rejection(Reason.BAD_PAYLOAD, building, f"{where}: payload names device {shown(named)} but the topic names {device!r}")
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


_TOPIC_CACHE_MAX = 65_536  # topics remembered by DecoderSet.for_topic


class DecoderSet:
    """Decoders in order of preference; a topic goes to the first whose filters match it."""

    def __init__(self, decoders: Iterable[Decoder]):
        self.decoders = list(decoders)
        self._by_topic: dict[str, Decoder | None] = {}
        if not self.decoders:
            raise ValueError("at least one decoder is needed")

    @classmethod
    def for_site(cls, site: Site) -> DecoderSet:
        """facmon JSON on ``<topic_prefix>/#`` and one decoder per ``mqtt.decoders`` entry of the registry
        (whose topic filters the registry keeps disjoint from each other and from the prefix)."""
        decoders: list[Decoder] = [FacmonJsonDecoder(site.mqtt.topic_prefix)]
        for entry in site.mqtt.decoders:
            if entry.format is DeviceFormat.SHELLY_GEN2:
                decoders.append(ShellyGen2Decoder(entry.topic, entry.building, entry.devices))
            elif entry.format is DeviceFormat.TASMOTA:
                decoders.append(TasmotaDecoder(entry.topic, entry.building, entry.devices, site.site.tz))
            else:  # pragma: no cover - a format the registry accepts but no decoder reads
                raise ValueError(f"no decoder for format {entry.format!r}")
        return cls(decoders)

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
        # topic_matches_sub builds a matcher per call (6% of the collector's CPU): remember the answer
        # per topic. Bounded, since topics come from any client of the broker.
        try:
            return self._by_topic[topic]
        except KeyError:
            pass
        found = None
        for decoder in self.decoders:
            if any(topic_matches_sub(topic_filter, topic) for topic_filter in decoder.topic_filters):
                found = decoder
                break
        if len(self._by_topic) >= _TOPIC_CACHE_MAX:
            self._by_topic.clear()
        self._by_topic[topic] = found
        return found

    def decode(self, topic: str, payload: bytes) -> Decoded:
        """Decode with the matching decoder; a topic no decoder serves is one ``bad_topic`` rejection."""
        decoder = self.for_topic(topic)
        if decoder is None:
            return Decoded(rejections=[Rejection(Reason.BAD_TOPIC, "", f"no decoder serves topic {topic!r}")])
        return decoder.decode(topic, payload)
