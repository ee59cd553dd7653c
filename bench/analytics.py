"""Analytics benchmarks; prints one JSON object on stdout, progress on stderr.

Sections (``--section``, repeatable; default: all):

opendsm   facmon's daily change-point baseline against OpenDSM's daily model (the reference
          implementation, formerly eemeter) on OpenDSM's own sample data: CV(RMSE) of both and their
          ratio (target: facmon ≤ 1.10 × OpenDSM), savings and uncertainty of both over the reporting
          period (target: facmon's savings within OpenDSM's uncertainty), time per fit of both and the
          speed ratio (target: ≥ 10×). OpenDSM runs in its own virtual environment
          ``bench/.venv-opendsm`` (created here on first use with ``python3 -m venv`` and pip; never a
          facmon dependency) as ``bench/opendsm_reference.py``, which fits, predicts and reports; facmon
          reads the very same sample CSVs through its own CSV path (analytics.interval_csv), on the
          same baseline and reporting windows, and fits with the Monday–Friday calendar (US data).

opendsm-hourly
          facmon's hourly baseline (the candidate chosen by held-out error, analytics/hourly_baseline.py)
          against OpenDSM's CalTRACK hourly model on OpenDSM's own hourly sample and on a real building
          with strong seasonal occupancy (bench/data/cambridge-b0-2018-hourly.csv, a university
          building), and facmon's daily model against OpenDSM's on the daily sums of that building. For
          each: CV(RMSE) = √(mean squared residual)/mean observed, by one formula for both, in-sample over
          the baseline year and for held-out weeks (fitted on three of every four weeks); time per fit.
          Targets: facmon's in-sample CV(RMSE) at or below OpenDSM's on each dataset, fits ≥ 10× faster.
          OpenDSM runs bench/opendsm_hourly_reference.py in ``bench/.venv-opendsm``.

pipeline  one building-year of 15-minute meter data from InfluxDB analysed (registers → energy_interval,
          meter_daily, energy_daily) and scored (``score energy``), and several buildings to show the
          time per building stays flat (bench/analytics_pipeline.py; its own InfluxDB in a temporary
          folder). Target: analysing and scoring one building-year in under 5 s, linear in buildings.

Add a section: write ``def section_NAME(args) -> dict`` and list it in SECTIONS.

    .venv/bin/python bench/analytics.py --section opendsm
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facmon.analytics.changepoint import fit_daily_baseline  # noqa: E402
from facmon.analytics.fit_statistics import fit_statistics  # noqa: E402
from facmon.analytics.interval_csv import read_interval_csv, to_regular  # noqa: E402
from facmon.analytics.savings import savings_with_uncertainty  # noqa: E402

OPENDSM_VENV = ROOT / "bench" / ".venv-opendsm"
REAL_HOURLY = ROOT / "bench" / "data" / "cambridge-b0-2018-hourly.csv"  # a university building (bench/data/README.md)
# scikit-fda (an OpenDSM dependency) fails to import with multimethod 2.x: pin it below 2.
OPENDSM_PACKAGES = ["opendsm", "multimethod<2"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def opendsm_python() -> Path:
    """The benchmark's own OpenDSM environment, created on first use."""
    python = OPENDSM_VENV / "bin" / "python"
    if not python.exists():
        log(f"creating {OPENDSM_VENV} with {' '.join(OPENDSM_PACKAGES)} (first use only)")
        # the system's python3, not facmon's venv: the two environments stay apart
        subprocess.run(["python3", "-m", "venv", str(OPENDSM_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *OPENDSM_PACKAGES], check=True)
    return python


def merged_sample_csv(meter_csv: str, temperature_csv: str, folder: Path) -> Path:
    """One CSV as `facmon baseline fit` takes it: daily kWh rows and hourly °F rows, each leaving the other blank."""
    path = folder / "opendsm-sample.csv"
    with path.open("w", newline="") as out, gzip.open(meter_csv, "rt") as meter, gzip.open(temperature_csv, "rt") as weather:
        writer = csv.writer(out)
        writer.writerow(["time", "kwh", "temp_f"])
        for row in csv.DictReader(meter):
            writer.writerow([row["start"], row["value"], ""])
        for row in csv.DictReader(weather):
            writer.writerow([row["dt"], "", row["tempF"]])
    return path


def section_opendsm(args: argparse.Namespace) -> dict:
    python = opendsm_python()
    log(f"OpenDSM reference on {args.sample} ({args.repeats} timed fits after a warm-up)")
    completed = subprocess.run(
        [str(python), str(ROOT / "bench" / "opendsm_reference.py"), "--sample", args.sample, "--repeats", str(args.repeats)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"opendsm_reference.py failed:\n{completed.stderr[-3000:]}")
    reference = json.loads(completed.stdout)

    with tempfile.TemporaryDirectory() as folder:
        merged = merged_sample_csv(reference["meter_csv"], reference["temperature_csv"], Path(folder))
        series = to_regular(read_interval_csv(merged, "time", "kwh", "temp_f", "F"), "daily")
    days = series.starts
    baseline_start, baseline_end = (np.datetime64(moment[:10], "D") for moment in reference["baseline"])
    reporting_start, reporting_end = (np.datetime64(moment[:10], "D") for moment in reference["reporting"])
    in_baseline = (days >= baseline_start) & (days < baseline_end)
    in_reporting = (days >= reporting_start) & (days < reporting_end)
    working = np.is_busday(days)  # US data: Monday–Friday

    def fit():
        return fit_daily_baseline(
            days[in_baseline], series.temperature_c[in_baseline], series.consumption[in_baseline], working[in_baseline]
        )

    baseline = fit()  # warm-up (imports, caches), as for OpenDSM
    fit_seconds = []
    for _ in range(args.our_repeats):
        began = time.perf_counter()
        baseline = fit()
        fit_seconds.append(time.perf_counter() - began)
    predicted = baseline.predict(series.temperature_c[in_reporting], working[in_reporting], days[in_reporting])
    savings = savings_with_uncertainty(predicted, series.consumption[in_reporting], baseline.statistics, "daily")

    # OpenDSM's baseline predictions scored by facmon's own CV(RMSE) (n − p with OpenDSM's p): same yardstick.
    observed_ref = np.array(reference["baseline_series"]["observed_kwh"], dtype=float)
    predicted_ref = np.array(reference["baseline_series"]["predicted_kwh"], dtype=float)
    scored = np.isfinite(observed_ref) & np.isfinite(predicted_ref)
    reference_statistics = fit_statistics(observed_ref[scored], predicted_ref[scored], reference["n_parameters"])

    ours_fit_s = statistics.median(fit_seconds)
    theirs_fit_s = reference["fit_seconds_median"]
    difference = savings.avoided_kwh - reference["avoided_kwh"]
    return {
        "sample": reference["sample"],
        "baseline": [str(baseline_start), str(baseline_end - 1)],
        "reporting": [str(reporting_start), str(reporting_end - 1)],
        "designed_fraction": reference["designed_fraction"],
        "facmon": {
            "model": {kind: model.as_dict() for kind, model in baseline.models.items()},
            "n": baseline.statistics.n,
            "n_parameters": baseline.statistics.n_parameters,
            "cvrmse": baseline.statistics.cvrmse,
            "r2": baseline.statistics.r2,
            "nmbe": baseline.statistics.nmbe,
            "avoided_kwh": savings.avoided_kwh,
            "fraction": savings.fraction,
            "uncertainty_kwh": savings.uncertainty_kwh,
            "fsu": savings.fsu,
            "fit_seconds_median": ours_fit_s,
        },
        "opendsm": {
            "version": reference["opendsm_version"],
            "model": reference["model"],
            "n": reference["n"],
            "n_parameters": reference["n_parameters"],
            "cvrmse_adj": reference["cvrmse_adj"],
            "cvrmse_by_facmon_formula": reference_statistics.cvrmse,
            "r2": reference_statistics.r2,
            "nmbe": reference["nmbe"],
            "avoided_kwh": reference["avoided_kwh"],
            "fraction": reference["fraction"],
            "uncertainty_kwh": reference["uncertainty_kwh"],
            "fsu": reference["fsu"],
            "first_fit_seconds": reference["first_fit_seconds"],
            "fit_seconds_median": theirs_fit_s,
        },
        "cvrmse_ratio": baseline.statistics.cvrmse / reference["cvrmse_adj"],
        "cvrmse_target_met": baseline.statistics.cvrmse <= 1.10 * reference["cvrmse_adj"],
        "savings_difference_kwh": difference,
        "savings_within_opendsm_uncertainty": reference["uncertainty_kwh"] is not None and abs(difference) <= reference["uncertainty_kwh"],
        "savings_within_facmon_uncertainty": abs(difference) <= savings.uncertainty_kwh,
        "confidence": savings.confidence,
        "speed_ratio": theirs_fit_s / ours_fit_s,
        "speed_target_met": theirs_fit_s / ours_fit_s >= 10,
    }


def _cvrmse(observed: np.ndarray, predicted: np.ndarray, scored: np.ndarray) -> float:
    """√(mean squared residual)/mean observed over ``scored``: the one formula for both sides."""
    return float(np.sqrt(np.mean((predicted[scored] - observed[scored]) ** 2)) / np.mean(observed[scored]))


def _working_days(days: np.ndarray, country: str | None) -> np.ndarray:
    """Monday–Friday, less the country's public holidays (``holidays``), as facmon's calendar would know them."""
    import holidays

    working = np.is_busday(days)
    if country:
        years = sorted({int(str(day)[:4]) for day in days})
        closed = np.array(sorted(holidays.country_holidays(country, years=years)), dtype="datetime64[D]")
        working &= ~np.isin(days, closed)
    return working


def _hourly_comparison(python: Path, reference_args: list[str], country: str | None, repeats: int) -> dict:
    from facmon.analytics.changepoint import fit_daily_baseline
    from facmon.analytics.hourly_baseline import CANDIDATES, fit_chosen_hourly_baseline, held_out_predictions

    completed = subprocess.run(
        [str(python), str(ROOT / "bench" / "opendsm_hourly_reference.py"), *reference_args], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"opendsm_hourly_reference.py failed:\n{completed.stderr[-3000:]}")
    reference = json.loads(completed.stdout)
    hours = np.array(reference["hours"], dtype="datetime64[h]")
    observed = np.array(reference["observed_kwh"], dtype=float)
    temperature = np.array(reference["temperature_c"], dtype=float)
    working = _working_days(hours.astype("datetime64[D]"), country)

    def fit():
        return fit_chosen_hourly_baseline(hours, temperature, observed, working)

    choice = fit()  # warm-up
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        choice = fit()
        seconds.append(time.perf_counter() - began)
    ours = choice.predict(hours, temperature, working)
    ours_held_out = held_out_predictions(CANDIDATES[choice.method], hours, temperature, observed, working, reference["folds"])
    theirs = np.array(reference["in_sample_kwh"], dtype=float)
    theirs_held_out = np.array(reference["held_out_kwh"], dtype=float)
    scored = np.isfinite(observed) & np.isfinite(temperature) & np.isfinite(ours) & np.isfinite(theirs)
    scored_held_out = np.isfinite(observed) & np.isfinite(ours_held_out) & np.isfinite(theirs_held_out)

    # the daily models on the daily sums of the same hours, the daily mean temperature
    daily = reference["daily"]
    days = np.array(daily["days"], dtype="datetime64[D]")
    day_of_hour = hours.astype("datetime64[D]")
    daily_temperature = np.array([np.nanmean(temperature[day_of_hour == day]) for day in days])
    daily_observed = np.array(daily["observed_kwh"], dtype=float)
    daily_working = _working_days(days, country)
    valid_days = np.isfinite(daily_observed) & np.isfinite(daily_temperature)
    daily_model = fit_daily_baseline(days[valid_days], daily_temperature[valid_days], daily_observed[valid_days], daily_working[valid_days])
    daily_seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        fit_daily_baseline(days[valid_days], daily_temperature[valid_days], daily_observed[valid_days], daily_working[valid_days])
        daily_seconds.append(time.perf_counter() - began)
    daily_ours = daily_model.predict(daily_temperature, daily_working, days)
    daily_theirs = np.array(daily["in_sample_kwh"], dtype=float)
    daily_scored = valid_days & np.isfinite(daily_ours) & np.isfinite(daily_theirs)

    ours_s, theirs_s = statistics.median(seconds), reference["fit_seconds_median"]
    result = {
        "source": reference["source"],
        "hours_scored": int(scored.sum()),
        "calendar": f"Monday-Friday less {country} public holidays" if country else "Monday-Friday",
        "facmon": {
            "method": choice.method,
            "held_out_cvrmse_by_candidate": choice.out_of_sample_cvrmse,
            "in_sample_cvrmse": _cvrmse(observed, ours, scored),
            "held_out_cvrmse": _cvrmse(observed, ours_held_out, scored_held_out),
            "fit_seconds_median": ours_s,
        },
        "opendsm": {
            "method": "CalTRACK hourly (HourlyCaltrackModel)",
            "in_sample_cvrmse": _cvrmse(observed, theirs, scored),
            "held_out_cvrmse": _cvrmse(observed, theirs_held_out, scored_held_out),
            "first_fit_seconds": reference["first_fit_seconds"],
            "fit_seconds_median": theirs_s,
        },
        "daily": {
            "days_scored": int(daily_scored.sum()),
            "facmon_in_sample_cvrmse": _cvrmse(daily_observed, daily_ours, daily_scored),
            "opendsm_in_sample_cvrmse": _cvrmse(daily_observed, daily_theirs, daily_scored),
            "opendsm_model": daily["model"],
            "facmon_fit_seconds_median": statistics.median(daily_seconds),
            "opendsm_fit_seconds_median": daily["fit_seconds_median"],
        },
        "speed_ratio": theirs_s / ours_s,
    }
    result["cvrmse_target_met"] = result["facmon"]["in_sample_cvrmse"] <= result["opendsm"]["in_sample_cvrmse"]
    result["daily"]["cvrmse_target_met"] = result["daily"]["facmon_in_sample_cvrmse"] <= result["daily"]["opendsm_in_sample_cvrmse"]
    result["speed_target_met"] = result["speed_ratio"] >= 10
    return result


def section_opendsm_hourly(args: argparse.Namespace) -> dict:
    python = opendsm_python()
    results = {}
    log(f"OpenDSM CalTRACK hourly on its sample {args.hourly_sample} and on {REAL_HOURLY.name} (several minutes)")
    results["opendsm_sample"] = _hourly_comparison(
        python, ["--sample", args.hourly_sample, "--repeats", str(args.repeats)], None, args.our_repeats
    )
    results["real_building"] = _hourly_comparison(
        python, ["--csv", str(REAL_HOURLY), "--tz", "Europe/London", "--repeats", str(args.repeats)], "GB", args.our_repeats
    )
    return results


def section_pipeline(args: argparse.Namespace) -> dict:
    from bench.analytics_pipeline import run_on_own_stack

    figures = run_on_own_stack(buildings=args.pipeline_buildings, days=args.pipeline_days)
    # the target is about a whole building-year; shorter runs extrapolate fixed costs and do not judge it
    figures["target_met"] = figures["analyse_and_score_one_s_per_building_year"] < 5.0 if args.pipeline_days >= 365 else None
    return figures


SECTIONS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "opendsm": section_opendsm,
    "opendsm-hourly": section_opendsm_hourly,
    "pipeline": section_pipeline,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", action="append", choices=sorted(SECTIONS), help="section to run (repeatable; default: all)")
    parser.add_argument(
        "--sample", default="il-electricity-cdd-hdd-daily", help="OpenDSM sample (daily electricity with heating and cooling)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed OpenDSM fits")
    parser.add_argument("--hourly-sample", default="il-electricity-cdd-hdd-hourly", help="OpenDSM's hourly sample (opendsm-hourly)")
    parser.add_argument("--our-repeats", type=int, default=50, help="timed facmon fits")
    parser.add_argument("--pipeline-buildings", type=int, default=4, help="pipeline: building copies, each a year of data")
    parser.add_argument("--pipeline-days", type=float, default=365.0, help="pipeline: days of data per building")
    args = parser.parse_args()
    result = {}
    for name in args.section or list(SECTIONS):
        began = time.perf_counter()
        result[name] = SECTIONS[name](args)
        log(f"{name}: {time.perf_counter() - began:.1f} s")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
