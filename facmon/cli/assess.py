"""`facmon assess survey|import|template|close|publish` and the tables of `facmon score vendors --combined`:
the combined vendor assessment (物业服务考核, workorders/assessment.py)."""

from __future__ import annotations

import csv
import getpass
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit, out
from facmon.errors import FacmonError, InputError
from facmon.periods import Period, parse_period
from facmon.registry import Site
from facmon.settings import open_store, resolve_endpoints
from facmon.store import InfluxStore

if TYPE_CHECKING:
    from facmon.workorders.assessment import AssessmentCard

assess_app = typer.Typer(
    help="The combined vendor assessment (综合考核): survey links, third-party imports, closing and publishing a period.",
    no_args_is_help=True,
)

ByOption = Annotated[str | None, typer.Option("--by", help="Who does it, for the records (default: the login name).")]
PeriodArgument = Annotated[str, typer.Option("--period", help="A month (2026-11), a quarter (2026-Q4) or a year (2026).")]


def _officer(by: str | None) -> Any:
    from facmon.workorders.lifecycle import Role
    from facmon.workorders.orders import Actor

    return Actor(by or getpass.getuser(), Role.OFFICER)


def _database(site_path: Path | None) -> Site:
    """The registry, and the work-order database migrated (Django set up: import workorders' models after this)."""
    from facmon.workorders import server

    site = load_site_option(site_path)
    server.migrate()
    return site


def _period(text: str) -> Period:
    return parse_period(text)  # a month, a quarter or a year; PeriodError (an InputError) names the text


# ---------------------------------------------------------------------------------------------
# Tables


def _part_cell(result: Any, name: str) -> str:
    part = result.part(name)
    if not part.available:
        return "n/a"
    return f"{part.score:.1f} (w {part.effective_weight:.2f})" + (" sim." if part.simulated else "")


def assessment_tables(card: AssessmentCard, explain: bool = True) -> list[Table]:
    """The ranking with grades, parts and consequences; (``explain``) per vendor every loss and the history."""
    from facmon.workorders.combined_score import PART_LABELS

    title = f"Combined vendor assessment (综合考核), {card.site}, {card.period.label}" + (
        f", closed by {card.closed['by']} {card.closed['at'][:10]}" if card.closed else ", open (not closed)"
    )
    ranking = Table(title=escape(title), caption=escape("parts: score 0-100 (effective weight); sim. = simulated evidence (demo)"))
    for column in ("vendor", "name", "score", "grade", *card.weights, "deduction CNY", "standing"):
        ranking.add_column(column if column not in card.weights else f"{column}\n(w {card.weights[column]:.2f})")
    for result in card.vendors:
        c = result.consequence
        deduction = "-" if c is None or c.deduction_cny is None else f"{c.deduction_cny:,.0f} ({c.deduction_percent:g} %)"
        ranking.add_row(
            result.vendor,
            escape(result.name),
            "-" if result.score is None else f"[bold]{result.score:.1f}[/bold]",
            escape(result.grade_label or "ungraded"),
            *(_part_cell(result, name) for name in card.weights),
            deduction,
            "-" if c is None else c.standing.value,
        )
    tables = [ranking]
    if not explain:
        return tables
    for result in card.vendors:
        detail = Table(title=escape(f"{result.vendor} {result.name}: what cost points"), caption=escape(result.explanation))
        for column in ("part", "evidence", "detail", "part points", "combined points"):
            detail.add_column(column, justify="right" if "points" in column else "left", overflow="fold")
        for part in result.parts:
            if not part.available:
                detail.add_row(PART_LABELS[part.part], escape(part.note), "unavailable, weight shared out", "-", "-")
                continue
            detail.add_row(
                PART_LABELS[part.part], escape(part.basis), escape("; ".join(part.flags)) or "", f"{part.score:.1f}", f"{part.points:.2f}"
            )
            for loss in sorted(part.losses, key=lambda lost: -lost.combined_points):
                detail.add_row("", escape(loss.source), escape(loss.detail), f"-{loss.part_points:.2f}", f"-{loss.combined_points:.2f}")
        tables.append(detail)
        history = card.history.get(result.vendor, [])
        if len(history) > 1 or result.consequence is not None:
            listing = Table(title=escape(f"{result.vendor}: the dynamic list (动态名录)"))
            for column in ("period", "score", "grade", "standing", "why"):
                listing.add_column(column)
            for entry in history:
                score = "-" if entry.score is None else f"{entry.score:.1f}"
                listing.add_row(entry.period, score, escape(entry.grade_label or "ungraded"), entry.standing, escape(entry.reason))
            tables.append(listing)
    return tables


