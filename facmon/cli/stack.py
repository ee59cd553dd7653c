"""`facmon stack up|down|status`: the local Mosquitto + InfluxDB stack under FACMON_HOME."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.table import Table

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit, err, out
from facmon.settings import facmon_home
from facmon.stack import Stack

stack_app = typer.Typer(help="Run the local Mosquitto + InfluxDB + PostgreSQL stack under FACMON_HOME.", no_args_is_help=True)


MqttPortOption = Annotated[
    int | None, typer.Option("--mqtt-port", envvar="FACMON_MQTT_PORT", help="Mosquitto port (default: 11883).", show_default=False)
]
InfluxPortOption = Annotated[int | None, typer.Option("--influx-port", help="InfluxDB HTTP port (default: 18086).", show_default=False)]
PostgresPortOption = Annotated[
    int | None, typer.Option("--postgres-port", help="PostgreSQL port of the work orders (default: 15432).", show_default=False)
]
InfluxRpcPortOption = Annotated[
    int | None, typer.Option("--influx-rpc-port", help="InfluxDB backup/restore RPC port (default: 18088).", show_default=False)
]


def print_stack(status: dict, output: OutputFormat) -> None:
    def show() -> Iterator[RenderableType]:
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
        yield table

    emit(output, status, show)
    for warning in status.get("warnings", []):
        err.print(f"[bold yellow]WARNING[/bold yellow] {warning}", highlight=False)


@stack_app.command("up")
def stack_up(
    mqtt_port: MqttPortOption = None,
    influx_port: InfluxPortOption = None,
    influx_rpc_port: InfluxRpcPortOption = None,
    postgres_port: PostgresPortOption = None,
    auth: Annotated[
        bool | None,
        typer.Option(
            "--auth/--no-auth",
            help="Refuse anonymous MQTT clients; apply the password file and ACL made from the registry "
            "(generated into FACMON_HOME/mqtt when missing). Default: the stack's setting in FACMON_HOME/mqtt/security.json, "
            "kept across down and reboots; with credentials in FACMON_HOME/mqtt an anonymous broker needs --no-auth.",
            show_default=False,
        ),
    ] = None,
    tls: Annotated[
        bool | None,
        typer.Option(
            "--tls/--no-tls",
            help="MQTT over TLS with a local CA (FACMON_HOME/mqtt/tls/ca.crt). Default: the stack's setting, kept across down and reboots.",
            show_default=False,
        ),
    ] = None,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Start Mosquitto, InfluxDB and PostgreSQL (work orders) on loopback (harmless when they already run)."""
    stack = Stack(facmon_home(), mqtt_port=mqtt_port, influx_port=influx_port, influx_rpc_port=influx_rpc_port, postgres_port=postgres_port)
    if auth or (auth is None and stack.mqtt_security()["auth"]):
        # keeps existing passwords; adds and removes gateways as the registry changed
        from facmon.broker_auth import write_broker_files

        write_broker_files(load_site_option(site_path), stack.mqtt_auth_folder)
    print_stack(stack.up(auth=auth, tls=tls), output)


@stack_app.command("down")
def stack_down() -> None:
    """Stop exactly the servers `facmon stack up` started."""
    stopped = Stack(facmon_home()).down()
    out.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@stack_app.command("status")
def stack_status(output: FormatOption = OutputFormat.TABLE) -> None:
    """Show each service with host, port and PID, the InfluxDB database name and the broker's security
    (as it runs, or as the next `up` starts it)."""
    print_stack(Stack(facmon_home()).status(), output)
