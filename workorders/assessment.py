"""The combined vendor assessment (综合考核) of a period from stored records: inspections, surveys and
third-party scores from PostgreSQL, the measured vendor score from InfluxDB (``score_vendor``), combined by
:mod:`.combined_score`; the dynamic vendor list over the periods before; closing a period; the
``vendor_assessment`` points for the dashboard.

`facmon score vendors --combined`, the web page and the JSON API all call :func:`assess`, so they show the
same figures, and any of them can be rerun from the stored records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Count

from facmon.periods import Period, PeriodError, current_month, last_complete_month, month_period, parse_period, quarter_period
from facmon.registry import ASSESSMENT_PARTS, VENDOR_COMPONENT_LABELS, ContractTerms, Site, VendorAssessment
from facmon.schema.assessment import AssessmentPoint, vendor_assessment_line
from facmon.schema.names import SCORE_VENDOR, VENDOR_ASSESSMENT
from facmon.schema.scores import stored_vendor_score
from facmon.store import InfluxStore, quote_identifier, quote_string
from facmon.workorders import combined_score as cs
from facmon.workorders.closures import lock_assessment_records
from facmon.workorders.models import Amendment, Inspection, PeriodClosure, Survey, ThirdPartyScore

# The dynamic list looks back to the first period with a record, but never before this (a mistyped date).
EARLIEST = date(2000, 1, 1)


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


def labels_inside(period: Period) -> list[str]:
    """The labels of the period itself and of the quarters and months inside it."""
    labels = [period.label]
    if period.kind == "year":
        labels += [quarter_period(period.year, q).label for q in range(1, 5)]
    if period.kind in ("year", "quarter"):
        first = period.start.month
        labels += [month_period(period.year, m).label for m in range(first, first + period.months)]
    return labels


def survey_records(vendor: str, period: Period) -> list[cs.SurveyRecord]:
    """The vendor's surveys for ``period`` or for the quarters and months inside it, with their answers."""
    records = []
    found = (
        Survey.objects.filter(vendor=vendor, period__in=labels_inside(period))
        .annotate(issued=Count("links", distinct=True))
        .order_by("id")
        .prefetch_related("responses")
    )
    for survey in found:
        responses = list(survey.responses.all())
        questions = [
            cs.SurveyQuestionResult(
                q["id"], q["text"], q["scale"], [int(r.answers[q["id"]]) for r in responses if r.answers.get(q["id"]) is not None]
            )
            for q in survey.questions
        ]
        records.append(cs.SurveyRecord(survey.pk, survey.building, survey.issued, len(responses), questions, survey.simulated))
    return records


def third_party_record(vendor: str, period: Period) -> cs.ThirdPartyRecord | None:
    """The third party's score for exactly ``period``; else the mean of its scores for the quarters inside it;
    else for the months inside it (never quarters and months together, which would count a month twice)."""
    rows = {r.period: r for r in ThirdPartyScore.objects.filter(vendor=vendor, period__in=labels_inside(period))}
    if period.label in rows:
        r = rows[period.label]
        return cs.ThirdPartyRecord(r.score, r.assessor, r.note, r.source)
    for kind in ("quarter", "month"):
        inside = [r for label, r in sorted(rows.items()) if parse_period(label).kind == kind]
        if inside:
            assessors = ", ".join(sorted({r.assessor for r in inside}))
            labels = ", ".join(r.period for r in inside)
            return cs.ThirdPartyRecord(sum(r.score for r in inside) / len(inside), assessors, f"mean of {labels}", f"mean of {labels}")
    return None


def measured_record(store: InfluxStore, vendor: str, period: Period) -> cs.MeasuredRecord | None:
    stored = stored_vendor_score(store, vendor, period.label)
    return None if stored is None else cs.MeasuredRecord(stored.score, stored.breaches, dict(stored.components))


# ---------------------------------------------------------------------------------------------
# What a period is assessed against: the registry and the stored measured scores while it is open,
# the copy kept at closing once it is closed (a later rerun of `facmon score vendors` or a change of the
# registry's weights, grades or contracts does not rewrite a closed period; amendments of its records do)


@dataclass
class PeriodBasis:
    rules: VendorAssessment
    vendors: dict[str, tuple[str, ContractTerms]]  # vendor id -> (name, contract terms)
    measured: dict[str, cs.MeasuredRecord | None]
    closure: PeriodClosure | None = None