def combined_assessment(site: Site, period: Period) -> AssessmentCard:
    """Score the vendors' measured service for ``period`` (writing score_vendor), then assess every vendor
    from the stored records and write vendor_assessment."""
    from facmon.analytics.vendor_score import score_vendors, write_vendor_scores
    from facmon.workorders import server

    store = open_store(resolve_endpoints())
    write_vendor_scores(store, score_vendors(store, site, period), site.site.timezone)
    server.migrate()
    return assess_and_write(site, store, period)


def assess_and_write(site: Site, store: InfluxStore, period: Period) -> AssessmentCard:
    """The combined assessment of ``period`` from the stored records (score_vendor already written), and its
    vendor_assessment points. Django must be set up (server.migrate)."""
    from facmon.workorders import assessment

    card = assessment.assess(site, store, period)
    assessment.write_assessments(store, card, site.site.timezone)
    return card


def seed_simulated_evidence(site: Site, period: Period, seed: int = 0) -> tuple[int, int, int]:
    """The demo's simulated inspections and survey answers for the month ``period`` (simulators.assessment),
    stored as records labelled simulated; nothing when the month already has simulated inspections.
    Returns (inspections, surveys, responses). Django must be set up (server.migrate)."""
    from datetime import timedelta

    from facmon.simulators.assessment import simulated_evidence
    from facmon.workorders import inspections, surveys
    from facmon.workorders.lifecycle import Role
    from facmon.workorders.models import Inspection
    from facmon.workorders.orders import Actor

    if Inspection.objects.filter(simulated=True, day__gte=period.start, day__lt=period.end).exists():
        return 0, 0, 0
    found, surveyed = simulated_evidence(site, period.start, period.end, seed)
    inspector = Actor("simulated-inspector", Role.OFFICER)
    last_day = period.end - timedelta(days=1)
    for i in found:
        inspections.record_inspection(
            site,
            inspector,
            vendor=i.vendor,
            building=i.building,
            checklist=i.checklist,
            kind=i.kind,
            day=i.day,
            scores={item: inspections.ItemInput(points, i.notes.get(item, "")) for item, points in i.awarded.items()},
            today=last_day,
            notes="simulated inspection (facmon demo)",
            simulated=True,
        )
    responses = 0
    for s in surveyed:
        _, tokens = surveys.issue_survey(
            site, inspector, vendor=s.vendor, building=s.building, period=s.period, links=s.links, simulated=True
        )
        for token, answers in zip(tokens, s.responses, strict=False):
            surveys.answer_survey(token, answers, comment="simulated respondent (facmon demo)", today=last_day)
            responses += 1
    return len(found), len(surveyed), responses


# ---------------------------------------------------------------------------------------------
# Commands


