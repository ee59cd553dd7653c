"""Dashboard (c), vendor scorecard: the combined assessment (综合考核) with its parts and consequences,
the measured score, SLA compliance, time to restore, open faults, deductions, and the work orders (open
orders with their SLA deadlines, time to arrive on site, breaches).

The combined assessment comes from ``vendor_assessment`` (per ``$period``, written by the work-order
service's assessment); its itemised losses are on the service's assessment page, linked from a panel.

The score, its components and the deduction come from ``score_vendor`` (per ``$period``); SLA
compliance per severity, time to restore and open faults are measured here straight from the
``fault`` points in the time range, against each vendor's contract terms in the registry.

How a restore time is read from ``fault``: each fault series (building, kind, severity, vendor,
target) alternates a start point (active = 1) and a clear point (active = 0), never two starts in a
row. So at a clear point, ``difference("active")`` is −1 and ``elapsed`` is the time since the start:
the time to restore. Faults that started before the time range or are still open have no such point.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import dashboard as dashboard_builder

from facmon.dashboards.blocks import (
    bargauge_panel,
    building_variable,
    dashboard_json,
    influxql,
    markdown_panel,
    markdown_table,
    new_dashboard,
    period_variable,
    stat_panel,
    table_panel,
    thresholds,
    timeseries_panel,
    vendor_variable,
)
from facmon.dashboards.building_detail import FAULT_SERIES, active_faults_query, named_buildings
from facmon.dashboards.titles import Lang, title
from facmon.registry import Site
from facmon.schema import FAULT, SCORE_VENDOR
from facmon.schema.names import VENDOR_ASSESSMENT, WORK_ORDER
from facmon.standards import Severity
from facmon.store import quote_string

UID = "facmon-vendor"

VENDOR_FILTER = '"vendor" =~ /^$vendor$/'
BUILDING_FILTER = '"building" =~ /^$building$/'
FAULT_SCOPE = f"{VENDOR_FILTER} AND {BUILDING_FILTER}"  # fault panels follow both variables; scores only $vendor
PERIOD_FILTER = '"period" =~ /^$period$/'
MONTHLY_PERIOD = '"period" =~ /^[0-9]{4}-[0-9]{2}$/'
# Divisor that maps any restore time's margin to the SLA (s) into (−1, 1): ceil() of the quotient is
# then 1 within the SLA and 0 beyond it (InfluxQL has no comparison operator in SELECT).
_MARGIN_SCALE_S = 1_000_000_000


def restores_query(extra_filter: str) -> str:
    """Per fault series in the time range: ``change`` (−1 at a clear point) and ``restore_s`` (seconds
    since the previous point, i.e. since the fault's start at a clear point)."""
    return (
        f'SELECT difference("active") AS "change", elapsed("active", 1s) AS "restore_s" FROM "{FAULT}" '
        f"WHERE $timeFilter AND {extra_filter} GROUP BY {FAULT_SERIES}"
    )


def sla_compliance_query(vendor: str, severity: Severity, restore_min: float) -> str:
    """Share of ``vendor``'s ``severity`` faults started and cleared in the range that were restored within
    ``restore_min`` minutes (1 = all), with how many were restored."""
    restores = restores_query(f'{FAULT_SCOPE} AND "vendor" = {quote_string(vendor)} AND "severity" = {quote_string(severity.value)}')
    limit_s = restore_min * 60
    within = f'SELECT ceil(({limit_s:g} - "restore_s" + 0.5) / {_MARGIN_SCALE_S}) AS "within_sla" FROM ({restores}) WHERE "change" = -1'
    return f'SELECT mean("within_sla") AS "within_sla", count("within_sla") AS "restored" FROM ({within}) GROUP BY "vendor", "severity"'


RESTORE_TIME_QUERY = (
    'SELECT mean("restore_s") AS "mean_restore_s", max("restore_s") AS "max_restore_s", count("restore_s") AS "restored" '
    f'FROM ({restores_query(FAULT_SCOPE)}) WHERE "change" = -1 GROUP BY "vendor", "severity"'
)
OPEN_FAULTS_QUERY = (
    f'SELECT count("active") AS "open" FROM (SELECT last("active") AS "active" FROM "{FAULT}" WHERE {FAULT_SCOPE} '
    f'GROUP BY {FAULT_SERIES}) WHERE "active" = 1 GROUP BY "vendor"'
)
FAULTS_BY_KIND_QUERY = (
    f'SELECT count("active") AS "started" FROM "{FAULT}" WHERE $timeFilter AND {FAULT_SCOPE} AND "active" = 1 GROUP BY "vendor", "kind"'
)
SCORE_QUERY = f'SELECT last("score") AS "score" FROM "{SCORE_VENDOR}" WHERE {PERIOD_FILTER} AND {VENDOR_FILTER} GROUP BY "vendor"'
COMPONENTS_QUERY = (
    f'SELECT "rank", "score", /_points$/, "deduction" FROM "{SCORE_VENDOR}" WHERE {PERIOD_FILTER} AND {VENDOR_FILTER} GROUP BY "vendor"'
)
VALUES_QUERY = f'SELECT /_value$/ FROM "{SCORE_VENDOR}" WHERE {PERIOD_FILTER} AND {VENDOR_FILTER} GROUP BY "vendor"'
SCORE_TREND_QUERY = f'SELECT "score" FROM "{SCORE_VENDOR}" WHERE $timeFilter AND {VENDOR_FILTER} AND {MONTHLY_PERIOD} GROUP BY "vendor"'
DEDUCTION_TREND_QUERY = (
    f'SELECT "deduction" FROM "{SCORE_VENDOR}" WHERE $timeFilter AND {VENDOR_FILTER} AND {MONTHLY_PERIOD} GROUP BY "vendor"'
)

# Work orders (the work_order timeline; no time filter on the open ones: an order opened before the range
# and still owed is still open). ``last()`` per order is its current state.
ORDER_TAGS = '"order", "vendor", "building", "kind", "severity"'
_CURRENT_ORDERS = (
    f'SELECT last("open") AS "open", last("state") AS "state", last("onsite_due") * 1000 AS "onsite_due", '
    f'last("restore_due") * 1000 AS "restore_due" FROM "{WORK_ORDER}" WHERE {FAULT_SCOPE} GROUP BY {ORDER_TAGS}'
)
OPEN_ORDERS_QUERY = f'SELECT count("open") AS "open" FROM ({_CURRENT_ORDERS}) WHERE "open" = 1 GROUP BY "vendor"'
OPEN_ORDERS_LIST_QUERY = f'SELECT "state", "onsite_due", "restore_due" FROM ({_CURRENT_ORDERS}) WHERE "open" = 1 GROUP BY {ORDER_TAGS}'
ONSITE_TIMES_QUERY = (
    f'SELECT mean("onsite_min") AS "mean_min", max("onsite_min") AS "max_min", count("onsite_min") AS "arrivals", '
    f'sum("onsite_breached") AS "late" FROM "{WORK_ORDER}" WHERE $timeFilter AND {FAULT_SCOPE} AND "action" = \'arrive\' GROUP BY "vendor"'
)


def breaches_query(which: str) -> str:
    """SLA breaches of one kind ("onsite" or "restore") in the range, per vendor."""
    return (
        f'SELECT count("breach") AS "{which}" FROM "{WORK_ORDER}" WHERE $timeFilter AND {FAULT_SCOPE} AND "action" = \'breach\' '
        f'AND "breach" = {quote_string(which)} GROUP BY "vendor"'
    )


def _ref(index: int) -> str:
    """Query refIds A, B, … Z, AA, AB, …"""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _sla_terms_markdown(site: Site, lang: Lang) -> str:
    header = [title(k, lang) for k in ("column.vendor", "column.name", "column.severity", "column.onsite_min", "column.restore_min")]
    rows = [
        [v.id, v.name, severity.value, f"{v.sla[severity].onsite_min:g}", f"{v.sla[severity].restore_min:g}"]
        for v in site.vendors
        for severity in Severity
    ]
    return markdown_table(header, rows)


def _score_panels(site: Site, lang: Lang) -> list[Any]:
    score = bargauge_panel(
        title("panel.vendor_score", lang),
        [influxql("A", SCORE_QUERY).alias("$tag_vendor")],
        unit="none",
        config=thresholds("red", [(60, "yellow"), (80, "green")]),
        min_value=0,
        max_value=100,
        width=8,
    )
    components = table_panel(title("panel.vendor_components", lang), [influxql("A", COMPONENTS_QUERY)], width=16)
    values = table_panel(title("panel.vendor_values", lang), [influxql("A", VALUES_QUERY)], width=12)
    trend = timeseries_panel(
        title("panel.vendor_trend", lang),
        [
            influxql("A", SCORE_TREND_QUERY).alias(f"$tag_vendor {title('series.score', lang)}"),
            influxql("B", DEDUCTION_TREND_QUERY).alias(f"$tag_vendor {title('series.deduction', lang)}"),
        ],
        unit="none",
        width=12,
    )
    return [score, components, values, trend]


def _sla_panels(site: Site, lang: Lang) -> list[Any]:
    scoring = site.vendor_scoring
    targets = [
        influxql(_ref(i), sla_compliance_query(v.id, severity, v.sla[severity].restore_min)).alias("$tag_vendor $tag_severity")
        for i, (v, severity) in enumerate((v, s) for v in site.vendors for s in Severity)
    ]
    compliance = bargauge_panel(
        title("panel.sla_compliance", lang),
        targets,
        unit="percentunit",
        config=thresholds("red", [(scoring.sla_compliance_zero, "yellow"), (scoring.sla_compliance_target, "green")]),
        min_value=0,
        max_value=1,
        description=title("panel.sla_compliance.description", lang, target=f"{scoring.sla_compliance_target:.0%}"),
        width=12,
        height=10,
    )
    restore = table_panel(
        title("panel.restore_time", lang),
        [influxql("A", RESTORE_TIME_QUERY)],
        description=title("panel.restore_time.description", lang),
    )  # no unit: it would apply to the count column too, and a per-column unit fails the schema
    terms = markdown_panel(title("panel.sla_terms", lang), _sla_terms_markdown(site, lang), width=24)
    return [compliance, restore, terms]


def _fault_panels(lang: Lang) -> list[Any]:
    open_count = stat_panel(title("panel.open_faults", lang), [influxql("A", OPEN_FAULTS_QUERY).alias("$tag_vendor")], width=8, height=8)
    by_kind = table_panel(title("panel.faults_by_kind", lang), [influxql("A", FAULTS_BY_KIND_QUERY)], width=16)
    open_list = table_panel(title("panel.open_faults_list", lang), [influxql("A", active_faults_query(FAULT_SCOPE))], width=24, height=10)
    return [open_count, by_kind, named_buildings(open_list, lang)]


def _work_order_panels(lang: Lang) -> list[Any]:
    open_count = stat_panel(
        title("panel.open_orders", lang),
        [influxql("A", OPEN_ORDERS_QUERY).alias("$tag_vendor")],
        description=title("panel.open_orders.description", lang),
        width=8,
        height=8,
    )
    onsite = table_panel(
        title("panel.onsite_times", lang),
        [influxql("A", ONSITE_TIMES_QUERY)],
        description=title("panel.onsite_times.description", lang),
        width=8,
    )
    breaches = table_panel(
        title("panel.breaches", lang),
        [influxql("A", breaches_query("onsite")), influxql("B", breaches_query("restore"))],
        description=title("panel.breaches.description", lang),
        width=8,
    )
    # the deadlines are the only numbers of this table: one unit for the panel shows them as local times
    open_list = table_panel(
        title("panel.open_orders_list", lang),
        [influxql("A", OPEN_ORDERS_LIST_QUERY)],
        description=title("panel.open_orders_list.description", lang),
        width=24,
        height=10,
    ).unit("dateTimeAsLocal")
    return [open_count, onsite, breaches, named_buildings(open_list, lang)]


ASSESSMENT_SCORE_QUERY = (
    f'SELECT last("score") AS "score" FROM "{VENDOR_ASSESSMENT}" WHERE {PERIOD_FILTER} AND {VENDOR_FILTER} GROUP BY "vendor"'
)
ASSESSMENT_PARTS_QUERY = (
    f'SELECT "score", "grade_label", /_score$/, /_weight$/, "deduction", "standing", "failing_run" FROM "{VENDOR_ASSESSMENT}" '
    f'WHERE {PERIOD_FILTER} AND {VENDOR_FILTER} GROUP BY "vendor"'
)
# Grade colours from the lowest band up (a failing band is always red).
_GRADE_COLOURS = ("red", "orange", "yellow", "green", "dark-green", "blue")


def _grade_thresholds(site: Site) -> tuple[Any, str]:
    """Thresholds at the registry's grade bands, and the bands as text."""
    bands = sorted(site.vendor_assessment.grades, key=lambda g: g.min_score)
    colours = ["red" if g.failing else _GRADE_COLOURS[min(i, len(_GRADE_COLOURS) - 1)] for i, g in enumerate(bands)]
    text = ", ".join(f"{g.label} ≥ {g.min_score:g}" for g in reversed(bands))
    return thresholds(colours[0], [(g.min_score, c) for g, c in zip(bands[1:], colours[1:], strict=True)]), text


def _assessment_panels(site: Site, lang: Lang) -> list[Any]:
    config, bands = _grade_thresholds(site)
    score = bargauge_panel(
        title("panel.assessment_score", lang),
        [influxql("A", ASSESSMENT_SCORE_QUERY).alias("$tag_vendor")],
        unit="none",
        config=config,
        min_value=0,
        max_value=100,
        description=title("panel.assessment_score.description", lang, bands=bands),
        width=8,
    )
    parts = table_panel(
        title("panel.assessment_parts", lang),
        [influxql("A", ASSESSMENT_PARTS_QUERY)],
        description=title("panel.assessment_parts.description", lang),
        width=16,
    )
    detail = markdown_panel(
        title("panel.assessment_detail", lang),
        title("panel.assessment_detail.text", lang, url=site.work_orders.public_url),
        width=24,
        height=3,
    )
    return [score, parts, detail]


def vendor_scorecard_dashboard(site: Site, lang: Lang) -> dict[str, Any]:
    """Dashboard (c), vendor scorecard, as Grafana's dashboard JSON."""
    board = (
        new_dashboard(site, UID, title("vendor", lang), title("vendor.description", lang), tags=["vendor"])
        .time("now-30d", "now")
        .refresh("5m")
        .with_variable(vendor_variable(site, lang))
        .with_variable(building_variable(lang))
        .with_variable(period_variable("period", title("var.period", lang), SCORE_VENDOR))
    )
    for row_key, panels in (
        ("row.vendor_assessment", _assessment_panels(site, lang)),
        ("row.vendor_score", _score_panels(site, lang)),
        ("row.sla", _sla_panels(site, lang)),
        ("row.vendor_faults", _fault_panels(lang)),
        ("row.work_orders", _work_order_panels(lang)),
    ):
        board = board.with_row(dashboard_builder.Row(title(row_key, lang)))
        for panel in panels:
            board = board.with_panel(panel)
    return dashboard_json(board)
