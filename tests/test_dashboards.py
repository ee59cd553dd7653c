"""The officers' dashboards: (a) site energy overview, (b) building detail, (c) vendor scorecard.

Each is checked against Grafana's dashboard JSON Schema, and every panel's InfluxQL, templated as
Grafana templates it, is run against a real InfluxDB holding four simulated days across a month boundary
analysed by `facmon analyze` (energy_interval, meter_daily, energy_daily, energy_monthly), plus score, savings and fault points
of the documented shapes with known values, so each panel's answer can be checked by hand.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from facmon.analytics.analyze import analyze
from facmon.dashboards import building_detail, energy_overview, vendor_scorecard
from facmon.dashboards.blocks import ALL, NAMES_REF
from facmon.dashboards.building_detail import IEQ_LIMITS, band_steps, ieq_quantities
from facmon.dashboards.catalog import DASHBOARDS, build_dashboards
from facmon.dashboards.energy_overview import (
    SAVINGS,
    benchmark_groups,
    gbt51161_benchmark,
    required_reduction,
)
from facmon.dashboards.titles import title
from facmon.registry import ASSESSMENT_PARTS, SCORE_COMPONENTS, VENDOR_SCORE_COMPONENTS, Site
from facmon.schema import ENERGY_DAILY, FAULT, SCORE_ENERGY, SCORE_VENDOR
from facmon.schema.assessment import AssessmentPoint, vendor_assessment_line
from facmon.simulators import SiteSimulator
from facmon.simulators.backfill import backfill
from facmon.stack import Stack
from facmon.standards import (
    GBT18883_CO2_MAX_PPM,
    GBT18883_PM25_MAX_UG_M3,
    GBT18883_TEMPERATURE_SUMMER_C,
    GBT18883_TEMPERATURE_WINTER_C,
)
from facmon.store import InfluxStore, line
from tests.grafana_contract import dashboard_problems
from tests.test_grafana import _run_panel_queries, _values, _variable, variable_options

A001, A002, A003, A004, A005 = "341122A001", "341122A002", "341122A003", "341122A004", "341122A005"
OFFICERS_UIDS = (energy_overview.UID, building_detail.UID, vendor_scorecard.UID)
FEBRUARY = datetime.fromisoformat("2026-02-01T00:00+08:00")  # the local month starts the monthly trend is stamped at
MARCH = datetime.fromisoformat("2026-03-01T00:00+08:00")
DAY_0 = datetime.fromisoformat("2026-02-28T00:00+08:00")  # simulated and analysed from here: the last day of February
DAY_1 = datetime.fromisoformat("2026-03-02T00:00+08:00")  # the dashboards' range starts here
DAY_3 = datetime.fromisoformat("2026-03-04T00:00+08:00")
MORNING = int(datetime.fromisoformat("2026-03-02T08:00+08:00").timestamp())  # T0 of the faults below, epoch s
HOUR_S = 3600

# score_energy, as analytics/energy_score.py score_energy_lines writes it: corrected EUI (kWh/(m²·a))
# chosen around the registry's benchmarks: B/government 65 (guide) / 90 (constraint), A/government 55 / 70.
# A005 is the canteen: GB/T 51161's office table does not apply, so it has no intensity value.
EUI_2026_03 = {A001: 60.0, A002: 62.0, A003: 95.0, A004: 50.0}
# The GB/T 51161 group each office's intensity was compared with (score_energy's intensity_benchmark).
BENCHMARK_GROUP = {A001: "B/government", A002: "A/government", A003: "B/government", A004: "A/government"}
# What each component rests on: 31 of 31 days, except A004's March intensity, annualised from 3 days (flagged).
FLAGGED_INTENSITY = {A004: 3.0}
SCORE = {
    "2026": {A001: 81.0, A002: 64.0, A003: 40.0, A004: 90.0, A005: 55.0},
    "2026-03": {A001: 78.0, A002: 66.0, A003: 42.0, A004: 88.0, A005: 57.0},
}
PLAN = {A001: (12.5, 0.25, 0.018), A002: (25.0, 0.25, 0.041), A003: (0.0, 0.25, -0.02), A004: (20.0, 0.25, 0.03)}  # points, weight, value
# A005: plan not available (its weight redistributed), so it has no plan progress.
SAVINGS_POINTS = {A001: (12000.0, 3000.0, 0.06, 0.25, 1.0), A002: (-500.0, 900.0, -0.01, 1.8, 0.0)}  # avoided, ±, fraction, fsu, conclusive

# score_vendor per VENDOR_SCORE_COMPONENTS (registry), one month.
VENDOR_SCORE = {"property": (85.0, 1.0, 2.0), "hvac": (61.0, 2.0, 10.0), "elevator": (55.0, 3.0, 0.0)}  # score, rank, deduction


def _fault(start_s: int, active: float, building: str, kind: str, severity: str, vendor: str, target: str, value: float) -> str:
    return line(
        FAULT,
        {"building": building, "kind": kind, "severity": severity, "vendor": vendor, "target": target},
        {"active": active, "value": value, "detail": f"{kind} on {target}"},
        start_s * 10**9,
    )


# (building, kind, severity, vendor, target, start, clear or None): start/clear in hours after MORNING.
FAULTS = [
    (A001, "water_leak", "major", "property", "W-MAIN", 0.0, 1.5),  # restored in 90 min, SLA 1440 min: within
    (A001, "equipment_fault_code", "critical", "hvac", "CH-1", 1.0, 10.0),  # 540 min, SLA 480 min: breached
    (A001, "simultaneous_heating_cooling", "critical", "hvac", "AHU-1", 2.0, 4.0),  # 120 min: within
    (A002, "elevator_out_of_service", "major", "elevator", "EL-1", 3.0, None),  # still open
    (A003, "comfort_out_of_band", "minor", "property", "5F", -22.0, None),  # began before the range, still open
    (A001, "device_offline", "minor", "property", "E-LS-1F", 5.0, 6.0),  # 60 min: within
    (A001, "device_offline", "minor", "property", "E-LS-1F", 20.0, None),  # the same target again, open
]


def _fault_lines() -> list[str]:
    lines = []
    for building, kind, severity, vendor, target, start_h, clear_h in FAULTS:
        lines.append(_fault(MORNING + int(start_h * HOUR_S), 1.0, building, kind, severity, vendor, target, 1.0))
        if clear_h is not None:
            lines.append(_fault(MORNING + int(clear_h * HOUR_S), 0.0, building, kind, severity, vendor, target, 1.0))
    return lines


# Work orders (the work_order timeline as facmon.workorders.timeline writes it), hours after MORNING:
# hvac's CH-1 order reached on site 90 min after its report (SLA critical 60: late, a breach), still
# being worked; property's W-MAIN order reached in 30 min and verified; elevator's EL-1 order not yet
# acknowledged. Open: hvac 1, elevator 1.
ORDERS = [
    # order, building, kind, severity, vendor, [(hours, action, state, open, detail)]
    ("GD000001", A001, "equipment_fault_code", "critical", "hvac", [
        (1.0, "open", "open", True, {}), (1.2, "acknowledge", "acknowledged", True, {}),
        (2.0, "breach", "acknowledged", True, {"breach": "onsite"}),
        (2.5, "arrive", "on_site", True, {"onsite_min": 90.0, "onsite_breached": True}),
    ]),
    ("GD000002", A001, "water_leak", "major", "property", [
        (0.0, "open", "open", True, {}), (0.1, "acknowledge", "acknowledged", True, {}),
        (0.5, "arrive", "on_site", True, {"onsite_min": 30.0, "onsite_breached": False}),
        (1.4, "resolve", "resolved", True, {}), (1.5, "verify", "verified", False, {}),
    ]),
    ("GD000003", A002, "elevator_out_of_service", "major", "elevator", [(3.0, "open", "open", True, {})]),
]  # fmt: skip


def _order_lines() -> list[str]:
    from facmon.schema.work_orders import WorkOrderEvent, work_order_line

    lines = []
    for number, building, kind, severity, vendor, events in ORDERS:
        tags = {"building": building, "vendor": vendor, "severity": severity, "kind": kind, "source": "fault", "order": number}
        for i, (hours, action, state, open_, detail) in enumerate(events):
            at_us = (MORNING + int(hours * HOUR_S)) * 1_000_000
            due = MORNING + 10 * HOUR_S if open_ else None
            lines.append(work_order_line(WorkOrderEvent(i, at_us, tags, action, state, "", open_, due, due, detail)))
    return lines


def _period_start_ns(period: str) -> int:
    year, _, month = period.partition("-")
    return int(datetime.fromisoformat(f"{year}-{month or '01'}-01T00:00+08:00").timestamp()) * 10**9


def _score_lines() -> list[str]:
    lines = []
    for period, scores in SCORE.items():
        ranked = sorted(scores, key=lambda code: -scores[code])
        for code, score in scores.items():
            fields: dict[str, float | str] = {"score": score, "rank": float(ranked.index(code) + 1)}
            days = 365.0 if period == "2026" else 31.0
            for component in SCORE_COMPONENTS:
                fields[f"{component}_points"] = 10.0
                fields[f"{component}_weight"] = 0.2
                fields[f"{component}_available"] = 1.0
                fields[f"{component}_days"] = days
                fields[f"{component}_period_days"] = days
                fields[f"{component}_flagged"] = 0.0
                fields[f"{component}_source"] = "measured"
                fields[f"{component}_target_source"] = "national default" if component in ("intensity", "completeness") else "configured"
            fields["savings_uncertainty"] = 0.012
            if code in EUI_2026_03:
                fields["intensity_value"] = EUI_2026_03[code] + (0.0 if period == "2026-03" else 1.0)
                fields["intensity_benchmark"] = BENCHMARK_GROUP[code]
                if code in FLAGGED_INTENSITY and period == "2026-03":
                    fields["intensity_days"], fields["intensity_flagged"] = FLAGGED_INTENSITY[code], 1.0
            else:
                fields["intensity_points"], fields["intensity_weight"], fields["intensity_available"] = 0.0, 0.0, 0.0
            if code in PLAN:
                fields["plan_points"], fields["plan_weight"], fields["plan_value"] = PLAN[code]
            else:
                fields["plan_points"], fields["plan_weight"], fields["plan_available"] = 0.0, 0.0, 0.0
            lines.append(line(SCORE_ENERGY, {"building": code, "period": period}, fields, _period_start_ns(period)))
    for code, (avoided, band, fraction, fsu, conclusive) in SAVINGS_POINTS.items():
        fields = {
            "avoided_kwh": avoided,
            "uncertainty_kwh": band,
            "predicted_kwh": 100000.0,
            "observed_kwh": 100000.0 - avoided,
            "fraction": fraction,
            "fsu": fsu,
            "conclusive": conclusive,
        }
        lines.append(line(SAVINGS, {"building": code, "period": "2026-03"}, fields, _period_start_ns("2026-03")))
    for period in ("2026-02", "2026-03"):
        for vendor, (score, rank, deduction) in VENDOR_SCORE.items():
            fields = {"score": score - (5.0 if period == "2026-02" else 0.0), "rank": rank, "deduction": deduction}
            for component in VENDOR_SCORE_COMPONENTS:
                fields[f"{component}_points"] = 5.0
                fields[f"{component}_value"] = 0.9
            lines.append(line(SCORE_VENDOR, {"vendor": vendor, "period": period}, fields, _period_start_ns(period)))
    for vendor, (score, _, _) in VENDOR_SCORE.items():  # the combined assessment, through its one writer
        parts = {"measured": (score, 0.47), "inspections": (90.0, 0.29), "satisfaction": (80.0, 0.24), "third_party": (None, 0.0)}
        if vendor == "property":  # one vendor with a third party's score: the others' is unavailable, weight shared out
            parts = {"measured": (score, 0.40), "inspections": (90.0, 0.25), "satisfaction": (80.0, 0.20), "third_party": (85.0, 0.15)}
        combined = round(sum(s * w for s, w in parts.values() if s is not None), 1)
        point = AssessmentPoint(vendor, "2026-03", _period_start_ns("2026-03") // 10**9, combined, "good", "良好", False, False, False,
                                "good_standing", 0, 0.0, None if vendor == "elevator" else 0.0, parts)  # fmt: skip
        lines.append(vendor_assessment_line(point))
    return lines


@pytest.fixture(scope="module")
def site_data(stack: Stack, example_site: Site) -> Iterator[dict[str, Any]]:
    """Four simulated local days (2026-02-28 to 03-03), analysed; scores, savings and faults with known values.
    The dashboards' range is 03-02 and 03 unless a test widens it."""
    store = InfluxStore(stack.influx_url, f"test_{uuid.uuid4().hex[:12]}")
    store.create_database()
    backfill(SiteSimulator(example_site, seed=11), store, DAY_0, DAY_3)
    analyze(example_site, store, DAY_0, DAY_3)
    store.write(_score_lines() + _fault_lines() + _order_lines())
    yield {"store": store, "start_s": int(DAY_1.timestamp()), "end_s": int(DAY_3.timestamp())}
    store.query(f'DROP DATABASE "{store.database}"', method="POST")
    store.close()


