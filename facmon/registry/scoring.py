"""Scorecard rules: the energy score's weights and points rules (registry section
``energy_targets.scoring``, analytics/energy_score.py) and the vendor maintenance-quality score's
(registry section ``vendor_scoring``, analytics/vendor_score.py).

Defaults from facmon/standards.py (docs/standards.md#metering-data-model, #indoor-environment,
#outsourced-services) where a KPI exists, engineering choices otherwise; all configurable."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from facmon.registry.common import Entry, check_weights_sum_to_one
from facmon.standards import EQUIPMENT_GOOD_ORDER_MIN_SHARE, REPAIR_TIMELINESS_MIN_SHARE, SATISFACTION_MIN_SHARE, Severity

# The energy-score components, in display order (analytics/energy_score.py).
SCORE_COMPONENTS = ("intensity", "plan", "savings", "after_hours", "completeness")


class ScoreWeights(Entry):
    """Weights of the energy-score components; they must sum to 1."""

    intensity: float = Field(0.30, ge=0, le=1, description="corrected EUI against the GB/T 51161 guide and constraint values")
    plan: float = Field(0.25, ge=0, le=1, description="progress of kgce/m² against the plan's reduction for the year")
    savings: float = Field(0.20, ge=0, le=1, description="weather-normalised savings (IPMVP Option C)")
    after_hours: float = Field(0.15, ge=0, le=1, description="share of electricity used outside working hours and on rest days")
    completeness: float = Field(0.10, ge=0, le=1, description="share of expected meter intervals measured")

    @model_validator(mode="after")
    def _sum_to_one(self) -> ScoreWeights:
        check_weights_sum_to_one(self, SCORE_COMPONENTS, "score")
        return self


class Scoring(Entry):
    """How each energy-score component turns its value into points (engineering defaults, not from a standard)."""

    weights: ScoreWeights = Field(default_factory=ScoreWeights, description="weights of the components; they sum to 1")
    intensity_zero_above_constraint: float = Field(0.20, gt=0, le=2, description="EUI this fraction above the constraint value scores 0")
    after_hours_target_share: float = Field(0.35, gt=0, lt=1, description="after-hours share at or below this scores full points")
    after_hours_zero_share: float = Field(0.60, gt=0, le=1, description="after-hours share at or above this scores 0")
    savings_target_fraction: float = Field(0.05, gt=0, lt=1, description="weather-normalised savings fraction scoring full points")
    # docs/standards.md#metering-data-model (M): national key energy-user monitoring system asks for ≥ 90 % of expected intervals.
    completeness_target: float = Field(0.90, gt=0, le=1, description="completeness at or above this scores full points")
    completeness_zero: float = Field(0.50, ge=0, lt=1, description="completeness at or below this scores 0")
    # An engineering choice: a few days annualised say little about a year (a week carries its
    # weather and its holidays); about a month is the least the statistics offices report.
    # An engineering choice: a score resting on after-hours share and data completeness alone says
    # nothing about how much energy a building uses, yet would reach 100; half the weight is the least
    # that carries a measure of consumption (intensity 0.30 + after hours 0.15 + completeness 0.10).
    min_scored_weight: float = Field(
        0.5,
        gt=0,
        le=1,
        description="a building is scored only when components with at least this share of the weights are available; "
        "below it, it is listed unscored with the reason",
    )
    min_days_annualised: int = Field(
        28,
        ge=1,
        le=366,
        description="an annual figure annualised from fewer days of data is flagged as a poor estimate in tables, JSON and dashboards",
    )

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Scoring:
        if self.after_hours_zero_share <= self.after_hours_target_share:
            raise ValueError(
                f"after_hours_zero_share {self.after_hours_zero_share:g} "
                f"must exceed after_hours_target_share {self.after_hours_target_share:g}"
            )
        if self.completeness_zero >= self.completeness_target:
            raise ValueError(f"completeness_zero {self.completeness_zero:g} must be below completeness_target {self.completeness_target:g}")
        return self


# ---------------------------------------------------------------------------------------------
# Vendor maintenance-quality score: weights and points rules (analytics/vendor_score.py). Defaults from
# facmon/standards.py (docs/standards.md#indoor-environment, #outsourced-services) where a KPI exists,
# engineering choices otherwise; all configurable.


# The vendor-score components, in display order, and how tables and pages call them.
VENDOR_COMPONENT_LABELS = {
    "sla_compliance": "SLA compliance",
    "restore_time": "time to restore vs SLA",
    "onsite_timeliness": "on site within SLA (work orders)",
    "fault_rate": "faults per device",
    "repeat_faults": "repeat faults",
    "availability": "equipment availability",
    "ieq": "IEQ in occupied hours",
    "completeness": "data completeness",
    "satisfaction": "return-visit satisfaction",
}
VENDOR_SCORE_COMPONENTS = tuple(VENDOR_COMPONENT_LABELS)


class VendorScoreWeights(Entry):
    """Weights of the vendor-score components; they must sum to 1."""

    sla_compliance: float = Field(0.20, ge=0, le=1, description="share of faults restored within the SLA restore_min of their severity")
    restore_time: float = Field(0.10, ge=0, le=1, description="mean time to restore as a multiple of the SLA restore_min")
    onsite_timeliness: float = Field(
        0.10, ge=0, le=1, description="share of work orders the vendor reached on site within the SLA onsite_min (work orders)"
    )
    fault_rate: float = Field(0.10, ge=0, le=1, description="severity-weighted faults per maintained device per 30 days")
    repeat_faults: float = Field(0.10, ge=0, le=1, description="share of faults reopening on the same target within the repeat window")
    availability: float = Field(0.15, ge=0, le=1, description="share of time the maintained equipment had no active fault")
    ieq: float = Field(0.10, ge=0, le=1, description="GB/T 18883 compliance in occupied hours (vendors covering indoor_environment)")
    completeness: float = Field(0.10, ge=0, le=1, description="data completeness of the maintained devices")
    satisfaction: float = Field(0.05, ge=0, le=1, description="share of return visits (回访) of repair requests rated 4 or 5 of 5")

    @model_validator(mode="after")
    def _sum_to_one(self) -> VendorScoreWeights:
        check_weights_sum_to_one(self, VENDOR_SCORE_COMPONENTS, "vendor score")
        return self


def _default_severity_weights() -> dict[Severity, float]:
    return {Severity.CRITICAL: 3.0, Severity.MAJOR: 2.0, Severity.MINOR: 1.0}


class VendorScoring(Entry):
    """How each vendor-score component turns its value into points; linear between the full and zero marks."""

    weights: VendorScoreWeights = Field(default_factory=VendorScoreWeights, description="weights of the components; they sum to 1")
    # docs/standards.md#outsourced-services (M/L): repair timeliness ≥ 95 %.
    sla_compliance_target: float = Field(
        REPAIR_TIMELINESS_MIN_SHARE, gt=0, le=1, description="SLA compliance at or above this scores full points"
    )
    sla_compliance_zero: float = Field(0.70, ge=0, lt=1, description="SLA compliance at or below this scores 0")
    onsite_timeliness_target: float = Field(
        REPAIR_TIMELINESS_MIN_SHARE,
        gt=0,
        le=1,
        description="share of on-site arrivals within onsite_min at or above this scores full points",
    )
    onsite_timeliness_zero: float = Field(0.70, ge=0, lt=1, description="on-site timeliness at or below this scores 0")
    # docs/standards.md#outsourced-services (M/L): satisfaction ≥ 85–95 %.
    satisfaction_target: float = Field(
        SATISFACTION_MIN_SHARE, gt=0, le=1, description="share of satisfied return visits (4-5 of 5) at or above this scores full points"
    )
    satisfaction_zero: float = Field(0.60, ge=0, lt=1, description="satisfied share at or below this scores 0")
    satisfaction_min_visits: int = Field(
        3, ge=1, description="fewer return visits than this in a period: satisfaction unavailable (too few to judge)"
    )
    restore_ratio_full: float = Field(0.5, gt=0, description="mean restore time ÷ SLA restore_min at or below this scores full points")
    restore_ratio_zero: float = Field(1.5, gt=0, description="mean restore time ÷ SLA restore_min at or above this scores 0")
    severity_weights: dict[Severity, Annotated[float, Field(ge=0)]] = Field(
        default_factory=_default_severity_weights, description="weight of one fault per severity in fault_rate"
    )
    fault_rate_full: float = Field(
        0.05, ge=0, description="weighted faults per maintained device per 30 days at or below this scores full points"
    )
    fault_rate_zero: float = Field(0.50, gt=0, description="weighted faults per maintained device per 30 days at or above this scores 0")
    repeat_window_days: float = Field(
        7.0, gt=0, le=90, description="a fault opening this soon after the same target's same fault cleared is a repeat"
    )
    repeat_share_zero: float = Field(0.25, gt=0, le=1, description="share of repeat faults at or above this scores 0 (none scores full)")
    # docs/standards.md#outsourced-services (M/L): equipment in good order (设备完好率) ≥ 98 %.
    availability_target: float = Field(
        EQUIPMENT_GOOD_ORDER_MIN_SHARE, gt=0, le=1, description="availability at or above this scores full points"
    )
    availability_zero: float = Field(0.90, ge=0, lt=1, description="availability at or below this scores 0")
    ieq_target: float = Field(0.95, gt=0, le=1, description="share of occupied sensor-hours within GB/T 18883 bands scoring full points")
    ieq_zero: float = Field(0.70, ge=0, lt=1, description="IEQ compliance at or below this scores 0")
    ieq_summer_months: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        default_factory=lambda: [6, 7, 8, 9], description="months judged by the summer bands"
    )
    ieq_winter_months: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        default_factory=lambda: [12, 1, 2], description="months judged by the winter bands; other months by their union"
    )
    # docs/standards.md#metering-data-model (M): ≥ 90 % of expected intervals.
    completeness_target: float = Field(0.90, gt=0, le=1, description="completeness at or above this scores full points")
    completeness_zero: float = Field(0.50, ge=0, lt=1, description="completeness at or below this scores 0")

    @model_validator(mode="after")
    def _marks_in_order(self) -> VendorScoring:
        for name, full, zero, higher_is_better in (
            ("sla_compliance", self.sla_compliance_target, self.sla_compliance_zero, True),
            ("onsite_timeliness", self.onsite_timeliness_target, self.onsite_timeliness_zero, True),
            ("satisfaction", self.satisfaction_target, self.satisfaction_zero, True),
            ("restore_ratio", self.restore_ratio_full, self.restore_ratio_zero, False),
            ("fault_rate", self.fault_rate_full, self.fault_rate_zero, False),
            ("availability", self.availability_target, self.availability_zero, True),
            ("ieq", self.ieq_target, self.ieq_zero, True),
            ("completeness", self.completeness_target, self.completeness_zero, True),
        ):
            if (full <= zero) if higher_is_better else (full >= zero):
                relation = "above" if higher_is_better else "below"
                raise ValueError(f"{name}: the full-points mark {full:g} must be {relation} the zero mark {zero:g}")
        missing = [s.value for s in Severity if s not in self.severity_weights]
        if missing:
            raise ValueError(f"severity_weights needs every severity; missing {', '.join(missing)}")
        overlap = sorted(set(self.ieq_summer_months) & set(self.ieq_winter_months))
        if overlap:
            raise ValueError(f"months {overlap} are both summer and winter months")
        return self
