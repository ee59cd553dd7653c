"""Dashboard (b), building detail: meters and sub-items, indoor environment per zone against GB/T 18883,
equipment status, active and recent faults.

Alert notifications link here as ``/d/facmon-building?var-building=<code>``. Measurements: ``meter``,
``energy_interval``, ``meter_daily``, ``ieq``, ``equipment`` and ``fault`` (README schema table and the
fault contract: one point at a fault's start with ``active`` = 1, one at its clear with 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models import dashboard as dashboard_model

from facmon.dashboards.blocks import (
    building_variable,
    dashboard_json,
    influxql,
    new_dashboard,
    show_building_names,
    table_panel,
    thresholds,
    timeseries_panel,
    vendor_variable,
    with_threshold_lines,
)
from facmon.dashboards.titles import Lang, title
from facmon.registry import IeqQuantity, Site
from facmon.schema import ENERGY_INTERVAL, EQUIPMENT, FAULT, IEQ, METER, METER_DAILY
from facmon.standards import (
    GBT18883_CO2_MAX_PPM,
    GBT18883_HCHO_MAX_MG_M3,
    GBT18883_HUMIDITY_SUMMER_PCT,
    GBT18883_HUMIDITY_WINTER_PCT,
    GBT18883_PM10_MAX_UG_M3,
    GBT18883_PM25_MAX_UG_M3,
    GBT18883_SOURCE,
    GBT18883_TEMPERATURE_SUMMER_C,
    GBT18883_TEMPERATURE_WINTER_C,
    GBT18883_TVOC_MAX_MG_M3,
)

UID = "facmon-building"

BUILDING_FILTER = '"building" =~ /^$building$/'
VENDOR_FILTER = '"vendor" =~ /^$vendor$/'
FAULT_SERIES = '"building", "kind", "severity", "vendor", "target"'  # the tags that make one fault series
BAND_COLOURS = ("red", "yellow", "green")  # inside no band, one band, both bands


@dataclass(frozen=True)
class IeqLimit:
    """GB/T 18883 limits of one indoor quantity: seasonal bands (low, high) or an upper limit."""

    quantity: IeqQuantity
    unit: str  # Grafana unit
    bands: tuple[tuple[float, float], ...] = ()  # (summer, winter) comfort bands
    upper: float | None = None
    averaging: str = ""  # catalogue key of the averaging time of ``upper``


IEQ_LIMITS: dict[IeqQuantity, IeqLimit] = {
    IeqQuantity.TEMPERATURE: IeqLimit(
        IeqQuantity.TEMPERATURE, "celsius", bands=(GBT18883_TEMPERATURE_SUMMER_C, GBT18883_TEMPERATURE_WINTER_C)
    ),
    IeqQuantity.HUMIDITY: IeqLimit(IeqQuantity.HUMIDITY, "humidity", bands=(GBT18883_HUMIDITY_SUMMER_PCT, GBT18883_HUMIDITY_WINTER_PCT)),
    IeqQuantity.CO2: IeqLimit(IeqQuantity.CO2, "ppm", upper=GBT18883_CO2_MAX_PPM, averaging="averaging.1h"),
    IeqQuantity.PM25: IeqLimit(IeqQuantity.PM25, "conµgm3", upper=GBT18883_PM25_MAX_UG_M3, averaging="averaging.24h"),
    IeqQuantity.PM10: IeqLimit(IeqQuantity.PM10, "conµgm3", upper=GBT18883_PM10_MAX_UG_M3, averaging="averaging.24h"),
    IeqQuantity.TVOC: IeqLimit(IeqQuantity.TVOC, "conmgm3", upper=GBT18883_TVOC_MAX_MG_M3, averaging="averaging.8h"),
    IeqQuantity.HCHO: IeqLimit(IeqQuantity.HCHO, "conmgm3", upper=GBT18883_HCHO_MAX_MG_M3, averaging="averaging.1h"),
}


def band_steps(bands: tuple[tuple[float, float], ...]) -> tuple[str, list[tuple[float, str]]]:
    """Threshold steps colouring a value by how many of ``bands`` hold it: red in none, yellow in one,
    green in two (e.g. temperature inside both the summer and the winter band). Returns (base colour, steps)."""
    edges = sorted({edge for band in bands for edge in band})

    def colour(value: float) -> str:
        inside = sum(low <= value <= high for low, high in bands)
        return BAND_COLOURS[min(inside, len(BAND_COLOURS) - 1)]

    base = "red"  # below every band
    steps: list[tuple[float, str]] = []
    previous = base
    for index, edge in enumerate(edges):
        # The colour from this edge up to the next one, judged at a value strictly between them.
        above = (edge + edges[index + 1]) / 2 if index + 1 < len(edges) else edge + 1.0
        current = colour(above)
        if current != previous:
            steps.append((edge, current))
            previous = current
    return base, steps


def ieq_thresholds(limit: IeqLimit) -> dashboard_builder.ThresholdsConfig | None:
    """The panel thresholds of one quantity's GB/T 18883 limits (None when facmon records none)."""
    if limit.bands:
        base, steps = band_steps(limit.bands)
        return thresholds(base, steps)
    if limit.upper is not None:
        return thresholds("green", [(limit.upper, "red")])
    return None


