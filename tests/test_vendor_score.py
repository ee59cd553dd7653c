"""The vendor maintenance-quality score: fault episodes, SLA outcomes (restored, breached, still active at
the period's end), repeats, availability, IEQ compliance, contract deductions, and two vendors of a
hand-made month scored from InfluxDB, ranked and written to score_vendor."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from typer.testing import CliRunner

from facmon.analytics.indicators import parse_period
from facmon.analytics.vendor_score import (
    availability,
    contract_deduction,
    episodes_from_points,
    ieq_compliance,
    repeat_flags,
    score_vendors,
    sla_outcome,
    sla_outcomes,
    write_vendor_scores,
)
from facmon.registry import VENDOR_SCORE_COMPONENTS, ContractTerms, SiteFileError, SlaTerm, VendorScoring, WorkingHours, parse_site
from facmon.schema.faults import Fault
from facmon.standards import Severity
from facmon.store import line
from tests.conftest import EXAMPLE_SITE

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR_S = 3600


def local_s(day: date, hour: int = 0, minute: int = 0) -> int:
    return int(datetime.combine(day, time(hour, minute), SHANGHAI).timestamp())


def episode(
    start_s: int, clear_s: int | None, severity: Severity = Severity.MAJOR, target: str = "AHU-1", kind: str = "equipment_fault_code"
) -> Fault:
    return Fault(building="341122A001", kind=kind, target=target, onset_s=start_s, cleared_s=clear_s, severity=severity, vendor="hvac")


# -- episodes and SLA outcomes ---------------------------------------------------------------------


def test_an_episode_runs_from_an_active_point_to_the_next_clear_and_repeats_change_nothing():
    tags = {"building": "341122A001", "kind": "water_leak", "severity": "major", "vendor": "property", "target": "W-TOILET"}
    found = episodes_from_points(tags, [400, 100, 200, 300, 500], [1.0, 1.0, 1.0, 0.0, 0.0], [2.0, 1.5, 1.6, 0.0, 0.0])
    assert [(e.onset_s, e.cleared_s, e.value) for e in found] == [(100, 300, 1.5), (400, 500, 2.0)]
    still = episodes_from_points(tags, [100], [1.0])
    assert still[0].cleared_s is None and still[0].severity is Severity.MAJOR


def test_a_fault_series_with_an_unknown_severity_is_refused_by_name():
    tags = {"building": "341122A001", "kind": "spike", "severity": "urgent", "vendor": "hvac", "target": "E-MAIN"}
    with pytest.raises(Exception, match="severity 'urgent'"):
        episodes_from_points(tags, [0], [1.0])


def test_restored_within_sla_is_decided_at_the_clear():
    """Major SLA 1440 min; restored after 360 min: ratio 0.25, not breached, decided at the clear."""
    found = sla_outcome(episode(0, 360 * 60), 1440, as_of_s=10**9)
    assert (found.restored, found.breached, found.restore_min, found.decided_s) == (True, False, 360.0, 360 * 60)
    assert found.restore_ratio == pytest.approx(0.25)


def test_restored_late_is_breached_at_start_plus_sla():
    found = sla_outcome(episode(1000, 1000 + 1800 * 60), 1440, as_of_s=10**9)
    assert (found.restored, found.breached, found.restore_min, found.decided_s) == (True, True, 1800.0, 1000 + 1440 * 60)


def test_still_active_at_the_period_end_counts_as_breached_once_over_sla():
    """Active for 2000 min at the period's end, SLA 1440: breached, restore time 2000 min (a lower bound)."""
    found = sla_outcome(episode(0, None), 1440, as_of_s=2000 * 60)
    assert (found.restored, found.breached, found.restore_min) == (False, True, 2000.0)
    assert sla_outcome(episode(0, None), 1440, as_of_s=1000 * 60) is None  # still within its SLA: not decided yet
    assert sla_outcome(episode(0, 3000 * 60), 1440, as_of_s=1000 * 60) is None  # its clear is after the period: unknown then


