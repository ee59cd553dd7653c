"""Baselines recover the building they were made from: change points, slopes, schedules, day kinds."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from facmon.analytics.changepoint import ALL_DAYS, NON_WORKING_DAYS, WORKING_DAYS, ModelType, Split, fit_daily_baseline
from facmon.analytics.data_sufficiency import baseline_sufficiency
from facmon.analytics.towt import fit_hourly_baseline, hour_of_week
from facmon.errors import FacmonError

YEAR = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-12-31"))  # 365 days


def seasonal_temperature_c(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A year of daily mean temperatures from about −5 °C to 35 °C."""
    day_of_year = (days - days[0]).astype(int)
    return 15.0 - 17.0 * np.cos(2 * np.pi * (day_of_year - 15) / 365) + rng.normal(0, 3, days.size)


def change_point_kwh(
    temperature_c: np.ndarray,
    base_kwh: float,
    heating_slope: float,
    heating_balance_c: float,
    cooling_slope: float,
    cooling_balance_c: float,
) -> np.ndarray:
    return (
        base_kwh
        + heating_slope * np.maximum(heating_balance_c - temperature_c, 0)
        + cooling_slope * np.maximum(temperature_c - cooling_balance_c, 0)
    )


def test_noise_free_change_point_series_is_recovered_exactly():
    """Balance points on the search grid and exact slopes come back exactly from noise-free data."""
    rng = np.random.default_rng(1)
    temperature_c = seasonal_temperature_c(YEAR, rng)
    consumption_kwh = change_point_kwh(temperature_c, 50.0, 3.0, 12.0, 5.0, 22.0)
    model = fit_daily_baseline(YEAR, temperature_c, consumption_kwh).models[ALL_DAYS]
    assert model.model_type is ModelType.HEATING_COOLING
    assert model.heating_balance_c == pytest.approx(12.0) and model.cooling_balance_c == pytest.approx(22.0)
    assert model.heating_slope_kwh_per_k == pytest.approx(3.0, rel=1e-9)
    assert model.cooling_slope_kwh_per_k == pytest.approx(5.0, rel=1e-9)
    assert model.intercept_kwh == pytest.approx(50.0, rel=1e-9)


def test_noisy_change_point_series_is_recovered_within_noise():
    """With 2 kWh/day of noise the balance points come back within 1 K and the slopes within 5 %."""
    rng = np.random.default_rng(2)
    temperature_c = seasonal_temperature_c(YEAR, rng)
    consumption_kwh = change_point_kwh(temperature_c, 50.0, 3.0, 13.3, 5.0, 21.7) + rng.normal(0, 2.0, YEAR.size)
    baseline = fit_daily_baseline(YEAR, temperature_c, consumption_kwh)
    model = baseline.models[ALL_DAYS]
    assert model.model_type is ModelType.HEATING_COOLING
    assert abs(model.heating_balance_c - 13.3) <= 1.0 and abs(model.cooling_balance_c - 21.7) <= 1.0
    assert model.heating_slope_kwh_per_k == pytest.approx(3.0, rel=0.05)
    assert model.cooling_slope_kwh_per_k == pytest.approx(5.0, rel=0.05)
    # residual noise is all that is left: RMSE ≈ 2 kWh/day, and the fit statistics say so
    assert baseline.statistics.rmse == pytest.approx(2.0, rel=0.15)
    assert baseline.statistics.n == 365 and baseline.statistics.n_parameters == 5
    assert abs(baseline.statistics.nmbe) < 1e-9  # least squares with an intercept has no mean bias


def test_heating_only_building_gets_a_heating_only_model():
    """A gas boiler house: no cooling slope is kept when there is no cooling response."""
    rng = np.random.default_rng(3)
    temperature_c = seasonal_temperature_c(YEAR, rng)
    consumption_kwh = change_point_kwh(temperature_c, 20.0, 6.0, 16.0, 0.0, 99.0) + rng.normal(0, 3.0, YEAR.size)
    model = fit_daily_baseline(YEAR, temperature_c, consumption_kwh).models[ALL_DAYS]
    assert model.model_type is ModelType.HEATING
    assert model.cooling_balance_c is None and abs(model.heating_balance_c - 16.0) <= 1.0


def test_load_without_heating_or_cooling_response_falls_back_to_intercept_only():
    """Load that drops in cold and in hot weather (school holidays, say) has no positive slope: the model is the mean day."""
    rng = np.random.default_rng(4)
    temperature_c = seasonal_temperature_c(YEAR, rng)
    consumption_kwh = 100.0 - 1.5 * np.abs(temperature_c - 15.0) + rng.normal(0, 5.0, YEAR.size)
    # one model for all days (held-out weeks would rightly prefer the seasons apart for this load)
    model = fit_daily_baseline(YEAR, temperature_c, consumption_kwh, splits=[Split.NONE]).models[ALL_DAYS]
    assert model.model_type is ModelType.INTERCEPT_ONLY
    assert model.intercept_kwh == pytest.approx(consumption_kwh.mean())
    assert model.predict(np.array([-10.0, 40.0])) == pytest.approx([consumption_kwh.mean()] * 2)