def _board(site: Site, uid: str, lang: str = "en") -> dict[str, Any]:
    return build_dashboards(site, lang)[uid]


def _answers(site: Site, data: dict[str, Any], uid: str, **chosen: list[str] | None) -> dict[str, dict[str, list[dict[str, Any]]]]:
    model = _board(site, uid)
    variables: dict[str, list[str] | None] = {v["name"]: None for v in model["templating"]["list"]}
    variables["period"] = ["2026-03"]
    variables.update(chosen)
    return _run_panel_queries(model, data, variables)


def _by_tag(series_list: list[dict[str, Any]], tag: str, column: str) -> dict[str, Any]:
    return {s["tags"][tag]: _values(s, column)[0] for s in series_list}


# -- the dashboards as Grafana models ----------------------------------------------------------------


def test_the_officers_dashboards_are_in_the_catalogue_with_their_uids() -> None:
    """(a), (b), (c) are catalogue entries with the uids alert links and other dashboards rely on."""
    assert {e.uid: e.file_stem for e in DASHBOARDS if e.uid in OFFICERS_UIDS} == {
        "facmon-energy": "energy-overview",
        "facmon-building": "building-detail",
        "facmon-vendor": "vendor-scorecard",
    }


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("uid", OFFICERS_UIDS)
def test_each_dashboard_is_valid_against_the_dashboard_schema(example_site: Site, uid: str, lang: str) -> None:
    """Each officers' dashboard, in each language, passes Grafana's strict dashboard JSON Schema."""
    assert dashboard_problems(_board(example_site, uid, lang)) == []


