"""The energy-saving score: points rules, weights and their validation, redistribution of unavailable
components, ranking, and a hand-computed building scored from InfluxDB and written to score_energy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from typer.testing import CliRunner

from facmon.analytics.energy_score import (
    BuildingScore,
    ComponentScore,
    SavingsEvidence,
    ScoreWeightError,
    intensity_points,
    linear_points,
    plan_points,
    rank_scores,
    savings_points,
    score_energy,
    weigh,
    write_energy_scores,
)
from facmon.analytics.indicators import parse_period
from facmon.registry import ScoreWeights, SiteFileError, parse_site
from facmon.store import line
from tests.conftest import EXAMPLE_SITE

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_ns(day: date, hour: int = 0) -> int:
    return int(datetime.combine(day, time(hour), SHANGHAI).timestamp()) * 10**9


# -- points rules ---------------------------------------------------------------------------------


def test_linear_points_are_capped_and_work_both_ways():
    assert linear_points(0.30, 0.35, 0.60) == 1.0  # lower is better, below the full mark
    assert linear_points(0.475, 0.35, 0.60) == pytest.approx(0.5)
    assert linear_points(0.70, 0.35, 0.60) == 0.0
    assert linear_points(0.95, 0.90, 0.50) == 1.0  # higher is better
    assert linear_points(0.70, 0.90, 0.50) == pytest.approx(0.5)
    assert linear_points(0.40, 0.90, 0.50) == 0.0


@pytest.mark.parametrize(
    ("corrected", "expected"),
    [(60, 1.0), (65, 1.0), (77.5, 0.75), (90, 0.5), (99, 0.25), (108, 0.0), (130, 0.0)],
)
def test_intensity_full_at_guide_half_at_constraint_zero_20_percent_above(corrected, expected):
    """Guide 65, constraint 90: linear 1 → 0.5 between them, 0.5 → 0 from 90 to 108 (= 90 × 1.2)."""
    assert intensity_points(corrected, 65, 90, 0.20) == pytest.approx(expected)


def test_plan_points_reach_full_at_the_required_reduction():
    assert plan_points(0.03, 0.03) == 1.0
    assert plan_points(0.02, 0.03) == pytest.approx(2 / 3)
    assert plan_points(-0.01, 0.03) == 0.0  # use grew


def test_savings_full_at_target_half_at_zero_and_inconclusive_counts_as_zero():
    assert savings_points(SavingsEvidence(0.05, 0.2, True), 0.05) == 1.0
    assert savings_points(SavingsEvidence(0.0, 0.9, True), 0.05) == pytest.approx(0.5)
    assert savings_points(SavingsEvidence(-0.025, 0.3, True), 0.05) == pytest.approx(0.25)
    assert savings_points(SavingsEvidence(0.08, 0.7, False), 0.05) == pytest.approx(0.5)


# -- weights --------------------------------------------------------------------------------------


def component(name: str, fraction: float, available: bool = True) -> ComponentScore:
    return ComponentScore(name, name, available, 1.0 if available else None, "share", None, "", fraction, "")


def test_score_is_the_weighted_sum_of_component_fractions():
    """Default weights .30/.25/.20/.15/.10 and fractions 1, .5, .5, 0, 1 → 30 + 12.5 + 10 + 0 + 10 = 62.5."""
    parts = [
        component("intensity", 1),
        component("plan", 0.5),
        component("savings", 0.5),
        component("after_hours", 0),
        component("completeness", 1),
    ]
    weighed, score, explanation = weigh(parts, ScoreWeights())
    assert score == pytest.approx(62.5)
    assert [c.points for c in weighed] == pytest.approx([30, 12.5, 10, 0, 10])
    assert [c.max_points for c in weighed] == pytest.approx([30, 25, 20, 15, 10])
    assert explanation == ""


def test_an_unavailable_component_shares_its_weight_out_in_proportion():
    """Savings (0.20) unavailable: the others are divided by 0.80 → effective .375/.3125/.1875/.125.
    Fractions .75, .4, -, 1, .5 → 28.125 + 12.5 + 18.75 + 6.25 = 65.625."""
    parts = [
        component("intensity", 0.75),
        component("plan", 0.4),
        component("savings", 0, available=False),
        component("after_hours", 1),
        component("completeness", 0.5),
    ]
    weighed, score, explanation = weigh(parts, ScoreWeights())
    assert [c.effective_weight for c in weighed] == pytest.approx([0.375, 0.3125, 0.0, 0.1875, 0.125])
    assert score == pytest.approx(65.625)
    assert "savings" in explanation and "0.80" in explanation


def test_nothing_available_means_not_scored():
    parts = [component(name, 0, available=False) for name in ("intensity", "plan", "savings", "after_hours", "completeness")]
    assert weigh(parts, ScoreWeights())[1] is None


def with_energy_targets(block: str) -> str:
    """The example site with ``block`` in place of its own energy_targets section."""
    text = EXAMPLE_SITE.read_text(encoding="utf-8")
    start = text.index("\nenergy_targets:\n") + 1
    end = text.index("\nvendors:\n", start) + 1
    return text[:start] + text[end:] + "\n" + block


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "energy_targets:\n  scoring:\n    weights: {intensity: 0.3, plan: 0.3, savings: 0.2, after_hours: 0.1, completeness: 0.2}\n",
            "score weights must sum to 1",
        ),
        (
            "energy_targets:\n  scoring:\n    weights: {intensity: -0.1, plan: 0.45, savings: 0.3, after_hours: 0.25, completeness: 0.1}\n",
            "greater than or equal to 0",
        ),
        ("energy_targets:\n  scoring:\n    weights: {intensity: 0.3, comfort: 0.1}\n", "comfort: is not a known field"),
        (
            "energy_targets:\n  scoring: {after_hours_target_share: 0.7, after_hours_zero_share: 0.6}\n",
            "must exceed after_hours_target_share",
        ),
        ("energy_targets:\n  plan: {base_year: 2025, target_year: 2025}\n", "must be after base_year"),
        ("energy_targets:\n  plan:\n    base_values: {'341122A999': measured}\n", "building '341122A999' is not in buildings"),
        (
            "energy_targets:\n  gbt51161:\n    benchmarks: {'C/government/mild': {constraint_kwh_m2: 60, guide_kwh_m2: 45}}\n",
            "benchmark key",
        ),
        (
            "energy_targets:\n  gbt51161:\n    benchmarks: {'A/government/mild': {constraint_kwh_m2: 40, guide_kwh_m2: 45}}\n",
            "cannot exceed constraint",
        ),
    ],
)
def test_bad_energy_targets_are_refused_with_file_and_line(tmp_path, block, message):
    path = tmp_path / "site.yaml"
    with pytest.raises(SiteFileError) as caught:
        parse_site(with_energy_targets(block), path)
    assert message in str(caught.value)
    assert f"{path}:" in str(caught.value) and "energy_targets" in str(caught.value)


def test_weights_in_the_registry_replace_the_defaults(tmp_path):
    block = "energy_targets:\n  scoring:\n    weights: {intensity: 0.4, plan: 0.2, savings: 0.2, after_hours: 0.1, completeness: 0.1}\n"
    site = parse_site(with_energy_targets(block), tmp_path / "site.yaml")
    assert site.energy_targets.scoring.weights.intensity == 0.4
    with pytest.raises(ScoreWeightError, match="sum to 1"):
        weigh([component("intensity", 1)], {"intensity": 0.5, "plan": 0.1, "savings": 0.1, "after_hours": 0.1, "completeness": 0.1})


# -- ranking --------------------------------------------------------------------------------------


def test_ranking_is_best_first_with_shared_ranks_and_unscored_last():
    def entry(code: str, score: float | None) -> BuildingScore:
        return BuildingScore(code, code, "2025", score, [], "", indicators=None)  # type: ignore[arg-type]

    ranked = rank_scores([entry("A", 80.0), entry("B", 90.0), entry("C", 80.0), entry("D", None), entry("E", 70.0)])
    assert [(e.building, e.rank) for e in ranked] == [("B", 1), ("A", 2), ("C", 2), ("E", 4), ("D", None)]


# -- a building scored from InfluxDB ----------------------------------------------------------------

SCORED_SITE = """
site: {name: 测试园区, timezone: Asia/Shanghai, division_code: '341122', climate_zone: hot_summer_cold_winter}
energy_targets:
  plan:
    base_values: {'341122A001': {energy: ['01'], values: {kgce_per_m2: 10.0}, source: 2020 statistics}}
  gbt51161:
    use_hours_h: {'341122A001': 2500}
