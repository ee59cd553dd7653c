"""`facmon analyze`: validated consumption (and fault detection) for a period, or `--follow`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from facmon.errors import FacmonError
from facmon.settings import open_store, resolve_endpoints
from facmon.shards import parse_shard
from facmon.stop import stop_on_signals

if TYPE_CHECKING:
    from facmon.analytics.analyze import AnalysisSummary

    pass

from rich.console import RenderableType

from facmon.analytics.fault_detection import detect_faults_after
from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit, err, out


def _analysis_time(text: str, option: str, tz, *, end_of_day: bool) -> datetime:
    """A date (local day of the site; for --until, through its end) or an ISO datetime (no offset: site local time)."""
    from datetime import date as _date

    try:
        day = _date.fromisoformat(text)
    except ValueError:
        day = None
    if day is not None and len(text) == 10:
        moment = datetime.combine(day + timedelta(days=1 if end_of_day else 0), datetime.min.time(), tzinfo=tz)
        return moment.astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FacmonError(f"{option} {text!r} is neither a date (2026-03-01) nor an ISO datetime (2026-03-01T08:00+08:00)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)


def _print_analysis(summary, output: OutputFormat) -> None:
    from facmon.analytics.analyze import iter_gaps

    body = summary.as_dict()

    def show() -> Iterator[RenderableType]:
        table = Table(
            title=f"Analysed {summary.days} local day(s): {summary.start:%Y-%m-%d %H:%M} .. {summary.end:%Y-%m-%d %H:%M} UTC, "
            f"factors {summary.factor_version}"
        )
        for column in (
            "building",
            "measured",
            "estimated",
            "missing",
            "spikes",
            "resets",
            "rollovers",
            "electricity kWh",
            "kgce",
            "CO₂ kg",
            "water m³",
            "points",
            "s",
        ):
            table.add_column(column, justify="left" if column == "building" else "right")
        for b in body["buildings"]:
            totals = b["totals"]  # the <cc>000 rows only: sub-item rows are parts of them

            def total(name: str, codes: list[str], totals: dict = totals) -> str:
                values = [totals[code][name] for code in codes if name in totals.get(code, {})]
                return f"{sum(values):,.1f}" if values else "-"

            table.add_row(
                b["building"],
                f"{b['intervals']['measured']:,}",
                f"{b['intervals']['estimated']:,}",
                f"{b['intervals']['missing']:,}",
                str(b["spikes"]),
                str(b["resets"]),
                str(b["rollovers"]),
                total("consumption", ["01"]),
                total("kgce", list(totals)),
                total("co2_kg", list(totals)),
                total("consumption", ["02"]),
                f"{b['points']:,}",
                f"{b['seconds']:.1f}",
            )
        yield table
        gaps = list(iter_gaps(summary))
        if gaps:
            shown = Table(title=f"Missing intervals (gaps over 2 h or without readings): {len(gaps)} run(s)")
            for column in ("building", "meter", "from (UTC)", "until (UTC)"):
                shown.add_column(column)
            for building, meter, start, end in gaps[:20]:
                shown.add_row(building, meter, start, end)
            yield shown
            if len(gaps) > 20:
                yield f"... {len(gaps) - 20} more (--format json lists them all)"
        if body["no_kgce_factor"]:
            err.print(
                f"no kgce factor for energy categories {', '.join(body['no_kgce_factor'])}: set energy_factors.kgce_per_unit in the "
                f"registry"
            )
        yield f"{body['points']:,} points written in {summary.seconds:.1f} s"

    emit(output, body, show)


def analyze(
    site_path: SiteOption = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Start: a date (local day of the site) or ISO datetime. Default: from the last analysed interval, else 2 days back.",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="End: a date (through the end of that local day) or ISO datetime. Default: the last complete interval.", show_default=False
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep analysing the recent past every --interval-min minutes until Ctrl-C / SIGTERM.")
    ] = False,
    interval_min: Annotated[
        float,
        typer.Option(
            "--interval-min",
            help="With --follow: minutes between runs. Each run raises the faults of the newest readings, so this is most of the "
            "time a vendor waits to be paged (a run of the example site takes under a second).",
            min=0.1,
        ),
    ] = 1.0,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="K/N: analyse only this worker's share of the buildings (a stable hash of each code), so N workers on N "
            "machines cover the site without overlap; each is idempotent.",
            show_default=False,
        ),
    ] = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Validated consumption: meter registers to energy_interval, meter_daily and energy_daily (kgce, CO₂).

    Rollover, meter replacement (never negative), gaps up to 2 h interpolated and flagged estimated,
    longer gaps missing and listed, spikes above rated power excluded. Whole local days are
    (re)computed; rerunning a period rewrites the same points with the same values."""
    from facmon.analytics.analyze import analyze as run_analysis
    from facmon.analytics.analyze import default_since, default_until
    from facmon.analytics.analyze import follow as follow_analysis

    own_shard = None if shard is None else parse_shard(shard)
    # a shard's worker validates only its own buildings: at city scale most of the registry's load time
    site = load_site_option(site_path, buildings=None if own_shard is None else own_shard.holds)
    buildings = None if own_shard is None else own_shard.of([b.code for b in site.buildings])
    store = open_store(resolve_endpoints())
    tz = site.site.tz
    if buildings == []:
        err.print(f"shard {shard} holds none of the site's {len(site.buildings)} buildings: nothing to analyse")
    if follow:
        if since is not None or until is not None:
            raise FacmonError("--follow analyses the recent past by itself; leave out --since and --until")
        err.print(f"analysing every {interval_min:g} min; Ctrl-C stops")

        def detect_after_cycle(summary: AnalysisSummary | None, error: BaseException | None) -> None:
            # detection reads up to now, not to the last complete 15-minute interval: a fault code or a
            # stopped elevator in the newest reading is raised in this cycle
            detect_faults_after(site, store, summary, until_s=int(time.time()))

        with stop_on_signals() as stop:
            follow_analysis(site, store, every_s=interval_min * 60, stop=stop, on_cycle=detect_after_cycle, buildings=buildings)
        return
    end = _analysis_time(until, "--until", tz, end_of_day=True) if until else default_until(site)
    start = _analysis_time(since, "--since", tz, end_of_day=False) if since else default_since(site, store, end, buildings)
    with Progress(
        TextColumn("analyse {task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("", total=len(site.buildings) if buildings is None else len(buildings))
        summary = run_analysis(
            site,
            store,
            start,
            end,
            buildings=buildings,
            progress=lambda code, done, total: progress.update(task, completed=done, description=code),
        )
    _print_analysis(summary, output)
    found = detect_faults_after(site, store, summary)
    if output is OutputFormat.TABLE and found is not None:
        out.print(
            f"fault detection: {sum(len(b.episodes) for b in found)} episode(s), {sum(b.points for b in found)} fault point(s) written"
        )
