"""The combined vendor assessment (综合考核) of a period from stored records: inspections, surveys and
third-party scores from PostgreSQL, the measured vendor score from InfluxDB (``score_vendor``), combined by
:mod:`.combined_score`; the dynamic vendor list over the periods before; closing a period; the
``vendor_assessment`` points for the dashboard.

`facmon score vendors --combined`, the web page and the JSON API all call :func:`assess`, so they show the
same figures, and any of them can be rerun from the stored records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from facmon.periods import Period, PeriodError, parse_period
from facmon.registry import ASSESSMENT_PARTS, Site, Vendor
from facmon.schema.assessment import AssessmentPoint, vendor_assessment_line
from facmon.schema.names import SCORE_VENDOR
from facmon.schema.scores import stored_vendor_score
from facmon.store import InfluxStore, quote_identifier, quote_string
from facmon.workorders import combined_score as cs
from facmon.workorders.models import Amendment, Inspection, PeriodClosure, Survey, ThirdPartyScore

# How far back the dynamic list looks for a run of failing periods (periods of the assessed kind).
HISTORY_PERIODS = 24

MEASURED_LABELS = {
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


class AssessmentRefused(ValueError):
    """An assessment action that cannot be done (closing twice, a period not over, ...), explained."""


# ---------------------------------------------------------------------------------------------
# Records of one vendor and period


def inspection_records(vendor: str, period: Period) -> list[cs.InspectionRecord]:
    """The vendor's inspections on days of ``period``, oldest first."""
    found = (
        Inspection.objects.filter(vendor=vendor, day__gte=period.start, day__lt=period.end).order_by("day", "id").prefetch_related("items")
    )
    return [
        cs.InspectionRecord(
            i.pk,
            i.day,
            i.building,
            i.checklist,
            i.checklist_name,
            i.kind,
            i.inspector,
            [cs.ItemScore(item.item, item.text, item.points, item.awarded, item.note) for item in i.items.all()],
            i.simulated,
        )
        for i in found
    ]


def _within(label: str, period: Period) -> bool:
    try:
        inner = parse_period(label)
    except PeriodError:
        return False
    return period.start <= inner.start and inner.end <= period.end


def survey_records(vendor: str, period: Period) -> list[cs.SurveyRecord]:
    """The vendor's surveys for ``period`` or for months/quarters inside it, with their answers."""
    records = []
    for survey in Survey.objects.filter(vendor=vendor).order_by("id").prefetch_related("responses"):
        if not _within(survey.period, period):
            continue
        responses = list(survey.responses.all())
        questions = [
            cs.SurveyQuestionResult(
                q["id"], q["text"], q["scale"], [int(r.answers[q["id"]]) for r in responses if r.answers.get(q["id"]) is not None]
            )
            for q in survey.questions
        ]
        records.append(cs.SurveyRecord(survey.pk, survey.building, survey.links.count(), len(responses), questions, survey.simulated))
    return records


def third_party_record(vendor: str, period: Period) -> cs.ThirdPartyRecord | None:
    """The third party's score for exactly ``period``; else the mean of its scores for periods inside it."""
    rows = [r for r in ThirdPartyScore.objects.filter(vendor=vendor).order_by("period") if _within(r.period, period)]
    exact = [r for r in rows if r.period == period.label]
    if exact:
        r = exact[0]
        return cs.ThirdPartyRecord(r.score, r.assessor, r.note, r.source)
    if not rows:
        return None
    assessors = ", ".join(sorted({r.assessor for r in rows}))
    periods = ", ".join(r.period for r in rows)
    return cs.ThirdPartyRecord(sum(r.score for r in rows) / len(rows), assessors, f"mean of {periods}", "")


def measured_record(store: InfluxStore, vendor: str, period: Period) -> cs.MeasuredRecord | None:
    stored = stored_vendor_score(store, vendor, period.label)
    return None if stored is None else cs.MeasuredRecord(stored.score, stored.breaches, dict(stored.components))


