"""Fault kinds shared by the simulator (injection), analytics (detection) and alerts.

What goes wrong in a building (issue 5), the default severity of each kind, and the building system a
fault belongs to, which the registry's ``coverage`` maps to the responsible vendor.
"""

from __future__ import annotations

from enum import StrEnum

from facmon.registry import Building, Equipment, Meter, Site, System
from facmon.standards import Severity


class FaultKind(StrEnum):
    """What goes wrong (issue 5, item 1). The values are the ``kind`` tag of ``fault`` and ``sim_truth``."""

    METER_STUCK = "meter_stuck"
    DEVICE_OFFLINE = "device_offline"
    SPIKE = "spike"
    OUT_OF_RANGE = "out_of_range"
    METER_RESET = "meter_reset"
    LIGHTS_AFTER_HOURS = "lights_after_hours"
    HVAC_WEEKEND = "hvac_weekend"
    WATER_LEAK = "water_leak"
    EQUIPMENT_FAULT_CODE = "equipment_fault_code"
    ELEVATOR_OUT_OF_SERVICE = "elevator_out_of_service"
    VENTILATION_FAILURE = "ventilation_failure"
    COMFORT_OUT_OF_BAND = "comfort_out_of_band"
    SIMULTANEOUS_HEATING_COOLING = "simultaneous_heating_cooling"


# Default severity of each kind; a site overrides them in the registry (detection.severity).
DEFAULT_SEVERITY: dict[FaultKind, Severity] = {
    FaultKind.METER_STUCK: Severity.MINOR,
    FaultKind.DEVICE_OFFLINE: Severity.MAJOR,
    FaultKind.SPIKE: Severity.MINOR,
    FaultKind.OUT_OF_RANGE: Severity.MINOR,
    FaultKind.METER_RESET: Severity.MINOR,
    FaultKind.LIGHTS_AFTER_HOURS: Severity.MINOR,
    FaultKind.HVAC_WEEKEND: Severity.MINOR,
    FaultKind.WATER_LEAK: Severity.MAJOR,
    FaultKind.EQUIPMENT_FAULT_CODE: Severity.MAJOR,
    FaultKind.ELEVATOR_OUT_OF_SERVICE: Severity.MAJOR,
    FaultKind.VENTILATION_FAILURE: Severity.MAJOR,
    FaultKind.COMFORT_OUT_OF_BAND: Severity.MINOR,
    FaultKind.SIMULTANEOUS_HEATING_COOLING: Severity.MINOR,
}


def responsible_system(kind: FaultKind, building: Building, device: object) -> System:
    """The building system a fault belongs to, which the registry's coverage maps to a vendor."""
    if kind == FaultKind.LIGHTS_AFTER_HOURS:
        return System.LIGHTING
    if kind == FaultKind.WATER_LEAK:
        return System.WATER_SUPPLY
    if kind == FaultKind.COMFORT_OUT_OF_BAND or kind == FaultKind.SIMULTANEOUS_HEATING_COOLING:
        return System.HVAC
    if kind == FaultKind.VENTILATION_FAILURE:
        # B-class offices get their fresh air from the central HVAC; A-class from ventilation fans.
        return System.HVAC if building.office_class == "B" else System.VENTILATION
    if isinstance(device, Equipment):
        return device.maintained_system
    if isinstance(device, Meter):
        return System.WATER_SUPPLY if device.energy == "02" else System.ELECTRICAL
    return System.INDOOR_ENVIRONMENT


def responsible_vendor(site: Site, kind: FaultKind, building: Building, device: object) -> str | None:
    """Id of the vendor responsible for a fault on ``device``: the equipment's own vendor, else the
    vendor whose coverage includes the fault's system in this building; None when nobody covers it."""
    if isinstance(device, Equipment) and device.vendor:
        return device.vendor
    return site.covering_vendor(building.code, responsible_system(kind, building, device))
