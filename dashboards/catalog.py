"""The registry of facmon's dashboards: one entry per dashboard, each a function of the site registry.

Adding a dashboard is one entry here. Planned (issue 6): (a) site energy overview, (b) building
detail, (c) vendor scorecard; they plug in the same way once analytics writes ``energy_*``,
``score_*`` and ``fault``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dashboards import data_health
from dashboards.titles import Lang, title
from facmon.registry import Site

FOLDER_UID = "facmon"


@dataclass(frozen=True)
class DashboardEntry:
    """One dashboard: its fixed uid, the file it is exported to, and the function that builds it."""

    uid: str
    file_stem: str  # dashboards/<file_stem>.json in the provisioning folder
    build: Callable[[Site, Lang], dict[str, Any]]


DASHBOARDS: tuple[DashboardEntry, ...] = (
    DashboardEntry(data_health.UID, "data-health", data_health.data_health_dashboard),
)


def folder_title(lang: Lang) -> str:
    return title("folder", lang)


def build_dashboards(site: Site, lang: Lang) -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON by uid, built from ``site`` with titles in ``lang``."""
    built = {}
    for entry in DASHBOARDS:
        model = entry.build(site, lang)
        if model.get("uid") != entry.uid:
            raise AssertionError(f"dashboard builder for {entry.uid} produced uid {model.get('uid')!r}")
        built[entry.uid] = model
    return built