def assess_vendor(site: Site, store: InfluxStore, vendor: Vendor, period: Period) -> cs.VendorAssessmentResult:
    """One vendor's combined result for ``period`` (without its consequence: that needs the periods before)."""
    rules = site.vendor_assessment
    w = rules.weights
    parts = [
        cs.measured_part(measured_record(store, vendor.id, period), w.measured, period.label, MEASURED_LABELS),
        cs.inspections_part(inspection_records(vendor.id, period), w.inspections),
        cs.satisfaction_part(survey_records(vendor.id, period), w.satisfaction, rules),
        cs.third_party_part(third_party_record(vendor.id, period), w.third_party),
    ]
    return cs.combine(vendor.id, vendor.name, period.label, parts, rules)


# ---------------------------------------------------------------------------------------------
# The period's card: every vendor, the consequences, the dynamic list


@dataclass
class HistoryEntry:
    period: str
    score: float | None
    grade_label: str | None
    standing: str
    reason: str


@dataclass
class AssessmentCard:
    """Every vendor's combined assessment for one period, with its standing and history."""

    site: str
    period: Period
    weights: dict[str, float]
    grades: list[dict]
    vendors: list[cs.VendorAssessmentResult]
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    closed: dict | None = None  # who closed the period and when, or None while open
    amendments: list[dict] = field(default_factory=list)

    def vendor(self, vendor_id: str) -> cs.VendorAssessmentResult | None:
        return next((v for v in self.vendors if v.vendor == vendor_id), None)

    def as_dict(self, vendors: list[str] | None = None) -> dict:
        """JSON of the card; ``vendors`` limits it to those vendors (a vendor sees only its own)."""
        shown = [v for v in self.vendors if vendors is None or v.vendor in vendors]
        return {
            "site": self.site,
            "period": self.period.label,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "weights": self.weights,
            "grades": self.grades,
            "closed": self.closed,
            "vendors": [v.as_dict() for v in shown],
            "history": {v.vendor: [e.__dict__ for e in self.history.get(v.vendor, [])] for v in shown},
            "amendments": [a for a in self.amendments if vendors is None or a["vendor"] in vendors],
        }


def history_periods(store: InfluxStore, vendor: str, period: Period) -> list[Period]:
    """The periods of ``period``'s kind up to and including it, oldest first, from the first with any record
    of the vendor (an inspection, a survey, a third-party or a stored measured score), at most HISTORY_PERIODS."""
    starts = list(Inspection.objects.filter(vendor=vendor).order_by("day").values_list("day", flat=True)[:1])
    labels = list(Survey.objects.filter(vendor=vendor).values_list("period", flat=True))
    labels += list(ThirdPartyScore.objects.filter(vendor=vendor).values_list("period", flat=True))
    rows = store.query(f'SHOW TAG VALUES FROM {quote_identifier(SCORE_VENDOR)} WITH KEY = "period" WHERE "vendor" = {quote_string(vendor)}')
    labels += [value for series in rows for _, value in series.get("values", [])]
    for label in labels:
        try:
            starts.append(parse_period(label).start)
        except PeriodError:
            continue
    earliest = min(starts, default=period.start)
    periods = [period]
    while len(periods) < HISTORY_PERIODS and periods[-1].start > earliest:
        periods.append(periods[-1].previous())
    return periods[::-1]


