"""The ``site_building`` measurement: the registry's facts about each building, in the data.

Grafana's provisioned files (alert rules, dashboards) must not grow with the number of buildings, so
building names and the other facts they show reach Grafana through InfluxDB instead of being written
into every rule and dashboard: one point per building, written by ``facmon analyze``
(:mod:`facmon.analytics.reference`) for the buildings it covers on every run, stamped at the local
midnight of the last day the run analysed, so a rerun overwrites the same point.

Stored shape (docs/architecture.md#site_building): tag ``building`` (code). Fields: ``name`` and
``label`` (``<name> (<code>)``, what the dashboards' ``$building`` variable lists and splits with
:data:`LABEL_VARIABLE_REGEX`), ``use`` (the registry's building use), ``hvac_class`` (GB/T 51161's A or
B), ``climate_zone``, ``floor_area_m2``, ``energy_users``, ``floors``, the registered devices
``meters``, ``ieq_sensors``, ``equipment``, ``weather_sensors``; for an office (GB/T 51161 applies)
``office_use``, ``gbt51161_benchmark`` (the benchmark group, :func:`benchmark_group`, which
``score_energy``'s ``intensity_benchmark`` repeats), ``gbt51161_guide_kwh_m2``,
``gbt51161_constraint_kwh_m2`` and ``gbt51161_source``. Names are fields, not tags: a renamed building
stays one series, and its latest point carries the new name.

Readers: the dashboards (their own InfluxQL) and :func:`read_building_references`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from facmon.schema.names import SITE_BUILDING
from facmon.store import InfluxStore, line, quote_identifier

NS_PER_S = 1_000_000_000
# The dashboards' $building variable: Grafana's InfluxDB datasource gives a query variable one text per
# value (its first string column), so the label carries both, and this variable regex (JavaScript syntax,
# Grafana's named groups ``text`` and ``value``) shows "<name> (<code>)" and uses the code as the value.
# The code pattern is facmon.standards.BUILDING_CODE's.
LABEL_VARIABLE_REGEX = r"/^(?<text>.*\((?<value>[0-9]{6}[A-H][0-9]{3})\))$/"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def single_line(text: str) -> str:
    """``text`` on one line (control characters, newlines included, become one space), trimmed: the form a
    name takes as a tag value (line protocol has no escape for a newline in a tag) and in a label."""
    return _CONTROL.sub(" ", text).strip()


def building_label(name: str, code: str) -> str:
    """What the dashboards list for a building: ``<name> (<code>)``."""
    return f"{single_line(name)} ({code})"


def benchmark_group(hvac_class: str, office_use: str) -> str:
    """The GB/T 51161 benchmark group of an office, ``<class>/<office use>`` (e.g. ``B/government``): the
    site has one climate zone, so class and use pick the row of Table 5.2.1 (or the registry's override)."""
    return f"{hvac_class}/{office_use}"


@dataclass(frozen=True)
class Gbt51161Values:
    """An office's GB/T 51161 benchmark (kWh/(m²·a)) and where it comes from."""

    group: str  # benchmark_group()
    guide_kwh_m2: float
    constraint_kwh_m2: float
    source: str


@dataclass(frozen=True)
class BuildingReference:
    """One ``site_building`` point: a building's registry facts (see the module docstring)."""

    building: str
    name: str
    use: str
    hvac_class: str
    climate_zone: str
    floor_area_m2: float
    energy_users: int
    floors: int
    meters: int
    ieq_sensors: int
    equipment: int
    weather_sensors: int
    office_use: str | None = None
    gbt51161: Gbt51161Values | None = None

    @property
    def label(self) -> str:
        return building_label(self.name, self.building)


def building_reference_line(ref: BuildingReference, at_s: int) -> str:
    """The ``site_building`` point of ``ref`` at ``at_s`` (epoch s) as line protocol."""
    fields: dict[str, float | str] = {
        "name": single_line(ref.name),
        "label": ref.label,
        "use": ref.use,
        "hvac_class": ref.hvac_class,
        "climate_zone": ref.climate_zone,
        "floor_area_m2": float(ref.floor_area_m2),
        "energy_users": float(ref.energy_users),
        "floors": float(ref.floors),
        "meters": float(ref.meters),
        "ieq_sensors": float(ref.ieq_sensors),
        "equipment": float(ref.equipment),
        "weather_sensors": float(ref.weather_sensors),
    }
    if ref.office_use is not None:
        fields["office_use"] = ref.office_use
    if ref.gbt51161 is not None:
        fields["gbt51161_benchmark"] = ref.gbt51161.group
        fields["gbt51161_guide_kwh_m2"] = float(ref.gbt51161.guide_kwh_m2)
        fields["gbt51161_constraint_kwh_m2"] = float(ref.gbt51161.constraint_kwh_m2)
        fields["gbt51161_source"] = ref.gbt51161.source
    return line(SITE_BUILDING, {"building": ref.building}, fields, int(at_s) * NS_PER_S)


def read_building_references(store: InfluxStore) -> dict[str, dict[str, Any]]:
    """code -> the fields of each building's latest ``site_building`` point (with ``time``, epoch s)."""
    rows = store.query(f'SELECT * FROM {quote_identifier(SITE_BUILDING)} GROUP BY "building" ORDER BY time DESC LIMIT 1')
    found: dict[str, dict[str, Any]] = {}
    for series in rows:
        code = series.get("tags", {}).get("building", "")
        found[code] = {k: v for k, v in zip(series["columns"], series["values"][0], strict=True) if v is not None}
    return found
