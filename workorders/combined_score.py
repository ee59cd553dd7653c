"""The combined vendor assessment (综合考核) as plain functions on records: each part's score (0-100) with
what it rests on, the weighted total with unavailable parts' weight shared out, the grade, the contract
consequences, and the run of failing periods that decides a vendor's standing. No database here: the
records come from :mod:`.assessment`, which reads PostgreSQL and InfluxDB.

Every point lost is itemised (:class:`Loss`): an inspection item marked down, a survey question answered
below the best, a measured component short of its points, the third party's score below 100. A loss is
given in the part's points and in combined points (the part's effective weight times the part's
points); the combined losses add up to 100 minus the combined score, so a vendor can see exactly what
cost what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from facmon.registry import ContractTerms, VendorAssessment

PART_LABELS = {
    "measured": "measured service (facmon score vendors)",
    "inspections": "inspections (现场检查/抽查)",
    "satisfaction": "satisfaction surveys (满意度测评)",
    "third_party": "third-party assessment (第三方评价)",
}

# 1-5: 1 → 0 … 5 → 100; 优/良/中/差 as four equal steps: 差 → 0, 中 → 33.3, 良 → 66.7, 优 → 100.
GRADE4_ANSWERS = {"优": 4, "良": 3, "中": 2, "差": 1}


def answer_points(scale: str, answer: int) -> float:
    """An answer's value 0-100: ``1-5`` answers 1..5, ``grade4`` answers 1 (差) .. 4 (优), linear between."""
    steps = 5 if scale == "1-5" else 4
    if not 1 <= answer <= steps:
        raise ValueError(f"answer {answer} is outside 1..{steps} of scale {scale}")
    return 100.0 * (answer - 1) / (steps - 1)


