"""Goodness of fit of a baseline model: CV(RMSE), NMBE, R² and residual autocorrelation (ASHRAE G14).

Plain functions on numpy arrays. Observed and predicted values are in the meter's unit per period
(kWh per day for a daily electricity model); the statistics are fractions (0.12 = 12 %).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy.special import stdtr
from scipy.stats import t as student_t  # scipy comes with scikit-learn; its t quantile is exact

from facmon.errors import FacmonError


@dataclass(frozen=True)
class FitStatistics:
    """How well a baseline model reproduces its own baseline period.

    ``cvrmse`` and ``nmbe`` divide by n − p as ASHRAE Guideline 14 does (p = fitted parameters);
    ``autocorrelation`` is the lag-1 autocorrelation ρ of the residuals in time order and
    ``n_effective`` = n(1 − ρ)/(1 + ρ) the number of independent points they are worth (ρ < 0 is
    counted as 0, which never makes the savings look more certain than independent residuals).
    """

    n: int
    n_parameters: int
    mean_observed: float
    rmse: float
    cvrmse: float
    nmbe: float
    r2: float
    adjusted_r2: float
    autocorrelation: float
    n_effective: float

    def as_dict(self) -> dict:
        return asdict(self)


def lag1_autocorrelation(residuals: np.ndarray) -> float:
    """Lag-1 autocorrelation of residuals in time order (dimensionless, −1..1); 0 for fewer than 3."""
    residuals = np.asarray(residuals, dtype=float)
    if residuals.size < 3:
        return 0.0
    centred = residuals - residuals.mean()
    denominator = float(centred @ centred)
    if denominator == 0.0:
        return 0.0
    return float(centred[1:] @ centred[:-1]) / denominator


def effective_sample_size(n: int, autocorrelation: float) -> float:
    """n′ = n(1 − ρ)/(1 + ρ) (G14 Annex B); ρ ≤ 0 gives n′ = n (no credit for negative ρ)."""
    rho = max(0.0, min(autocorrelation, 0.999999))
    return n * (1.0 - rho) / (1.0 + rho)


def fit_statistics(observed: np.ndarray, predicted: np.ndarray, n_parameters: int) -> FitStatistics:
    """CV(RMSE), NMBE, R² and residual autocorrelation of predictions against observations.

    ``observed`` and ``predicted`` are in time order and in the same unit (e.g. kWh per day);
    ``n_parameters`` counts every fitted coefficient including intercepts and balance points' slopes.
    """
    observed = np.asarray(observed, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if observed.shape != predicted.shape:
        raise FacmonError(f"observed ({observed.shape}) and predicted ({predicted.shape}) values differ in length")
    n = int(observed.size)
    if n <= n_parameters:
        raise FacmonError(f"{n} baseline points cannot support a model of {n_parameters} parameters")
    residuals = observed - predicted
    mean_observed = float(observed.mean())
    sse = float(residuals @ residuals)
    sst = float(((observed - mean_observed) ** 2).sum())
    degrees_of_freedom = n - n_parameters
    rmse = (sse / degrees_of_freedom) ** 0.5
    scale = mean_observed if mean_observed != 0.0 else float("nan")
    r2 = 1.0 - sse / sst if sst > 0 else 0.0
    adjusted_r2 = 1.0 - (sse / degrees_of_freedom) / (sst / (n - 1)) if sst > 0 else 0.0
    rho = lag1_autocorrelation(residuals)
    return FitStatistics(
        n=n,
        n_parameters=int(n_parameters),
        mean_observed=mean_observed,
        rmse=rmse,
        cvrmse=rmse / scale,
        nmbe=float(residuals.sum()) / (degrees_of_freedom * scale),
        r2=r2,
        adjusted_r2=adjusted_r2,
        autocorrelation=rho,
        n_effective=effective_sample_size(n, rho),
    )


def t_quantile(confidence: float, degrees_of_freedom: float) -> float:
    """Two-sided Student t value for a confidence level (0.68 → ≈ 1.0, 0.95 with 10 df → 2.228)."""
    if not 0.0 < confidence < 1.0:
        raise FacmonError(f"confidence must be between 0 and 1 (got {confidence})")
    return float(student_t.ppf(1.0 - (1.0 - confidence) / 2.0, degrees_of_freedom))


@lru_cache(maxsize=4096)
def significant_t(p_value_max: float, degrees_of_freedom: int) -> float:
    """The t statistic above which a positive coefficient's two-sided p-value is below ``p_value_max``."""
    return float(student_t.isf(p_value_max / 2.0, degrees_of_freedom))


def two_sided_p_values(t_statistics: np.ndarray, degrees_of_freedom: int) -> np.ndarray:
    """p-values of t statistics (any shape) for a coefficient being different from zero."""
    # scipy.special.stdtr is the Student t CDF that scipy.stats.t.sf evaluates too, without the
    # distribution machinery's argument checks: those took 70 % of a daily baseline's fit time.
    return 2.0 * stdtr(degrees_of_freedom, -np.abs(np.asarray(t_statistics, dtype=float)))
