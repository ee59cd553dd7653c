"""`facmon score energy|vendors`: the energy-saving score per building and the vendors' maintenance-quality score."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from facmon.registry import Site
from facmon.settings import open_store, resolve_endpoints
from facmon.store import InfluxStore

if TYPE_CHECKING:
    from facmon.analytics.energy_score import BuildingScore, EnergyScorecard
    from facmon.analytics.indicators import BuildingIndicators

from rich.console import RenderableType

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit, out

score_app = typer.Typer(
    help="Scores: `facmon score energy` rates each building's energy saving, "
    "`facmon score vendors` each vendor's maintenance quality (0-100), explained.",
    no_args_is_help=True,
)


def _share_or_number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if unit == "share" else f"{value:,.1f}"


def energy_scorecard_tables(card: EnergyScorecard, explain: bool = True) -> list[Table]:
    """Rich tables of an energy scorecard: the ranking, the indicators, and (``explain``) each building's components."""
    from facmon.analytics.energy_score import COMPONENT_LABELS
    from facmon.analytics.indicators import INDICATOR_UNITS

    ranking = Table(title=f"Energy-saving score, {card.site}, {card.period.label} (0-100; points / max per component)")
    for column in ("rank", "building", "name", "score"):
        ranking.add_column(column, justify="right" if column in ("rank", "score") else "left")
    for name in card.weights:
        ranking.add_column(f"{name}\n(w {card.weights[name]:.2f})", justify="right")
    for entry in card.buildings:
        cells = []
        for c in entry.components:
            cells.append(f"{c.points:.1f}/{c.max_points:.1f}" if c.available else "n/a")
        score = "-" if entry.score is None else f"{entry.score:.1f}"
        ranking.add_row(str(entry.rank or "-"), entry.building, escape(entry.name), f"[bold]{score}[/bold]", *cells)

    indicators = Table(title=f"Indicators {card.period.label}, per year (annualised from the days with data)")
    headings = {
        "electricity_kwh_per_m2": "kWh/m²",
        "kgce_per_m2": "kgce/m²",
        "kgce_per_person": "kgce/person",
        "water_m3_per_person": "water m³/person",
        "co2_kg_per_m2": "kgCO₂/m²",
    }
    for column in (
        "building",
        "days",
        *(headings.get(k, k) for k in INDICATOR_UNITS),
        "GB/T 51161 E_c\n(guide/constraint)",
        "plan kgce/m²\nachieved/required",
        "after hours",
        "sub-items of main\nA/B/C/D/unmetered",
    ):
        indicators.add_column(column, justify="left" if column == "building" else "right")
    rows: list[tuple[BuildingIndicators, BuildingScore | None]] = [(e.indicators, e) for e in card.buildings]
    rows.append((card.site_indicators, None))
    for found, scored in rows:
        values = [f"{found.annual[k]:,.2f}" if k in found.annual else "-" for k in INDICATOR_UNITS]
        gbt = plan = "-"
        if scored is not None and scored.gbt51161 is not None:
            g = scored.gbt51161
            gbt = f"{g.corrected_kwh_m2:.1f} ({g.guide_kwh_m2:g}/{g.constraint_kwh_m2:g})"
        if scored is not None:
            headline = next((p for p in scored.plan if p.indicator == "kgce_per_m2"), None)
            if headline is not None:
                plan = f"{headline.achieved_reduction:.1%} / {headline.required_reduction:.1%}"
        after = found.after_hours.after_hours_share if found.after_hours is not None else None
        label = found.building if scored is not None else "site"
        shares = "-"
        if found.shares is not None:
            groups = [found.shares.by_group.get(f"01{letter}00", 0.0) for letter in "ABCD"]
            shares = "/".join(f"{100 * share:.0f}" for share in (*groups, found.shares.unmetered)) + " %"
        indicators.add_row(escape(label), str(found.totals.days_with_data), *values, gbt, plan, _share_or_number(after, "share"), shares)

    tables = [ranking, indicators]
    if explain:
        for entry in card.buildings:
            title = f"{entry.building} {entry.name}: {'-' if entry.score is None else f'{entry.score:.1f}'} points"
            detail = Table(title=escape(title), caption=escape(entry.explanation) or None)
            for column in ("component", "value", "unit", "target", "points", "weight (eff.)", "rule", "note"):
                detail.add_column(column, justify="right" if column in ("value", "points", "weight (eff.)") else "left", overflow="fold")
            for c in entry.components:
                unit = "%" if c.unit == "share" else c.unit
                weight = f"{c.weight:.2f} ({c.effective_weight:.3f})"
                points = f"{c.points:.1f}/{c.max_points:.1f}" if c.available else "n/a"
                detail.add_row(
                    COMPONENT_LABELS[c.component],
                    _share_or_number(c.value, c.unit),
                    unit,
                    escape(c.target_text),
                    points,
                    weight,
                    escape(c.rule),
                    escape(c.note),
                )
            tables.append(detail)
    return tables


