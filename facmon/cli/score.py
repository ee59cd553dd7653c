"""`facmon score energy|vendors`: the energy-saving score per building and the vendors' maintenance-quality score."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
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
    from facmon.analytics.scorecard import ComponentScore

from rich.console import RenderableType

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit, out

score_app = typer.Typer(
    help="Scores: `facmon score energy` rates each building's energy saving, "
    "`facmon score vendors` each vendor's maintenance quality (0-100), explained.",
    no_args_is_help=True,
)


def _share_or_number(value: float | None, unit: str, flagged: bool = False) -> str:
    """A component value as shown; a flagged value (a poor estimate) is rounded and marked ≈, never given to decimals."""
    if value is None:
        return "-"
    if flagged:
        return f"≈{value:.0%}" if unit == "share" else f"≈{value:,.0f}"
    return f"{value:.1%}" if unit == "share" else f"{value:,.1f}"


def _indicator_value(value: float, flagged: bool) -> str:
    """An annual indicator as shown: two decimals when measured over enough days, else ≈ two significant digits."""
    return f"≈{float(f'{value:.2g}'):g}" if flagged else f"{value:,.2f}"


def _days_range(days: list[int]) -> str:
    low, high = min(days), max(days)
    return f"{low}" if low == high else f"{low}–{high}"


def basis_text(c: ComponentScore) -> str:
    """One line saying what a component rests on: period, days, sources, uncertainty, flag."""
    b = c.basis
    if b is None:
        return "-"
    text = f"{b.period}, {b.days}/{b.days_in_period} d, {b.source}"
    if b.target_source is not None:
        text += f" vs {b.target_source}"
    if b.uncertainty is not None:
        text += f", ±{b.uncertainty:.1%} (68 %)" if c.unit == "share" else f", ±{b.uncertainty:,.1f} (68 %)"
    if b.flag is not None:
        text += f"; ⚠ {b.flag}"
    return text


def basis_table(card: EnergyScorecard) -> Table:
    """Per component: the period, the days with data (range over buildings), where values and targets
    come from, and which buildings' figures are flagged or not available."""
    table = Table(title=f"What the {card.period.label} scores rest on (per component; ⚠ = a poor estimate, flagged)")
    for column in ("component", "period", "days with data", "value from", "compared with", "flagged / not available"):
        table.add_column(column, overflow="fold")
    for name in card.weights:
        parts = [(entry, entry.component(name)) for entry in card.buildings]
        bases = [c.basis for _, c in parts if c.basis is not None]
        if not bases:
            continue
        periods = sorted({b.period for b in bases})
        days = _days_range([b.days for b in bases])
        sources = ", ".join(sorted({b.source for b in bases}))
        targets = ", ".join(sorted({b.target_source for b in bases if b.target_source is not None})) or "-"
        remarks = [f"⚠ {entry.building}" for entry, c in parts if c.basis is not None and c.basis.flag is not None]
        missing = [entry.building for entry, c in parts if not c.available]
        if missing:
            remarks.append(f"n/a: {', '.join(missing)}")
        table.add_row(name, ", ".join(periods), f"{days} of {bases[0].days_in_period}", sources, targets, "; ".join(remarks) or "-")
    return table


