"""Building blocks every facmon dashboard is made of: template variables, panels with InfluxQL targets
on the fixed datasource, and the dashboard skeleton with its JSON rendering.

Nothing here grows with the number of buildings: ``$building`` lists the buildings from the data (the
``site_building`` points the analysis writes from the registry), per-building facts are shown by
table panels querying those points (:func:`reference_table`), and a panel grouped by building shows
each building's name through a second query on those points (:func:`show_building_names`), never
written into the dashboard.

InfluxQL conventions used by every query (Grafana expands them; tests expand them the same way):
``$timeFilter`` is the dashboard time range, ``$__interval`` the panel's bucket width, and a
multi-value variable is used as ``"tag" =~ /^$var$/`` (Grafana writes the chosen values as a regex
alternation, and "All" as ``.*``, which also matches points without the tag).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from grafana_foundation_sdk.builders import (
    bargauge,
    piechart,
    stat,
    table,
    text,
    timeseries,
)
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models import text as text_model

from facmon.dashboards.datasource import DATASOURCE_UID
from facmon.dashboards.influxql import INFLUXDB_PLUGIN, InfluxQL
from facmon.dashboards.titles import Lang, title
from facmon.registry import Site
from facmon.schema.names import SITE_BUILDING
from facmon.schema.reference import LABEL_VARIABLE_REGEX

ALL = ".*"  # the value of a variable's "All" option: a regex matching any tag value, and none
SITE_TAG = "facmon"  # every dashboard carries this tag; the folder holds nothing else


def datasource_ref() -> dashboard_model.DataSourceRef:
    return dashboard_model.DataSourceRef(type_val=INFLUXDB_PLUGIN, uid=DATASOURCE_UID)


def influxql(ref_id: str, query: str) -> InfluxQL:
    """A raw InfluxQL target on facmon's datasource."""
    return InfluxQL(ref_id, DATASOURCE_UID, query)


def _escape_custom_value(text_value: str) -> str:
    # A custom variable's values are comma-separated "text : value" pairs.
    return text_value.replace(",", "\\,")


def _all_option() -> dashboard_model.VariableOption:
    return dashboard_model.VariableOption(selected=True, text="All", value="$__all")