@pytest.mark.parametrize("uid", OFFICERS_UIDS)
def test_titles_are_chinese_by_default_and_english_with_lang_en(example_site: Site, uid: str) -> None:
    """Every panel title is Chinese in zh and free of Chinese characters in en, panel for panel."""
    zh, en = _board(example_site, uid, "zh"), _board(example_site, uid, "en")

    def chinese(text: str) -> bool:
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    assert len(zh["panels"]) == len(en["panels"])
    assert chinese(zh["title"]) and not chinese(en["title"])
    assert all(chinese(p["title"]) for p in zh["panels"])
    assert not any(chinese(p["title"]) for p in en["panels"])


def test_building_and_vendor_variables_follow_the_registry(example_site: Site, site_data: dict[str, Any]) -> None:
    """The building dashboard has $building (alert links set var-building=<code>) and $vendor; the vendor
    scorecard $vendor and $building; the overview $building. $vendor lists the registry; $building the
    site_building points the analysis wrote ("<name> (<code>)", the code as value). All = any value."""
    vendors = ["$__all"] + [v.id for v in example_site.vendors]
    buildings = [(f"{b.name} ({b.code})", b.code) for b in example_site.buildings]
    for uid, names in (
        (building_detail.UID, ("building", "vendor")),
        (vendor_scorecard.UID, ("vendor", "building")),
        (energy_overview.UID, ("building",)),
    ):
        model = _board(example_site, uid)
        for name in names:
            variable = _variable(model, name)
            if name == "building":
                assert variable_options(variable, site_data["store"]) == buildings, uid
            else:
                assert [o["value"] for o in variable["options"]] == vendors, (uid, name)
            assert variable["allValue"] == ALL


def test_score_dashboards_choose_one_period_newest_first(example_site: Site, site_data: dict[str, Any]) -> None:
    """$period is one period of the score measurement, listed by InfluxDB, sorted newest first by Grafana."""
    for uid, expected in ((energy_overview.UID, ["2026", "2026-03"]), (vendor_scorecard.UID, ["2026-02", "2026-03"])):
        period = _variable(_board(example_site, uid), "period")
        assert period["multi"] is False and period["includeAll"] is False
        assert period["sort"] == 2  # alphabetical, descending: 2026-03 before 2026-02 before 2026
        (series,) = site_data["store"].query(period["query"])
        assert sorted(_values(series, "value")) == expected


# -- every query on InfluxDB -------------------------------------------------------------------------


