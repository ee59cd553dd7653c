"""Exported CSVs become days or hours: sums of complete intervals, temperature at its own interval."""

from __future__ import annotations

import numpy as np
import pytest

from facmon.analytics.interval_csv import read_interval_csv, to_regular
from facmon.errors import FacmonError


def write(tmp_path, lines: list[str]):
    path = tmp_path / "export.csv"
    path.write_text("time,kwh,temp\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def quarter_hours(day: str, kwh: float, skip: int | None = None, offset: str = "+08:00") -> list[str]:
    """96 quarter-hour rows of one day, temperature on the hour = the hour number (mean 11.5 °C)."""
    rows = []
    for q in range(96):
        if q == skip:
            continue
        temp = str(q // 4) if q % 4 == 0 else ""
        rows.append(f"{day}T{q // 4:02d}:{q % 4 * 15:02d}:00{offset},{kwh},{temp}")
    return rows


def test_days_sum_complete_quarter_hours_and_average_hourly_temperature(tmp_path):
    """Day 1 complete (96 × 0.5 kWh = 48 kWh), day 2 lacks one quarter hour: no daily value, not 47.5."""
    path = write(tmp_path, quarter_hours("2025-03-01", 0.5) + quarter_hours("2025-03-02", 0.5, skip=41, offset=""))
    series = to_regular(read_interval_csv(path, "time", "kwh", "temp"), "daily")
    assert list(series.starts.astype(str)) == ["2025-03-01", "2025-03-02"]
    assert series.consumption[0] == pytest.approx(48.0) and np.isnan(series.consumption[1])
    assert series.temperature_c == pytest.approx([11.5, 11.5])


def test_hours_take_three_hourly_temperature_interpolated(tmp_path):
    """Temperature at 00:00 = 0 °C and 03:00 = 6 °C: hours 01 and 02 get 2 and 4 °C."""
    lines = []
    for hour in range(4):
        temp = str(hour * 2) if hour % 3 == 0 else ""
        lines.append(f"2025/03/01 {hour:02d}:00,1.0,{temp}")
    series = to_regular(read_interval_csv(write(tmp_path, lines), "time", "kwh", "temp"), "hourly")
    assert series.temperature_c == pytest.approx([0.0, 2.0, 4.0, 6.0])
    assert series.consumption == pytest.approx([1.0] * 4)


def test_fahrenheit_is_converted_to_celsius(tmp_path):
    path = write(tmp_path, ["2025-03-01,10,50", "2025-03-02,10,68"])
    readings = read_interval_csv(path, "time", "kwh", "temp", temp_unit="F")
    assert readings.temperature_c == pytest.approx([10.0, 20.0])


def test_bad_values_are_named_by_file_and_line(tmp_path):
    path = write(tmp_path, ["2025-03-01T00:00:00+08:00,1.0,5", "2025-03-01T01:00:00+08:00,lots,5"])
    with pytest.raises(FacmonError, match=r"export.csv:3: kwh 'lots' is not a number"):
        read_interval_csv(path, "time", "kwh", "temp")
    path = write(tmp_path, ["yesterday,1.0,5"])
    with pytest.raises(FacmonError, match=r"export.csv:2: time 'yesterday' is not a time"):
        read_interval_csv(path, "time", "kwh", "temp")


def test_monthly_load_cannot_make_a_daily_model(tmp_path):
    path = write(tmp_path, ["2025-01-01,3000,5", "2025-02-01,2800,6", "2025-03-01,2900,9"])
    with pytest.raises(FacmonError, match="coarser than the daily model"):
        to_regular(read_interval_csv(path, "time", "kwh", "temp"), "daily")