def _band_text(limit: IeqLimit, lang: Lang) -> str:
    if limit.bands:
        (summer_low, summer_high), (winter_low, winter_high) = limit.bands
        return title(
            f"band.{limit.quantity.value}",
            lang,
            summer_low=f"{summer_low:g}",
            summer_high=f"{summer_high:g}",
            winter_low=f"{winter_low:g}",
            winter_high=f"{winter_high:g}",
        )
    if limit.upper is not None:
        return title("band.max", lang, limit=f"{limit.upper:g}", averaging=title(limit.averaging, lang))
    return title("band.none", lang)


def ieq_query(quantity: IeqQuantity) -> str:
    """Mean of ``quantity`` per zone and bucket."""
    return (
        f'SELECT mean("{quantity.value}") AS "{quantity.value}" FROM "{IEQ}" WHERE $timeFilter AND {BUILDING_FILTER} '
        'GROUP BY time($__interval), "building", "zone" fill(none)'
    )


def ieq_quantities(site: Site) -> list[IeqQuantity]:
    """The indoor quantities some sensor of the registry measures, in IeqQuantity order."""
    measured = {q for b in site.buildings for s in b.ieq_sensors for q in s.quantities}
    return [q for q in IeqQuantity if q in measured]


def _ieq_panels(site: Site, lang: Lang) -> list[Any]:
    panels: list[Any] = []
    for quantity in ieq_quantities(site):
        limit = IEQ_LIMITS[quantity]
        panel = timeseries_panel(
            title("panel.ieq", lang, quantity=title(f"ieq.{quantity.value}", lang)),
            [influxql("A", ieq_query(quantity)).alias("$tag_building $tag_zone")],
            unit=limit.unit,
            description=title("panel.ieq.description", lang, band=_band_text(limit, lang), source=GBT18883_SOURCE),
        ).interval(f"{site.collection.ieq_interval_s}s")
        config = ieq_thresholds(limit)
        panels.append(with_threshold_lines(panel, config) if config is not None else panel)
    return panels


SUBITEM_CONSUMPTION_QUERY = (
    f'SELECT sum("consumption") AS "kwh" FROM "{ENERGY_INTERVAL}" WHERE $timeFilter AND {BUILDING_FILTER} AND "energy" = \'01\' '
    'GROUP BY time($__interval), "building", "subitem" fill(none)'
)
METERS_LATEST_QUERY = (
    f'SELECT last("register") AS "register", last("power") AS "power_kw" FROM "{METER}" WHERE $timeFilter AND {BUILDING_FILTER} '
    'GROUP BY "building", "meter", "energy", "subitem"'
)
METER_QUALITY_QUERY = (
    'SELECT mean("completeness") AS "completeness", sum("missing_intervals") AS "missing_intervals", '
    'sum("spike_intervals") AS "spike_intervals", sum("reset_count") AS "resets" '
    f'FROM "{METER_DAILY}" WHERE $timeFilter AND {BUILDING_FILTER} GROUP BY "building", "meter"'
)


def _meter_panels(site: Site, lang: Lang) -> list[Any]:
    consumption = timeseries_panel(
        title("panel.subitem_consumption", lang),
        [influxql("A", SUBITEM_CONSUMPTION_QUERY).alias("$tag_building $tag_subitem")],
        unit="kwatth",
        width=24,
    ).interval("15m")
    latest = table_panel(title("panel.meters_latest", lang), [influxql("A", METERS_LATEST_QUERY)])
    quality = table_panel(
        title("panel.meter_quality", lang), [influxql("A", METER_QUALITY_QUERY)], description=title("panel.meter_quality.description", lang)
    )
    return [consumption, named_buildings(latest, lang), named_buildings(quality, lang)]


