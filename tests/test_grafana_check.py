"""What facmon provisions, read as Grafana 11 reads it (grafana/check.py and check/main.go: yaml.v3 into
Grafana's shapes, Grafana's environment expansion, Alertmanager's timeinterval, Go's text/template with
Alertmanager's functions), and every fault's message as the vendor reads it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from facmon.alerts.routing import deliveries
from facmon.alerts.rules import FAULT_KINDS, SEVERITY_ZH, rule_uid
from facmon.cli import app
from facmon.dashboards.datasource import datasource_settings
from facmon.grafana.check import CheckReport, ProvisioningRefused, SampleAlert, check_files
from facmon.grafana.provisioning import provisioning_files
from facmon.registry import Site
from facmon.schema.faults import NAME_TAG, building_name_tag
from facmon.settings import Endpoints
from facmon.standards import Severity
from tests.conftest import EXAMPLE_SITE

ENDPOINTS = Endpoints(mqtt_host="127.0.0.1", mqtt_port=1883, influx_url="http://influxdb:8086", influx_database="facmon")
EXTERNAL_URL = "https://grafana.example.gov.cn/"
STARTS = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)  # 11:00 in Beijing
ENDS = datetime(2026, 3, 4, 5, 30, tzinfo=UTC)


def _files(site: Site) -> dict[str, str]:
    return provisioning_files(site, datasource_settings(ENDPOINTS, "1"), "zh")


def _edit(files: dict[str, str], name: str, change) -> dict[str, str]:  # noqa: ANN001 - a function of the YAML document
    document = yaml.safe_load(files[name])
    change(document)
    return {**files, name: yaml.safe_dump(document, allow_unicode=True, sort_keys=False)}


def _sample(
    site: Site, kind: str, building: str, vendor: str, severity: Severity, target: str, ends: datetime | None = None, *, named: bool = True
) -> SampleAlert:
    """An alert as the rule's query labels it: the fault's tags, with the building's name as the analysis
    writes it on the points (``named``; False: a point written before the name was)."""
    labels = {"building": building, "vendor": vendor, "severity": severity.value, "kind": kind, "target": target}
    registered = next((b for b in site.buildings if b.code == building), None)
    if named and registered is not None:
        labels[NAME_TAG] = building_name_tag(registered.name)
    # The contact point the policy tree routes the alert to first (the vendor's; a critical one also goes
    # to the energy office).
    receiver = deliveries(_objects_tree(site), labels)[-1].receiver
    return SampleAlert(rule_uid(kind), receiver, labels, STARTS, ends, EXTERNAL_URL)


def _objects_tree(site: Site) -> dict:
    from facmon.alerts.notifications import policy_tree

    return policy_tree(site)


@pytest.fixture(scope="module")
def exported(example_site: Site) -> dict[str, str]:
    return _files(example_site)


def test_every_exported_file_is_read_by_grafana_without_a_problem(exported: dict[str, str]) -> None:
    report = check_files(exported)
    assert report.problems == []
    assert {
        f"alerting/{name}" for name in ("rules.yaml", "contact-points.yaml", "policies.yaml", "templates.yaml", "mute-timings.yaml")
    } <= set(report.files)
    assert {"dashboards/facmon.yaml", "datasources/facmon.yaml"} <= set(report.files)


def _set_template(document: dict) -> None:
    document["templates"][0]["template"] = document["templates"][0]["template"].replace("{{ $.ExternalURL }}", "{{ $$.ExternalURL }}")


def _set_annotation(document: dict) -> None:
    rule = document["groups"][0]["rules"][0]
    rule["annotations"]["summary"] = rule["annotations"]["summary"].replace("$labels", "$$labels")


def _unknown_function(document: dict) -> None:
    document["templates"][0]["template"] += '{{ define "x" }}{{ humanize 3 }}{{ end }}'


def _provider_uid(document: dict) -> None:
    document["providers"][0]["folderUid"] = "facmon"


def _other_folder(document: dict) -> None:
    document["providers"][0]["folder"] = "facmon-dashboards"


def _markdown(document: dict) -> None:
    for point in document["contactPoints"]:
        for receiver in point["receivers"]:
            if receiver["type"] == "dingding":
                receiver["settings"]["msgType"] = "markdown"


def _bare_dollar(document: dict) -> None:
    document["contactPoints"][0]["receivers"][0]["settings"]["url"] = "https://hooks.example/$TOKEN"


def _bad_mute_time(document: dict) -> None:
    document["muteTimes"][0]["time_intervals"][0]["times"] = [{"start_time": "25:00", "end_time": "26:00"}]


def _typo(document: dict) -> None:
    document["groups"][0]["rules"][0]["folderUID"] = "facmon"


def _nested_folder(document: dict) -> None:
    document["groups"][0]["folder"] = "机关/facmon"


DEFECTS = {
    # file, change, what the check says (a part of it)
    "a $$ in a notification template (stops Grafana)": ("alerting/templates.yaml", _set_template, "bad character U+0024"),
    "a $$labels in an annotation": ("alerting/rules.yaml", _set_annotation, "bad character U+0024"),
    "a function Alertmanager's templates lack": ("alerting/templates.yaml", _unknown_function, 'function "humanize" not defined'),
    "a dashboard provider looking for the folder by uid": ("dashboards/facmon.yaml", _provider_uid, "random uid"),
    "dashboards in another folder than the rules": ("dashboards/facmon.yaml", _other_folder, "two folders"),
    "DingTalk markdown (sent as a truncated link)": ("alerting/contact-points.yaml", _markdown, "as link"),
    "a $ Grafana would expand": ("alerting/contact-points.yaml", _bare_dollar, "Grafana expands"),
    "a mute timing Alertmanager cannot read": ("alerting/mute-timings.yaml", _bad_mute_time, "Grafana cannot read the file"),
    "a key Grafana does not know": ("alerting/rules.yaml", _typo, "folderUID"),
    "a folder title with a slash (a nested path to Grafana)": ("alerting/rules.yaml", _nested_folder, "nested folder"),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_defect_that_would_break_grafana_is_found(exported: dict[str, str], defect: str) -> None:
    name, change, said = DEFECTS[defect]
    report = check_files(_edit(exported, name, change))
    assert any(problem.file == name and said in problem.error for problem in report.problems), report.problems


def _expand(site: Site, files: dict[str, str], samples: list[SampleAlert]) -> CheckReport:
    report = check_files(files, samples)
    assert report.problems == []
    assert len(report.messages) == len(samples)
    return report


def test_a_vendor_reads_the_whole_alert_in_chinese_with_local_time_a_dashboard_link_and_its_work_order(
    example_site: Site, exported: dict[str, str]
) -> None:
    sample = _sample(example_site, "equipment_fault_code", "341122A003", "hvac", Severity.MAJOR, "CH-1")
    (message,) = _expand(example_site, exported, [sample]).messages
    assert message.receiver == "facmon-vendor-hvac"
    assert message.title == "【设施故障】1 条"
    assert message.message == (
        "正在发生：\n"
        "● 【重要】县政府办公楼：设备故障代码（CH-1）\n"
        "建筑编码 341122A003，故障对象 CH-1。责任服务商：华通机电设备维保有限公司。按合同应在 120 分钟内到场、1440 分钟内恢复。\n"
        "开始时间：2026-03-04 11:00（北京时间）\n"
        "建筑看板：https://grafana.example.gov.cn/d/facmon-building?var-building=341122A003\n"
        f"工单（接单、到场、完工）：{example_site.work_orders.public_url}/f/341122A003/equipment_fault_code/CH-1/\n"
    )


def test_a_fault_point_without_the_name_shows_the_building_code(example_site: Site, exported: dict[str, str]) -> None:
    """A fault started before the analysis wrote building_name has no name label: the message shows the code."""
    sample = _sample(example_site, "equipment_fault_code", "341122A003", "hvac", Severity.MAJOR, "CH-1", named=False)
    (message,) = _expand(example_site, exported, [sample]).messages
    assert message.message.startswith("正在发生：\n● 【重要】341122A003：设备故障代码（CH-1）\n")


def test_a_fault_no_vendor_covers_links_to_no_work_order(example_site: Site, exported: dict[str, str]) -> None:
    sample = _sample(example_site, "meter_stuck", "341122A003", "none", Severity.MINOR, "E-MAIN")
    (message,) = _expand(example_site, exported, [sample]).messages
    assert "建筑看板：" in message.message
    assert "工单" not in message.message and "/f/" not in message.message


def test_every_fault_kind_reaches_its_vendor_as_readable_chinese(example_site: Site, exported: dict[str, str]) -> None:
    severities = list(Severity)
    samples = [
        _sample(example_site, kind, building.code, vendor.id, severities[i % 3], f"T-{i}")
        for i, (kind, building, vendor) in enumerate(
            (kind, example_site.buildings[i % len(example_site.buildings)], example_site.vendors[i % len(example_site.vendors)])
            for i, kind in enumerate(FAULT_KINDS)
        )
    ]
    report = _expand(example_site, exported, samples)
    for sample, message in zip(samples, report.messages, strict=True):
        labels = sample.labels
        building = example_site.building(labels["building"])
        vendor = example_site.vendor(labels["vendor"])
        assert building is not None and vendor is not None
        text = message.message
        assert message.rule == sample.rule and message.title == "【设施故障】1 条"
        assert (
            f"【{SEVERITY_ZH[Severity(labels['severity'])]}】{building.name}：{FAULT_KINDS[labels['kind']]}（{labels['target']}）" in text
        )
        assert f"责任服务商：{vendor.name}。" in text
        assert "开始时间：2026-03-04 11:00（北京时间）" in text
        assert f"建筑看板：{EXTERNAL_URL}d/facmon-building?var-building={building.code}\n" in text
        assert "{{" not in text and "[no value]" not in text and "<no value>" not in text


def test_a_resolved_alert_says_when_it_was_restored(example_site: Site, exported: dict[str, str]) -> None:
    sample = _sample(example_site, "water_leak", "341122A002", "property", Severity.MINOR, "W-TOILET", ends=ENDS)
    (message,) = _expand(example_site, exported, [sample]).messages
    assert message.title == "【故障已恢复】1 条"
    assert message.message.startswith("已恢复：\n○ 【一般】县人大办公楼：疑似漏水（W-TOILET）\n")
    assert "开始时间：2026-03-04 11:00，恢复时间：2026-03-04 13:30（北京时间）" in message.message


def test_registry_names_that_look_like_templates_are_shown_as_written(example_site: Site) -> None:
    """A name reaches the message as the value of the building_name label: Go's template prints it, never parses it."""
    odd_building = 'A{{ .Status }}楼 $HOME "x" {'
    odd_vendor = "物业{{ end }}$$公司}}"
    buildings = [example_site.buildings[0].model_copy(update={"name": odd_building}), *example_site.buildings[1:]]
    vendors = [example_site.vendors[0].model_copy(update={"name": odd_vendor}), *example_site.vendors[1:]]
    site = example_site.model_copy(update={"buildings": buildings, "vendors": vendors})
    vendor = vendors[0]
    sample = _sample(site, "water_leak", buildings[0].code, vendor.id, Severity.MAJOR, "W-1")
    (message,) = _expand(site, _files(site), [sample]).messages
    assert message.annotations["summary"] == f"【重要】{odd_building}：疑似漏水（W-1）"
    assert f"责任服务商：{odd_vendor}。" in message.annotations["description"]
    assert odd_building in message.message


def test_export_refuses_to_write_anything_grafana_would_refuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import facmon.grafana.provisioning as provisioning

    real = provisioning.alerting_documents

    def broken(objects, folder_title):  # noqa: ANN001, ANN202 - the documents, with the old defect back
        documents = real(objects, folder_title)
        template = documents["templates.yaml"]["templates"][0]
        template["template"] = template["template"].replace("{{ $.ExternalURL }}", "{{ $$.ExternalURL }}")
        return documents

    monkeypatch.setattr(provisioning, "alerting_documents", broken)
    out = tmp_path / "provisioning"
    result = CliRunner().invoke(app, ["grafana", "export", "--out", str(out), "--site", str(EXAMPLE_SITE)], env={"FACMON_INFLUX_TOKEN": ""})
    assert isinstance(result.exception, ProvisioningRefused)  # `facmon` prints it as an error, exit code 2
    assert "alerting/templates.yaml: template facmon:" in str(result.exception) and "nothing was written" in str(result.exception)
    assert not out.exists()
