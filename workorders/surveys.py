"""Satisfaction surveys (满意度测评): an officer issues a survey of a vendor in a building for a period as
a number of links, one response each, answered without signing in. Only a hash of each link's token is
kept, and a response is stored apart from its link with the day only, so neither the vendor nor the
officer can tell who answered what."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import date

from django.db import transaction

from facmon.periods import PeriodError, parse_period
from facmon.registry import Site
from facmon.workorders.closures import closure_containing, lock_assessment_records
from facmon.workorders.combined_score import GRADE4_ANSWERS
from facmon.workorders.lifecycle import Role
from facmon.workorders.models import Survey, SurveyLink, SurveyResponse
from facmon.workorders.orders import Actor, RequestInvalid

MAX_LINKS = 2000
MAX_COMMENT = 2000


class SurveyClosed(LookupError):
    """The link is unknown, already used, or its survey's period is closed."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_survey(
    site: Site, actor: Actor, *, vendor: str, building: str, period: str, links: int, simulated: bool = False
) -> tuple[Survey, list[str]]:
    """Create a survey with the registry's questions for the vendor's services and ``links`` tokens (returned
    once, never stored). Raises :class:`RequestInvalid` naming the input."""
    if actor.role != Role.OFFICER:
        raise PermissionError("only officers issue surveys")
    entry = site.vendor(vendor)
    if entry is None:
        raise RequestInvalid("vendor", f"{vendor!r} is not a vendor of the registry")
    if site.building(building) is None:
        raise RequestInvalid("building", f"{building!r} is not a building of the registry")
    try:
        assessed = parse_period(period)
    except PeriodError as error:
        raise RequestInvalid("period", str(error)) from None
    if assessed.kind not in ("month", "quarter"):
        raise RequestInvalid("period", f"{period!r}: a survey assesses a month or a quarter")
    if not 1 <= links <= MAX_LINKS:
        raise RequestInvalid("links", f"{links} must be 1..{MAX_LINKS}")
    questions = site.vendor_assessment.questions_for(list(entry.services))
    if not questions:
        raise RequestInvalid("vendor", f"vendor_assessment.survey_questions has no question about {entry.name}'s services")
    closure = closure_containing(assessed)
    if closure is not None:
        raise RequestInvalid("period", f"period {closure.period} is closed: no new survey for it")
    tokens = [secrets.token_urlsafe(18) for _ in range(links)]
    with transaction.atomic():
        survey = Survey.objects.create(
            vendor=vendor,
            building=building,
            period=assessed.label,
            questions=[{"id": q.id, "text": q.text, "scale": q.scale} for q in questions],
            created_by=actor.name,
            simulated=simulated,
        )
        SurveyLink.objects.bulk_create([SurveyLink(survey=survey, token_sha256=token_hash(t)) for t in tokens])
    return survey, tokens


def survey_of_token(token: str) -> Survey:
    """The survey an unused link belongs to; :class:`SurveyClosed` otherwise."""
    link = SurveyLink.objects.select_related("survey").filter(token_sha256=token_hash(token)).first()
    if link is None:
        raise SurveyClosed("this survey link is not valid")
    if link.used:
        raise SurveyClosed("this survey link has already been used: one response per link")
    if closure_containing(parse_period(link.survey.period)) is not None:
        raise SurveyClosed("this survey's period is closed")
    return link.survey


def parse_answer(scale: str, value: object) -> int:
    """An answer as stored: 1..5, or 1 (差) .. 4 (优); accepts the numbers or the characters 优/良/中/差."""
    if scale == "grade4" and isinstance(value, str) and value in GRADE4_ANSWERS:
        return GRADE4_ANSWERS[value]
    try:
        number = int(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an answer") from None
    if not 1 <= number <= (5 if scale == "1-5" else 4):
        raise ValueError(f"{number} is outside the scale {scale}")
    return number


def answer_survey(token: str, answers: Mapping[str, object], *, comment: str = "", today: date) -> SurveyResponse:
    """Record one response to the survey of ``token`` and use the link up. Unanswered questions are left out;
    at least one answer is needed. Raises :class:`SurveyClosed` or :class:`RequestInvalid`."""
    if len(comment) > MAX_COMMENT:
        raise RequestInvalid("comment", f"at most {MAX_COMMENT} characters")
    with transaction.atomic():
        lock_assessment_records()
        link = SurveyLink.objects.select_for_update().select_related("survey").filter(token_sha256=token_hash(token)).first()
        if link is None or link.used:
            raise SurveyClosed("this survey link is not valid or has already been used")
        survey = link.survey
        if closure_containing(parse_period(survey.period)) is not None:
            raise SurveyClosed("this survey's period is closed")
        stored: dict[str, int] = {}
        for question in survey.questions:
            value = answers.get(question["id"])
            if value in (None, ""):
                continue
            try:
                stored[question["id"]] = parse_answer(question["scale"], value)
            except ValueError as error:
                raise RequestInvalid(f"question {question['id']}", str(error)) from None
        unknown = sorted(set(answers) - {q["id"] for q in survey.questions})
        if unknown:
            raise RequestInvalid(f"question {unknown[0]}", "is not a question of this survey")
        if not stored:
            raise RequestInvalid("answers", "answer at least one question")
        link.used = True
        link.save(update_fields=["used"])
        return SurveyResponse.objects.create(survey=survey, answers=stored, comment=comment, submitted_on=today)
