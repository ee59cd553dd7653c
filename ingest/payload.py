"""What every decoder does with a device payload: scale a number to facmon's unit, echo an offending
value in a rejection message, and map a device's own channel names to registry meters."""

from __future__ import annotations

import math
from collections.abc import Mapping

from facmon.ingest.model import Decoded, Reading, Reason, Rejection


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for naming a bad value in a rejection."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scaled(value: object, divisor: float) -> float | None:
    """``value / divisor`` for a finite real number (not a bool), else None; e.g. Wh / 1000 -> kWh."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        result = value / divisor
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def mapped_readings(
    convention: str,
    building: str,
    devices: Mapping[str, str],
    topic_filter: str,
    topic: str,
    channels: dict[str, dict[str, float]],
    ts_ns: int,
    out: Decoded,
) -> None:
    """Append one reading per channel (a device's own name, e.g. ``shellypro3em-..:em:0``) mapped to a registry
    meter by the decoder entry's ``devices``; an unmapped channel is an ``unknown_device`` rejection."""
    for channel, fields in channels.items():
        meter = devices.get(channel)
        if meter is None:
            out.rejections.append(
                Rejection(
                    Reason.UNKNOWN_DEVICE,
                    building,
                    f"{topic}: {convention} device {channel!r} is not mapped to a meter of building {building} "
                    f"(mqtt.decoders entry for {topic_filter!r}, devices)",
                )
            )
            continue
        out.readings.append(Reading(building, meter, ts_ns, fields))
