"""The weekly anomaly review (analytics/anomalies.py): hourly residuals against the TOWT baseline
scored by hour of week, night base-load creep, and `facmon faults review` on InfluxDB.

Synthetic buildings are built hour by hour from a known schedule, temperature response and noise, so
the anomalies a test expects are exactly the ones it injects.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from facmon.analytics.anomalies import (
    ABOVE,
    CREEP,
    HourlySeries,
    anomalous_runs,
    hourly_anomalies,
    night_base_load_creep,
    nightly_minima,
    review_building,
    review_week_start,
)
from facmon.registry import AnomalyReview
from facmon.schema import ANOMALY, ENERGY_INTERVAL, FAULT, WEATHER
from facmon.store import line
from facmon.workdays import is_working_day

from .test_cli import FACMON

TZ = ZoneInfo("Asia/Shanghai")
NIGHT_KW, DAY_KW, COOLING_KW_PER_K = 40.0, 120.0, 3.0


def synthetic_building(first_day: date, weeks: int, *, seed: int, calendar: bool = True, noise_kw: float = 2.0) -> HourlySeries:
    """Hourly load of an office: 40 kW at night, 120 kW 08:00-18:00 on working days (Chinese calendar,
    or Mon-Fri with ``calendar=False``), +3 kW/K of cooling above 24 °C when occupied, Gaussian noise."""
    rng = np.random.default_rng(seed)
    hours = np.arange(np.datetime64(first_day, "h"), np.datetime64(first_day + timedelta(weeks=weeks), "h"))
    days = hours.astype("datetime64[D]")
    hour_of_day = (hours - days).astype(int)
    working_days = {d: (is_working_day(d.astype(date)) if calendar else d.astype(date).weekday() < 5) for d in np.unique(days)}
    working = np.array([working_days[d] for d in days])
    temperature_c = 27.0 + 5.0 * np.sin(2 * np.pi * (hour_of_day - 9) / 24) + rng.normal(0, 1.0, hours.size)
    occupied = working & (hour_of_day >= 8) & (hour_of_day < 18)
    load_kwh = np.where(occupied, DAY_KW + COOLING_KW_PER_K * np.maximum(temperature_c - 24.0, 0.0), NIGHT_KW)
    load_kwh = load_kwh + rng.normal(0, noise_kw, hours.size)
    starts_s = np.array([int(datetime.fromisoformat(str(h)).replace(tzinfo=TZ).timestamp()) for h in hours], dtype=np.int64)
    calendar_working = np.array([is_working_day(d.astype(date)) for d in days])  # what the review always uses
    return HourlySeries(hours, starts_s, load_kwh, temperature_c, calendar_working)


def split(series: HourlySeries, review_start: date) -> tuple[HourlySeries, HourlySeries]:
    def part(mask):
        return HourlySeries(
            series.hours[mask], series.starts_s[mask], series.consumption_kwh[mask], series.temperature_c[mask], series.working_day[mask]
        )

    in_review = series.hours >= np.datetime64(review_start, "h")
    return part(~in_review), part(in_review)


def weekdays_only(series: HourlySeries) -> HourlySeries:
    """The same hours with Monday-Friday as working days and no holidays (the calendar left out)."""
    weekday = (series.hours.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    return HourlySeries(series.hours, series.starts_s, series.consumption_kwh, series.temperature_c, weekday < 5)


def local_s(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp())


# A summer stretch with no holiday: 8 baseline weeks from Monday 6 July 2026, review week from 31 August.
BASELINE_START, REVIEW_START = date(2026, 7, 6), date(2026, 8, 31)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_extra_50_kw_for_six_hours_on_a_tuesday_night_is_one_anomaly_with_its_start_and_end(seed: int) -> None:
    """+50 kW from Tuesday 00:00 to 06:00 of the review week: one anomaly above the baseline, exactly those
    6 hours, about 300 kWh in excess; nothing else in the week."""
    series = synthetic_building(BASELINE_START, 9, seed=seed)
    tuesday = np.datetime64(REVIEW_START + timedelta(days=1), "h")
    injected = (series.hours >= tuesday) & (series.hours < tuesday + 6)
    series.consumption_kwh[injected] += 50.0
    baseline, review = split(series, REVIEW_START)

    found, _, scored = hourly_anomalies("B", baseline, review, AnomalyReview())

    assert scored == 168
    assert [(a.kind, a.start_s, a.end_s) for a in found] == [(ABOVE, local_s("2026-09-01T00:00"), local_s("2026-09-01T06:00"))]
    assert found[0].excess_kwh == pytest.approx(300.0, abs=6 * 3 * 2.0)  # 6 h × 50 kW, within 3σ of the noise per hour
    assert found[0].score > AnomalyReview().z_threshold
    assert found[0].isolation_rank is not None and found[0].isolation_rank > 0.95  # rarer than 95 % of baseline hours


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_clean_week_gives_an_empty_list(seed: int) -> None:
    """Same building, nothing injected: noise alone never makes two hours in a row 4 robust σ off."""
    baseline, review = split(synthetic_building(BASELINE_START, 9, seed=seed), REVIEW_START)
    found, _, scored = hourly_anomalies("B", baseline, review, AnomalyReview())
    assert scored == 168
    assert found == []


def test_holidays_and_a_tiaoxiu_working_saturday_are_not_anomalies() -> None:
    """Review week 5-11 October 2026: Monday-Wednesday are National Day holidays (load of a Sunday) and
    Saturday 10 October is a 调休 working day (load of a weekday). The baseline's calendar expects both,
    so the list is empty; the same load judged as if every Mon-Fri were worked and every weekend free
    (the control) is full of anomalies on exactly those days."""
    review_start = date(2026, 10, 5)
    series = synthetic_building(review_start - timedelta(weeks=8), 9, seed=7)
    baseline, review = split(series, review_start)

    found, _, _ = hourly_anomalies("B", baseline, review, AnomalyReview())
    assert found == []

    control, _, _ = hourly_anomalies("B", weekdays_only(baseline), weekdays_only(review), AnomalyReview())
    days = {datetime.fromtimestamp(a.start_s, TZ).date() for a in control}
    assert days == {date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7), date(2026, 10, 10)}
    assert {a.kind for a in control if a.start_s < local_s("2026-10-08T00:00")} == {"load_below_baseline"}
    assert {a.kind for a in control if a.start_s >= local_s("2026-10-10T00:00")} == {ABOVE}


def test_runs_need_min_hours_of_one_sign() -> None:
    """|z| ≥ 4 for 2+ consecutive hours of one sign is a run; a single hour, a sign change or a NaN breaks it."""
    z = np.array([0, 5, 0, 5, 6, -5, -7, -4, np.nan, 9, 9, 1])
    assert anomalous_runs(z, z_threshold=4, min_hours=2) == [(3, 5, 1), (5, 8, -1), (9, 11, 1)]  # the lone 5 at index 1 is too short
    assert anomalous_runs(z, z_threshold=4, min_hours=1) == [(1, 2, 1), (3, 5, 1), (5, 8, -1), (9, 11, 1)]


def night_series(first_day: date, days: int, night_kw_of_day, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hourly load: the given night base (kW) per day at 01:00-05:00 plus small noise, 100 kW by day."""
    rng = np.random.default_rng(seed)
    hours = np.arange(np.datetime64(first_day, "h"), np.datetime64(first_day + timedelta(days=days), "h"))
    day_index = (hours.astype("datetime64[D]") - np.datetime64(first_day, "D")).astype(int)
    hour_of_day = (hours - hours.astype("datetime64[D]")).astype(int)
    base = np.array([night_kw_of_day(d) for d in day_index])
    load = np.where((hour_of_day >= 1) & (hour_of_day < 6), base, 100.0) + rng.normal(0, 0.3, hours.size)
    return hours, load


