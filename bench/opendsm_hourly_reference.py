"""OpenDSM's CalTRACK hourly model (and its daily model on the daily sums) on one year of hourly data:
the reference bench/analytics.py --section opendsm-hourly compares facmon's hourly baseline with.

Runs only in the benchmark's own environment (``bench/.venv-opendsm``, created by bench/analytics.py),
never in facmon's. Data: an OpenDSM sample (``--sample``, its baseline year before the blackout) or a
CSV with ``timestamp_utc, electricity_kwh, temperature_c`` (``--csv`` and ``--tz``, the whole file).
Electricity of 0 is missing (OpenDSM's own rule for electricity). Prints one JSON object on stdout:

- the hours (local, ISO-8601), observed kWh and temperature °C the models saw, so facmon fits the same;
- OpenDSM's in-sample predictions of the year, and its predictions for held-out weeks (fitted on three
  of every four weeks, each week predicted by the fit that did not see it);
- its daily model's in-sample predictions of the daily sums;
- the time per fit (median of ``--repeats`` fits after a warm-up fit, reported apart).

    bench/.venv-opendsm/bin/python bench/opendsm_hourly_reference.py --csv bench/data/cambridge-b0-2018-hourly.csv --tz Europe/London
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from datetime import timedelta

import numpy as np
import pandas as pd
from opendsm import eemeter


def _load(args: argparse.Namespace) -> tuple[pd.Series, pd.Series, str]:
    """(meter kWh per hour, temperature °F per hour, what it is), local time."""
    if args.csv:
        frame = pd.read_csv(args.csv, parse_dates=["timestamp_utc"]).set_index("timestamp_utc")
        frame.index = frame.index.tz_convert(args.tz)
        return frame["electricity_kwh"].rename("observed"), (frame["temperature_c"] * 1.8 + 32).rename("temperature"), args.csv
    meter_frame, temperature_f, metadata = eemeter.load_sample(args.sample)
    meter = meter_frame["value"]
    # the blackout dates are calendar dates in the sample's local standard time; the baseline is the year before
    offset = -int(pd.read_csv(_sample_path(metadata["meter_data_filename"]), nrows=1)["start"][0][-6:-3])
    zone = f"Etc/GMT{offset:+d}" if offset else "UTC"
    meter.index, temperature_f.index = meter.index.tz_convert(zone), temperature_f.index.tz_convert(zone)
    end = pd.Timestamp(metadata["blackout_start_date"].date()).tz_localize(zone)
    start = end - timedelta(days=365)
    meter = meter[(meter.index >= start) & (meter.index < end)]
    return meter.rename("observed"), temperature_f.rename("temperature"), args.sample


def _sample_path(name: str) -> str:
    import importlib.resources

    return str(importlib.resources.files("opendsm.eemeter.samples").joinpath(name))


def _hourly_fit(meter: pd.Series, temperature_f: pd.Series):  # noqa: ANN202 - OpenDSM's model
    data = eemeter.HourlyCaltrackBaselineData.from_series(meter, temperature_f, is_electricity_data=True)
    return eemeter.HourlyCaltrackModel().fit(data), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="il-electricity-cdd-hdd-hourly")
    parser.add_argument("--csv")
    parser.add_argument("--tz", default="UTC")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    meter, temperature_f, source = _load(args)
    meter = meter.where(meter != 0)  # electricity: 0 is a missing hour (OpenDSM does the same)

    began = time.perf_counter()
    model, data = _hourly_fit(meter, temperature_f)
    first_fit_seconds = time.perf_counter() - began
    fit_seconds = []
    for _ in range(args.repeats):
        began = time.perf_counter()
        model, data = _hourly_fit(meter, temperature_f)
        fit_seconds.append(time.perf_counter() - began)
    in_sample = model.predict(data)["predicted"].reindex(meter.index)

    # Held-out weeks: week number (days since the epoch // 7) modulo the folds, as facmon's own choice does.
    week = ((meter.index.tz_localize(None).normalize() - pd.Timestamp("1970-01-01")).days // 7) % args.folds
    held_out = pd.Series(np.nan, index=meter.index)
    for fold in range(args.folds):
        kept = meter.where(week != fold)
        fold_model, _ = _hourly_fit(kept, temperature_f)
        target = eemeter.HourlyCaltrackReportingData.from_series(meter.where(week == fold), temperature_f, is_electricity_data=True)
        predicted = fold_model.predict(target)["predicted"].reindex(meter.index)
        held_out[week == fold] = predicted[week == fold]

    # The daily model on the daily sums of the same hours (a day with a missing hour is left out).
    daily_meter = meter.resample("D").sum(min_count=24)
    daily_data = eemeter.DailyBaselineData.from_series(daily_meter, temperature_f, is_electricity_data=True)
    daily_began = time.perf_counter()
    daily_model = eemeter.DailyModel().fit(daily_data, ignore_disqualification=True)
    daily_fit_seconds = time.perf_counter() - daily_began  # includes the numba compile of a first fit
    daily_seconds = []
    for _ in range(args.repeats):
        began = time.perf_counter()
        daily_model = eemeter.DailyModel().fit(daily_data, ignore_disqualification=True)
        daily_seconds.append(time.perf_counter() - began)
    daily_predicted = daily_model.predict(daily_data, ignore_disqualification=True)["predicted"].reindex(daily_meter.index)

    temperature_c = ((temperature_f - 32) / 1.8).reindex(meter.index)

    def numbers(series: pd.Series) -> list[float | None]:
        return [None if not np.isfinite(v) else float(v) for v in series.to_numpy(dtype=float)]

    body = {
        "source": source,
        "hours": [ts.strftime("%Y-%m-%dT%H:00") for ts in meter.index],
        "observed_kwh": numbers(meter),
        "temperature_c": numbers(temperature_c),
        "in_sample_kwh": numbers(in_sample),
        "held_out_kwh": numbers(held_out),
        "folds": args.folds,
        "first_fit_seconds": first_fit_seconds,
        "fit_seconds_median": statistics.median(fit_seconds),
        "daily": {
            "days": [ts.strftime("%Y-%m-%d") for ts in daily_meter.index],
            "observed_kwh": numbers(daily_meter),
            "in_sample_kwh": numbers(daily_predicted),
            "model": daily_model.best_combination,
            "first_fit_seconds": daily_fit_seconds,
            "fit_seconds_median": statistics.median(daily_seconds),
        },
    }
    print(json.dumps(body))


if __name__ == "__main__":
    main()
