"""Grafana file provisioning: the folder of files that ``facmon grafana export`` writes.

Layout (copy the folder's contents to ``/etc/grafana/provisioning``)::

    datasources/facmon.yaml        the InfluxDB datasource (secrets as $__env{...}/$__file{...})
    dashboards/facmon.yaml         a file provider reading the JSON files below into facmon's folder
    dashboards/facmon/<name>.json  one file per dashboard of dashboards.catalog
    alerting/rules.yaml            the fault alert rules (alerts.rules), in folder "facmon"
    alerting/contact-points.yaml   a contact point per vendor and the energy office (alerts.notifications)
    alerting/policies.yaml         the notification policy tree (routes by the vendor label)
    alerting/templates.yaml        the Chinese message templates
    alerting/mute-timings.yaml     the registry's planned maintenance windows

One folder: Grafana provisions alerting before dashboards, and a rule group names its folder by title
only (Grafana 11 finds it by title or creates it with a random uid). So the dashboard provider names
the same title and no ``folderUid``: it then finds that folder by title too, whichever came first. (A
provider with ``folderUid: facmon`` would not find the rules' folder and make a second one, or skip its
dashboards on the title clash.) ``facmon grafana push`` creates the folder with uid ``facmon``.

Every file is checked as Grafana reads it (grafana.check) before any is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from facmon.alerts.files import alerting_documents
from facmon.alerts.notifications import alerting_objects
from facmon.dashboards.catalog import DASHBOARDS, FOLDER_UID, build_dashboards, folder_title
from facmon.dashboards.datasource import (
    DATASOURCE_UID,
    DatasourceSettings,
    datasource_provisioning,
)
from facmon.dashboards.titles import Lang
from facmon.errors import FacmonError
from facmon.grafana.check import refuse_bad_files
from facmon.registry import Site

GRAFANA_PROVISIONING = Path("/etc/grafana/provisioning")
DASHBOARD_SUBFOLDER = "facmon"  # under dashboards/, holds the JSON files
PROVIDER_NAME = "facmon"


def dashboard_provider(lang: Lang, dashboards_path: str) -> dict[str, Any]:
    """The ``dashboards/facmon.yaml`` document: a file provider reading ``dashboards_path`` (a path on
    the Grafana host) into facmon's folder, found by title (see the module docstring); dashboards
    edited in the UI are reset from the files."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": PROVIDER_NAME,
                "orgId": 1,
                "folder": folder_title(lang),
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": dashboards_path, "foldersFromFilesStructure": False},
            }
        ],
    }


def _yaml_text(document: dict[str, Any]) -> str:
    return "# Written by `facmon grafana export` from the site registry; edit the registry, not this file.\n" + yaml.safe_dump(
        document, allow_unicode=True, sort_keys=False
    )


def provisioning_files(site: Site, settings: DatasourceSettings, lang: Lang, *, dashboards_path: str | None = None) -> dict[str, str]:
    """Every provisioning file's text by its path relative to the provisioning folder.

    ``dashboards_path`` is where the dashboard JSON files will be on the Grafana host (default:
    ``/etc/grafana/provisioning/dashboards/facmon``)."""
    path_on_host = dashboards_path or str(GRAFANA_PROVISIONING / "dashboards" / DASHBOARD_SUBFOLDER)
    files = {
        "datasources/facmon.yaml": _yaml_text(datasource_provisioning(settings)),
        "dashboards/facmon.yaml": _yaml_text(dashboard_provider(lang, path_on_host)),
    }
    models = build_dashboards(site, lang)
    for entry in DASHBOARDS:
        files[f"dashboards/{DASHBOARD_SUBFOLDER}/{entry.file_stem}.json"] = (
            json.dumps(models[entry.uid], ensure_ascii=False, indent=2) + "\n"
        )
    objects = alerting_objects(site, FOLDER_UID, DATASOURCE_UID)
    for name, document in alerting_documents(objects, folder_title(lang)).items():
        files[f"alerting/{name}"] = _yaml_text(document)
    return files


def write_files(files: dict[str, str], out_dir: Path) -> list[Path]:
    """Write ``files`` under ``out_dir``; JSON files left in ``dashboards/facmon`` by an earlier export of
    a dashboard that no longer exists are removed: that folder is facmon's alone."""
    written = []
    try:
        for name, text in files.items():
            path = out_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
        dashboards_folder = out_dir / "dashboards" / DASHBOARD_SUBFOLDER
        for stale in dashboards_folder.glob("*.json"):
            if f"dashboards/{DASHBOARD_SUBFOLDER}/{stale.name}" not in files:
                stale.unlink()
    except OSError as exc:
        raise FacmonError(f"cannot write the provisioning folder {out_dir}: {exc.strerror} ({exc.filename})") from None
    return written


def export_provisioning(
    site: Site,
    out_dir: Path,
    settings: DatasourceSettings,
    lang: Lang,
    *,
    dashboards_path: str | None = None,
    check: bool = True,
) -> list[Path]:
    """Check the provisioning files as Grafana 11 reads them, then write them into ``out_dir`` and
    return their paths. Raises :class:`facmon.grafana.check.ProvisioningRefused` (nothing written) when
    Grafana would refuse or mangle any of them; ``check=False`` skips the check (it needs Go)."""
    files = provisioning_files(site, settings, lang, dashboards_path=dashboards_path)
    if check:
        refuse_bad_files(files)
    return write_files(files, out_dir)
