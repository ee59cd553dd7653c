"""The combined vendor assessment's arithmetic, computed by hand: weights and their sharing out, grade
boundaries, the itemised losses, surveys with too few responses, the contract's consequences and the run
of failing periods (workorders/combined_score.py, pure: no database)."""

from __future__ import annotations

from datetime import date

import pytest

from facmon.registry import ContractTerms, VendorAssessment
from facmon.workorders import combined_score as cs

RULES = VendorAssessment()  # weights 0.40 / 0.25 / 0.20 / 0.15, 优秀 90, 良好 80, 合格 60, 不合格


def inspection(id_: int, *awarded_of: tuple[float, float], kind: str = "scheduled") -> cs.InspectionRecord:
    items = [cs.ItemScore(f"i{n}", f"item {n}", points, awarded) for n, (awarded, points) in enumerate(awarded_of)]
    return cs.InspectionRecord(id_, date(2026, 11, 10), "341122A001", "cleaning", "保洁服务检查表", kind, "officer", items)


def survey(id_: int, issued: int, answers: list[int], scale: str = "1-5") -> cs.SurveyRecord:
    return cs.SurveyRecord(id_, "341122A001", issued, len(answers), [cs.SurveyQuestionResult("overall", "总体满意度", scale, answers)])


def parts(measured: float | None, inspections: list, surveys: list, third: float | None) -> list[cs.Part]:
    w = RULES.weights
    record = None if measured is None else cs.MeasuredRecord(measured, 0, {"sla_compliance": (measured, 1.0)})
    return [
        cs.measured_part(record, w.measured, "2026-11"),
        cs.inspections_part(inspections, w.inspections),
        cs.satisfaction_part(surveys, w.satisfaction, RULES),
        cs.third_party_part(None if third is None else cs.ThirdPartyRecord(third, "审计所"), w.third_party),
    ]


def test_every_part_available_weighs_by_the_registry_weights():
    # inspections: (27+20)/60 = 78.333..., (30+30)/60 = 100 → 89.1667; survey: answers 5,4,4,3,5,... all 10 → mean
    answers = [5, 4, 4, 3, 5, 5, 4, 4, 5, 5]  # mean answer 4.4 → (4.4-1)/4*100 = 85
    result = cs.combine(
        "property",
        "安和物业",
        "2026-11",
        parts(80.0, [inspection(1, (27, 30), (20, 30)), inspection(2, (30, 30), (30, 30), kind="spot")], [survey(1, 20, answers)], 90.0),
        RULES,
    )
    # 0.40×80 + 0.25×89.1667 + 0.20×85 + 0.15×90 = 32 + 22.2917 + 17 + 13.5 = 84.7917 → 84.8
    assert result.score == 84.8
    assert (result.grade, result.grade_label, result.failing) == ("good", "良好", False)
    assert result.part("inspections").basis == "2 inspection(s): 1 scheduled, 1 spot"
    assert result.part("satisfaction").score == pytest.approx(85.0)


def test_the_losses_name_each_item_and_add_up_to_what_the_vendor_lost():
    result = cs.combine(
        "property", "安和物业", "2026-11", parts(80.0, [inspection(7, (27, 30), (20, 30))], [], 90.0), RULES
    )  # satisfaction unavailable: weights 0.40, 0.25, 0.15 → /0.80
    lost = sum(loss.combined_points for loss in result.losses)
    unrounded = sum(p.points for p in result.parts)
    assert lost == pytest.approx(100.0 - unrounded)
    item = next(loss for loss in result.losses if "item 1" in loss.source)
    # 10 of 30 points lost on a 60-point checklist, one inspection: 16.67 inspection points × 0.25/0.80
    assert item.part_points == pytest.approx(100 * 10 / 60)
    assert item.combined_points == pytest.approx(100 * 10 / 60 * 0.25 / 0.80)
    assert "inspection #7" in item.source and "20 of 30 points" in item.detail


def test_an_unavailable_part_has_its_weight_shared_out_and_says_so():
    result = cs.combine("hvac", "华通", "2026-11", parts(70.0, [], [], 90.0), RULES)
    # only measured (0.40) and third party (0.15): 70×0.40/0.55 + 90×0.15/0.55 = 50.909 + 24.545 = 75.4545 → 75.5
    assert result.score == 75.5
    assert result.part("inspections").effective_weight == 0.0
    assert result.part("measured").effective_weight == pytest.approx(0.40 / 0.55)
    assert "unavailable, weight shared out" in result.explanation and "no inspection in the period" in result.explanation


def test_too_little_evidence_is_ungraded_not_scored():
    # third party alone carries 0.15 of the weights, below min_scored_weight 0.5
    result = cs.combine("elevator", "顺达", "2026-11", parts(None, [], [], 95.0), RULES)
    assert result.score is None and result.grade is None
    assert result.explanation.startswith("not graded: parts with evidence carry 0.15 of the weights, below the 0.50 needed")


@pytest.mark.parametrize(
    ("measured", "score", "grade"),
    [
        (90.0, 90.0, "excellent"),
        (89.95, 90.0, "excellent"),  # shown as 90.0, graded as shown: halves round up
        (89.94, 89.9, "good"),
        (80.0, 80.0, "good"),
        (79.96, 80.0, "good"),
        (60.0, 60.0, "pass"),
        (59.95, 60.0, "pass"),
        (59.94, 59.9, "fail"),
        (0.0, 0.0, "fail"),
    ],
)
def test_grade_boundaries_apply_to_the_score_as_shown(measured, score, grade):
    result = cs.combine("v", "v", "2026-11", parts(measured, [], [], None), VendorAssessment(min_scored_weight=0.4))
    assert (result.score, result.grade) == (score, grade)


