"""The vendor assessment report (month, quarter, year): the method, the results of every vendor with a
chart, then one page per vendor that can be handed to it: its score and grade, the contract's
consequence, each part with what it rests on, every point lost, its standing over the periods before, and
the amendments made after closing. Rendered from the JSON of `facmon score vendors --combined` (the
assessment card), so the report shows exactly its figures; and a workbook of the same."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from facmon.errors import InputError
from facmon.reports import charts
from facmon.reports.document import Masthead, write_document
from facmon.reports.labels import text

PUBLICATION_COLUMNS = (
    "state",
    "vendor",
    "name",
    "period",
    "score",
    "grade",
    "measured",
    "inspections",
    "satisfaction",
    "third_party",
    "deduction_cny",
    "standing",
    "basis",
)


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def local_time(iso: str, zone: tzinfo | None, minutes: bool = True) -> str:
    """An ISO time from the card (UTC from the database) in the site's time zone, as people read it."""
    moment = datetime.fromisoformat(iso)
    if zone is not None:
        moment = moment.astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M" if minutes else "%Y-%m-%d")


def standing_of(card: dict[str, Any], vendor: dict[str, Any]) -> str | None:
    """The vendor's standing: its consequence's, else (ungraded) the one the dynamic list carries over."""
    if vendor["consequence"] is not None:
        return str(vendor["consequence"]["standing"])
    history = card["history"].get(vendor["vendor"]) or []
    return str(history[-1]["standing"]) if history else None


def vendor_pages(card: dict[str, Any], lang: str, zone: tzinfo | None = None) -> list[dict[str, Any]]:
    """Per vendor what its page shows, with the labels of ``lang`` and times in ``zone``."""
    pages = []
    for v in card["vendors"]:
        c = v["consequence"]
        consequence = None
        if c is not None:
            if c["deduction_cny"] is None:
                deduction = text("no_fee", lang)
            else:
                deduction = text(
                    "deduction_text",
                    lang,
                    amount=f"{c['deduction_cny']:,.2f}",
                    percent=f"{c['deduction_percent']:g}",
                    fee=f"{c['fee_cny']:,.2f}",
                    period=card["period"],
                )
            flags = [text("warning", lang)] if c["warning"] else []
            if c["not_renew"]:
                flags.append(text("not_renew", lang))
            consequence = {
                "deduction": deduction,
                "standing": text(f"standing.{c['standing']}", lang),
                "flags": flags,
                "reason": c["reason"] + (f" ({c['reference']})" if c.get("reference") else ""),
            }
        losses = sorted((loss for p in v["parts"] if p["available"] for loss in p["losses"]), key=lambda loss: -loss["combined_points"])
        pages.append(
            {
                "vendor": v,
                "score": _number(v["score"]),
                "grade": v["grade_label"] or text("ungraded", lang),
                "consequence": consequence,
                "parts": [
                    {
                        "label": text(f"part.{p['part']}", lang),
                        "score": _number(p["score"]) if p["available"] else text("unavailable", lang),
                        "weight": f"{p['effective_weight']:.3f}" if v["score"] is not None else "–",
                        "basis": p["basis"] if p["available"] else p["note"],
                        "flags": p["flags"],
                        "simulated": p["simulated"],
                    }
                    for p in v["parts"]
                ],
                "losses": [
                    {"source": loss["source"], "detail": loss["detail"], "points": f"−{loss['combined_points']:.2f}"}
                    for loss in losses
                    if v["score"] is not None
                ],
                "history": [
                    {
                        "period": e["period"],
                        "score": _number(e["score"]),
                        "grade": e["grade_label"] or text("ungraded", lang),
                        "standing": text(f"standing.{e['standing']}", lang),
                        "reason": e["reason"],
                    }
                    for e in card["history"].get(v["vendor"], [])
                ],
                "standing": None if standing_of(card, v) is None else text(f"standing.{standing_of(card, v)}", lang),
                "amendments": [{**a, "at": local_time(a["at"], zone)} for a in card["amendments"] if a["vendor"] == v["vendor"]],
            }
        )
    return pages