def round_score(value: float) -> float:
    """A score to 0.1 points, halves up (89.95 → 90.0): the figure shown is the figure graded. The float sum
    of weighted parts is first rounded to 1e-9, so 39.6 + 20 + 17 + 13.35 (89.94999999999999 in floats)
    is 89.95 and shows as 90.0, as a person adding the parts by hand finds."""
    cleaned = Decimal(value).quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP)
    return float(cleaned.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------------------------------------
# Records (as read from the stores)


@dataclass(frozen=True)
class ItemScore:
    """One checklist item as the inspector scored it: ``awarded`` of ``points`` (points copied from the
    checklist when the inspection was filled, so a later change of the checklist does not rewrite it)."""

    item: str
    text: str
    points: float
    awarded: float
    note: str = ""


@dataclass(frozen=True)
class InspectionRecord:
    """One inspection of a vendor's service: a scheduled 现场检查 or a spot check 抽查."""

    id: int
    day: date
    building: str
    checklist: str
    checklist_name: str
    kind: str  # scheduled | spot
    inspector: str
    items: Sequence[ItemScore]
    simulated: bool = False

    @property
    def score(self) -> float:
        """100 × points awarded / points possible."""
        return 100.0 * sum(i.awarded for i in self.items) / sum(i.points for i in self.items)


@dataclass(frozen=True)
class SurveyQuestionResult:
    """One question of a survey: its scale and the answers given (1..5 or 1..4)."""

    question: str
    text: str
    scale: str
    answers: Sequence[int]

    @property
    def mean_points(self) -> float:
        return sum(answer_points(self.scale, a) for a in self.answers) / len(self.answers)


@dataclass(frozen=True)
class SurveyRecord:
    """One satisfaction survey of a vendor in a building: links issued, responses, answers per question."""

    id: int
    building: str
    issued: int
    responses: int
    questions: Sequence[SurveyQuestionResult]
    simulated: bool = False

    @property
    def response_rate(self) -> float:
        return self.responses / self.issued if self.issued else 0.0


@dataclass(frozen=True)
class ThirdPartyRecord:
    """A third-party assessor's score (0-100) of a vendor for a period, as imported."""

    score: float
    assessor: str
    note: str = ""
    source: str = ""  # imported file and row


@dataclass(frozen=True)
class MeasuredRecord:
    """The stored ``score_vendor`` of the period: the score and each component's points and effective weight."""

    score: float
    breaches: int
    components: Mapping[str, tuple[float, float]]  # component -> (points, effective weight); available ones only


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Loss:
    """Points one piece of evidence cost: ``part_points`` of the part's 100, ``combined_points`` of the total."""

    part: str
    source: str  # what it is: "inspection #12 2026-11-05 341122A001 保洁服务检查表: toilets"
    detail: str  # why: "20 of 30 points; 卫生间有异味"
    part_points: float
    combined_points: float = 0.0


@dataclass
class Part:
    """One part of the combined assessment for a vendor and period."""

    part: str
    available: bool
    score: float | None  # 0-100
    weight: float
    effective_weight: float = 0.0
    basis: str = ""  # what it rests on
    note: str = ""  # why it is unavailable, or what was left out
    flags: list[str] = field(default_factory=list)  # evidence left out (a survey with too few responses, ...)
    losses: list[Loss] = field(default_factory=list)
    simulated: bool = False

    @property
    def points(self) -> float:
        """Its contribution to the combined score."""
        return 0.0 if self.score is None else self.effective_weight * self.score


class Standing(StrEnum):
    """A vendor's place on the dynamic list (动态名录)."""

    GOOD = "good_standing"
    WARNED = "warned"
    NOT_RECOMMENDED = "not_recommended"


@dataclass(frozen=True)
class Consequence:
    """What the contract makes of a grade: the deduction, a warning, a recommendation not to renew."""

    deduction_percent: float
    deduction_cny: float | None  # None without a contract fee
    fee_cny: float | None  # the fee for the assessed period
    warning: bool
    not_renew: bool
    failing_run: int  # failing periods in a row up to this one
    standing: Standing
    reason: str
    reference: str | None = None


@dataclass
class VendorAssessmentResult:
    """A vendor's combined assessment for one period."""

    vendor: str
    name: str
    period: str
    score: float | None  # 0-100 to 0.1, None when ungraded
    grade: str | None
    grade_label: str | None
    failing: bool
    parts: list[Part]
    explanation: str
    consequence: Consequence | None = None

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.part == name)

    @property
    def losses(self) -> list[Loss]:
        """Every loss of every available part, largest first."""
        return sorted((loss for p in self.parts if p.available for loss in p.losses), key=lambda loss: -loss.combined_points)

    def as_dict(self) -> dict:
        return {
            "vendor": self.vendor,
            "name": self.name,
            "period": self.period,
            "score": self.score,
            "grade": self.grade,
            "grade_label": self.grade_label,
            "failing": self.failing,
            "explanation": self.explanation,
            "parts": [
                {
                    "part": p.part,
                    "available": p.available,
                    "score": None if p.score is None else round(p.score, 4),
                    "weight": p.weight,
                    "effective_weight": round(p.effective_weight, 6),
                    "points": round(p.points, 4),
                    "basis": p.basis,
                    "note": p.note,
                    "flags": p.flags,
                    "simulated": p.simulated,
                    "losses": [asdict(loss) | {"combined_points": round(loss.combined_points, 4)} for loss in p.losses],
                }
                for p in self.parts
            ],
            "consequence": None if self.consequence is None else asdict(self.consequence),
        }


# ---------------------------------------------------------------------------------------------
# The parts


def measured_part(record: MeasuredRecord | None, weight: float, period: str, labels: Mapping[str, str] | None = None) -> Part:
    """The measured vendor score as a part; a component loses 100 × its effective weight − its points."""
    if record is None:
        return Part(
            "measured", False, None, weight, note=f"no stored vendor score for {period}: run `facmon score vendors --period {period}`"
        )
    losses = []
    for component, (points, effective_weight) in record.components.items():
        lost = 100.0 * effective_weight - points
        if lost > 1e-9:
            name = (labels or {}).get(component, component)
            losses.append(Loss("measured", f"measured: {name}", f"{points:.1f} of {100 * effective_weight:.1f} points", lost))
    basis = f"score_vendor {period}: {len(record.components)} component(s), {record.breaches} SLA breach(es)"
    return Part("measured", True, record.score, weight, basis=basis, losses=losses)


