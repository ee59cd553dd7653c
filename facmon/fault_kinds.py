"""Fault kinds shared by the simulator (injection), analytics (detection) and alerts.

What goes wrong in a building (issue 5) and the default severity of each kind. This module imports
nothing of the registry: the registry validates ``detection.severity`` against :class:`FaultKind`, and
the building system and vendor a fault belongs to (which the registry's ``coverage`` maps to the
responsible vendor) are :func:`facmon.registry.responsible_system` and
:func:`facmon.registry.responsible_vendor`.
"""

from __future__ import annotations

from enum import StrEnum

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