def _measured_json(record: cs.MeasuredRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"score": record.score, "breaches": record.breaches, "components": {k: list(v) for k, v in record.components.items()}}


def _measured_of(kept: dict[str, Any] | None) -> cs.MeasuredRecord | None:
    if kept is None:
        return None
    components = {k: (float(v[0]), float(v[1])) for k, v in kept["components"].items()}
    return cs.MeasuredRecord(float(kept["score"]), int(kept["breaches"]), components)


def live_basis(site: Site, store: InfluxStore, period: Period) -> PeriodBasis:
    """The registry as it is and the stored measured scores."""
    return PeriodBasis(
        site.vendor_assessment,
        {v.id: (v.name, v.contract) for v in site.vendors},
        {v.id: measured_record(store, v.id, period) for v in site.vendors},
    )


def basis_inputs(basis: PeriodBasis) -> dict[str, Any]:
    """The basis as kept with a closure (JSON)."""
    return {
        "rules": basis.rules.model_dump(mode="json"),
        "vendors": {v: {"name": name, "contract": terms.model_dump(mode="json")} for v, (name, terms) in basis.vendors.items()},
        "measured": {v: _measured_json(record) for v, record in basis.measured.items()},
    }


def period_basis(site: Site, store: InfluxStore, period: Period) -> PeriodBasis:
    """What ``period`` is assessed against: the copy kept at its closing, else the live registry and store."""
    closure = PeriodClosure.objects.filter(period=period.label).first()
    if closure is None:
        return live_basis(site, store, period)
    kept = closure.inputs
    return PeriodBasis(
        VendorAssessment.model_validate(kept["rules"]),
        {v: (entry["name"], ContractTerms.model_validate(entry["contract"])) for v, entry in kept["vendors"].items()},
        {v: _measured_of(record) for v, record in kept["measured"].items()},
        closure,
    )


def assess_vendor(basis: PeriodBasis, vendor: str, period: Period) -> cs.VendorAssessmentResult:
    """One vendor's combined result for ``period`` (without its consequence: that needs the periods before)."""
    rules = basis.rules
    w = rules.weights
    name = basis.vendors[vendor][0] if vendor in basis.vendors else vendor
    parts = [
        cs.measured_part(basis.measured.get(vendor), w.measured, period.label, VENDOR_COMPONENT_LABELS),
        cs.inspections_part(inspection_records(vendor, period), w.inspections),
        cs.satisfaction_part(survey_records(vendor, period), w.satisfaction, rules),
        cs.third_party_part(third_party_record(vendor, period), w.third_party),
    ]
    return cs.combine(vendor, name, period.label, parts, rules)


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
    min_scored_weight: float = 0.5  # the rules' least share of the weights with evidence to be graded

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
            "min_scored_weight": self.min_scored_weight,
            "grades": self.grades,
            "closed": self.closed,
            "vendors": [v.as_dict() for v in shown],
            "history": {v.vendor: [e.__dict__ for e in self.history.get(v.vendor, [])] for v in shown},
            "amendments": [a for a in self.amendments if vendors is None or a["vendor"] in vendors],
        }


def history_periods(store: InfluxStore, vendor: str, period: Period) -> list[Period]:
    """The periods of ``period``'s kind up to and including it, oldest first, from the first with any record
    of the vendor (an inspection, a survey, a third-party or a stored measured score): a recommendation not
    to renew, once reached, stays however long ago it was."""
    starts = list(Inspection.objects.filter(vendor=vendor).order_by("day").values_list("day", flat=True)[:1])
    labels = list(Survey.objects.filter(vendor=vendor).values_list("period", flat=True).distinct())
    labels += list(ThirdPartyScore.objects.filter(vendor=vendor).values_list("period", flat=True))
    rows = store.query(f'SHOW TAG VALUES FROM {quote_identifier(SCORE_VENDOR)} WITH KEY = "period" WHERE "vendor" = {quote_string(vendor)}')
    labels += [value for series in rows for _, value in series.get("values", [])]
    for label in labels:
        try:
            starts.append(parse_period(label).start)
        except PeriodError:
            continue
    earliest = max(min(starts, default=period.start), EARLIEST)
    periods = [period]
    while periods[-1].start > earliest:
        periods.append(periods[-1].previous())
    return periods[::-1]


