"""Dashboard (a), site energy overview for the officers.

Each building's intensity against the GB/T 51161 constraint and guide values (thresholds computed
from the registry at build time, one panel per benchmark, each selecting its buildings by the
``intensity_benchmark`` field of ``score_energy``, not by a list of codes), the buildings' benchmarks
(a table of the ``site_building`` points, not a table written into the dashboard), progress against the conservation plan of
``energy_targets.plan``, the energy trend per calendar month, the electricity sub-item breakdown, the energy-saving score
ranking and the savings with their uncertainty. Scores and savings are per period (``$period``, the
``period`` tag of ``score_energy``); everything else follows the dashboard's time range.

Measurements (docs/architecture.md#the-measurement-schema): ``energy_monthly`` (trend), ``energy_daily``
(sub-items), ``score_energy`` and ``savings`` (written by ``facmon score energy`` next to ``score_energy``),
``site_building`` (the registry's facts, written by ``facmon analyze``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder

from facmon.dashboards.blocks import (
    bargauge_panel,
    bars,
    building_variable,
    dashboard_json,
    influxql,
    markdown_panel,
    markdown_table,
    new_dashboard,
    period_variable,
    piechart_panel,
    reference_query,
    reference_table,
    show_building_names,
    table_panel,
    thresholds,
    timeseries_panel,
)
from facmon.dashboards.titles import Lang, title
from facmon.registry import SCORE_COMPONENTS, Building, BuildingUse, EnergyPlan, Site
from facmon.schema import ENERGY_DAILY, ENERGY_MONTHLY, SAVINGS, SCORE_ENERGY, benchmark_group
from facmon.standards import (
    ClimateZone,
    OfficeHvacClass,
    OfficeUse,
)
from facmon.store import quote_string

UID = "facmon-energy"

# The savings measurement (facmon.schema.SAVINGS, written by `facmon score energy` next to score_energy):
# tags building, period; time = local start of the period (a rerun overwrites); fields from analytics.savings.Savings.
SAVINGS_FIELDS = {
    "avoided_kwh": "avoided energy over the period, kWh (baseline prediction − observed; positive = saved)",
    "uncertainty_kwh": "± band of avoided_kwh at the confidence level (68 %), kWh",
    "predicted_kwh": "adjusted baseline over the reporting period, kWh",
    "observed_kwh": "measured over the reporting period, kWh",
    "fraction": "avoided_kwh / predicted_kwh",
    "fsu": "fractional savings uncertainty, uncertainty_kwh / |avoided_kwh| (absent when nothing was avoided)",
    "conclusive": "1 when FSU ≤ 50 % (ASHRAE G14, docs/standards.md#measurement-and-verification), else 0",
}

BUILDING_FILTER = '"building" =~ /^$building$/'
PERIOD_FILTER = '"period" =~ /^$period$/'
MAIN_ELECTRICITY = "\"energy\" = '01' AND \"subitem\" = '01000'"
CATEGORY_TOTALS = '"subitem" =~ /^[0-9]{2}000$/'  # the <cc>000 row of each category is its building total
ELECTRICITY_SUBITEMS = "\"energy\" = '01' AND \"subitem\" != '01000'"
MONTH_POINT_BUCKET = "1d"  # energy_monthly points sit at local midnights: each month's rows fall in one local-day bucket


@dataclass(frozen=True)
class BenchmarkGroup:
    """Buildings that share one GB/T 51161 benchmark (same class, use and the site's climate zone)."""

    office_class: OfficeHvacClass
    office_use: OfficeUse
    climate_zone: ClimateZone
    constraint_kwh_m2: float
    guide_kwh_m2: float
    source: str
    buildings: tuple[str, ...]  # building codes (for checks; the dashboard selects them from the data)

    @property
    def key(self) -> str:
        """The group as the data name it (``score_energy``'s ``intensity_benchmark``, e.g. ``B/government``)."""
        return benchmark_group(self.office_class.value, self.office_use.value)


def gbt51161_benchmark(site: Site, building: Building) -> tuple[float, float, str] | None:
    """(constraint, guide) in kWh/(m²·a) of an office ``building`` and where they come from: the
    registry's ``energy_targets.gbt51161.benchmarks`` override, else GB/T 51161-2016 Table 5.2.1; None
    for a building that is not an office (the table covers offices only)."""
    if not building.is_office or building.office_use is None:
        return None
    return site.energy_targets.gbt51161.benchmark(building.office_class, building.office_use, site.site.climate_zone)


def benchmark_groups(site: Site) -> list[BenchmarkGroup]:
    """The registry's office buildings grouped by their GB/T 51161 benchmark, in registry order."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for building in site.buildings:
        benchmark = gbt51161_benchmark(site, building)
        if benchmark is None:
            continue
        constraint, guide, source = benchmark
        groups.setdefault((building.office_class, building.office_use, constraint, guide, source), []).append(building.code)
    return [
        BenchmarkGroup(office_class, office_use, site.site.climate_zone, constraint, guide, source, tuple(codes))
        for (office_class, office_use, constraint, guide, source), codes in groups.items()
    ]


def required_reduction(plan: EnergyPlan, indicator: str, year: int) -> float | None:
    """Fraction below the base year the plan requires of ``indicator`` by ``year`` (EnergyPlan.required_reduction)."""
    return plan.required_reduction(indicator, year)


def _number(value: float) -> str:
    return f"{value:g}"


def _percent(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.1f} %"


def intensity_query(group: str) -> str:
    """Latest corrected EUI (kWh/(m²·a)) of the period per building, for the buildings of benchmark ``group``
    (``score_energy``'s ``intensity_benchmark`` field, written by ``facmon score energy``)."""
    return (
        f'SELECT last("intensity_value") AS "eui_kwh_m2" FROM "{SCORE_ENERGY}" '
        f'WHERE {PERIOD_FILTER} AND "intensity_benchmark" = {quote_string(group)} AND {BUILDING_FILTER} GROUP BY "building"'
    )


# The buildings' benchmarks, one row per building from its latest site_building point (the registry's facts).
BENCHMARK_COLUMNS = (
    ("building", "column.building"),
    ("name", "column.name"),
    ("use", "column.use"),
    ("office_use", "column.office_use"),
    ("hvac_class", "column.class"),
    ("climate_zone", "column.climate_zone"),
    ("floor_area_m2", "column.floor_area"),
    ("gbt51161_guide_kwh_m2", "column.guide"),
    ("gbt51161_constraint_kwh_m2", "column.constraint"),
)
BENCHMARK_TABLE_QUERY = reference_query([field for field, _ in BENCHMARK_COLUMNS if field != "building"], BUILDING_FILTER)


def _use_names(lang: Lang) -> dict[str, str]:
    """How the table shows the registry's use codes (a fixed list, not per building)."""
    names = {use.value: title(f"use.{use.value}", lang) for use in OfficeUse}
    names |= {use.value: title(f"building_use.{use.value}", lang) for use in BuildingUse}
    return names


def _intensity_panels(site: Site, lang: Lang) -> list[Any]:
    panels: list[Any] = []
    for group in benchmark_groups(site):
        config = thresholds("green", [(group.guide_kwh_m2, "yellow"), (group.constraint_kwh_m2, "red")])
        bars_panel = bargauge_panel(
            title(
                "panel.intensity",
                lang,
                klass=group.office_class.value,
                use=title(f"use.{group.office_use.value}", lang),
                constraint=_number(group.constraint_kwh_m2),
                guide=_number(group.guide_kwh_m2),
            ),
            [influxql("A", intensity_query(group.key))],
            unit="suffix: kWh/m²",
            config=config,
            min_value=0,
            max_value=round(group.constraint_kwh_m2 * 1.3, 1),
            description=title("panel.intensity.description", lang, source=group.source),
            width=12,
            per_row=True,
        )
        panels.append(show_building_names(bars_panel, BUILDING_FILTER))
    panels.append(
        reference_table(
            title("panel.benchmarks", lang),
            BENCHMARK_TABLE_QUERY,
            {field: title(key, lang) for field, key in BENCHMARK_COLUMNS},
            mappings=_use_names(lang),
            missing=title("not_applicable", lang),
            description=title("panel.benchmarks.description", lang),
            width=24 if len(panels) % 2 == 0 else 12,
        )
    )
    return panels


PLAN_PROGRESS_QUERY = (
    f'SELECT "plan_points" / "plan_weight" / 100 AS "share_of_required" FROM "{SCORE_ENERGY}" '
    f'WHERE {PERIOD_FILTER} AND {BUILDING_FILTER} AND "plan_available" = 1 GROUP BY "building"'
)
PLAN_TABLE_QUERY = (
    'SELECT "plan_value" AS "reduction_achieved", "plan_points" / "plan_weight" / 100 AS "share_of_required", '
    '"plan_days" AS "days", "plan_period_days" AS "period_days", "plan_target_source" AS "base" '
    f'FROM "{SCORE_ENERGY}" WHERE {PERIOD_FILTER} AND {BUILDING_FILTER} AND "plan_available" = 1 GROUP BY "building"'
)


def plan_markdown(plan: EnergyPlan, lang: Lang) -> str:
    """The plan's reductions by the target year, and the reduction each year requires on the way."""
    indicators = list(plan.reductions)
    text = title("plan.text", lang, base_year=plan.base_year, target_year=plan.target_year)
    targets = markdown_table(
        [title("column.indicator", lang), title("column.reduction_by_target", lang)],
        [[indicator, _percent(plan.reductions[indicator])] for indicator in indicators],
    )
    yearly = markdown_table(
        [title("column.year", lang), *indicators],
        [
            [year] + [_percent(required_reduction(plan, indicator, year)) for indicator in indicators]
            for year in range(plan.base_year + 1, plan.target_year + 1)
        ],
    )
    return f"**{plan.name}**\n\n{text}\n\n{targets}\n\n{yearly}\n\n{plan.source}"


def _plan_panels(site: Site, lang: Lang) -> list[Any]:
    plan = site.energy_targets.plan
    progress = bargauge_panel(
        title("panel.plan_progress", lang),
        [influxql("A", PLAN_PROGRESS_QUERY)],
        unit="percentunit",
        config=thresholds("red", [(0.5, "yellow"), (1.0, "green")]),
        min_value=0,
        max_value=1,
        description=title("panel.plan_progress.description", lang),
        width=8,
        per_row=True,
    )
    progress = show_building_names(progress, BUILDING_FILTER)
    per_building = _named(table_panel(title("panel.plan_table", lang), [influxql("A", PLAN_TABLE_QUERY)], width=8), lang)
    return [progress, per_building, markdown_panel(title("panel.plan", lang), plan_markdown(plan, lang), width=8)]


def trend_query(site: Site, field: str, alias: str, rows: str) -> str:
    """Sum of ``field`` over the ``rows`` of energy_monthly per building and local calendar month.

    InfluxQL has no calendar-month GROUP BY, so the analysis writes one energy_monthly point per month
    at its local start; local-day buckets (``tz``) add up the rows (categories) of a building's month
    and, with fill(none), leave one bar per month."""
    return (
        f'SELECT sum("{field}") AS "{alias}" FROM "{ENERGY_MONTHLY}" WHERE $timeFilter AND {BUILDING_FILTER} AND {rows} '
        f"GROUP BY time({MONTH_POINT_BUCKET}), \"building\" fill(none) tz('{site.site.timezone}')"
    )


SUBITEM_QUERY = (
    f'SELECT sum("consumption") AS "kwh" FROM "{ENERGY_DAILY}" WHERE $timeFilter AND {BUILDING_FILTER} AND {ELECTRICITY_SUBITEMS} '
    'GROUP BY "subitem"'
)


def _trend_panels(site: Site, lang: Lang) -> list[Any]:
    energy = bars(
        timeseries_panel(
            title("panel.energy_trend", lang),
            [influxql("A", trend_query(site, "kgce", "kgce", CATEGORY_TOTALS)).alias("$tag_building")],
            unit="suffix: kgce",
            description=title("panel.energy_trend.description", lang),
            width=8,
        )
    )
    electricity = bars(
        timeseries_panel(
            title("panel.electricity_trend", lang),
            [influxql("A", trend_query(site, "consumption", "kwh", MAIN_ELECTRICITY)).alias("$tag_building")],
            unit="kwatth",
            width=8,
        )
    )
    subitems = piechart_panel(
        title("panel.subitems", lang),
        [influxql("A", SUBITEM_QUERY).alias("$tag_subitem")],
        unit="kwatth",
        description=title("panel.subitems.description", lang),
        width=8,
    )
    return [energy, electricity, subitems]


SCORE_QUERY = f'SELECT last("score") AS "score" FROM "{SCORE_ENERGY}" WHERE {PERIOD_FILTER} AND {BUILDING_FILTER} GROUP BY "building"'
SCORE_TABLE_QUERY = (
    'SELECT "rank", "score", '
    + ", ".join(f'"{c}_points"' for c in SCORE_COMPONENTS)
    + f' FROM "{SCORE_ENERGY}" WHERE {PERIOD_FILTER} AND {BUILDING_FILTER} GROUP BY "building"'
)
# What each component rests on (analytics.scorecard.Basis): days with data of the days covered, whether
# the value is flagged as a poor estimate, where the value and its target come from; savings' ± band.
BASIS_COLUMNS = [
    *(f'"{c}_{part}"' for c in SCORE_COMPONENTS for part in ("days", "period_days", "flagged", "source", "target_source")),
    '"savings_uncertainty"',
]
BASIS_QUERY = f'SELECT {", ".join(BASIS_COLUMNS)} FROM "{SCORE_ENERGY}" WHERE {PERIOD_FILTER} AND {BUILDING_FILTER} GROUP BY "building"'
SAVINGS_QUERY = (
    'SELECT "avoided_kwh" - "uncertainty_kwh" AS "avoided_low_kwh", "avoided_kwh", "avoided_kwh" + "uncertainty_kwh" AS '
    '"avoided_high_kwh", '
    f'"fraction", "fsu", "conclusive" FROM "{SAVINGS}" WHERE {PERIOD_FILTER} AND {BUILDING_FILTER} GROUP BY "building"'
)


def _named(panel: Any, lang: Lang) -> Any:
    """``panel``'s ``building`` column shown as "<name> (<code>)" (blocks.show_building_names)."""
    return show_building_names(panel, BUILDING_FILTER, column_title=title("column.building", lang))


def _score_panels(lang: Lang) -> list[Any]:
    ranking = bargauge_panel(
        title("panel.score_ranking", lang),
        [influxql("A", SCORE_QUERY)],
        unit="none",
        config=thresholds("red", [(60, "yellow"), (80, "green")]),
        min_value=0,
        max_value=100,
        width=8,
        per_row=True,
    )
    ranking = show_building_names(ranking, BUILDING_FILTER)
    components = table_panel(title("panel.score_table", lang), [influxql("A", SCORE_TABLE_QUERY)], width=16).sort_by(
        [common_builder.TableSortByFieldState().display_name("rank")]
    )
    savings = table_panel(
        title("panel.savings", lang), [influxql("A", SAVINGS_QUERY)], description=title("panel.savings.description", lang), width=24
    )
    basis = table_panel(
        title("panel.score_basis", lang), [influxql("A", BASIS_QUERY)], description=title("panel.score_basis.description", lang), width=24
    )
    return [ranking, _named(components, lang), _named(savings, lang), _named(basis, lang)]


def energy_overview_dashboard(site: Site, lang: Lang) -> dict[str, Any]:
    """Dashboard (a), site energy overview, as Grafana's dashboard JSON."""
    board = (
        new_dashboard(site, UID, title("energy", lang), title("energy.description", lang), tags=["energy"])
        .time("now/y", "now")
        .refresh("1h")
        .with_variable(building_variable(lang))
        .with_variable(period_variable("period", title("var.period", lang), SCORE_ENERGY))
    )
    for row_key, panels in (
        ("row.intensity", _intensity_panels(site, lang)),
        ("row.plan", _plan_panels(site, lang)),
        ("row.trend", _trend_panels(site, lang)),
        ("row.score", _score_panels(lang)),
    ):
        board = board.with_row(dashboard_builder.Row(title(row_key, lang)))
        for panel in panels:
            board = board.with_panel(panel)
    return dashboard_json(board)