def print_energy_scorecard(card: EnergyScorecard, console: Console | None = None, explain: bool = True) -> None:
    """Print an energy scorecard as tables (used by `facmon score energy` and `facmon demo`)."""
    for table in energy_scorecard_tables(card, explain):
        (console or out).print(table)


def energy_scorecard(store: InfluxStore, site: Site, period: str | None = None, *, write: bool = True) -> EnergyScorecard:
    """Score every building of the site for ``period`` (``2025`` or ``2025-06``; default: this year, local
    time), and write the score_energy points unless ``write`` is False."""
    from zoneinfo import ZoneInfo

    from facmon.analytics.energy_score import score_energy, write_energy_scores
    from facmon.analytics.indicators import parse_period

    label = period or str(datetime.now(ZoneInfo(site.site.timezone)).year)
    card = score_energy(store, site, parse_period(label))
    if write:
        write_energy_scores(store, card, site.site.timezone)
    return card


@score_app.command("energy")
def score_energy_command(
    period: Annotated[
        str | None, typer.Option("--period", help="A year (2025) or a month (2025-06), local time. Default: this year.", show_default=False)
    ] = None,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
    explain: Annotated[bool, typer.Option("--explain/--no-explain", help="Table output: one table of components per building.")] = True,
) -> None:
    """Score each building's energy saving (0-100) from energy_daily, energy_interval and meter_daily; write score_energy."""
    site = load_site_option(site_path)
    store = open_store(resolve_endpoints())
    card = energy_scorecard(store, site, period)

    def show() -> Iterator[RenderableType]:
        yield from energy_scorecard_tables(card, explain)

    emit(output, card.as_dict(), show)


if TYPE_CHECKING:
    from facmon.analytics.vendor_score import VendorScorecard


