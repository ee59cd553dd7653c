"""The consumption analysis's measurements through their writers and readers (facmon.schema.energy), on a
real InfluxDB: energy_interval (columnar, ``estimated`` only where it says something), meter_daily,
energy_daily and energy_monthly, every line stamped in seconds."""

from __future__ import annotations

import math

import numpy as np

from facmon.schema.energy import (
    LINE_PRECISION,
    EnergyDaily,
    EnergyIntervals,
    EnergyMonthly,
    MeterDays,
    MeterSeries,
    completeness_by_building,
    completeness_by_meter,
    days_with_totals,
    energy_daily_line,
    energy_daily_sums,
    energy_interval_lines,
    energy_monthly_line,
    estimated_interval_starts,
    hourly_consumption,
    interval_consumption,
    interval_consumption_by_building,
    last_interval_start_s,
    meter_daily_lines,
    read_energy_daily,
)
from facmon.store import InfluxStore

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC, a whole hour
DAY = 86_400
MAIN = MeterSeries("B1", "E-MAIN", "01", "01000")
PREFIX = "energy_interval,building=B1,energy=01,meter=E-MAIN,subitem=01000"


def intervals(consumption: list[float], estimated: list[bool]) -> EnergyIntervals:
    return EnergyIntervals(T0 + 900 * np.arange(len(consumption), dtype=np.int64), np.array(consumption), np.array(estimated))


def test_an_interval_is_flagged_estimated_only_when_it_is_or_when_an_earlier_run_said_so(store: InfluxStore) -> None:
    first = energy_interval_lines(MAIN, intervals([1.25, 0.5, 0.75, 1.0], [False, True, True, False]), np.empty(0, dtype=np.int64))
    assert first == [
        f"{PREFIX} consumption=1.25 {T0}",
        f"{PREFIX} consumption=0.5,estimated=true {T0 + 900}",
        f"{PREFIX} consumption=0.75,estimated=true {T0 + 1800}",
        f"{PREFIX} consumption=1.0 {T0 + 2700}",
    ]
    store.write(first, precision=LINE_PRECISION)
    flagged = estimated_interval_starts(store, "B1", "E-MAIN", T0, T0 + 3600)
    assert flagged.tolist() == [T0 + 900, T0 + 1800]
    # The readings arrived: the second run measures the third interval and clears its stale flag.
    second = energy_interval_lines(MAIN, intervals([1.25, 0.5, 0.8, 1.0], [False, True, False, False]), flagged)
    assert second[2] == f"{PREFIX} consumption=0.8,estimated=false {T0 + 1800}"
    store.write(second, precision=LINE_PRECISION)
    assert estimated_interval_starts(store, "B1", "E-MAIN", T0, T0 + 3600).tolist() == [T0 + 900]
    times, values = interval_consumption(store, "B1", "E-MAIN", T0, T0 + 3600)
    assert times.tolist() == [T0, T0 + 900, T0 + 1800, T0 + 2700] and values.tolist() == [1.25, 0.5, 0.8, 1.0]
    assert last_interval_start_s(store) == T0 + 2700


def test_interval_readers_by_building_and_by_hour(store: InfluxStore) -> None:
    assert last_interval_start_s(store) is None
    lights = MeterSeries("B1", "E-LIGHT", "01", "01A10")
    other = MeterSeries("B2", "E-MAIN", "01", "01000")
    five = intervals([1.0, 2.0, 3.0, 4.0, 5.0], [False] * 5)
    lines = energy_interval_lines(MAIN, five, np.empty(0)) + energy_interval_lines(lights, five, np.empty(0))
    lines += energy_interval_lines(other, intervals([7.0], [False]), np.empty(0))
    store.write(lines, precision=LINE_PRECISION)
    found = interval_consumption_by_building(store, "01", "01000", T0, T0 + 7200)
    assert sorted(found) == ["B1", "B2"]
    assert found["B1"][0].tolist() == five.starts_s.tolist() and found["B1"][1].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert found["B2"][1].tolist() == [7.0]
    assert hourly_consumption(store, "B1", "01", "01000", T0, T0 + 7200) == [(T0, 10.0, 4), (T0 + 3600, 5.0, 1)]
    assert hourly_consumption(store, "B9", "01", "01000", T0, T0 + 7200) == []