buildings:
- code: '341122A001'
  name: 一号楼
  floor_area_m2: 1000
  energy_users: 100
  office_class: A
  office_use: government
  meters:
  - {id: E-MAIN, energy: '01', subitem: '01000', unit: kWh, rated_power_kw: 200}
  - {id: E-LS, energy: '01', subitem: '01A10', unit: kWh, rated_power_kw: 50}
  - {id: W-MAIN, energy: '02', subitem: '02000', unit: m3}
"""


def write_hand_made_june(store) -> None:
    """June 2025: 30 days × main 200 kWh / 24.58 kgce; intervals 21 kWh on a working Tuesday at 10:00
    and 19 kWh on a Saturday; completeness 1.0 for the 3 meters on 21 of the 30 days. The eleven months
    before it the same 200 kWh / 24.58 kgce a day, so the plan's twelve months are measured whole."""
    lines = []
    for ordinal in range(date(2024, 7, 1).toordinal(), date(2025, 6, 1).toordinal()):
        lines.append(
            line(
                "energy_daily",
                {"building": "341122A001", "energy": "01", "subitem": "01000"},
                {"consumption": 200.0, "kgce": 24.58, "co2_kg": 106.12},
                local_ns(date.fromordinal(ordinal)),
            )
        )
    for day in range(1, 31):
        t_ns = local_ns(date(2025, 6, day))
        lines.append(
            line(
                "energy_daily",
                {"building": "341122A001", "energy": "01", "subitem": "01000"},
                {"consumption": 200.0, "kgce": 24.58, "co2_kg": 106.12},
                t_ns,
            )
        )
        if day <= 21:
            for meter in ("E-MAIN", "E-LS", "W-MAIN"):
                lines.append(line("meter_daily", {"building": "341122A001", "meter": meter}, {"completeness": 1.0}, t_ns))
    tags = {"building": "341122A001", "meter": "E-MAIN", "energy": "01", "subitem": "01000"}
    lines.append(line("energy_interval", tags, {"consumption": 21.0, "estimated": False}, local_ns(date(2025, 6, 3), 10)))
    lines.append(line("energy_interval", tags, {"consumption": 19.0, "estimated": False}, local_ns(date(2025, 6, 7), 10)))
    store.write(lines)