def _expected_shapes(site: Site) -> dict[str, dict[str, tuple[set[str], Any]]]:
    """Per dashboard, per panel title: (tags of each series, columns besides time, or per query ref when they differ)."""
    en = "en"
    overview = {
        title(
            "panel.intensity",
            en,
            klass=g.office_class.value,
            use=title(f"use.{g.office_use.value}", en),
            constraint=f"{g.constraint_kwh_m2:g}",
            guide=f"{g.guide_kwh_m2:g}",
        ): ({"building"}, ["eui_kwh_m2"])
        for g in benchmark_groups(site)
    }
    overview.update(
        {
            title("panel.plan_progress", en): ({"building"}, ["share_of_required"]),
            title("panel.plan_table", en): ({"building"}, ["reduction_achieved", "share_of_required", "days", "period_days", "base"]),
            title("panel.energy_trend", en): ({"building"}, ["kgce"]),
            title("panel.electricity_trend", en): ({"building"}, ["kwh"]),
            title("panel.subitems", en): ({"subitem"}, ["kwh"]),
            title("panel.score_ranking", en): ({"building"}, ["score"]),
            title("panel.score_table", en): ({"building"}, ["rank", "score"] + [f"{c}_points" for c in SCORE_COMPONENTS]),
            title("panel.savings", en): (
                {"building"},
                ["avoided_low_kwh", "avoided_kwh", "avoided_high_kwh", "fraction", "fsu", "conclusive"],
            ),
            title("panel.score_basis", en): ({"building"}, [column.strip('"') for column in energy_overview.BASIS_COLUMNS]),
            title("panel.benchmarks", en): ({"building"}, [field for field, _ in energy_overview.BENCHMARK_COLUMNS if field != "building"]),
        }
    )
    fault_tags = {"building", "kind", "severity", "vendor", "target"}
    detail = {
        title("panel.faults_active", en): (fault_tags, ["active", "value", "detail"]),
        title("panel.faults_recent", en): (
            set(),
            ["building", "building_name", "kind", "severity", "vendor", "target", "active", "value", "detail"],
        ),
        title("panel.subitem_consumption", en): ({"building", "subitem"}, ["kwh"]),
        title("panel.meters_latest", en): ({"building", "meter", "energy", "subitem"}, ["register", "power_kw"]),
        title("panel.meter_quality", en): ({"building", "meter"}, ["completeness", "missing_intervals", "spike_intervals", "resets"]),
        title("panel.equipment_status", en): ({"building", "equipment", "type", "vendor"}, ["running", "fault_code", "power_kw"]),
        title("panel.equipment_running", en): ({"type"}, ["running"]),
        title("panel.equipment_power", en): ({"type"}, ["power_kw"]),
    }
    for quantity in ieq_quantities(site):
        detail[title("panel.ieq", en, quantity=title(f"ieq.{quantity.value}", en))] = ({"building", "zone"}, [quantity.value])
    vendor = {
        title("panel.assessment_score", en): ({"vendor"}, ["score"]),
        title("panel.assessment_parts", en): (
            {"vendor"},
            ["score", "grade_label", *sorted(f"{p}_score" for p in ASSESSMENT_PARTS), *sorted(f"{p}_weight" for p in ASSESSMENT_PARTS)]
            + ["deduction", "standing", "failing_run"],
        ),
        title("panel.vendor_score", en): ({"vendor"}, ["score"]),
        title("panel.vendor_components", en): (
            {"vendor"},
            ["rank", "score", *sorted(f"{c}_points" for c in VENDOR_SCORE_COMPONENTS), "deduction"],
        ),
        title("panel.vendor_values", en): ({"vendor"}, sorted(f"{c}_value" for c in VENDOR_SCORE_COMPONENTS)),
        title("panel.vendor_trend", en): ({"vendor"}, {"A": ["score"], "B": ["deduction"]}),  # one query per column
        title("panel.sla_compliance", en): ({"vendor", "severity"}, ["within_sla", "restored"]),
        title("panel.restore_time", en): ({"vendor", "severity"}, ["mean_restore_s", "max_restore_s", "restored"]),
        title("panel.open_faults", en): ({"vendor"}, ["open"]),
        title("panel.faults_by_kind", en): ({"vendor", "kind"}, ["started"]),
        title("panel.open_faults_list", en): (fault_tags, ["active", "value", "detail"]),
        title("panel.open_orders", en): ({"vendor"}, ["open"]),
        title("panel.onsite_times", en): ({"vendor"}, ["mean_min", "max_min", "arrivals", "late"]),
        title("panel.breaches", en): ({"vendor"}, {"A": ["onsite"], "B": ["restore"]}),
        title("panel.open_orders_list", en): ({"order", "vendor", "building", "kind", "severity"}, ["state", "onsite_due", "restore_due"]),
    }
    return {energy_overview.UID: overview, building_detail.UID: detail, vendor_scorecard.UID: vendor}


# Panels that must answer something with everything chosen (the data holds what they show).
NON_EMPTY = {
    energy_overview.UID: (
        "panel.plan_progress",
        "panel.plan_table",
        "panel.energy_trend",
        "panel.electricity_trend",
        "panel.subitems",
        "panel.score_ranking",
        "panel.score_table",
        "panel.savings",
        "panel.score_basis",
        "panel.benchmarks",
    ),
    building_detail.UID: (
        "panel.faults_active",
        "panel.faults_recent",
        "panel.subitem_consumption",
        "panel.meters_latest",
        "panel.meter_quality",
        "panel.equipment_status",
        "panel.equipment_running",
        "panel.equipment_power",
    ),
    vendor_scorecard.UID: (
        "panel.assessment_score",
        "panel.assessment_parts",
        "panel.vendor_score",
        "panel.vendor_components",
        "panel.vendor_values",
        "panel.restore_time",
        "panel.open_faults",
        "panel.faults_by_kind",
        "panel.open_faults_list",
        "panel.open_orders",
        "panel.onsite_times",
        "panel.breaches",
        "panel.open_orders_list",
    ),
}


@pytest.mark.parametrize("uid", OFFICERS_UIDS)
def test_every_panel_query_runs_and_answers_in_the_expected_shape(example_site: Site, site_data: dict[str, Any], uid: str) -> None:
    """Each panel's InfluxQL, templated with All and with one building and vendor, runs on InfluxDB and answers
    with the columns (and per-series tags) the panel is built for; panels with data to show are not empty.
    The range starts at a month start (as the default, this year, does) so the monthly trend has its bars."""
    expected = _expected_shapes(example_site)[uid]
    model = _board(example_site, uid)
    assert {p["title"] for p in model["panels"] if p.get("targets")} == set(expected)
    from_march = {**site_data, "start_s": int(MARCH.timestamp())}
    for chosen in ({}, {"building": [A001], "vendor": ["hvac"]}):
        answers = _answers(example_site, from_march, uid, **chosen)
        for panel_title, by_ref in answers.items():
            tags, columns = expected[panel_title]
            for ref, series_list in by_ref.items():
                for series in series_list:
                    # the buildings' names (blocks.show_building_names): each building's label, by code
                    of_tags, of_ref = ({"building"}, ["label"]) if ref == NAMES_REF else (tags, columns)
                    assert set(series.get("tags", {})) == of_tags, (panel_title, ref, series.get("tags"))
                    of_ref = of_ref[ref] if isinstance(of_ref, dict) else of_ref
                    assert series["columns"] == ["time", *of_ref], (panel_title, ref, series["columns"])
        if not chosen:
            for key in NON_EMPTY[uid]:
                by_ref = answers[title(key, "en")]
                assert any(series for ref, series in by_ref.items() if ref != NAMES_REF), key
    # Every IEQ quantity the registry measures is answered, in every building.
    if uid == building_detail.UID:
        answers = _answers(example_site, site_data, uid)
        for quantity in ieq_quantities(example_site):
            series = answers[title("panel.ieq", "en", quantity=title(f"ieq.{quantity.value}", "en"))]["A"]
            assert {s["tags"]["building"] for s in series} == {b.code for b in example_site.buildings}