def test_nightly_minimum_is_the_lowest_hour_of_a_complete_night_window() -> None:
    """Minimum over 01:00-05:00 (four hours); 05:00 itself is outside; a night with a missing hour is unknown."""
    hours = np.arange(np.datetime64("2026-09-01T00"), np.datetime64("2026-09-03T00"))
    load = np.full(hours.size, 50.0)
    load[[1, 2, 3, 4]] = [30.0, 20.0, 25.0, 35.0]
    load[5] = 5.0  # 05:00: after the window
    load[24 + 3] = np.nan
    days, minima = nightly_minima(hours, load, time(1), time(5))
    assert list(days) == [np.datetime64("2026-09-01"), np.datetime64("2026-09-02")]
    assert minima[0] == 20.0 and np.isnan(minima[1])


def test_night_base_load_rising_2_percent_a_week_is_flagged() -> None:
    """Six weeks of nightly minima growing 2 % a week (compounded daily) from 40 kW: flagged at about 2 %/week."""
    hours, load = night_series(date(2026, 7, 20), 42, lambda d: 40.0 * 1.02 ** (d / 7))
    days, minima = nightly_minima(hours, load, time(1), time(5))
    creep = night_base_load_creep(days, minima, min_share_per_week=0.01, min_nights=32)
    assert creep is not None and creep.flagged
    assert creep.share_per_week == pytest.approx(0.02, rel=0.15)
    assert creep.base_kw == pytest.approx(40.0, rel=0.03)
    assert creep.rise_kw == pytest.approx(40.0 * (1.02 ** (41 / 7) - 1), rel=0.15)