# By hand, for 一号楼 (A government, 夏热冬冷: guide 55, constraint 70; S = 10 m²/person → γ₂ = 1; T = 2500 h → γ₁ = 1):
#   intensity: 6000 kWh / 1000 m² × 365/30 = 73.0 > 70 → 0.5 × (84 − 73)/(84 − 70) = 0.392857
#   plan: 2024-07..2025-06, 365 days × 24.58 kgce / 1000 m² = 8.97170 kgce/m² vs base 10 (electricity, as measured):
#         10.28 % ≥ 5 % required in 2025 → 1.0
#   savings: +2.5 %, conclusive → 0.5 + 0.5 × 2.5/5 = 0.75
#   after hours: 19/40 = 47.5 % → (60 − 47.5)/(60 − 35) = 0.5
#   completeness: 63 of 90 meter-days → 0.7 → (0.7 − 0.5)/(0.9 − 0.5) = 0.5
INTENSITY, PLAN, SAVINGS, AFTER_HOURS, COMPLETENESS = 0.5 * 11 / 14, 1.0, 0.75, 0.5, 0.5
HAND_SCORE = 100 * (0.30 * INTENSITY + 0.25 * PLAN + 0.20 * SAVINGS + 0.15 * AFTER_HOURS + 0.10 * COMPLETENESS)


