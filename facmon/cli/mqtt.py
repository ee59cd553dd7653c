"""`facmon mqtt credentials`: broker users and access control from the registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.table import Table

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit
from facmon.settings import facmon_home
from facmon.stack import Stack

mqtt_app = typer.Typer(help="Broker users and access control, generated from the site registry.", no_args_is_help=True)


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

    site = load_site_option(site_path)
    folder = out_dir or Stack(facmon_home()).mqtt_auth_folder
    written = write_broker_files(site, folder, rotate=rotate)
    body = {
        "folder": str(folder),
        "rotated": rotate,
        "users": [
            {"user": g.user, "role": g.role, "building": g.building, "publish": list(g.publish), "read": list(g.read)} for g in written
        ],
    }

    def show() -> Iterator[RenderableType]:
        table = Table(title=f"MQTT users in {folder} (passwords in credentials.json, mode 0600)")
        for column in ("user", "role", "may publish", "may read"):
            table.add_column(column)
        for g in written:
            table.add_row(g.user, g.role + (f" {g.building}" if g.building else ""), "\n".join(g.publish) or "-", "\n".join(g.read) or "-")
        yield table
        yield f"{'new passwords for all users' if rotate else 'existing passwords kept'}; anonymous clients may do nothing"

    emit(output, body, show)