def assess(site: Site, store: InfluxStore, period: Period) -> AssessmentCard:
    """Every vendor's combined assessment for ``period``, its contract consequence and the dynamic list's
    history of periods of the same kind before it. A closed period is assessed against the registry and
    measured scores kept at its closing; an open one against the live registry and store."""
    if period.kind == "twelve_months":
        raise PeriodError("the combined assessment is given per month, quarter or year")
    bases: dict[str, PeriodBasis] = {}

    def basis_of(p: Period) -> PeriodBasis:
        if p.label not in bases:
            bases[p.label] = period_basis(site, store, p)
        return bases[p.label]

    current = basis_of(period)
    results = []
    history: dict[str, list[HistoryEntry]] = {}
    for vendor, (_, contract) in current.vendors.items():
        sequence = []
        for p in history_periods(store, vendor, period):
            basis = basis_of(p)
            if vendor in basis.vendors:
                sequence.append(assess_vendor(basis, vendor, p))
        result = sequence[-1]
        steps = cs.standings(
            [(r.period, r.failing if r.score is not None else None) for r in sequence], contract.not_renew_after_failing_periods
        )
        history[vendor] = [
            HistoryEntry(r.period, r.score, r.grade_label, standing.value, reason)
            for r, (_, _, standing, reason) in zip(sequence, steps, strict=True)
        ]
        if result.score is not None:
            _, run, standing, reason = steps[-1]
            result.consequence = cs.consequence(result, period.months, contract, run, standing, reason)
        results.append(result)
    results.sort(key=lambda r: (r.score is None, -(r.score or 0.0), r.vendor))
    rules = current.rules
    amendments = [
        {"at": a.at.isoformat(), "by": a.by, "reason": a.reason, "record": a.record, "period": a.period, "vendor": a.vendor,
         "before": a.before, "after": a.after}
        for a in Amendment.objects.filter(period__in=labels_inside(period))
    ]  # fmt: skip
    closure = current.closure
    return AssessmentCard(
        site.site.name,
        period,
        {name: getattr(rules.weights, name) for name in ASSESSMENT_PARTS},
        [{"id": g.id, "label": g.label, "min_score": g.min_score, "failing": g.failing} for g in rules.grades],
        results,
        history,
        None if closure is None else {"by": closure.closed_by, "at": closure.closed_at.isoformat()},
        amendments,
        rules.min_scored_weight,
    )


# ---------------------------------------------------------------------------------------------
# Closing a period; the dashboard's points


def close_period(site: Site, store: InfluxStore, period: Period, by: str, at: datetime) -> AssessmentCard:
    """Close ``period``: from now on its inspections, surveys and third-party scores change only through
    amendments, it is assessed against the registry and measured scores as they are now, and the assessment
    as it stands is kept with the closure (the published figures)."""
    if period.kind == "twelve_months":
        raise PeriodError("the combined assessment is given per month, quarter or year")
    if at.astimezone(site.site.tz).date() < period.end:
        raise AssessmentRefused(f"period {period.label} is not over before {period.end.isoformat()}: it cannot be closed yet")
    with transaction.atomic():
        lock_assessment_records()
        if PeriodClosure.objects.filter(period=period.label).exists():
            raise AssessmentRefused(f"period {period.label} is already closed")
        inputs = basis_inputs(live_basis(site, store, period))
        card = assess(site, store, period)
        PeriodClosure.objects.create(
            period=period.label, start=period.start, end=period.end, closed_by=by, closed_at=at, results=card.as_dict(), inputs=inputs
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
    """Replace the period's ``vendor_assessment`` points by the card's (a vendor now ungraded loses its old
    point: InfluxDB merges the fields of a rewritten point, so the old ones are deleted first); returns how many."""
    store.query(f'DELETE FROM {quote_identifier(VENDOR_ASSESSMENT)} WHERE "period" = {quote_string(card.period.label)}', method="POST")
    lines = assessment_lines(card, timezone)
    store.write(lines)
    return len(lines)


def refresh_points(site: Site, store: InfluxStore, now: datetime) -> int:
    """Rewrite the ``vendor_assessment`` points of the last complete month and of the current month from
    the records as they are (`facmon serve` does this every few minutes, so the dashboard follows the
    page); returns how many points."""
    today = now.astimezone(site.site.tz).date()
    return sum(
        write_assessments(store, assess(site, store, p), site.site.timezone) for p in (last_complete_month(today), current_month(today))
    )
