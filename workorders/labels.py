"""What pages call states, actions, fault kinds, systems and severities: English here, Chinese in
locale/zh_Hans (the default language)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

STATES = {
    "open": pgettext_lazy("state", "Open"),
    "acknowledged": pgettext_lazy("state", "Acknowledged"),
    "on_site": pgettext_lazy("state", "On site"),
    "resolved": pgettext_lazy("state", "Resolved"),
    "verified": pgettext_lazy("state", "Verified"),
    "closed": pgettext_lazy("state", "Closed"),
    "reopened": pgettext_lazy("state", "Reopened"),
    "cancelled": pgettext_lazy("state", "Cancelled"),
}
ACTIONS = {
    "open": _("Opened"),
    "acknowledge": _("Acknowledge"),
    "arrive": _("Arrived on site"),
    "resolve": _("Mark resolved"),
    "verify": _("Verify"),
    "close": _("Close"),
    "reopen": _("Reopen"),
    "cancel": _("Cancel"),
    "assign": _("Assign"),
    "note": _("Note"),
    "breach": _("SLA breached"),
    "return_visit": _("Return visit"),
}
SEVERITIES = {"critical": _("Critical"), "major": _("Major"), "minor": _("Minor")}
KINDS = {
    "meter_stuck": _("Meter stuck"),
    "device_offline": _("Device offline"),
    "spike": _("Reading spike"),
    "out_of_range": _("Reading out of range"),
    "meter_reset": _("Meter reset"),
    "lights_after_hours": _("Lights on after hours"),
    "hvac_weekend": _("HVAC running on a day off"),
    "water_leak": _("Water leak"),
    "equipment_fault_code": _("Equipment fault code"),
    "elevator_out_of_service": _("Elevator out of service"),
    "ventilation_failure": _("Ventilation failure"),
    "comfort_out_of_band": _("Indoor climate out of band"),
    "simultaneous_heating_cooling": _("Simultaneous heating and cooling"),
    "device_gateway": _("Gateway silent"),
    "collection": _("Collection stopped"),
    # repair categories (building systems)
    "hvac": _("Air conditioning"),
    "elevator": _("Elevator"),
    "water_supply": _("Water supply"),
    "electrical": _("Electrical"),
    "lighting": _("Lighting"),
    "ventilation": _("Ventilation"),
    "kitchen": _("Kitchen"),
    "it": _("IT"),
    "indoor_environment": _("Indoor environment"),
}
CHANNELS = {"web": _("web page"), "api": _("API"), "link": _("link"), "system": _("automatic")}
SYSTEM_ACTOR = _("facmon (from the data)")
SOURCES = {"fault": _("Fault"), "request": _("Repair request")}
URGENCIES = {"urgent": _("Urgent"), "normal": _("Normal")}
STANDINGS = {"good_standing": _("Good standing"), "warned": _("Warned"), "not_recommended": _("Not recommended for renewal")}
PARTS = {
    "measured": _("Measured service"),
    "inspections": _("Inspections"),
    "satisfaction": _("Satisfaction surveys"),
    "third_party": _("Third-party assessment"),
}


def label(table: dict[str, object], key: str) -> object:
    """The label of ``key``, or the key itself when there is none."""
    return table.get(key, key)
