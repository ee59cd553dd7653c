"""The annual energy analysis report (年度能源分析报告): the year against the plan, the savings measured with their
uncertainty, the buildings that improved or worsened against the year before and why (sub-items, after-hours
use, the waste faults caused), the data gaps, and the score and ranking.

Rendered from the JSON the command builds: the energy report's figures of the year and of the year before, and
the runs of days without data. Years with different coverage are compared per day with data (kgce/day), never
as totals, and each comparison states the days it rests on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from facmon.reports import charts
from facmon.reports.document import Masthead, write_document
from facmon.reports.energy_report import SUBITEM_GROUPS, check_format, period_not_over, plan_rows, savings_rows, scaled, score_rows
from facmon.reports.labels import text
from facmon.rounding import up_to_two_significant

GROUP_KEYS = {"01A00": "group.lighting", "01B00": "group.hvac", "01C00": "group.power", "01D00": "group.special"}


def _per_day(indicators: dict[str, Any] | None, value: float | None) -> float | None:
    if indicators is None or value is None or indicators["totals"]["days_with_data"] == 0:
        return None
    per_day: float = value / indicators["totals"]["days_with_data"]
    return per_day


def _group_kwh_per_day(indicators: dict[str, Any]) -> dict[str, float]:
    shares = indicators.get("shares")
    days = indicators["totals"]["days_with_data"]
    if not shares or not days:
        return {}
    main = indicators["totals"]["electricity_kwh"]
    return {g: shares["by_group"][g] * main / days for g in SUBITEM_GROUPS if shares["by_group"].get(g) is not None}


def _waste_kwh(figures: dict[str, Any], building: str) -> tuple[int, float, int]:
    """(faults that wasted electricity with an estimate, the sum of their upper bounds in kWh, faults without
    an estimate) of a building in the figures' period."""
    found = [w for w in figures["fault_waste"]["faults"] if w["building"] == building and w["energy"] == "01"]
    estimated = [w["at_most"] for w in found if w["at_most"] is not None]
    return len(estimated), sum(estimated), len(found) - len(estimated)


def change_rows(annual: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    """Per building: kgce per day with data this year and the year before, the change, and why: the sub-item
    group that changed most (kWh/day), the change of the after-hours share, the faults that wasted electricity."""
    year, before = annual["year"], annual["previous"]
    earlier = {b["building"]: b["indicators"] for b in before["buildings"]}
    rows = []
    for b in year["buildings"]:
        now_ind, then_ind = b["indicators"], earlier.get(b["building"])
        now = _per_day(now_ind, now_ind["totals"]["kgce"])
        then = _per_day(then_ind, None if then_ind is None else then_ind["totals"]["kgce"])
        reasons = []
        if now is not None and then is not None:
            groups_now, groups_then = _group_kwh_per_day(now_ind), _group_kwh_per_day(then_ind or {})
            common = [g for g in groups_now if g in groups_then]
            if common:
                g = max(common, key=lambda code: abs(groups_now[code] - groups_then[code]))
                reasons.append(text("why.group", lang, group=text(GROUP_KEYS[g], lang), change=f"{groups_now[g] - groups_then[g]:+,.0f}"))
            after_now = (now_ind.get("after_hours") or {}).get("after_hours_share")
            after_then = ((then_ind or {}).get("after_hours") or {}).get("after_hours_share")
            if after_now is not None and after_then is not None:
                reasons.append(text("why.after_hours", lang, change=f"{100 * (after_now - after_then):+.1f}"))
        count, wasted, unestimated = _waste_kwh(year, b["building"])
        if count:
            reasons.append(text("why.faults", lang, count=count, kwh=f"{up_to_two_significant(wasted):,.6g}"))
        if unestimated:
            reasons.append(text("why.faults_unestimated", lang, count=unestimated))
        change = None if now is None or then is None or then == 0 else (now - then) / then
        rows.append(
            {
                "name": b["name"],
                "days": f"{now_ind['totals']['days_with_data']} / {0 if then_ind is None else then_ind['totals']['days_with_data']}",
                "now": "–" if now is None else f"{now:,.1f}",
                "then": "–" if then is None else f"{then:,.1f}",
                "change": "–" if change is None else f"{100 * change:+.1f} %",
                "verdict": "–" if change is None else text("improved" if change < 0 else "worsened" if change > 0 else "unchanged", lang),
                "reasons": reasons or ([text("no_comparison", lang)] if change is None else []),
            }
        )
    return rows


def gap_rows(annual: dict[str, Any]) -> list[dict[str, Any]]:
    names = {b["building"]: b["name"] for b in annual["year"]["buildings"]}
    return [{"name": names.get(g["building"], g["building"]), **g} for g in annual["gaps"]]


def write_annual_report(annual: dict[str, Any], out: Path, fmt: str, lang: str, generated_at: datetime) -> Path:
    """The annual analysis report of ``annual`` ({"year", "previous", "gaps"}) to ``out``: pdf or html."""
    check_format(fmt)
    year = annual["year"]
    masthead = Masthead(year["site"], text("annual_report", lang), year["period"], generated_at, lang)
    site_now, site_then = year["site_indicators"], annual["previous"]["site_indicators"]
    per_day_now = _per_day(site_now, site_now["totals"]["kgce"])
    per_day_then = _per_day(site_then, site_then["totals"]["kgce"])
    buildings = year["buildings"]
    context = {
        "t": lambda key, **fields: text(key, lang, **fields),
        "card": year,
        "previous": annual["previous"],
        "site_line": text(
            "annual_site_line",
            lang,
            now="–" if per_day_now is None else f"{per_day_now:,.1f}",
            days_now=site_now["totals"]["days_with_data"],
            then="–" if per_day_then is None else f"{per_day_then:,.1f}",
            days_then=site_then["totals"]["days_with_data"],
            total="–" if per_day_now is None else f"{site_now['totals']['kgce'] / 1000:,.2f}",
        ),
        "site_scaled": text("scaled_note", lang, days=site_now["totals"]["days_with_data"]) if scaled(year, site_now) else None,
        "not_over": period_not_over(year, lang),
        "savings": savings_rows(year, lang),
        "plans": plan_rows(year, lang),
        "changes": change_rows(annual, lang),
        "gaps": gap_rows(annual),
        "scores": score_rows(year, lang),
        "chart": charts.score_bars_svg(
            [b["name"] for b in buildings], [b["score"] for b in buildings], [], text("energy_chart_title", lang)
        ),
        "separator": "；" if lang == "zh" else "; ",
    }
    return write_document("annual.html", masthead, context, out, fmt)
