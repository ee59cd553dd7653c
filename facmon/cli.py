"""The `facmon` command line: wires the registry, the local stack, the simulator and the collector.

This is the only module that imports the parts (ingest, simulators, ...); they meet nowhere else
but in InfluxDB.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from facmon.errors import FacmonError
from facmon.ingest.collector import DEFAULT_RECEIVE_MAXIMUM, SHUTDOWN_TIMEOUT_S
from facmon.registry import Site, load_site
from facmon.settings import default_site_path, facmon_home, mqtt_auth, open_store, resolve_endpoints, simulator_auth
from facmon.stack import Stack
from facmon.stop import stop_on_signals
from facmon.store import InfluxStore, StoreUnavailable

if TYPE_CHECKING:
    from facmon.analytics.energy_score import EnergyScorecard
    from facmon.settings import Endpoints
    from facmon.simulators import SiteSimulator

app = typer.Typer(
    help="facmon: measured energy saving and maintenance quality for public-institution office buildings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
site_app = typer.Typer(help="Validate and summarise the site registry.", no_args_is_help=True)
stack_app = typer.Typer(help="Run the local Mosquitto + InfluxDB stack under FACMON_HOME.", no_args_is_help=True)
mqtt_app = typer.Typer(help="Broker users and access control, generated from the site registry.", no_args_is_help=True)
app.add_typer(site_app, name="site")
app.add_typer(stack_app, name="stack")
app.add_typer(mqtt_app, name="mqtt")

# Piped output (CI logs, `| less`) gets room for the tables instead of rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


SiteOption = Annotated[
    Path | None,
    typer.Option(
        "--site",
        envvar="FACMON_SITE",
        help="Site registry YAML (default: $FACMON_SITE, else examples/county-offices.yaml).",
        show_default=False,
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table for people, json for programs.")]


def _load(site_path: Path | None) -> Site:
    return load_site(site_path or default_site_path())


# -- site ---------------------------------------------------------------------------------------


def _site_summary(site: Site) -> dict:
    buildings = []
    for b in site.buildings:
        meters_by_energy = Counter(m.energy for m in b.meters)
        buildings.append(
            {
                "code": b.code,
                "name": b.name,
                "floor_area_m2": b.floor_area_m2,
                "energy_users": b.energy_users,
                "class": f"{b.office_class.value}/{b.office_use.value}",
                "meters": len(b.meters),
                "meters_by_energy": dict(sorted(meters_by_energy.items())),
                "ieq_sensors": len(b.ieq_sensors),
                "weather_sensors": len(b.weather_sensors),
                "equipment": len(b.equipment),
            }
        )
    vendors = [
        {
            "id": v.id,
            "name": v.name,
            "systems": sorted({s.value for c in site.coverage if c.vendor == v.id for s in c.systems}),
            "equipment": sum(1 for b in site.buildings for e in b.equipment if site.equipment_vendor(b.code, e) == v.id),
            "sla_critical_restore_min": v.sla["critical"].restore_min,
        }
        for v in site.vendors
    ]
    return {"site": site.site.name, "climate_zone": site.site.climate_zone.value, "buildings": buildings, "vendors": vendors}


@site_app.command("check")
def site_check(
    file: Annotated[
        Path | None, typer.Argument(help="Registry file; else --site / $FACMON_SITE / the example.", show_default=False)
    ] = None,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Validate a site registry and print a summary of its buildings and vendors."""
    path = file or site_path or default_site_path()
    site = load_site(path)
    summary = _site_summary(site)
    if output is OutputFormat.JSON:
        out.print_json(json.dumps({"file": str(path), "valid": True, **summary}, ensure_ascii=False))
        return
    table = Table(title=f"{site.site.name} ({site.site.climate_zone.value}, {site.site.timezone}) — {path}")
    for column in ("building", "name", "area m²", "users", "class", "meters (by energy code)", "IEQ", "weather", "equipment"):
        table.add_column(column, justify="right" if column in ("area m²", "users", "IEQ", "weather", "equipment") else "left")
    for b in summary["buildings"]:
        by_energy = ", ".join(f"{code}×{n}" for code, n in b["meters_by_energy"].items())
        table.add_row(
            b["code"],
            b["name"],
            f"{b['floor_area_m2']:,.0f}",
            str(b["energy_users"]),
            b["class"],
            f"{b['meters']} ({by_energy})",
            str(b["ieq_sensors"]),
            str(b["weather_sensors"]),
            str(b["equipment"]),
        )
    out.print(table)
    vendors = Table(title="Vendors")
    for column in ("vendor", "name", "systems covered", "equipment", "critical restore min"):
        vendors.add_column(column)
    for v in summary["vendors"]:
        vendors.add_row(v["id"], v["name"], ", ".join(v["systems"]), str(v["equipment"]), f"{v['sla_critical_restore_min']:g}")
    out.print(vendors)
    out.print(f"[green]valid[/green]: {len(site.buildings)} buildings, {len(site.vendors)} vendors")


# -- stack --------------------------------------------------------------------------------------

MqttPortOption = Annotated[
    int | None, typer.Option("--mqtt-port", envvar="FACMON_MQTT_PORT", help="Mosquitto port (default: 11883).", show_default=False)
]
InfluxPortOption = Annotated[int | None, typer.Option("--influx-port", help="InfluxDB HTTP port (default: 18086).", show_default=False)]
InfluxRpcPortOption = Annotated[
    int | None, typer.Option("--influx-rpc-port", help="InfluxDB backup/restore RPC port (default: 18088).", show_default=False)
]


