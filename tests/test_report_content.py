"""What the reports print for the awkward cases, from hand-made JSON (no servers): a building without
data, a main meter that read only zeros, sub-item groups without a sub-meter, a site total that scales
buildings measured on fewer days, an ungraded vendor whose standing carries over, times in the site's zone,
names that would break the page's CSS or the chart."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from facmon.reports import charts
from facmon.reports.document import Masthead, _css_string, render_html
from facmon.reports.energy_report import building_rows
from facmon.reports.vendor_report import local_time, vendor_pages

SHANGHAI = ZoneInfo("Asia/Shanghai")


def indicators(code: str, days: int, kgce: float, **extra: object) -> dict:
    totals = {"days_with_data": days, "kgce": kgce, "co2_kg": kgce * 2.0, "consumption_by_energy": {"01": kgce * 8.1} if days else {}}
    record = {
        "building": code,
        "name": f"楼 {code}",
        "totals": totals,
        "days_in_period": 30,
        "annual": {},
        "period_values": {"kgce_per_m2": 0.0, "kgce_per_person": 0.0},  # as the analytics give them without data
        "shares": None,
        "after_hours": None,
        "few_days": None,
    }
    record.update(extra)
    return record


def building(code: str, days: int, kgce: float, **extra: object) -> dict:
    return {"building": code, "name": f"楼 {code}", "use": "office", "gbt51161": None, "indicators": indicators(code, days, kgce, **extra)}


def test_a_building_without_data_shows_dashes_not_zeros_and_a_zero_reading_meter_no_share():
    empty = building("A001", 0, 0.0)
    zeros = building("A002", 30, 10.0, after_hours={"total_kwh": 0.0, "after_hours_share": None})
    card = {"buildings": [empty, zeros], "site_indicators": indicators("site", 30, 10.0), "office_indicators": None}
    rows = building_rows(card, "zh")
    assert [rows[0][k] for k in ("kgce", "co2_t", "kgce_m2_period", "kgce_person_period", "after_hours")] == ["–"] * 5
    assert rows[0]["consumption"] == ["–"]
    assert rows[1]["after_hours"] == "–" and rows[1]["kgce"] == "10"


def test_a_sub_item_group_without_a_sub_meter_is_a_dash_not_zero_percent():
    hvac_only = building("A001", 30, 10.0, shares={"by_group": {"01B00": 0.4}, "unmetered": 0.6})
    card = {"buildings": [hvac_only], "site_indicators": indicators("site", 30, 10.0), "office_indicators": None}
    assert building_rows(card, "en")[0]["subitems"] == "– / 40 / – / – / 60 %"


def test_a_site_total_that_scales_a_building_measured_on_fewer_days_says_so():
    card = {"buildings": [building("A001", 30, 1000.0), building("A002", 3, 100.0)], "site_indicators": indicators("site", 30, 2000.0),
            "office_indicators": None}  # fmt: skip
    site = building_rows(card, "en")[-1]
    assert site["days"] == "30 / 30 ⚠" and site["notes"] == [
        "buildings with fewer days of data are scaled to 30 days in this total (not a measured sum)"
    ]


def test_an_ungraded_vendor_keeps_its_carried_over_standing_and_says_it_lost_no_combined_points():
    vendor = {"vendor": "hvac", "name": "华通", "score": None, "grade_label": None, "consequence": None, "explanation": "not graded: ...",
              "parts": [{"part": "measured", "available": True, "score": 55.0, "effective_weight": 0.0, "basis": "score_vendor", "note": "",
                         "flags": [], "simulated": False, "losses": [{"source": "measured: SLA", "detail": "x", "part_points": 45.0,
                                                                     "combined_points": 0.0}]}]}  # fmt: skip
    card = {"site": "园区", "period": "2026-11", "period_start": "2026-11-01", "period_end": "2026-12-01", "closed": None, "grades": [],
            "weights": {"measured": 1.0}, "min_scored_weight": 0.5, "vendors": [vendor], "amendments": [],
            "history": {"hvac": [
                {"period": "2026-10", "score": 40.0, "grade_label": "不合格", "standing": "warned", "reason": "failing"},
                {"period": "2026-11", "score": None, "grade_label": None, "standing": "warned", "reason": "not graded"},
            ]}}  # fmt: skip
    (page,) = vendor_pages(card, "zh")
    assert page["standing"] == "警告" and page["losses"] == []
    from facmon.reports.labels import text

    masthead = Masthead("园区", "服务商综合考核报告", "2026-11", datetime(2026, 12, 3, 9, tzinfo=SHANGHAI), "zh")
    context = {"t": lambda key, **fields: text(key, "zh", **fields), "card": card, "state": "", "chart": "<svg/>", "grades": "",
               "weights": [], "part_headings": [], "min_weight": 0.5, "ranking": [], "pages": [page], "separator": "；"}  # fmt: skip
    html = render_html("vendors.html", masthead, context)
    assert "不评级：无综合扣分" in html and "无扣分" not in html.replace("无综合扣分", "") and "名录状态: 警告" in html


def test_times_from_the_database_are_shown_in_the_site_s_zone():
    assert local_time("2026-11-30T23:30:00+00:00", SHANGHAI) == "2026-12-01 07:30"


def test_names_cannot_break_the_page_header_or_the_chart():
    assert str(_css_string('A"B\\C</style>\r\nD\f')) == 'A\\"B\\\\C\\3c /style>  D '
    svg = charts.score_bars_svg(["Cool $x$ Co", "a$\\foo$b"], [80.0, None], [(60.0, "合格")], "得分 $")
    assert svg.startswith("<?xml")