def vendor_scorecard_tables(card: VendorScorecard, explain: bool = True) -> list[Table]:
    """Rich tables of a vendor scorecard: the ranking with faults, breaches and deductions, and
    (``explain``) each vendor's components and SLA breaches."""
    from facmon.analytics.vendor_score import COMPONENT_LABELS

    ranking = Table(
        title=f"Vendor maintenance-quality score, {card.site}, {card.period.label} as of {card.as_of:%Y-%m-%d %H:%M} "
        "(0-100; points / max per component)"
    )
    for column in ("rank", "vendor", "name", "score"):
        ranking.add_column(column, justify="right" if column in ("rank", "score") else "left")
    for name in card.weights:
        ranking.add_column(f"{name}\n(w {card.weights[name]:.2f})", justify="right")
    for column in ("faults\ncrit/maj/min", "SLA breaches", "deduction\nCNY"):
        ranking.add_column(column, justify="right")
    for entry in card.vendors:
        cells = [f"{c.points:.1f}/{c.max_points:.1f}" if c.available else "n/a" for c in entry.components]
        faults = "/".join(str(entry.faults_by_severity.get(s, 0)) for s in ("critical", "major", "minor"))
        score = "-" if entry.score is None else f"{entry.score:.1f}"
        ranking.add_row(
            str(entry.rank or "-"),
            entry.vendor,
            escape(entry.name),
            f"[bold]{score}[/bold]",
            *cells,
            faults,
            str(entry.breaches),
            f"{entry.deduction.amount_cny:,.0f}",
        )
    tables = [ranking]
    if explain:
        for entry in card.vendors:
            points = "-" if entry.score is None else f"{entry.score:.1f}"
            title = f"{entry.vendor} {entry.name}: {points} points, {entry.devices} maintained device(s)"
            caption = "; ".join(
                part
                for part in (
                    entry.explanation,
                    f"deduction {entry.deduction.amount_cny:,.0f} CNY" + (f" ({entry.deduction.note})" if entry.deduction.note else ""),
                )
                if part
            )
            detail = Table(title=escape(title), caption=escape(caption))
            for column in ("component", "value", "unit", "target", "points", "weight (eff.)", "rule", "note"):
                detail.add_column(column, justify="right" if column in ("value", "points", "weight (eff.)") else "left", overflow="fold")
            for c in entry.components:
                unit = "%" if c.unit == "share" else c.unit
                value = "-" if c.value is None else (f"{c.value:.1%}" if c.unit == "share" else f"{c.value:,.3g}")
                points = f"{c.points:.1f}/{c.max_points:.1f}" if c.available else "n/a"
                detail.add_row(
                    COMPONENT_LABELS[c.component],
                    value,
                    unit,
                    escape(c.target_text),
                    points,
                    f"{c.weight:.2f} ({c.effective_weight:.3f})",
                    escape(c.rule),
                    escape(c.note),
                )
            tables.append(detail)
            breaches = [o for o in entry.outcomes if o.breached]
            if breaches:
                listing = Table(title=escape(f"{entry.vendor}: SLA breaches decided in {card.period.label}"))
                for column in ("building", "target", "kind", "severity", "start", "restore min", "SLA min", "restored"):
                    listing.add_column(column, justify="right" if column in ("restore min", "SLA min") else "left")
                tz = card.as_of.tzinfo
                for o in breaches:
                    start = datetime.fromtimestamp(o.episode.onset_s, tz)
                    restored = "yes" if o.restored else "no (active at period end)"
                    listing.add_row(
                        o.episode.building,
                        escape(o.episode.target),
                        o.episode.kind,
                        str(o.episode.severity),
                        f"{start:%m-%d %H:%M}",
                        f"{o.restore_min:,.0f}",
                        f"{o.sla_restore_min:g}",
                        restored,
                    )
                tables.append(listing)
    return tables


def print_vendor_scorecard(card: VendorScorecard, console: Console | None = None, explain: bool = True) -> None:
    """Print a vendor scorecard as tables (used by `facmon score vendors` and `facmon demo`)."""
    for table in vendor_scorecard_tables(card, explain):
        (console or out).print(table)


def vendor_scorecard(store: InfluxStore, site: Site, period: str | None = None, *, write: bool = True) -> VendorScorecard:
    """Score every vendor of the site for ``period`` (``2025-06`` or ``2025``; default: this month, local
    time), and write the score_vendor points unless ``write`` is False."""
    from zoneinfo import ZoneInfo

    from facmon.analytics.indicators import parse_period
    from facmon.analytics.vendor_score import score_vendors, write_vendor_scores

    label = period or f"{datetime.now(ZoneInfo(site.site.timezone)):%Y-%m}"
    card = score_vendors(store, site, parse_period(label))
    if write:
        write_vendor_scores(store, card, site.site.timezone)
    return card


@score_app.command("vendors")
def score_vendors_command(
    period: Annotated[
        str | None,
        typer.Option("--period", help="A month (2025-06) or a year (2025), local time. Default: this month.", show_default=False),
    ] = None,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
    explain: Annotated[bool, typer.Option("--explain/--no-explain", help="Table output: components and SLA breaches per vendor.")] = True,
) -> None:
    """Score each vendor's maintenance quality (0-100) from fault, ieq, equipment and meter_daily; contract
    deductions; write score_vendor."""
    site = load_site_option(site_path)
    store = open_store(resolve_endpoints())
    card = vendor_scorecard(store, site, period)

    def show() -> Iterator[RenderableType]:
        yield from vendor_scorecard_tables(card, explain)

    emit(output, card.as_dict(), show)
