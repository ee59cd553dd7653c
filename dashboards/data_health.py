"""Dashboard (d), data health: is the collection chain whole?

Ingest rates per collector, whether InfluxDB takes each collector's writes (and why not), rejected input
by reason, the collectors' spool, broker drops and lag (all from ``ingest_stats`` and ``ingest_rejected``,
written by ingest), and the registry's devices that stopped reporting (from the raw measurements), next
to the devices registered per building (from the ``site_building`` points the analysis writes from the
registry). Measurement, tag and field names
are those of facmon.schema and docs/architecture.md's schema.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import statetimeline
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as dashboard_model

from facmon.dashboards.blocks import (
    building_variable,
    dashboard_json,
    datasource_ref,
    influxql,
    new_dashboard,
    reference_query,
    reference_table,
    show_building_names,
    stat_panel,
    table_panel,
    tag_values_variable,
    timeseries_panel,
    vendor_variable,
)
from facmon.dashboards.titles import Lang, title
from facmon.registry import Site
from facmon.schema import EQUIPMENT, IEQ, INGEST_REJECTED, INGEST_STATS, METER, WEATHER, StoreProblem

UID = "facmon-data-health"
# A device is offline when it sent nothing in the current collection interval and the
# OFFLINE_INTERVALS - 1 full ones before it (the current interval is still filling).
OFFLINE_INTERVALS = 3

COLLECTOR_FILTER = '"collector" =~ /^$collector$/'
BUILDING_FILTER = '"building" =~ /^$building$/'
# Rejected input that names no building of the registry carries no building tag: always shown.
REJECT_BUILDING_FILTER = '("building" =~ /^$building$/ OR "building" = \'\')'


@dataclass(frozen=True)
class DeviceKind:
    """How one kind of registry device shows up in InfluxDB."""

    key: str  # facmon.schema.DeviceKind
    measurement: str
    device_tags: tuple[str, ...]  # tags that identify one device
    field: str  # a field every device of the kind reports
    interval_s: int  # the registry's collection interval
    registered: int  # devices of this kind in the registry
    extra_filter: str = ""  # further InfluxQL condition (e.g. the vendor variable)
    reference_field: str = ""  # the site_building field counting a building's registered devices of the kind


def _common_quantity(quantity_lists: list[list[str]], preferred: str) -> str:
    """The field most sensors of a kind report (``preferred`` on a tie): offline detection counts it."""
    counts = Counter(q for quantities in quantity_lists for q in quantities)
    if not counts:
        return preferred
    best = max(counts.values())
    return preferred if counts.get(preferred) == best else min(q for q, n in counts.items() if n == best)


def device_kinds(site: Site) -> list[DeviceKind]:
    """The kinds of device the registry has, with their measurement, identifying tags and interval."""
    collection = site.collection
    ieq_lists = [[q.value for q in s.quantities] for b in site.buildings for s in b.ieq_sensors]
    weather_lists = [[q.value for q in s.quantities] for b in site.buildings for s in b.weather_sensors]
    kinds = [
        DeviceKind(
            "meter",
            METER,
            ("building", "meter"),
            "register",
            collection.meter_interval_s,
            sum(len(b.meters) for b in site.buildings),
            reference_field="meters",
        ),
        DeviceKind(
            "ieq",
            IEQ,
            ("building", "sensor"),
            _common_quantity(ieq_lists, "temperature"),
            collection.ieq_interval_s,
            len(ieq_lists),
            reference_field="ieq_sensors",
        ),
        DeviceKind(
            "equipment",
            EQUIPMENT,
            ("building", "equipment"),
            "running",
            collection.equipment_interval_s,
            sum(len(b.equipment) for b in site.buildings),
            extra_filter=' AND "vendor" =~ /^$vendor$/',
            reference_field="equipment",
        ),
        DeviceKind(
            "weather",
            WEATHER,
            ("building",),
            _common_quantity(weather_lists, "temperature"),
            collection.weather_interval_s,
            len(weather_lists),
            reference_field="weather_sensors",
        ),
    ]
    return [kind for kind in kinds if kind.registered > 0]


def _group_tags(kind: DeviceKind) -> str:
    return ", ".join(f'"{tag}"' for tag in kind.device_tags)


def offline_query(kind: DeviceKind) -> str:
    """InfluxQL listing the devices of ``kind`` silent for the last OFFLINE_INTERVALS intervals.

    Innermost: readings per device per collection interval over the dashboard range, 0 where none
    (fill(0) only fills series that have points in the range, so a device must have reported in the
    range to be listed). Then the moving sum over OFFLINE_INTERVALS intervals (as an average), its
    latest value per device, and only the devices where that is 0.
    """
    tags = _group_tags(kind)
    counts = (
        f'SELECT count("{kind.field}") AS "n" FROM "{kind.measurement}" WHERE $timeFilter AND {BUILDING_FILTER}{kind.extra_filter} '
        f"GROUP BY time({kind.interval_s}s), {tags} fill(0)"
    )
    moving = f'SELECT moving_average("n", {OFFLINE_INTERVALS}) AS "recent" FROM ({counts}) GROUP BY {tags}'
    latest = f'SELECT last("recent") AS "recent" FROM ({moving}) GROUP BY {tags}'
    return f'SELECT "recent" AS "readings_per_interval" FROM ({latest}) WHERE "recent" = 0 GROUP BY {tags}'


def reporting_query(kind: DeviceKind) -> str:
    """InfluxQL counting the devices of ``kind`` that reported at least once per ``$__interval``."""
    tags = _group_tags(kind)
    per_device = (
        f'SELECT last("{kind.field}") AS "v" FROM "{kind.measurement}" WHERE $timeFilter AND {BUILDING_FILTER}{kind.extra_filter} '
        f"GROUP BY time($__interval), {tags}"
    )
    return f'SELECT count("v") AS "devices" FROM ({per_device}) GROUP BY time($__interval)'


def registered_query(kinds: list[DeviceKind]) -> str:
    """InfluxQL: each building's name and registered devices of ``kinds``, from its latest ``site_building`` point."""
    return reference_query(["name", *(k.reference_field for k in kinds)], BUILDING_FILTER)


