"""The registry's facts per building, written to InfluxDB (``site_building``) for Grafana.

Grafana's alert rules and dashboards are provisioned files that do not grow with the number of
buildings: a building's name, use, floor area, registered devices and GB/T 51161 benchmark reach them
through this measurement (and the ``building_name`` tag of ``fault`` points), not through branches or
tables written into every file. ``facmon analyze`` writes one point per building it covers on every
run, stamped at the local midnight of the last day it analysed, so a rerun overwrites the same point.
Stored shape: :mod:`facmon.schema.reference`.
"""

from __future__ import annotations

from collections.abc import Sequence

from facmon.registry import Building, Site
from facmon.schema.reference import BuildingReference, Gbt51161Values, benchmark_group, building_reference_line
from facmon.store import InfluxStore


def gbt51161_values(site: Site, building: Building) -> Gbt51161Values | None:
    """An office's GB/T 51161 benchmark: the registry's ``energy_targets.gbt51161.benchmarks`` override,
    else Table 5.2.1 (for the site's climate zone); None for a building that is not an office."""
    if not building.is_office or building.office_use is None:
        return None
    constraint, guide, source = site.energy_targets.gbt51161.benchmark(building.office_class, building.office_use, site.site.climate_zone)
    return Gbt51161Values(benchmark_group(building.office_class.value, building.office_use.value), guide, constraint, source)


def building_reference(site: Site, building: Building) -> BuildingReference:
    """The ``site_building`` record of ``building`` from the registry."""
    return BuildingReference(
        building=building.code,
        name=building.name,
        use=building.use.value,
        hvac_class=building.office_class.value,
        climate_zone=site.site.climate_zone.value,
        floor_area_m2=building.floor_area_m2,
        energy_users=building.energy_users,
        floors=building.floors,
        meters=len(building.meters),
        ieq_sensors=len(building.ieq_sensors),
        equipment=len(building.equipment),
        weather_sensors=len(building.weather_sensors),
        office_use=None if building.office_use is None else building.office_use.value,
        gbt51161=gbt51161_values(site, building),
    )


def building_reference_lines(site: Site, buildings: Sequence[Building], at_s: int) -> list[str]:
    """The ``site_building`` lines of ``buildings`` at ``at_s`` (epoch s)."""
    return [building_reference_line(building_reference(site, b), at_s) for b in buildings]


def write_building_references(store: InfluxStore, site: Site, buildings: Sequence[Building], at_s: int) -> int:
    """Write the ``site_building`` points of ``buildings`` at ``at_s`` (precision s); returns how many."""
    lines = building_reference_lines(site, buildings, at_s)
    if lines:
        store.write(lines)
    return len(lines)