# -- (a) site energy overview -----------------------------------------------------------------------


def test_the_gbt51161_benchmark_of_a_building_follows_a_registry_override(example_site: Site) -> None:
    """Table 5.2.1 by default (A/government in 夏热冬冷: 70 / 55 kWh/(m²·a)); the registry's override wins."""
    registry = example_site.model_dump(mode="json")
    registry["energy_targets"]["gbt51161"]["benchmarks"] = {
        "A/government/hot_summer_cold_winter": {"constraint_kwh_m2": 75, "guide_kwh_m2": 58}
    }
    overridden = Site.model_validate(registry)
    assert gbt51161_benchmark(example_site, example_site.buildings[1])[:2] == (70, 55)
    assert gbt51161_benchmark(overridden, overridden.buildings[1])[:2] == (75, 58)
    assert gbt51161_benchmark(overridden, overridden.buildings[0])[:2] == (90, 65), "B-class buildings keep the table's values"
    assert required_reduction(example_site.energy_targets.plan, "kgce_per_m2", 2023) == pytest.approx(0.03)


def test_intensity_panels_draw_each_benchmark_and_list_its_buildings(example_site: Site, site_data: dict[str, Any]) -> None:
    """One bar panel per GB/T 51161 benchmark of the registry's office buildings (B/government 90/65: A001,
    A003; A/government 70/55: A002, A004; the canteen A005 in none), coloured green up to the guide, yellow
    to the constraint, red above; each shows the period's corrected EUI of exactly its buildings, and
    $building narrows it."""
    model = _board(example_site, energy_overview.UID)
    groups = {g.buildings: g for g in benchmark_groups(example_site)}
    assert set(groups) == {(A001, A003), (A002, A004)}
    answers = _answers(example_site, site_data, energy_overview.UID)
    narrowed = _answers(example_site, site_data, energy_overview.UID, building=[A001])
    for codes, group in groups.items():
        assert (group.constraint_kwh_m2, group.guide_kwh_m2) == ((90.0, 65.0) if A001 in codes else (70.0, 55.0))
        panel_title = title(
            "panel.intensity",
            "en",
            klass=group.office_class.value,
            use=title(f"use.{group.office_use.value}", "en"),
            constraint=f"{group.constraint_kwh_m2:g}",
            guide=f"{group.guide_kwh_m2:g}",
        )
        panel = next(p for p in model["panels"] if p["title"] == panel_title)
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps == [
            {"value": None, "color": "green"},
            {"value": group.guide_kwh_m2, "color": "yellow"},
            {"value": group.constraint_kwh_m2, "color": "red"},
        ]
        assert _by_tag(answers[panel_title]["A"], "building", "eui_kwh_m2") == {code: EUI_2026_03[code] for code in codes}
        assert set(_by_tag(narrowed[panel_title]["A"], "building", "eui_kwh_m2")) == ({A001} if A001 in codes else set())


def test_the_benchmark_table_shows_each_buildings_registry_facts_from_the_data(example_site: Site, site_data: dict[str, Any]) -> None:
    """The GB/T 51161 table is a query of the site_building points `facmon analyze` wrote: each building's
    name, use, class, floor area and benchmark (the registry's, B/government 90/65, A/government 70/55);
    the canteen A005 has no office use nor benchmark, shown as not applicable, and no intensity panel
    queries it (its score has no intensity_benchmark)."""
    model = _board(example_site, energy_overview.UID)
    panel = next(p for p in model["panels"] if p["title"] == title("panel.benchmarks", "en"))
    assert panel["type"] == "table" and "targets" in panel
    mappings = panel["fieldConfig"]["defaults"]["mappings"]
    assert {"type": "special", "options": {"match": "null", "result": {"text": title("not_applicable", "en"), "index": 1}}} in mappings
    assert mappings[0]["options"]["canteen"]["text"] == title("building_use.canteen", "en")
    rows = {
        s["tags"]["building"]: dict(zip(s["columns"], s["values"][0], strict=True))
        for s in _answers(example_site, site_data, energy_overview.UID)[panel["title"]]["A"]
    }
    assert set(rows) == {b.code for b in example_site.buildings}
    for building in example_site.buildings:
        row = rows[building.code]
        assert (row["name"], row["use"], row["hvac_class"], row["floor_area_m2"]) == (
            building.name,
            building.use.value,
            building.office_class.value,
            building.floor_area_m2,
        )
        benchmark = gbt51161_benchmark(example_site, building)
        expected = (None, None) if benchmark is None else benchmark[:2]
        assert (row["gbt51161_constraint_kwh_m2"], row["gbt51161_guide_kwh_m2"]) == expected, building.code
    assert rows[A005]["use"] == "canteen" and rows[A005]["office_use"] is None
    intensity_panels = [p for p in model["panels"] if p["title"].startswith("EUI, class")]
    assert intensity_panels and not any(A005 in json.dumps(p["targets"]) for p in intensity_panels)
    narrowed = _answers(example_site, site_data, energy_overview.UID, building=[A002])[panel["title"]]["A"]
    assert [s["tags"]["building"] for s in narrowed] == [A002]