def test_an_outcome_counts_in_the_period_where_it_was_decided():
    """Critical (240 min) from 22:00 on the last day of May to 04:00: breached at 02:00 on 1 June, so June's."""
    sla = {s: SlaTerm(onsite_min=30, restore_min=240) for s in Severity}
    fault = episode(local_s(date(2025, 5, 31), 22), local_s(date(2025, 6, 1), 4), Severity.CRITICAL)
    may = sla_outcomes([fault], sla, local_s(date(2025, 5, 1)), local_s(date(2025, 6, 1)))
    june = sla_outcomes([fault], sla, local_s(date(2025, 6, 1)), local_s(date(2025, 7, 1)))
    assert may == []
    assert len(june) == 1 and june[0].breached and june[0].decided_s == local_s(date(2025, 6, 1), 2)


def test_a_fault_reopening_within_seven_days_of_its_clear_is_a_repeat():
    day = 86400
    faults = [
        episode(0, 1 * day),
        episode(3 * day, 4 * day),  # 2 days after the clear: repeat
        episode(12 * day, 13 * day),  # 8 days after: not a repeat
        episode(13 * day + 60, None, kind="device_offline"),  # another kind: not a repeat
        episode(14 * day, None, target="AHU-2"),  # another target: not a repeat
    ]
    assert repeat_flags(faults, 7 * day) == [False, True, False, False, False]


def test_availability_counts_overlapping_faults_once_and_clips_to_the_period():
    """Window [1000, 1100): AHU-1 down [1000, 1020) from two overlapping faults, one begun before the
    window → 0.8; AHU-2 never down → 1.0; mean 0.9 with 20 s of downtime."""
    faults = [episode(900, 1010), episode(1005, 1020), episode(1200, None, target="AHU-2")]
    found = availability(faults, [("341122A001", "AHU-1"), ("341122A001", "AHU-2")], 1000, 1100)
    assert found.share == pytest.approx(0.9)
    assert found.downtime_h == pytest.approx(20 / 3600)
    assert found.items_with_downtime == 1
    assert availability(faults, [], 1000, 1100) is None


# -- contract deductions --------------------------------------------------------------------------


CONTRACT = ContractTerms(
    monthly_fee_cny=20000,
    deduction_per_breach_cny={Severity.MAJOR: 500, Severity.MINOR: 100},
    deduction_per_breach_percent={Severity.CRITICAL: 5},
    cap_percent=10,
)


def test_deductions_per_breach_by_severity_with_the_monthly_cap():
    """June: 3 critical × 5 % × 20 000 + 1 major × 500 = 3 500, capped at 10 % = 2 000.
    July: 2 minor × 100 = 200. The period: 2 200 (3 700 before the cap)."""
    found = contract_deduction({"2025-06": {Severity.CRITICAL: 3, Severity.MAJOR: 1}, "2025-07": {Severity.MINOR: 2}}, CONTRACT)
    assert found.by_month_cny == pytest.approx({"2025-06": 2000.0, "2025-07": 200.0})
    assert found.amount_cny == pytest.approx(2200.0)
    assert found.uncapped_cny == pytest.approx(3700.0)
    assert found.breaches == {"critical": 3, "major": 1, "minor": 2}
    assert "capped at 10 %" in found.note


def test_without_contract_terms_nothing_is_deducted_but_breaches_are_counted():
    found = contract_deduction({"2025-06": {Severity.MAJOR: 2}}, ContractTerms())
    assert found.amount_cny == 0.0 and found.breaches["major"] == 2
    assert "no deduction terms" in found.note


# -- IEQ ------------------------------------------------------------------------------------------


def test_ieq_compliance_judges_occupied_hours_only_against_the_season_bands():
    """Tuesday 3 June 2025, working hours 08:30-17:30: the hours starting 08:00 … 16:00 are occupied
    (midpoint inside). 07:00 and 17:00 are not, and Sunday 8 June is a rest day. Of the 9 occupied
    hours, 10:00 has CO₂ 1200 ppm and 11:00 is at 29 °C (summer band 22-28 °C): 7 of 9 comply.
    In April (between the seasons) 17 °C is inside the union band 16-28 °C."""
    hours = [local_s(date(2025, 6, 3), h) for h in range(7, 18)] + [local_s(date(2025, 6, 8), 10)]
    temperature = np.full(len(hours), 25.0)
    humidity = np.full(len(hours), 50.0)
    co2 = np.full(len(hours), 600.0)
    co2[3] = 1200.0  # 10:00
    temperature[4] = 29.0  # 11:00
    temperature[0] = temperature[-1] = co2[-1] = 5000.0  # 07:00 and Sunday: not occupied, not judged
    found = ieq_compliance(np.array(hours), temperature, humidity, co2, WorkingHours(), "Asia/Shanghai", VendorScoring())
    assert (found.compliant_hours, found.occupied_hours) == (7, 9)
    april = ieq_compliance(
        np.array([local_s(date(2025, 4, 8), 10)]),
        np.array([17.0]),
        np.array([np.nan]),
        np.array([np.nan]),
        WorkingHours(),
        "Asia/Shanghai",
        VendorScoring(),
    )
    assert (april.compliant_hours, april.occupied_hours) == (1, 1)


