"""OpenDSM's daily model on one of OpenDSM's own samples: the reference that bench/analytics.py compares with.

Runs only in the benchmark's own environment (``bench/.venv-opendsm``, created by bench/analytics.py),
never in facmon's: OpenDSM is not a facmon dependency. Prints one JSON object on stdout:

- the sample's files (so facmon reads exactly the same CSVs) and its baseline/reporting windows,
- OpenDSM's fit statistics as OpenDSM reports them (``cvrmse_adj`` = √(SSE/(n−p))/ȳ, ``r_squared_adj``),
- OpenDSM's daily predictions and the observed values for the baseline and the reporting period,
- its avoided energy and the uncertainty band from OpenDSM's own CalTRACK §4.3 FSU function,
- the time per fit (median of ``--repeats`` fits of ``DailyModel().fit`` after one warm-up fit that
  compiles OpenDSM's numba kernels, reported apart; data preparation excluded).

    bench/.venv-opendsm/bin/python bench/opendsm_reference.py --sample il-electricity-cdd-hdd-daily
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import statistics
import time
import warnings
from datetime import timedelta

import numpy as np
import pandas as pd
from opendsm import eemeter
from opendsm.eemeter.models.hourly_caltrack.derivatives import _compute_fsu_error
from scipy.stats import t as student_t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="il-electricity-cdd-hdd-daily")
    parser.add_argument("--baseline-days", type=int, default=365)
    parser.add_argument("--reporting-days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--confidence", type=float, default=0.68, help="two-sided confidence of the FSU band (G14: 68 %% for 'inconclusive')"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    meter, temperature_f, metadata = eemeter.load_sample(args.sample)
    # load_sample hands back UTC; the sample's CSVs are in local standard time (-06:00). Days must be
    # local days for OpenDSM as for facmon, so both sides aggregate the same 24 hours.
    local = _local_timezone(metadata["meter_data_filename"])
    meter.index = meter.index.tz_convert(local)
    temperature_f.index = temperature_f.index.tz_convert(local)
    blackout_start, blackout_end = metadata["blackout_start_date"], metadata["blackout_end_date"]
    tz = meter.index.tz
    # The blackout dates are calendar dates: the windows start and end at the meter's local midnight.
    baseline_end = pd.Timestamp(blackout_start.date()).tz_localize(tz)
    baseline_start = baseline_end - timedelta(days=args.baseline_days)
    reporting_start = pd.Timestamp(blackout_end.date()).tz_localize(tz)
    reporting_end = reporting_start + timedelta(days=args.reporting_days)

    baseline_meter = meter[(meter.index >= baseline_start) & (meter.index < baseline_end)]
    reporting_meter = meter[(meter.index >= reporting_start) & (meter.index < reporting_end)]
    baseline_data = eemeter.DailyBaselineData.from_series(baseline_meter, temperature_f, is_electricity_data=True)
    reporting_data = eemeter.DailyReportingData.from_series(reporting_meter, temperature_f, is_electricity_data=True)

    # The first fit compiles OpenDSM's numba kernels: timed apart, and left out of the per-fit time.
    began = time.perf_counter()
    eemeter.DailyModel().fit(baseline_data, ignore_disqualification=True)
    first_fit_seconds = time.perf_counter() - began
    fit_seconds = []
    for _ in range(args.repeats):
        began = time.perf_counter()
        model = eemeter.DailyModel().fit(baseline_data, ignore_disqualification=True)
        fit_seconds.append(time.perf_counter() - began)

    baseline_prediction = model.predict(baseline_data, ignore_disqualification=True)
    reporting_prediction = model.predict(reporting_data, ignore_disqualification=True)
    metrics = model.baseline_metrics

    reporting_valid = reporting_prediction[["observed", "predicted"]].dropna()
    avoided = float((reporting_valid["predicted"] - reporting_valid["observed"]).sum())
    predicted_total = float(reporting_valid["predicted"].sum())
    # OpenDSM's own CalTRACK §4.3 band (daily coefficients of Sun & Baltazar), fed with its baseline fit.
    n_baseline = float(metrics.n)
    degrees_of_freedom = n_baseline - float(metrics.num_model_params)
    t_stat = float(student_t.ppf(1 - (1 - args.confidence) / 2, degrees_of_freedom))
    band = _compute_fsu_error(
        t_stat,
        "daily",
        float(len(reporting_valid)),
        predicted_total,
        float(metrics.rmse_adj),
        float(metrics.observed.mean),
        n_baseline,
        float(metrics.n_prime),
    )

    def series(frame: pd.DataFrame) -> dict:
        frame = frame[["observed", "predicted"]]
        return {
            "dates": [ts.strftime("%Y-%m-%d") for ts in frame.index],
            "observed_kwh": [None if not np.isfinite(v) else float(v) for v in frame["observed"].to_numpy(dtype=float)],
            "predicted_kwh": [None if not np.isfinite(v) else float(v) for v in frame["predicted"].to_numpy(dtype=float)],
        }

    package = importlib.resources.files("opendsm.eemeter.samples")
    body = {
        "sample": args.sample,
        "meter_csv": str(package.joinpath(metadata["meter_data_filename"])),
        "temperature_csv": str(package.joinpath(metadata["temperature_filename"])),
        "baseline": [baseline_start.isoformat(), baseline_end.isoformat()],
        "reporting": [reporting_start.isoformat(), reporting_end.isoformat()],
        # the sample is simulated: its metadata states the designed change (e.g. 10,000 -> 9,000 kWh/a)
        "designed_fraction": 1 - metadata["annual_reporting_total_load"] / metadata["annual_baseline_total_load"],
        "model": model.best_combination,
        "n": int(metrics.n),
        "n_parameters": int(metrics.num_model_params),
        "cvrmse_adj": float(metrics.cvrmse_adj),
        "r_squared_adj": float(metrics.r_squared_adj),
        "nmbe": float(metrics.nmbe),
        "n_prime": float(metrics.n_prime),
        "disqualified": [w.qualified_name for w in model.disqualification],
        "avoided_kwh": avoided,
        "predicted_reporting_kwh": predicted_total,
        "fraction": avoided / predicted_total,
        "uncertainty_kwh": None if band is None else float(band),
        "fsu": None if band is None or avoided == 0 else float(band) / abs(avoided),
        "confidence": args.confidence,
        "first_fit_seconds": first_fit_seconds,
        "fit_seconds": fit_seconds,
        "fit_seconds_median": statistics.median(fit_seconds),
        "opendsm_version": getattr(eemeter, "__version__", None) or _version(),
        "baseline_series": series(baseline_prediction),
        "reporting_series": series(reporting_prediction),
    }
    print(json.dumps(body))


def _local_timezone(meter_filename: str) -> str:
    """The fixed UTC offset the sample's CSV is written in, as a tz name pandas accepts."""
    import gzip

    with importlib.resources.files("opendsm.eemeter.samples").joinpath(meter_filename).open("rb") as raw:
        first_row = gzip.open(raw, "rt").readlines()[1]
    offset_hours = -int(first_row.split(",")[0][-6:-3])  # "...-06:00" -> Etc/GMT+6 (POSIX sign)
    return f"Etc/GMT{offset_hours:+d}" if offset_hours else "UTC"


def _version() -> str | None:
    from importlib.metadata import version

    return version("opendsm")


if __name__ == "__main__":
    main()