def test_the_basis_table_shows_days_sources_and_flags(example_site: Site, site_data: dict[str, Any]) -> None:
    """Each building's components with their days, sources and flags: A004's March intensity rests on 3
    of 31 days and is flagged; the others are not."""
    answers = _answers(example_site, site_data, energy_overview.UID)
    basis = answers[title("panel.score_basis", "en")]["A"]
    flagged = _by_tag(basis, "building", "intensity_flagged")
    assert flagged == {A001: 0.0, A002: 0.0, A003: 0.0, A004: 1.0, A005: 0.0}
    assert _by_tag(basis, "building", "intensity_days")[A004] == 3.0
    assert set(_by_tag(basis, "building", "plan_target_source").values()) == {"configured"}
    assert set(_by_tag(basis, "building", "savings_uncertainty").values()) == {0.012}


def test_plan_progress_is_the_share_of_the_reduction_required(example_site: Site, site_data: dict[str, Any]) -> None:
    """Progress = plan points ÷ (100 × plan weight), the score's share of the required reduction (12.5 of
    25 points = 50 %); the achieved reduction is plan_value; a building without plan data is left out."""
    answers = _answers(example_site, site_data, energy_overview.UID)
    progress = _by_tag(answers[title("panel.plan_progress", "en")]["A"], "building", "share_of_required")
    assert progress == pytest.approx({A001: 0.5, A002: 1.0, A003: 0.0, A004: 0.8})
    achieved = _by_tag(answers[title("panel.plan_table", "en")]["A"], "building", "reduction_achieved")
    assert achieved == pytest.approx({code: value for code, (_, _, value) in PLAN.items()})


def test_plan_panel_states_the_registry_plan_and_the_yearly_path(example_site: Site) -> None:
    """The plan text shows the registry plan: −5 % kgce/m² by 2025 and 2 % required in 2022 (2/5 of the way)."""
    model = _board(example_site, energy_overview.UID)
    plan = example_site.energy_targets.plan
    text = next(p for p in model["panels"] if p["title"] == title("panel.plan", "en"))["options"]["content"]
    assert plan.name in text and "| kgce_per_m2 | 5.0 % |" in text
    row_2022 = next(line for line in text.splitlines() if line.startswith("| 2022 |"))
    assert row_2022.split(" | ")[1 + list(plan.reductions).index("kgce_per_m2")] == "2.0 %"


def _local_month_start_s(epoch_s: int) -> int:
    """The local (Asia/Shanghai, UTC+8 all year) start of the calendar month holding ``epoch_s``."""
    day = datetime.fromtimestamp(epoch_s, MARCH.tzinfo)
    return int(day.replace(day=1, hour=0, minute=0, second=0).timestamp())


def test_energy_trend_has_one_bar_per_calendar_month_summing_its_days(example_site: Site, site_data: dict[str, Any]) -> None:
    """Over February and March the trends answer one row per building and calendar month, at the month's local
    start: the electricity trend is the sum of the building's 01000 energy_daily rows of that month (February:
    the 28th; March: the 1st to the 3rd) and the kgce trend the sum of its category totals (<cc>000 rows only).
    A range starting mid-month leaves that month's bar out (it sits at the month's start)."""
    store = site_data["store"]
    rows = store.query(f'SELECT "building", "energy", "subitem", "consumption", "kgce" FROM "{ENERGY_DAILY}"')[0]
    kwh_by_month: dict[tuple[str, int], float] = defaultdict(float)
    kgce_by_month: dict[tuple[str, int], float] = defaultdict(float)
    days: dict[tuple[str, int], set[int]] = defaultdict(set)
    for row in rows["values"]:
        record = dict(zip(rows["columns"], row))
        month = (record["building"], _local_month_start_s(record["time"]))
        days[month].add(record["time"])
        if record["subitem"] == "01000":
            kwh_by_month[month] += record["consumption"]
        if record["subitem"].endswith("000") and record["kgce"] is not None:
            kgce_by_month[month] += record["kgce"]
    february, march = int(FEBRUARY.timestamp()), int(MARCH.timestamp())
    assert set(kwh_by_month) == {(b.code, m) for b in example_site.buildings for m in (february, march)}
    assert all(len(days[(b.code, february)]) == 1 and len(days[(b.code, march)]) == 3 for b in example_site.buildings)

    def per_month(answers: dict[str, dict[str, list[dict[str, Any]]]], panel_key: str, column: str) -> dict[tuple[str, int], float]:
        found = {}
        for series in answers[title(panel_key, "en")]["A"]:
            for at, value in zip(_values(series, "time"), _values(series, column)):
                assert (series["tags"]["building"], at) not in found
                found[(series["tags"]["building"], at)] = value
        return found

    months = _answers(example_site, {**site_data, "start_s": february}, energy_overview.UID)
    assert per_month(months, "panel.electricity_trend", "kwh") == pytest.approx(dict(kwh_by_month))
    assert per_month(months, "panel.energy_trend", "kgce") == pytest.approx(dict(kgce_by_month))
    mid_month = _answers(example_site, site_data, energy_overview.UID)  # 2 March onwards: March's bar is on the 1st
    assert mid_month[title("panel.electricity_trend", "en")]["A"] == []


def test_sub_item_pie_sums_each_electricity_sub_item_over_the_range(example_site: Site, site_data: dict[str, Any]) -> None:
    """The sub-item pie sums each electricity sub-item's energy_daily rows of the days in the range (2 and 3
    March), never the 01000 total or another category."""
    store = site_data["store"]
    rows = store.query(
        f'SELECT "subitem", "consumption" FROM "{ENERGY_DAILY}" WHERE "energy" = \'01\' '
        f"AND time >= {site_data['start_s']}s AND time < {site_data['end_s']}s"
    )[0]
    subitems: dict[str, float] = defaultdict(float)
    in_range_days = set()
    for at, subitem, kwh in rows["values"]:
        in_range_days.add(at)
        if subitem != "01000":
            subitems[subitem] += kwh
    assert len(in_range_days) == 2
    answers = _answers(example_site, site_data, energy_overview.UID)
    pie = _by_tag(answers[title("panel.subitems", "en")]["A"], "subitem", "kwh")
    assert pie == pytest.approx(dict(subitems))
    assert "01000" not in pie and "02000" not in pie


