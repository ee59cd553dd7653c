"""`facmon grafana export|push`: Grafana provisioning files or an HTTP API push."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table

from facmon.cli.options import SiteOption, load_site_option
from facmon.cli.output import FormatOption, OutputFormat, emit
from facmon.settings import resolve_endpoints

grafana_app = typer.Typer(
    help="Grafana as code from the registry: provisioning files (`export`) or an HTTP API push (`push`).", no_args_is_help=True
)

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

    return load_site_option(site_path), check_lang(lang), datasource_settings(resolve_endpoints(), influx_version)


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

    def show() -> Iterator[RenderableType]:
        table = Table(title=f"Grafana provisioning files in {out_dir}")
        table.add_column("file")
        for path in written:
            table.add_row(escape(str(path.relative_to(out_dir))))
        yield table
        yield f"Copy the contents of {escape(str(out_dir))} to /etc/grafana/provisioning and restart Grafana (README, Grafana)."

    emit(output, {"out": str(out_dir), "files": [str(path.relative_to(out_dir)) for path in written]}, show)


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

    def show() -> Iterator[RenderableType]:
        table = Table(title=f"{'Plan for' if dry_run else 'Pushed to'} Grafana at {escape(url)}")
        for column in ("object", "uid", "title", "action"):
            table.add_column(column)
        colour = {"create": "green", "update": "yellow", "unchanged": "dim", "delete": "red"}
        for change in changes:
            table.add_row(change.kind, escape(change.uid), escape(change.title), f"[{colour[change.action.value]}]{change.action.value}[/]")
        yield table
        pending = sum(1 for change in changes if change.apply is not None)
        if dry_run:
            yield f"dry run: {pending} object(s) would change; nothing was sent"
        else:
            yield f"{pending} object(s) created, updated or deleted, {len(changes) - pending} unchanged"

    emit(
        output,
        {
            "url": url,
            "dry_run": dry_run,
            "changes": [{"kind": c.kind, "uid": c.uid, "title": c.title, "action": c.action.value} for c in changes],
        },
        show,
    )
