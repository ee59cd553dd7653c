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


def test_savings_against_the_baseline_year_carry_their_band_and_days_or_say_why_there_are_none():
    from facmon.reports.energy_report import savings_rows

    measured = building("A001", 30, 1000.0, shares=None)
    measured["components"] = []
    unmeasured = building("A002", 30, 1000.0)
    unmeasured["components"] = [{"component": "savings", "note": "fewer than 60 complete baseline days (12)"}]
    savings = {"A001": {"fraction": 0.082, "predicted_kwh": 50_000.0, "observed_kwh": 45_900.0, "avoided_kwh": 4_100.0,
                        "uncertainty_kwh": 1_500.0, "confidence": 0.68, "fsu": 0.366, "m": 30, "inconclusive": False}}  # fmt: skip
    shown, missing = savings_rows({"buildings": [measured, unmeasured], "savings": savings}, "zh")
    assert (shown["saved"], shown["confidence"], shown["avoided"], shown["days"], shown["fsu"]) == (
        "8.2 % ± 3.0 %",
        "68 %",
        "4,100 ± 1,500",
        30,
        "37 %",
    )
    assert missing == {"name": "楼 A002", "available": False, "why": "无法计算: fewer than 60 complete baseline days (12)"}


def test_the_waste_table_states_upper_bounds_their_totals_and_the_prices_source():
    from facmon.reports.energy_report import waste_rows

    faults = [
        {"building": "A001", "kind": "lights_after_hours", "target": "E-LS-1F", "energy": "01", "hours": 3.0, "at_most": 6.0,
         "at_most_cny": 3.9, "method": "peak_excess_kw"},
        {"building": "A001", "kind": "lights_after_hours", "target": "E-LS-2F", "energy": "01", "hours": 2.0, "at_most": 4.4,
         "at_most_cny": 2.9, "method": "peak_excess_kw"},
        {"building": "A001", "kind": "hvac_weekend", "target": "X", "energy": "01", "hours": 9.0, "at_most": None,
         "at_most_cny": None, "method": "no_rating"},
    ]  # fmt: skip
    card = {
        "buildings": [building("A001", 30, 10.0)],
        "fault_waste": {"faults": faults, "tariffs": {"cny_per_unit": {"01": 0.65}, "source": "2026 bills"}},
    }
    rows, totals, prices = waste_rows(card, "zh")
    assert [r["at_most"] for r in rows] == ["6 kWh", "4.4 kWh", "–"] and rows[2]["how"] == "无估计：登记表无该设备额定功率"
    assert totals == ["电 ≤ 11 kWh, ≤ 6.8 元"]  # 10.4 → 11 and 6.8: sums rounded up to two significant digits, as each bound
    assert prices == "单价：电 0.65 CNY/kWh；来源：2026 bills"
    assert waste_rows({"buildings": [], "fault_waste": {"faults": [], "tariffs": {"cny_per_unit": {}, "source": ""}}}, "en") == (
        [],
        [],
        "no price in the registry (tariffs): no CNY figure",
    )


def test_a_building_s_change_is_explained_by_its_sub_items_after_hours_share_and_faults():
    from facmon.reports.annual_report import change_rows

    def year(kgce: float, days: int, hvac_share: float, after: float, faults: list[dict]) -> dict:
        record = building("A001", days, kgce, shares={"by_group": {"01A00": 0.5, "01B00": hvac_share}, "unmetered": 0.1},
                          after_hours={"after_hours_share": after})  # fmt: skip
        record["indicators"]["totals"]["electricity_kwh"] = 10_000.0 * days
        return {"buildings": [record], "fault_waste": {"faults": faults}}

    lights = {"building": "A001", "energy": "01", "at_most": 440.0}
    annual = {"year": year(3000.0, 20, 0.40, 0.30, [lights, lights]), "previous": year(2000.0, 10, 0.30, 0.25, [])}
    [row] = change_rows(annual, "zh")
    # 150 kgce/day against 200: −25 %; HVAC 0.40 × 10,000 − 0.30 × 10,000 = +1,000 kWh/day; after hours +5 points
    assert (row["now"], row["then"], row["change"], row["verdict"], row["days"]) == ("150.0", "200.0", "-25.0 %", "改善", "20 / 10")
    assert row["reasons"] == ["空调 +1,000 kWh/天", "非工作时间用电占比 +5.0 个百分点", "2 次故障浪费电至多 880 kWh"]


def test_a_period_not_over_says_so_and_an_offices_total_is_not_flagged_for_a_canteen_s_days():
    from facmon.reports.energy_report import period_not_over

    assert (
        period_not_over({"period_elapsed_days": 3, "period_days": 31}, "en") == "the period is not over: 3 of 31 days; figures will change"
    )
    assert period_not_over({"period_elapsed_days": 31, "period_days": 31}, "en") is None
    offices = [building("A001", 20, 100.0), building("A002", 20, 100.0)]
    canteen = building("A005", 10, 50.0)
    canteen["use"] = "canteen"
    card = {"buildings": [*offices, canteen], "site_indicators": indicators("site", 20, 250.0),
            "office_indicators": indicators("offices", 20, 200.0)}  # fmt: skip
    site_row, offices_row = building_rows(card, "en")[-2:]
    assert site_row["days"] == "20 / 30 ⚠" and offices_row["days"] == "20 / 30" and offices_row["notes"] == []


def test_the_trend_stars_a_month_some_building_missed_in_either_year():
    from facmon.reports.energy_report import trend_chart

    def month(label: str, kgce: float | None, days: int) -> dict:
        return {"month": label, "kgce": kgce, "days": days}

    trend = {"building": "", "months": [month("2026-10", 900.0, 31), month("2026-11", 1000.0, 12)],
             "last_year": [month("2025-10", 800.0, 2), month("2025-11", None, 0)]}  # fmt: skip
    svg = trend_chart({"trend": [trend]}, "en")
    assert svg is not None and svg.count('<g id="text_') > 0
    from facmon.reports import charts

    starred = charts.trend_svg(
        ["2026-10", "2026-11"], [900.0, 1000.0], [800.0, None], [False, True], [True, False], ("a", "b"), "t", "kgce"
    )
    plain = charts.trend_svg(
        ["2026-10", "2026-11"], [900.0, 1000.0], [800.0, None], [False, False], [False, False], ("a", "b"), "t", "kgce"
    )
    assert starred.count('<g id="text_') == plain.count('<g id="text_') + 2  # one * over 2026-11, one over 2025-10