def assess(site: Site, store: InfluxStore, period: Period) -> AssessmentCard:
    """Every vendor's combined assessment for ``period``, its contract consequence and the dynamic list's
    history of periods of the same kind before it."""
    if period.kind == "twelve_months":
        raise PeriodError("the combined assessment is given per month, quarter or year")
    rules = site.vendor_assessment
    results = []
    history: dict[str, list[HistoryEntry]] = {}
    for vendor in site.vendors:
        earlier = [assess_vendor(site, store, vendor, p) for p in history_periods(store, vendor.id, period)[:-1]]
        result = assess_vendor(site, store, vendor, period)
        sequence = [*earlier, result]
        steps = cs.standings(
            [(r.period, r.failing if r.score is not None else None) for r in sequence], vendor.contract.not_renew_after_failing_periods
        )
        history[vendor.id] = [
            HistoryEntry(r.period, r.score, r.grade_label, standing.value, reason)
            for r, (_, _, standing, reason) in zip(sequence, steps, strict=True)
        ]
        if result.score is not None:
            _, run, standing, reason = steps[-1]
            result.consequence = cs.consequence(result, period.months, vendor.contract, run, standing, reason)
        results.append(result)
    results.sort(key=lambda r: (r.score is None, -(r.score or 0.0), r.vendor))
    closure = PeriodClosure.objects.filter(period=period.label).first()
    amendments = [
        {
            "at": a.at.isoformat(),
            "by": a.by,
            "reason": a.reason,
            "record": a.record,
            "vendor": a.vendor,
            "before": a.before,
            "after": a.after,
        }
        for a in Amendment.objects.filter(period=period.label)
    ]
    return AssessmentCard(
        site.site.name,
        period,
        {name: getattr(rules.weights, name) for name in ASSESSMENT_PARTS},
        [{"id": g.id, "label": g.label, "min_score": g.min_score, "failing": g.failing} for g in rules.grades],
        results,
        history,
        None if closure is None else {"by": closure.closed_by, "at": closure.closed_at.isoformat()},
        amendments,
    )


# ---------------------------------------------------------------------------------------------
# Closing a period; the dashboard's points


def closed_period_of(day_or_label: Period) -> PeriodClosure | None:
    """The closure of a closed period that holds ``day_or_label`` (a period), or None."""
    for closure in PeriodClosure.objects.all():
        if closure.start <= day_or_label.start and day_or_label.end <= closure.end:
            return closure
    return None


def close_period(site: Site, store: InfluxStore, period: Period, by: str, at: datetime) -> AssessmentCard:
    """Close ``period``: from now on its inspections, surveys and third-party scores change only through
    amendments, and the assessment as it stands is kept with the closure (the published figures)."""
    if at.astimezone(site.site.tz).date() < period.end:
        raise AssessmentRefused(f"period {period.label} is not over before {period.end.isoformat()}: it cannot be closed yet")
    with transaction.atomic():
        if PeriodClosure.objects.select_for_update().filter(period=period.label).exists():
            raise AssessmentRefused(f"period {period.label} is already closed")
        card = assess(site, store, period)
        PeriodClosure.objects.create(
            period=period.label, start=period.start, end=period.end, closed_by=by, closed_at=at, results=card.as_dict()
        )
    return assess(site, store, period)


def assessment_lines(card: AssessmentCard, timezone: str) -> list[str]:
    """``vendor_assessment`` points of the card's graded vendors."""
    start_s, _ = card.period.bounds_utc_s(timezone)
    lines = []
    for result in card.vendors:
        if result.score is None or result.consequence is None or result.grade is None or result.grade_label is None:
            continue
        c = result.consequence
        point = AssessmentPoint(
            vendor=result.vendor,
            period=card.period.label,
            start_s=start_s,
            score=result.score,
            grade=result.grade,
            grade_label=result.grade_label,
            failing=result.failing,
            warning=c.warning,
            not_renew=c.not_renew,
            standing=c.standing.value,
            failing_run=c.failing_run,
            deduction_percent=c.deduction_percent,
            deduction_cny=c.deduction_cny,
            parts={p.part: (p.score, p.effective_weight) for p in result.parts},
        )
        lines.append(vendor_assessment_line(point))
    return lines


def write_assessments(store: InfluxStore, card: AssessmentCard, timezone: str) -> int:
    """Write the card's ``vendor_assessment`` points; returns how many."""
    lines = assessment_lines(card, timezone)
    store.write(lines)
    return len(lines)
