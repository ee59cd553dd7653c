"""`facmon demo`: the whole job end to end on the local stack."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from facmon.analytics.fault_detection import detect_faults_after
from facmon.analytics.fault_evaluation import active_faults
from facmon.cli.assess import assess_and_write, assessment_tables, seed_simulated_evidence
from facmon.cli.faults import active_faults_table
from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import OutputFormat, err, out
from facmon.cli.score import energy_scorecard, print_energy_scorecard, print_vendor_scorecard, vendor_scorecard
from facmon.cli.simulate import counts_table, run_backfill
from facmon.cli.stack import print_stack
from facmon.errors import FacmonError
from facmon.periods import last_complete_month
from facmon.registry import Site
from facmon.schema.readings import count_readings
from facmon.settings import facmon_home, mqtt_auth, open_store, resolve_endpoints, simulator_auth
from facmon.stack import Stack


def demo(
    site_path: SiteOption = None,
    days: Annotated[
        float | None,
        typer.Option(
            help="Days of history to backfill. Default: from the first day of the last complete month, which the demo scores.",
            min=0.0,
            show_default=False,
        ),
    ] = None,
    live_seconds: Annotated[float, typer.Option(help="Wall-clock seconds of live simulation through MQTT.", min=1.0)] = 60.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per wall-clock second during the live run.", min=1.0)] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated site.")] = 0,
    web_port: Annotated[
        int | None, typer.Option(help="Port of the work-order service. Default: the port of the registry's work_orders.public_url.")
    ] = None,
) -> None:
    """Bring the stack up, backfill history, run simulator and collector live, and show what was stored."""
    from facmon.ingest import Collector
    from facmon.simulators import SiteSimulator, publish

    site = load_site_option(site_path)
    home = facmon_home()
    err.print(f"[bold]1/7[/bold] local stack under {home}")
    print_stack(Stack(home).up(), OutputFormat.TABLE)
    endpoints = resolve_endpoints(home)
    store = open_store(endpoints)
    store.create_database()

    # The live run ends at about now: history ends where the live run begins, so no reading is
    # in the future and the registers continue seamlessly from backfill to live.
    live_span = timedelta(seconds=live_seconds * speed)
    live_start = (datetime.now(UTC) - live_span).replace(microsecond=0)
    live_start -= timedelta(seconds=live_start.timestamp() % site.collection.ieq_interval_s)
    # The demo scores the last complete month (as `facmon score energy` does by default): history
    # covers it whole unless --days asks for less, and then its scores say how few days they rest on.
    month = last_complete_month(live_start.astimezone(site.site.tz).date())
    month_start = datetime.combine(month.start, datetime.min.time(), site.site.tz).astimezone(UTC)
    history_start = live_start - timedelta(days=days) if days is not None else month_start
    err.print(
        f"[bold]2/7[/bold] backfill {(live_start - history_start) / timedelta(days=1):.1f} days: {history_start:%Y-%m-%d %H:%M} .. "
        f"{live_start:%Y-%m-%d %H:%M} UTC, with a few faults injected"
    )
    faults = _demo_faults(site, history_start, live_start, month_start)
    simulator = SiteSimulator(site, seed=seed, faults=faults)
    for fault in faults:
        err.print(
            f"    injected: {fault.kind} {fault.building}/{fault.target} from "
            f"{datetime.fromtimestamp(fault.start_s, site.site.tz):%m-%d %H:%M} ({fault.vendor})"
        )
    began = time.monotonic()
    history = run_backfill(simulator, store, history_start, live_start)
    err.print(f"    {sum(history.values()):,} points in {time.monotonic() - began:.1f} s")

    err.print(
        f"[bold]3/7[/bold] live: simulator → mqtt://{endpoints.mqtt_host}:{endpoints.mqtt_port} → collector → InfluxDB, {live_seconds:g} "
        f"s at {speed:g}x"
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
    stored = count_readings(store, live_start, live_end)
    while stored != published and time.monotonic() < deadline:
        time.sleep(0.5)
        stored = count_readings(store, live_start, live_end)
    stop_collector.set()
    collector_thread.join(timeout=30)
    stored = count_readings(store, live_start, live_end)

    err.print("[bold]4/7[/bold] what InfluxDB holds")
    totals = count_readings(store, history_start, live_end)
    out.print(
        counts_table(
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

    err.print(
        f"[bold]5/7[/bold] analysis: registers → energy_interval, energy_daily; fault detection; scores for {month.label}, "
        "the last complete month"
    )
    summary = run_analysis(site, store, history_start, live_end)
    found = detect_faults_after(site, store, summary) or []
    err.print(
        f"    {summary.days} local days of {len(summary.buildings)} buildings analysed in {summary.seconds:.1f} s; "
        f"{sum(len(b.episodes) for b in found)} fault episode(s) detected"
    )
    out.print(active_faults_table(active_faults(store), site))
    err.print("[bold]6/7[/bold] work orders: the detected faults become orders, simulated vendors work them; the web service")
    _work_orders(site, site_path, home, store, web_port)
    card = energy_scorecard(store, site, month.label)
    print_energy_scorecard(card, explain=False)
    print_vendor_scorecard(vendor_scorecard(store, site, month.label), explain=False)
    inspected, surveyed, answered = seed_simulated_evidence(site, month, seed)
    if inspected:
        out.print(
            f"simulated evidence for {month.label} (labelled simulated): {inspected} inspections, "
            f"{surveyed} surveys with {answered} responses"
        )
    for table in assessment_tables(assess_and_write(site, store, month), explain=False):
        out.print(table)
    out.print(
        f"Each component explained: facmon score energy --period {month.label}; facmon score vendors --period {month.label}; "
        f"facmon score vendors --combined --period {month.label}"
    )

    from facmon.dashboards.datasource import datasource_settings
    from facmon.grafana.provisioning import export_provisioning

    grafana_dir = home / "grafana-provisioning"
    err.print(f"[bold]7/7[/bold] Grafana provisioning files (datasource, dashboards, alerting) → {grafana_dir}")
    written = export_provisioning(site, grafana_dir, datasource_settings(endpoints), "zh")
    out.print(f"{len(written)} Grafana provisioning files in {grafana_dir}: copy them to /etc/grafana/provisioning (README, Grafana).")

    out.print(
        f"The stack keeps running: InfluxDB {endpoints.influx_url} (database {store.database}), MQTT "
        f"mqtt://{endpoints.mqtt_host}:{endpoints.mqtt_port}."
    )
    home_prefix = f"FACMON_HOME={home} " if os.environ.get("FACMON_HOME") else ""
    out.print(f"Stop it with: {home_prefix}.venv/bin/facmon stack down   (or: make stack-down)")


def _work_orders(site: Site, site_path: Path | None, home: Path, store: object, web_port: int | None) -> None:
    """Demo accounts (passwords made once, kept in FACMON_HOME/web/demo-accounts.json, mode 0600), one
    sync of the fault data into orders, and `facmon serve` started in the background as part of the stack."""
    import json
    import secrets
    import shutil
    import sys
    from urllib.parse import urlsplit

    from facmon.workorders import server

    if site_path is not None:
        os.environ["FACMON_SITE"] = str(site_path)
    server.migrate()  # sets Django up: the models can be imported from here on
    from facmon.workorders.orders import SYSTEM as FACMON
    from facmon.workorders.orders import visible_orders

    accounts_file = home / "web" / "demo-accounts.json"
    try:
        accounts = json.loads(accounts_file.read_text())
    except (OSError, ValueError):
        accounts = {}
    wanted = [("officer", "officer", "", ""), ("occupant", "occupant", "", site.buildings[0].code)]
    wanted += [(vendor.id, "vendor", vendor.id, "") for vendor in site.vendors]
    for username, role, vendor, building in wanted:
        accounts.setdefault(username, {"password": secrets.token_urlsafe(9), "role": role, "vendor": vendor})
        server.ensure_account(username, accounts[username]["password"], role, vendor=vendor, building=building)
    accounts_file.parent.mkdir(parents=True, exist_ok=True)
    accounts_file.touch(mode=0o600)
    accounts_file.write_text(json.dumps(accounts, indent=2, ensure_ascii=False))
    from facmon.cli.workorders import simulate_vendors

    report = server.Background(store, site, extra_steps=[("simulated vendors", lambda now: simulate_vendors(site, now))]).run_once()
    faults = report.get("faults")
    opened = getattr(faults, "opened", [])
    steps = report.get("simulated vendors")
    out.print(f"simulated vendors took {len(steps) if isinstance(steps, list) else 0} steps on the orders (labelled simulated)")
    waiting = visible_orders(FACMON).filter(state__in=["open", "reopened"]).count()
    out.print(f"work orders: {len(opened)} opened from fault data, {waiting} waiting for a vendor")

    url = urlsplit(site.work_orders.public_url)
    port = web_port or url.port or 80
    facmon_command = shutil.which("facmon") or str(Path(sys.executable).with_name("facmon"))
    command = [facmon_command, "serve", "--host", url.hostname or "127.0.0.1", f"--port={port}", "--simulate-vendors"]
    if site_path is not None:
        command += ["--site", str(site_path)]
    from facmon.stack import port_is_open

    Stack(home).start_process("web", command, port, lambda: port_is_open(url.hostname or "127.0.0.1", port), marker=f"--port={port}")
    address = f"http://{url.hostname or '127.0.0.1'}:{port}"
    table = Table(title=f"Work orders: {address}/  (API {address}/api/docs)")
    for column in ("sign in as", "password", "role"):
        table.add_column(column)
    for username, account in accounts.items():
        table.add_row(username, account["password"], account["role"] + (f" ({account['vendor']})" if account.get("vendor") else ""))
    out.print(table)


def _demo_faults(site: Site, history_start: datetime, live_start: datetime, month_start: datetime) -> list:
    """A few faults for the demo. In the last day and a half of its history: a water leak and a chiller
    fault code still active at the end, a sensor offline for 3 h and a stuck sub-meter, both cleared.
    In the scored month, when the history covers it: the data gateway of 县政协办公楼 offline for 5
    days from the 10th (every meter silent), so that building's data completeness falls short."""
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
    gateway = site.building("341122A004")
    outage_start = month_start + timedelta(days=9)
    if gateway is not None and history_start <= outage_start and outage_start + timedelta(days=5) <= live_start:
        scenario += "".join(
            f"- {{kind: device_offline, building: '341122A004', target: {meter.id}, start: '{outage_start.isoformat()}', duration: 5d, "
            "description: data gateway offline}\n"
            for meter in gateway.meters
        )
    return parse_faults(scenario, Path("demo-faults.yaml"), site)
