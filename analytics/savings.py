"""Avoided energy over a reporting period and its fractional savings uncertainty (IPMVP Option C, G14 Annex B).

    avoided = Σ (baseline prediction − observed)             over the reporting period
    F       = avoided / Σ baseline prediction                 (savings fraction)
    FSU     = t · K · CV(RMSE) · √((n/n′)(1 + 2/n′) / m) / F  (docs/standards.md#measurement-and-verification)

t is the two-sided Student t value at the confidence level (68 % by default) with n − p degrees of
freedom, n and p the baseline points and model parameters, n′ the effective number of baseline
points given the residuals' lag-1 autocorrelation, m the reporting points, and K = 1.26 for hourly
data or Sun & Baltazar's a·M² + b·M + d for daily data (M = months in the reporting period).
Savings are "inconclusive" when FSU exceeds 50 %.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from facmon.analytics.fit_statistics import FitStatistics, t_quantile
from facmon.errors import FacmonError
from facmon.standards import MV_FSU_CONFIDENCE, MV_FSU_INCONCLUSIVE_ABOVE, MV_FSU_K_HOURLY, MV_FSU_SUN_BALTAZAR_DAILY

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Savings:
    """Avoided energy with its uncertainty; energies in the unit of the meter (kWh), fractions 0..1."""

    avoided_kwh: float
    predicted_kwh: float  # baseline prediction over the reporting points (the counterfactual)
    observed_kwh: float
    fraction: float  # avoided / predicted
    uncertainty_kwh: float  # ± band of the avoided energy at the confidence level
    fsu: float | None  # uncertainty / |avoided|; None when nothing was avoided
    confidence: float
    t_statistic: float
    correction_k: float
    m: int  # reporting points used
    inconclusive: bool

    def as_dict(self) -> dict:
        return asdict(self)


def sun_baltazar_k(reporting_months: float, coefficients: tuple[float, float, float] = MV_FSU_SUN_BALTAZAR_DAILY) -> float:
    """Sun & Baltazar's correction K = a·M² + b·M + d for daily data, M the reporting period in months."""
    a, b, d = coefficients
    return a * reporting_months**2 + b * reporting_months + d


def fractional_savings_uncertainty(
    *,
    t_statistic: float,
    correction_k: float,
    cvrmse: float,
    n: int,
    n_effective: float,
    m: int,
    savings_fraction: float,
) -> float:
    """FSU = t·K·CV·√((n/n′)(1 + 2/n′)/m)/F (G14 Annex B; docs/standards.md#measurement-and-verification), a fraction of the savings."""
    if m <= 0 or n <= 0 or n_effective <= 0:
        raise FacmonError(f"FSU needs baseline and reporting points (n={n}, n′={n_effective}, m={m})")
    if savings_fraction == 0:
        raise FacmonError("FSU is undefined when the savings fraction is zero")
    return t_statistic * correction_k * cvrmse * ((n / n_effective) * (1.0 + 2.0 / n_effective) / m) ** 0.5 / abs(savings_fraction)


def savings_with_uncertainty(
    predicted_kwh: np.ndarray,
    observed_kwh: np.ndarray,
    baseline: FitStatistics,
    interval: str,
    *,
    confidence: float = MV_FSU_CONFIDENCE,
    inconclusive_above: float = MV_FSU_INCONCLUSIVE_ABOVE,
    hourly_k: float = MV_FSU_K_HOURLY,
    daily_coefficients: tuple[float, float, float] = MV_FSU_SUN_BALTAZAR_DAILY,
) -> Savings:
    """Avoided energy over the reporting period and its uncertainty.

    ``predicted_kwh`` (the baseline model's prediction) and ``observed_kwh`` are per reporting point
    (day or hour) in the same unit; points where either is NaN are left out. ``baseline`` is the fit
    statistics of the baseline model; ``interval`` is "daily" or "hourly" (it chooses K).
    """
    predicted_kwh = np.asarray(predicted_kwh, dtype=float)
    observed_kwh = np.asarray(observed_kwh, dtype=float)
    if predicted_kwh.shape != observed_kwh.shape:
        raise FacmonError(f"predicted ({predicted_kwh.shape}) and observed ({observed_kwh.shape}) reporting values differ in length")
    both = np.isfinite(predicted_kwh) & np.isfinite(observed_kwh)
    m = int(both.sum())
    if m == 0:
        raise FacmonError("the reporting period has no point with both an observed value and a baseline prediction")
    predicted_total = float(predicted_kwh[both].sum())
    observed_total = float(observed_kwh[both].sum())
    avoided = predicted_total - observed_total
    if interval == "daily":
        correction_k = sun_baltazar_k(m / DAYS_PER_MONTH, daily_coefficients)
    elif interval == "hourly":
        correction_k = hourly_k
    else:
        raise FacmonError(f"interval must be 'daily' or 'hourly' (got {interval!r})")
    t_statistic = t_quantile(confidence, baseline.n - baseline.n_parameters)
    # The band in kWh is FSU·|avoided| = t·K·CV·√(...)·Σ predicted: defined even when nothing was saved.
    relative_band = fractional_savings_uncertainty(
        t_statistic=t_statistic,
        correction_k=correction_k,
        cvrmse=baseline.cvrmse,
        n=baseline.n,
        n_effective=baseline.n_effective,
        m=m,
        savings_fraction=1.0,
    )
    uncertainty = relative_band * abs(predicted_total)
    fsu = uncertainty / abs(avoided) if avoided != 0 else None
    return Savings(
        avoided_kwh=avoided,
        predicted_kwh=predicted_total,
        observed_kwh=observed_total,
        fraction=avoided / predicted_total if predicted_total else float("nan"),
        uncertainty_kwh=uncertainty,
        fsu=fsu,
        confidence=confidence,
        t_statistic=t_statistic,
        correction_k=correction_k,
        m=m,
        inconclusive=fsu is None or fsu > inconclusive_above,
    )
