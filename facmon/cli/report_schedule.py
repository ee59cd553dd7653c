"""`facmon report schedule|deliver|follow`: reports sent to officers on a set day (registry ``report_delivery``).

A delivery renders the report as `facmon report energy|vendors|statistics` does, publishes the file where `facmon serve`
serves it (the link DingTalk groups get), sends it to every channel of the schedule with retries, and records
each channel's outcome in the ledger (``FACMON_HOME/reports/ledger.jsonl``), so a restarted follower sends what
is missing and nothing twice.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.table import Table

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit, err
from facmon.cli.report import render_report, report_app
from facmon.errors import FacmonError, InputError
from facmon.registry import Site
from facmon.registry.report_delivery import Schedule
from facmon.reports.delivery import DeliveryResult, Report, channels, deliver
from facmon.reports.labels import text
from facmon.reports.schedule import Ledger, covered_period, due, last_run, next_run, publish
from facmon.settings import facmon_home
from facmon.stop import StopRequest, stop_on_signals

log = logging.getLogger("facmon.reports.delivery")

_TITLES = {"energy": "energy_report", "vendors": "vendor_report", "statistics": "statistics_return"}


def _schedule(site: Site, schedule_id: str) -> Schedule:
    schedule = site.report_delivery.schedule(schedule_id)
    if schedule is None:
        known = ", ".join(s.id for s in site.report_delivery.schedules) or "none: the registry has no report_delivery schedules"
        raise InputError(f"no schedule {schedule_id!r}; known: {known}")
    return schedule


def run_delivery(
    site: Site,
    schedule: Schedule,
    period: str,
    only: tuple[str, ...] | None = None,
    home: Path | None = None,
    now: datetime | None = None,
    sleep: Callable[[float], object] = time.sleep,
) -> list[DeliveryResult]:
    """Render ``schedule``'s report for ``period``, publish it, send it to its channels (``only`` those, if
    given) and record each outcome in the ledger, as of ``now`` (default: the clock). A failed channel never
    stops the next one."""
    home = home or facmon_home()
    delivery = site.report_delivery
    with tempfile.TemporaryDirectory(prefix="facmon-report-") as folder:
        out = Path(folder) / f"{schedule.report.value}-{period}.{schedule.format}"
        rendered = render_report(schedule.report.value, site, period, schedule.format, schedule.lang, out)
        published = publish(rendered.path, home)
    report = Report(
        file=published.path,
        site=site.site.name,
        title=text(_TITLES[schedule.report.value], schedule.lang),
        period=period,
        lang=schedule.lang,
        link=published.url(site.work_orders.public_url),
    )
    ledger = Ledger.under(home)
    results = []
    for channel in channels(delivery, schedule):
        if only is not None and channel.name not in only:
            continue
        result = deliver(report, channel, attempts=delivery.attempts, delay_s=delivery.retry_delay_s, sleep=sleep)
        ledger.record(schedule.id, period, result.channel, result.ok, result.attempts, result.detail, str(published.path), at=now)
        results.append(result)
    return results


@report_app.command("schedule")
def schedule_list(site_path: SiteOption = None, output: FormatOption = OutputFormat.TABLE) -> None:
    """The delivery schedules (registry report_delivery): what goes to whom, when each runs next and the period it
    will cover, and the ledger's latest results."""
    site = load_site_option(site_path)
    now = datetime.now(site.site.tz)
    rows = []
    for schedule in site.report_delivery.schedules:
        upcoming = next_run(schedule, now)
        rows.append(
            {
                "id": schedule.id,
                "report": schedule.report.value,
                "period": schedule.period.value,
                "format": schedule.format,
                "lang": schedule.lang,
                "runs": f"day {schedule.day_of_month} at {schedule.time}",
                "next_run": upcoming.isoformat(),
                "next_period": covered_period(schedule.period, upcoming.date()),
                "channels": schedule.channels,
            }
        )
    recent = Ledger.under(facmon_home()).entries()[-20:]
    payload = {"schedules": rows, "ledger": [vars(entry) for entry in recent]}

    channels_of = {schedule.id: schedule.channels for schedule in site.report_delivery.schedules}

    def show() -> list[RenderableType]:
        if not rows:
            return ["no schedules: add a report_delivery section to the registry (docs/reports.md, Delivery on a schedule)"]
        table = Table("schedule", "report", "format", "runs", "next run", "covers", "channels", title="report delivery")
        for row in rows:
            table.add_row(
                str(row["id"]),
                f"{row['report']} ({row['period']})",
                f"{row['format']} {row['lang']}",
                str(row["runs"]),
                str(row["next_run"])[:16].replace("T", " "),
                str(row["next_period"]),
                ", ".join(channels_of[str(row["id"])]),
            )
        shown: list[RenderableType] = [table]
        if recent:
            ledger = Table("at (UTC)", "schedule", "period", "channel", "result", "tries", "detail", title="latest deliveries")
            for entry in recent:
                ledger.add_row(
                    entry.at[:16].replace("T", " "),
                    entry.schedule,
                    entry.period,
                    entry.channel,
                    "delivered" if entry.ok else "[red]failed[/red]",
                    str(entry.attempts),
                    entry.detail,
                )
            shown.append(ledger)
        return shown

    emit(output, payload, show)