def test_score_ranking_and_savings_follow_the_chosen_period(example_site: Site, site_data: dict[str, Any]) -> None:
    """Scores are those of $period (the year and the month differ); savings show avoided energy ± its
    uncertainty as a low and high bound, with the fraction, FSU and whether it is conclusive."""
    for period in ("2026", "2026-03"):
        answers = _answers(example_site, site_data, energy_overview.UID, period=[period])
        assert _by_tag(answers[title("panel.score_ranking", "en")]["A"], "building", "score") == SCORE[period]
        ranks = _by_tag(answers[title("panel.score_table", "en")]["A"], "building", "rank")
        assert sorted(ranks, key=ranks.get) == sorted(SCORE[period], key=lambda code: -SCORE[period][code])
    answers = _answers(example_site, site_data, energy_overview.UID)
    savings = {s["tags"]["building"]: dict(zip(s["columns"], s["values"][0])) for s in answers[title("panel.savings", "en")]["A"]}
    assert set(savings) == set(SAVINGS_POINTS)
    for code, (avoided, band, fraction, fsu, conclusive) in SAVINGS_POINTS.items():
        row = savings[code]
        assert (row["avoided_low_kwh"], row["avoided_kwh"], row["avoided_high_kwh"]) == (avoided - band, avoided, avoided + band)
        assert (row["fraction"], row["fsu"], row["conclusive"]) == (fraction, fsu, conclusive)


# -- (b) building detail ----------------------------------------------------------------------------


def test_ieq_panels_carry_the_gbt18883_bands(example_site: Site) -> None:
    """Temperature: green inside both the summer (22–28 °C) and winter (16–24 °C) band, yellow inside one,
    red outside both; CO₂ red from 1000 ppm; PM2.5 red from 50 µg/m³ — drawn as lines on the panels."""
    assert band_steps((GBT18883_TEMPERATURE_SUMMER_C, GBT18883_TEMPERATURE_WINTER_C)) == (
        "red",
        [(16.0, "yellow"), (22.0, "green"), (24.0, "yellow"), (28.0, "red")],
    )
    model = _board(example_site, building_detail.UID)

    def steps(quantity: str) -> list[dict[str, Any]]:
        panel = next(p for p in model["panels"] if p["title"] == title("panel.ieq", "en", quantity=title(f"ieq.{quantity}", "en")))
        assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed+area"
        return panel["fieldConfig"]["defaults"]["thresholds"]["steps"]

    assert steps("temperature") == [
        {"value": None, "color": "red"},
        {"value": 16.0, "color": "yellow"},
        {"value": 22.0, "color": "green"},
        {"value": 24.0, "color": "yellow"},
        {"value": 28.0, "color": "red"},
    ]
    assert steps("humidity") == [
        {"value": None, "color": "red"},
        {"value": 30.0, "color": "yellow"},
        {"value": 40.0, "color": "green"},
        {"value": 60.0, "color": "yellow"},
        {"value": 80.0, "color": "red"},
    ]
    assert steps("co2") == [{"value": None, "color": "green"}, {"value": GBT18883_CO2_MAX_PPM, "color": "red"}]
    assert steps("pm25") == [{"value": None, "color": "green"}, {"value": GBT18883_PM25_MAX_UG_M3, "color": "red"}]
    assert set(IEQ_LIMITS) >= set(ieq_quantities(example_site))


def test_one_building_shows_its_zones_meters_and_equipment(example_site: Site, site_data: dict[str, Any]) -> None:
    """With $building = A001: one temperature series per registered zone, one latest-reading row per
    registered meter, one status row per registered piece of equipment, and equipment running per type
    never above the registered count of that type."""
    building = next(b for b in example_site.buildings if b.code == A001)
    answers = _answers(example_site, site_data, building_detail.UID, building=[A001])
    zones = {s["tags"]["zone"] for s in answers[title("panel.ieq", "en", quantity=title("ieq.temperature", "en"))]["A"]}
    assert zones == {s.zone for s in building.ieq_sensors}
    meters = {s["tags"]["meter"] for s in answers[title("panel.meters_latest", "en")]["A"]}
    assert meters == {m.id for m in building.meters}
    status = answers[title("panel.equipment_status", "en")]["A"]
    assert sorted(s["tags"]["equipment"] for s in status) == sorted(e.id for e in building.equipment)
    assert all(
        s["tags"]["vendor"] == example_site.equipment_vendor(A001, e)
        for s in status
        for e in building.equipment
        if e.id == s["tags"]["equipment"]
    )
    registered: dict[str, int] = defaultdict(int)
    for equipment in building.equipment:
        registered[equipment.type.value] += 1
    for series in answers[title("panel.equipment_running", "en")]["A"]:
        assert max(v for v in _values(series, "running") if v is not None) <= registered[series["tags"]["type"]]
    quality = answers[title("panel.meter_quality", "en")]["A"]
    assert {s["tags"]["meter"] for s in quality} == {m.id for m in building.meters}
    assert all(0.0 <= _values(s, "completeness")[0] <= 1.0 for s in quality)


def test_active_faults_are_those_whose_last_point_is_a_start(example_site: Site, site_data: dict[str, Any]) -> None:
    """Active = last point active = 1, whatever the range: the open elevator fault, the comfort fault that
    began before the range and the reopened offline meter; never the cleared ones. Recent faults are the
    starts and clears inside the range, newest first."""

    def active(**chosen: list[str]) -> set[tuple[str, str, str]]:
        series = _answers(example_site, site_data, building_detail.UID, **chosen)[title("panel.faults_active", "en")]["A"]
        return {(s["tags"]["building"], s["tags"]["kind"], s["tags"]["target"]) for s in series}

    assert active() == {(A002, "elevator_out_of_service", "EL-1"), (A003, "comfort_out_of_band", "5F"), (A001, "device_offline", "E-LS-1F")}
    assert active(building=[A001]) == {(A001, "device_offline", "E-LS-1F")}
    assert active(building=[A001], vendor=["hvac"]) == set()
    (recent,) = _answers(example_site, site_data, building_detail.UID, building=[A001])[title("panel.faults_recent", "en")]["A"]
    in_range = [f for f in FAULTS if f[0] == A001]
    assert len(recent["values"]) == sum(1 + (clear is not None) for *_, clear in in_range)
    times = _values(recent, "time")
    assert times == sorted(times, reverse=True)


