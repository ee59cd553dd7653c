"""MQTT topics (registry section ``mqtt``): facmon's topic prefix and the decoders for device conventions
other than facmon's own JSON (Shelly Gen2+, Tasmota), with the topic-filter rules they must follow."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field, field_validator

from facmon.registry.common import Entry, Identifier, require_quoted_code


def mqtt_filter_problem(topic_filter: str) -> str | None:
    """Why ``topic_filter`` cannot be subscribed to as a plain MQTT topic filter, or None when it can.

    ``$``-topics (``$SYS``, ``$share/...``) are refused: shared subscriptions are the collector's
    business, not the registry's."""
    if not topic_filter:
        return "an MQTT topic filter cannot be empty"
    if len(topic_filter.encode("utf-8", errors="surrogatepass")) > 65535:
        return "an MQTT topic filter is at most 65535 bytes"
    if "\x00" in topic_filter:
        return "an MQTT topic filter cannot contain the NUL character"
    if topic_filter.startswith("$"):
        return f"topic {topic_filter!r} starts with '$' (broker topics such as $SYS and $share/... are not device topics)"
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return f"topic {topic_filter!r}: '#' must be a whole level and the last one, e.g. shellies/#"
        if "+" in level and level != "+":
            return f"topic {topic_filter!r}: '+' must be a whole level, e.g. tele/+/SENSOR"
    return None


def filters_overlap(first: str, second: str) -> bool:
    """True when some topic matches both MQTT topic filters (``+`` one level, ``#`` the rest, even nothing)."""
    a, b = first.split("/"), second.split("/")
    for index in range(max(len(a), len(b)) + 1):
        if (index < len(a) and a[index] == "#") or (index < len(b) and b[index] == "#"):
            return True
        if index == len(a) or index == len(b):
            return len(a) == len(b)
        if a[index] != "+" and b[index] != "+" and a[index] != b[index]:
            return False
    return False  # not reached


class DeviceFormat(StrEnum):
    """Device MQTT conventions the collector decodes besides facmon's own JSON (README: Device conventions)."""

    SHELLY_GEN2 = "shelly_gen2"  # <device>/status/<component> and <device>/events/rpc NotifyStatus
    TASMOTA = "tasmota"  # tele/<device>/SENSOR with an ENERGY object


# The metering components of Shelly Gen2+ devices a channel name may name (emdata:N and em1data:N
# are the energy counters of em:N and em1:N and feed the same meter).
SHELLY_CHANNEL_TYPES = ("switch", "cover", "light", "pm1", "em", "em1")
NATIVE_NAME_PATTERNS: dict[DeviceFormat, tuple[re.Pattern[str], str]] = {
    DeviceFormat.SHELLY_GEN2: (
        re.compile(r"^[^/+#:\s]+:(?:" + "|".join(SHELLY_CHANNEL_TYPES) + r"):(?:0|[1-9]\d{0,2})$"),
        "<device>:<component>:<id> with component " + ", ".join(SHELLY_CHANNEL_TYPES) + ", e.g. shellypro3em-c8f09e8a1b2c:em:0",
    ),
    DeviceFormat.TASMOTA: (
        re.compile(r"^[^/+#:\s]+(?::[1-9]\d{0,2})?$"),
        "<device topic>, or <device topic>:<channel 1..n> for a multi-channel device, e.g. tasmota_C59B5E or tasmota_DUALR3:2",
    ),
}


class DeviceDecoder(Entry):
    """Messages of one device convention on one topic filter, all belonging to one building.

    ``devices`` maps each device's own name (its channel, for a multi-channel device) to the id of a
    meter of ``building``; a device not listed is rejected as ``unknown_device``."""

    format: DeviceFormat = Field(description="the device convention of the messages on this topic")
    topic: str = Field(description="MQTT topic filter, e.g. 'shellies/341122A002/#' or 'tele/+/SENSOR'")
    building: str = Field(description="code of the building every device on this topic belongs to")
    devices: dict[str, Identifier] = Field(min_length=1, description="device's own name -> meter id of the building")

    _check_code = field_validator("building", mode="before")(require_quoted_code)

    @field_validator("topic")
    @classmethod
    def _valid_filter(cls, topic: str) -> str:
        problem = mqtt_filter_problem(topic)
        if problem is not None:
            raise ValueError(problem)
        return topic


class MqttTopics(Entry):
    """MQTT topics: facmon's own JSON convention under ``topic_prefix`` and the other device conventions."""

    topic_prefix: Identifier = Field(
        "facmon", description="first topic level of facmon's JSON convention: <topic_prefix>/<building>/<device>"
    )
    decoders: list[DeviceDecoder] = Field(default_factory=list, description="device conventions besides facmon JSON on <topic_prefix>/#")
