"""`facmon site check`: validate and summarise the site registry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.table import Table

from facmon.cli.options import SiteOption
from facmon.cli.output import FormatOption, OutputFormat, emit
from facmon.registry import Site, load_site
from facmon.settings import default_site_path
from facmon.standards import Severity

site_app = typer.Typer(help="Validate and summarise the site registry.", no_args_is_help=True)


def _site_summary(site: Site) -> dict:
    buildings = []
    for b in site.buildings:
        meters_by_energy = Counter(m.energy for m in b.meters)
        buildings.append(
            {
                "code": b.code,
                "name": b.name,
                "floor_area_m2": b.floor_area_m2,
                "energy_users": b.energy_users,
                "use": b.use.value,
                "class": f"{b.office_class.value}/{b.office_use.value}" if b.office_use is not None else b.office_class.value,
                "meters": len(b.meters),
                "meters_by_energy": dict(sorted(meters_by_energy.items())),
                "ieq_sensors": len(b.ieq_sensors),
                "weather_sensors": len(b.weather_sensors),
                "equipment": len(b.equipment),
            }
        )
    vendors = [
        {
            "id": v.id,
            "name": v.name,
            "systems": sorted({s.value for c in site.coverage if c.vendor == v.id for s in c.systems}),
            "equipment": sum(1 for b in site.buildings for e in b.equipment if site.equipment_vendor(b.code, e) == v.id),
            "sla_critical_restore_min": v.sla[Severity.CRITICAL].restore_min,
        }
        for v in site.vendors
    ]
    return {"site": site.site.name, "climate_zone": site.site.climate_zone.value, "buildings": buildings, "vendors": vendors}


# A city's registry lists thousands of buildings: the table sums them by county (rendering 10,000 rows
# took longer than loading the registry); --format json still lists each one.
BUILDINGS_LISTED = 200


def _building_table(site: Site, summary: dict, path: Path) -> Table:
    table = Table(title=f"{site.site.name} ({site.site.climate_zone.value}, {site.site.timezone}) — {path}")
    for column in ("building", "name", "use", "area m²", "users", "class", "meters (by energy code)", "IEQ", "weather", "equipment"):
        table.add_column(column, justify="right" if column in ("area m²", "users", "IEQ", "weather", "equipment") else "left")
    for b in summary["buildings"]:
        by_energy = ", ".join(f"{code}×{n}" for code, n in b["meters_by_energy"].items())
        table.add_row(
            b["code"],
            b["name"],
            b["use"],
            f"{b['floor_area_m2']:,.0f}",
            str(b["energy_users"]),
            b["class"],
            f"{b['meters']} ({by_energy})",
            str(b["ieq_sensors"]),
            str(b["weather_sensors"]),
            str(b["equipment"]),
        )
    return table


def _by_county(site: Site, summary: dict, path: Path) -> Table:
    table = Table(
        title=f"{site.site.name} ({site.site.climate_zone.value}, {site.site.timezone}) — {path}",
        caption=f"{len(summary['buildings']):,} buildings, summed by county (GB/T 2260); --format json lists each building",
    )
    for column in ("county", "buildings", "area m²", "users", "meters", "IEQ", "weather", "equipment"):
        table.add_column(column, justify="left" if column == "county" else "right")
    counties: dict[str, Counter[str]] = {}
    for b in summary["buildings"]:
        county = counties.setdefault(b["code"][:6], Counter())
        county.update(
            buildings=1,
            area=b["floor_area_m2"],
            users=b["energy_users"],
            meters=b["meters"],
            ieq=b["ieq_sensors"],
            weather=b["weather_sensors"],
            equipment=b["equipment"],
        )
    for code, n in sorted(counties.items()):
        table.add_row(
            code,
            f"{n['buildings']:,}",
            f"{n['area']:,.0f}",
            f"{n['users']:,}",
            f"{n['meters']:,}",
            f"{n['ieq']:,}",
            f"{n['weather']:,}",
            f"{n['equipment']:,}",
        )
    return table


@site_app.command("check")
def site_check(
    file: Annotated[
        Path | None, typer.Argument(help="Registry file or folder; else --site / $FACMON_SITE / the example.", show_default=False)
    ] = None,
    site_path: SiteOption = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Validate a site registry and print a summary of its buildings and vendors."""
    path = file or site_path or default_site_path()
    site = load_site(path)
    summary = _site_summary(site)

    def show() -> Iterator[RenderableType]:
        if len(summary["buildings"]) > BUILDINGS_LISTED:
            yield _by_county(site, summary, path)
        else:
            yield _building_table(site, summary, path)
        vendors = Table(title="Vendors")
        for column in ("vendor", "name", "systems covered", "equipment", "critical restore min"):
            vendors.add_column(column)
        for v in summary["vendors"]:
            vendors.add_row(v["id"], v["name"], ", ".join(v["systems"]), str(v["equipment"]), f"{v['sla_critical_restore_min']:g}")
        yield vendors
        yield f"[green]valid[/green]: {len(site.buildings)} buildings, {len(site.vendors)} vendors"

    emit(output, {"file": str(path), "valid": True, **summary}, show)
