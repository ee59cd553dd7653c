"""The monthly (or annual) energy report, first part: per building and for the site, consumption by energy
type with kgce and CO₂, per m² and per person, after-hours share, electricity sub-item shares, GB/T 51161,
the energy score and ranking with its explanation, and what each figure rests on (days with data,
flags). Rendered from the JSON of `facmon score energy` (the energy scorecard), so every figure is the
command's. What the report does not show yet is listed on its first page, never left as zeros."""

from __future__ import annotations

import calendar
from datetime import datetime
from pathlib import Path
from typing import Any

from facmon.errors import InputError
from facmon.reports import charts
from facmon.reports.document import Masthead, write_document
from facmon.reports.labels import CATALOGUE, text
from facmon.rounding import up_to_two_significant
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


def scaled(card: dict[str, Any], total: dict[str, Any]) -> bool:
    """Whether a total (the site's, or the offices') scales a building of its own measured on fewer days."""
    members = [b for b in card["buildings"] if total is card["site_indicators"] or b["use"] == "office"]
    return any(0 < b["indicators"]["totals"]["days_with_data"] < total["totals"]["days_with_data"] for b in members)


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
        is_scaled = scored is None and scaled(card, indicators)
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
        if is_scaled:
            notes.append(text("scaled_note", lang, days=totals["days_with_data"]))
        period_values = indicators["period_values"] if has_data else {}
        rows.append(
            {
                "code": indicators["building"] if scored is not None else "",
                "name": label,
                "days": f"{totals['days_with_data']} / {indicators['days_in_period']}" + (" ⚠" if flagged or is_scaled else ""),
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


def savings_rows(card: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Per building: the weather-normalised savings against the baseline year with their ± band and the days
    they rest on, or why there are none (the savings component's own note)."""
    rows = []
    for b in card["buildings"]:
        found = card.get("savings", {}).get(b["building"])
        if found is None:
            component = next((c for c in b["components"] if c["component"] == "savings"), None)
            why = component["note"] if component is not None and component["note"] else ""
            rows.append({"name": b["name"], "available": False, "why": f"{text('no_savings', lang)}" + (f": {why}" if why else "")})
            continue
        band = found["uncertainty_kwh"] / found["predicted_kwh"] if found["predicted_kwh"] > 0 else None
        rows.append(
            {
                "name": b["name"],
                "available": True,
                "saved": f"{100 * found['fraction']:.1f} %" + ("" if band is None else f" ± {100 * band:.1f} %"),
                "confidence": f"{100 * found['confidence']:.0f} %",
                "avoided": f"{found['avoided_kwh']:,.0f} ± {found['uncertainty_kwh']:,.0f}",
                "predicted": f"{found['predicted_kwh']:,.0f}",
                "observed": f"{found['observed_kwh']:,.0f}",
                "days": found["m"],
                "fsu": "–" if found["fsu"] is None else f"{100 * found['fsu']:.0f} %",
                "inconclusive": found["inconclusive"],
            }
        )
    return rows


def plan_rows(card: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Per building and indicator: base, actual (annual), target, required and achieved reduction, progress;
    or why the plan is not compared (the plan's own reasons)."""
    rows = []
    for b in card["buildings"]:
        plan = b.get("plan")
        if plan is None:
            rows.append({"name": b["name"], "available": False, "why": text("no_savings", lang)})
            continue
        window = plan["window"]
        base = plan["base"]
        note = ""
        if window is not None and base is not None:
            note = text(
                "plan_note",
                lang,
                window=window["label"],
                days_with_data=window["days_with_data"],
                days=window["days"],
                base_kind=text(f"base.{base['kind']}", lang),
                source=base["source"],
            )
        for p in plan["progress"]:
            label = f"indicator.{p['indicator']}"
            rows.append(
                {
                    "name": b["name"],
                    "available": True,
                    "indicator": text(label, lang) if label in CATALOGUE else p["indicator"],
                    "base": f"{p['base_value']:,.2f}",
                    "actual": f"{p['actual_value']:,.2f}",
                    "target": f"{p['target_value']:,.2f}",
                    "required": f"{100 * p['required_reduction']:.1f} %",
                    "achieved": f"{100 * p['achieved_reduction']:.1f} %",
                    "progress": f"{100 * p['progress']:.0f} %",
                    "note": note,
                }
            )
        if not plan["progress"]:
            # the headline indicator's reason; the others' are mostly the same words (the whole table has them in the JSON)
            reasons = plan["unavailable"].get("kgce_per_m2") or next(iter(plan["unavailable"].values()), "")
            rows.append({"name": b["name"], "available": False, "why": f"{text('no_savings', lang)}" + (f": {reasons}" if reasons else "")})
    return rows


def trend_chart(card: dict[str, Any], lang: str) -> str | None:
    """The site's monthly kgce beside the same months a year before, or None without a trend in the figures."""
    site = next((t for t in card.get("trend", []) if t["building"] == ""), None)
    if site is None:
        return None
    months = [m["month"] for m in site["months"]]

    def short(points: list[dict[str, Any]]) -> list[bool]:
        return [p["kgce"] is not None and p["days"] < calendar.monthrange(int(p["month"][:4]), int(p["month"][5:]))[1] for p in points]

    return charts.trend_svg(
        months,
        [m["kgce"] for m in site["months"]],
        [m["kgce"] for m in site["last_year"]],
        short(site["months"]),
        short(site["last_year"]),
        (text("this_year", lang), text("a_year_before", lang)),
        text("trend_title", lang),
        "kgce",
    )


def subitem_chart(card: dict[str, Any], lang: str) -> str:
    """Each building's electricity by sub-item group A/B/C/D and the unmetered remainder (shares of the main meter)."""
    names, shares = [], []
    for b in card["buildings"]:
        found = b["indicators"].get("shares")
        names.append(b["name"])
        shares.append([] if not found else [found["by_group"].get(g) or 0.0 for g in SUBITEM_GROUPS] + [found["unmetered"]])
    parts = [g[2] for g in SUBITEM_GROUPS] + [text("unmetered", lang)]
    return charts.share_bars_svg(names, shares, parts, text("subitem_chart", lang))


def heat_map(card: dict[str, Any], lang: str) -> tuple[str, str] | None:
    """The heat map of hourly load and its note (hours with data, incomplete hours), or None without it."""
    load = card.get("load_profile")
    if load is None:
        return None
    hours = sum(v is not None for row in load["kwh"] for v in row)
    partial = sum(bool(p) for row in load["partial"] for p in row)
    elapsed_days = min(len(load["days"]), card.get("period_elapsed_days", len(load["days"])))
    chart = charts.heat_map_svg(
        load["days"], load["kwh"], load["partial"], text("heat_map_title", lang), "kWh", text("heat_map_missing", lang)
    )
    return chart, text("heat_map_note", lang, hours=hours, of=24 * elapsed_days, partial=partial)


def waste_rows(card: dict[str, Any], lang: str) -> tuple[list[dict[str, Any]], list[str], str] | None:
    """The waste each fault caused (upper bounds), the totals per energy category, and the prices' line; None
    without it in the figures."""
    waste = card.get("fault_waste")
    if waste is None:
        return None
    names = {b["building"]: b["name"] for b in card["buildings"]}
    rows: list[dict[str, Any]] = []
    totals: dict[str, float] = {}
    money: dict[str, float] = {}
    for w in waste["faults"]:
        unit = ENERGY_CATEGORIES[w["energy"]][1]
        rows.append(
            {
                "building": names.get(w["building"], w["building"]),
                "fault": text(f"kind.{w['kind']}", lang),
                "target": w["target"],
                "hours": f"{w['hours']:.1f}",
                "at_most": "–" if w["at_most"] is None else f"{w['at_most']:,.6g} {unit}",
                "at_most_cny": "–" if w["at_most_cny"] is None else f"{w['at_most_cny']:,.6g}",
                "how": text(f"method.{w['method']}", lang),
            }
        )
        if w["at_most"] is not None:
            totals[w["energy"]] = totals.get(w["energy"], 0.0) + w["at_most"]
        if w["at_most_cny"] is not None:
            money[w["energy"]] = money.get(w["energy"], 0.0) + w["at_most_cny"]
    summary = []
    for code, amount in sorted(totals.items()):
        line = f"{text(f'energy.{code}', lang)} ≤ {up_to_two_significant(amount):,.6g} {ENERGY_CATEGORIES[code][1]}"
        if code in money:
            line += f", ≤ {up_to_two_significant(money[code]):,.6g} {text('cny', lang)}"
        summary.append(line)
    tariffs = waste["tariffs"]
    if tariffs["cny_per_unit"]:
        prices = ", ".join(
            f"{text(f'energy.{code}', lang)} {price:g} CNY/{ENERGY_CATEGORIES[code][1]}"
            for code, price in sorted(tariffs["cny_per_unit"].items())
        )
        priced = text("tariff_source", lang, prices=prices, source=tariffs["source"])
    else:
        priced = text("no_tariff", lang)
    return rows, summary, priced


def period_not_over(card: dict[str, Any], lang: str) -> str | None:
    """ "The period is not over (N of M days)" for a period that runs into today or later, else None."""
    elapsed = card.get("period_elapsed_days", card["period_days"])
    return None if elapsed >= card["period_days"] else text("not_over", lang, elapsed=elapsed, days=card["period_days"])


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
        "not_over": period_not_over(card, lang),
        "rows": building_rows(card, lang),
        "scores": score_rows(card, lang),
        "weights": card["weights"],
        "chart": chart,
        "savings": savings_rows(card, lang),
        "plans": plan_rows(card, lang),
        "trend_chart": trend_chart(card, lang),
        "subitem_chart": subitem_chart(card, lang),
        "heat_map": heat_map(card, lang),
        "waste": waste_rows(card, lang),
        "separator": "；" if lang == "zh" else "; ",
    }
    return write_document("energy.html", masthead, context, out, fmt)