# -- registry -------------------------------------------------------------------------------------


def test_contract_terms_and_vendor_scoring_are_optional_with_kpi_defaults(example_site):
    """The example gives only hvac deductions for SLA breaches; property's contract has only the combined
    assessment's, elevator none. Without a vendor_scoring section the marks are
    docs/standards.md#outsourced-services's KPIs: availability 98 %, repair timeliness 95 %."""
    contracts = {v.id: v.contract for v in example_site.vendors}
    assert contracts["hvac"].monthly_fee_cny == 38000 and contracts["hvac"].deduction_per_breach_percent == {Severity.CRITICAL: 2}
    property_terms = contracts["property"]
    assert (property_terms.deduction_per_breach_cny, property_terms.deduction_per_breach_percent, property_terms.cap_percent) == (
        {},
        {},
        None,
    )
    assert property_terms.assessment_deduction_percent == {"pass": 1, "fail": 5} and contracts["elevator"] == ContractTerms()
    assert example_site.vendor_scoring.availability_target == 0.98 and example_site.vendor_scoring.sla_compliance_target == 0.95


ELEVATOR_SLA = "sla:\n    critical: {onsite_min: 30, restore_min: 240}\n    major: {onsite_min: 120"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (  # the elevator vendor's SLA: it has no contract terms in the example
            ELEVATOR_SLA,
            "contract: {deduction_per_breach_percent: {critical: 2}}\n  " + ELEVATOR_SLA,
            "need monthly_fee_cny",
        ),
        (
            ELEVATOR_SLA,
            "contract: {monthly_fee_cny: 1000, deduction_per_breach_cny: {major: 50}, deduction_per_breach_percent: {major: 1}}\n  "
            + ELEVATOR_SLA,
            "has both",
        ),
        (ELEVATOR_SLA, "contract: {assessment_deduction_percent: {fail: 5}}\n  " + ELEVATOR_SLA, "needs monthly_fee_cny"),
        (
            ELEVATOR_SLA,
            "contract: {monthly_fee_cny: 1000, assessment_deduction_percent: {bad: 5}}\n  " + ELEVATOR_SLA,
            "grade 'bad' is not in vendor_assessment.grades",
        ),
        ("coverage:", "vendor_scoring:\n  weights: {sla_compliance: 0.5}\ncoverage:", "vendor score weights must sum to 1"),
        (
            "coverage:",
            "vendor_scoring: {availability_target: 0.9, availability_zero: 0.95}\ncoverage:",
            "availability: the full-points mark 0.9 must be above",
        ),
    ],
)
def test_bad_contract_terms_and_vendor_scoring_are_refused_with_file_and_line(tmp_path, old, new, message):
    text = EXAMPLE_SITE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "site.yaml"
    with pytest.raises(SiteFileError) as caught:
        parse_site(text.replace(old, new, 1), path)
    assert message in str(caught.value) and f"{path}:" in str(caught.value)


# -- two vendors of a hand-made June, from InfluxDB -----------------------------------------------