def energy_scorecard_tables(card: EnergyScorecard, explain: bool = True) -> list[Table]:
    """Rich tables of an energy scorecard: the ranking, what it rests on, the indicators, and (``explain``)
    each building's components."""
    from facmon.analytics.energy_score import COMPONENT_LABELS
    from facmon.analytics.indicators import INDICATOR_UNITS

    ranking = Table(
        title=f"Energy-saving score, {card.site}, {card.period.label} ({card.period.days} days; 0-100; points / max per component, "
        "⚠ flagged)"
    )
    for column in ("rank", "building", "name", "score"):
        ranking.add_column(column, justify="right" if column in ("rank", "score") else "left")
    for name in card.weights:
        ranking.add_column(f"{name}\n(w {card.weights[name]:.2f})", justify="right")
    for entry in card.buildings:
        cells = []
        for c in entry.components:
            flag = " ⚠" if c.basis is not None and c.basis.flag is not None else ""
            cells.append(f"{c.points:.1f}/{c.max_points:.1f}{flag}" if c.available else "n/a")
        score = "-" if entry.score is None else f"{entry.score:.1f}"
        ranking.add_row(str(entry.rank or "-"), entry.building, escape(entry.name), f"[bold]{score}[/bold]", *cells)
    unscored = [f"{entry.building} {entry.explanation}" for entry in card.buildings if entry.score is None]
    if unscored:
        ranking.caption = escape("; ".join(unscored))

    indicators = Table(
        title=f"Indicators {card.period.label}, per year (annualised from the days with data; "
        f"⚠ fewer than {card.min_days_annualised} days: ≈, a poor annual figure)"
    )
    headings = {
        "electricity_kwh_per_m2": "kWh/m²",
        "kgce_per_m2": "kgce/m²",
        "kgce_per_person": "kgce/person",
        "water_m3_per_person": "water m³/person",
        "co2_kg_per_m2": "kgCO₂/m²",
    }
    for column in (
        "building",
        "use",
        "days",
        *(headings.get(k, k) for k in INDICATOR_UNITS),
        "GB/T 51161 E_c\n(guide/constraint)",
        "plan kgce/m²\nachieved/required",
        "after hours",
        "sub-items of main\nA/B/C/D/unmetered",
    ):
        indicators.add_column(column, justify="left" if column in ("building", "use") else "right")
    rows: list[tuple[BuildingIndicators, BuildingScore | None, str]] = [(e.indicators, e, e.use) for e in card.buildings]
    rows.append((card.site_indicators, None, "all"))
    if card.office_indicators is not None:
        rows.append((card.office_indicators, None, "office"))
    for found, scored, use in rows:
        flagged = found.few_days is not None
        values = [_indicator_value(found.annual[k], flagged) if k in found.annual else "-" for k in INDICATOR_UNITS]
        gbt = plan = "-"
        if scored is not None and scored.gbt51161 is not None:
            g = scored.gbt51161
            corrected = f"≈{g.corrected_kwh_m2:.0f}" if flagged else f"{g.corrected_kwh_m2:.1f}"
            gbt = f"{corrected} ({g.guide_kwh_m2:g}/{g.constraint_kwh_m2:g})"
        elif scored is not None and scored.use != "office":
            gbt = "not applicable"
        if scored is not None:
            headline = None if scored.plan is None else scored.plan.indicator("kgce_per_m2")
            if headline is not None:
                plan = f"{headline.achieved_reduction:.1%} / {headline.required_reduction:.1%}"
            else:
                plan = "n/a"
        after = found.after_hours.after_hours_share if found.after_hours is not None else None
        label = found.building if scored is not None else ("site" if use == "all" else "offices")
        shares = "-"
        if found.shares is not None:
            groups = [found.shares.by_group.get(f"01{letter}00", 0.0) for letter in "ABCD"]
            shares = "/".join(f"{100 * share:.0f}" for share in (*groups, found.shares.unmetered)) + " %"
        days = f"{found.totals.days_with_data}{' ⚠' if flagged else ''}"
        indicators.add_row(escape(label), use, days, *values, gbt, plan, _share_or_number(after, "share", flagged), shares)

    tables = [ranking, basis_table(card), indicators]
    if explain:
        for entry in card.buildings:
            title = f"{entry.building} {entry.name}: {'-' if entry.score is None else f'{entry.score:.1f}'} points"
            detail = Table(title=escape(title), caption=escape(entry.explanation) or None)
            for column in ("component", "value", "unit", "target", "points", "weight (eff.)", "basis", "rule", "note"):
                detail.add_column(column, justify="right" if column in ("value", "points", "weight (eff.)") else "left", overflow="fold")
            for c in entry.components:
                unit = "%" if c.unit == "share" else c.unit
                weight = f"{c.weight:.2f} ({c.effective_weight:.3f})"
                points = f"{c.points:.1f}/{c.max_points:.1f}" if c.available else "n/a"
                flagged_value = c.basis is not None and c.basis.flag is not None
                detail.add_row(
                    COMPONENT_LABELS[c.component],
                    _share_or_number(c.value, c.unit, flagged_value),
                    unit,
                    escape(c.target_text),
                    points,
                    weight,
                    escape(basis_text(c)),
                    escape(c.rule),
                    escape(c.note),
                )
            tables.append(detail)
    return tables