def _registered_panel(kinds: list[DeviceKind], lang: Lang) -> Any:
    columns = {"building": title("column.building", lang), "name": title("column.name", lang)}
    columns |= {k.reference_field: title(f"kind.{k.key}", lang) for k in kinds}
    return reference_table(
        title("panel.registered", lang),
        registered_query(kinds),
        columns,
        footer_sum=True,
        description=title("panel.registered.description", lang),
    )


# How a store_error value shows: "" (writes succeed) green, a disk full or a refusal (an operator must act) red,
# the rest (InfluxDB away or failing, often passing) orange.
_PROBLEM_COLORS = {
    StoreProblem.DISK_FULL: "red",
    StoreProblem.REFUSED: "red",
    StoreProblem.UNREACHABLE: "orange",
    StoreProblem.SERVER_ERROR: "orange",
    StoreProblem.OTHER: "orange",
}


def store_state_mappings(lang: Lang) -> list[dashboard_model.ValueMapping]:
    """Value mappings of ``ingest_stats.store_error``: the empty string is ok, each StoreProblem in words."""
    ok = dashboard_model.ValueMappingResult(text=title("value.ok", lang), color="green", index=0)
    return [
        dashboard_model.SpecialValueMap(
            options=dashboard_model.DashboardSpecialValueMapOptions(match=dashboard_model.SpecialValueMatch.EMPTY, result=ok)
        ),
        dashboard_model.ValueMap(
            options={
                problem.value: dashboard_model.ValueMappingResult(
                    text=title(f"value.store.{problem.value}", lang), color=_PROBLEM_COLORS[problem], index=i
                )
                for i, problem in enumerate(StoreProblem, start=1)
            }
        ),
    ]


def _store_state_panel(stats: str, lang: Lang) -> statetimeline.Panel:
    """Each collector's store_error over time: the disk-full (or other) periods, written once InfluxDB takes them."""
    return (
        statetimeline.Panel()
        .title(title("panel.store_state", lang))
        .description(title("panel.store_state.description", lang))
        .datasource(datasource_ref())
        .span(24)
        .height(6)
        .with_target(influxql("A", f'SELECT last("store_error") {stats} GROUP BY time($__interval), "collector"').alias("$tag_collector"))
        .mappings(store_state_mappings(lang))
        .show_value(common_model.VisibilityMode.AUTO)
        .merge_values(True)
        .interval("30s")
    )


