"""Outdoor weather of the site: seasons, the daily cycle and day-to-day anomalies for its climate zone.

Temperature = seasonal cosine (coldest ≈ 20 January, warmest ≈ 21 July) + smooth anomalies (day,
5-day weather systems, a 3-hourly wiggle) + an asymmetric daily cycle (minimum at 05:00, maximum at
15:00 local) whose range shrinks on overcast days. Relative humidity moves against the daily cycle
and with cloud. Everything is a pure function of the moment and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facmon.simulators.clock import DAY_S, DayGrid
from facmon.simulators.noise import Stream, value_noise
from facmon.simulators.parameters import ClimateNormals, WeatherParameters

YEAR_DAYS = 365.2422


@dataclass(frozen=True)
class OutdoorWeather:
    """Outdoor conditions at each tick of a :class:`DayGrid`."""

    temp_c: np.ndarray  # air temperature, °C
    daily_mean_c: np.ndarray  # temperature without the daily cycle (season + anomalies), °C
    humidity_pct: np.ndarray  # relative humidity, % RH
    pm25_ugm3: np.ndarray  # outdoor PM2.5, µg/m³
    co2_ppm: float  # outdoor CO₂, ppm
    dark: np.ndarray  # bool: between sunset and sunrise


def daily_cycle(local_hour: np.ndarray, coldest_hour: float, warmest_hour: float) -> np.ndarray:
    """Shape of the daily temperature cycle, -1 at ``coldest_hour`` and +1 at ``warmest_hour``."""
    rise_h = warmest_hour - coldest_hour
    since_min = np.mod(local_hour - coldest_hour, 24.0)
    rising = -np.cos(np.pi * since_min / rise_h)
    falling = np.cos(np.pi * (since_min - rise_h) / (24.0 - rise_h))
    return np.where(since_min < rise_h, rising, falling)


def seasonal_phase(day_of_year: np.ndarray, coldest_day_of_year: float) -> np.ndarray:
    """-1 on the coldest day of the year, +1 half a year later."""
    return -np.cos(2 * np.pi * (day_of_year - coldest_day_of_year) / YEAR_DAYS)


def night_mask(local_hour: np.ndarray, day_of_year: np.ndarray, latitude_deg: float) -> np.ndarray:
    """True between sunset and sunrise (solar noon taken as 12:00 local clock time)."""
    declination = np.radians(23.44) * np.sin(2 * np.pi * (284 + day_of_year + 1) / 365.0)
    cos_hour_angle = np.clip(-np.tan(np.radians(latitude_deg)) * np.tan(declination), -1.0, 1.0)
    half_day_h = np.degrees(np.arccos(cos_hour_angle)) / 15.0
    return np.abs(local_hour - 12.0) > half_day_h


def outdoor_weather(grid: DayGrid, climate: ClimateNormals, latitude_deg: float, seed: int, params: WeatherParameters) -> OutdoorWeather:
    """Outdoor weather at the ticks of ``grid``."""
    ts = grid.ts_s
    season = seasonal_phase(grid.day_of_year, climate.coldest_day_of_year)
    anomaly_c = (
        params.daily_anomaly_c * value_noise(seed, Stream.WEATHER_DAILY, ts, DAY_S)
        + params.synoptic_anomaly_c * value_noise(seed, Stream.WEATHER_SYNOPTIC, ts, int(params.synoptic_period_days * DAY_S))
        + params.short_anomaly_c * value_noise(seed, Stream.WEATHER_SHORT, ts, 3 * 3600)
    )
    cloud = 1.0 / (1.0 + np.exp(-1.5 * value_noise(seed, Stream.CLOUD, ts, DAY_S)))  # 0 clear .. 1 overcast
    daily_mean_c = climate.annual_mean_c + climate.seasonal_amplitude_c * season + anomaly_c
    cycle_c = climate.daily_range_c / 2.0 * (1.25 - 0.5 * cloud) * daily_cycle(grid.local_hour, params.coldest_hour, params.warmest_hour)
    temp_c = daily_mean_c + cycle_c
    humidity = (
        climate.humidity_mean_pct
        + climate.humidity_summer_extra_pct * season
        - params.humidity_per_c * cycle_c
        + params.cloud_humidity_pct * (cloud - 0.5)
    )
    pm25_mid = (climate.pm25_winter_ugm3 + climate.pm25_summer_ugm3) / 2
    pm25_half = (climate.pm25_winter_ugm3 - climate.pm25_summer_ugm3) / 2
    pm25 = (
        (pm25_mid - pm25_half * season)
        * np.exp(0.45 * value_noise(seed, Stream.PM25, ts, 2 * DAY_S) - 0.1)
        * (1.2 - 0.4 * cloud)
        * (1.0 + 0.12 * np.cos(2 * np.pi * (grid.local_hour - 8.0) / 12.0))
    )
    return OutdoorWeather(
        temp_c=temp_c,
        daily_mean_c=daily_mean_c,
        humidity_pct=np.clip(humidity, 12.0, 100.0),
        pm25_ugm3=np.clip(pm25, 3.0, 500.0),
        co2_ppm=params.co2_outdoor_ppm,
        dark=night_mask(grid.local_hour, grid.day_of_year, latitude_deg),
    )