def test_flat_night_base_load_is_not_flagged() -> None:
    """Six weeks at 40 kW with noise and three odd nights (a late meeting): no creep."""
    odd = {10: 60.0, 25: 55.0, 38: 70.0}
    hours, load = night_series(date(2026, 7, 20), 42, lambda d: odd.get(d, 40.0), seed=3)
    days, minima = nightly_minima(hours, load, time(1), time(5))
    creep = night_base_load_creep(days, minima, min_share_per_week=0.01, min_nights=32)
    assert creep is not None and not creep.flagged
    assert abs(creep.share_per_week) < 0.005


def test_too_few_nights_give_no_verdict() -> None:
    hours, load = night_series(date(2026, 7, 20), 10, lambda d: 40.0 + d)
    days, minima = nightly_minima(hours, load, time(1), time(5))
    assert night_base_load_creep(days, minima, min_share_per_week=0.01, min_nights=32) is None


def test_review_week_from_iso_week_date_or_default() -> None:
    """2026-W43 starts Monday 19 October; a date is taken as given; the default is the last complete week."""
    assert review_week_start("2026-W43") == date(2026, 10, 19)
    assert review_week_start(week_start=date(2026, 10, 21)) == date(2026, 10, 21)
    assert review_week_start(today=date(2026, 11, 22)) == date(2026, 11, 9)  # a Sunday: the week before this one
    assert review_week_start(today=date(2026, 11, 23)) == date(2026, 11, 16)


# -- through InfluxDB and the CLI -----------------------------------------------------------------


def write_main_meter(store, building: str, series: HourlySeries) -> None:
    """The series as 15-minute energy_interval points of the building's E-MAIN (01000) and hourly weather points."""
    tags = {"building": building, "meter": "E-MAIN", "energy": "01", "subitem": "01000"}
    lines = []
    for start_s, kwh, temperature in zip(series.starts_s, series.consumption_kwh, series.temperature_c):
        for quarter in range(4):
            lines.append(line(ENERGY_INTERVAL, tags, {"consumption": float(kwh) / 4}, (int(start_s) + 900 * quarter) * 10**9))
        lines.append(line(WEATHER, {"building": building}, {"temperature": float(temperature)}, int(start_s) * 10**9))
    store.write(lines)


