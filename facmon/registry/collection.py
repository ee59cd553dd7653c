"""Collection settings (registry section ``collection``): reporting intervals of the devices and the
window of reading times the collector accepts."""

from __future__ import annotations

from pydantic import Field

from facmon.registry.common import Entry


class Collection(Entry):
    """How often gateways report each kind of device, seconds, and which reading times are plausible."""

    meter_interval_s: int = Field(
        900,
        ge=1,
        le=86400,
        description="seconds between two readings of a meter: the expected readings for completeness and offline detection",
    )
    ieq_interval_s: int = Field(300, ge=1, le=86400, description="seconds between two readings of an indoor environment sensor")
    equipment_interval_s: int = Field(300, ge=1, le=86400, description="seconds between two readings of a piece of equipment")
    weather_interval_s: int = Field(300, ge=1, le=86400, description="seconds between two readings of a weather sensor")
    # Readings stamped further ahead of the collector's clock are rejected (implausible_time): NTP-synced
    # gateways are seconds off; hours ahead is local time sent as UTC, a wrong date, or a unit error.
    max_future_s: int = Field(600, ge=0, le=86400, description="seconds a reading may be stamped ahead of now")
    # Readings older than this are rejected (implausible_time): covers a gateway buffering through a
    # month-long outage; older is an RTC reset or a wrong year. Raise it for a deliberate late import.
    max_age_days: float = Field(35.0, gt=0, le=3660, description="days a reading may be stamped before now")