SCORED_SITE = """
site: {name: 测试园区, timezone: Asia/Shanghai, division_code: '341122', climate_zone: hot_summer_cold_winter}
vendor_scoring: {sla_compliance_zero: 0.0, fault_rate_full: 1.0, fault_rate_zero: 5.0, repeat_share_zero: 0.5}
vendors:
- id: hvac
  name: 暖通维保
  services: [hvac_maintenance]
  contacts: [{kind: email, address: hvac@example.org}]
  sla:
    critical: {onsite_min: 30, restore_min: 240}
    major: {onsite_min: 60, restore_min: 1440}
    minor: {onsite_min: 240, restore_min: 4320}
  contract:
    monthly_fee_cny: 20000
    deduction_per_breach_cny: {major: 500, minor: 100}
    deduction_per_breach_percent: {critical: 5}
    cap_percent: 10
- id: property
  name: 物业
  services: [building_upkeep]
  contacts: [{kind: email, address: property@example.org}]
  sla:
    critical: {onsite_min: 30, restore_min: 240}
    major: {onsite_min: 60, restore_min: 1440}
    minor: {onsite_min: 240, restore_min: 4320}
coverage:
- {vendor: hvac, systems: [hvac]}
- {vendor: property, systems: [indoor_environment]}
buildings:
- code: '341122A001'
  name: 一号楼
  floor_area_m2: 1000
  energy_users: 100
  office_class: A
  office_use: government
  ieq_sensors: [{id: IEQ-1, zone: 1F, quantities: [temperature, humidity, co2]}]
  equipment:
  - {id: AHU-1, type: ahu}
  - {id: AHU-2, type: ahu}
"""
B = "341122A001"
JUNE = [date(2025, 6, d) for d in range(1, 31)]


def fault_points(vendor: str, kind: str, severity: str, target: str, start_s: int, clear_s: int | None) -> list[str]:
    tags = {"building": B, "kind": kind, "severity": severity, "vendor": vendor, "target": target}
    points = [line("fault", tags, {"active": 1.0, "value": 1.0, "detail": kind}, start_s * 10**9)]
    if clear_s is not None:
        points.append(line("fault", tags, {"active": 0.0, "value": 0.0, "detail": "cleared"}, clear_s * 10**9))
    return points


def write_hand_made_june(store) -> None:
    """hvac faults (by hand below), one property fault, AHU-1 reporting every 300 s and AHU-2 every 600 s
    all June, IEQ-1 every 300 s all June: 25 °C, 50 %, 600 ppm except 1500 ppm at 10:00-11:00 and
    14:00-15:00 every day."""
    lines = []
    lines += fault_points("hvac", "device_offline", "critical", "AHU-2", local_s(date(2025, 5, 31), 22), local_s(date(2025, 6, 1), 4))  # F4
    lines += fault_points(
        "hvac", "equipment_fault_code", "major", "AHU-1", local_s(date(2025, 6, 2), 10), local_s(date(2025, 6, 2), 16)
    )  # F1
    lines += fault_points(
        "hvac", "equipment_fault_code", "major", "AHU-1", local_s(date(2025, 6, 5), 10), local_s(date(2025, 6, 6), 16)
    )  # F2
    lines += fault_points("hvac", "hvac_weekend", "minor", "AHU-2", local_s(date(2025, 6, 14), 9), local_s(date(2025, 6, 14), 17))  # F5
    lines += fault_points("hvac", "simultaneous_heating_cooling", "minor", "AHU-2", local_s(date(2025, 6, 29), 12), None)  # F3
    lines += fault_points(
        "property", "comfort_out_of_band", "minor", "1F", local_s(date(2025, 6, 10), 9), local_s(date(2025, 6, 10), 12)
    )  # F6
    start, end = local_s(date(2025, 6, 1)), local_s(date(2025, 7, 1))
    for t in range(start, end, 300):
        if (t - start) % 600 == 0:
            lines.append(
                line("equipment", {"building": B, "equipment": "AHU-2", "type": "ahu", "vendor": "hvac"}, {"running": 1.0}, t * 10**9)
            )
        lines.append(line("equipment", {"building": B, "equipment": "AHU-1", "type": "ahu", "vendor": "hvac"}, {"running": 1.0}, t * 10**9))
        hour = datetime.fromtimestamp(t, SHANGHAI).hour
        co2 = 1500.0 if hour in (10, 14) else 600.0
        lines.append(
            line("ieq", {"building": B, "zone": "1F", "sensor": "IEQ-1"}, {"temperature": 25.0, "humidity": 50.0, "co2": co2}, t * 10**9)
        )
    store.write(lines)