def print_energy_scorecard(card: EnergyScorecard, console: Console | None = None, explain: bool = True) -> None:
    """Print an energy scorecard as tables (used by `facmon score energy` and `facmon demo`)."""
    for table in energy_scorecard_tables(card, explain):
        (console or out).print(table)


PERIOD_HELP = (
    "A year (2025), a quarter (2025-Q3), a month (2025-06) or current (this month so far), local time. Default: the last complete month."
)


def local_today(site: Site) -> date:
    """Today's date in the site's time zone."""
    return datetime.now(site.site.tz).date()


def energy_scorecard(store: InfluxStore, site: Site, period: str | None = None, *, write: bool = True) -> EnergyScorecard:
    """Score every building of the site for ``period`` (``2025``, ``2025-06`` or ``current``; default:
    the last complete month, local time), and write the score_energy points unless ``write`` is False."""
    from facmon.analytics.energy_score import score_energy, write_energy_scores
    from facmon.analytics.indicators import resolve_period

    today = local_today(site)
    card = score_energy(store, site, resolve_period(period, today), today=today)
    if write:
        write_energy_scores(store, card, site.site.timezone)
    return card


@score_app.command("energy")
def score_energy_command(
    period: Annotated[str | None, typer.Option("--period", help=PERIOD_HELP, show_default=False)] = None,
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
    """Score every vendor of the site for ``period`` (``2025-06``, ``2025`` or ``current``; default: the
    last complete month, local time), and write the score_vendor points unless ``write`` is False."""
    from facmon.analytics.indicators import resolve_period
    from facmon.analytics.vendor_score import score_vendors, write_vendor_scores

    card = score_vendors(store, site, resolve_period(period, local_today(site)))
    if write:
        write_vendor_scores(store, card, site.site.timezone)
    return card


@score_app.command("vendors")
def score_vendors_command(
    period: Annotated[
        str | None,
        typer.Option("--period", help=PERIOD_HELP, show_default=False),
    ] = None,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
    explain: Annotated[bool, typer.Option("--explain/--no-explain", help="Table output: components and SLA breaches per vendor.")] = True,
    combined: Annotated[
        bool,
        typer.Option(
            "--combined",
            help="The combined assessment (综合考核): the measured score with inspections, surveys and third-party scores "
            "from the work-order database, graded, with the contract's consequence; writes vendor_assessment too.",
        ),
    ] = False,
) -> None:
    """Score each vendor's maintenance quality (0-100) from fault, ieq, equipment and meter_daily; contract
    deductions; write score_vendor. With --combined, the combined assessment of the period."""
    site = load_site_option(site_path)
    if combined:
        from facmon.analytics.indicators import resolve_period
        from facmon.cli.assess import assessment_tables, combined_assessment

        assessed = combined_assessment(site, resolve_period(period, local_today(site)))
        emit(output, assessed.as_dict(), lambda: assessment_tables(assessed, explain))
        return
    store = open_store(resolve_endpoints())
    card = vendor_scorecard(store, site, period)

    def show() -> Iterator[RenderableType]:
        yield from vendor_scorecard_tables(card, explain)

    emit(output, card.as_dict(), show)
