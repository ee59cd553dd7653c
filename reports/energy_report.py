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


def _amount(value: float) -> str:
    """A consumption as printed: whole units from 100 up, three significant digits below (0.3 GJ is not 0)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def building_rows(card: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """One row per building, then the site (and the offices when the site has other uses). A building without
    data shows "–", never 0; a sub-item group without a sub-meter shows "–" (its energy is in the unmetered
    remainder); a total that scales buildings measured on fewer days says so."""
    rows = []
    entries: list[tuple[dict[str, Any], dict[str, Any] | None]] = [(b["indicators"], b) for b in card["buildings"]]
    entries.append((card["site_indicators"], None))
    if card.get("office_indicators"):
        entries.append((card["office_indicators"], None))
    for indicators, scored in entries:
        totals = indicators["totals"]
        has_data = totals["days_with_data"] > 0
        flagged = indicators.get("few_days") is not None
        scaled = scored is None and any(
            0 < b["indicators"]["totals"]["days_with_data"] < totals["days_with_data"] for b in card["buildings"]
        )
        consumption = [
            f"{text(f'energy.{code}', lang)} {_amount(value)} {ENERGY_CATEGORIES[code][1]}"
            if code in ENERGY_CATEGORIES
            else f"{code} {_amount(value)}"
            for code, value in sorted(totals["consumption_by_energy"].items())
        ]
        shares = indicators.get("shares")
        subitems = "–"
        if shares:
            groups = [shares["by_group"].get(g) for g in SUBITEM_GROUPS]
            cells = ["–" if share is None else f"{100 * share:.0f}" for share in groups] + [f"{100 * shares['unmetered']:.0f}"]
            subitems = " / ".join(cells) + " %"
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
        share = None if not after else after.get("after_hours_share")
        notes = [indicators["few_days"]] if flagged else []
        if scaled:
            notes.append(text("scaled_note", lang, days=totals["days_with_data"]))
        period_values = indicators["period_values"] if has_data else {}
        rows.append(
            {
                "code": indicators["building"] if scored is not None else "",
                "name": label,
                "days": f"{totals['days_with_data']} / {indicators['days_in_period']}" + (" ⚠" if flagged or scaled else ""),
                "consumption": consumption or ["–"],
                "kgce": _number(totals["kgce"], 0) if has_data else "–",
                "co2_t": _number(totals["co2_kg"] / 1000, 2) if has_data else "–",
                "kgce_m2_period": _number(period_values.get("kgce_per_m2"), 2),
                "kgce_person_period": _number(period_values.get("kgce_per_person"), 1),
                "kwh_m2_year": _number(indicators["annual"].get("electricity_kwh_per_m2"), 1, flagged),
                "after_hours": "–" if share is None else f"{100 * share:.0f} %",
                "subitems": subitems,
                "gbt": gbt,
                "notes": notes,
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
            name = text(f"component.{c['component']}", lang)
            if c["available"]:
                components.append(f"{name} {c['points']:.1f}/{c['max_points']:.1f}{flag}")
            else:  # why: not applicable, not configured, too little data (the component's own note)
                components.append(f"{name} {text('unavailable', lang)}" + (f" ({c['note']})" if c["note"] else ""))
        rows.append(
            {
                "rank": b["rank"] or "–",
                "code": b["building"],
                "name": b["name"],
                "score": "–" if b["score"] is None else f"{b['score']:.1f}",  # as `facmon score energy` and the dashboard show it
                "explanation": b["explanation"],
                "components": components,
            }
        )
    return rows


def check_format(fmt: str) -> None:
    """Refuse a format the energy report has not got (before anything is computed)."""
    if fmt not in ("pdf", "html"):
        raise InputError(f"--format {fmt!r}: the energy report is pdf or html so far")


def write_energy_report(card: dict[str, Any], out: Path, fmt: str, lang: str, generated_at: datetime) -> Path:
    """The energy report of ``card`` (the energy scorecard's JSON) to ``out``: pdf or html."""
    check_format(fmt)
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
        "missing": [text(f"missing.{key}", lang) for key in ("last_year", "plan_path", "waste", "trend", "heat_map")],
        "separator": "；" if lang == "zh" else "; ",
    }
    return write_document("energy.html", masthead, context, out, fmt)