def test_night_base_load_creep_read_from_influxdb_is_one_review_entry(store, example_site) -> None:
    """Eight weeks of 341122A002 whose night load grows 2 % a week: the review of the last week holds one
    creep entry spanning the six creep weeks, at about 2 %/week."""
    review_start = date(2026, 8, 31)
    first = review_start - timedelta(weeks=7)
    series = synthetic_building(first, 8, seed=5, noise_kw=0.5)
    night = series.consumption_kwh < 80.0  # the unoccupied hours of this synthetic building
    weeks_in = (series.hours - np.datetime64(first, "h")).astype(float) / 168.0
    series.consumption_kwh[night] *= 1.02 ** weeks_in[night]
    write_main_meter(store, "341122A002", series)

    review = review_building(store, example_site, "341122A002", review_start)

    creeps = [a for a in review.anomalies if a.kind == CREEP]
    assert len(creeps) == 1
    assert creeps[0].score == pytest.approx(0.02, rel=0.15)
    assert datetime.fromtimestamp(creeps[0].start_s, TZ).date() == review_start + timedelta(days=7) - timedelta(weeks=6)
    assert datetime.fromtimestamp(creeps[0].end_s, TZ).date() == review_start + timedelta(days=7)


def test_faults_review_lists_an_injected_night_load_as_json_and_never_writes_fault(store, stack_env, example_site) -> None:
    """Building 341122A001's main meter (E-MAIN, 15-min energy_interval) and weather for 4 baseline weeks and
    the review week 2026-W36, +50 kW from 00:00 to 06:00 on Tuesday 1 September: `facmon faults review
    --week 2026-W36 --weeks-baseline 4 --format json --write` lists exactly that anomaly, reports the other
    buildings as skipped (no data), stores it in `anomaly` and writes nothing to `fault`."""
    review_start = date(2026, 8, 31)
    series = synthetic_building(review_start - timedelta(weeks=4), 5, seed=11)
    tuesday = np.datetime64(review_start + timedelta(days=1), "h")
    injected = (series.hours >= tuesday) & (series.hours < tuesday + 6)
    series.consumption_kwh[injected] += 50.0
    write_main_meter(store, "341122A001", series)

    env = stack_env
    done = subprocess.run(
        [FACMON, "faults", "review", "--week", "2026-W36", "--weeks-baseline", "4", "--format", "json", "--write"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["week_start"] == "2026-08-31" and report["baseline_weeks"] == 4
    entries = report["anomalies"]
    assert [(e["building"], e["kind"], e["start"], e["end"]) for e in entries] == [
        ("341122A001", ABOVE, "2026-09-01T00:00:00+08:00", "2026-09-01T06:00:00+08:00")
    ]
    assert entries[0]["excess_kwh"] == pytest.approx(300.0, abs=36.0)
    buildings = {b["building"]: b for b in report["buildings"]}
    assert buildings["341122A001"]["skipped"] is None and buildings["341122A001"]["scored_hours"] == 168
    assert all(buildings[b.code]["skipped"] for b in example_site.buildings if b.code != "341122A001")
    assert buildings["341122A001"]["night_creep"]["flagged"] is False  # 40 kW every night but one
    assert store.rows(f'SELECT * FROM "{FAULT}"') == []
    stored = store.rows(f'SELECT * FROM "{ANOMALY}"')
    assert [(r["building"], r["kind"], int(r["time"])) for r in stored] == [("341122A001", ABOVE, local_s("2026-09-01T00:00"))]

    # A rerun (as a table, for people) replaces the week's points instead of adding to them.
    again = subprocess.run(
        [FACMON, "faults", "review", "--week-start", "2026-08-31", "--weeks-baseline", "4", "--write"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "341122A001" in again.stdout and ABOVE in again.stdout and "1 anomaly point(s) written" in again.stdout
    assert len(store.rows(f'SELECT * FROM "{ANOMALY}"')) == 1
