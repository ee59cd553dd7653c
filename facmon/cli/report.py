"""`facmon report energy|vendors|statistics`: the documents officers hand in, rendered by reports/ from the same
JSON the scoring commands print. The commands and the scheduled delivery (facmon.cli.report_schedule) render
through one function, :func:`render_report`."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import out
from facmon.errors import InputError
from facmon.registry import Site
from facmon.store import InfluxStore

report_app = typer.Typer(help="Reports as PDF, HTML or XLSX, Chinese by default (--lang en).", no_args_is_help=True)

LangOption = Annotated[str, typer.Option("--lang", help="zh (default) or en.")]
OutOption = Annotated[Path, typer.Option("--out", help="Where to write the report.")]
PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period", help="A month (2026-11), a quarter (2026-Q3) or a year (2026). Default: the last complete month.", show_default=False
    ),
]
# Each report's formats; json is the energy report's figures (what its pages are rendered from).
REPORT_FORMATS = {
    "energy": ("pdf", "html", "json"),
    "vendors": ("pdf", "html", "xlsx"),
    "statistics": ("xlsx", "pdf", "html"),
    "annual": ("pdf", "html", "json"),
}


def check_request(kind: str, fmt: str, lang: str) -> None:
    """Refuse, before anything is computed, a report, format or language that does not exist (named in the message)."""
    from facmon.reports.labels import LANGS

    if kind not in REPORT_FORMATS:
        raise InputError(f"report {kind!r}: {', '.join(REPORT_FORMATS)}")
    if fmt not in REPORT_FORMATS[kind]:
        raise InputError(f"--format {fmt!r}: the {kind} report is {' or '.join(REPORT_FORMATS[kind])}")
    if lang not in LANGS:
        raise InputError(f"--lang {lang!r}: zh or en")
    if kind == "statistics" and lang != "zh":
        raise InputError(f"--lang {lang!r}: the statistics return is in Chinese, as the forms are")


class Rendered(NamedTuple):
    """A report written: where, and what it is in one line (report, period, and whether the period is final)."""

    path: Path
    summary: str


def render_report(kind: str, site: Site, period: str | None, fmt: str, lang: str, out: Path) -> Rendered:
    """Render the ``kind`` report (energy, vendors or statistics) of ``period`` (default: the last complete month)
    to ``out`` as ``fmt``. Writes the scores it computes, as the scoring commands do."""
    from facmon.analytics.indicators import resolve_period
    from facmon.cli.score import local_today
    from facmon.settings import open_store, resolve_endpoints

    check_request(kind, fmt, lang)
    now = datetime.now(site.site.tz)
    if kind == "vendors":
        from facmon.cli.assess import combined_assessment
        from facmon.reports.vendor_report import write_vendor_report

        card = combined_assessment(site, resolve_period(period, local_today(site)))
        state = "closed" if card.closed else "open: not final"
        return Rendered(write_vendor_report(card.as_dict(), out, fmt, lang, now), f"vendor assessment report {card.period.label} ({state})")
    if kind == "statistics":
        from facmon.reports.statistics_return import write_statistics_return

        chosen = resolve_period(period, local_today(site))
        if chosen.kind not in ("quarter", "year"):
            raise InputError(f"--period {chosen.label!r}: the statistics return is for a quarter (2026-Q3) or a year (2026)")
        figures = energy_report_figures(open_store(resolve_endpoints()), site, chosen.label)
        state = "" if figures["period_elapsed_days"] >= figures["period_days"] else " (the period is not over)"
        return Rendered(write_statistics_return(figures, out, fmt, now), f"statistics return {chosen.label}{state}")
    if kind == "annual":
        from facmon.reports.annual_report import write_annual_report

        chosen = resolve_period(period, local_today(site))
        if chosen.kind != "year":
            raise InputError(f"--period {chosen.label!r}: the annual analysis report is for a year (2026)")
        annual = annual_report_figures(open_store(resolve_endpoints()), site, chosen.year)
        summary = f"annual energy analysis report {chosen.label}"
        if fmt == "json":
            out.write_text(json.dumps(annual, ensure_ascii=False, indent=2), encoding="utf-8")
            return Rendered(out, summary)
        return Rendered(write_annual_report(annual, out, fmt, lang, now), summary)
    from facmon.reports.energy_report import write_energy_report

    figures = energy_report_figures(open_store(resolve_endpoints()), site, period)
    summary = f"energy report {figures['period']}" + (
        "" if figures["period_elapsed_days"] >= figures["period_days"] else " (the period is not over)"
    )
    if fmt == "json":
        out.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
        return Rendered(out, summary)
    return Rendered(write_energy_report(figures, out, fmt, lang, now), summary)


@report_app.command("vendors")
def vendors(
    out_path: OutOption,
    period: PeriodOption = None,
    fmt: Annotated[str, typer.Option("--format", help="pdf, html or xlsx.")] = "pdf",
    lang: LangOption = "zh",
    site_path: SiteOption = None,
) -> None:
    """The vendor assessment report: the results, then one page per vendor that can be handed to it (parts,
    every point lost, the contract's consequence, its standing); the figures of `facmon score vendors --combined`."""
    check_request("vendors", fmt, lang)
    rendered = render_report("vendors", load_site_option(site_path), period, fmt, lang, out_path)
    out.print(f"{rendered.summary} written to {rendered.path}")


@report_app.command("energy")
def energy(
    out_path: OutOption,
    period: PeriodOption = None,
    fmt: Annotated[str, typer.Option("--format", help="pdf, html, or json (the report's figures).")] = "pdf",
    lang: LangOption = "zh",
    site_path: SiteOption = None,
) -> None:
    """The energy report: consumption by energy type with kgce and CO₂, intensities, after-hours and sub-item shares,
    GB/T 51161, savings against the baseline year, plan progress, the monthly trend, the heat map of hourly load, the
    waste faults caused, the score and ranking, with the days each rests on; the figures of `facmon score energy`."""
    check_request("energy", fmt, lang)
    rendered = render_report("energy", load_site_option(site_path), period, fmt, lang, out_path)
    out.print(f"{rendered.summary} written to {rendered.path}")


@report_app.command("statistics")
def statistics(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the return (.xlsx for the workbook).")],
    period: Annotated[str, typer.Option("--period", help="A quarter (2026-Q3) or a year (2026).")],
    fmt: Annotated[str, typer.Option("--format", help="xlsx (laid out like the forms), pdf or html.")] = "xlsx",
    site_path: SiteOption = None,
) -> None:
    """The statistics return (公共机构能源资源消费统计) for a quarter or a year: the forms' rows facmon measures filled
    from the energy report's figures, the rest left blank and marked for the officer; Chinese, as the forms are."""
    check_request("statistics", fmt, "zh")
    rendered = render_report("statistics", load_site_option(site_path), period, fmt, "zh", out_path)
    out.print(f"{rendered.summary} written to {rendered.path}")


@report_app.command("annual")
def annual(
    out_path: OutOption,
    period: Annotated[str, typer.Option("--period", help="A year (2026).")],
    fmt: Annotated[str, typer.Option("--format", help="pdf, html, or json (the report's figures).")] = "pdf",
    lang: LangOption = "zh",
    site_path: SiteOption = None,
) -> None:
    """The annual energy analysis report: the year against the plan, the savings measured with their uncertainty,
    each building against the year before and why (sub-items, after-hours use, faults), the data gaps, the ranking."""
    check_request("annual", fmt, lang)
    rendered = render_report("annual", load_site_option(site_path), period, fmt, lang, out_path)
    out.print(f"{rendered.summary} written to {rendered.path}")


def energy_report_figures(store: InfluxStore, site: Site, period: str | None, *, write: bool = True) -> dict[str, Any]:
    """Everything the energy report shows, as JSON: the energy scorecard (as `facmon score energy --format json`
    prints it, and written as it writes it unless ``write`` is False) plus the monthly trend, the hourly load and
    the waste faults caused."""
    from facmon.analytics.fault_waste import fault_waste
    from facmon.analytics.load_profile import hourly_load
    from facmon.analytics.monthly_trend import monthly_trend
    from facmon.cli.score import energy_scorecard, local_today
    from facmon.schema.faults import read_faults

    card = energy_scorecard(store, site, period, write=write)
    start_s, end_s = card.period.bounds_utc_s(site.site.timezone)
    return {
        **card.as_dict(),
        "institution": {  # the registry's facts the statistics return states (all buildings, with data or not)
            "division_code": site.site.division_code,
            "floor_area_m2": sum(b.floor_area_m2 for b in site.buildings),
            "energy_users": sum(b.energy_users for b in site.buildings),
            "metered_energy": sorted({m.energy for b in site.buildings for m in b.meters if m.subitem.endswith("000")}),
            "metered_energy_by_building": {
                b.code: sorted({m.energy for m in b.meters if m.subitem.endswith("000")}) for b in site.buildings
            },
        },
        "energy_factors": site.energy_factors.version,
        "period_elapsed_days": card.period.elapsed_days(local_today(site)),
        "trend": [t.as_dict() for t in monthly_trend(store, site, card.period)],
        "load_profile": hourly_load(store, site, card.period).as_dict(),
        "fault_waste": {
            "faults": [w.as_dict() for w in fault_waste(site, read_faults(store, start_s, end_s), card.period, now_s=int(time.time()))],
            "tariffs": site.tariffs.model_dump(mode="json"),
        },
    }


def annual_report_figures(store: InfluxStore, site: Site, year: int) -> dict[str, Any]:
    """The annual analysis report's figures: the energy report's figures of ``year`` (its scores written, as
    `facmon score energy --period YEAR` writes them) and of the year before (only read), and the runs of days
    without data up to today."""
    from facmon.analytics.data_gaps import data_gaps
    from facmon.analytics.indicators import parse_period
    from facmon.cli.score import local_today

    return {
        "year": energy_report_figures(store, site, str(year)),
        "previous": energy_report_figures(store, site, str(year - 1), write=False),
        "gaps": [g.as_dict() for g in data_gaps(store, site, parse_period(str(year)), until=local_today(site))],
    }
