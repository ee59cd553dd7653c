"""The scores' measurements through their writers (facmon.schema.scores): score_energy, savings and
score_vendor, every field a float, rounded as stored, at the period's start; and how a score reads back
from a real InfluxDB."""

from __future__ import annotations

from facmon.schema.scores import (
    SavingsPoint,
    ScoreComponent,
    ScoreEnergy,
    ScoreVendor,
    savings_line,
    score_energy_line,
    score_vendor_line,
)
from facmon.store import InfluxStore

START_S = 1_735_660_800  # 2025-01-01 00:00 +08:00
NS = START_S * 1_000_000_000
COMPONENTS = [ScoreComponent("intensity", 30.123449, 0.3500004, True, 71.5), ScoreComponent("plan", 0.0, 0.0, False, None)]


def test_an_energy_score_stores_its_components_rounded() -> None:
    point = ScoreEnergy("341122A001", "2025", START_S, 87.123449, 2, COMPONENTS)
    assert score_energy_line(point) == (
        "score_energy,building=341122A001,period=2025 score=87.1234,rank=2.0,intensity_points=30.1234,intensity_weight=0.35,"
        f"intensity_available=1.0,intensity_value=71.5,plan_points=0.0,plan_weight=0.0,plan_available=0.0 {NS}"
    )
    assert (
        score_energy_line(ScoreEnergy("341122A001", "2025", START_S, 50.0, None))
        == f"score_energy,building=341122A001,period=2025 score=50.0,rank=0.0 {NS}"
    )
    assert score_energy_line(ScoreEnergy("341122A001", "2025", START_S, 50.0, 1, benchmark="B/government")) == (
        f'score_energy,building=341122A001,period=2025 score=50.0,rank=1.0,intensity_benchmark="B/government" {NS}'
    )


def test_savings_store_fsu_only_when_there_is_one() -> None:
    point = SavingsPoint("341122A001", "2025-06", START_S, 1234.56789, 300.1234, 10000.0, 8765.43211, 0.1234567, 0.2432101, True, 30)
    assert savings_line(point) == (
        "savings,building=341122A001,period=2025-06 avoided_kwh=1234.568,uncertainty_kwh=300.123,predicted_kwh=10000.0,"
        f"observed_kwh=8765.432,fraction=0.123457,conclusive=1.0,reporting_days=30.0,fsu=0.24321 {NS}"
    )
    nothing = SavingsPoint("341122A001", "2025-06", START_S, -5.0, 300.0, 100.0, 105.0, -0.05, None, False, 30)
    assert "fsu" not in savings_line(nothing) and ",conclusive=0.0," in savings_line(nothing)


def test_a_vendor_score_stores_faults_by_severity_in_order_and_reads_back(store: InfluxStore) -> None:
    point = ScoreVendor("hvac-co", "2025-06", START_S, 71.0, 1, 1234.567, 2000.0, 3, {"critical": 1, "major": 2, "minor": 0}, COMPONENTS)
    text = score_vendor_line(point)
    assert text.startswith(
        "score_vendor,period=2025-06,vendor=hvac-co score=71.0,rank=1.0,deduction=1234.57,deduction_uncapped=2000.0,breaches=3.0,"
        "faults=3.0,faults_critical=1.0,faults_major=2.0,faults_minor=0.0,intensity_points=30.1234,"
    )
    store.write([text])
    (row,) = store.rows('SELECT * FROM "score_vendor"')
    assert (row["time"], row["vendor"], row["period"], row["faults_major"], row["plan_available"]) == (
        START_S,
        "hvac-co",
        "2025-06",
        2.0,
        0.0,
    )