def inspections_part(inspections: Sequence[InspectionRecord], weight: float) -> Part:
    """The mean of the inspections' scores (each inspection counts once, scheduled and spot alike); an item
    scored below its points loses 100 × (points − awarded) / the checklist's points / the number of inspections."""
    if not inspections:
        return Part("inspections", False, None, weight, note="no inspection in the period")
    count = len(inspections)
    losses = []
    for inspection in inspections:
        total = sum(i.points for i in inspection.items)
        for item in inspection.items:
            lost = item.points - item.awarded
            if lost > 1e-9:
                detail = f"{item.awarded:g} of {item.points:g} points" + (f"; {item.note}" if item.note else "")
                source = (
                    f"inspection #{inspection.id} {inspection.day.isoformat()} {inspection.building} {inspection.checklist_name} "
                    f"({inspection.kind}): {item.text}"
                )
                losses.append(Loss("inspections", source, detail, 100.0 * lost / total / count))
    spot = sum(1 for i in inspections if i.kind == "spot")
    score = sum(i.score for i in inspections) / count
    basis = f"{count} inspection(s): {count - spot} scheduled, {spot} spot"
    return Part("inspections", True, score, weight, basis=basis, losses=losses, simulated=all(i.simulated for i in inspections))


def survey_scored(survey: SurveyRecord, rules: VendorAssessment) -> str | None:
    """None when the survey has enough responses to be scored, else why not."""
    if survey.responses < rules.survey_min_responses:
        return f"{survey.responses} response(s), fewer than {rules.survey_min_responses}"
    if survey.response_rate < rules.survey_min_response_rate:
        return f"response rate {survey.response_rate:.0%} of {survey.issued} links, below {rules.survey_min_response_rate:.0%}"
    if not any(len(q.answers) >= rules.survey_min_responses for q in survey.questions):
        return f"no question answered {rules.survey_min_responses} times"
    return None


def satisfaction_part(surveys: Sequence[SurveyRecord], weight: float, rules: VendorAssessment) -> Part:
    """The mean of the scored surveys (each building's survey counts once); a survey's score is the mean of
    its questions' mean answers (0-100). A survey with too few responses is flagged, not scored."""
    flags = []
    scored = []
    for survey in surveys:
        reason = survey_scored(survey, rules)
        if reason is None:
            scored.append(survey)
        else:
            flags.append(f"survey #{survey.id} {survey.building}: not scored, {reason}")
    if not scored:
        note = "no survey in the period" if not surveys else "no survey with enough responses"
        return Part("satisfaction", False, None, weight, note=note, flags=flags)
    losses = []
    scores = []
    for survey in scored:
        # A question answered by fewer than the survey's minimum is left out: a mean of one or two answers
        # would be a few respondents' own answers shown to the vendor, and says little.
        answered = [q for q in survey.questions if len(q.answers) >= rules.survey_min_responses]
        least = rules.survey_min_responses
        flags += [
            f"survey #{survey.id} {survey.building}: {q.text}: {len(q.answers)} answer(s), fewer than {least}, not counted"
            for q in survey.questions
            if 0 < len(q.answers) < least
        ]
        scores.append(sum(q.mean_points for q in answered) / len(answered))
        for q in answered:
            lost = (100.0 - q.mean_points) / len(answered) / len(scored)
            if lost > 1e-9:
                source = f"survey #{survey.id} {survey.building}: {q.text}"
                detail = f"mean {q.mean_points:.1f} of 100 from {len(q.answers)} answer(s)"
                losses.append(Loss("satisfaction", source, detail, lost))
    responses = sum(s.responses for s in scored)
    issued = sum(s.issued for s in scored)
    basis = f"{len(scored)} survey(s), {responses} response(s) of {issued} links ({responses / issued:.0%})"
    return Part(
        "satisfaction",
        True,
        sum(scores) / len(scores),
        weight,
        basis=basis,
        flags=flags,
        losses=losses,
        simulated=all(s.simulated for s in scored),
    )


def third_party_part(record: ThirdPartyRecord | None, weight: float) -> Part:
    """The third-party assessor's score as imported."""
    if record is None:
        return Part("third_party", False, None, weight, note="no third-party score imported for the period")
    losses = []
    if record.score < 100:
        detail = f"{record.score:g} of 100" + (f"; {record.note}" if record.note else "")
        losses.append(Loss("third_party", f"third party: {record.assessor}", detail, 100.0 - record.score))
    basis = f"{record.assessor}" + (f" ({record.source})" if record.source else "")
    return Part("third_party", True, record.score, weight, basis=basis, losses=losses)