def write_vendor_report(card: dict[str, Any], out: Path, fmt: str, lang: str, generated_at: datetime) -> Path:
    """The report of ``card`` (the assessment card's JSON) to ``out``: pdf, html or xlsx."""
    if fmt == "xlsx":
        return write_workbook(card, out, generated_at.tzinfo)
    closed = card["closed"]
    zone = generated_at.tzinfo
    masthead = Masthead(card["site"], text("vendor_report", lang), card["period"], generated_at, lang)
    bands = [(g["min_score"], g["label"]) for g in card["grades"]]
    vendors = card["vendors"]
    chart = charts.score_bars_svg([v["name"] for v in vendors], [v["score"] for v in vendors], bands, text("chart_title", lang))
    context = {
        "t": lambda key, **fields: text(key, lang, **fields),
        "card": card,
        "state": text("closed", lang, by=closed["by"], at=local_time(closed["at"], zone)) if closed else text("open", lang),
        "separator": "；" if lang == "zh" else "; ",
        "chart": chart,
        "grades": ", ".join(f"{g['label']} ≥ {g['min_score']:g}" for g in card["grades"]),
        "weights": [(text(f"part.{name}", lang), weight) for name, weight in card["weights"].items()],
        "part_headings": [text(f"short.{name}", lang) for name in card["weights"]],
        "min_weight": card["min_scored_weight"],
        "ranking": [
            {
                "vendor": v["vendor"],
                "name": v["name"],
                "score": _number(v["score"]),
                "grade": v["grade_label"] or text("ungraded", lang),
                "parts": [_number(p["score"]) if p["available"] else "–" for p in v["parts"]],
                "deduction": "–"
                if v["consequence"] is None or v["consequence"]["deduction_cny"] is None
                else f"{v['consequence']['deduction_cny']:,.2f}",
                "standing": "–" if v["consequence"] is None else text(f"standing.{v['consequence']['standing']}", lang),
            }
            for v in card["vendors"]
        ],
        "pages": vendor_pages(card, lang, zone),
    }
    return write_document("vendors.html", masthead, context, out, fmt)


def publication_rows(card: dict[str, Any], zone: tzinfo | None = None) -> list[dict[str, Any]]:
    """One row per vendor for publication (考核结果公示): score, grade, parts, deduction, standing, basis; the
    closing date in ``zone`` (the site's; the database's times are UTC)."""
    closed = card["closed"]
    rows = []
    for v in card["vendors"]:
        c = v["consequence"]
        rows.append(
            {
                "state": f"closed {local_time(closed['at'], zone, minutes=False)}" if closed else "open: not final",
                "vendor": v["vendor"],
                "name": v["name"],
                "period": card["period"],
                "score": v["score"],
                "grade": v["grade_label"] or "ungraded",
                **{p["part"]: (round(p["score"], 1) if p["available"] and p["score"] is not None else "n/a") for p in v["parts"]},
                "deduction_cny": None if c is None else c["deduction_cny"],
                "standing": standing_of(card, v),
                "basis": v["explanation"],
            }
        )
    return rows


def write_workbook(card: dict[str, Any], out: Path, zone: tzinfo | None = None) -> Path:
    """The results (one row per vendor) and every deduction (one row per loss) as an XLSX workbook."""
    from openpyxl import Workbook

    if out.suffix.lower() != ".xlsx":
        raise InputError(f"--out {out}: a workbook is written to a .xlsx file")
    workbook = Workbook()
    results = workbook.active
    results.title = "results"
    results.append(list(PUBLICATION_COLUMNS))
    for row in publication_rows(card, zone):
        results.append([row[c] for c in PUBLICATION_COLUMNS])
    losses = workbook.create_sheet("deductions")
    losses.append(["vendor", "part", "evidence", "detail", "part points", "combined points"])
    for v in card["vendors"]:
        if v["score"] is None:
            continue
        for p in v["parts"]:
            for loss in p["losses"]:
                losses.append(
                    [
                        v["vendor"],
                        p["part"],
                        loss["source"],
                        loss["detail"],
                        round(loss["part_points"], 2),
                        round(loss["combined_points"], 2),
                    ]
                )
    workbook.save(out)
    return out
