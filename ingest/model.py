"""What the pieces of the collector hand each other: decoded readings and rejections.

A decoder turns one MQTT message into :class:`Reading` objects (raw values, not yet checked against
the registry) and :class:`Rejection` objects (what could not be read, and why). Validation turns
readings into line-protocol lines plus more rejections. Every rejection carries a :class:`Reason`
from one small fixed vocabulary, stored as the ``reason`` tag of ``ingest_rejected`` so dashboards
can group by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Reason(StrEnum):
    """Why an input was rejected. Values are the ``reason`` tag of ``ingest_rejected``: renaming one is a
    breaking change for dashboards and alert rules."""

    BAD_TOPIC = "bad_topic"  # topic does not have the shape any decoder expects
    BAD_JSON = "bad_json"  # payload is not UTF-8 JSON
    BAD_PAYLOAD = "bad_payload"  # JSON, but not the documented shape (not an object, no fields, batch entry without device, ...)
    BAD_TIMESTAMP = "bad_timestamp"  # ts missing, not a number/ISO-8601 string, no UTC offset, or outside 2000..2100
    IMPLAUSIBLE_TIME = (
        "implausible_time"  # readable ts, but too far ahead of or behind now (registry collection.max_future_s / max_age_days)
    )
    UNKNOWN_BUILDING = "unknown_building"  # building code not in the site registry
    UNKNOWN_DEVICE = "unknown_device"  # device id not in that building
    UNKNOWN_FIELD = "unknown_field"  # field this device does not report (facmon.schema.allowed_fields)
    BAD_VALUE = "bad_value"  # not a number: string, bool, null, object, NaN, infinity
    OUT_OF_RANGE = "out_of_range"  # outside facmon.schema.FIELD_RANGES, or a meter register above its rollover
    STORE_REJECTED = "store_rejected"  # InfluxDB refused the point (e.g. field type conflict)
    INTERNAL_ERROR = "internal_error"  # a bug in the collector while handling this message; the message is kept here


@dataclass(frozen=True, slots=True)
class Reading:
    """One device's reading as decoded from a message: raw values exactly as the payload carried them."""

    building: str
    device: str
    ts_ns: int
    fields: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected input. ``building`` is the building code the input named, or ``""``;
    ``detail`` is a human message that names the input (building/device, field, batch entry)."""

    reason: Reason
    building: str
    detail: str


@dataclass(slots=True)
class Decoded:
    """What a decoder made of one message."""

    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