def test_meter_days_store_every_count_as_a_float_and_read_back_as_completeness(store: InfluxStore) -> None:
    def days(measured: list[int]) -> MeterDays:
        n = len(measured)
        return MeterDays(
            day_starts_s=T0 + DAY * np.arange(n, dtype=np.int64),
            consumption=np.array([12.3456789, 0.0, 3.0][:n]),
            expected=np.array([96, 0, 96][:n]),
            measured=np.array(measured),
            estimated=np.array([2, 0, 0][:n]),
            missing=np.array([0, 0, 48][:n]),
            spikes=np.array([1, 0, 0][:n]),
            resets=np.array([1, 0, 0][:n]),
            rollovers=np.array([0, 0, 0][:n]),
        )

    main = meter_daily_lines(MAIN, days([94, 0, 48]))
    series = "meter_daily,building=B1,energy=01,meter=E-MAIN,subitem=01000"
    assert main == [
        f"{series} completeness=0.979167,consumption=12.345679,expected_intervals=96.0,measured_intervals=94.0,"
        f"estimated_intervals=2.0,missing_intervals=0.0,spike_intervals=1.0,reset_count=1.0,rollover_count=0.0 {T0}",
        f"{series} completeness=0.5,consumption=3.0,expected_intervals=96.0,measured_intervals=48.0,"
        f"estimated_intervals=0.0,missing_intervals=48.0,spike_intervals=0.0,reset_count=0.0,rollover_count=0.0 {T0 + 2 * DAY}",
    ]
    water = meter_daily_lines(MeterSeries("B1", "W-MAIN", "02", "02000"), days([96]))
    store.write(main + water, precision=LINE_PRECISION)
    assert completeness_by_building(store, T0, T0 + 3 * DAY) == {"B1": [0.979167, 1.0, 0.5]}
    assert completeness_by_meter(store, T0, T0 + 3 * DAY) == {("B1", "E-MAIN"): [0.979167, 0.5], ("B1", "W-MAIN"): [1.0]}
    assert completeness_by_meter(store, T0 + 3 * DAY, T0 + 4 * DAY) == {}


def test_energy_days_store_factors_only_where_they_exist_and_read_back(store: InfluxStore) -> None:
    water = EnergyDaily("B1", "02", "02000", T0, 12.5, None, None, 1.0, 0.0, 2, "2023-national")
    assert energy_daily_line(water) == (
        "energy_daily,building=B1,energy=02,subitem=02000 consumption=12.5,completeness=1.0,estimated_share=0.0,meters=2.0,"
        f'factor_version="2023-national" {T0}'
    )
    power = [EnergyDaily("B1", "01", "01000", T0 + i * DAY, 100.0 + i, 12.3 + i, 58.1, 0.9, 0.1, 1, "2023-national") for i in range(3)]
    lights = EnergyDaily("B1", "01", "01A10", T0, 20.0, 2.4, 11.6, 1.0, 0.0, 1, "2023-national")
    assert energy_daily_line(lights).endswith(f'factor_version="2023-national",kgce=2.4,co2_kg=11.6 {T0}')
    store.write([energy_daily_line(p) for p in [water, *power, lights]], precision=LINE_PRECISION)

    (main,) = read_energy_daily(store, "B1", T0, T0 + 3 * DAY, energy="01", subitem="01000")
    assert (main.energy, main.subitem, main.day_starts_s.tolist()) == ("01", "01000", [T0, T0 + DAY, T0 + 2 * DAY])
    assert main.consumption.tolist() == [100.0, 101.0, 102.0] and main.completeness.tolist() == [0.9] * 3
    assert main.estimated_share.tolist() == [0.1] * 3 and main.kgce.tolist() == [12.3, 13.3, 14.3]
    every = {(s.energy, s.subitem): s for s in read_energy_daily(store, "B1", T0, T0 + 3 * DAY)}
    assert sorted(every) == [("01", "01000"), ("01", "01A10"), ("02", "02000")]
    assert math.isnan(every[("02", "02000")].kgce[0]) and every[("02", "02000")].consumption.tolist() == [12.5]

    sums = {(s.building, s.energy, s.subitem): s for s in energy_daily_sums(store, T0, T0 + 3 * DAY)}
    assert sums[("B1", "01", "01000")].consumption == 303.0 and sums[("B1", "02", "02000")].kgce is None
    assert days_with_totals(store, T0 + DAY, T0 + 3 * DAY) == {"B1": {T0 + DAY, T0 + 2 * DAY}}


def test_an_energy_month_stores_its_days_as_a_float() -> None:
    month = EnergyMonthly("B1", "01", "01000", T0, 3100.1234567, 381.0, None, 31, 0.95)
    assert energy_monthly_line(month) == (
        f"energy_monthly,building=B1,energy=01,subitem=01000 consumption=3100.123457,days=31.0,completeness=0.95,kgce=381.0 {T0}"
    )
