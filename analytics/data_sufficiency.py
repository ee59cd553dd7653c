"""Is there enough baseline data for a baseline model? (CalTRACK 2.0 §2.2, docs/standards.md#measurement-and-verification)

A full baseline covers at least 365 days with at least 90 % of its points valid (load and temperature
both present). Models are still fitted on less, but the result says so: M&V on a short baseline is a
different claim from M&V on a full year.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from facmon.standards import MV_BASELINE_MIN_DAYS, MV_BASELINE_MIN_VALID_FRACTION


@dataclass(frozen=True)
class DataSufficiency:
    """Coverage of a baseline period: its span in days, valid points out of expected, and the verdict."""

    period_days: int
    expected_points: int
    valid_points: int
    valid_fraction: float
    sufficient: bool
    issues: tuple[str, ...]

    def as_dict(self) -> dict:
        body = asdict(self)
        body["issues"] = list(self.issues)
        return body


def baseline_sufficiency(
    days: np.ndarray,
    valid: np.ndarray,
    points_per_day: int = 1,
    *,
    min_days: int = MV_BASELINE_MIN_DAYS,
    min_valid_fraction: float = MV_BASELINE_MIN_VALID_FRACTION,
) -> DataSufficiency:
    """Judge a baseline from the calendar day of each point and whether the point is usable.

    ``days``: the local calendar day of every point (datetime64[D] or dates), ``valid``: True where
    load and temperature are both present; ``points_per_day``: 1 for daily, 24 for hourly data. The
    period runs from the first to the last day given, so missing days inside it count as invalid.
    """
    days = np.asarray(days, dtype="datetime64[D]")
    valid = np.asarray(valid, dtype=bool)
    if days.size == 0:
        return DataSufficiency(0, 0, 0, 0.0, False, ("no baseline data",))
    period_days = int((days.max() - days.min()).astype(int)) + 1
    expected = period_days * points_per_day
    valid_points = int(valid.sum())
    fraction = valid_points / expected
    issues = []
    if period_days < min_days:
        issues.append(f"baseline covers {period_days} days, fewer than the {min_days} a full baseline needs")
    if fraction < min_valid_fraction:
        issues.append(f"only {fraction:.1%} of baseline points are valid (load and temperature), below {min_valid_fraction:.0%}")
    return DataSufficiency(period_days, expected, valid_points, fraction, not issues, tuple(issues))
