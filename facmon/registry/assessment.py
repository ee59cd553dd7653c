"""The combined vendor assessment (物业服务考核, registry section ``vendor_assessment``): the weights of its
parts, the grade bands, the inspection checklists and the satisfaction-survey questions.

Every default here is a local choice of facmon, documented in docs/assessment.md, not a national rule:
the seed documents (《物业管理考核办法》-style assessment) ask for inspections, surveys, a third party's
review and the measured service, combined, graded and published, but fix no weights or bands.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from facmon.registry.common import Entry, Identifier, check_weights_sum_to_one
from facmon.registry.vendors import Service

# The parts of the combined assessment, in display order (workorders/assessment.py).
ASSESSMENT_PARTS = ("measured", "inspections", "satisfaction", "third_party")


class AssessmentWeights(Entry):
    """Weights of the combined assessment's parts; they sum to 1. A part without evidence in the period is
    unavailable and its weight is shared out over the others in proportion."""

    measured: float = Field(
        0.40, ge=0, le=1, description="the measured vendor score (facmon score vendors: faults, SLA, IEQ, work-order timeliness)"
    )
    inspections: float = Field(0.25, ge=0, le=1, description="the mean of the period's inspections (现场检查 and 抽查)")
    satisfaction: float = Field(0.20, ge=0, le=1, description="the period's satisfaction surveys (满意度测评) with enough responses")
    third_party: float = Field(0.15, ge=0, le=1, description="a third-party assessor's score for the period, imported")

    @model_validator(mode="after")
    def _sum_to_one(self) -> AssessmentWeights:
        check_weights_sum_to_one(self, ASSESSMENT_PARTS, "assessment")
        return self


class Grade(Entry):
    """A grade band: a combined score at or above ``min_score`` (and below the next band up) gets it."""

    id: Identifier = Field(description="grade id in JSON and contract terms, e.g. excellent, good, pass, fail")
    label: str = Field(min_length=1, description="the grade as printed, e.g. 优秀")
    min_score: float = Field(ge=0, le=100, description="lowest combined score (0-100) of the band")
    failing: bool = Field(False, description="a failing grade: brings a warning, and a run of them a recommendation not to renew")


def _default_grades() -> list[Grade]:
    return [
        Grade(id="excellent", label="优秀", min_score=90),
        Grade(id="good", label="良好", min_score=80),
        Grade(id="pass", label="合格", min_score=60),
        Grade(id="fail", label="不合格", min_score=0, failing=True),
    ]


class ChecklistItem(Entry):
    """One item of an inspection checklist: what is checked, its points, and how it is judged."""

    id: Identifier = Field(description="item id, unique in its checklist")
    text: str = Field(min_length=1, description="what the inspector checks, e.g. 大厅地面清洁无污渍")
    points: float = Field(gt=0, le=100, description="points the item is worth; the inspector awards 0 to this")
    judged: str = Field(min_length=1, description="how it is judged, e.g. 每发现一处污渍扣 1 分")


class Checklist(Entry):
    """An inspection checklist (检查表) for one service; an inspection scores its items."""

    id: Identifier = Field(description="checklist id")
    service: Service = Field(description="the outsourced service it inspects; offered for the vendors that provide it")
    name: str = Field(min_length=1, description="checklist name as printed, e.g. 保洁服务检查表")
    items: list[ChecklistItem] = Field(min_length=1, description="the items with their points")

    @field_validator("items")
    @classmethod
    def _unique_items(cls, items: list[ChecklistItem]) -> list[ChecklistItem]:
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise ValueError(f"item id {item.id!r} is used twice")
            seen.add(item.id)
        return items

    @property
    def total_points(self) -> float:
        return sum(item.points for item in self.items)


class SurveyQuestion(Entry):
    """One question of the satisfaction survey, answered on a 1-5 scale or 优/良/中/差."""

    id: Identifier = Field(description="question id, unique in the survey")
    text: str = Field(min_length=1, description="the question as respondents read it")
    scale: Literal["1-5", "grade4"] = Field(
        "1-5", description="1-5 (5 best) or grade4 (优/良/中/差); an answer counts 0-100 linearly: 1→0 … 5→100, 差→0 中→33.3 良→66.7 优→100"
    )
    service: Service | None = Field(None, description="asked about vendors that provide this service; none: about every vendor")


class VendorAssessment(Entry):
    """How the combined assessment (综合考核) of a vendor is formed and graded, per month, quarter or year."""

    weights: AssessmentWeights = Field(default_factory=AssessmentWeights, description="weights of the parts; they sum to 1")
    grades: list[Grade] = Field(
        default_factory=_default_grades,
        min_length=2,
        description="grade bands, best first, the last from 0; default 优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60, 不合格 < 60 (a local choice)",
    )
    min_scored_weight: float = Field(
        0.5,
        gt=0,
        le=1,
        description="a vendor is graded only when parts with at least this share of the weights have evidence; else listed ungraded",
    )
    survey_min_responses: int = Field(10, ge=1, description="a survey with fewer responses is flagged and not scored")
    survey_min_response_rate: float = Field(
        0.30, ge=0, le=1, description="a survey answered by fewer than this share of the issued links is flagged and not scored"
    )
    checklists: list[Checklist] = Field(default_factory=list, description="inspection checklists, one or more per service")
    survey_questions: list[SurveyQuestion] = Field(default_factory=list, description="the satisfaction survey's questions")

    @field_validator("grades")
    @classmethod
    def _bands_in_order(cls, grades: list[Grade]) -> list[Grade]:
        for higher, lower in zip(grades, grades[1:], strict=False):
            if lower.min_score >= higher.min_score:
                raise ValueError(
                    f"grades go best first: {lower.id} (≥ {lower.min_score:g}) must start below {higher.id} (≥ {higher.min_score:g})"
                )
        if grades[-1].min_score != 0:
            raise ValueError(f"the last grade ({grades[-1].id}) must start at 0 so that every score has a grade")
        ids = [g.id for g in grades]
        if len(set(ids)) != len(ids):
            raise ValueError("grade ids must be unique")
        return grades

    @model_validator(mode="after")
    def _unique_ids(self) -> VendorAssessment:
        for kind, ids in (("checklist", [c.id for c in self.checklists]), ("survey question", [q.id for q in self.survey_questions])):
            doubled = sorted({i for i in ids if ids.count(i) > 1})
            if doubled:
                raise ValueError(f"{kind} id {', '.join(doubled)} is used twice")
        return self

    def grade(self, score: float) -> Grade:
        """The band a combined score (0-100) falls in."""
        return next(g for g in self.grades if score >= g.min_score)

    def checklist(self, checklist_id: str) -> Checklist | None:
        return next((c for c in self.checklists if c.id == checklist_id), None)

    def questions_for(self, services: list[Service]) -> list[SurveyQuestion]:
        """The survey's questions about a vendor providing ``services``."""
        return [q for q in self.survey_questions if q.service is None or q.service in services]