# ---------------------------------------------------------------------------------------------
# Combining, grading, consequences


def combine(
    vendor: str,
    name: str,
    period: str,
    parts: Sequence[Part],
    rules: VendorAssessment,
) -> VendorAssessmentResult:
    """Weigh the available parts (an unavailable part's weight shared out over the others in proportion),
    round to 0.1 and grade. Below ``rules.min_scored_weight`` of available weight the vendor is ungraded."""
    available_weight = sum(p.weight for p in parts if p.available)
    missing = [f"{p.part} ({p.note})" for p in parts if not p.available]
    if available_weight <= 0 or available_weight + 1e-9 < rules.min_scored_weight:
        explanation = (
            f"not graded: parts with evidence carry {available_weight:.2f} of the weights, "
            f"below the {rules.min_scored_weight:.2f} needed; unavailable: {'; '.join(missing)}"
        )
        return VendorAssessmentResult(vendor, name, period, None, None, None, False, list(parts), explanation)
    for p in parts:
        p.effective_weight = p.weight / available_weight if p.available else 0.0
        for i, loss in enumerate(p.losses):
            p.losses[i] = Loss(loss.part, loss.source, loss.detail, loss.part_points, p.effective_weight * loss.part_points)
    score = round_score(sum(p.points for p in parts))
    grade = rules.grade(score)
    explanation = "; ".join(
        [f"{score:.1f} = " + " + ".join(f"{p.effective_weight:.3f} × {p.score:.1f} {p.part}" for p in parts if p.available)]
        + ([f"unavailable, weight shared out: {'; '.join(missing)}"] if missing else [])
    )
    return VendorAssessmentResult(vendor, name, period, score, grade.id, grade.label, grade.failing, list(parts), explanation)


def standings(results: Sequence[tuple[str, bool | None]], not_renew_after: int | None) -> list[tuple[str, int, Standing, str]]:
    """The dynamic list over consecutive periods of one kind, oldest first. ``results``: (period, failing),
    failing None for an ungraded period. Returns (period, failing run, standing, reason) per period.

    A failing grade warns; ``not_renew_after`` failing periods in a row bring a recommendation not to renew,
    which stays (it is a record for the next purchase). A passing grade ends the run and a warning. An
    ungraded period neither ends nor extends a run: missing evidence does not acquit."""
    out = []
    run = 0
    recommended_not = False
    for period, failing in results:
        if failing is None:
            reason = "not graded; the run of failing periods carries over"
        elif failing:
            run += 1
            reason = f"failing grade, {run} in a row"
        else:
            run = 0
            reason = "passing grade"
        if failing and not recommended_not and not_renew_after is not None and run >= not_renew_after:
            recommended_not = True
            standing = Standing.NOT_RECOMMENDED
            reason += f": the contract's {not_renew_after} reached, not to be renewed"
        elif recommended_not:
            standing = Standing.NOT_RECOMMENDED
            reason += "; not to be renewed since an earlier period"
        elif run > 0:
            standing = Standing.WARNED
        else:
            standing = Standing.GOOD
        out.append((period, run, standing, reason))
    return out


def consequence(
    result: VendorAssessmentResult,
    months: int,
    contract: ContractTerms,
    run: int,
    standing: Standing,
    reason: str,
) -> Consequence:
    """The contract's consequence of a graded result over a period of ``months`` months."""
    percent = contract.assessment_deduction_percent.get(result.grade or "", 0.0) if result.grade else 0.0
    fee = None if contract.monthly_fee_cny is None else contract.monthly_fee_cny * months
    deduction = None if fee is None else round(fee * percent / 100.0, 2)
    return Consequence(
        deduction_percent=percent,
        deduction_cny=deduction,
        fee_cny=fee,
        warning=result.failing,
        not_renew=standing == Standing.NOT_RECOMMENDED,
        failing_run=run,
        standing=standing,
        reason=reason,
        reference=contract.reference,
    )
