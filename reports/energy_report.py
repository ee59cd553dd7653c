"""The monthly (or annual) energy report, first part: per building and for the site, consumption by energy
type with kgce and CO₂, per m² and per person, after-hours share, electricity sub-item shares, GB/T 51161,
the energy score and ranking with its explanation, and what each figure rests on (days with data,
flags). Rendered from the JSON of `facmon score energy` (the energy scorecard), so every figure is the
command's. What the report does not show yet is listed on its first page, never left as zeros."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from facmon.errors import InputError
from facmon.reports import charts
from facmon.reports.document import Masthead, write_document
from facmon.reports.labels import text
from facmon.standards import ENERGY_CATEGORIES

SUBITEM_GROUPS = ("01A00", "01B00", "01C00", "01D00")


def _number(value: float | None, digits: int = 1, flagged: bool = False) -> str:
    """A figure as printed; a flagged one (a poor estimate) as ≈ with two significant digits."""
    if value is None:
        return "–"
    if flagged:
        return f"≈{float(f'{value:.2g}'):g}"
    return f"{value:,.{digits}f}"


def building_rows(card: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """One row per building, then the site (and the offices when the site has other uses)."""
    rows = []
    entries: list[tuple[dict[str, Any], dict[str, Any] | None]] = [(b["indicators"], b) for b in card["buildings"]]
    entries.append((card["site_indicators"], None))
    if card.get("office_indicators"):
        entries.append((card["office_indicators"], None))
    for indicators, scored in entries:
        totals = indicators["totals"]
        flagged = indicators.get("few_days") is not None
        consumption = [
            f"{text(f'energy.{code}', lang) if code in ENERGY_CATEGORIES else code} {value:,.0f} {ENERGY_CATEGORIES.get(code, ('', ''))[1]}"
            for code, value in sorted(totals["consumption_by_energy"].items())
        ]
        shares = indicators.get("shares")
        subitems = "–"
        if shares:
            groups = [shares["by_group"].get(g, 0.0) for g in SUBITEM_GROUPS]
            subitems = " / ".join(f"{100 * share:.0f}" for share in (*groups, shares["unmetered"])) + " %"
        after = indicators.get("after_hours")
        gbt = "–"
        if scored is not None and scored.get("gbt51161"):
            g = scored["gbt51161"]
            gbt = f"{_number(g['corrected_kwh_m2'], 1, flagged)} ({g['guide_kwh_m2']:g} / {g['constraint_kwh_m2']:g})"
        elif scored is not None and scored["use"] != "office":
            gbt = text("not_applicable", lang)
        label = (
            indicators["name"]
            if scored is not None
            else text("site_total" if indicators is card["site_indicators"] else "offices_total", lang)
        )
        rows.append(
            {
                "code": indicators["building"] if scored is not None else "",
                "name": label,
                "days": f"{totals['days_with_data']} / {indicators['days_in_period']}" + (" ⚠" if flagged else ""),
                "consumption": consumption,
                "kgce": _number(totals["kgce"], 0),
                "co2_t": _number(totals["co2_kg"] / 1000, 2),
                "kgce_m2_period": _number(indicators["period_values"].get("kgce_per_m2"), 2),
                "kgce_person_period": _number(indicators["period_values"].get("kgce_per_person"), 1),
                "kwh_m2_year": _number(indicators["annual"].get("electricity_kwh_per_m2"), 1, flagged),
                "after_hours": "–" if not after else f"{100 * after['after_hours_share']:.0f} %",
                "subitems": subitems,
                "gbt": gbt,
                "few_days": indicators.get("few_days"),
            }
        )
    return rows


def score_rows(card: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    rows = []
    for b in card["buildings"]:
        components = []
        for c in b["components"]:
            basis = c.get("basis") or {}
            flag = " ⚠" if basis.get("flag") else ""
            points = f"{c['points']:.1f}/{c['max_points']:.1f}{flag}" if c["available"] else text("unavailable", lang)
            components.append({"name": c["component"], "points": points, "note": c["note"] or c["rule"]})
        rows.append(
            {
                "rank": b["rank"] or "–",
                "code": b["building"],
                "name": b["name"],
                "score": "–" if b["score"] is None else f"{b['score']:.1f}",
                "explanation": b["explanation"],
                "components": components,
            }
        )
    return rows


def write_energy_report(card: dict[str, Any], out: Path, fmt: str, lang: str, generated_at: datetime) -> Path:
    """The energy report of ``card`` (the energy scorecard's JSON) to ``out``: pdf or html."""
    if fmt not in ("pdf", "html"):
        raise InputError(f"--format {fmt!r}: the energy report is pdf or html so far")
    masthead = Masthead(card["site"], text("energy_report", lang), card["period"], generated_at, lang)
    buildings = card["buildings"]
    chart = charts.score_bars_svg([b["name"] for b in buildings], [b["score"] for b in buildings], [], text("energy_chart_title", lang))
    context = {
        "t": lambda key, **fields: text(key, lang, **fields),
        "card": card,
        "rows": building_rows(card, lang),
        "scores": score_rows(card, lang),
        "weights": card["weights"],
        "chart": chart,
        "missing": [text(f"missing.{key}", lang) for key in ("last_year", "waste", "trend", "heat_map")],
    }
    return write_document("energy.html", masthead, context, out, fmt)