def test_working_and_non_working_days_get_their_own_models():
    """An office: 200 kWh on working days and 80 kWh on other days, each with its cooling response."""
    rng = np.random.default_rng(5)
    temperature_c = seasonal_temperature_c(YEAR, rng)
    working = np.is_busday(YEAR)
    consumption_kwh = np.where(
        working, change_point_kwh(temperature_c, 200.0, 0, 0, 10.0, 22.0), change_point_kwh(temperature_c, 80.0, 0, 0, 3.0, 24.0)
    )
    consumption_kwh += rng.normal(0, 2.0, YEAR.size)
    baseline = fit_daily_baseline(YEAR, temperature_c, consumption_kwh, working)
    assert baseline.split_by_day_kind
    assert baseline.models[WORKING_DAYS].n_days == working.sum() and baseline.models[NON_WORKING_DAYS].n_days == (~working).sum()
    assert baseline.models[WORKING_DAYS].cooling_slope_kwh_per_k == pytest.approx(10.0, rel=0.05)
    assert baseline.models[NON_WORKING_DAYS].cooling_slope_kwh_per_k == pytest.approx(3.0, rel=0.1)
    # a hot working day and a hot Sunday at 30 °C, predicted from their own models
    assert baseline.predict(np.array([30.0, 30.0]), np.array([True, False])) == pytest.approx([280.0, 98.0], rel=0.03)
    with pytest.raises(FacmonError, match="day kind"):
        baseline.predict(np.array([30.0]))


def test_without_a_day_kind_difference_one_model_serves_all_days():
    """Splitting a building that does not care about weekends would only add parameters: it is not split."""
    rng = np.random.default_rng(6)
    temperature_c = seasonal_temperature_c(YEAR, rng)
    consumption_kwh = change_point_kwh(temperature_c, 50.0, 3.0, 12.0, 5.0, 22.0) + rng.normal(0, 2.0, YEAR.size)
    baseline = fit_daily_baseline(YEAR, temperature_c, consumption_kwh, np.is_busday(YEAR))
    assert not baseline.split_by_day_kind


def test_short_or_gappy_baseline_is_fitted_but_flagged_insufficient():
    """CalTRACK sufficiency: 365 days with ≥ 90 % valid. Less is reported, not hidden."""
    rng = np.random.default_rng(7)
    days = YEAR[:200]
    temperature_c = seasonal_temperature_c(days, rng)
    consumption_kwh = 100 + 2 * np.maximum(15 - temperature_c, 0) + rng.normal(0, 1, days.size)
    consumption_kwh[:30] = np.nan  # a month of missing meter data
    baseline = fit_daily_baseline(days, temperature_c, consumption_kwh)
    assert baseline.statistics.n == 170
    assert not baseline.sufficiency.sufficient
    assert baseline.sufficiency.period_days == 200 and baseline.sufficiency.valid_points == 170
    assert any("200 days" in issue for issue in baseline.sufficiency.issues)
    assert any("85.0%" in issue for issue in baseline.sufficiency.issues)


def test_a_full_year_with_a_few_gaps_is_sufficient():
    """365 days, 30 of them missing (91.8 % valid): a full baseline."""
    valid = np.ones(365, dtype=bool)
    valid[::12] = False  # 31 missing
    verdict = baseline_sufficiency(YEAR, valid)
    assert verdict.valid_points == 334 and verdict.sufficient and verdict.issues == ()


def test_too_few_days_is_an_error_naming_the_problem():
    with pytest.raises(FacmonError, match="only 5 days"):
        fit_daily_baseline(YEAR[:5], np.arange(5.0), np.arange(5.0))


def test_hour_of_week_follows_the_working_calendar():
    """Monday 00:00 is hour 0; a holiday Tuesday counts as a Sunday and a 调休 Saturday as a Wednesday."""
    hours = np.array(["2024-09-30T00", "2024-10-01T09", "2024-10-12T09", "2024-10-13T23"], dtype="datetime64[h]")
    assert list(hour_of_week(hours)) == [0, 24 + 9, 5 * 24 + 9, 6 * 24 + 23]
    working = np.array([True, False, True, False])  # 2024-10-01 National Day; 2024-10-12 worked in exchange
    assert list(hour_of_week(hours, working)) == [0, 6 * 24 + 9, 2 * 24 + 9, 6 * 24 + 23]


