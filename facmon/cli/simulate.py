"""`facmon simulate`: simulated buildings published live over MQTT or backfilled into InfluxDB."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from facmon.errors import FacmonError, InputError
from facmon.settings import facmon_home, open_store, resolve_endpoints, simulator_auth
from facmon.stop import stop_on_signals
from facmon.store import InfluxStore

if TYPE_CHECKING:
    from facmon.registry import Site
    from facmon.settings import Endpoints
    from facmon.simulators import SiteSimulator

from rich.console import RenderableType

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit, err

DEFAULT_BACKFILL_DAYS = 30.0


def _parse_time(text: str | None, option: str = "--start") -> datetime:
    """An ISO-8601 time with its UTC offset (now when None), in UTC."""
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not an ISO-8601 time such as 2026-06-01T00:00:00+08:00") from None
    if start.tzinfo is None:
        raise InputError(f"{option} {text!r} has no UTC offset; write e.g. {text}+08:00")
    return start.astimezone(UTC)


def backfill_window(first: str | None, until: str | None, days: float | None) -> tuple[datetime, datetime]:
    """[first, until) of a backfill from ``--from``, ``--until`` and ``--days`` (any two; or ``--days``
    alone, ending now; default 30 days ending now)."""
    if first is not None and until is not None:
        if days is not None:
            raise InputError("--from, --until and --days together: give two of them")
        window = _parse_time(first, "--from"), _parse_time(until, "--until")
    elif first is not None:
        start = _parse_time(first, "--from")
        window = start, start + timedelta(days=DEFAULT_BACKFILL_DAYS if days is None else days)
    else:
        end = _parse_time(until, "--until")
        window = end - timedelta(days=DEFAULT_BACKFILL_DAYS if days is None else days), end
    if window[1] <= window[0]:
        raise InputError(f"the backfill window {window[0]:%Y-%m-%d %H:%M} .. {window[1]:%Y-%m-%d %H:%M} UTC is empty")
    return window


def counts_table(title: str, columns: dict[str, Counter]) -> Table:
    table = Table(title=title)
    table.add_column("building")
    table.add_column("measurement")
    for name in columns:
        table.add_column(name, justify="right")
    keys = sorted({key for counter in columns.values() for key in counter}, key=lambda k: (k[1], k[0]))
    for measurement, building in keys:
        table.add_row(building, measurement, *(f"{counter.get((measurement, building), 0):,}" for counter in columns.values()))
    return table


def counts_json(counts: Counter) -> dict[str, dict[str, int]]:
    """{measurement: {building: count}} for --format json."""
    nested: dict[str, dict[str, int]] = {}
    for (measurement, building), n in sorted(counts.items()):
        nested.setdefault(measurement, {})[building] = n
    return nested


def run_backfill(simulator: SiteSimulator, store: InfluxStore, start: datetime, end: datetime) -> Counter:
    """Backfill [start, end) with a progress bar on stderr; returns points per (measurement, building)."""
    from facmon.simulators import backfill

    with Progress(TextColumn("backfill"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=err) as progress:
        task = progress.add_task("backfill", total=None)
        # progress reports simulated seconds done and in total
        return backfill(
            simulator, store, start, end, progress=lambda done_s, total_s: progress.update(task, completed=done_s, total=total_s)
        )


def _simulator(site: Site, seed: int, faults: list) -> SiteSimulator:
    """The simulator continuing the registers of FACMON_HOME's state file (and saying so when it continues
    them under another fault scenario); a state it cannot continue is refused with the way out."""
    from facmon.simulators import SiteSimulator

    simulator = SiteSimulator(site, seed=seed, state_path=facmon_home() / "simulator-state.json", faults=faults)
    if simulator.state_note:
        err.print(f"note: {simulator.state_note}", highlight=False, markup=False)
    return simulator


def _live_truth_sink(endpoints: Endpoints) -> Callable[[list[str]], None] | None:
    """Where a live run writes sim_truth as faults start and end: straight to InfluxDB when it answers, else nowhere (said once)."""
    store = open_store(endpoints)
    if not store.ping():
        err.print(f"note: InfluxDB at {store.url} does not answer; sim_truth is not recorded (use --labels-out)", highlight=False)
        return None
    store.create_database()

    def write(lines: list[str]) -> None:
        try:
            store.write(lines)
        except FacmonError as exc:  # a live run goes on; the labels file still has the truth
            err.print(f"note: sim_truth not written: {exc}", highlight=False)

    return write


def simulate(
    site_path: SiteOption = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same readings.")] = 0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall-clock second.", min=0.001)] = 1.0,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many wall-clock seconds (default: run until Ctrl-C).", show_default=False)
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="Simulated start time, ISO-8601 with offset "
            "(default: now; faster than real time with --duration: so that the run ends now).",
            show_default=False,
        ),
    ] = None,
    gateway_batches: Annotated[
        bool, typer.Option("--gateway-batches", help="Publish one batch per building and step on <prefix>/<building>/_batch.")
    ] = False,
    backfill: Annotated[bool, typer.Option("--backfill", help="Write history straight to InfluxDB instead of publishing.")] = False,
    first: Annotated[
        str | None,
        typer.Option("--from", help="With --backfill: the first moment of the window, ISO-8601 with offset.", show_default=False),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", "--end", help="With --backfill: the end of the window (not included); default now.", show_default=False),
    ] = None,
    days: Annotated[
        float | None,
        typer.Option(help=f"With --backfill: days of history from --from, or up to --until (default {DEFAULT_BACKFILL_DAYS:g}).", min=0.0),
    ] = None,
    faults_path: Annotated[
        Path | None,
        typer.Option(
            "--faults",
            help="Fault scenario YAML (e.g. examples/faults-month.yaml): inject its faults, record them as sim_truth.",
            show_default=False,
        ),
    ] = None,
    labels_out: Annotated[
        Path | None,
        typer.Option(
            "--labels-out",
            help="With --faults: write the injected faults of the simulated period to this JSON labels file.",
            show_default=False,
        ),
    ] = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Simulate the site's buildings: publish readings over MQTT live, or backfill history into InfluxDB."""
    from facmon.simulators import publish
    from facmon.simulators.faults import labels, load_faults, truth_line, truth_points, write_labels

    site = load_site_option(site_path)
    if labels_out is not None and faults_path is None:
        raise FacmonError("--labels-out needs --faults FILE: the labels are the injected faults")
    faults = load_faults(faults_path, site) if faults_path is not None else []
    endpoints = resolve_endpoints()
    if backfill and start is not None:
        raise InputError(
            "--start with --backfill is no longer taken (it named the end of the window, which read wrong): "
            "give the first moment with --from, or the end with --until, and the length with --days"
        )
    if not backfill and (first is not None or until is not None or days is not None):
        raise InputError("--from, --until and --days shape a --backfill window; a live run starts at --start")
    at = _parse_time(start)
    if start is None and not backfill and speed > 1:
        if duration is not None:
            # Faster than real time from "now" would stamp readings in the future, which the collector
            # rejects as implausible: start in the past so the run ends at about now.
            at -= timedelta(seconds=duration * speed)
        else:
            err.print(
                f"note: at {speed:g}x with no --duration the readings run ahead of the clock; the collector rejects "
                f"readings more than {site.collection.max_future_s} s in the future. Give --duration or --start.",
                highlight=False,
            )
    if backfill:
        store = open_store(endpoints)
        store.create_database()
        simulator = _simulator(site, seed, faults)
        window_start, window_end = backfill_window(first, until, days)
        began = time.monotonic()
        counts = run_backfill(simulator, store, window_start, window_end)
        elapsed = time.monotonic() - began
        simulator.save_state()
        if faults:
            window_s = (int(window_start.timestamp()), int(window_end.timestamp()))
            truth = truth_points(faults, *window_s)
            if truth:
                store.write([truth_line(fault, ts_s, active) for fault, ts_s, active in truth])
            counts.update(("sim_truth", fault.building) for fault, _, _ in truth)
            if labels_out is not None:
                write_labels(labels_out, labels(faults, *window_s, seed=seed, scenario=str(faults_path)))

        def show() -> Iterator[RenderableType]:
            length_days = (window_end - window_start).total_seconds() / 86400
            yield counts_table(
                f"Backfilled {length_days:g} days, {window_start:%Y-%m-%d %H:%M} .. {window_end:%Y-%m-%d %H:%M} UTC", {"points": counts}
            )
            total = sum(counts.values())
            yield f"{total:,} points in {elapsed:.1f} s ({total / max(elapsed, 1e-9):,.0f} points/s)"

        emit(
            output,
            {
                "backfilled": counts_json(counts),
                "start": window_start.isoformat(),
                "end": window_end.isoformat(),
                "seconds": round(elapsed, 3),
            },
            show,
        )
        return

    simulator = _simulator(site, seed, faults)
    if simulator.fault_injector is not None:
        simulator.fault_injector.truth_sink = _live_truth_sink(endpoints)
    err.print(
        f"publishing to mqtt://{endpoints.mqtt_host}:{endpoints.mqtt_port} under {site.mqtt.topic_prefix}/ "
        f"at {speed:g}x from {at:%Y-%m-%d %H:%M:%S} UTC; Ctrl-C stops"
    )
    with stop_on_signals() as stop:  # Ctrl-C and SIGTERM end the run normally: the counts are printed and the registers saved
        counts = publish(
            simulator,
            endpoints.mqtt_host,
            endpoints.mqtt_port,
            at,
            duration if duration is not None else float("inf"),
            speed,
            topic_prefix=site.mqtt.topic_prefix,
            gateway_batches=gateway_batches,
            stop=stop,
            auth=simulator_auth(site),
        )
    simulator.save_state()
    if labels_out is not None and simulator.position is not None:
        write_labels(
            labels_out, labels(faults, int(at.timestamp()), int(simulator.position.timestamp()), seed=seed, scenario=str(faults_path))
        )

    def show_published() -> Iterator[RenderableType]:
        yield counts_table("Published readings (acknowledged by the broker)", {"published": counts})

    emit(output, {"published": counts_json(counts), "start": at.isoformat()}, show_published)
