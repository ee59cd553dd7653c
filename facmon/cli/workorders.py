"""`facmon serve` and `facmon workorders account|sync`: the work-order service for vendors, officers
and occupants (workorders/)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.table import Table

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit, out
from facmon.errors import FacmonError
from facmon.settings import open_store, read_secret, resolve_endpoints

workorders_app = typer.Typer(help="Work-order accounts and the sync of fault data into orders.", no_args_is_help=True)


def _use_site(site_path: Path | None) -> Any:
    """Load the registry and make the web service read the same file."""
    site = load_site_option(site_path)
    if site_path is not None:
        os.environ["FACMON_SITE"] = str(site_path)
    return site


def simulate_vendors(site: Any, now: datetime, seed: int = 0) -> list[str]:
    """The demo's simulated vendors act on every order still owed, up to ``now`` (simulators.vendors draws
    when; recorded as the vendor, channel api, note and detail "simulated"). Returns "GD.. action" lines."""
    from facmon.simulators.vendors import OrderFacts, vendor_steps
    from facmon.workorders import orders
    from facmon.workorders.lifecycle import WORKING, Action, Channel, Role, State, actions_for
    from facmon.workorders.models import WorkOrder

    taken = []
    for order in WorkOrder.objects.filter(state__in=[s.value for s in WORKING]).order_by("id"):
        vendor = site.vendor(order.vendor)
        if vendor is None:
            continue
        facts = OrderFacts(
            f"{order.number}-{order.episodes}",
            order.reported_at,
            vendor.sla[order.severity].onsite_min,
            order.source == WorkOrder.SOURCE_FAULT,
            order.fault_cleared_at,
        )
        staff = orders.Actor(f"simulated-{order.vendor}", Role.VENDOR, order.vendor)
        for step in vendor_steps(facts, seed=seed):
            if step.at > now:
                break
            action = Action(step.action)
            if action not in actions_for(State(order.state), Role.VENDOR):
                continue  # taken in an earlier pass
            orders.act(site, order.pk, action, staff, Channel.API, step.at, note="simulated vendor", detail={"simulated": True})
            order.refresh_from_db()
            taken.append(f"{order.number} {action.value}")
    return taken


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 for every interface, behind the site's HTTPS proxy).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (the registry's work_orders.public_url should reach it).")] = 18000,
    interval_s: Annotated[
        float, typer.Option("--interval-s", help="Seconds between passes of fault sync, SLA breaches and timeline.")
    ] = 10.0,
    simulated_vendors: Annotated[
        bool, typer.Option("--simulate-vendors", help="Demo only: simulated vendors acknowledge, arrive and resolve the orders.")
    ] = False,
    site_path: SiteOption = None,
) -> None:
    """Serve the work-order pages and JSON API (zh-CN, English available), and turn fault data into orders."""
    from facmon.workorders import server

    site = _use_site(site_path)
    store = open_store(resolve_endpoints())
    out.print(f"work orders: http://{host}:{port}/  (API: /api/docs; alert links use {site.work_orders.public_url})", highlight=False)
    extra = [("simulated vendors", lambda now: simulate_vendors(site, now))] if simulated_vendors else None
    server.serve(host, port, store=store, site=site, interval_s=interval_s, extra_steps=extra)


@workorders_app.command("account")
def account(
    username: Annotated[str, typer.Argument(help="User name to sign in with.")],
    role: Annotated[str, typer.Option(help="officer, vendor or occupant.")],
    vendor: Annotated[str, typer.Option(help="For vendor staff: the registry's vendor id.")] = "",
    building: Annotated[str, typer.Option(help="For occupants: their building code (preselected in requests).")] = "",
    site_path: SiteOption = None,
) -> None:
    """Create or update an account. The password comes from FACMON_ACCOUNT_PASSWORD (or _FILE), else a prompt; never the command line."""
    from facmon.workorders import server

    site = _use_site(site_path)
    if vendor and site.vendor(vendor) is None:
        raise FacmonError(f"--vendor {vendor!r} is not a vendor of the registry ({', '.join(v.id for v in site.vendors)})")
    if building and site.building(building) is None:
        raise FacmonError(f"--building {building!r} is not a building of the registry")
    password = read_secret("FACMON_ACCOUNT_PASSWORD") or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise FacmonError("the password needs at least 10 characters")
    server.migrate()
    server.ensure_account(username, password, role, vendor=vendor, building=building)
    out.print(f"account {username} ({role}{' of ' + vendor if vendor else ''}) saved")


@workorders_app.command("migrate")
def migrate() -> None:
    """Bring the work-order database's tables up to this version (Django migrations), then exit: run once per upgrade,
    before the web service starts (deploy/systemd's facmon-migrate.service); `facmon serve` also does it at start."""
    from facmon.workorders import server

    server.migrate()
    out.print("work-order database migrated")


@workorders_app.command("sync")
def sync(
    simulated_vendors: Annotated[
        bool, typer.Option("--simulate-vendors", help="Demo only: simulated vendors act on the orders up to now.")
    ] = False,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """One pass of what `facmon serve` does in the background: fault data → orders, SLA breaches, the InfluxDB timeline."""
    from facmon.workorders import server

    site = _use_site(site_path)
    server.migrate()
    extra = [("simulated vendors", lambda now: simulate_vendors(site, now))] if simulated_vendors else None
    report = server.Background(open_store(resolve_endpoints()), site, extra_steps=extra).run_once(datetime.now(UTC))
    failed = {name: str(value) for name, value in report.items() if isinstance(value, Exception)}
    summary: dict[str, Any] = {
        "opened": report["faults"].opened if "faults" not in failed else [],
        "reopened": report["faults"].reopened if "faults" not in failed else [],
        "restored": report["faults"].restored if "faults" not in failed else [],
        "withdrawn": report["faults"].withdrawn if "faults" not in failed else [],
        "reinstated": report["faults"].reinstated if "faults" not in failed else [],
        "unowned_faults": report["faults"].unowned if "faults" not in failed else None,
        "breaches": [f"{n} {w}" for n, w in report["breaches"]] if "breaches" not in failed else [],
        "timeline_written": report["timeline"] if "timeline" not in failed else 0,
        "simulated_vendor_steps": len(report.get("simulated vendors") or []) if "simulated vendors" not in failed else 0,
        "failed": failed,
    }

    def show() -> Iterator[RenderableType]:
        table = Table(title="work-order sync")
        table.add_column("what")
        table.add_column("result")
        for key, value in summary.items():
            table.add_row(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
        yield table

    emit(output, summary, show)
    if failed:
        raise FacmonError("; ".join(f"{k}: {v}" for k, v in failed.items()))