# By hand, hvac in June 2025 (720 h; SLA critical 240, major 1440, minor 4320 min):
#   F4 critical AHU-2 31 May 22:00 → 1 Jun 04:00: 360 min, breached at 02:00 on 1 June → June; opened in May
#   F1 major AHU-1 2 Jun 10:00 → 16:00: 360 min, within SLA, ratio 0.25
#   F2 major AHU-1 5 Jun 10:00 → 6 Jun 16:00: 1800 min, breached (ratio 1.25); a repeat (2.75 days after F1)
#   F5 minor AHU-2 14 Jun 09:00 → 17:00: 480 min, within SLA, ratio 1/9
#   F3 minor AHU-2 29 Jun 12:00, still active: 2160 min at the period's end < 4320, not decided in June
#   sla_compliance: 2 of 4 → 0.5; zero mark set to 0 → 0.5 / 0.95
#   restore_time: median of 0.25, 1.25, 1.5, 0.111 = 0.75 → (1.5 − 0.75) / (1.5 − 0.5) = 0.75
#   fault_rate: opened F1, F2, F5, F3 weighted 2 + 2 + 1 + 1 = 6 on 2 devices in 30 days = 3 → (5 − 3)/(5 − 1) = 0.5
#   repeat_faults: 1 of 4 = 0.25 → (0.5 − 0.25)/0.5 = 0.5
#   availability: AHU-1 down 6 + 30 h → 0.95; AHU-2 down 4 + 8 + 36 h → 1 − 48/720; mean 0.941667 → (0.941667 − 0.9)/0.08
#   ieq: not covered; onsite_timeliness, satisfaction: no work orders → their weights 0.10 + 0.10 + 0.05
#   shared out (available 0.75)
#   completeness: AHU-1 8640/8640, AHU-2 4320/8640 → 0.75 → (0.75 − 0.5)/0.4 = 0.625
#   deduction: F2 major 500 + F4 critical 5 % × 20 000 = 1 000 → 1 500 (cap 2 000)
HVAC = {
    "sla_compliance": 0.5 / 0.95,
    "restore_time": 0.75,
    "fault_rate": 0.5,
    "repeat_faults": 0.5,
    "availability": ((0.95 + (1 - 48 / 720)) / 2 - 0.90) / 0.08,
    "completeness": 0.625,
}
HVAC_SCORE = (
    100 * (0.20 * HVAC["sla_compliance"] + 0.10 * 0.75 + 0.10 * 0.5 + 0.10 * 0.5 + 0.15 * HVAC["availability"] + 0.10 * 0.625) / 0.75
)
# property: F6 180 min within SLA (full), 1 weighted fault on 1 device in 30 days = 1.0 (full), no repeat,
# no equipment and no work orders (availability, onsite_timeliness, satisfaction shared out, available
# 0.70). IEQ: June 2025 has 20 working days (9 weekend days, 2 June 端午 holiday); 9 occupied hours each =
# 180, of which 10:00 and 14:00 are over 1000 ppm →
# 140/180 → (0.7778 − 0.70)/0.25 = 0.31111. IEQ-1 reported every 300 s: completeness 1.
PROPERTY_IEQ = (140 / 180 - 0.70) / 0.25
PROPERTY_SCORE = 100 * (0.20 + 0.10 + 0.10 + 0.10 + 0.10 * PROPERTY_IEQ + 0.10) / 0.70


def test_two_vendors_of_a_hand_made_month_score_as_computed_by_hand(store, tmp_path):
    site = parse_site(SCORED_SITE, tmp_path / "site.yaml")
    write_hand_made_june(store)
    card = score_vendors(store, site, parse_period("2025-06"), now=datetime(2025, 7, 10, tzinfo=UTC))
    assert [(v.vendor, v.rank) for v in card.vendors] == [("property", 1), ("hvac", 2)]
    hvac = next(v for v in card.vendors if v.vendor == "hvac")
    fractions = {c.component: c.fraction for c in hvac.components if c.available}
    assert fractions == pytest.approx(HVAC)
    assert not hvac.component("ieq").available and "indoor_environment" in hvac.component("ieq").note
    assert hvac.component("availability").value == pytest.approx(1 - 84 / 1440)
    assert hvac.score == pytest.approx(HVAC_SCORE)  # 56.12
    assert hvac.faults_by_severity == {"critical": 0, "major": 2, "minor": 2}
    assert hvac.breaches == 2
    assert hvac.deduction.amount_cny == pytest.approx(1500.0)
    prop = next(v for v in card.vendors if v.vendor == "property")
    assert prop.component("ieq").value == pytest.approx(140 / 180)
    assert prop.component("completeness").value == pytest.approx(1.0)
    assert prop.score == pytest.approx(PROPERTY_SCORE)  # 91.39
    assert prop.deduction.amount_cny == 0.0


