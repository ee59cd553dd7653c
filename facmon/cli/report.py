"""`facmon report energy|vendors`: the documents officers hand in, rendered by reports/ from the same JSON the
scoring commands print."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import out
from facmon.errors import InputError

report_app = typer.Typer(help="Reports as PDF, HTML or XLSX, Chinese by default (--lang en).", no_args_is_help=True)

LangOption = Annotated[str, typer.Option("--lang", help="zh (default) or en.")]
FORMATS = ("pdf", "html", "xlsx")


@report_app.command("vendors")
def vendors(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the report.")],
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="A month (2026-11), a quarter (2026-Q4) or a year (2026). Default: the last complete month.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="pdf, html or xlsx.")] = "pdf",
    lang: LangOption = "zh",
    site_path: SiteOption = None,
) -> None:
    """The vendor assessment report: the results, then one page per vendor that can be handed to it (parts,
    every point lost, the contract's consequence, its standing); the figures of `facmon score vendors --combined`."""
    from facmon.analytics.indicators import resolve_period
    from facmon.cli.assess import combined_assessment
    from facmon.cli.score import local_today
    from facmon.reports.labels import LANGS
    from facmon.reports.vendor_report import write_vendor_report

    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: pdf, html or xlsx")
    if lang not in LANGS:
        raise InputError(f"--lang {lang!r}: zh or en")
    site = load_site_option(site_path)
    card = combined_assessment(site, resolve_period(period, local_today(site), quarters=True))
    written = write_vendor_report(card.as_dict(), out_path, fmt, lang, datetime.now(site.site.tz))
    out.print(f"vendor assessment report {card.period.label} ({'closed' if card.closed else 'open: not final'}) written to {written}")


@report_app.command("energy")
def energy(
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the report.")],
    period: Annotated[
        str | None,
        typer.Option("--period", help="A month (2026-11) or a year (2026). Default: the last complete month.", show_default=False),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="pdf or html.")] = "pdf",
    lang: LangOption = "zh",
    site_path: SiteOption = None,
) -> None:
    """The energy report (first part): consumption by energy type with kgce and CO₂, intensities, after-hours and
    sub-item shares, GB/T 51161, the score and ranking, with the days each rests on; the figures of `facmon score energy`."""
    from facmon.cli.score import energy_scorecard
    from facmon.reports.energy_report import check_format, write_energy_report
    from facmon.reports.labels import LANGS
    from facmon.settings import open_store, resolve_endpoints

    if lang not in LANGS:
        raise InputError(f"--lang {lang!r}: zh or en")
    check_format(fmt)
    site = load_site_option(site_path)
    card = energy_scorecard(open_store(resolve_endpoints()), site, period)
    written = write_energy_report(card.as_dict(), out_path, fmt, lang, datetime.now(site.site.tz))
    out.print(f"energy report {card.period.label} written to {written}")