def _collector_panels(lang: Lang) -> list[Any]:
    stats = f'FROM "{INGEST_STATS}" WHERE $timeFilter AND {COLLECTOR_FILTER}'
    rate = timeseries_panel(
        title("panel.ingest_rate", lang),
        [
            influxql("A", f'SELECT non_negative_derivative(last("received"), 1s) {stats} GROUP BY time($__interval), "collector"').alias(
                f"$tag_collector {title('series.received', lang)}"
            ),
            influxql("B", f'SELECT non_negative_derivative(last("written"), 1s) {stats} GROUP BY time($__interval), "collector"').alias(
                f"$tag_collector {title('series.written', lang)}"
            ),
        ],
        unit="suffix:/s",
        description=title("panel.ingest_rate.description", lang),
    ).interval("30s")
    lag = timeseries_panel(
        title("panel.lag", lang),
        [influxql("A", f'SELECT max("lag") {stats} GROUP BY time($__interval), "collector"').alias("$tag_collector")],
        unit="s",
        description=title("panel.lag.description", lang),
    ).interval("30s")
    # Two panels rather than one with a per-query unit override: the dashboard schema types an
    # override's value as an object, so `{"id": "unit", "value": "bytes"}` would not validate.
    spooled = timeseries_panel(
        title("panel.spool", lang),
        [influxql("A", f'SELECT max("spooled") {stats} GROUP BY time($__interval), "collector"').alias("$tag_collector")],
        unit="short",
        description=title("panel.spool.description", lang),
        width=8,
    ).interval("30s")
    spool_bytes = timeseries_panel(
        title("panel.spool_bytes", lang),
        [influxql("A", f'SELECT max("spool_bytes") {stats} GROUP BY time($__interval), "collector"').alias("$tag_collector")],
        unit="bytes",
        width=8,
    ).interval("30s")
    spool_full = stat_panel(
        title("panel.spool_full", lang),
        [influxql("A", f'SELECT last("spool_full") {stats} GROUP BY "collector"').alias("$tag_collector")],
        width=8,
        height=8,
    ).mappings(
        [
            dashboard_model.ValueMap(
                options={
                    "0": dashboard_model.ValueMappingResult(text=title("value.ok", lang), color="green", index=0),
                    "1": dashboard_model.ValueMappingResult(text=title("value.full", lang), color="red", index=1),
                }
            )
        ]
    )
    dropped = timeseries_panel(
        title("panel.broker_dropped", lang),
        [
            influxql("A", f'SELECT non_negative_difference(last("broker_dropped")) {stats} GROUP BY time($__interval), "collector"').alias(
                "$tag_collector"
            )
        ],
        unit="short",
        description=title("panel.broker_dropped.description", lang),
        width=12,
    ).interval("30s")
    latest = table_panel(
        title("panel.collectors", lang),
        [
            influxql(
                "A",
                'SELECT last("received") AS "received", last("written") AS "written", last("rejected") AS "rejected", '
                'last("spooled") AS "spooled", last("spool_bytes") AS "spool_bytes", last("lag") AS "lag_s", '
                f'last("store_error") AS "store_error" {stats} GROUP BY "collector"',
            )
        ],
        description=title("panel.collectors.description", lang),
        width=12,
    ).mappings(store_state_mappings(lang))
    return [rate, lag, _store_state_panel(stats, lang), spooled, spool_bytes, spool_full, dropped, latest]


def _reject_panels(lang: Lang) -> list[Any]:
    by_reason = timeseries_panel(
        title("panel.rejects_by_reason", lang),
        [
            influxql(
                "A",
                f'SELECT count("topic") FROM "{INGEST_REJECTED}" WHERE $timeFilter AND {REJECT_BUILDING_FILTER} '
                'GROUP BY time($__interval), "reason" fill(0)',
            ).alias("$tag_reason")
        ],
        unit="short",
        description=title("panel.rejects_by_reason.description", lang),
    )
    cumulative = table_panel(
        title("panel.rejects_cumulative", lang),
        [influxql("A", f'SELECT last(/^rejected_/) FROM "{INGEST_STATS}" WHERE $timeFilter AND {COLLECTOR_FILTER} GROUP BY "collector"')],
    )
    recent = table_panel(
        title("panel.rejects_recent", lang),
        [
            influxql(
                "A",
                f'SELECT "reason", "building", "topic", "detail", "payload" FROM "{INGEST_REJECTED}" '
                f"WHERE $timeFilter AND {REJECT_BUILDING_FILTER} ORDER BY time DESC LIMIT 100",
            )
        ],
        width=24,
        height=10,
    )
    return [by_reason, cumulative, recent]


def _device_panels(site: Site, lang: Lang) -> list[Any]:
    kinds = device_kinds(site)
    panels: list[Any] = []
    for kind in kinds:
        kind_title = title(f"kind.{kind.key}", lang)
        interval = f"{kind.interval_s // 60} min" if kind.interval_s % 60 == 0 else f"{kind.interval_s} s"
        offline = table_panel(
            title("panel.offline", lang, kind=kind_title),
            [influxql("A", offline_query(kind))],
            description=title("panel.offline.description", lang, n=OFFLINE_INTERVALS, interval=interval),
            width=6,
        )
        panels.append(show_building_names(offline, BUILDING_FILTER, column_title=title("column.building", lang)))
    reporting = timeseries_panel(
        title("panel.reporting", lang),
        [influxql(chr(ord("A") + i), reporting_query(kind)).alias(title(f"kind.{kind.key}", lang)) for i, kind in enumerate(kinds)],
        unit="short",
        description=title("panel.reporting.description", lang),
    ).interval(f"{max(kind.interval_s for kind in kinds)}s")
    panels.append(reporting)
    panels.append(_registered_panel(kinds, lang))
    return panels


def data_health_dashboard(site: Site, lang: Lang) -> dict[str, Any]:
    """Dashboard (d), data health, as Grafana's dashboard JSON."""
    board = (
        new_dashboard(site, UID, title("data_health", lang), title("data_health.description", lang), tags=["data-health"])
        .with_variable(building_variable(lang))
        .with_variable(vendor_variable(site, lang))
        .with_variable(tag_values_variable("collector", title("var.collector", lang), INGEST_STATS, "collector"))
    )
    for row_key, panels in (
        ("row.collectors", _collector_panels(lang)),
        ("row.rejects", _reject_panels(lang)),
        ("row.devices", _device_panels(site, lang)),
    ):
        board = board.with_row(dashboard_builder.Row(title(row_key, lang)))
        for panel in panels:
            board = board.with_panel(panel)
    return dashboard_json(board)
