"""Grafana file provisioning: the folder of files that ``facmon grafana export`` writes.

Layout (copy the folder's contents to ``/etc/grafana/provisioning``)::

    datasources/facmon.yaml        the InfluxDB datasource (secrets as $__env{...}/$__file{...})
    dashboards/facmon.yaml         a file provider reading the JSON files below into folder "facmon"
    dashboards/facmon/<name>.json  one file per dashboard of dashboards.catalog
    alerting/rules.yaml            the fault alert rules (alerts.rules), in folder "facmon"
    alerting/contact-points.yaml   a contact point per vendor and the energy office (alerts.notifications)
    alerting/policies.yaml         the notification policy tree (routes by the vendor label)
    alerting/templates.yaml        the Chinese message templates
    alerting/mute-timings.yaml     the registry's planned maintenance windows
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from alerts.files import alerting_documents
from alerts.notifications import alerting_objects
from dashboards.catalog import DASHBOARDS, FOLDER_UID, build_dashboards, folder_title
from dashboards.datasource import (
    DATASOURCE_UID,
    DatasourceSettings,
    datasource_provisioning,
)
from dashboards.titles import Lang
from facmon.errors import FacmonError
from facmon.registry import Site

GRAFANA_PROVISIONING = Path("/etc/grafana/provisioning")
DASHBOARD_SUBFOLDER = "facmon"  # under dashboards/, holds the JSON files
PROVIDER_NAME = "facmon"


def dashboard_provider(lang: Lang, dashboards_path: str) -> dict[str, Any]:
    """The ``dashboards/facmon.yaml`` document: a file provider reading ``dashboards_path`` (a path on
    the Grafana host) into facmon's folder; dashboards edited in the UI are reset from the files."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": PROVIDER_NAME,
                "orgId": 1,
                "folder": folder_title(lang),
                "folderUid": FOLDER_UID,
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": dashboards_path, "foldersFromFilesStructure": False},
            }
        ],
    }


def _write_yaml(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(
        "# Written by `facmon grafana export` from the site registry; edit the registry, not this file.\n"
        + yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path


def export_provisioning(
    site: Site,
    out_dir: Path,
    settings: DatasourceSettings,
    lang: Lang,
    *,
    dashboards_path: str | None = None,
) -> list[Path]:
    """Write the provisioning files into ``out_dir`` and return their paths.

    ``dashboards_path`` is where the dashboard JSON files will be on the Grafana host (default:
    ``/etc/grafana/provisioning/dashboards/facmon``). JSON files left in ``dashboards/facmon`` by an
    earlier export of a dashboard that no longer exists are removed: that folder is facmon's alone.
    """
    try:
        dashboards_folder = out_dir / "dashboards" / DASHBOARD_SUBFOLDER
        dashboards_folder.mkdir(parents=True, exist_ok=True)
        (out_dir / "datasources").mkdir(parents=True, exist_ok=True)
        (out_dir / "alerting").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacmonError(f"cannot create the provisioning folder {out_dir}: {exc.strerror}") from None
    written = [_write_yaml(out_dir / "datasources" / "facmon.yaml", datasource_provisioning(settings))]
    path_on_host = dashboards_path or str(GRAFANA_PROVISIONING / "dashboards" / DASHBOARD_SUBFOLDER)
    written.append(_write_yaml(out_dir / "dashboards" / "facmon.yaml", dashboard_provider(lang, path_on_host)))
    models = build_dashboards(site, lang)
    current = set()
    for entry in DASHBOARDS:
        path = dashboards_folder / f"{entry.file_stem}.json"
        path.write_text(json.dumps(models[entry.uid], ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        current.add(path.name)
        written.append(path)
    for stale in dashboards_folder.glob("*.json"):
        if stale.name not in current:
            stale.unlink()
    objects = alerting_objects(site, FOLDER_UID, DATASOURCE_UID)
    for name, document in alerting_documents(objects, folder_title(lang)).items():
        written.append(_write_yaml(out_dir / "alerting" / name, document))
    return written