def test_a_hand_made_building_month_scores_as_computed_by_hand(store, tmp_path):
    site = parse_site(SCORED_SITE, tmp_path / "site.yaml")
    write_hand_made_june(store)
    card = score_energy(store, site, parse_period("2025-06"), {"341122A001": SavingsEvidence(0.025, 0.3, True)}, today=date(2025, 7, 10))
    entry = card.buildings[0]
    fractions = {c.component: c.fraction for c in entry.components}
    assert fractions == pytest.approx(
        {"intensity": INTENSITY, "plan": PLAN, "savings": SAVINGS, "after_hours": AFTER_HOURS, "completeness": COMPLETENESS}
    )
    assert entry.component("intensity").value == pytest.approx(73.0)
    assert entry.component("plan").value == pytest.approx((10 - 8.9717) / 10, abs=1e-4)
    assert entry.component("completeness").value == pytest.approx(0.7)
    assert entry.score == pytest.approx(HAND_SCORE)  # 64.2857
    assert entry.rank == 1
    assert "annualised from 30 day(s)" in entry.component("intensity").note


def test_without_a_baseline_savings_is_not_available_and_explained(store, tmp_path):
    """Savings' 0.20 goes to the others: (0.3 × .392857 + .25 + .15 × .5 + .1 × .5) / 0.8 × 100 = 61.607."""
    site = parse_site(SCORED_SITE, tmp_path / "site.yaml")
    write_hand_made_june(store)
    entry = score_energy(store, site, parse_period("2025-06"), today=date(2025, 7, 10)).buildings[0]
    assert not entry.component("savings").available
    assert entry.score == pytest.approx(100 * (0.30 * INTENSITY + 0.25 * PLAN + 0.15 * AFTER_HOURS + 0.10 * COMPLETENESS) / 0.80)
    assert "savings" in entry.explanation and "shared among the others" in entry.explanation


def test_score_energy_points_are_written_once_per_building_and_period(store, tmp_path):
    """Two runs write the same point: tags building and period, time = local start of the period."""
    site = parse_site(SCORED_SITE, tmp_path / "site.yaml")
    write_hand_made_june(store)
    savings = {"341122A001": SavingsEvidence(0.025, 0.3, True)}
    for _ in range(2):
        card = score_energy(store, site, parse_period("2025-06"), savings, today=date(2025, 7, 10))
        assert write_energy_scores(store, card, site.site.timezone) == 1
    rows = store.rows('SELECT * FROM "score_energy"')
    assert len(rows) == 1
    row = rows[0]
    assert (row["building"], row["period"]) == ("341122A001", "2025-06")
    assert datetime.fromtimestamp(row["time"], UTC) == datetime(2025, 5, 31, 16, 0, tzinfo=UTC)
    assert row["score"] == pytest.approx(HAND_SCORE, abs=1e-3)
    assert row["intensity_value"] == pytest.approx(73.0)
    assert row["after_hours_points"] == pytest.approx(100 * 0.15 * AFTER_HOURS, abs=1e-3)
    assert row["savings_available"] == 1.0 and row["rank"] == 1.0
    office = site.building("341122A001")
    assert office is not None and office.office_use is not None
    # the GB/T 51161 group the intensity was compared with: the dashboard's panel per benchmark selects by it
    assert row["intensity_benchmark"] == f"{office.office_class.value}/{office.office_use.value}"


