"""`facmon ingest` and `facmon ingest status`: the MQTT collector and how collectors fare."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
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
from facmon.ingest.status import CollectorStatus, read_statuses, status_path
from facmon.schema.ingest import StoreProblem, latest_ingest_stats, store_problem_text
from facmon.settings import facmon_home, login_expected, mqtt_auth, open_store, resolve_endpoints
from facmon.stop import StopRequest, stop_on_signals

if TYPE_CHECKING:
    from facmon.ingest import Collector
from facmon.store import InfluxStore, StoreDiskFull, StoreUnavailable

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

    While InfluxDB takes no writes (unreachable, failing, refusing, its disk full), batches go to an
    on-disk spool and are acknowledged; they are replayed in order once it takes them. When the spool
    is full nothing more is acknowledged and the broker keeps the backlog. Why writes fail is logged
    once per change and kept in FACMON_HOME/ingest/<client id>.json, which `facmon ingest status` reads.
    After SIGTERM or SIGINT it exits within --stop-timeout plus the InfluxDB request timeout plus 12 s
    (72 s with the defaults), usually in well under a second."""
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
        status_file=status_path(facmon_home(), client_id),
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
STALE_S = 120  # a collector that has said nothing for this long is called out
# The InfluxDB column: whether it takes the collector's writes (the line under the table says more).
_STORE_WORDS = {
    "": "ok",
    StoreProblem.DISK_FULL: "DISK FULL",
    StoreProblem.REFUSED: "refused",
    StoreProblem.UNREACHABLE: "no answer",
    StoreProblem.SERVER_ERROR: "failing",
    StoreProblem.OTHER: "failing",
}


def _iso(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC).isoformat()


def ingest_status_rows(store: InfluxStore, now: datetime | None = None, local: Sequence[CollectorStatus] = ()) -> list[dict]:
    """The newest ingest_stats point of every collector, with ``age_s`` (seconds since it was written), and
    what the local status files (:mod:`facmon.ingest.status`) of collectors writing to the same database add."""
    now = now or datetime.now(UTC)
    rows = {
        stats.collector: {
            "collector": stats.collector,
            "time": datetime.fromtimestamp(stats.time_s, UTC).isoformat(),
            "age_s": round(now.timestamp() - stats.time_s, 1),
            **dict(sorted(stats.fields().items())),
        }
        for stats in latest_ingest_stats(store)
    }
    return with_local_status(rows, local, now)


def with_local_status(rows: dict[str, dict], local: Sequence[CollectorStatus], now: datetime) -> list[dict]:
    """``rows`` (collector -> its ingest_stats row) with each collector's local status: under ``local``, and,
    when it is newer than the collector's last ingest_stats point (always while InfluxDB takes no writes), as
    its ``store_error`` (with ``store_error_since`` and ``store_error_detail``) and spool figures. A collector
    with a status file but no ingest_stats point gets a row without ``time`` and ``age_s``."""
    for status in local:
        row = rows.setdefault(status.collector, {"collector": status.collector})
        row["local"] = {
            "updated_at": _iso(status.updated_at),
            "age_s": round(now.timestamp() - status.updated_at, 1),
            "running": status.running,
            "pid": status.pid,
            "spool_folder": status.spool_folder,
        }
        reported = datetime.fromisoformat(row["time"]).timestamp() if "time" in row else None
        if reported is None or status.updated_at >= reported:
            row["spooled"] = float(status.spooled)
            row["spool_bytes"] = float(status.spool_bytes)
            row["spool_full"] = 1.0 if status.spool_full else 0.0
            row["store_error"] = status.store_error
            row["store_error_since"] = _iso(status.store_error_since)
            row["store_error_detail"] = status.store_error_detail
    return [rows[collector] for collector in sorted(rows)]


def _local_statuses(store: InfluxStore) -> list[CollectorStatus]:
    """The status files under FACMON_HOME of collectors that write to this InfluxDB and database."""
    return [s for s in read_statuses(facmon_home()) if s.influx_url == store.url and s.database == store.database]