def test_a_fault_still_active_after_its_sla_is_breached_in_the_next_month(store, tmp_path):
    """July: F3 (minor, 4320 min) opened 29 June 12:00 never clears: breached on 2 July 12:00, measured to
    1 August 00:00 = 46 080 min; 100 CNY. August: already decided, but AHU-2 is down all month (read from
    before the lookback window): availability (0 + 1) / 2 = 0.5."""
    site = parse_site(SCORED_SITE, tmp_path / "site.yaml")
    write_hand_made_june(store)
    july = score_vendors(store, site, parse_period("2025-07"), now=datetime(2025, 9, 1, tzinfo=UTC))
    hvac = next(v for v in july.vendors if v.vendor == "hvac")
    assert [(o.episode.target, o.breached, o.restored) for o in hvac.outcomes] == [("AHU-2", True, False)]
    assert hvac.outcomes[0].restore_min == pytest.approx((local_s(date(2025, 8, 1)) - local_s(date(2025, 6, 29), 12)) / 60)
    assert hvac.component("sla_compliance").value == 0.0
    assert "still active at the period's end" in hvac.component("sla_compliance").note
    assert hvac.deduction.amount_cny == pytest.approx(100.0)
    august = score_vendors(store, site, parse_period("2025-08"), now=datetime(2025, 9, 10, tzinfo=UTC))
    hvac = next(v for v in august.vendors if v.vendor == "hvac")
    assert hvac.outcomes == []
    assert hvac.component("availability").value == pytest.approx(0.5)


def test_score_vendor_points_are_written_once_per_vendor_and_period(store, tmp_path):
    site = parse_site(SCORED_SITE, tmp_path / "site.yaml")
    write_hand_made_june(store)
    for _ in range(2):
        card = score_vendors(store, site, parse_period("2025-06"), now=datetime(2025, 7, 10, tzinfo=UTC))
        assert write_vendor_scores(store, card, site.site.timezone) == 2
    rows = {row["vendor"]: row for row in store.rows('SELECT * FROM "score_vendor"')}
    assert set(rows) == {"hvac", "property"}
    row = rows["hvac"]
    assert row["period"] == "2025-06"
    assert datetime.fromtimestamp(row["time"], UTC) == datetime(2025, 5, 31, 16, 0, tzinfo=UTC)
    assert row["score"] == pytest.approx(HVAC_SCORE, abs=1e-3)
    assert row["deduction"] == pytest.approx(1500.0) and row["breaches"] == 2.0 and row["rank"] == 2.0
    assert row["faults_major"] == 2.0 and row["ieq_available"] == 0.0
    assert row["availability_points"] == pytest.approx(100 * 0.15 / 0.75 * HVAC["availability"], abs=1e-3)
    assert row["onsite_timeliness_available"] == 0.0 and row["satisfaction_available"] == 0.0