def _print_stack(status: dict, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        out.print_json(json.dumps(status))
        return
    table = Table(title=f"facmon stack in {status['home']}")
    for column in ("service", "host", "port", "pid", "state", "security"):
        table.add_column(column)
    for name, service in status["services"].items():
        state = "[green]running[/green]" if service["running"] else "[red]stopped[/red]"
        label = f"{name} (database {service['database']})" if "database" in service else name
        security = ""
        if name == "mosquitto":
            security = ("auth on" if service.get("auth") else "anonymous") + (", TLS" if service.get("tls") else "")
        table.add_row(label, service["host"], str(service["port"]), str(service["pid"] or "-"), state, security)
    out.print(table)


@stack_app.command("up")
def stack_up(
    mqtt_port: MqttPortOption = None,
    influx_port: InfluxPortOption = None,
    influx_rpc_port: InfluxRpcPortOption = None,
    auth: Annotated[
        bool | None,
        typer.Option(
            "--auth/--no-auth",
            help="Refuse anonymous MQTT clients; apply the password file and ACL made from the registry "
            "(generated into FACMON_HOME/mqtt when missing). Default: as the stack was last started.",
            show_default=False,
        ),
    ] = None,
    tls: Annotated[
        bool | None,
        typer.Option(
            "--tls/--no-tls",
            help="MQTT over TLS with a local CA (FACMON_HOME/mqtt/tls/ca.crt). Default: as last started.",
            show_default=False,
        ),
    ] = None,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Start Mosquitto and InfluxDB on loopback (harmless when they already run)."""
    stack = Stack(facmon_home(), mqtt_port=mqtt_port, influx_port=influx_port, influx_rpc_port=influx_rpc_port)
    if auth or (auth is None and stack.mqtt_security()["auth"]):
        # keeps existing passwords; adds and removes gateways as the registry changed
        from facmon.broker_auth import write_broker_files

        write_broker_files(_load(site_path), stack.mqtt_auth_folder)
    _print_stack(stack.up(auth=auth, tls=tls), output)


@stack_app.command("down")
def stack_down() -> None:
    """Stop exactly the servers `facmon stack up` started."""
    stopped = Stack(facmon_home()).down()
    out.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@stack_app.command("status")
def stack_status(output: FormatOption = OutputFormat.TABLE) -> None:
    """Show each service with host, port and PID, and the InfluxDB database name."""
    _print_stack(Stack(facmon_home()).status(), output)


# -- mqtt ---------------------------------------------------------------------------------------


@mqtt_app.command("credentials")
def mqtt_credentials(
    site_path: SiteOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for passwd, acl and credentials.json (default: FACMON_HOME/mqtt).", show_default=False),
    ] = None,
    rotate: Annotated[bool, typer.Option("--rotate", help="New passwords for every user (default: keep existing ones).")] = False,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Write the broker's password file and ACL from the registry, and print users and topics (never passwords).

    Each building's gateway (gw-<building>) may publish under <prefix>/<building>/ only; the collector
    (facmon-ingest) may read everything under <prefix>/. Passwords are random and kept in
    credentials.json (mode 0600), which the collector and the simulator read; a running
    `facmon stack up --auth` broker picks up changes on the next `facmon stack up`."""
    from facmon.broker_auth import write_broker_files

    site = _load(site_path)
    folder = out_dir or Stack(facmon_home()).mqtt_auth_folder
    written = write_broker_files(site, folder, rotate=rotate)
    if output is OutputFormat.JSON:
        body = {
            "folder": str(folder),
            "rotated": rotate,
            "users": [
                {"user": g.user, "role": g.role, "building": g.building, "publish": list(g.publish), "read": list(g.read)} for g in written
            ],
        }
        out.print_json(json.dumps(body))
        return
    table = Table(title=f"MQTT users in {folder} (passwords in credentials.json, mode 0600)")
    for column in ("user", "role", "may publish", "may read"):
        table.add_column(column)
    for g in written:
        table.add_row(g.user, g.role + (f" {g.building}" if g.building else ""), "\n".join(g.publish) or "-", "\n".join(g.read) or "-")
    out.print(table)
    out.print(f"{'new passwords for all users' if rotate else 'existing passwords kept'}; anonymous clients may do nothing")


# -- simulate -----------------------------------------------------------------------------------


def _parse_start(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise FacmonError(f"--start {text!r} is not an ISO-8601 time such as 2026-06-01T00:00:00+08:00") from None
    if start.tzinfo is None:
        raise FacmonError(f"--start {text!r} has no UTC offset; write e.g. {text}+08:00")
    return start.astimezone(UTC)


def _counts_table(title: str, columns: dict[str, Counter]) -> Table:
    table = Table(title=title)
    table.add_column("building")
    table.add_column("measurement")
    for name in columns:
        table.add_column(name, justify="right")
    keys = sorted({key for counter in columns.values() for key in counter}, key=lambda k: (k[1], k[0]))
    for measurement, building in keys:
        table.add_row(building, measurement, *(f"{counter.get((measurement, building), 0):,}" for counter in columns.values()))
    return table


def _counts_json(counts: Counter) -> dict[str, dict[str, int]]:
    """{measurement: {building: count}} for --format json."""
    nested: dict[str, dict[str, int]] = {}
    for (measurement, building), n in sorted(counts.items()):
        nested.setdefault(measurement, {})[building] = n
    return nested


def _run_backfill(simulator: SiteSimulator, store: InfluxStore, start: datetime, end: datetime) -> Counter:
    """Backfill [start, end) with a progress bar on stderr; returns points per (measurement, building)."""
    from facmon.simulators import backfill

    with Progress(TextColumn("backfill"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=err) as progress:
        task = progress.add_task("backfill", total=None)
        # progress reports simulated seconds done and in total
        return backfill(
            simulator, store, start, end, progress=lambda done_s, total_s: progress.update(task, completed=done_s, total=total_s)
        )


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


@app.command()
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
            help="Simulated start time, ISO-8601 with offset (default: now; faster than real time with --duration: so that the run ends now).",
            show_default=False,
        ),
    ] = None,
    gateway_batches: Annotated[
        bool, typer.Option("--gateway-batches", help="Publish one batch per building and step on <prefix>/<building>/_batch.")
    ] = False,
    backfill: Annotated[bool, typer.Option("--backfill", help="Write history straight to InfluxDB instead of publishing.")] = False,
    days: Annotated[float, typer.Option(help="With --backfill: days of history ending at --start (default now).", min=0.0)] = 30.0,
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
    from facmon.simulators import SiteSimulator, publish
    from facmon.simulators.faults import labels, load_faults, truth_line, truth_points, write_labels

    site = _load(site_path)
    if labels_out is not None and faults_path is None:
        raise FacmonError("--labels-out needs --faults FILE: the labels are the injected faults")
    faults = load_faults(faults_path, site) if faults_path is not None else []
    endpoints = resolve_endpoints()
    at = _parse_start(start)
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
        simulator = SiteSimulator(site, seed=seed, state_path=facmon_home() / "simulator-state.json", faults=faults)
        began = time.monotonic()
        counts = _run_backfill(simulator, store, at - timedelta(days=days), at)
        elapsed = time.monotonic() - began
        simulator.save_state()
        if faults:
            window_s = (int((at - timedelta(days=days)).timestamp()), int(at.timestamp()))
            truth = truth_points(faults, *window_s)
            if truth:
                store.write([truth_line(fault, ts_s, active) for fault, ts_s, active in truth])
            counts.update(("sim_truth", fault.building) for fault, _, _ in truth)
            if labels_out is not None:
                write_labels(labels_out, labels(faults, *window_s, seed=seed, scenario=str(faults_path)))
        if output is OutputFormat.JSON:
            out.print_json(
                json.dumps(
                    {
                        "backfilled": _counts_json(counts),
                        "start": (at - timedelta(days=days)).isoformat(),
                        "end": at.isoformat(),
                        "seconds": round(elapsed, 3),
                    }
                )
            )
            return
        out.print(_counts_table(f"Backfilled {days:g} days ending {at:%Y-%m-%d %H:%M} UTC", {"points": counts}))
        total = sum(counts.values())
        out.print(f"{total:,} points in {elapsed:.1f} s ({total / max(elapsed, 1e-9):,.0f} points/s)")
        return

    simulator = SiteSimulator(site, seed=seed, state_path=facmon_home() / "simulator-state.json", faults=faults)
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
    if output is OutputFormat.JSON:
        out.print_json(json.dumps({"published": _counts_json(counts), "start": at.isoformat()}))
        return
    out.print(_counts_table("Published readings (acknowledged by the broker)", {"published": counts}))


# -- ingest -------------------------------------------------------------------------------------

ingest_app = typer.Typer(help="Collect readings from MQTT into InfluxDB; `facmon ingest status` shows how collectors fare.")
app.add_typer(ingest_app, name="ingest")


@ingest_app.callback(invoke_without_command=True)
def ingest(
    ctx: typer.Context,
    site_path: SiteOption = None,
    client_id: Annotated[
        str,
        typer.Option(help="MQTT client id; the broker keeps this id's session and queue while it is down. Give every collector its own."),
    ] = "facmon-ingest",
    batch_lines: Annotated[int, typer.Option(help="Write to InfluxDB when this many lines are waiting.", min=1)] = 5000,
    flush_interval: Annotated[float, typer.Option(help="...or when the oldest waiting line is this many seconds old.", min=0.01)] = 1.0,
    stats_interval: Annotated[float, typer.Option(help="Seconds between the collector's own ingest_stats points.", min=0.1)] = 10.0,
    shared: Annotated[
        str | None,
        typer.Option(
            "--shared",
            metavar="GROUP",
            help="Share the stream with the other collectors of GROUP ($share/GROUP/...); each needs its own --client-id.",
            show_default=False,
        ),
    ] = None,
    spool_max_mb: Annotated[
        float, typer.Option(help="Size limit of the on-disk spool used while InfluxDB is away, MB; 0 turns spooling off.", min=0.0)
    ] = 1024.0,
    spool_dir: Annotated[
        Path | None, typer.Option(help="Spool folder (default: FACMON_HOME/spool/<client id>).", show_default=False)
    ] = None,
    receive_maximum: Annotated[
        int,
        typer.Option(
            help="Unacknowledged messages the broker may send at once (MQTT v5 Receive Maximum); bounds memory.", min=1, max=65535
        ),
    ] = DEFAULT_RECEIVE_MAXIMUM,
    stop_timeout: Annotated[
        float,
        typer.Option(help="On SIGTERM / Ctrl-C: seconds to keep trying to store what is held before leaving it to the broker.", min=0.0),
    ] = SHUTDOWN_TIMEOUT_S,
) -> None:
    """Collect readings from MQTT into InfluxDB until SIGTERM or Ctrl-C (then flush, ack and exit).

    While InfluxDB is unreachable, batches go to an on-disk spool and are acknowledged; they are
    replayed in order once it answers. When the spool is full nothing more is acknowledged and the
    broker keeps the backlog. After SIGTERM or SIGINT it exits within --stop-timeout plus the InfluxDB
    request timeout plus 12 s (72 s with the defaults), usually in well under a second."""
    if ctx.invoked_subcommand is not None:
        return
    from facmon.ingest import Collector, run_until_signalled

    if shared is not None and (not shared or any(ch in shared for ch in "/+#")):
        raise FacmonError(f"--shared {shared!r}: a group name must not be empty or contain '/', '+' or '#'")
    site = _load(site_path)
    endpoints = resolve_endpoints()
    store = open_store(endpoints)
    spool_folder = None
    if spool_max_mb > 0:
        spool_folder = spool_dir or facmon_home() / "spool" / client_id
    try:
        store.create_database()
    except StoreUnavailable as exc:
        # A collector must be able to start during an outage: it spools (or, without a spool, leaves the
        # backlog with the broker) and creates the database when InfluxDB answers.
        where = f"spooling to {spool_folder}" if spool_folder else "holding acknowledgements, so the broker keeps the backlog"
        err.print(f"warning: {exc}; starting anyway, {where} until it answers", highlight=False)
    collector = Collector(
        site,
        store,
        mqtt_host=endpoints.mqtt_host,
        mqtt_port=endpoints.mqtt_port,
        client_id=client_id,
        batch_lines=batch_lines,
        flush_interval_s=flush_interval,
        stats_interval_s=stats_interval,
        auth=mqtt_auth(),
        shared_group=shared,
        spool_dir=spool_folder,
        spool_max_bytes=max(1, int(spool_max_mb * 1024 * 1024)),
        receive_maximum=receive_maximum,
        shutdown_timeout_s=stop_timeout,
    )
    raise typer.Exit(run_until_signalled(collector))


# Columns of `facmon ingest status`, in order: ingest_stats field, heading.
_STATUS_COLUMNS = (
    ("received", "received"),
    ("written", "written"),
    ("rejected", "rejected"),
    ("spooled", "spooled"),
    ("spool_bytes", "spool MB"),
    ("spool_full", "spool full"),
    ("broker_dropped", "broker dropped"),
    ("lag", "lag s"),
)


def ingest_status_rows(store: InfluxStore, now: datetime | None = None) -> list[dict]:
    """The newest ingest_stats point of every collector, with ``age_s`` (seconds since it was written)."""
    now = now or datetime.now(UTC)
    rows = []
    for series in store.query('SELECT * FROM "ingest_stats" GROUP BY "collector" ORDER BY time DESC LIMIT 1', epoch="ms"):
        point = dict(zip(series["columns"], series["values"][0]))
        stamp = point.pop("time") / 1000
        fields = {name: value for name, value in point.items() if value is not None and name != "collector"}
        rows.append(
            {
                "collector": series.get("tags", {}).get("collector", ""),
                "time": datetime.fromtimestamp(stamp, UTC).isoformat(),
                "age_s": round(now.timestamp() - stamp, 1),
                **fields,
            }
        )
    return sorted(rows, key=lambda row: row["collector"])


@ingest_app.command("status")
def ingest_status(output: FormatOption = OutputFormat.TABLE) -> None:
    """Show each collector's latest ingest_stats: counts, spool, rejections by reason, broker drops, lag, age."""
    endpoints = resolve_endpoints()
    store = open_store(endpoints)
    rows = ingest_status_rows(store)
    if output is OutputFormat.JSON:
        out.print_json(json.dumps({"database": store.database, "collectors": rows}))
    if not rows:
        err.print(
            f"no collector has reported yet: database {store.database!r} at {endpoints.influx_url} holds no ingest_stats "
            "(is `facmon ingest` running against it?)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    if output is OutputFormat.JSON:
        return
    table = Table(title=f"Collectors reporting to {store.database!r} at {endpoints.influx_url}")
    table.add_column("collector")
    table.add_column("age s", justify="right")
    for _, heading in _STATUS_COLUMNS:
        table.add_column(heading, justify="right")
    table.add_column("rejected by reason")
    for row in rows:
        cells = []
        for name, _ in _STATUS_COLUMNS:
            value = row.get(name)
            if value is None:
                cells.append("-")
            elif name == "spool_bytes":
                cells.append(f"{value / 1e6:,.1f}")
            elif name == "spool_full":
                cells.append("[red]FULL[/red]" if value else "no")
            elif name == "lag":
                cells.append(f"{value:,.1f}")
            else:
                cells.append(f"{value:,.0f}")
        reasons = ", ".join(
            f"{name.removeprefix('rejected_')} {value:,.0f}" for name, value in sorted(row.items()) if name.startswith("rejected_")
        )
        age = f"{row['age_s']:,.0f}"
        table.add_row(escape(row["collector"]), age, *cells, escape(reasons) or "-")
    out.print(table)
    stale = [row["collector"] for row in rows if row["age_s"] > 120]
    if stale:
        err.print(
            f"no report for over 2 minutes from: {', '.join(stale)} (stopped, or cannot reach InfluxDB)", highlight=False, markup=False
        )


# -- analyze ------------------------------------------------------------------------------------


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
    if output is OutputFormat.JSON:
        out.print_json(json.dumps(body, ensure_ascii=False))
        return
    table = Table(
        title=f"Analysed {summary.days} local day(s): {summary.start:%Y-%m-%d %H:%M} .. {summary.end:%Y-%m-%d %H:%M} UTC, factors {summary.factor_version}"
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
    out.print(table)
    gaps = list(iter_gaps(summary))
    if gaps:
        shown = Table(title=f"Missing intervals (gaps over 2 h or without readings): {len(gaps)} run(s)")
        for column in ("building", "meter", "from (UTC)", "until (UTC)"):
            shown.add_column(column)
        for building, meter, start, end in gaps[:20]:
            shown.add_row(building, meter, start, end)
        out.print(shown)
        if len(gaps) > 20:
            out.print(f"... {len(gaps) - 20} more (--format json lists them all)")
    if body["no_kgce_factor"]:
        err.print(
            f"no kgce factor for energy categories {', '.join(body['no_kgce_factor'])}: set energy_factors.kgce_per_unit in the registry"
        )
    out.print(f"{body['points']:,} points written in {summary.seconds:.1f} s")


@app.command()
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
    interval_min: Annotated[float, typer.Option("--interval-min", help="With --follow: minutes between runs.", min=0.1)] = 5.0,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Validated consumption: meter registers to energy_interval, meter_daily and energy_daily (kgce, CO₂).

    Rollover, meter replacement (never negative), gaps up to 2 h interpolated and flagged estimated,
    longer gaps missing and listed, spikes above rated power excluded. Whole local days are
    (re)computed; rerunning a period rewrites the same points with the same values."""
    from facmon.analytics.analyze import analyze as run_analysis
    from facmon.analytics.analyze import default_since, default_until
    from facmon.analytics.analyze import follow as follow_analysis

    site = _load(site_path)
    store = open_store(resolve_endpoints())
    tz = site.site.tz
    if follow:
        if since is not None or until is not None:
            raise FacmonError("--follow analyses the recent past by itself; leave out --since and --until")
        err.print(f"analysing every {interval_min:g} min; Ctrl-C stops")
        with stop_on_signals() as stop:
            follow_analysis(
                site, store, every_s=interval_min * 60, stop=stop, on_cycle=lambda summary, error: _detect_after(site, store, summary)
            )  # logs each cycle
        return
    end = _analysis_time(until, "--until", tz, end_of_day=True) if until else default_until(site)
    start = _analysis_time(since, "--since", tz, end_of_day=False) if since else default_since(site, store, end)
    with Progress(
        TextColumn("analyse {task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=err, transient=True
    ) as progress:
        task = progress.add_task("", total=len(site.buildings))
        summary = run_analysis(
            site, store, start, end, progress=lambda code, done, total: progress.update(task, completed=done, description=code)
        )
    _print_analysis(summary, output)
    found = _detect_after(site, store, summary)
    if output is OutputFormat.TABLE and found is not None:
        out.print(
            f"fault detection: {sum(len(b.episodes) for b in found)} episode(s), {sum(b.points for b in found)} fault point(s) written"
        )


# -- faults -------------------------------------------------------------------------------------

faults_app = typer.Typer(
    help="Faults found by `facmon analyze`: active ones, evaluation against labels, the weekly anomaly review.", no_args_is_help=True
)
app.add_typer(faults_app, name="faults")


def _detect_after(site: Site, store: InfluxStore, summary) -> list | None:
    """Fault detection over the period a consumption analysis just covered (None when it did not run)."""
    from facmon.analytics.fault_detection import detect_faults

    if summary is None:
        return None
    return detect_faults(site, store, int(summary.start.timestamp()), int(summary.end.timestamp()))


def active_faults_table(store: InfluxStore, site: Site) -> Table:
    """The currently active faults (last ``active`` of each fault series is 1) as a rich table."""
    from facmon.analytics.fault_evaluation import active_faults

    tz = site.site.tz
    table = Table(title="Active faults")
    for column in ("since (local)", "building", "kind", "target", "severity", "vendor", "value", "detail"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for row in active_faults(store):
        since = datetime.fromtimestamp(row["start_s"], tz).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            since, row["building"], row["kind"], row["target"], row["severity"], row["vendor"], f"{row['value']:g}", escape(row["detail"])
        )
    return table


@faults_app.command("active")
def faults_active(site_path: SiteOption = None, output: FormatOption = OutputFormat.TABLE) -> None:
    """List the faults active now (raised by `facmon analyze` and not cleared)."""
    from facmon.analytics.fault_evaluation import active_faults

    site = _load(site_path)
    store = open_store(resolve_endpoints())
    if output is OutputFormat.JSON:
        out.print_json(json.dumps(active_faults(store), ensure_ascii=False))
        return
    out.print(active_faults_table(store, site))


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

    site = _load(site_path)
    store = open_store(resolve_endpoints())
    report = evaluate_store(store, truth, len(site.buildings), tolerance_s=int(tolerance_h * 3600))
    if output is OutputFormat.JSON:
        out.print_json(json.dumps(report, ensure_ascii=False))
        return
    table = Table(title=f"Faults against {truth} ({report['window']['buildings']} buildings, {report['window']['months']:.2f} months)")
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
        "false alarms/bldg-month",
    ):
        table.add_column(column, justify="left" if column == "kind" else "right")

    def cell(value, unit: str = "") -> str:
        if value is None:
            return "-"
        if unit == "min":
            return f"{value / 60:,.0f} min"
        return f"{value:.2f}"

    for kind, row in [*report["by_kind"].items(), ("overall", report["overall"])]:
        table.add_row(
            kind,
            str(row["labels"]),
            str(row["detections"]),
            str(row["matched"]),
            cell(row["precision"]),
            cell(row["recall"]),
            cell(row["f1"]),
            cell(row["ttd_median_s"], "min"),
            cell(row["ttd_p90_s"], "min"),
            cell(row["false_alarms_per_building_month"]),
        )
    out.print(table)


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
            help="Also store the list in the `anomaly` measurement (replacing the week's earlier review). Never `fault`: the review pages no one.",
        ),
    ] = False,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """The weekly anomaly review: hours off each building's hourly baseline (TOWT, scored by hour of week) and night base-load creep."""
    from datetime import date as _date

    from facmon.analytics.anomalies import review_list, review_site, review_week_start, write_review

    site = _load(site_path)
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
    if output is OutputFormat.JSON:
        body = {
            "week_start": start.isoformat(),
            "week_end": (start + timedelta(days=7)).isoformat(),
            "baseline_weeks": weeks,
            "anomalies": [a.as_dict(tz) for a in entries],
            "buildings": [r.as_dict(tz) for r in reviews],
            "points_written": written,
        }
        out.print_json(json.dumps(body, ensure_ascii=False))
        return
    table = Table(title=f"Anomaly review {start} .. {start + timedelta(days=6)} (baseline {weeks} weeks before; for review, never paged)")
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
    out.print(table)
    for r in reviews:
        if r.skipped:
            err.print(f"{r.building}: {r.skipped}", highlight=False, markup=False)
    if written is not None:
        out.print(f"{written} anomaly point(s) written")


# -- score energy -------------------------------------------------------------------------------

score_app = typer.Typer(
    help="Scores: `facmon score energy` rates each building's energy saving, `facmon score vendors` each vendor's maintenance quality (0-100), explained.",
    no_args_is_help=True,
)
app.add_typer(score_app, name="score")


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
    rows = [(e.indicators, e) for e in card.buildings] + [(card.site_indicators, None)]
    for found, entry in rows:
        values = [f"{found.annual[k]:,.2f}" if k in found.annual else "-" for k in INDICATOR_UNITS]
        gbt = plan = "-"
        if entry is not None and entry.gbt51161 is not None:
            g = entry.gbt51161
            gbt = f"{g.corrected_kwh_m2:.1f} ({g.guide_kwh_m2:g}/{g.constraint_kwh_m2:g})"
        if entry is not None:
            headline = next((p for p in entry.plan if p.indicator == "kgce_per_m2"), None)
            if headline is not None:
                plan = f"{headline.achieved_reduction:.1%} / {headline.required_reduction:.1%}"
        after = found.after_hours.after_hours_share if found.after_hours is not None else None
        label = found.building if entry is not None else "site"
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
    site = _load(site_path)
    store = open_store(resolve_endpoints())
    card = energy_scorecard(store, site, period)
    if output is OutputFormat.JSON:
        out.print_json(json.dumps(card.as_dict(), ensure_ascii=False))
        return
    print_energy_scorecard(card, explain=explain)


# -- score vendors ------------------------------------------------------------------------------

if TYPE_CHECKING:
    from facmon.analytics.vendor_score import VendorScorecard


def vendor_scorecard_tables(card: VendorScorecard, explain: bool = True) -> list[Table]:
    """Rich tables of a vendor scorecard: the ranking with faults, breaches and deductions, and
    (``explain``) each vendor's components and SLA breaches."""
    from facmon.analytics.vendor_score import COMPONENT_LABELS

    ranking = Table(
        title=f"Vendor maintenance-quality score, {card.site}, {card.period.label} as of {card.as_of:%Y-%m-%d %H:%M} (0-100; points / max per component)"
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
            title = f"{entry.vendor} {entry.name}: {'-' if entry.score is None else f'{entry.score:.1f}'} points, {entry.devices} maintained device(s)"
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
                        o.episode.severity.value,
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
    """Score each vendor's maintenance quality (0-100) from fault, ieq, equipment and meter_daily; contract deductions; write score_vendor."""
    site = _load(site_path)
    store = open_store(resolve_endpoints())
    card = vendor_scorecard(store, site, period)
    if output is OutputFormat.JSON:
        out.print_json(json.dumps(card.as_dict(), ensure_ascii=False))
        return
    print_vendor_scorecard(card, explain=explain)


# -- baseline -----------------------------------------------------------------------------------

baseline_app = typer.Typer(help="Weather-normalised baselines and savings (IPMVP Option C, ASHRAE G14, CalTRACK).", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


class BaselineFrequency(StrEnum):
    DAILY = "daily"
    HOURLY = "hourly"


class TemperatureUnit(StrEnum):
    C = "C"
    F = "F"


class WorkingCalendar(StrEnum):  # the values of analytics.baseline.WorkCalendar
    CHINA = "china"
    WEEKEND = "weekend"
    NONE = "none"


@baseline_app.command("fit")
def baseline_fit(
    csv_file: Annotated[
        Path, typer.Option("--csv", help="CSV with a header row: time, consumption per interval, outdoor temperature.", show_default=False)
    ],
    time_col: Annotated[
        str,
        typer.Option(
            "--time-col", help="Column of interval start times, ISO-8601 with or without offset, taken as local time.", show_default=False
        ),
    ],
    load_col: Annotated[
        str, typer.Option("--load-col", help="Column of consumption per interval (kWh, m³, ...; not a register).", show_default=False)
    ],
    temp_col: Annotated[
        str,
        typer.Option("--temp-col", help="Column of outdoor temperature (may be at another interval; blanks allowed).", show_default=False),
    ],
    freq: Annotated[
        BaselineFrequency, typer.Option("--freq", help="daily: change-point model on days; hourly: time-of-week-and-temperature model.")
    ] = BaselineFrequency.DAILY,
    baseline_end: Annotated[
        str | None,
        typer.Option(
            "--baseline-end",
            help="Last day of the baseline (YYYY-MM-DD); later data is the reporting period (default: all baseline).",
            show_default=False,
        ),
    ] = None,
    temp_unit: Annotated[TemperatureUnit, typer.Option("--temp-unit", help="Unit of the temperature column.")] = TemperatureUnit.C,
    calendar: Annotated[
        WorkingCalendar,
        typer.Option("--calendar", help="Working days: china (holidays and 调休), weekend (Mon-Fri work) or none (no day-kind split)."),
    ] = WorkingCalendar.CHINA,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Fit a baseline on exported interval data; with data past --baseline-end, measure the savings and their uncertainty."""
    from facmon.analytics.baseline import WorkCalendar, measure_savings
    from facmon.analytics.interval_csv import read_interval_csv, to_regular

    work_calendar = WorkCalendar(calendar.value)
    end = None
    if baseline_end is not None:
        try:
            end = datetime.strptime(baseline_end, "%Y-%m-%d").date()
        except ValueError:
            raise FacmonError(f"--baseline-end {baseline_end!r} is not a date such as 2025-06-30") from None
    readings = read_interval_csv(csv_file, time_col, load_col, temp_col, temp_unit.value)
    report = {"file": str(csv_file), **measure_savings(to_regular(readings, freq.value), end, work_calendar)}
    if output is OutputFormat.JSON:
        out.print_json(json.dumps(_finite(report), allow_nan=False))
        return
    _print_baseline(report)


def _finite(value: object) -> object:
    """The report with NaN and infinities as null: JSON has no NaN."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):  # NaN is the value unequal to itself
        return None
    return value


def _print_baseline(report: dict) -> None:
    baseline, acceptance, sufficiency = report["baseline"], report["acceptance"], report["sufficiency"]
    fit = Table(title=f"{report['interval']} baseline {baseline['start']} .. {baseline['end']} — {report['file']}")
    for column in ("n", "parameters", "CV(RMSE)", "NMBE", "R²", "G14 acceptance", "data sufficiency"):
        fit.add_column(column, justify="right" if column not in ("G14 acceptance", "data sufficiency") else "left")
    verdict = (
        "[green]accepted[/green]"
        if acceptance["accepted"]
        else f"[red]not accepted[/red] (CV(RMSE) ≤ {acceptance['cvrmse_max']:.0%}, |NMBE| ≤ {acceptance['nmbe_max']:.1%})"
    )
    enough = (
        "[green]sufficient[/green]" if sufficiency["sufficient"] else "[yellow]insufficient[/yellow]: " + "; ".join(sufficiency["issues"])
    )
    fit.add_row(
        str(report["n"]),
        str(report["n_parameters"]),
        f"{report['cvrmse']:.1%}",
        f"{report['nmbe']:.2%}",
        f"{report['r2']:.3f}",
        verdict,
        enough,
    )
    out.print(fit)
    if report["interval"] == "daily":
        segments = Table(title=f"change-point model ({report['calendar']} calendar)")
        for column in (
            "days",
            "model",
            "intercept/day",
            "heating slope /K·day",
            "heating balance °C",
            "cooling slope /K·day",
            "cooling balance °C",
        ):
            segments.add_column(column, justify="left" if column in ("days", "model") else "right")

        def number(value: float | None, fmt: str) -> str:
            return "-" if value is None else format(value, fmt)

        for kind, s in report["model"]["segments"].items():
            segments.add_row(
                f"{kind} ({s['n_days']})",
                s["model_type"],
                f"{s['intercept_kwh']:.2f}",
                number(s["heating_slope_kwh_per_k"] if s["heating_balance_c"] is not None else None, ".3f"),
                number(s["heating_balance_c"], ".1f"),
                number(s["cooling_slope_kwh_per_k"] if s["cooling_balance_c"] is not None else None, ".3f"),
                number(s["cooling_balance_c"], ".1f"),
            )
        out.print(segments)
    else:
        out.print(
            f"time-of-week-and-temperature model: {report['model']['occupied_hours_of_week']} of 168 hours of the week occupied ({report['calendar']} calendar)"
        )
    savings = report.get("savings")
    if "reporting" not in report:
        out.print("no reporting period: the file ends at the baseline (give --baseline-end to measure savings)")
        return
    if savings is None:
        out.print(f"[yellow]no savings[/yellow]: {report['reporting'].get('issue', '')}")
        return
    result = Table(title=f"savings {report['reporting']['start']} .. {report['reporting']['end']} ({savings['m']} points)")
    for column in ("baseline predicted", "observed", "avoided", "fraction", f"± at {savings['confidence']:.0%}", "FSU", "verdict"):
        result.add_column(column, justify="right" if column != "verdict" else "left")
    fsu = "-" if savings["fsu"] is None else f"{savings['fsu']:.1%}"
    result.add_row(
        f"{savings['predicted_kwh']:,.1f}",
        f"{savings['observed_kwh']:,.1f}",
        f"{savings['avoided']:,.1f}",
        f"{savings['fraction']:.1%}",
        f"{savings['uncertainty_kwh']:,.1f}",
        fsu,
        "[yellow]inconclusive[/yellow] (FSU > 50 %)" if savings["inconclusive"] else "[green]conclusive[/green]",
    )
    out.print(result)


# -- grafana ------------------------------------------------------------------------------------

grafana_app = typer.Typer(
    help="Grafana as code from the registry: provisioning files (`export`) or an HTTP API push (`push`).", no_args_is_help=True
)
app.add_typer(grafana_app, name="grafana")

GrafanaLangOption = Annotated[str, typer.Option("--lang", help="Language of titles: zh or en.")]
NoCheckOption = Annotated[
    bool,
    typer.Option("--no-check", help="Skip reading the files as Grafana 11 would (needs Go); only where Go cannot be installed."),
]
InfluxVersionOption = Annotated[
    str | None,
    typer.Option(
        "--influx-version",
        envvar="FACMON_INFLUX_VERSION",
        show_default=False,
        help="InfluxDB behind FACMON_INFLUX_URL: 1, 2 or 3 (default: 2 when FACMON_INFLUX_TOKEN[_FILE] is set, else 1).",
    ),
]


def _grafana_inputs(site_path: Path | None, lang: str, influx_version: str | None) -> tuple:
    """The site, the checked language and the datasource settings for `facmon grafana`."""
    from facmon.dashboards.datasource import datasource_settings
    from facmon.dashboards.titles import check_lang

    return _load(site_path), check_lang(lang), datasource_settings(resolve_endpoints(), influx_version)


@grafana_app.command("export")
def grafana_export(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write (its contents go to /etc/grafana/provisioning).")],
    site_path: SiteOption = None,
    lang: GrafanaLangOption = "zh",
    influx_version: InfluxVersionOption = None,
    dashboards_path: Annotated[
        str | None,
        typer.Option(
            help="Where the dashboard JSON files will be on the Grafana host (default: /etc/grafana/provisioning/dashboards/facmon).",
            show_default=False,
        ),
    ] = None,
    no_check: NoCheckOption = False,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Write Grafana file-provisioning files: datasource, dashboard provider, dashboards and alerting
    (fault rules, contact points per vendor, policy tree, message templates, maintenance mute timings).

    Every file is first read as Grafana 11 reads it (Go's yaml.v3 and text/template, Alertmanager's
    template functions and time intervals); if Grafana would refuse or mangle any, nothing is written."""
    from facmon.grafana.provisioning import export_provisioning

    site, language, settings = _grafana_inputs(site_path, lang, influx_version)
    written = export_provisioning(site, out_dir, settings, language, dashboards_path=dashboards_path, check=not no_check)
    if output is OutputFormat.JSON:
        out.print_json(json.dumps({"out": str(out_dir), "files": [str(path.relative_to(out_dir)) for path in written]}))
        return
    table = Table(title=f"Grafana provisioning files in {out_dir}")
    table.add_column("file")
    for path in written:
        table.add_row(escape(str(path.relative_to(out_dir))))
    out.print(table)
    out.print(f"Copy the contents of {escape(str(out_dir))} to /etc/grafana/provisioning and restart Grafana (README, Grafana).")


@grafana_app.command("push")
def grafana_push(
    url: Annotated[str, typer.Option("--url", envvar="FACMON_GRAFANA_URL", help="Grafana's address, e.g. http://127.0.0.1:3000.")],
    site_path: SiteOption = None,
    lang: GrafanaLangOption = "zh",
    influx_version: InfluxVersionOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print what would be created or updated.")] = False,
    update_secrets: Annotated[
        bool, typer.Option("--update-secrets", help="Send the datasource's secrets even when nothing else changed (token rotation).")
    ] = False,
    no_check: NoCheckOption = False,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Create or update facmon's folder, datasource, dashboards and alerting (templates, mute timings,
    contact points, the policy tree, the fault rule group) in a running Grafana (token from
    FACMON_GRAFANA_TOKEN or FACMON_GRAFANA_TOKEN_FILE); a second push changes nothing."""
    from facmon.alerts.notifications import alerting_objects
    from facmon.dashboards.catalog import FOLDER_UID, build_dashboards, folder_title
    from facmon.dashboards.datasource import DATASOURCE_UID
    from facmon.grafana.check import refuse_bad_files
    from facmon.grafana.provisioning import provisioning_files
    from facmon.grafana.push import DesiredState, apply, connect, grafana_token, plan

    site, language, settings = _grafana_inputs(site_path, lang, influx_version)
    if not no_check:  # the API takes the same templates and annotations the files carry
        refuse_bad_files(provisioning_files(site, settings, language))
    desired = DesiredState(
        FOLDER_UID, folder_title(language), settings, build_dashboards(site, language), alerting_objects(site, FOLDER_UID, DATASOURCE_UID)
    )
    api = connect(url, grafana_token())
    changes = plan(api, desired, update_secrets=update_secrets)
    if not dry_run:
        apply(api, changes)
    if output is OutputFormat.JSON:
        out.print_json(
            json.dumps(
                {
                    "url": url,
                    "dry_run": dry_run,
                    "changes": [{"kind": c.kind, "uid": c.uid, "title": c.title, "action": c.action.value} for c in changes],
                },
                ensure_ascii=False,
            )
        )
        return
    table = Table(title=f"{'Plan for' if dry_run else 'Pushed to'} Grafana at {escape(url)}")
    for column in ("object", "uid", "title", "action"):
        table.add_column(column)
    colour = {"create": "green", "update": "yellow", "unchanged": "dim", "delete": "red"}
    for change in changes:
        table.add_row(change.kind, escape(change.uid), escape(change.title), f"[{colour[change.action.value]}]{change.action.value}[/]")
    out.print(table)
    pending = sum(1 for change in changes if change.apply is not None)
    if dry_run:
        out.print(f"dry run: {pending} object(s) would change; nothing was sent")
    else:
        out.print(f"{pending} object(s) created, updated or deleted, {len(changes) - pending} unchanged")


# -- demo ---------------------------------------------------------------------------------------


def stored_counts(store: InfluxStore, since: datetime, until: datetime) -> Counter:
    """Points stored per (measurement, building) with timestamps in [since, until)."""
    window = f"time >= {int(since.timestamp())}s AND time < {int(until.timestamp())}s"
    counts: Counter = Counter()
    for measurement, field in (("meter", "register"), ("ieq", "temperature"), ("equipment", "running"), ("weather", "temperature")):
        for row in store.rows(f'SELECT count("{field}") FROM "{measurement}" WHERE {window} GROUP BY "building"'):
            counts[(measurement, row["building"])] = int(row["count"])
    return counts


@app.command()
def demo(
    site_path: SiteOption = None,
    days: Annotated[float, typer.Option(help="Days of history to backfill.", min=0.0)] = 30.0,
    live_seconds: Annotated[float, typer.Option(help="Wall-clock seconds of live simulation through MQTT.", min=1.0)] = 60.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall-clock second during the live run.", min=1.0)] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated site.")] = 0,
) -> None:
    """Bring the stack up, backfill history, run simulator and collector live, and show what was stored."""
    from facmon.ingest import Collector
    from facmon.simulators import SiteSimulator, publish

    site = _load(site_path)
    home = facmon_home()
    err.print(f"[bold]1/6[/bold] local stack under {home}")
    _print_stack(Stack(home).up(), OutputFormat.TABLE)
    endpoints = resolve_endpoints(home)
    store = open_store(endpoints)
    store.create_database()

    # The live run ends at about now: history ends where the live run begins, so no reading is
    # in the future and the registers continue seamlessly from backfill to live.
    live_span = timedelta(seconds=live_seconds * speed)
    live_start = (datetime.now(UTC) - live_span).replace(microsecond=0)
    live_start -= timedelta(seconds=live_start.timestamp() % site.collection.ieq_interval_s)
    history_start = live_start - timedelta(days=days)
    err.print(
        f"[bold]2/6[/bold] backfill {days:g} days: {history_start:%Y-%m-%d %H:%M} .. {live_start:%Y-%m-%d %H:%M} UTC, with a few faults injected"
    )
    faults = _demo_faults(site, history_start, live_start)
    simulator = SiteSimulator(site, seed=seed, faults=faults)
    for fault in faults:
        err.print(
            f"    injected: {fault.kind} {fault.building}/{fault.target} from {datetime.fromtimestamp(fault.start_s, site.site.tz):%m-%d %H:%M} ({fault.vendor})"
        )
    began = time.monotonic()
    history = _run_backfill(simulator, store, history_start, live_start)
    err.print(f"    {sum(history.values()):,} points in {time.monotonic() - began:.1f} s")

    err.print(
        f"[bold]3/6[/bold] live: simulator → mqtt://{endpoints.mqtt_host}:{endpoints.mqtt_port} → collector → InfluxDB, {live_seconds:g} s at {speed:g}x"
    )
    collector = Collector(
        site, store, mqtt_host=endpoints.mqtt_host, mqtt_port=endpoints.mqtt_port, client_id="facmon-demo-ingest", auth=mqtt_auth(home)
    )
    stop_collector = threading.Event()
    collector_thread = threading.Thread(target=collector.run, args=(stop_collector,), name="collector", daemon=True)
    collector_thread.start()
    if not collector.connected.wait(30):
        stop_collector.set()
        raise FacmonError(f"the collector could not subscribe at mqtt://{endpoints.mqtt_host}:{endpoints.mqtt_port} within 30 s")
    published = publish(
        simulator,
        endpoints.mqtt_host,
        endpoints.mqtt_port,
        live_start,
        live_seconds,
        speed,
        topic_prefix=site.mqtt.topic_prefix,
        auth=simulator_auth(site, home),
    )
    live_end = live_start + live_span + timedelta(seconds=1)
    deadline = time.monotonic() + 60
    stored = stored_counts(store, live_start, live_end)
    while stored != published and time.monotonic() < deadline:
        time.sleep(0.5)
        stored = stored_counts(store, live_start, live_end)
    stop_collector.set()
    collector_thread.join(timeout=30)
    stored = stored_counts(store, live_start, live_end)

    err.print("[bold]4/6[/bold] what InfluxDB holds")
    totals = stored_counts(store, history_start, live_end)
    out.print(
        _counts_table(
            f"Stored in database {store.database!r}",
            {"backfilled": history, "live published": published, "live stored": stored, "total stored": totals},
        )
    )
    n_published, n_stored = sum(published.values()), sum(stored.values())
    verdict = "[green]nothing lost[/green]" if n_published == n_stored and published == stored else "[red]MISMATCH[/red]"
    out.print(f"live run: {n_published:,} readings published, {n_stored:,} stored — {verdict}")
    if published != stored:
        raise FacmonError("the live run lost readings: published and stored counts differ (see the table)")

    from facmon.analytics.analyze import analyze as run_analysis

    month = f"{live_end.astimezone(site.site.tz):%Y-%m}"
    err.print(f"[bold]5/6[/bold] analysis: registers → energy_interval, energy_daily; fault detection; scores for {month}")
    summary = run_analysis(site, store, history_start, live_end)
    found = _detect_after(site, store, summary) or []
    err.print(
        f"    {summary.days} local days of {len(summary.buildings)} buildings analysed in {summary.seconds:.1f} s; "
        f"{sum(len(b.episodes) for b in found)} fault episode(s) detected"
    )
    out.print(active_faults_table(store, site))
    card = energy_scorecard(store, site, month)
    print_energy_scorecard(card, explain=False)
    print_vendor_scorecard(vendor_scorecard(store, site, month), explain=False)
    out.print(f"Each component explained: facmon score energy --period {month}; facmon score vendors --period {month}")

    from facmon.dashboards.datasource import datasource_settings
    from facmon.grafana.provisioning import export_provisioning

    grafana_dir = home / "grafana-provisioning"
    err.print(f"[bold]6/6[/bold] Grafana provisioning files (datasource, dashboards, alerting) → {grafana_dir}")
    written = export_provisioning(site, grafana_dir, datasource_settings(endpoints), "zh")
    out.print(f"{len(written)} Grafana provisioning files in {grafana_dir}: copy them to /etc/grafana/provisioning (README, Grafana).")
    out.print(
        f"The stack keeps running: InfluxDB {endpoints.influx_url} (database {store.database}), MQTT mqtt://{endpoints.mqtt_host}:{endpoints.mqtt_port}."
    )
    home_prefix = f"FACMON_HOME={home} " if os.environ.get("FACMON_HOME") else ""
    out.print(f"Stop it with: {home_prefix}.venv/bin/facmon stack down   (or: make stack-down)")


def _demo_faults(site: Site, history_start: datetime, live_start: datetime) -> list:
    """A few faults for the demo, placed in the last day and a half of its history: a water leak and a
    chiller fault code still active at the end, a sensor offline for 3 h and a stuck sub-meter, both cleared."""
    from facmon.simulators.faults import parse_faults

    def at(hours_before: float) -> str:
        moment = max(history_start, live_start - timedelta(hours=hours_before))
        return moment.astimezone(site.site.tz).isoformat(timespec="minutes")

    scenario = f"""
name: facmon demo
faults:
- {{kind: water_leak, building: '341122A002', target: W-TOILET, start: '{at(30)}', duration: 3d}}
- {{kind: equipment_fault_code, building: '341122A003', target: CH-1, start: '{at(20)}', duration: 2d}}
- {{kind: device_offline, building: '341122A002', target: IEQ-3F, start: '{at(10)}', duration: 3h}}
- {{kind: meter_stuck, building: '341122A004', target: E-IT, start: '{at(26)}', duration: 12h}}
"""
    codes = {b.code for b in site.buildings}
    if not {"341122A002", "341122A003", "341122A004"} <= codes:
        return []  # another site: the demo runs without injected faults
    return parse_faults(scenario, Path("demo-faults.yaml"), site)


def main() -> None:
    """Console entry point: user mistakes print one clear message to stderr, no traceback."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # `kill -USR1 <pid>` prints every thread's stack to stderr: how to see where a long-running command is stuck.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        app()
    except FacmonError as exc:
        err.print(f"[red]facmon: error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        if getattr(exc, "hint", None):
            err.print(f"  {exc.hint}", highlight=False, markup=False, soft_wrap=True)
        if "TLS" in str(exc) and "failed" in str(exc):
            err.print(
                "  Check the CA file that signed the server's certificate: FACMON_MQTT_TLS_CA for the broker "
                f"(`facmon stack up --tls` writes one: {facmon_home()}/mqtt/tls/ca.crt), REQUESTS_CA_BUNDLE for InfluxDB, "
                "and the host name the certificate names.",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        elif "cannot be reached" in str(exc):
            err.print(
                f"  Is the local stack running? `facmon stack status` shows it (FACMON_HOME={facmon_home()}), "
                "`facmon stack up` starts it; or set FACMON_INFLUX_URL / FACMON_MQTT_HOST / FACMON_MQTT_PORT.",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
