"""The weekly anomaly review (registry section ``anomalies``, used by analytics/anomalies.py)."""

from __future__ import annotations

from datetime import time

from pydantic import Field, model_validator

from facmon.registry.common import Entry


class AnomalyReview(Entry):
    """The weekly anomaly review (analytics/anomalies.py): data-driven, for people to read, never paged.

    Engineering defaults (L); every one can be set in the registry's ``anomalies:`` section."""

    baseline_weeks: int = Field(8, ge=2, le=52, description="weeks before the review week on which the hourly TOWT baseline is fitted")
    z_threshold: float = Field(
        4.0,
        gt=0,
        description="an hour is anomalous when its residual is this many robust standard deviations (1.4826 MAD) "
        "from its hour of week's baseline residuals",
    )
    min_hours: int = Field(2, ge=1, description="consecutive anomalous hours (same sign) for an anomaly to be listed")
    scale_floor_share: float = Field(
        0.02,
        ge=0,
        description="smallest residual scale, share of the mean hourly load, so a very regular hour of week "
        "does not turn meter resolution into anomalies",
    )
    isolation_forest: bool = Field(
        True, description="rank anomalies by an IsolationForest on (residual z, temperature, load) fitted on the baseline weeks"
    )
    night_start: time = Field(time(1, 0), description="local start of the night window for the night base load")
    night_end: time = Field(time(5, 0), description="local end of the night window")
    creep_weeks: int = Field(6, ge=2, le=26, description="weeks of nightly minima (ending with the review week) whose trend is judged")
    creep_min_share_per_week: float = Field(
        0.01, gt=0, description="night base load rising by at least this share of itself per week is listed (Theil-Sen slope)"
    )
    creep_min_night_share: float = Field(
        0.75, gt=0, le=1, description="share of the window's nights with a complete night window needed to judge a trend"
    )

    @model_validator(mode="after")
    def _whole_hour_night(self) -> AnomalyReview:
        if self.night_start.minute or self.night_end.minute or not self.night_start < self.night_end:
            raise ValueError(
                f"night_start {self.night_start} and night_end {self.night_end} must be whole hours, "
                "the start before the end (one night window within a day)"
            )
        return self
