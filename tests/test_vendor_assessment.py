"""The combined vendor assessment from stored records, on the real PostgreSQL and InfluxDB: inspections,
surveys and third-party imports, closing a period and amending it, and the same figures from the command,
the API, the page and the dashboard's points."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import requests

from facmon.periods import parse_period
from facmon.registry import Site
from facmon.schema.scores import ScoreComponent, ScoreVendor, score_vendor_line
from facmon.stack import Stack
from facmon.store import InfluxStore
from tests.workorder_service import ACCOUNTS, WebService

NOVEMBER = parse_period("2026-11")
DECEMBER_2 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
CLEANING_FULL = {"lobby": 30, "toilets": 30, "waste": 20, "records": 20}


def officer():  # type: ignore[no-untyped-def]
    from facmon.workorders.lifecycle import Role
    from facmon.workorders.orders import Actor

    return Actor("officer", Role.OFFICER)


def inspect(site: Site, day: date, marked_down: dict[str, float], **extra):  # type: ignore[no-untyped-def]
    from facmon.workorders import inspections

    scores = {
        item: inspections.ItemInput(marked_down.get(item, points), "marked down" if item in marked_down else "")
        for item, points in CLEANING_FULL.items()
    }
    return inspections.record_inspection(
        site, officer(), vendor="property", building="341122A001", checklist="cleaning", kind="scheduled", day=day, scores=scores,
        today=date(2026, 12, 2), **extra,
    )  # fmt: skip


def measured(store: InfluxStore, vendor: str, period: str, score: float) -> None:
    """A stored score_vendor point, as `facmon score vendors` writes it (one component carrying the score)."""
    start_s, _ = parse_period(period).bounds_utc_s("Asia/Shanghai")
    component = ScoreComponent("sla_compliance", score, 1.0, True, score / 100)
    store.write([score_vendor_line(ScoreVendor(vendor, period, start_s, score, 1, 0.0, 0.0, 0, {}, [component]))])


def test_an_inspection_scores_every_item_of_a_checklist_the_vendor_provides(example_site: Site, workorder_db: str) -> None:
    from facmon.workorders import inspections
    from facmon.workorders.orders import RequestInvalid

    recorded = inspect(example_site, date(2026, 11, 5), {"toilets": 20})
    assert [(i.item, i.points, i.awarded) for i in recorded.items.all()] == [
        ("lobby", 30, 30), ("toilets", 30, 20), ("waste", 20, 20), ("records", 20, 20),
    ]  # fmt: skip
    with pytest.raises(RequestInvalid, match="item records: not scored"):
        inspections.record_inspection(
            example_site, officer(), vendor="property", building="341122A001", checklist="cleaning", kind="spot",
            day=date(2026, 11, 6), scores={k: inspections.ItemInput(v) for k, v in CLEANING_FULL.items() if k != "records"},
            today=date(2026, 12, 2),
        )  # fmt: skip
    with pytest.raises(RequestInvalid, match="item lobby: 31 points is outside 0..30"):
        inspect(example_site, date(2026, 11, 6), {"lobby": 31})
    with pytest.raises(RequestInvalid, match="which 华通机电设备维保有限公司 does not provide"):
        inspections.record_inspection(
            example_site, officer(), vendor="hvac", building="341122A001", checklist="cleaning", kind="spot",
            day=date(2026, 11, 6), scores={k: inspections.ItemInput(v) for k, v in CLEANING_FULL.items()}, today=date(2026, 12, 2),
        )  # fmt: skip
    with pytest.raises(RequestInvalid, match="in the future"):
        inspect(example_site, date(2026, 12, 3), {})


def test_a_closed_period_changes_only_through_amendments_that_say_who_and_why(
    store: InfluxStore, example_site: Site, stack: Stack, workorder_db: str
) -> None:
    from facmon.workorders import assessment, inspections
    from facmon.workorders.models import Amendment, PeriodClosure
    from facmon.workorders.orders import RequestInvalid

    measured(store, "property", "2026-11", 80.0)
    recorded = inspect(example_site, date(2026, 11, 5), {"toilets": 20})
    inspections.amend_item(officer(), recorded.pk, "lobby", 25, at=DECEMBER_2)  # an open period: changed, no amendment
    assert Amendment.objects.count() == 0

    with pytest.raises(assessment.AssessmentRefused, match="not over"):
        assessment.close_period(example_site, store, parse_period("2026-12"), "officer", DECEMBER_2)
    card = assessment.close_period(example_site, store, NOVEMBER, "officer", DECEMBER_2)
    assert card.closed == {"by": "officer", "at": DECEMBER_2.isoformat()}
    with pytest.raises(assessment.AssessmentRefused, match="already closed"):
        assessment.close_period(example_site, store, NOVEMBER, "officer", DECEMBER_2)
    before = card.vendor("property")
    assert before is not None and before.part("inspections").score == pytest.approx(85.0)  # (25+20+20+20)/100

    with pytest.raises(RequestInvalid, match="closed: a change needs a reason"):
        inspections.amend_item(officer(), recorded.pk, "toilets", 30, at=DECEMBER_2)
    with pytest.raises(RequestInvalid, match="needs a reason"):
        inspect(example_site, date(2026, 11, 20), {})
    inspections.amend_item(
        officer(), recorded.pk, "toilets", 30, reason="re-inspected with the vendor: the smell came from a blocked drain", at=DECEMBER_2
    )
    amendment = Amendment.objects.get()
    assert (amendment.by, amendment.period, amendment.record, amendment.before["awarded"], amendment.after["awarded"]) == (
        "officer", "2026-11", f"inspection #{recorded.pk} item toilets", 20.0, 30.0,
    )  # fmt: skip
    after = assessment.assess(example_site, store, NOVEMBER)
    assert after.vendor("property").part("inspections").score == pytest.approx(95.0)  # type: ignore[union-attr]
    assert after.amendments[0]["reason"].startswith("re-inspected")
    # the figures as closed are kept with the closure
    kept = PeriodClosure.objects.get(period="2026-11").results
    assert next(v for v in kept["vendors"] if v["vendor"] == "property")["parts"][1]["score"] == pytest.approx(85.0)

    dsn = {**stack.postgres_dsn(), "dbname": workorder_db}
    with psycopg.connect(**dsn) as connection:
        for statement in ("UPDATE workorders_periodclosure SET closed_by = 'someone'", "DELETE FROM workorders_amendment"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                connection.execute(statement)
            connection.rollback()


def test_a_survey_link_takes_one_anonymous_response_and_none_after_closing(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    from facmon.workorders import assessment, surveys
    from facmon.workorders.models import SurveyResponse
    from facmon.workorders.orders import RequestInvalid

    survey, tokens = surveys.issue_survey(example_site, officer(), vendor="property", building="341122A001", period="2026-11", links=3)
    assert [q["id"] for q in survey.questions] == ["overall", "response", "cleaning", "security", "canteen"]  # property's services
    surveys.answer_survey(tokens[0], {"overall": 5, "response": "良", "cleaning": "优"}, today=date(2026, 11, 20))
    with pytest.raises(surveys.SurveyClosed, match="already been used"):
        surveys.answer_survey(tokens[0], {"overall": 1}, today=date(2026, 11, 20))
    with pytest.raises(RequestInvalid, match="question overall: 6 is outside the scale 1-5"):
        surveys.answer_survey(tokens[1], {"overall": 6}, today=date(2026, 11, 20))
    with pytest.raises(RequestInvalid, match="question elevator: is not a question of this survey"):
        surveys.answer_survey(tokens[1], {"elevator": 5}, today=date(2026, 11, 20))
    response = SurveyResponse.objects.get()
    assert response.answers == {"overall": 5, "response": 3, "cleaning": 4}
    assert {f.name for f in SurveyResponse._meta.get_fields()} == {"id", "survey", "answers", "comment", "submitted_on"}  # no link, no time

    records = assessment.survey_records("property", NOVEMBER)
    assert (records[0].issued, records[0].responses) == (3, 1)
    part = assessment.assess(example_site, store, NOVEMBER).vendor("property").part("satisfaction")  # type: ignore[union-attr]
    assert not part.available and part.flags == [f"survey #{survey.pk} 341122A001: not scored, 1 response(s), fewer than 10"]

    measured(store, "property", "2026-11", 80.0)
    assessment.close_period(example_site, store, NOVEMBER, "officer", DECEMBER_2)
    with pytest.raises(surveys.SurveyClosed, match="period is closed"):
        surveys.answer_survey(tokens[1], {"overall": 4}, today=date(2026, 12, 2))
    with pytest.raises(RequestInvalid, match="closed: no new survey"):
        surveys.issue_survey(example_site, officer(), vendor="property", building="341122A001", period="2026-11", links=3)


def test_a_third_party_file_with_any_problem_is_refused_whole_with_each_problem_by_row_and_column(
    example_site: Site, workorder_db: str, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    from facmon.workorders import third_party
    from facmon.workorders.models import ThirdPartyScore

    wrong_column = tmp_path / "wrong-column.csv"
    wrong_column.write_text("vendor,period,points,assessor\nproperty,2026-11,88,审计所\n", encoding="utf-8")
    with pytest.raises(third_party.ImportRefused) as refused:
        third_party.import_scores(example_site, officer(), wrong_column)
    assert [str(p) for p in refused.value.problems] == [
        "row 1, column points: unknown column; the template has vendor, period, score, assessor, note",
        "row 1, column score: required column missing",
    ]

    bad_rows = tmp_path / "bad-rows.csv"
    bad_rows.write_text(
        "vendor,period,score,assessor,note\n"
        "property,2026-11,88,诚信评估公司,\n"  # fine on its own
        "cleanco,2026-11,90,诚信评估公司,\n"  # unknown vendor
        "hvac,2026-11,101,诚信评估公司,\n"  # out of range
        "property,2026-11,87,诚信评估公司,again\n"  # duplicate of row 2
        "elevator,2026-13,80,,\n",  # bad month, no assessor
        encoding="utf-8",
    )
    with pytest.raises(third_party.ImportRefused) as refused:
        third_party.import_scores(example_site, officer(), bad_rows)
    assert [(p.row, p.column) for p in refused.value.problems] == [
        (3, "vendor"),
        (4, "score"),
        (5, "vendor"),
        (6, "period"),
        (6, "assessor"),
    ]
    assert "'cleanco' is not a vendor of the registry" in str(refused.value)
    assert "vendor property and period 2026-11 already in row 2" in str(refused.value)
    assert ThirdPartyScore.objects.count() == 0  # nothing half-imported

    excel = tmp_path / "typed-in-excel.xlsx"  # Excel turns a typed 2026-11 into a date, and 88% into 0.88
    workbook = Workbook()
    workbook.active.append(["vendor", "period", "score", "assessor"])
    workbook.active.append(["property", datetime(2026, 11, 1), 0.88, "诚信评估公司"])
    workbook.active["C2"].number_format = "0%"
    workbook.save(excel)
    with pytest.raises(third_party.ImportRefused) as refused:
        third_party.import_scores(example_site, officer(), excel)
    assert [str(p) for p in refused.value.problems] == [
        "row 2, column score: '88%' is a percent; write the score as a number from 0 to 100"
    ]

    good = tmp_path / "good.xlsx"
    workbook = Workbook()
    workbook.active.append(["vendor", "period", "score", "assessor", "note"])
    workbook.active.append(["property", "2026-11", 88, "诚信评估公司", "季度抽样"])
    workbook.active.append(["hvac", "2026-Q4", 92.5, "诚信评估公司", None])
    workbook.save(good)
    rows = third_party.import_scores(example_site, officer(), good)
    assert [(r.vendor, r.period, r.score, r.source) for r in rows] == [
        ("property", "2026-11", 88.0, "good.xlsx row 2"), ("hvac", "2026-Q4", 92.5, "good.xlsx row 3"),
    ]  # fmt: skip
    with pytest.raises(third_party.ImportRefused, match="row 2, column period: a score of property for 2026-11 was imported before"):
        third_party.import_scores(example_site, officer(), good)


def _cli_env(stack_env: dict[str, str], workorder_db: str) -> dict[str, str]:
    env = dict(stack_env)
    for key in (
        "FACMON_POSTGRES_HOST",
        "FACMON_POSTGRES_PORT",
        "FACMON_POSTGRES_USER",
        "FACMON_POSTGRES_PASSWORD",
        "FACMON_WEB_SECRET_KEY",
    ):
        env[key] = os.environ[key]
    env["FACMON_POSTGRES_DB"] = workorder_db
    return env


def test_the_command_the_api_the_page_and_the_dashboard_points_give_the_same_figures(
    store: InfluxStore, example_site: Site, stack_env: dict[str, str], workorder_db: str, web: WebService
) -> None:
    from facmon.workorders import surveys
    from facmon.workorders.site_registry import use_store

    use_store(store)
    inspect(example_site, date(2026, 11, 5), {"toilets": 20, "records": 14})
    survey, tokens = surveys.issue_survey(example_site, officer(), vendor="property", building="341122A001", period="2026-11", links=20)
    for n, token in enumerate(tokens[:12]):
        surveys.answer_survey(token, {"overall": 5 - n % 3, "response": "良"}, today=date(2026, 11, 20))

    command = [str(Path(sys.executable).with_name("facmon")), "score", "vendors", "--combined", "--period", "2026-11", "--format", "json"]
    run = subprocess.run(command, env=_cli_env(stack_env, workorder_db), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    printed = json.loads(run.stdout)

    auth = ("officer", ACCOUNTS["officer"][0])
    api = requests.get(f"{web.url}/api/assessments/2026-11", auth=auth, timeout=60).json()
    assert api["vendors"] == printed["vendors"]
    assert api["history"] == printed["history"]

    property_result = next(v for v in printed["vendors"] if v["vendor"] == "property")
    parts = {p["part"]: p for p in property_result["parts"]}
    assert parts["inspections"]["score"] == pytest.approx(84.0)  # (30+20+20+14)/100
    assert parts["satisfaction"]["available"] and parts["satisfaction"]["basis"] == "1 survey(s), 12 response(s) of 20 links (60%)"
    assert not parts["third_party"]["available"]
    assert sum(loss["combined_points"] for p in parts.values() for loss in p["losses"]) == pytest.approx(
        100 - property_result["score"], abs=0.05 + 1e-9
    )

    stored = store.rows('SELECT * FROM "vendor_assessment" WHERE "period" = \'2026-11\'')
    graded = [v for v in printed["vendors"] if v["score"] is not None]
    assert sorted((r["vendor"], r["score"], r["grade"]) for r in stored) == sorted((v["vendor"], v["score"], v["grade"]) for v in graded)

    from tests.test_workorder_api import signed_in

    page = signed_in(web, "officer").get(f"{web.url}/assessment/2026-11/", timeout=60).text
    for vendor in graded:  # each vendor's card shows its score as the command printed it
        assert re.search(rf'id="vendor-{vendor["vendor"]}".*?class="score"[^>]*>{vendor["score"]:.1f}<', page, re.S), vendor["vendor"]
    assert "保洁服务检查表 (scheduled): 卫生间无异味，洁具清洁，耗材齐全" in page and "20 of 30 points; marked down" in page


def test_a_vendor_sees_its_own_results_and_an_occupant_none(store: InfluxStore, workorder_db: str, web: WebService) -> None:
    from facmon.workorders.site_registry import use_store

    use_store(store)
    own = requests.get(f"{web.url}/api/assessments/2026-11", auth=("property-staff", ACCOUNTS["property-staff"][0]), timeout=60)
    assert own.status_code == 200 and [v["vendor"] for v in own.json()["vendors"]] == ["property"]
    assert list(own.json()["history"]) == ["property"]
    from tests.test_workorder_api import signed_in

    page = signed_in(web, "property-staff").get(f"{web.url}/assessment/2026-11/", timeout=60)
    assert page.status_code == 200 and 'id="vendor-property"' in page.text and 'id="vendor-hvac"' not in page.text
    assert signed_in(web, "occupant").get(f"{web.url}/assessment/2026-11/", timeout=60).status_code == 404
    occupant = requests.get(f"{web.url}/api/assessments/2026-11", auth=("occupant", ACCOUNTS["occupant"][0]), timeout=60)
    assert occupant.status_code == 403
    bad = requests.get(f"{web.url}/api/assessments/2026-13", auth=("officer", ACCOUNTS["officer"][0]), timeout=60)
    assert bad.status_code == 400 and "month must be 01..12" in bad.json()["detail"]


def test_three_failing_months_in_a_row_bring_a_warning_then_a_recommendation_not_to_renew(
    store: InfluxStore, example_site: Site, workorder_db: str, tmp_path: Path
) -> None:
    from facmon.workorders import assessment, third_party

    # hvac: measured 40 and a third party's 40 in September, October and November (0.55 of the weights:
    # graded), 70 in August; hvac's contract deducts 3 % of its 38,000 CNY fee for a failing grade
    rows = ["vendor,period,score,assessor"]
    for month, score in (("2026-08", 70.0), ("2026-09", 40.0), ("2026-10", 40.0), ("2026-11", 40.0)):
        measured(store, "hvac", month, score)
        rows.append(f"hvac,{month},{score},审计所")
    (tmp_path / "scores.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    third_party.import_scores(example_site, officer(), tmp_path / "scores.csv")

    card = assessment.assess(example_site, store, NOVEMBER)
    hvac = card.vendor("hvac")
    assert hvac is not None and (hvac.score, hvac.grade_label) == (40.0, "不合格")
    assert [(e.period, e.score, e.standing) for e in card.history["hvac"]] == [
        ("2026-08", 70.0, "good_standing"), ("2026-09", 40.0, "warned"), ("2026-10", 40.0, "warned"), ("2026-11", 40.0, "not_recommended"),
    ]  # fmt: skip
    c = hvac.consequence
    assert c is not None
    assert (c.failing_run, c.warning, c.not_renew, c.deduction_percent, c.deduction_cny) == (3, True, True, 3.0, 1140.0)
    assert "the contract's 3 reached, not to be renewed" in c.reason
    october = assessment.assess(example_site, store, parse_period("2026-10")).vendor("hvac")
    assert october is not None and october.consequence is not None and october.consequence.standing.value == "warned"
    # a vendor without evidence is ungraded, with the reason, and has no consequence
    elevator = card.vendor("elevator")
    assert elevator is not None and elevator.score is None and elevator.consequence is None
    assert elevator.explanation.startswith("not graded: parts with evidence carry 0.00 of the weights")


def test_a_quarter_takes_the_inspections_on_its_days_and_the_months_surveys(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    from facmon.workorders import assessment

    inspect(example_site, date(2026, 10, 5), {"toilets": 20})  # 90
    inspect(example_site, date(2026, 11, 5), {})  # 100
    inspect(example_site, date(2026, 9, 30), {"lobby": 0})  # Q3: not in Q4
    part = assessment.assess(example_site, store, parse_period("2026-Q4")).vendor("property").part("inspections")  # type: ignore[union-attr]
    assert (part.score, part.basis) == (pytest.approx(95.0), "2 inspection(s): 2 scheduled, 0 spot")


def test_a_closed_period_keeps_the_measured_scores_and_rules_it_closed_with(
    store: InfluxStore, example_site: Site, workorder_db: str
) -> None:
    from facmon.registry import AssessmentWeights, VendorAssessment
    from facmon.workorders import assessment, surveys

    measured(store, "property", "2026-11", 80.0)
    measured(store, "property", "2026-12", 80.0)
    inspect(example_site, date(2026, 11, 5), {"toilets": 20})  # 90
    closed = assessment.close_period(example_site, store, NOVEMBER, "officer", DECEMBER_2).vendor("property")
    assert closed is not None and closed.score == 83.8  # 80 × 0.40/0.65 + 90 × 0.25/0.65 = 49.231 + 34.615 = 83.846

    # later: `facmon score vendors --period 2026-11` reruns with other data, and the registry's weights change
    measured(store, "property", "2026-11", 40.0)
    reweighted = VendorAssessment(weights=AssessmentWeights(measured=0.7, inspections=0.1, satisfaction=0.1, third_party=0.1))
    changed = example_site.model_copy(update={"vendor_assessment": reweighted})
    november = assessment.assess(changed, store, NOVEMBER)
    assert november.vendor("property").score == 83.8 and november.weights["measured"] == 0.40  # type: ignore[union-attr]
    assert assessment.assess(changed, store, parse_period("2026-12")).weights["measured"] == 0.7  # an open period follows the registry

    # a closed month closes neither its quarter's surveys nor its year's
    survey, tokens = surveys.issue_survey(example_site, officer(), vendor="property", building="341122A001", period="2026-Q4", links=2)
    surveys.answer_survey(tokens[0], {"overall": 5}, today=date(2026, 12, 2))
    assert survey.responses.count() == 1


def test_the_dashboard_loses_the_point_of_a_vendor_no_longer_graded(store: InfluxStore, example_site: Site, workorder_db: str) -> None:
    from facmon.registry import VendorAssessment
    from facmon.workorders import assessment

    measured(store, "hvac", "2026-11", 70.0)  # the measured part alone: graded only with a lower bar
    lenient = example_site.model_copy(update={"vendor_assessment": VendorAssessment(min_scored_weight=0.4)})
    assert assessment.write_assessments(store, assessment.assess(lenient, store, NOVEMBER), "Asia/Shanghai") == 1
    assert store.rows('SELECT "score" FROM "vendor_assessment" GROUP BY "vendor"')[0]["vendor"] == "hvac"
    assert assessment.write_assessments(store, assessment.assess(example_site, store, NOVEMBER), "Asia/Shanghai") == 0
    assert store.rows('SELECT "score" FROM "vendor_assessment"') == []


def test_the_page_and_the_api_say_so_when_influxdb_does_not_answer(workorder_db: str, web: WebService) -> None:
    from facmon.stack import free_port
    from facmon.workorders.site_registry import use_store
    from tests.test_workorder_api import signed_in

    use_store(InfluxStore(f"http://127.0.0.1:{free_port()}", "nothing-listens"))
    answer = requests.get(f"{web.url}/api/assessments/2026-11", auth=("officer", ACCOUNTS["officer"][0]), timeout=60)
    assert answer.status_code == 503 and "the measurement database does not answer" in answer.json()["detail"]
    page = signed_in(web, "officer").get(f"{web.url}/assessment/2026-11/", timeout=60)
    assert page.status_code == 503 and "测量数据库没有响应" in page.text


def test_the_vendor_sees_which_of_its_orders_passed_an_sla_limit_in_the_period(
    store: InfluxStore, example_site: Site, workorder_db: str, web: WebService
) -> None:
    from facmon.schema.faults import FaultSeries, start_line
    from facmon.workorders import orders
    from facmon.workorders.fault_sync import sync_faults
    from facmon.workorders.models import WorkOrder
    from facmon.workorders.site_registry import use_store
    from tests.test_workorder_api import signed_in

    use_store(store)
    onset = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
    chiller = FaultSeries(kind="equipment_fault_code", target="CH-1", severity="critical", vendor="hvac")
    store.write([start_line("341122A001", chiller, int(onset.timestamp()), 101, "fault code 101", raised_s=int(onset.timestamp()))])
    sync_faults(store, example_site, onset - timedelta(hours=1), onset + timedelta(minutes=1))
    orders.mark_breaches(example_site, onset + timedelta(minutes=481))  # hvac critical: on site 60, restore 480
    order = WorkOrder.objects.get()

    hvac_page = signed_in(web, "hvac-staff").get(f"{web.url}/assessment/2026-11/", timeout=60).text
    listed = re.search(r'<table class="breaches">(.*?)</table>', hvac_page, re.S)
    assert listed is not None and order.number in listed.group(1)
    assert "未按时到场" in listed.group(1) and "未按时恢复" in listed.group(1)
    assert order.number not in signed_in(web, "property-staff").get(f"{web.url}/assessment/2026-11/", timeout=60).text


def test_the_commands_issue_import_close_amend_and_publish(
    store: InfluxStore, stack_env: dict[str, str], workorder_db: str, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    env = _cli_env(stack_env, workorder_db)
    facmon = str(Path(sys.executable).with_name("facmon"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        by = ["--by", "officer"] if args[0] in ("survey", "import", "close", "amend") else []  # who, for the records
        return subprocess.run([facmon, "assess", *args, *by], env=env, capture_output=True, text=True, timeout=300)

    issued = run("survey", "--vendor", "elevator", "--building", "341122A002", "--period", "2026-11", "--links", "3", "--format", "json")
    assert issued.returncode == 0, issued.stderr
    assert [url.rsplit("/", 3)[1] for url in json.loads(issued.stdout)["links"]] == ["s", "s", "s"]

    template = tmp_path / "third-party.csv"
    assert run("template", "--out", str(template)).returncode == 0
    assert template.read_text(encoding="utf-8-sig").splitlines()[0] == "vendor,period,score,assessor,note"
    imported = run("import", str(template))
    assert imported.returncode == 0, imported.stderr
    again = run("import", str(template))
    assert again.returncode == 2 and "nothing imported, 1 problem(s)" in again.stderr and "row 2, column period" in again.stderr

    closed = run("close", "--period", "2026-11", "--format", "json")
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["closed"]["by"] == "officer"
    assert run("close", "--period", "2026-11").returncode == 2

    amended = run("amend", "--third-party", "property", "--period", "2026-11", "--points", "88", "--reason", "the assessor's revised sheet")
    assert amended.returncode == 0, amended.stderr

    results = tmp_path / "results.xlsx"
    assert run("publish", "--period", "2026-11", "--out", str(results)).returncode == 0
    sheet = load_workbook(results)["results"]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    property_row = dict(zip(header, next(r for r in rows if r[1] == "property"), strict=True))
    assert property_row["state"].startswith("closed ") and property_row["third_party"] == 88.0
    published = tmp_path / "results.json"
    assert run("publish", "--period", "2026-11", "--out", str(published)).returncode == 0
    (amendment,) = json.loads(published.read_text(encoding="utf-8"))["amendments"]
    assert (amendment["by"], amendment["before"], amendment["after"], amendment["reason"]) == (
        "officer", {"score": 86.5}, {"score": 88.0}, "the assessor's revised sheet",
    )  # fmt: skip