def test_the_command_prints_json_and_a_ranked_table(store, stack_env, monkeypatch):
    """`facmon score vendors --period 2025-06 --format json` lists the example site's three vendors; a
    malformed period is refused by name."""
    from facmon.cli import app

    for key, value in stack_env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    result = runner.invoke(app, ["score", "vendors", "--period", "2025-06", "--format", "json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)
    assert card["period"] == "2025-06"
    assert sorted(v["vendor"] for v in card["vendors"]) == ["elevator", "hvac", "property"]
    assert set(card["weights"]) == set(VENDOR_SCORE_COMPONENTS)
    assert len(VENDOR_SCORE_COMPONENTS) == 9 and {"onsite_timeliness", "satisfaction"} <= set(VENDOR_SCORE_COMPONENTS)
    table = runner.invoke(app, ["score", "vendors", "--period", "2025-06"])
    assert table.exit_code == 0, table.output
    assert "Vendor maintenance-quality score" in table.output and "华通机电设备维保有限公司" in table.output
    bad = runner.invoke(app, ["score", "vendors", "--period", "June"])
    assert bad.exit_code != 0 and "period 'June'" in str(bad.exception)


def _order_event(n: int, at: datetime, action: str, **detail: float | str) -> str:
    """One hvac work-order event as the timeline writes it (facmon.workorders.timeline)."""
    from facmon.schema.work_orders import WorkOrderEvent, work_order_line

    tags = {"building": "341122A001", "vendor": "hvac", "severity": "major", "kind": "hvac", "source": "request", "order": f"GD{n:06d}"}
    return work_order_line(
        WorkOrderEvent(n * 10 + len(action), int(at.timestamp() * 1e6), tags, action, "x", "y", True, None, None, detail)
    )


def test_on_site_timeliness_and_return_visits_come_from_the_work_orders(store, tmp_path):
    """June 2025, hvac: four arrivals in time, one late and one order nobody reached (6 on-site clocks, 4
    in time → 0.667 → (0.667 − 0.70) below the zero mark: 0 points); return visits 5, 5, 4, 2 → 3 of 4
    satisfied = 0.75 → (0.75 − 0.60)/(0.90 − 0.60) = 0.5. A visit in July does not count in June."""
    site = parse_site(SCORED_SITE, tmp_path / "site.yaml")
    write_hand_made_june(store)
    day = datetime(2025, 6, 10, 2, 0, tzinfo=UTC)
    lines = [_order_event(n, day + timedelta(days=n), "arrive", onsite_min=30.0 + n, onsite_breached=False) for n in range(1, 5)]
    lines.append(_order_event(5, day, "breach", breach="onsite"))  # late: the limit passed, then the arrival
    lines.append(_order_event(5, day + timedelta(hours=3), "arrive", onsite_min=180.0, onsite_breached=True))
    lines.append(_order_event(6, day + timedelta(days=1), "breach", breach="onsite"))  # nobody came in June
    lines.append(_order_event(7, day, "breach", breach="restore"))  # a restore breach is not an on-site one
    store.write(lines)
    ratings = [5, 5, 4, 2]
    store.write([_order_event(20 + i, day + timedelta(days=i, hours=5), "return_visit", rating=float(r)) for i, r in enumerate(ratings)])
    store.write([_order_event(30, datetime(2025, 7, 2, tzinfo=UTC), "return_visit", rating=1.0)])
    card = score_vendors(store, site, parse_period("2025-06"), now=datetime(2025, 7, 10, tzinfo=UTC))
    hvac = next(v for v in card.vendors if v.vendor == "hvac")
    onsite, satisfaction = hvac.component("onsite_timeliness"), hvac.component("satisfaction")
    assert onsite.available and onsite.value == pytest.approx(4 / 6) and onsite.fraction == 0.0
    assert "4 of 6 on site in time; 1 past the limit with nobody on site" in onsite.note
    assert satisfaction.available and satisfaction.value == pytest.approx(0.75) and satisfaction.fraction == pytest.approx(0.5)
    # every component available but IEQ: 0.90 of the weights
    expected = (
        100
        * (0.20 * HVAC["sla_compliance"] + 0.10 * 0.75 + 0.10 * 0.5 + 0.10 * 0.5 + 0.15 * HVAC["availability"] + 0.10 * 0.625 + 0.05 * 0.5)
        / 0.90
    )
    assert hvac.score == pytest.approx(expected)


def test_too_few_return_visits_are_not_scored(tmp_path):
    from facmon.analytics.vendor_score import score_vendor

    site = parse_site(SCORED_SITE, tmp_path / "site.yaml")
    vendor = site.vendor("hvac")
    as_of = int(datetime(2025, 7, 1, tzinfo=SHANGHAI).timestamp())
    score = score_vendor(site, vendor, parse_period("2025-06"), as_of, [], None, None, (), [5, 4])
    assert not score.component("satisfaction").available
    assert "only 2 return visit(s): too few to judge" in score.component("satisfaction").note