# -- (c) vendor scorecard ---------------------------------------------------------------------------


def test_sla_compliance_and_time_to_restore_per_vendor_and_severity(example_site: Site, site_data: dict[str, Any]) -> None:
    """From the fault points in the range: hvac critical restored in 540 min (SLA 480: breached) and 120 min
    (within) = 50 %, mean 330 min, longest 540 min; property major 90 min (SLA 1440) and minor 60 min
    (SLA 4320) = 100 %; open faults and faults that began before the range are not restores."""
    hvac_critical = next(v for v in example_site.vendors if v.id == "hvac").sla["critical"].restore_min
    assert 120 <= hvac_critical < 540
    answers = _answers(example_site, site_data, vendor_scorecard.UID)
    compliance = {}
    for series_list in answers[title("panel.sla_compliance", "en")].values():
        for s in series_list:
            compliance[(s["tags"]["vendor"], s["tags"]["severity"])] = (_values(s, "within_sla")[0], _values(s, "restored")[0])
    assert compliance == {("hvac", "critical"): (0.5, 2), ("property", "major"): (1.0, 1), ("property", "minor"): (1.0, 1)}
    restore = {
        (s["tags"]["vendor"], s["tags"]["severity"]): dict(zip(s["columns"], s["values"][0]))
        for s in answers[title("panel.restore_time", "en")]["A"]
    }
    hvac = restore[("hvac", "critical")]
    assert (hvac["mean_restore_s"], hvac["max_restore_s"], hvac["restored"]) == (330 * 60, 540 * 60, 2)
    assert (restore[("property", "major")]["mean_restore_s"], restore[("property", "minor")]["mean_restore_s"]) == (90 * 60, 60 * 60)
    assert set(restore) == set(compliance)
    only_a002 = _answers(example_site, site_data, vendor_scorecard.UID, building=[A002])
    assert all(s == [] for s in only_a002[title("panel.sla_compliance", "en")].values())


def test_open_faults_count_per_vendor(example_site: Site, site_data: dict[str, Any]) -> None:
    """Open = last point active = 1: property 2 (comfort band, reopened meter), elevator 1, hvac none;
    faults started in the range are counted per kind (the reopened meter counts twice)."""
    answers = _answers(example_site, site_data, vendor_scorecard.UID)
    assert _by_tag(answers[title("panel.open_faults", "en")]["A"], "vendor", "open") == {"property": 2, "elevator": 1}
    assert len(answers[title("panel.open_faults_list", "en")]["A"]) == 3
    started = {
        (s["tags"]["vendor"], s["tags"]["kind"]): _values(s, "started")[0] for s in answers[title("panel.faults_by_kind", "en")]["A"]
    }
    assert started == {
        ("property", "water_leak"): 1,
        ("hvac", "equipment_fault_code"): 1,
        ("hvac", "simultaneous_heating_cooling"): 1,
        ("elevator", "elevator_out_of_service"): 1,
        ("property", "device_offline"): 2,
    }
    hvac_only = _answers(example_site, site_data, vendor_scorecard.UID, vendor=["hvac"])
    assert hvac_only[title("panel.open_faults", "en")]["A"] == []


def test_vendor_score_components_and_deductions_of_the_period(example_site: Site, site_data: dict[str, Any]) -> None:
    """The score of $period per vendor, every component's points of the registry's vendor score and the
    deduction; the monthly trend holds one point per month scored in the range."""
    answers = _answers(example_site, site_data, vendor_scorecard.UID)
    assert _by_tag(answers[title("panel.vendor_score", "en")]["A"], "vendor", "score") == {v: s for v, (s, _, _) in VENDOR_SCORE.items()}
    deductions = _by_tag(answers[title("panel.vendor_components", "en")]["A"], "vendor", "deduction")
    assert deductions == {v: d for v, (_, _, d) in VENDOR_SCORE.items()}
    wide = {**site_data, "start_s": int(datetime.fromisoformat("2026-01-15T00:00+08:00").timestamp())}
    trend = _answers(example_site, wide, vendor_scorecard.UID)[title("panel.vendor_trend", "en")]
    scores = {s["tags"]["vendor"]: _values(s, "score") for s in trend["A"]}
    assert scores == {v: [s - 5.0, s] for v, (s, _, _) in VENDOR_SCORE.items()}


def test_the_work_order_panels_show_open_orders_deadlines_arrivals_and_breaches(example_site: Site, site_data: dict[str, Any]) -> None:
    """From ORDERS: open orders per vendor (the verified one is not), each open order's state and running
    deadlines (ms, shown as local times), minutes to arrive per vendor with the late ones, breaches by kind."""
    answers = _answers(example_site, site_data, vendor_scorecard.UID)
    assert _by_tag(answers[title("panel.open_orders", "en")]["A"], "vendor", "open") == {"hvac": 1, "elevator": 1}
    listed = answers[title("panel.open_orders_list", "en")]["A"]
    assert {s["tags"]["order"]: _values(s, "state")[0] for s in listed} == {"GD000001": "on_site", "GD000003": "open"}
    assert {_values(s, "restore_due")[0] for s in listed} == {(MORNING + 10 * HOUR_S) * 1000}
    arrivals = answers[title("panel.onsite_times", "en")]["A"]
    assert _by_tag(arrivals, "vendor", "mean_min") == {"hvac": 90.0, "property": 30.0}
    assert _by_tag(arrivals, "vendor", "late") == {"hvac": 1.0, "property": 0.0}
    breaches = answers[title("panel.breaches", "en")]
    assert _by_tag(breaches["A"], "vendor", "onsite") == {"hvac": 1}
    assert breaches["B"] == []  # nobody missed a restore limit
    only_property = _answers(example_site, site_data, vendor_scorecard.UID, vendor=["property"])
    assert only_property[title("panel.open_orders", "en")]["A"] == []