def store_problem_lines(rows: list[dict]) -> list[str]:
    """One line per collector whose writes to InfluxDB fail: why, since when, and what its spool holds."""
    lines = []
    for row in rows:
        problem = row.get("store_error")
        if not problem:
            continue
        since = row.get("store_error_since")
        when = ""
        if since:
            started = datetime.fromisoformat(since)
            when = f" since {started.astimezone().strftime('%Y-%m-%d %H:%M:%S %z')} ({_duration(time.time() - started.timestamp())})"
        spooled = row.get("spooled") or 0
        local = row.get("local")
        if local is not None and local["spool_folder"] is None:
            held = "no spool: the broker keeps the backlog"
        else:
            held = f"{spooled:,.0f} readings ({(row.get('spool_bytes') or 0) / 1e6:,.1f} MB) held in the spool"
            if row.get("spool_full"):
                held += ", which is FULL: nothing is acknowledged, the broker keeps the rest"
        if local is not None and not local["running"]:
            held += " (the collector is stopped: its next start goes on)"
        line = f"{row['collector']}: {store_problem_text(problem)}{when}: {held}"
        if row.get("store_error_detail"):
            line += f"\n  {row['store_error_detail'].strip()}"
        if problem == StoreProblem.DISK_FULL:
            line += f"\n  {StoreDiskFull.default_hint}"
        lines.append(line)
    return lines


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


@ingest_app.command("status")
def ingest_status(output: FormatOption = OutputFormat.TABLE) -> None:
    """Show each collector's latest ingest_stats: counts, spool, rejections by reason, broker drops, lag, age, and
    whether InfluxDB takes its writes (from the collectors' status files under FACMON_HOME too, which say so while
    InfluxDB cannot store ingest_stats, e.g. with its disk full)."""
    endpoints = resolve_endpoints()
    store = open_store(endpoints)
    local = _local_statuses(store)
    now = datetime.now(UTC)
    try:
        rows = ingest_status_rows(store, now, local)
    except StoreUnavailable:
        if local:  # what the collectors here say, then the error
            _print_status(with_local_status({}, local, now), store, endpoints.influx_url, output)
        raise
    _print_status(rows, store, endpoints.influx_url, output)
    if not any("time" in row for row in rows):
        err.print(
            f"no collector has reported yet: database {store.database!r} at {endpoints.influx_url} holds no ingest_stats "
            "(is `facmon ingest` running against it?)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


def _print_status(rows: list[dict], store: InfluxStore, influx_url: str, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        out.print_json(json.dumps({"database": store.database, "collectors": rows}))
        return
    if not rows:
        return
    table = Table(title=f"Collectors reporting to {store.database!r} at {influx_url}")
    # the collector ids are what an operator looks for: never cut, the other columns wrap instead
    table.add_column("collector", no_wrap=True, min_width=max(len(row["collector"]) for row in rows))
    table.add_column("age s", justify="right")
    for _, heading in _STATUS_COLUMNS:
        table.add_column(heading, justify="right")
    # Whether InfluxDB takes each collector's writes: a column only while one of them says it does not (the
    # table keeps its width otherwise); the lines under the table say why and what the spool holds.
    troubled = any(row.get("store_error") for row in rows)
    if troubled:
        table.add_column("InfluxDB")
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
        problem = row.get("store_error")
        if troubled:
            writes = "-" if problem is None else _STORE_WORDS.get(problem, problem)
            cells.append(f"[red]{escape(writes)}[/red]" if problem else writes)
        reasons = ", ".join(
            f"{name.removeprefix('rejected_')} {value:,.0f}" for name, value in sorted(row.items()) if name.startswith("rejected_")
        )
        age = f"{row['age_s']:,.0f}" if "age_s" in row else "-"
        table.add_row(
            escape(row["collector"]),
            age,
            *cells,
            escape(reasons) or "-",
            _security(row),
        )
    out.print(table)
    for line in store_problem_lines(rows):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    stale = [row["collector"] for row in rows if _silent(row)]
    if stale:
        err.print(
            f"no report for over 2 minutes from: {', '.join(stale)} (stopped, or cannot reach InfluxDB)", highlight=False, markup=False
        )


def _silent(row: dict) -> bool:
    """True when neither InfluxDB nor a fresh status file has news of the collector for over STALE_S."""
    local = row.get("local")
    if local is not None and local["age_s"] <= STALE_S and local["running"]:
        return False  # it runs; a store problem, if any, is reported above
    return bool(row.get("age_s", float("inf")) > STALE_S)
