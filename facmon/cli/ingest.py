"""`facmon ingest` and `facmon ingest status`: the MQTT collector and how collectors fare."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, err, out
from facmon.errors import FacmonError
from facmon.ingest.collector import DEFAULT_RECEIVE_MAXIMUM, SHUTDOWN_TIMEOUT_S
from facmon.schema.ingest import latest_ingest_stats
from facmon.settings import facmon_home, login_expected, mqtt_auth, open_store, resolve_endpoints
from facmon.stop import StopRequest, stop_on_signals

if TYPE_CHECKING:
    from facmon.ingest import Collector
from facmon.store import InfluxStore, StoreUnavailable

ingest_app = typer.Typer(help="Collect readings from MQTT into InfluxDB; `facmon ingest status` shows how collectors fare.")


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
    from facmon.ingest import run_until_signalled

    spool_folder = None
    if spool_max_mb > 0:
        spool_folder = spool_dir or facmon_home() / "spool" / client_id
    collector = _collector(
        site_path,
        client_id,
        shared,
        spool_folder,
        batch_lines=batch_lines,
        flush_interval_s=flush_interval,
        stats_interval_s=stats_interval,
        spool_max_bytes=max(1, int(spool_max_mb * 1024 * 1024)),
        receive_maximum=receive_maximum,
        shutdown_timeout_s=stop_timeout,
    )
    try:
        collector.store.create_database()
    except StoreUnavailable as exc:
        # A collector must be able to start during an outage: it spools (or, without a spool, leaves the
        # backlog with the broker) and creates the database when InfluxDB answers.
        where = f"spooling to {spool_folder}" if spool_folder else "holding acknowledgements, so the broker keeps the backlog"
        err.print(f"warning: {exc}; starting anyway, {where} until it answers", highlight=False)
    raise typer.Exit(run_until_signalled(collector))


def _collector(site_path: Path | None, client_id: str, shared: str | None, spool_folder: Path | None, **options: Any) -> Collector:
    """A collector of the site, broker and database the environment names, with the login it expects."""
    from facmon.ingest import Collector

    if shared is not None and (not shared or any(ch in shared for ch in "/+#")):
        raise FacmonError(f"--shared {shared!r}: a group name must not be empty or contain '/', '+' or '#'")
    site = load_site_option(site_path)
    endpoints = resolve_endpoints()
    auth = mqtt_auth()
    return Collector(
        site,
        open_store(endpoints),
        mqtt_host=endpoints.mqtt_host,
        mqtt_port=endpoints.mqtt_port,
        client_id=client_id,
        auth=auth,
        login_expected=login_expected(auth),
        shared_group=shared,
        spool_dir=spool_folder,
        **options,
    )


@ingest_app.command("retire")
def retire(
    client_id: Annotated[str, typer.Option(help="The client id of the collector to take out of service for good.")],
    shared: Annotated[
        str | None, typer.Option("--shared", metavar="GROUP", help="The shared group it was a member of.", show_default=False)
    ] = None,
    idle_s: Annotated[float, typer.Option(help="Stop after this many seconds without a message (its backlog stored).", min=1.0)] = 10.0,
    site_path: SiteOption = None,
) -> None:
    """Take a collector out of service for good: collect its session's backlog, store it, then end its broker session.

    A stopped member of a shared group keeps its session, and Mosquitto goes on routing its share of the stream
    there (held until the session expires after 7 days, then lost). Run this with the collector's own client id
    and group after stopping it: the backlog is stored, and the session (and its share) ends only when nothing is
    held or spooled; otherwise it says so and exits 1, and can be run again."""
    spool_folder = facmon_home() / "spool" / client_id
    # its spool, when it left one, is replayed first
    collector = _collector(site_path, client_id, shared, spool_folder if spool_folder.exists() else None)
    collector.retire_on_stop = True

    def stop_when_idle(stop: StopRequest) -> None:
        if not collector.connected.wait(60):
            err.print(f"{client_id}: no subscription confirmed by the broker within 60 s", highlight=False)
            stop.request("no subscription")
            return
        last, since = -1, time.monotonic()
        while not stop.wait(0.5):
            counters = collector.counters
            if counters.received != last:
                last, since = counters.received, time.monotonic()
            elif time.monotonic() - since >= idle_s and counters.spooled == 0:
                stop.request(f"no message for {idle_s:g} s: the backlog is stored")

    with stop_on_signals() as stop:
        watcher = threading.Thread(target=stop_when_idle, args=(stop,), name="retire-idle", daemon=True)
        watcher.start()
        collector.run(stop)
    counters = collector.counters
    out.print(f"{client_id}: {counters.received} backlog message(s) stored; " + ("retired" if collector.retired else "NOT retired"))
    raise typer.Exit(0 if collector.retired else 1)


def _security(row: dict) -> str:
    """How a collector connects, from its ingest_stats: login or anonymous, TLS or plain."""
    if row.get("mqtt_login") is None:
        return "-"  # written by a collector that did not report it
    return ("login" if row["mqtt_login"] else "[red]anonymous[/red]") + (", TLS" if row.get("mqtt_tls") else ", plain")


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
    return [
        {
            "collector": stats.collector,
            "time": datetime.fromtimestamp(stats.time_s, UTC).isoformat(),
            "age_s": round(now.timestamp() - stats.time_s, 1),
            **dict(sorted(stats.fields().items())),
        }
        for stats in latest_ingest_stats(store)
    ]


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
    # the collector ids are what an operator looks for: never cut, the other columns wrap instead
    table.add_column("collector", no_wrap=True, min_width=max(len(row["collector"]) for row in rows))
    table.add_column("age s", justify="right")
    for _, heading in _STATUS_COLUMNS:
        table.add_column(heading, justify="right")
    table.add_column("rejected by reason")
    table.add_column("security")
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
        table.add_row(escape(row["collector"]), age, *cells, escape(reasons) or "-", _security(row))
    out.print(table)
    stale = [row["collector"] for row in rows if row["age_s"] > 120]
    if stale:
        err.print(
            f"no report for over 2 minutes from: {', '.join(stale)} (stopped, or cannot reach InfluxDB)", highlight=False, markup=False
        )