@assess_app.command("survey")
def survey(
    vendor: Annotated[str, typer.Option(help="The vendor surveyed (registry id).")],
    building: Annotated[str, typer.Option(help="The building whose occupants answer (code).")],
    period: PeriodArgument,
    links: Annotated[int, typer.Option(help="How many links to issue: one response each.")] = 30,
    by: ByOption = None,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Issue a satisfaction survey (满意度测评) as links to hand out; the links are printed once and never stored."""
    site = _database(site_path)
    from facmon.workorders import surveys
    from facmon.workorders.orders import RequestInvalid

    try:
        created, tokens = surveys.issue_survey(site, _officer(by), vendor=vendor, building=building, period=period, links=links)
    except RequestInvalid as error:
        raise InputError(f"--{error.field}: {error}") from None
    urls = [f"{site.work_orders.public_url}/s/{token}/" for token in tokens]

    def show() -> Iterator[RenderableType]:
        yield f"survey #{created.pk} of {vendor} in {building} for {created.period}: {len(urls)} links, one response each"
        yield from urls

    emit(output, {"survey": created.pk, "vendor": vendor, "building": building, "period": created.period, "links": urls}, show)


@assess_app.command("template")
def template(out_path: Annotated[Path, typer.Option("--out", help="Where to write the template: a .csv or .xlsx file.")]) -> None:
    """Write the third-party import template (columns vendor, period, score, assessor, note) with one example row."""
    from facmon.workorders.import_template import write_template

    write_template(out_path)
    out.print(f"template written to {out_path}")


@assess_app.command("import")
def import_third_party(
    path: Annotated[
        Path, typer.Argument(help="The assessor's scores: .csv or .xlsx in the template's columns.", exists=True, dir_okay=False)
    ],
    by: ByOption = None,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Import a third-party assessor's scores (第三方评价), all rows or none; each problem named by row and column."""
    site = _database(site_path)
    from facmon.workorders import third_party

    rows = third_party.import_scores(site, _officer(by), path)
    payload = [{"vendor": r.vendor, "period": r.period, "score": r.score, "assessor": r.assessor, "source": r.source} for r in rows]

    def show() -> Iterator[RenderableType]:
        table = Table(title=f"imported from {path.name}: {len(rows)} score(s)")
        for column in ("vendor", "period", "score", "assessor", "source"):
            table.add_column(column)
        for row in payload:
            table.add_row(row["vendor"], row["period"], f"{row['score']:g}", escape(row["assessor"]), escape(row["source"]))
        yield table

    emit(output, payload, show)


@assess_app.command("close")
def close(
    period: PeriodArgument,
    by: ByOption = None,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Close a period: the measured scores are computed once more and kept with it; from then on its records change
    only through amendments (who, why), and the results are kept as they stand."""
    from facmon.analytics.vendor_score import score_vendors, write_vendor_scores

    site = _database(site_path)
    from facmon.workorders import assessment

    store = open_store(resolve_endpoints())
    closing = _period(period)
    # the measured part as it is now: kept with the closure, so a later rerun does not rewrite the period
    write_vendor_scores(store, score_vendors(store, site, closing), site.site.timezone)
    try:
        card = assessment.close_period(site, store, closing, _officer(by).name, datetime.now(UTC))
    except assessment.AssessmentRefused as error:
        raise FacmonError(str(error)) from None
    assessment.write_assessments(store, card, site.site.timezone)

    def show() -> Iterator[RenderableType]:
        yield from assessment_tables(card, explain=False)

    emit(output, card.as_dict(), show)


@assess_app.command("publish")
def publish(
    period: PeriodArgument,
    out_path: Annotated[Path, typer.Option("--out", help="The export: .csv, .xlsx (results and every deduction) or .json.")],
    site_path: SiteOption = None,
) -> None:
    """Export a period's results for publication (考核结果公示): per vendor the score, grade, parts and consequence."""
    from facmon.reports.vendor_report import PUBLICATION_COLUMNS, publication_rows, write_workbook

    site = _database(site_path)
    from facmon.workorders import assessment

    card = assessment.assess(site, open_store(resolve_endpoints()), _period(period))
    document = card.as_dict()
    rows = publication_rows(document, site.site.tz)
    suffix = out_path.suffix.lower()
    if suffix == ".json":
        out_path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    elif suffix == ".csv":
        with out_path.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.DictWriter(handle, fieldnames=PUBLICATION_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".xlsx":
        write_workbook(document, out_path, site.site.tz)
    else:
        raise InputError(f"--out {out_path}: write a .csv, .xlsx or .json file")
    state = "closed" if card.closed else "open, not yet closed: figures may still change"
    out.print(f"{card.period.label} ({state}): {len(rows)} vendor(s) written to {out_path}")


@assess_app.command("amend")
def amend(
    reason: Annotated[str, typer.Option(help="Why: kept with the amendment, with who and when.")],
    points: Annotated[float, typer.Option(help="The new points of the item, or the new third-party score (0-100).")],
    inspection: Annotated[int | None, typer.Option(help="The inspection's number (#12 on the page) whose item to change.")] = None,
    item: Annotated[str | None, typer.Option(help="With --inspection: the checklist item's id.")] = None,
    third_party: Annotated[str | None, typer.Option("--third-party", help="The vendor whose imported score to correct.")] = None,
    period: Annotated[str | None, typer.Option(help="With --third-party: the score's period.")] = None,
    by: ByOption = None,
    site_path: SiteOption = None,
) -> None:
    """Correct an inspection item's points or an imported third-party score, with a reason (an amendment: who,
    when, why, before and after; required once the period is closed, and always for third-party scores)."""
    _database(site_path)
    from facmon.workorders import inspections
    from facmon.workorders import third_party as third_party_scores
    from facmon.workorders.orders import RequestInvalid

    now = datetime.now(UTC)
    try:
        if inspection is not None and item and third_party is None:
            inspections.amend_item(_officer(by), inspection, item, points, reason=reason, at=now)
            out.print(f"inspection #{inspection} item {item}: {points:g} points ({reason})")
        elif third_party is not None and period and inspection is None:
            third_party_scores.amend_score(_officer(by), third_party, _period(period).label, points, reason=reason, at=now)
            out.print(f"third-party score of {third_party} for {period}: {points:g} ({reason})")
        else:
            raise InputError("give --inspection N --item ID, or --third-party VENDOR --period P, with --points and --reason")
    except RequestInvalid as error:
        raise InputError(str(error)) from None