@report_app.command("deliver")
def deliver_now(
    schedule_id: Annotated[str, typer.Argument(help="The schedule's id (facmon report schedule lists them).")],
    period: Annotated[
        str | None,
        typer.Option("--period", help="The period to send, e.g. 2026-11. Default: the one its latest run covers.", show_default=False),
    ] = None,
    site_path: SiteOption = None,
) -> None:
    """Render a schedule's report now and send it to all its channels (with retries), whatever the ledger says;
    each outcome goes into the ledger. Exits non-zero when a channel failed."""
    site = load_site_option(site_path)
    schedule = _schedule(site, schedule_id)
    if period is not None:  # the label the ledger, the file and the message carry: "current" resolved, "2026-q3" spelled out
        from facmon.analytics.indicators import resolve_period
        from facmon.cli.score import local_today

        period = resolve_period(period, local_today(site)).label
    chosen = period or covered_period(schedule.period, last_run(schedule, datetime.now(site.site.tz)).date())
    results = run_delivery(site, schedule, chosen)
    for result in results:
        err.print(
            f"{result.channel}: {'delivered' if result.ok else 'FAILED'} ({result.attempts} tries): {result.detail}",
            markup=False,
            highlight=False,
        )
    failed = [r.channel for r in results if not r.ok]
    if failed:
        raise FacmonError(
            f"{schedule.id} {chosen} was not delivered to {', '.join(failed)}",
            hint="the ledger and the log say why; `facmon report follow` tries again later",
        )


def follow_once(site: Site, now: datetime, home: Path, stop: StopRequest | None = None) -> list[DeliveryResult]:
    """One wake-up of the follower: send what is due at ``now``. A schedule whose report cannot be rendered is
    logged at ERROR, recorded as failed for its channels, and tried again after ``retry_failed_after_min``."""
    ledger = Ledger.under(home)
    results: list[DeliveryResult] = []
    # a stop request cuts the waits between tries short and leaves before the next schedule
    sleep: Callable[[float], object] = stop.wait if stop is not None else time.sleep
    for item in due(site.report_delivery, now, ledger.entries()):
        if stop is not None and stop.is_set():
            break
        try:
            results += run_delivery(site, item.schedule, item.period, only=item.channels, home=home, now=now, sleep=sleep)
        except Exception as exc:  # one schedule's failure (no data, a full disk) must not stop the others
            log.error("%s %s: the report could not be made: %s: %s", item.schedule.id, item.period, type(exc).__name__, exc)
            why = f"not rendered: {type(exc).__name__}: {exc}"[:300]
            for channel in item.channels:
                ledger.record(item.schedule.id, item.period, channel, False, 0, why, at=now)
                results.append(DeliveryResult(channel, False, 0, why))
    return results


def follow_loop(site: Site, stop: StopRequest, home: Path, *, every_s: float = 60.0) -> None:
    """Wake every ``every_s`` seconds (on the minute) and send what is due, until ``stop`` is set."""
    while not stop.is_set():
        try:
            follow_once(site, datetime.now(site.site.tz), home, stop)
        except Exception:  # e.g. an unreadable ledger folder: log it, keep going, try again next minute
            log.exception("report delivery: this wake-up failed; trying again in %gs", every_s)
        now = datetime.now(site.site.tz)
        next_minute = (now + timedelta(seconds=every_s)).replace(second=0, microsecond=0)
        stop.wait(max(1.0, (next_minute - now).total_seconds()))


@report_app.command("follow")
def follow(
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Send what is due now, then exit (for a timer: deploy/systemd's facmon-reports.timer); exit status 1 "
            "when a delivery failed.",
        ),
    ] = False,
    site_path: SiteOption = None,
) -> None:
    """Keep running: every minute, render and send the reports that are due (registry report_delivery), retry a
    failed channel later, and never send twice what the ledger says was delivered. Stops on SIGTERM or Ctrl-C."""
    site = load_site_option(site_path)
    if not site.report_delivery.schedules:
        raise InputError("the registry has no report_delivery schedules; nothing to follow")
    if once:
        with stop_on_signals() as stop:
            results = follow_once(site, datetime.now(site.site.tz), facmon_home(), stop)
        failed = [f"{r.channel}" for r in results if not r.ok]
        err.print(f"{len(results)} delivery(ies) tried, {len(failed)} failed", highlight=False)
        if failed:
            raise typer.Exit(1)
        return
    err.print(f"following {len(site.report_delivery.schedules)} delivery schedule(s); Ctrl-C stops", highlight=False)
    with stop_on_signals() as stop:
        follow_loop(site, stop, facmon_home())
    err.print(f"stopped: {stop.reason or 'done'}", highlight=False)
