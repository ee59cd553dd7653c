"""Fit statistics and fractional savings uncertainty match hand-computed cases (ASHRAE G14 Annex B)."""

from __future__ import annotations

import numpy as np
import pytest

from facmon.analytics.fit_statistics import FitStatistics, effective_sample_size, fit_statistics, lag1_autocorrelation, t_quantile
from facmon.analytics.savings import fractional_savings_uncertainty, savings_with_uncertainty, sun_baltazar_k


def test_fit_statistics_of_a_hand_computed_case():
    """observed 1,2,3,4 vs predicted 1,2,3,5, one parameter: SSE 1, ȳ 2.5, n − p = 3.

    CV(RMSE) = √(1/3)/2.5 = 0.23094; NMBE = −1/(3·2.5) = −0.13333; R² = 1 − 1/5 = 0.8.
    """
    stats = fit_statistics(np.array([1.0, 2, 3, 4]), np.array([1.0, 2, 3, 5]), n_parameters=1)
    assert stats.cvrmse == pytest.approx(0.230940, rel=1e-5)
    assert stats.nmbe == pytest.approx(-0.133333, rel=1e-5)
    assert stats.r2 == pytest.approx(0.8)
    assert stats.adjusted_r2 == pytest.approx(1 - (1 / 3) / (5 / 3))


def test_lag1_autocorrelation_of_a_hand_computed_case():
    """Residuals 1,2,3,4: centred −1.5,−0.5,0.5,1.5; Σ lagged products 1.25 / Σ squares 5 = 0.25."""
    assert lag1_autocorrelation(np.array([1.0, 2, 3, 4])) == pytest.approx(0.25)
    assert lag1_autocorrelation(np.array([1.0, -1, 1, -1, 1, -1])) < -0.8


def test_effective_sample_size_counts_autocorrelated_points_less():
    """n′ = n(1 − ρ)/(1 + ρ): 365 points at ρ = 0.5 are worth 121.67; ρ ≤ 0 earns no bonus."""
    assert effective_sample_size(365, 0.5) == pytest.approx(365 / 3)
    assert effective_sample_size(365, -0.3) == 365


def test_student_t_quantiles_match_the_tables():
    assert t_quantile(0.95, 10) == pytest.approx(2.228, abs=1e-3)
    assert t_quantile(0.90, 30) == pytest.approx(1.697, abs=1e-3)
    assert t_quantile(0.68, 1e7) == pytest.approx(0.9945, abs=1e-4)  # the normal 84th percentile


def test_sun_baltazar_correction_for_a_year_of_daily_data():
    """K(12 months) = −0.00024·144 + 0.03535·12 + 1.00286 = 1.3925."""
    assert sun_baltazar_k(12) == pytest.approx(1.3925, abs=1e-4)


def test_fsu_matches_a_hand_computed_case():
    """t = 1, K = 1.26, CV = 10 %, n = 365, ρ = 0.5 (n′ = 121.667), m = 365, F = 10 %:

    n/n′ = 3; 1 + 2/n′ = 1.016438; 3·1.016438/365 = 0.0083543; √ = 0.091402;
    FSU = 1·1.26·0.10·0.091402/0.10 = 0.11517.
    """
    fsu = fractional_savings_uncertainty(
        t_statistic=1.0, correction_k=1.26, cvrmse=0.10, n=365, n_effective=effective_sample_size(365, 0.5), m=365, savings_fraction=0.10
    )
    assert fsu == pytest.approx(0.11517, abs=2e-5)


def baseline_statistics(cvrmse: float, n: int = 365, n_parameters: int = 5, rho: float = 0.0) -> FitStatistics:
    return FitStatistics(
        n=n,
        n_parameters=n_parameters,
        mean_observed=100.0,
        rmse=100.0 * cvrmse,
        cvrmse=cvrmse,
        nmbe=0.0,
        r2=0.9,
        adjusted_r2=0.9,
        autocorrelation=rho,
        n_effective=effective_sample_size(n, rho),
    )


def test_avoided_energy_and_its_band_over_a_year_of_days():
    """Baseline 100 kWh/day, observed 90: 3,650 kWh avoided, F = 10 %; band = FSU·avoided by the G14 formula."""
    predicted = np.full(365, 100.0)
    observed = np.full(365, 90.0)
    stats = baseline_statistics(cvrmse=0.10, rho=0.5)
    savings = savings_with_uncertainty(predicted, observed, stats, "daily")
    assert savings.avoided_kwh == pytest.approx(3650.0)
    assert savings.fraction == pytest.approx(0.10)
    assert savings.m == 365
    assert savings.correction_k == pytest.approx(sun_baltazar_k(365 / (365.25 / 12)))
    expected_fsu = savings.t_statistic * savings.correction_k * 0.10 * np.sqrt(3 * (1 + 2 / (365 / 3)) / 365) / 0.10
    assert savings.fsu == pytest.approx(expected_fsu)
    assert savings.uncertainty_kwh == pytest.approx(expected_fsu * 3650.0)
    assert 0.99 < savings.t_statistic < 1.0  # 68 % two-sided with 360 degrees of freedom
    assert not savings.inconclusive


def test_missing_reporting_points_are_left_out():
    predicted = np.array([100.0, 100.0, np.nan, 100.0])
    observed = np.array([90.0, np.nan, 90.0, 80.0])
    savings = savings_with_uncertainty(predicted, observed, baseline_statistics(0.1), "hourly")
    assert savings.m == 2 and savings.avoided_kwh == pytest.approx(30.0) and savings.correction_k == 1.26


def test_savings_lost_in_the_noise_are_inconclusive():
    """1 % savings on a baseline with CV(RMSE) 30 % and strongly autocorrelated residuals: FSU > 50 %."""
    predicted = np.full(90, 100.0)
    observed = np.full(90, 99.0)
    savings = savings_with_uncertainty(predicted, observed, baseline_statistics(cvrmse=0.30, rho=0.6), "daily")
    assert savings.fsu > 0.5 and savings.inconclusive


def test_no_savings_at_all_has_a_band_but_no_fsu():
    savings = savings_with_uncertainty(np.full(30, 100.0), np.full(30, 100.0), baseline_statistics(0.1), "daily")
    assert savings.avoided_kwh == 0 and savings.fsu is None and savings.inconclusive
    assert savings.uncertainty_kwh > 0