def registry_variable(name: str, label: str, choices: Sequence[tuple[str, str]]) -> dashboard_builder.CustomVariable:
    """A multi-value variable over registry entries, ``choices`` as (value, shown text); defaults to All."""
    query = ",".join(f"{_escape_custom_value(shown)} : {_escape_custom_value(value)}" for value, shown in choices)
    options = [_all_option()] + [dashboard_model.VariableOption(selected=False, text=shown, value=value) for value, shown in choices]
    return (
        dashboard_builder.CustomVariable(name)
        .label(label)
        .values(query)
        .multi(True)
        .include_all(True)
        .all_value(ALL)
        .options(options)
        .current(dashboard_model.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


# The buildings' labels, "<name> (<code>)", one per building: the latest site_building point of each.
BUILDING_VARIABLE_QUERY = f'SELECT "label" FROM (SELECT last("label") AS "label" FROM "{SITE_BUILDING}" GROUP BY "building")'


def building_variable(lang: Lang) -> dashboard_builder.QueryVariable:
    """``$building``: the buildings by code, shown as "<name> (<code>)", listed from the ``site_building``
    points ``facmon analyze`` writes from the registry (so the dashboard does not grow per building).

    Grafana 11's InfluxDB datasource turns a variable query's answer into one text per row (the first
    string field of each frame, ``toMetricFindValue`` in public/app/plugins/datasource/influxdb/datasource.ts),
    so the label carries name and code, and the variable regex's named groups ``text`` and ``value``
    (``metricNamesToVariableValues``) show the whole label and use the code as the value, as the panels'
    ``"building" =~ /^$building$/`` and the alerts' ``var-building=<code>`` links need. Before the first
    analysis the list is empty and All (``.*``) still shows every building's data."""
    return (
        dashboard_builder.QueryVariable("building")
        .label(title("var.building", lang))
        .datasource(datasource_ref())
        .query(BUILDING_VARIABLE_QUERY)
        .regex(LABEL_VARIABLE_REGEX)
        .refresh(dashboard_model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dashboard_model.VariableSort.DISABLED)
        .multi(True)
        .include_all(True)
        .all_value(ALL)
        .current(dashboard_model.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def vendor_variable(site: Site, lang: Lang) -> dashboard_builder.CustomVariable:
    """``$vendor``: the registry's vendors by id, shown by name."""
    return registry_variable("vendor", title("var.vendor", lang), [(v.id, v.name) for v in site.vendors])


def tag_values_variable(name: str, label: str, measurement: str, tag: str) -> dashboard_builder.QueryVariable:
    """A multi-value variable listing the values of ``tag`` seen in ``measurement`` (refreshed with the time range)."""
    return (
        dashboard_builder.QueryVariable(name)
        .label(label)
        .datasource(datasource_ref())
        .query(f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "{tag}"')
        .refresh(dashboard_model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_model.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(ALL)
        .current(dashboard_model.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def timeseries_panel(
    panel_title: str, targets: Sequence[InfluxQL], *, unit: str, description: str = "", width: int = 12, height: int = 8
) -> timeseries.Panel:
    panel = timeseries.Panel().title(panel_title).datasource(datasource_ref()).unit(unit).span(width).height(height)
    if description:
        panel = panel.description(description)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def table_panel(panel_title: str, targets: Sequence[InfluxQL], *, description: str = "", width: int = 12, height: int = 8) -> table.Panel:
    panel = table.Panel().title(panel_title).datasource(datasource_ref()).span(width).height(height)
    if description:
        panel = panel.description(description)
    for target in targets:
        panel = panel.with_target(target.table())
    return panel


def stat_panel(
    panel_title: str, targets: Sequence[InfluxQL], *, unit: str = "none", description: str = "", width: int = 6, height: int = 6
) -> stat.Panel:
    panel = stat.Panel().title(panel_title).datasource(datasource_ref()).unit(unit).span(width).height(height)
    if description:
        panel = panel.description(description)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def period_variable(name: str, label: str, measurement: str) -> dashboard_builder.QueryVariable:
    """A single-value variable over the ``period`` tag of a score measurement (``2025``, ``2025-06``),
    newest first, so the dashboard opens on the latest period scored. Use it as ``"period" =~ /^$period$/``,
    which holds whether Grafana writes the value plain or regex-escaped."""
    return (
        dashboard_builder.QueryVariable(name)
        .label(label)
        .datasource(datasource_ref())
        .query(f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "period"')
        .refresh(dashboard_model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dashboard_model.VariableSort.ALPHABETICAL_DESC)
        .multi(False)
        .include_all(False)
    )


def thresholds(base_color: str, steps: Sequence[tuple[float, str]]) -> dashboard_builder.ThresholdsConfig:
    """Absolute thresholds: ``base_color`` below the first value, then each (value, colour) from that value up."""
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(dashboard_model.ThresholdsMode.ABSOLUTE)
        .steps([dashboard_model.Threshold(value=None, color=base_color)] + [dashboard_model.Threshold(value=v, color=c) for v, c in steps])
    )


def with_threshold_lines(panel: timeseries.Panel, config: dashboard_builder.ThresholdsConfig) -> timeseries.Panel:
    """Draw ``config``'s thresholds on a time series as dashed lines over shaded bands."""
    return panel.thresholds(config).thresholds_style(
        common_builder.GraphThresholdsStyleConfig().mode(common_model.GraphThresholdsStyleMode.DASHED_AND_AREA)
    )


def bars(panel: timeseries.Panel) -> timeseries.Panel:
    """Show a time series as bars (one bar per bucket), e.g. energy per day."""
    return panel.draw_style(common_model.GraphDrawStyle.BARS).fill_opacity(80)


# Bars a per-row bar gauge draws at most (Grafana draws 25 rows unless told: DEFAULT_FIELD_DISPLAY_VALUES_LIMIT
# in packages/grafana-data/src/field/fieldDisplay.ts). A constant, so the dashboard does not grow per building.
BAR_ROWS_LIMIT = 10_000


def bargauge_panel(
    panel_title: str,
    targets: Sequence[InfluxQL],
    *,
    unit: str,
    config: dashboard_builder.ThresholdsConfig | None = None,
    min_value: float | None = None,
    max_value: float | None = None,
    description: str = "",
    width: int = 12,
    height: int = 8,
    per_row: bool = False,
) -> bargauge.Panel:
    """One horizontal bar per series (its last value), coloured by ``config``'s thresholds; ``per_row``:
    the queries answer one table and each row is a bar (up to :data:`BAR_ROWS_LIMIT`), titled by the row's
    text cells as displayed, so a value mapping on them (:func:`show_building_names`) names the bar."""
    reduce = common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(per_row)
    if per_row:
        reduce = reduce.limit(BAR_ROWS_LIMIT)
        targets = [target.table() for target in targets]
    panel = (
        bargauge.Panel()
        .title(panel_title)
        .datasource(datasource_ref())
        .unit(unit)
        .span(width)
        .height(height)
        .orientation(common_model.VizOrientation.HORIZONTAL)
        .display_mode(common_model.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(reduce)
    )
    if config is not None:
        panel = panel.thresholds(config)
    if min_value is not None:
        panel = panel.min(min_value)
    if max_value is not None:
        panel = panel.max(max_value)
    if description:
        panel = panel.description(description)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def piechart_panel(
    panel_title: str, targets: Sequence[InfluxQL], *, unit: str, description: str = "", width: int = 12, height: int = 8
) -> piechart.Panel:
    """Shares of a whole: one slice per series (its total)."""
    panel = (
        piechart.Panel()
        .title(panel_title)
        .datasource(datasource_ref())
        .unit(unit)
        .span(width)
        .height(height)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["sum"]).values(False))
    )
    if description:
        panel = panel.description(description)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def reference_query(fields: Sequence[str], where: str = "") -> str:
    """InfluxQL: ``fields`` of each building's latest ``site_building`` point (one row per building, the
    building's code as the ``building`` tag); ``where`` a further condition, e.g. on ``$building``."""
    columns = ", ".join(f'"{field}"' for field in fields)
    condition = f" WHERE {where}" if where else ""
    return f'SELECT {columns} FROM "{SITE_BUILDING}"{condition} GROUP BY "building" ORDER BY time DESC LIMIT 1'


def reference_table(
    panel_title: str,
    query: str,
    columns: dict[str, str],
    *,
    mappings: dict[str, str] | None = None,
    missing: str | None = None,
    footer_sum: bool = False,
    description: str = "",
    width: int = 12,
    height: int = 8,
) -> table.Panel:
    """A table of registry facts read from the data: ``columns`` (field or tag -> its shown title, in
    order; the time column hidden); ``mappings`` value -> shown text (codes of a fixed list, e.g. uses),
    ``missing`` shown in an empty cell, ``footer_sum``: a footer with each numeric column's sum."""
    panel = table_panel(panel_title, [influxql("A", query)], description=description, width=width, height=height)
    value_maps: list[dashboard_model.ValueMapping] = []
    if mappings:
        value_maps.append(
            dashboard_model.ValueMap(
                options={key: dashboard_model.ValueMappingResult(text=shown, index=i) for i, (key, shown) in enumerate(mappings.items())}
            )
        )
    if missing is not None:
        shown = dashboard_model.ValueMappingResult(text=missing, index=len(value_maps))
        value_maps.append(
            dashboard_model.SpecialValueMap(
                options=dashboard_model.DashboardSpecialValueMapOptions(match=dashboard_model.SpecialValueMatch.NULL, result=shown)
            )
        )
    if value_maps:
        panel = panel.mappings(value_maps)
    if footer_sum:
        panel = panel.footer(common_builder.TableFooterOptions().show(True).reducer(["sum"]))
    organize = {
        "excludeByName": {"Time": True},
        "indexByName": {name: i for i, name in enumerate(columns)},
        "renameByName": dict(columns),
    }
    return panel.with_transformation(dashboard_model.DataTransformerConfig(id_val="organize", options=organize))


# refId of the second query that panels grouped by building carry: the buildings' labels (show_building_names).
NAMES_REF = "names"


def building_names_query(building_filter: str) -> str:
    """InfluxQL: each building's label ``<name> (<code>)`` from its latest ``site_building`` point, one row per
    building with its code as the ``building`` tag (a column of the table Grafana builds, like the ``building``
    column of the panel's own query); ``building_filter`` narrows it as the panel's query is narrowed (``$building``)."""
    return f'SELECT last("label") AS "label" FROM "{SITE_BUILDING}" WHERE {building_filter} GROUP BY "building"'


# Grafana's "Config from query results" (configFromData, public/app/features/transformers/configFromQuery):
# the names query's rows become one value mapping, code -> label, set on the `building` field of the other
# answers, so each cell (and each per-row bar's title) shows the label; the code stays the value.
BUILDING_NAMES_MAPPING = {
    "configRefId": NAMES_REF,
    "mappings": [
        {"fieldName": "building", "handlerKey": "mappings.value", "reducerId": "allValues"},
        {"fieldName": "label", "handlerKey": "mappings.text", "reducerId": "allValues"},
    ],
    "applyTo": {"id": "byName", "options": "building"},
}

PanelT = TypeVar("PanelT", table.Panel, bargauge.Panel)


def show_building_names(panel: PanelT, building_filter: str, *, column_title: str | None = None) -> PanelT:
    """Show each building of ``panel``'s table answers by name: a second query (:data:`NAMES_REF`,
    :func:`building_names_query`) and :data:`BUILDING_NAMES_MAPPING` turning its rows into a value mapping
    of the ``building`` column, code -> ``<name> (<code>)``; then the names' own answer is dropped
    (``filterByRefId``: when the panel's query answers nothing, Grafana keeps the config answer, which would
    otherwise list every building). ``column_title``: the ``building`` column's shown title. A building
    without a ``site_building`` point (before the first analysis) shows its code. Nothing here grows per
    building: the mapping is built from the data when the panel loads."""
    panel = panel.with_target(influxql(NAMES_REF, building_names_query(building_filter)).table())
    panel = panel.with_transformation(dashboard_model.DataTransformerConfig(id_val="configFromData", options=BUILDING_NAMES_MAPPING))
    panel = panel.with_transformation(dashboard_model.DataTransformerConfig(id_val="filterByRefId", options={"exclude": NAMES_REF}))
    if column_title is not None:
        organize = {"excludeByName": {}, "indexByName": {}, "renameByName": {"building": column_title}}
        panel = panel.with_transformation(dashboard_model.DataTransformerConfig(id_val="organize", options=organize))
    return panel


def merged_table(panel: table.Panel) -> table.Panel:
    """A table whose queries' answers are merged into one (Grafana's ``merge`` transformation)."""
    return panel.with_transformation(dashboard_model.DataTransformerConfig(id_val="merge", options={}))


def markdown_panel(panel_title: str, content: str, *, width: int = 12, height: int = 8) -> text.Panel:
    """A static panel: facts from the registry (not from InfluxDB), rendered as Markdown."""
    return text.Panel().title(panel_title).mode(text_model.TextMode.MARKDOWN).content(content).span(width).height(height)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def new_dashboard(site: Site, uid: str, dashboard_title: str, description: str, tags: Sequence[str] = ()) -> dashboard_builder.Dashboard:
    """A dashboard with facmon's defaults: fixed uid, site tag, the site's time zone, last 24 h, 1 min refresh."""
    return (
        dashboard_builder.Dashboard(dashboard_title)
        .uid(uid)
        .description(description)
        .tags([SITE_TAG, *tags])
        .timezone(site.site.timezone)
        .time("now-24h", "now")
        .refresh("1m")
        .tooltip(dashboard_model.DashboardCursorSync.CROSSHAIR)
        .editable()
    )


def dashboard_json(board: dashboard_builder.Dashboard) -> dict[str, Any]:
    """The dashboard model as Grafana stores it (plain JSON types), panels numbered 1.. in order so
    that links to a panel (``viewPanel=``) stay stable from one export to the next."""
    model = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    number = 0
    for panel in model.get("panels", []):
        for inner in [panel, *panel.get("panels", [])]:
            number += 1
            inner["id"] = number
    return model


def panel_targets(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every (panel title, target) of a dashboard JSON, rows included."""
    found: list[tuple[str, dict[str, Any]]] = []
    for panel in dashboard.get("panels", []):
        for inner in [panel, *panel.get("panels", [])]:
            for target in inner.get("targets", []) or []:
                found.append((inner.get("title", ""), target))
    return found