def test_the_command_prints_json_and_a_table(store, stack_env, tmp_path, monkeypatch):
    """`facmon score energy --period 2025-06 --format json` lists every building of the example site (an
    empty database leaves them unscored, not missing); a malformed period is refused by name."""
    from facmon.cli import app

    for key, value in stack_env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    result = runner.invoke(app, ["score", "energy", "--period", "2025-06", "--format", "json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)
    assert card["period"] == "2025-06" and len(card["buildings"]) == 5
    assert all(b["score"] is None and b["rank"] is None for b in card["buildings"])
    assert set(card["weights"]) == {"intensity", "plan", "savings", "after_hours", "completeness"}
    table = runner.invoke(app, ["score", "energy", "--period", "2025-06"])
    assert table.exit_code == 0, table.output
    assert "Energy-saving score" in table.output and "县委办公楼" in table.output
    bad = runner.invoke(app, ["score", "energy", "--period", "June"])
    assert bad.exit_code != 0 and "period 'June'" in str(bad.exception)


def _write_2020(store, days: int) -> None:
    """The first ``days`` days of 2020 at 30 kgce (electricity) a day."""
    store.write(
        [
            line(
                "energy_daily",
                {"building": "341122A001", "energy": "01", "subitem": "01000"},
                {"consumption": 244.1, "kgce": 30.0, "co2_kg": 129.5},
                local_ns(date.fromordinal(date(2020, 1, 1).toordinal() + n)),
            )
            for n in range(days)
        ]
    )


def test_a_measured_base_year_is_read_from_energy_daily(store, tmp_path):
    """No configured base: the 2020 base is measured. 366 days of 2020 with 30 kgce on 1000 m² give
    30/1000 × 366 = 10.98 kgce/m²; 2024-07..2025-06 gives 8.97170 → achieved (10.98 − 8.97170)/10.98."""
    base = "base_values: {'341122A001': {energy: ['01'], values: {kgce_per_m2: 10.0}, source: 2020 statistics}}"
    site = parse_site(SCORED_SITE.replace(base, "default_base: measured"), tmp_path / "site.yaml")
    write_hand_made_june(store)
    _write_2020(store, 366)
    entry = score_energy(store, site, parse_period("2025-06"), today=date(2025, 7, 10)).buildings[0]
    assert entry.plan is not None
    headline = entry.plan.indicator("kgce_per_m2")
    assert headline is not None and headline.base_value == pytest.approx(10.98)
    assert "measured 2020" in headline.base_source
    plan = entry.component("plan")
    assert plan.value == pytest.approx((10.98 - 24.58 * 365 / 1000) / 10.98)
    assert plan.basis is not None and (plan.basis.period, plan.basis.days, plan.basis.days_in_period) == ("2024-07..2025-06", 365, 365)
    assert (plan.basis.source, plan.basis.target_source) == ("measured", "measured")


def test_one_day_of_the_base_year_is_no_base(store, tmp_path):
    """One measured day of 2020 annualised would be a guess: the plan is not available and says why;
    its weight goes to the other components."""
    base = "base_values: {'341122A001': {energy: ['01'], values: {kgce_per_m2: 10.0}, source: 2020 statistics}}"
    site = parse_site(SCORED_SITE.replace(base, "default_base: measured"), tmp_path / "site.yaml")
    write_hand_made_june(store)
    _write_2020(store, 1)
    entry = score_energy(store, site, parse_period("2025-06"), today=date(2025, 7, 10)).buildings[0]
    plan = entry.component("plan")
    assert not plan.available and "the base year 2020 has data on 1 of 366 days" in plan.note
    assert "plan" in entry.explanation


def test_a_score_from_three_days_is_flagged_in_the_table_and_the_json(store, tmp_path):
    """Three days of June annualised (× 365/3) make a poor annual figure: the intensity's basis is
    flagged, the table shows ⚠ and no decimals, the JSON and the stored point carry the flag. (Daily
    totals alone give intensity and nothing else: the site lets 0.3 of the weights make a score.)"""
    site = parse_site(SCORED_SITE.replace("  gbt51161:", "  scoring: {min_scored_weight: 0.3}\n  gbt51161:"), tmp_path / "site.yaml")
    store.write(
        [
            line(
                "energy_daily",
                {"building": "341122A001", "energy": "01", "subitem": "01000"},
                {"consumption": 200.0, "kgce": 24.58, "co2_kg": 106.12},
                local_ns(date(2025, 6, day)),
            )
            for day in (1, 2, 3)
        ]
    )
    card = score_energy(store, site, parse_period("2025-06"), {"341122A001": None}, today=date(2025, 7, 10))
    intensity = card.buildings[0].component("intensity")
    assert intensity.available and intensity.basis is not None
    assert (intensity.basis.days, intensity.basis.days_in_period) == (3, 30)
    assert intensity.basis.flag is not None and "3 day(s)" in intensity.basis.flag
    record = card.as_dict()["buildings"][0]
    assert record["components"][0]["basis"]["flag"] == intensity.basis.flag
    assert record["indicators"]["few_days"] is not None
    from facmon.cli.score import energy_scorecard_tables

    console = Console(width=400, record=True)
    for table in energy_scorecard_tables(card):
        console.print(table)
    text = console.export_text()
    assert "⚠" in text and f"{intensity.value:,.1f}" not in text and f"≈{intensity.value:,.0f}" in text
    write_energy_scores(store, card, site.site.timezone)
    (row,) = store.rows('SELECT "intensity_flagged", "intensity_days", "intensity_period_days", "intensity_source" FROM "score_energy"')
    assert (row["intensity_flagged"], row["intensity_days"], row["intensity_period_days"], row["intensity_source"]) == (
        1.0,
        3.0,
        30.0,
        "measured",
    )


def test_a_building_whose_available_components_carry_too_little_weight_is_listed_unscored():
    """After-hours share and completeness alone (0.25 of the weights) say nothing about how much energy a
    building uses: with less than min_scored_weight (0.5) available the building gets no score and no
    rank, and the explanation names what was available."""
    available = [component("after_hours", 1.0), component("completeness", 1.0)]
    unavailable = [component(name, 0.0, available=False) for name in ("plan", "savings")]
    weighed, score, explanation = weigh([component("intensity", 0.0, available=False), *available, *unavailable], ScoreWeights(), 0.5)
    assert score is None
    assert "only after_hours, completeness available (weight 0.25)" in explanation and "0.50" in explanation
    assert [c.points for c in weighed if c.available] == [pytest.approx(60.0), pytest.approx(40.0)]
    # with intensity (0.30) measured as well, 0.55 of the weights is available: scored
    _, enough, _ = weigh([component("intensity", 0.0), *available, *unavailable], ScoreWeights(), 0.5)
    assert enough == pytest.approx(100 * 0.25 / 0.55)


CANTEEN_SITE = SCORED_SITE.replace("  office_class: A\n  office_use: government\n", "  use: canteen\n  office_class: A\n")


def test_a_canteen_is_not_compared_with_the_office_table_and_its_weight_is_shared(store, tmp_path):
    """The same June as a canteen: no GB/T 51161 comparison ("not applicable", named in the note), and
    the intensity's 0.30 goes to the other components."""
    site = parse_site(CANTEEN_SITE, tmp_path / "site.yaml")
    assert not site.buildings[0].is_office
    write_hand_made_june(store)
    card = score_energy(store, site, parse_period("2025-06"), {"341122A001": SavingsEvidence(0.025, 0.3, True)}, today=date(2025, 7, 10))
    entry = card.buildings[0]
    intensity = entry.component("intensity")
    assert not intensity.available and "not applicable" in intensity.note and "canteen" in intensity.note
    assert entry.gbt51161 is None and entry.use == "canteen"
    assert entry.score == pytest.approx(100 * (0.25 * PLAN + 0.20 * SAVINGS + 0.15 * AFTER_HOURS + 0.10 * COMPLETENESS) / 0.70)
    assert "intensity" in entry.explanation
