"""Who answers for a fault: the building system a fault belongs to, and the vendor whose contract covers
that system in the building (registry sections ``buildings`` and ``coverage``).

The simulator uses it to record the responsible vendor as ground truth, analytics to tag detected
faults; both therefore agree on who is paged."""

from __future__ import annotations

from facmon.fault_kinds import FaultKind
from facmon.registry.buildings import Building, Equipment, Meter, System
from facmon.registry.site import Site


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