EQUIPMENT_FILTER = f"$timeFilter AND {BUILDING_FILTER} AND {VENDOR_FILTER}"
EQUIPMENT_STATUS_QUERY = (
    f'SELECT last("running") AS "running", last("fault_code") AS "fault_code", last("power") AS "power_kw" FROM "{EQUIPMENT}" '
    f'WHERE {EQUIPMENT_FILTER} GROUP BY "building", "equipment", "type", "vendor"'
)
EQUIPMENT_RUNNING_QUERY = (
    f'SELECT sum("running") AS "running" FROM (SELECT last("running") AS "running" FROM "{EQUIPMENT}" WHERE {EQUIPMENT_FILTER} '
    'GROUP BY time($__interval), "building", "equipment", "type") WHERE $timeFilter GROUP BY time($__interval), "type" fill(none)'
)
EQUIPMENT_POWER_QUERY = (
    f'SELECT sum("power") AS "power_kw" FROM (SELECT mean("power") AS "power" FROM "{EQUIPMENT}" WHERE {EQUIPMENT_FILTER} '
    'GROUP BY time($__interval), "building", "equipment", "type") WHERE $timeFilter GROUP BY time($__interval), "type" fill(none)'
)


def _equipment_panels(site: Site, lang: Lang) -> list[Any]:
    status = named_buildings(
        table_panel(
            title("panel.equipment_status", lang),
            [influxql("A", EQUIPMENT_STATUS_QUERY)],
            description=title("panel.equipment_status.description", lang),
            width=24,
            height=10,
        ),
        lang,
    ).mappings(
        [
            dashboard_model.ValueMap(
                options={
                    "0": dashboard_model.ValueMappingResult(text=title("value.stopped", lang), color="orange", index=0),
                    "1": dashboard_model.ValueMappingResult(text=title("value.running", lang), color="green", index=1),
                }
            )
        ]
    )
    interval = f"{site.collection.equipment_interval_s}s"
    running = timeseries_panel(
        title("panel.equipment_running", lang), [influxql("A", EQUIPMENT_RUNNING_QUERY).alias("$tag_type")], unit="short"
    ).interval(interval)
    power = timeseries_panel(
        title("panel.equipment_power", lang), [influxql("A", EQUIPMENT_POWER_QUERY).alias("$tag_type")], unit="kwatt"
    ).interval(interval)
    return [status, running, power]


def active_faults_query(extra_filter: str) -> str:
    """Faults whose latest point is a start (active = 1), whatever the time range; ``extra_filter`` an
    InfluxQL condition on the fault's tags."""
    latest = (
        f'SELECT last("active") AS "active", last("value") AS "value", last("detail") AS "detail" FROM "{FAULT}" '
        f"WHERE {extra_filter} GROUP BY {FAULT_SERIES}"
    )
    return f'SELECT "active", "value", "detail" FROM ({latest}) WHERE "active" = 1 GROUP BY {FAULT_SERIES}'


def recent_faults_query(extra_filter: str) -> str:
    """Fault starts and clears in the time range, newest first, with the building's name (the ``building_name``
    tag; empty on points written before it existed)."""
    return (
        f'SELECT "building", "building_name", "kind", "severity", "vendor", "target", "active", "value", "detail" FROM "{FAULT}" '
        f"WHERE $timeFilter AND {extra_filter} ORDER BY time DESC LIMIT 200"
    )


def named_buildings(panel: Any, lang: Lang) -> Any:
    """``panel``'s ``building`` column shown as "<name> (<code>)" (blocks.show_building_names)."""
    return show_building_names(panel, BUILDING_FILTER, column_title=title("column.building", lang))


def _fault_panels(lang: Lang) -> list[Any]:
    scope = f"{BUILDING_FILTER} AND {VENDOR_FILTER}"
    active = named_buildings(
        table_panel(
            title("panel.faults_active", lang),
            [influxql("A", active_faults_query(scope))],
            description=title("panel.faults_active.description", lang),
            width=24,
        ),
        lang,
    )
    recent = table_panel(
        title("panel.faults_recent", lang),
        [influxql("A", recent_faults_query(scope))],
        description=title("panel.faults_recent.description", lang),
        width=24,
        height=10,
    )
    return [active, recent]


def building_detail_dashboard(site: Site, lang: Lang) -> dict[str, Any]:
    """Dashboard (b), building detail, as Grafana's dashboard JSON."""
    board = (
        new_dashboard(site, UID, title("building", lang), title("building.description", lang), tags=["building"])
        .with_variable(building_variable(lang))
        .with_variable(vendor_variable(site, lang))
    )
    for row_key, panels in (
        ("row.faults", _fault_panels(lang)),
        ("row.meters", _meter_panels(site, lang)),
        ("row.ieq", _ieq_panels(site, lang)),
        ("row.equipment", _equipment_panels(site, lang)),
    ):
        board = board.with_row(dashboard_builder.Row(title(row_key, lang)))
        for panel in panels:
            board = board.with_panel(panel)
    return dashboard_json(board)
