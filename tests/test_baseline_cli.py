"""`facmon baseline fit` does M&V on an exported CSV: the model, its fit statistics and the savings."""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from facmon.workdays import is_working_day
from tests.test_cli import run

BASELINE_END = date(2024, 12, 31)
CUT = 0.10  # the efficiency measure: 10 % less consumption from 2025-01-01


def write_office_csv(path: Path, temperature_f: bool = False) -> None:
    """An office in +08:00: hourly kWh (working days 08–18 busy), temperature every 3 hours; 10 % less after BASELINE_END."""
    rng = np.random.default_rng(11)
    tz = timezone(timedelta(hours=8))
    first = date(2024, 1, 1)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "kwh", "outdoor_temp"])
        for d in range(365 + 150):
            day = first + timedelta(days=d)
            mean_c = 16 - 12 * math.cos(2 * math.pi * (d - 15) / 365) + rng.normal(0, 2.5)
            day_factor = rng.normal(1.0, 0.04) * (1 - CUT if day > BASELINE_END else 1.0)
            busy = is_working_day(day)
            for hour in range(24):
                temperature_c = mean_c + 4 * math.sin(2 * math.pi * (hour - 9) / 24)
                occupied = busy and 8 <= hour < 18
                load = (30 if occupied else 8) + (2.0 if occupied else 0.5) * (max(14 - mean_c, 0) + 1.5 * max(mean_c - 22, 0))
                stamp = datetime(day.year, day.month, day.day, hour, tzinfo=tz).isoformat()
                temp = ""
                if hour % 3 == 0:
                    temp = f"{temperature_c * 1.8 + 32 if temperature_f else temperature_c:.2f}"
                writer.writerow([stamp, f"{load * day_factor:.4f}", temp])


@pytest.fixture(scope="module")
def office_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mv") / "office.csv"
    write_office_csv(path)
    return path


def fit_json(*args: str) -> dict:
    result = run("baseline", "fit", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_daily_fit_measures_a_known_ten_percent_cut_within_its_uncertainty(office_csv):
    """Hourly load and 3-hourly temperature, summed to days: fraction ≈ 0.10 within the reported uncertainty.

    The reported band is at 68 % confidence (about one standard error), so one simulated year misses
    it about one time in three by design; the check uses the 95 % band (t ≈ 1.97 instead of ≈ 1.0,
    i.e. twice the 68 % band), and the band must be narrow enough (FSU < 15 %) to mean something.
    """
    report = fit_json(
        "--csv",
        str(office_csv),
        "--time-col",
        "timestamp",
        "--load-col",
        "kwh",
        "--temp-col",
        "outdoor_temp",
        "--baseline-end",
        "2024-12-31",
    )
    for key in ("cvrmse", "nmbe", "r2", "n", "savings"):
        assert key in report
    assert report["n"] == 366 and report["sufficiency"]["sufficient"]
    assert report["model"]["split_by_day_kind"]  # Chinese calendar: working and non-working days apart
    assert report["acceptance"]["accepted"]
    savings = report["savings"]
    for key in ("avoided", "fraction", "fsu"):
        assert key in savings
    assert savings["m"] == 365 + 150 - 366  # every day after 2024-12-31 (2024 is a leap year)
    assert savings["fsu"] < 0.15 and not savings["inconclusive"]
    assert abs(savings["fraction"] - CUT) <= 2 * savings["fsu"] * savings["fraction"]


def test_hourly_fit_with_fahrenheit_measures_the_same_cut(tmp_path):
    """The time-of-week-and-temperature model on the same office, temperature written in °F (95 % band as above)."""
    path = tmp_path / "office_f.csv"
    write_office_csv(path, temperature_f=True)
    report = fit_json(
        "--csv",
        str(path),
        "--time-col",
        "timestamp",
        "--load-col",
        "kwh",
        "--temp-col",
        "outdoor_temp",
        "--baseline-end",
        "2024-12-31",
        "--freq",
        "hourly",
        "--temp-unit",
        "F",
    )
    assert report["interval"] == "hourly" and report["n"] == 366 * 24
    savings = report["savings"]
    assert savings["correction_k"] == 1.26
    assert savings["fsu"] < 0.15 and not savings["inconclusive"]
    assert abs(savings["fraction"] - CUT) <= 2 * savings["fsu"] * savings["fraction"]


def test_without_baseline_end_the_whole_file_is_baseline(office_csv):
    report = fit_json("--csv", str(office_csv), "--time-col", "timestamp", "--load-col", "kwh", "--temp-col", "outdoor_temp")
    assert "savings" not in report and report["n"] == 365 + 150


def test_a_wrong_column_is_named_without_a_traceback(office_csv):
    result = run(
        "baseline", "fit", "--csv", str(office_csv), "--time-col", "timestamp", "--load-col", "energy", "--temp-col", "outdoor_temp"
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no column 'energy' (--load-col)" in result.stderr and "'kwh'" in result.stderr
