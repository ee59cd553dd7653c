"""The ``vendor_assessment`` measurement: the combined vendor assessment (综合考核) per vendor and period,
written by the work-order service's assessment (workorders/assessment.py) for the vendor scorecard dashboard.

One point per vendor and period, stamped at the period's local start (a rerun overwrites it). Tags:
``vendor``, ``period`` (``2026-11``, ``2026-Q3``, ``2026``). Fields: ``score`` (0..100, to 0.1),
``grade`` and ``grade_label`` (strings), ``failing``, ``warning`` and ``not_renew`` (1.0/0.0),
``standing`` (good_standing, warned, not_recommended), ``failing_run``, ``deduction`` (CNY; absent
without a contract fee), ``deduction_percent``, and per part (measured, inspections, satisfaction,
third_party) ``<part>_score`` (when available), ``<part>_weight`` (effective), ``<part>_available``.
An ungraded vendor has no point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from facmon.schema.names import VENDOR_ASSESSMENT
from facmon.store import line

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class AssessmentPoint:
    """One ``vendor_assessment`` point; ``parts``: part -> (score or None, effective weight)."""

    vendor: str
    period: str
    start_s: int
    score: float
    grade: str
    grade_label: str
    failing: bool
    warning: bool
    not_renew: bool
    standing: str
    failing_run: int
    deduction_percent: float
    deduction_cny: float | None
    parts: Mapping[str, tuple[float | None, float]]


def vendor_assessment_line(point: AssessmentPoint) -> str:
    """The point as line protocol (scores to 4 decimals, weights to 6, deductions to 2)."""
    fields: dict[str, float | str] = {
        "score": round(point.score, 4),
        "grade": point.grade,
        "grade_label": point.grade_label,
        "failing": 1.0 if point.failing else 0.0,
        "warning": 1.0 if point.warning else 0.0,
        "not_renew": 1.0 if point.not_renew else 0.0,
        "standing": point.standing,
        "failing_run": float(point.failing_run),
        "deduction_percent": float(point.deduction_percent),
    }
    if point.deduction_cny is not None:
        fields["deduction"] = round(point.deduction_cny, 2)
    for part, (score, weight) in point.parts.items():
        fields[f"{part}_available"] = 0.0 if score is None else 1.0
        fields[f"{part}_weight"] = round(weight, 6)
        if score is not None:
            fields[f"{part}_score"] = round(score, 4)
    return line(VENDOR_ASSESSMENT, {"vendor": point.vendor, "period": point.period}, fields, int(point.start_s) * NS_PER_S)