def test_towt_recovers_schedule_and_temperature_response():
    """Occupied 08–18 on weekdays (20 kWh + 0.8 kWh/K above 18.3 °C), else 5 kWh + 0.1 kWh/K: recovered exactly."""
    rng = np.random.default_rng(8)
    hours = np.arange(np.datetime64("2024-01-01T00"), np.datetime64("2024-03-01T00"))
    hour_of_day = (hours - hours.astype("datetime64[D]")).astype(int)
    occupied = np.is_busday(hours.astype("datetime64[D]")) & (hour_of_day >= 8) & (hour_of_day < 18)
    temperature_c = 15 + 8 * np.sin(2 * np.pi * (hour_of_day - 9) / 24) + rng.normal(0, 3, hours.size)
    consumption_kwh = np.where(occupied, 20 + 0.8 * np.maximum(temperature_c - 18.3, 0), 5 + 0.1 * temperature_c)
    baseline = fit_hourly_baseline(hours, temperature_c, consumption_kwh)
    true_occupied_hours_of_week = np.zeros(168, dtype=bool)
    true_occupied_hours_of_week[hour_of_week(hours[occupied])] = True
    assert (baseline.occupied == true_occupied_hours_of_week).all()
    assert baseline.unoccupied_slope_kwh_per_k == pytest.approx(0.1, abs=1e-9)
    assert baseline.statistics.cvrmse < 1e-9
    later = np.arange(np.datetime64("2024-03-04T00"), np.datetime64("2024-03-05T00"))  # a Monday
    hot = np.full(later.size, 30.0)
    expected = np.where((np.arange(24) >= 8) & (np.arange(24) < 18), 20 + 0.8 * (30 - 18.3), 5 + 0.1 * 30)
    assert baseline.predict(later, hot) == pytest.approx(expected, abs=1e-6)


def test_towt_on_chinese_calendar_treats_a_holiday_like_a_sunday():
    """Fitted with day kinds, a holiday Tuesday is predicted at the Sunday level, not the working level."""
    from facmon.workdays import is_working_day

    hours = np.arange(np.datetime64("2024-08-01T00"), np.datetime64("2024-09-30T00"))
    days = hours.astype("datetime64[D]")
    working = np.array([is_working_day(d) for d in days.astype(date)])
    hour_of_day = (hours - days).astype(int)
    temperature_c = np.full(hours.size, 28.0) + np.random.default_rng(9).normal(0, 1, hours.size)
    consumption_kwh = np.where(working & (hour_of_day >= 8) & (hour_of_day < 18), 50.0, 10.0)
    baseline = fit_hourly_baseline(hours, temperature_c, consumption_kwh, working)
    national_day_noon = np.array(["2024-10-01T12"], dtype="datetime64[h]")  # a Tuesday, public holiday
    assert baseline.predict(national_day_noon, np.array([28.0]), np.array([False])) == pytest.approx([10.0], abs=0.5)
    assert baseline.predict(national_day_noon, np.array([28.0]), np.array([True])) == pytest.approx([50.0], abs=0.5)


def test_a_school_whose_working_days_change_with_the_season_gets_its_seasons_apart_by_held_out_error():
    """A school: 200 kWh on term working days, 90 kWh on summer working days (June–September: the summer
    closure), 60 kWh on other days, with a heating response. The seasons apart predict held-out weeks
    best, so the working days get a model per season and July is predicted as the closure it is."""
    rng = np.random.default_rng(6)
    temperature_c = seasonal_temperature_c(YEAR, rng)
    working = np.is_busday(YEAR)
    summer = np.isin(YEAR.astype("datetime64[M]").astype(int) % 12 + 1, (6, 7, 8, 9))
    base = np.where(working, np.where(summer, 90.0, 200.0), 60.0)
    consumption_kwh = base + 4.0 * np.maximum(12.0 - temperature_c, 0.0) + rng.normal(0, 4.0, YEAR.size)
    baseline = fit_daily_baseline(YEAR, temperature_c, consumption_kwh, working)
    errors = baseline.held_out_cvrmse
    assert baseline.split in (Split.SEASON_FOR_WORKING_DAYS, Split.SEASON_AND_DAY_KIND)
    assert errors[baseline.split.value] == min(e for e in errors.values() if e is not None)
    assert errors[baseline.split.value] < 0.5 * errors[Split.DAY_KIND.value]
    july = (YEAR.astype("datetime64[M]") == np.datetime64("2024-07")) & working
    assert baseline.predict(temperature_c, working, YEAR)[july].mean() == pytest.approx(90.0, abs=3.0)
    with pytest.raises(FacmonError, match="date of each day"):
        baseline.predict(temperature_c, working)
