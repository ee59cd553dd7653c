"""The registry of facmon's dashboards: one entry per dashboard, each a function of the site registry.

Adding a dashboard is one entry here: (a) site energy overview, (b) building detail, (c) vendor
scorecard and (d) data health (issue 6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from facmon.dashboards import building_detail, data_health, energy_overview, vendor_scorecard
from facmon.dashboards.titles import Lang, title
from facmon.registry import Site

FOLDER_UID = "facmon"


@dataclass(frozen=True)
class DashboardEntry:
    """One dashboard: its fixed uid, the file it is exported to, and the function that builds it."""

    uid: str
    file_stem: str  # dashboards/<file_stem>.json in the provisioning folder
    build: Callable[[Site, Lang], dict[str, Any]]


DASHBOARDS: tuple[DashboardEntry, ...] = (
    DashboardEntry(energy_overview.UID, "energy-overview", energy_overview.energy_overview_dashboard),
    DashboardEntry(building_detail.UID, "building-detail", building_detail.building_detail_dashboard),
    DashboardEntry(vendor_scorecard.UID, "vendor-scorecard", vendor_scorecard.vendor_scorecard_dashboard),
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