@pytest.mark.parametrize(
    ("measured", "third", "score", "grade"),
    [
        # measured × 0.40 + inspections 80 × 0.25 + satisfaction 85 × 0.20 + third party × 0.15
        (99.0, 89.0, 90.0, "excellent"),  # 39.6 + 20 + 17 + 13.35 = 89.95 (89.94999999999999 in floats)
        (80.0, 73.0, 80.0, "good"),  # 32 + 20 + 17 + 10.95 = 79.95
        (30.0, 73.0, 60.0, "pass"),  # 12 + 20 + 17 + 10.95 = 59.95
        (30.0, 72.0, 59.8, "fail"),  # 12 + 20 + 17 + 10.8 = 59.8
    ],
)
def test_four_parts_summing_to_a_half_round_up_as_a_person_adding_them_finds(measured, third, score, grade):
    satisfied = survey(1, 10, [5, 5, 5, 5, 4, 4, 4, 4, 4, 4])  # mean answer 4.4 → 85
    result = cs.combine("v", "v", "2026-11", parts(measured, [inspection(1, (80, 100))], [satisfied], third), RULES)
    assert (result.score, result.grade) == (score, grade)


def test_a_survey_with_too_few_responses_or_too_low_a_rate_is_flagged_not_scored():
    few = survey(1, 20, [5] * 9)  # 9 < 10 responses
    low = survey(2, 100, [1] * 20)  # 20 % < 30 %
    enough = survey(3, 30, [1, 2, 3, 4, 5, 1, 2, 3, 4, 5])  # 10 responses, 33 %: mean 3 → 50
    part = cs.satisfaction_part([few, low, enough], RULES.weights.satisfaction, RULES)
    assert part.available and part.score == pytest.approx(50.0)
    assert part.flags == [
        "survey #1 341122A001: not scored, 9 response(s), fewer than 10",
        "survey #2 341122A001: not scored, response rate 20% of 100 links, below 30%",
    ]
    alone = cs.satisfaction_part([few], RULES.weights.satisfaction, RULES)
    assert not alone.available and alone.note == "no survey with enough responses"


def test_a_question_answered_by_too_few_is_left_out_so_no_one_answer_shows():
    overall = cs.SurveyQuestionResult("overall", "总体满意度", "1-5", [5, 5, 5, 5, 5, 4, 4, 4, 4, 4])  # 87.5
    canteen = cs.SurveyQuestionResult("canteen", "食堂", "grade4", [1])  # one respondent eats there
    part = cs.satisfaction_part([cs.SurveyRecord(4, "341122A001", 20, 10, [overall, canteen])], RULES.weights.satisfaction, RULES)
    assert part.score == pytest.approx(87.5)
    assert part.flags == ["survey #4 341122A001: 食堂: 1 answer(s), fewer than 10, not counted"]
    assert all("食堂" not in loss.source for loss in part.losses)


def test_the_four_step_grade_scale_counts_差_中_良_优_as_0_to_100():
    assert [cs.answer_points("grade4", a) for a in (1, 2, 3, 4)] == pytest.approx([0, 100 / 3, 200 / 3, 100])
    assert [cs.answer_points("1-5", a) for a in (1, 3, 5)] == [0, 50, 100]
    with pytest.raises(ValueError, match="outside 1..4"):
        cs.answer_points("grade4", 5)


def test_failing_periods_warn_and_a_run_of_three_recommends_not_renewing():
    steps = cs.standings(
        [
            ("2026-06", False),
            ("2026-07", True),
            ("2026-08", False),
            ("2026-09", True),
            ("2026-10", None),
            ("2026-11", True),
            ("2026-12", True),
            ("2027-01", False),
        ],
        3,
    )
    assert [(period, run, standing.value) for period, run, standing, _ in steps] == [
        ("2026-06", 0, "good_standing"),
        ("2026-07", 1, "warned"),
        ("2026-08", 0, "good_standing"),  # a passing month ends the run and the warning
        ("2026-09", 1, "warned"),
        ("2026-10", 1, "warned"),  # ungraded: the run carries over, missing evidence does not acquit
        ("2026-11", 2, "warned"),
        ("2026-12", 3, "not_recommended"),
        ("2027-01", 0, "not_recommended"),  # the recommendation stays: it is a record for the next purchase
    ]
    assert "the contract's 3 reached, not to be renewed" in steps[6][3]
    assert cs.standings([("2026-11", True)] * 5, None)[-1][2] == cs.Standing.WARNED  # never, when the contract says none


def test_the_contract_deducts_a_percent_of_the_fee_for_the_period_by_grade():
    contract = ContractTerms(monthly_fee_cny=126000, assessment_deduction_percent={"pass": 1, "fail": 5}, reference="第九条")
    failing = cs.combine("property", "安和", "2026-Q3", parts(50.0, [], [], None), VendorAssessment(min_scored_weight=0.4))
    c = cs.consequence(failing, 3, contract, 1, cs.Standing.WARNED, "failing grade, 1 in a row")
    assert (c.fee_cny, c.deduction_percent, c.deduction_cny, c.warning, c.not_renew) == (378000, 5, 18900.0, True, False)
    good = cs.combine("property", "安和", "2026-11", parts(85.0, [], [], None), VendorAssessment(min_scored_weight=0.4))
    assert cs.consequence(good, 1, contract, 0, cs.Standing.GOOD, "passing grade").deduction_cny == 0.0
    assert cs.consequence(good, 1, ContractTerms(), 0, cs.Standing.GOOD, "").deduction_cny is None  # no fee, no amount
