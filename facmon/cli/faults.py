"""`facmon faults active|evaluate|review`: faults found by analyze, their evaluation, the weekly anomaly review."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit, err
from facmon.errors import FacmonError
from facmon.registry import Site
from facmon.settings import open_store, resolve_endpoints

faults_app = typer.Typer(
    help="Faults found by `facmon analyze`: active ones, evaluation against labels, the weekly anomaly review.", no_args_is_help=True
)


def active_faults_table(rows: list[dict], site: Site) -> Table:
    """Active faults (rows of :func:`facmon.analytics.fault_evaluation.active_faults`) as a rich table."""
    tz = site.site.tz
    table = Table(title="Active faults")
    for column in ("since (local)", "building", "kind", "target", "severity", "vendor", "value", "detail"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for row in rows:
        since = datetime.fromtimestamp(row["start_s"], tz).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            since, row["building"], row["kind"], row["target"], row["severity"], row["vendor"], f"{row['value']:g}", escape(row["detail"])
        )
    return table


@faults_app.command("active")
def faults_active(site_path: SiteOption = None, output: FormatOption = OutputFormat.TABLE) -> None:
    """List the faults active now (raised by `facmon analyze` and not cleared)."""
    from facmon.analytics.fault_evaluation import active_faults

    site = load_site_option(site_path)
    rows = active_faults(open_store(resolve_endpoints()))

    def show() -> Iterator[RenderableType]:
        yield active_faults_table(rows, site)

    emit(output, rows, show)


@faults_app.command("evaluate")
def faults_evaluate(
    truth: Annotated[Path, typer.Option("--truth", help="Labels JSON of `facmon simulate --faults ... --labels-out FILE`.")],
    site_path: SiteOption = None,
    tolerance_h: Annotated[
        float, typer.Option("--tolerance-h", help="Hours after a labelled fault's end within which a detection still matches it.", min=0.0)
    ] = 12.0,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Event-level precision, recall, F1, time to detect and false alarms per building-month of the `fault` points against labels."""
    from facmon.analytics.fault_evaluation import evaluate_store

    site = load_site_option(site_path)
    store = open_store(resolve_endpoints())
    report = evaluate_store(store, truth, len(site.buildings), tolerance_s=int(tolerance_h * 3600))

    def show() -> Iterator[RenderableType]:
        table = Table(
            title=f"Faults against {truth} ({report.buildings} buildings, {report.months:.2f} months)",
            caption="TTD: time to detect in data time (raised − true start); pipeline: wall clock from raised to facmon writing the "
            "fault (a backfilled history: the time since)",
        )
        for column in (
            "kind",
            "labels",
            "detections",
            "matched",
            "precision",
            "recall",
            "F1",
            "TTD median",
            "TTD p90",
            "pipeline median",
            "false alarms/bldg-month",
        ):
            table.add_column(column, justify="left" if column == "kind" else "right")

        def cell(value, unit: str = "") -> str:
            if value is None:
                return "-"
            if unit == "min":
                return f"{value / 60:,.0f} min"
            return f"{value:.2f}"

        for kind, row in [*report.by_kind.items(), ("overall", report.overall)]:
            table.add_row(
                kind,
                str(row.labels),
                str(row.detections),
                str(row.matched),
                cell(row.precision),
                cell(row.recall),
                cell(row.f1),
                cell(row.ttd_median_s, "min"),
                cell(row.ttd_p90_s, "min"),
                cell(row.pipeline_median_s, "min"),
                cell(row.false_alarms_per_building_month),
            )
        yield table

    emit(output, report.as_dict(), show)


@faults_app.command("review")
def faults_review(
    site_path: SiteOption = None,
    week: Annotated[
        str | None,
        typer.Option(
            "--week",
            help="ISO week to review, e.g. 2026-W43 (Monday to Sunday, local time). Default: the last complete week.",
            show_default=False,
        ),
    ] = None,
    week_start: Annotated[
        str | None, typer.Option("--week-start", help="...or the first local day (YYYY-MM-DD) of the 7 days to review.", show_default=False)
    ] = None,
    weeks_baseline: Annotated[
        int | None,
        typer.Option(
            "--weeks-baseline",
            help="Weeks before the review week for the hourly baseline (default: the registry's anomalies.baseline_weeks, 8).",
            min=2,
            max=52,
            show_default=False,
        ),
    ] = None,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Also store the list in the `anomaly` measurement (replacing the week's earlier review). "
            "Never `fault`: the review pages no one.",
        ),
    ] = False,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """The weekly anomaly review: hours off each building's hourly baseline (TOWT, scored by hour of week) and night base-load creep."""
    from datetime import date as _date

    from facmon.analytics.anomalies import review_list, review_site, review_week_start, write_review

    site = load_site_option(site_path)
    try:
        first_day = _date.fromisoformat(week_start) if week_start is not None else None
    except ValueError:
        raise FacmonError(f"--week-start {week_start!r} is not a date like 2026-10-19") from None
    tz = site.site.tz
    start = review_week_start(week, first_day, datetime.now(tz).date())
    weeks = weeks_baseline or site.anomalies.baseline_weeks
    store = open_store(resolve_endpoints())
    reviews = review_site(store, site, start, baseline_weeks=weeks)
    entries = review_list(reviews)
    written = write_review(store, site, reviews, start) if write else None
    body = {
        "week_start": start.isoformat(),
        "week_end": (start + timedelta(days=7)).isoformat(),
        "baseline_weeks": weeks,
        "anomalies": [a.as_dict(tz) for a in entries],
        "buildings": [r.as_dict(tz) for r in reviews],
        "points_written": written,
    }

    def show() -> Iterator[RenderableType]:
        table = Table(
            title=f"Anomaly review {start} .. {start + timedelta(days=6)} (baseline {weeks} weeks before; for review, never paged)"
        )
        for column in ("building", "kind", "from (local)", "until (local)", "score", "excess kWh", "forest rank", "detail"):
            table.add_column(column, justify="right" if column in ("score", "excess kWh", "forest rank") else "left")
        for a in entries:
            rank = "-" if a.isolation_rank is None else f"{a.isolation_rank:.3f}"
            score = f"{a.score:.1%}/wk" if a.kind == "night_base_load_creep" else f"{a.score:+.1f}"
            table.add_row(
                a.building,
                a.kind,
                datetime.fromtimestamp(a.start_s, tz).strftime("%Y-%m-%d %H:%M"),
                datetime.fromtimestamp(a.end_s, tz).strftime("%Y-%m-%d %H:%M"),
                score,
                f"{a.excess_kwh:,.0f}",
                rank,
                escape(a.detail),
            )
        yield table
        for r in reviews:
            if r.skipped:
                err.print(f"{r.building}: {r.skipped}", highlight=False, markup=False)
        if written is not None:
            yield f"{written} anomaly point(s) written"

    emit(output, body, show)
