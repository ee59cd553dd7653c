"""The energy faults wasted in a period, as the energy report states it: for each fault of a kind that
wastes energy, an upper bound of the energy (kWh, m³) and, at the site's tariffs, of its cost (CNY).

The detectors store a fault's peak, not its energy: lighting after hours its peak excess over the
unoccupied baseline (kW), a water leak its peak night flow above the night baseline (m³/h). So the
estimate is that peak × the hours the fault was active in the period (up to ``now`` for a period not over):
an upper bound, stated as "at most", rounded up to two significant digits; its cost is worked from the
unrounded product and rounded up the same way. HVAC running on a day off stores no power: its bound is the unit's
rated power × hours when the registry knows the rating, else the fault is listed without an estimate.
Simultaneous heating and cooling is listed without an estimate (its waste is the overlap of two units'
loads, which no single figure bounds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from facmon.fault_kinds import FaultKind
from facmon.periods import Period
from facmon.registry import Site
from facmon.rounding import up_to_two_significant
from facmon.schema.faults import Fault

WASTEFUL_KINDS = (
    FaultKind.LIGHTS_AFTER_HOURS,
    FaultKind.HVAC_WEEKEND,
    FaultKind.SIMULTANEOUS_HEATING_COOLING,
    FaultKind.WATER_LEAK,
)
# How each bound was reached (``WasteEstimate.method``), in words for the CLI; the reports have their own catalogue.
METHODS = {
    "peak_excess_kw": "peak excess kW over the unoccupied baseline × hours active (upper bound)",
    "peak_flow_m3_h": "peak night flow m³/h above the night baseline × hours active (upper bound)",
    "rated_kw": "the unit's rated power kW × hours active (upper bound)",
    "no_rating": "no estimate: the unit's rated power is not in the registry",
    "overlap_unmeasured": "no estimate: the overlap of two units' loads is not measured",
    "no_value": "no estimate: the fault stored no power or flow",
}
ENERGY_OF_KIND = {
    FaultKind.LIGHTS_AFTER_HOURS: "01",
    FaultKind.HVAC_WEEKEND: "01",
    FaultKind.SIMULTANEOUS_HEATING_COOLING: "01",
    FaultKind.WATER_LEAK: "02",
}


@dataclass(frozen=True)
class WasteEstimate:
    """One fault's waste in the period. ``hours``: active hours inside the period; ``at_most``: the upper
    bound in the energy category's unit (kWh, m³), None when none can be given; ``method``: a key of
    :data:`METHODS`, how the bound was reached or why there is none;
    ``at_most_cny``: at the site's tariff, None without a tariff for the category."""

    building: str
    kind: str
    target: str
    energy: str
    onset_s: int
    cleared_s: int | None
    hours: float
    at_most: float | None
    at_most_cny: float | None
    method: str

    def as_dict(self) -> dict:
        return asdict(self)


def fault_waste(site: Site, faults: Sequence[Fault], period: Period, now_s: int | None = None) -> list[WasteEstimate]:
    """The waste of every fault of a wasteful kind active in the period, in onset order; a fault still active
    counts until ``now_s`` (epoch s) when the period is not over, never into the future."""
    start_s, end_s = period.bounds_utc_s(site.site.timezone)
    if now_s is not None:
        end_s = min(end_s, now_s)
    estimates = []
    for fault in sorted(faults, key=lambda f: (f.onset_s, f.building, f.target)):
        if fault.kind not in WASTEFUL_KINDS:
            continue
        active_s = min(end_s, fault.cleared_s if fault.cleared_s is not None else end_s) - max(start_s, fault.onset_s)
        if active_s <= 0:
            continue
        hours = active_s / 3600
        energy = ENERGY_OF_KIND[FaultKind(fault.kind)]
        rate, method = None, "no_value"
        if fault.kind == FaultKind.LIGHTS_AFTER_HOURS and fault.value is not None:
            rate, method = fault.value, "peak_excess_kw"
        elif fault.kind == FaultKind.WATER_LEAK and fault.value is not None:
            rate, method = fault.value, "peak_flow_m3_h"
        elif fault.kind == FaultKind.HVAC_WEEKEND:
            building = site.building(fault.building)
            unit = None if building is None else next((e for e in building.equipment if e.id == fault.target), None)
            if unit is not None and unit.rated_power_kw is not None:
                rate, method = unit.rated_power_kw, "rated_kw"
            else:
                method = "no_rating"
        elif fault.kind == FaultKind.SIMULTANEOUS_HEATING_COOLING:
            method = "overlap_unmeasured"
        at_most = None if rate is None else up_to_two_significant(rate * hours)
        price = site.tariffs.cny_per_unit.get(energy)
        cny = None if rate is None or price is None else up_to_two_significant(rate * hours * price)
        estimates.append(
            WasteEstimate(
                fault.building, str(fault.kind), fault.target, energy, fault.onset_s, fault.cleared_s, hours, at_most, cny, method
            )
        )
    return estimates
