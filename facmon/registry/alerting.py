"""Alerting (registry section ``alerting``, used by alerts/): who besides the vendors is notified, and
planned maintenance windows during which a vendor's notifications are muted (Grafana mute timings).
Everything optional: the defaults alert the vendors only and mute nothing."""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from facmon.registry.common import Entry, Identifier
from facmon.registry.vendors import Contact


class Weekday(StrEnum):
    """Days of the week a maintenance window recurs on."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


class MaintenanceWindow(Entry):
    """A planned maintenance window: notifications of faults for ``vendors`` in ``buildings`` are muted
    while it lasts (the alerts still show in Grafana). It recurs on ``weekdays`` (empty: every day),
    between ``start`` and ``end`` (local time of the site; none: all day), within ``first_day`` ..
    ``last_day`` inclusive (none: always). Critical faults still reach the energy office."""

    name: Identifier = Field(description="unique name of the window: the Grafana mute timing facmon-<name>")
    vendors: list[Identifier] | Literal["all"] = Field("all", description="ids of the vendors whose notifications are muted, or all")
    buildings: list[str] | Literal["all"] = Field("all", description="codes of the buildings whose faults are muted, or all")
    weekdays: list[Weekday] = Field(default_factory=list, description="days of the week the window recurs on; empty: every day")
    start: time | None = Field(None, description="local time of day the window opens, HH:MM; with end, or neither for whole days")
    end: time | None = Field(None, description="local time of day the window closes, HH:MM; after start, same day")
    first_day: date | None = Field(None, description="first day of the window, YYYY-MM-DD; with last_day, or neither for a weekly window")
    last_day: date | None = Field(None, description="last day of the window, inclusive, YYYY-MM-DD")

    @model_validator(mode="after")
    def _bounded(self) -> MaintenanceWindow:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end (times of day), or neither for whole days")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"start {self.start:%H:%M} must be before end {self.end:%H:%M} (split a window crossing midnight in two)")
        if (self.first_day is None) != (self.last_day is None):
            raise ValueError("give both first_day and last_day, or neither for a weekly window")
        if self.first_day is not None and self.last_day is not None and self.first_day > self.last_day:
            raise ValueError(f"first_day {self.first_day} is after last_day {self.last_day}")
        if not self.weekdays and self.start is None and self.first_day is None:
            raise ValueError("a maintenance window needs weekdays, start/end or first_day/last_day (else it mutes for ever)")
        return self


class Alerting(Entry):
    """Alert routing beyond the vendors' own contacts."""

    energy_office: list[Contact] = Field(
        default_factory=list,
        description="the energy office (节能办/机关事务管理局): gets every critical fault and faults no vendor maintains",
    )
    maintenance_windows: list[MaintenanceWindow] = Field(
        default_factory=list, description="planned maintenance during which vendors' notifications are muted"
    )
