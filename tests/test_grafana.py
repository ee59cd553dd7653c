"""Grafana as code: the datasource, the dashboards, the provisioning files and the HTTP push.

Without a Grafana server, every claim is checked against what Grafana publishes and what InfluxDB
does: requests through the real grafana-client to a loopback server holding them to Grafana's
OpenAPI spec (tests/grafana_contract.py), dashboards against the dashboard JSON Schema, and every
panel's InfluxQL, templated as Grafana templates it, run against a real InfluxDB holding simulated
readings and collector statistics with known answers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_client.client import GrafanaBadInputError
from typer.testing import CliRunner

from facmon.analytics.reference import write_building_references
from facmon.cli import app
from facmon.dashboards.blocks import ALL, BUILDING_VARIABLE_QUERY, NAMES_REF, panel_targets
from facmon.dashboards.catalog import DASHBOARDS, FOLDER_UID, build_dashboards, folder_title
from facmon.dashboards.data_health import OFFLINE_INTERVALS, device_kinds
from facmon.dashboards.data_health import UID as DATA_HEALTH_UID
from facmon.dashboards.datasource import (
    DATASOURCE_UID,
    DatasourceSettings,
    InfluxVersion,
    SecretRef,
    datasource_api_body,
    datasource_provisioning,
    datasource_settings,
)
from facmon.dashboards.titles import CATALOGUE, title
from facmon.errors import FacmonError
from facmon.grafana.push import Action, DesiredState, apply, connect, plan
from facmon.ingest import Collector
from facmon.ingest.model import Reason, Rejection
from facmon.ingest.rejections import rejection_line
from facmon.registry import Site
from facmon.schema import LABEL_VARIABLE_REGEX, StoreProblem
from facmon.settings import Endpoints
from facmon.simulators import SiteSimulator
from facmon.simulators.backfill import backfill
from facmon.stack import Stack, free_port
from facmon.store import InfluxStore
from tests.conftest import EXAMPLE_SITE
from tests.grafana_contract import (
    ContractGrafana,
    contract_folder,
    dashboard_problems,
    render_influxql,
)

TOKEN = "glsa_test-token-for-the-stand-in"
INFLUX_TOKEN = "influx-secret-0123456789"
A001, A002, A003 = "341122A001", "341122A002", "341122A003"
ENDPOINTS = Endpoints(mqtt_host="127.0.0.1", mqtt_port=1883, influx_url="http://influxdb:8086", influx_database="facmon")


def _clear_influx_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "FACMON_INFLUX_TOKEN",
        "FACMON_INFLUX_TOKEN_FILE",
        "FACMON_INFLUX_USERNAME",
        "FACMON_INFLUX_USERNAME_FILE",
        "FACMON_INFLUX_PASSWORD",
        "FACMON_INFLUX_PASSWORD_FILE",
        "FACMON_INFLUX_VERSION",
        "FACMON_GRAFANA_TOKEN",
        "FACMON_GRAFANA_TOKEN_FILE",
        "FACMON_GRAFANA_URL",
    ):
        monkeypatch.delenv(name, raising=False)


# -- contract files --------------------------------------------------------------------------------


def test_contract_files_are_found() -> None:
    """The Grafana contract folder is present; without it these tests fail rather than skip."""
    folder = contract_folder()
    assert (folder / "openapi3-grafana-11.4.0.json").is_file()
    assert (folder / "dashboard.jsonschema.json").is_file()


# -- dashboards ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_dashboard_is_valid_against_the_dashboard_schema(example_site: Site, lang: str) -> None:
    """Each dashboard of the catalogue, in each language, passes Grafana's strict dashboard JSON Schema."""
    built = build_dashboards(example_site, lang)
    assert set(built) == {entry.uid for entry in DASHBOARDS}
    for uid, model in built.items():
        assert dashboard_problems(model) == [], uid


def test_the_schema_check_catches_a_misspelt_panel_key(example_site: Site) -> None:
    """The dashboard schema is strict: a panel key Grafana does not know makes the dashboard invalid."""
    model = build_dashboards(example_site, "zh")[DATA_HEALTH_UID]
    model["panels"][1]["datasouce"] = model["panels"][1]["datasource"]
    assert any("datasouce" in problem for problem in dashboard_problems(model))


def test_titles_are_chinese_by_default_and_english_with_lang_en(example_site: Site) -> None:
    """Dashboard and panel titles come from the catalogue: Chinese for zh, English for en."""
    zh = build_dashboards(example_site, "zh")[DATA_HEALTH_UID]
    en = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    assert zh["title"] == "数据健康" and en["title"] == "Data health"
    zh_titles = [panel["title"] for panel in zh["panels"]]
    en_titles = [panel["title"] for panel in en["panels"]]
    assert len(zh_titles) == len(en_titles)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in zh_titles)
    assert all(text.isascii() for text in en_titles)


def test_every_catalogue_entry_has_both_languages() -> None:
    """No title is missing a translation, and placeholders agree between the two languages."""
    for key, (zh, en) in CATALOGUE.items():
        assert zh.strip() and en.strip(), key
        assert sorted(part.split("}")[0] for part in zh.split("{")[1:]) == sorted(part.split("}")[0] for part in en.split("{")[1:]), key


def _variable(model: dict[str, Any], name: str) -> dict[str, Any]:
    return next(v for v in model["templating"]["list"] if v["name"] == name)


def test_building_and_vendor_variables_list_the_registry(example_site: Site) -> None:
    """$vendor offers every vendor id of the registry; $building is a query of the site_building points
    (the dashboard holds no building of the registry); both with All (= any value)."""
    model = build_dashboards(example_site, "zh")[DATA_HEALTH_UID]
    building, vendor = _variable(model, "building"), _variable(model, "vendor")
    assert [o["value"] for o in vendor["options"]] == ["$__all"] + [v.id for v in example_site.vendors]
    assert building["allValue"] == vendor["allValue"] == ALL
    assert building["type"] == "query" and building["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
    assert building["query"] == BUILDING_VARIABLE_QUERY and building["regex"] == LABEL_VARIABLE_REGEX
    assert not any(b.code in json.dumps(model, ensure_ascii=False) for b in example_site.buildings)


def variable_options(variable: dict[str, Any], store: InfluxStore) -> list[tuple[str, str]]:
    """(text, value) of a query variable's options, as Grafana 11 makes them: the variable's query on the
    datasource, each frame's first string field as one text (InfluxDB datasource ``toMetricFindValue``),
    then the variable's regex with its named groups ``text`` and ``value`` applied to each
    (``metricNamesToVariableValues``), options unique by value, in the query's order (sort 0)."""
    pattern = variable["regex"]
    assert pattern.startswith("/") and pattern.endswith("/"), pattern
    regex = re.compile(pattern[1:-1].replace("(?<", "(?P<"))  # JavaScript's named groups in Python's spelling
    texts: list[str] = []
    for series in store.query(variable["query"]):
        string_column = next(
            i for i, column in enumerate(series["columns"]) if column != "time" and any(isinstance(row[i], str) for row in series["values"])
        )
        texts += [row[string_column] for row in series["values"] if row[string_column] not in texts]
    options: dict[str, str] = {}
    for text in texts:
        match = regex.search(text)
        if match:
            options.setdefault(match.group("value"), match.group("text"))
    assert variable["sort"] == 0
    return [(text, value) for value, text in options.items()]


def test_the_building_variable_lists_the_names_the_analysis_wrote(example_site: Site, store: InfluxStore) -> None:
    """$building lists "<name> (<code>)" with the code as the value, from the site_building points; a
    building added to the registry appears once they are written again, a renamed one under its new name."""
    model = build_dashboards(example_site, "zh")[DATA_HEALTH_UID]
    variable = _variable(model, "building")
    assert variable_options(variable, store) == []
    write_building_references(store, example_site, example_site.buildings, 1_780_000_000)
    assert variable_options(variable, store) == [(f"{b.name} ({b.code})", b.code) for b in example_site.buildings]
    registry = example_site.model_dump(mode="json")
    registry["buildings"].append({**registry["buildings"][0], "code": "341122A099", "name": "新建办公楼（东区）"})
    registry["buildings"][1]["name"] = "改名后的办公楼"
    grown = Site.model_validate(registry)
    assert grown.reference_problems() == []
    assert build_dashboards(grown, "zh")[DATA_HEALTH_UID] == model  # the registry edit changes no dashboard
    write_building_references(store, grown, grown.buildings, 1_780_086_400)
    options = variable_options(variable, store)
    assert ("新建办公楼（东区） (341122A099)", "341122A099") in options
    assert (f"改名后的办公楼 ({grown.buildings[1].code})", grown.buildings[1].code) in options and len(options) == len(grown.buildings)


def test_every_target_uses_the_fixed_datasource_uid(example_site: Site) -> None:
    """Panels and their queries name the datasource by its fixed uid, so provisioning order does not matter."""
    model = build_dashboards(example_site, "zh")[DATA_HEALTH_UID]
    targets = panel_targets(model)
    assert targets
    assert all(target["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID} for _, target in targets)
    assert all(target["rawQuery"] is True and target["query"].startswith("SELECT") for _, target in targets)


# -- datasource ------------------------------------------------------------------------------------


def test_influxdb_1_datasource_without_login_has_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """1.x: InfluxQL, database name, POST; no login means no secure fields."""
    _clear_influx_env(monkeypatch)
    settings = datasource_settings(ENDPOINTS)
    body = datasource_api_body(settings)
    assert settings.version is InfluxVersion.V1
    assert body["uid"] == DATASOURCE_UID and body["type"] == "influxdb" and body["url"] == "http://influxdb:8086"
    assert body["jsonData"] == {"version": "InfluxQL", "dbName": "facmon", "httpMode": "POST"}
    assert "secureJsonData" not in body


def test_influxdb_1_login_sends_the_password_but_exports_a_file_reference(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """1.x with a login: the API gets the password; the provisioning file only $__file{path}."""
    _clear_influx_env(monkeypatch)
    password_file = tmp_path / "influx-password"
    password_file.write_text("pa55word\n")
    monkeypatch.setenv("FACMON_INFLUX_USERNAME", "grafana")
    monkeypatch.setenv("FACMON_INFLUX_PASSWORD_FILE", str(password_file))
    settings = datasource_settings(ENDPOINTS)
    assert datasource_api_body(settings)["secureJsonData"] == {"password": "pa55word"}
    assert datasource_api_body(settings)["user"] == "grafana"
    exported = datasource_provisioning(settings)["datasources"][0]
    assert exported["secureJsonData"] == {"password": f"$__file{{{password_file}}}"}
    assert "pa55word" not in json.dumps(datasource_provisioning(settings))


@pytest.mark.parametrize("version", ["2", "3"])
def test_influxdb_2_and_3_put_the_token_in_an_authorization_header(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    """2.x and 3.x: InfluxQL with ``Authorization: Token <token>``; the export references $__env, never the token."""
    _clear_influx_env(monkeypatch)
    monkeypatch.setenv("FACMON_INFLUX_TOKEN", INFLUX_TOKEN)
    settings = datasource_settings(ENDPOINTS, version)
    body = datasource_api_body(settings)
    assert body["jsonData"]["httpHeaderName1"] == "Authorization"
    assert body["secureJsonData"] == {"httpHeaderValue1": f"Token {INFLUX_TOKEN}"}
    document = datasource_provisioning(settings)
    assert document["datasources"][0]["secureJsonData"] == {"httpHeaderValue1": "Token $__env{FACMON_INFLUX_TOKEN}"}
    assert INFLUX_TOKEN not in json.dumps(document)


def test_a_token_means_influxdb_2_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without FACMON_INFLUX_VERSION a token implies 2.x, no token 1.x."""
    _clear_influx_env(monkeypatch)
    assert datasource_settings(ENDPOINTS).version is InfluxVersion.V1
    monkeypatch.setenv("FACMON_INFLUX_TOKEN_FILE", "/run/secrets/influx-token")
    settings = datasource_settings(ENDPOINTS)
    assert settings.version is InfluxVersion.V2
    assert (
        datasource_provisioning(settings)["datasources"][0]["secureJsonData"]["httpHeaderValue1"]
        == "Token $__file{/run/secrets/influx-token}"
    )


def test_influxdb_2_without_a_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """2.x/3.x cannot be reached without a token: the error says which variable to set."""
    _clear_influx_env(monkeypatch)
    with pytest.raises(FacmonError, match="FACMON_INFLUX_TOKEN"):
        datasource_settings(ENDPOINTS, "2")
    with pytest.raises(FacmonError, match="expected 1, 2 or 3"):
        datasource_settings(ENDPOINTS, "4")


# -- export ----------------------------------------------------------------------------------------


def _run_cli(args: list[str], env: dict[str, str]) -> Any:
    result = CliRunner().invoke(app, args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_export_writes_provisioning_files_of_the_documented_shapes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`facmon grafana export --out DIR`: datasource YAML, a file provider YAML and the dashboard JSON files,
    shaped as Grafana's provisioning expects, with no secret in clear."""
    _clear_influx_env(monkeypatch)
    out = tmp_path / "provisioning"
    result = _run_cli(
        ["grafana", "export", "--out", str(out), "--site", str(EXAMPLE_SITE)],
        {"FACMON_INFLUX_URL": "http://influxdb:8086", "FACMON_INFLUX_DATABASE": "site", "FACMON_INFLUX_TOKEN": INFLUX_TOKEN},
    )
    assert result.exit_code == 0, result.output

    datasources = yaml.safe_load((out / "datasources" / "facmon.yaml").read_text())
    assert datasources["apiVersion"] == 1
    (entry,) = datasources["datasources"]
    assert {"name", "type", "uid", "url", "access", "jsonData"} <= set(entry)
    assert (entry["uid"], entry["type"], entry["url"], entry["jsonData"]["dbName"]) == (
        DATASOURCE_UID,
        "influxdb",
        "http://influxdb:8086",
        "site",
    )

    providers = yaml.safe_load((out / "dashboards" / "facmon.yaml").read_text())
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    # By title and without folderUid: the folder alert rules create by title (with a random uid) is the one
    # the dashboards go to, whichever Grafana provisions first (grafana/provisioning.py).
    assert provider["type"] == "file" and "folderUid" not in provider and provider["folder"] == folder_title("zh")
    assert provider["options"]["path"] == "/etc/grafana/provisioning/dashboards/facmon"

    files = sorted((out / "dashboards" / "facmon").glob("*.json"))
    assert [f.stem for f in files] == sorted(entry.file_stem for entry in DASHBOARDS)
    for path in files:
        model = json.loads(path.read_text())
        assert dashboard_problems(model) == [], path.name
    assert (out / "alerting").is_dir()
    assert not any(INFLUX_TOKEN in path.read_text() for path in out.rglob("*") if path.is_file())


def test_export_in_english_and_a_stale_dashboard_file_is_removed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """--lang en gives English titles; a JSON file no dashboard of the catalogue writes is removed."""
    _clear_influx_env(monkeypatch)
    out = tmp_path / "provisioning"
    (out / "dashboards" / "facmon").mkdir(parents=True)
    (out / "dashboards" / "facmon" / "retired.json").write_text("{}")
    result = _run_cli(["grafana", "export", "--out", str(out), "--site", str(EXAMPLE_SITE), "--lang", "en", "--format", "json"], {})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["files"][0] == "datasources/facmon.yaml"
    assert not (out / "dashboards" / "facmon" / "retired.json").exists()
    model = json.loads((out / "dashboards" / "facmon" / "data-health.json").read_text())
    assert model["title"] == "Data health"


# -- push through the real grafana-client to the contract server -----------------------------------


@pytest.fixture(scope="module")
def contract_server() -> Iterator[ContractGrafana]:
    server = ContractGrafana(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def grafana(contract_server: ContractGrafana) -> Iterator[ContractGrafana]:
    """The loopback Grafana, empty; the test fails if any request broke the contract."""
    contract_server.reset()
    yield contract_server
    assert [str(v) for v in contract_server.violations] == []


def _desired(site: Site, lang: str = "zh") -> DesiredState:
    settings = DatasourceSettings("http://influxdb:8086", "facmon", InfluxVersion.V2, token=SecretRef("FACMON_INFLUX_TOKEN"))
    return DesiredState(FOLDER_UID, folder_title(lang), settings, build_dashboards(site, lang))


def test_push_creates_everything_then_a_second_push_changes_nothing(
    example_site: Site, grafana: ContractGrafana, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first push creates folder, datasource and dashboards; the second only reads."""
    monkeypatch.setenv("FACMON_INFLUX_TOKEN", INFLUX_TOKEN)
    api = connect(grafana.url, TOKEN)
    desired = _desired(example_site)
    first = plan(api, desired)
    assert [(c.kind, c.action) for c in first] == [("folder", Action.CREATE), ("datasource", Action.CREATE)] + [
        ("dashboard", Action.CREATE) for _ in DASHBOARDS
    ]
    apply(api, first)
    assert grafana.state.folders[FOLDER_UID]["title"] == folder_title("zh")
    assert grafana.state.datasource_secrets[DATASOURCE_UID] == {"httpHeaderValue1": f"Token {INFLUX_TOKEN}"}
    for uid, model in desired.dashboards.items():
        stored = grafana.state.dashboards[uid]
        assert stored["folderUid"] == FOLDER_UID and stored["version"] == 1
        assert {k: v for k, v in stored["dashboard"].items() if k not in ("id", "version")} == model

    writes_before = len(grafana.writes())
    second = plan(api, desired)
    apply(api, second)
    assert {c.action for c in second} == {Action.UNCHANGED}
    assert len(grafana.writes()) == writes_before


def test_push_updates_only_what_changed(example_site: Site, grafana: ContractGrafana, monkeypatch: pytest.MonkeyPatch) -> None:
    """After switching to English, folder title and dashboards are updated (new version); the datasource is not."""
    monkeypatch.setenv("FACMON_INFLUX_TOKEN", INFLUX_TOKEN)
    api = connect(grafana.url, TOKEN)
    apply(api, plan(api, _desired(example_site, "zh")))
    changes = plan(api, _desired(example_site, "en"))
    assert {c.kind: c.action for c in changes if c.kind != "dashboard"} == {"folder": Action.UPDATE, "datasource": Action.UNCHANGED}
    assert {c.action for c in changes if c.kind == "dashboard"} == {Action.UPDATE}
    apply(api, changes)
    assert grafana.state.folders[FOLDER_UID]["title"] == folder_title("en")
    assert grafana.state.dashboards[DATA_HEALTH_UID]["version"] == 2
    assert grafana.state.dashboards[DATA_HEALTH_UID]["dashboard"]["title"] == "Data health"
    assert {c.action for c in plan(api, _desired(example_site, "en"))} == {Action.UNCHANGED}


def test_a_datasource_changed_in_grafana_is_put_back(example_site: Site, grafana: ContractGrafana, monkeypatch: pytest.MonkeyPatch) -> None:
    """If someone edits the datasource URL in Grafana, the next push updates it back to the registry's."""
    monkeypatch.setenv("FACMON_INFLUX_TOKEN", INFLUX_TOKEN)
    api = connect(grafana.url, TOKEN)
    apply(api, plan(api, _desired(example_site)))
    grafana.state.datasources[DATASOURCE_UID]["url"] = "http://elsewhere:8086"
    changes = plan(api, _desired(example_site))
    assert [c.action for c in changes if c.kind == "datasource"] == [Action.UPDATE]
    apply(api, changes)
    assert grafana.state.datasources[DATASOURCE_UID]["url"] == "http://influxdb:8086"


def test_the_contract_server_rejects_a_misspelt_key(grafana: ContractGrafana) -> None:
    """The stand-in is strict: a key Grafana does not define (folderUID for folderUid) is a violation, not ignored."""
    api = connect(grafana.url, TOKEN)
    with pytest.raises(GrafanaBadInputError):
        api.dashboard.update_dashboard({"dashboard": {"title": "x", "schemaVersion": 39}, "folderUID": FOLDER_UID})
    assert len(grafana.violations) == 1 and "folderUID" in grafana.violations[0].problem
    grafana.violations.clear()


def test_dry_run_prints_the_plan_and_sends_no_change(grafana: ContractGrafana, monkeypatch: pytest.MonkeyPatch) -> None:
    """`facmon grafana push --dry-run` lists create per object and only reads from Grafana; the token comes from a file."""
    _clear_influx_env(monkeypatch)
    env = {"FACMON_GRAFANA_TOKEN": TOKEN, "FACMON_INFLUX_URL": "http://influxdb:8086", "FACMON_INFLUX_DATABASE": "facmon"}
    result = _run_cli(["grafana", "push", "--url", grafana.url, "--site", str(EXAMPLE_SITE), "--dry-run", "--format", "json"], env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["dry_run"] is True
    # (the alerting objects the push also plans are checked in tests/test_alerting.py)
    assert [(c["kind"], c["action"]) for c in report["changes"] if c["kind"] in ("folder", "datasource", "dashboard")] == [
        ("folder", "create"),
        ("datasource", "create"),
    ] + [("dashboard", "create") for _ in DASHBOARDS]
    assert grafana.writes() == []
    result = _run_cli(["grafana", "push", "--url", grafana.url, "--site", str(EXAMPLE_SITE)], env)
    assert result.exit_code == 0, result.output
    assert len(grafana.state.dashboards) == len(DASHBOARDS)
    again = _run_cli(["grafana", "push", "--url", grafana.url, "--site", str(EXAMPLE_SITE), "--format", "json"], env)
    assert {c["action"] for c in json.loads(again.output)["changes"]} == {"unchanged"}


def test_push_reads_the_token_from_a_file(grafana: ContractGrafana, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """FACMON_GRAFANA_TOKEN_FILE names a file holding the token."""
    _clear_influx_env(monkeypatch)
    token_file = tmp_path / "grafana-token"
    token_file.write_text(TOKEN + "\n")
    result = _run_cli(
        ["grafana", "push", "--url", grafana.url, "--site", str(EXAMPLE_SITE), "--dry-run"], {"FACMON_GRAFANA_TOKEN_FILE": str(token_file)}
    )
    assert result.exit_code == 0, result.output
    assert "would change" in result.output


def test_push_without_a_token_or_with_a_wrong_one_fails_clearly(grafana: ContractGrafana, tmp_path: Path) -> None:
    """No token: exit 2 naming FACMON_GRAFANA_TOKEN. A token Grafana refuses: exit 2 saying so, no traceback."""
    base = {"PATH": "/usr/bin:/bin", "FACMON_HOME": str(tmp_path), "FACMON_SITE": str(EXAMPLE_SITE)}
    facmon = str(Path(sys.executable).with_name("facmon"))
    missing = subprocess.run(
        [facmon, "grafana", "push", "--url", grafana.url], check=False, env=base, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "FACMON_GRAFANA_TOKEN" in missing.stderr and "Traceback" not in missing.stderr
    wrong = subprocess.run(
        [facmon, "grafana", "push", "--url", grafana.url],
        check=False,
        env={**base, "FACMON_GRAFANA_TOKEN": "not-it"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2 and "refused the token" in wrong.stderr and "Traceback" not in wrong.stderr


# -- every panel's InfluxQL against a real InfluxDB ------------------------------------------------

COLLECTORS = ("c-one", "c-two")
STATS_EVERY_S = 10
RECEIVED_PER_S, WRITTEN_PER_S = 10, 9
DISK_FULL_STEPS = range(60, 120)  # c-two's statistics say InfluxDB's disk was full from 10 to 20 min into the 30
REJECTIONS = {  # (reason, building) -> how many
    (Reason.BAD_JSON, ""): 3,
    (Reason.UNKNOWN_DEVICE, A002): 2,
    (Reason.OUT_OF_RANGE, A003): 1,
}


class _SilencingStore:
    """Passes writes to the store, minus the lines of one meter (a meter that stopped reporting)."""

    def __init__(self, store: InfluxStore, building: str, meter: str):
        self.store, self.building, self.meter = store, building, meter

    def write(self, lines: list[str], precision: str = "ns") -> None:
        kept = [
            ln for ln in lines if not (ln.startswith("meter,") and f"building={self.building}," in ln and f",meter={self.meter}," in ln)
        ]
        self.store.write(kept, precision)


def _stats_lines(site: Site, store: InfluxStore, start_s: int, end_s: int) -> list[str]:
    """ingest_stats points as the collector writes them (its own stats_line), at known rates."""
    lines = []
    for collector_id in COLLECTORS:
        collector = Collector(site, store, mqtt_host="127.0.0.1", mqtt_port=1, client_id=collector_id)
        for step, at_s in enumerate(range(start_s, end_s, STATS_EVERY_S)):
            counters = replace(
                collector.counters,
                received=RECEIVED_PER_S * STATS_EVERY_S * step,
                written=WRITTEN_PER_S * STATS_EVERY_S * step,
                rejected={"bad_json": step, "unknown_device": 2 * step},
                spooled=50 if collector_id == "c-two" else 0,
                spool_bytes=4096 if collector_id == "c-two" else 0,
                spool_full=collector_id == "c-two",
                broker_dropped=3 * step if collector_id == "c-one" else None,
                newest_ts_ns=at_s * 10**9,
                store_error="disk_full" if collector_id == "c-two" and step in DISK_FULL_STEPS else "",
            )
            collector._counters = counters  # the counters a running collector would hold at this step
            stats = collector.stats_line()
            lines.append(stats.rsplit(" ", 1)[0] + f" {at_s * 10**9}")
    return lines


@pytest.fixture(scope="module")
def health_data(stack: Stack, example_site: Site) -> Iterator[dict[str, Any]]:
    """A database with 3 h of simulated readings (one meter of A001 silent for the last hour),
    30 min of two collectors' statistics and a known set of rejected inputs."""
    store = InfluxStore(stack.influx_url, f"test_{uuid.uuid4().hex[:12]}")
    store.create_database()
    now_s = int(time.time())
    end = datetime.fromtimestamp(now_s - now_s % 300, UTC)
    referenced = {e.meter for e in example_site.buildings[0].equipment if e.meter}
    silent_meter = next(m.id for m in example_site.buildings[0].meters if m.id not in referenced)
    simulator = SiteSimulator(example_site, seed=7)
    backfill(simulator, store, end - timedelta(hours=3), end - timedelta(hours=1))
    backfill(simulator, _SilencingStore(store, A001, silent_meter), end - timedelta(hours=1), end)  # type: ignore[arg-type]
    stats_start_s = now_s - 1800
    store.write(_stats_lines(example_site, store, stats_start_s, now_s))
    rejected = []
    for index, ((reason, building), count) in enumerate(REJECTIONS.items()):
        for k in range(count):
            rejection = Rejection(reason, building, f"test rejection {k}")
            rejected.append(
                rejection_line(example_site, rejection, f"facmon/{building or 'x'}/dev", "{bad", (now_s - 600 + 60 * index + k) * 10**9)
            )
    store.write(rejected)
    write_building_references(store, example_site, example_site.buildings, int(end.timestamp()) - 86400)  # as `facmon analyze` does
    yield {
        "store": store,
        "silent_meter": silent_meter,
        "start_s": int((end - timedelta(hours=3)).timestamp()),
        "end_s": now_s,
        "stats_start_s": stats_start_s,
    }
    store.query(f'DROP DATABASE "{store.database}"', method="POST")
    store.close()


def _interval_s(panel: dict[str, Any], default_s: int = 60) -> int:
    minimum = panel.get("interval")
    if not minimum:
        return default_s
    number, unit = int(minimum[:-1]), minimum[-1]
    return max(default_s, number * {"s": 1, "m": 60, "h": 3600}[unit])


def _run_panel_queries(
    model: dict[str, Any], data: dict[str, Any], variables: dict[str, list[str] | None]
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every target of every panel, templated as Grafana would, run on InfluxDB: {panel title: {refId: series}}."""
    all_values = {v["name"]: v.get("allValue") for v in model["templating"]["list"]}
    answers: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(dict)
    for panel in model["panels"]:
        for target in panel.get("targets", []) or []:
            query = render_influxql(
                target["query"],
                start_ms=data["start_s"] * 1000,
                end_ms=data["end_s"] * 1000,
                interval_s=_interval_s(panel),
                variables=variables,
                all_values=all_values,
            )
            answers[panel["title"]][target["refId"]] = data["store"].query(query)
    return answers


ALL_CHOSEN: dict[str, list[str] | None] = {"building": None, "vendor": None, "collector": None}


def _values(series: dict[str, Any], column: str) -> list[Any]:
    index = series["columns"].index(column)
    return [row[index] for row in series["values"]]


def test_every_panel_query_runs_and_answers_in_the_expected_shape(example_site: Site, health_data: dict[str, Any]) -> None:
    """Each panel's InfluxQL, templated with All and with one building/vendor/collector, runs on InfluxDB and
    answers with the columns (and per-series tags) the panel is built for."""
    model = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    # panel title -> (tags each series is grouped by, columns besides time)
    expected = {
        title("panel.ingest_rate", "en"): ({"collector"}, ["non_negative_derivative"]),
        title("panel.lag", "en"): ({"collector"}, ["max"]),
        title("panel.spool", "en"): ({"collector"}, ["max"]),
        title("panel.spool_bytes", "en"): ({"collector"}, ["max"]),
        title("panel.spool_full", "en"): ({"collector"}, ["last"]),
        title("panel.store_state", "en"): ({"collector"}, ["last"]),
        title("panel.broker_dropped", "en"): ({"collector"}, ["non_negative_difference"]),
        title("panel.collectors", "en"): (
            {"collector"},
            ["received", "written", "rejected", "spooled", "spool_bytes", "lag_s", "store_error"],
        ),
        title("panel.rejects_by_reason", "en"): ({"reason"}, ["count"]),
        title("panel.rejects_cumulative", "en"): ({"collector"}, ["last_rejected_bad_json", "last_rejected_unknown_device"]),
        title("panel.rejects_recent", "en"): (set(), ["reason", "building", "topic", "detail", "payload"]),
        title("panel.reporting", "en"): (set(), ["devices"]),
        title("panel.registered", "en"): ({"building"}, ["name", *(kind.reference_field for kind in device_kinds(example_site))]),
    }
    for kind in device_kinds(example_site):
        expected[title("panel.offline", "en", kind=title(f"kind.{kind.key}", "en"))] = (set(kind.device_tags), ["readings_per_interval"])
    queried = {p["title"] for p in model["panels"] if p.get("targets")}
    assert queried == set(expected)

    for variables in (ALL_CHOSEN, {"building": [A002], "vendor": ["hvac"], "collector": ["c-one"]}):
        answers = _run_panel_queries(model, health_data, variables)
        for panel_title, by_ref in answers.items():
            for ref, series_list in by_ref.items():
                # the names query of a panel showing buildings by name (tests/test_dashboard_names.py)
                tags, columns = ({"building"}, ["label"]) if ref == NAMES_REF else expected[panel_title]
                for series in series_list:
                    assert set(series.get("tags", {})) == tags, (panel_title, ref, series.get("tags"))
                    assert series["columns"] == ["time", *columns], (panel_title, ref, series["columns"])
        # Panels that must not be empty here: the data holds collectors, rejections and reporting devices.
        for key in (
            "panel.ingest_rate",
            "panel.lag",
            "panel.collectors",
            "panel.rejects_by_reason",
            "panel.rejects_recent",
            "panel.reporting",
            "panel.registered",
        ):
            assert all(answers[title(key, "en")][ref] for ref in answers[title(key, "en")]), (key, variables)


def test_ingest_rates_are_the_derivative_of_the_cumulative_counters(example_site: Site, health_data: dict[str, Any]) -> None:
    """Counters growing by 100 and 90 per 10 s read as 10 received and 9 written per second, per collector
    (every full minute; the last bucket is still filling)."""
    model = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    answers = _run_panel_queries(model, {**health_data, "start_s": health_data["stats_start_s"]}, ALL_CHOSEN)[
        title("panel.ingest_rate", "en")
    ]
    for ref, per_second in (("A", RECEIVED_PER_S), ("B", WRITTEN_PER_S)):
        assert sorted(s["tags"]["collector"] for s in answers[ref]) == list(COLLECTORS)
        for series in answers[ref]:
            rates = [v for v in _values(series, "non_negative_derivative") if v is not None]
            assert len(rates) >= 25
            assert rates[:-1] == pytest.approx([per_second] * (len(rates) - 1))


def test_collector_health_panels_show_spool_drops_and_latest_counts(example_site: Site, health_data: dict[str, Any]) -> None:
    """Spool full shows 1 for the collector whose spool is full; broker drops grow 3 per 10 s (18 a minute);
    the latest-report table holds each collector's final counters."""
    model = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    answers = _run_panel_queries(model, {**health_data, "start_s": health_data["stats_start_s"]}, ALL_CHOSEN)
    full = {s["tags"]["collector"]: _values(s, "last")[0] for s in answers[title("panel.spool_full", "en")]["A"]}
    assert full == {"c-one": 0, "c-two": 1}
    (dropped,) = answers[title("panel.broker_dropped", "en")]["A"]
    assert dropped["tags"] == {"collector": "c-one"}
    increases = [v for v in _values(dropped, "non_negative_difference") if v is not None]
    assert increases[:-1] == [18] * (len(increases) - 1)
    steps = len(range(health_data["stats_start_s"], health_data["end_s"], STATS_EVERY_S)) - 1
    for series in answers[title("panel.collectors", "en")]["A"]:
        row = dict(zip(series["columns"], series["values"][0]))
        assert (row["received"], row["written"], row["rejected"]) == (100 * steps, 90 * steps, 3 * steps)


def test_the_store_state_shows_when_influxdb_s_disk_was_full(example_site: Site, health_data: dict[str, Any]) -> None:
    """InfluxDB writes: each collector's store_error per interval, shown in words. c-two's statistics say the
    disk was full for 10 minutes, ok before and after; c-one's say ok throughout. The latest-report table
    shows both ok now, with their spool's readings and bytes."""
    model = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    answers = _run_panel_queries(model, {**health_data, "start_s": health_data["stats_start_s"]}, ALL_CHOSEN)
    states = {
        s["tags"]["collector"]: [v for v in _values(s, "last") if v is not None] for s in answers[title("panel.store_state", "en")]["A"]
    }
    assert set(states["c-one"]) == {""}
    assert [state for state, _ in groupby(states["c-two"])] == ["", "disk_full", ""]
    assert 9 <= states["c-two"].count("disk_full") <= 11  # 10 minutes of one-minute intervals

    panel = next(p for p in model["panels"] if p["title"] == title("panel.store_state", "en"))
    assert panel["type"] == "state-timeline"
    mappings = panel["fieldConfig"]["defaults"]["mappings"]
    (values,) = [m["options"] for m in mappings if m["type"] == "value"]
    assert {key: (r["text"], r["color"]) for key, r in values.items()}["disk_full"] == ("disk full", "red")
    assert set(values) == {problem.value for problem in StoreProblem}
    (empty,) = [m["options"] for m in mappings if m["type"] == "special"]
    assert empty["match"] == "empty" and empty["result"]["text"] == "ok"

    latest = {}
    for series in answers[title("panel.collectors", "en")]["A"]:
        latest[series["tags"]["collector"]] = dict(zip(series["columns"], series["values"][0]))
    assert {c: (row["store_error"], row["spooled"], row["spool_bytes"]) for c, row in latest.items()} == {
        "c-one": ("", 0, 0),
        "c-two": ("", 50, 4096),
    }


def test_rejects_by_reason_count_each_rejected_input(example_site: Site, health_data: dict[str, Any]) -> None:
    """ingest_rejected points are counted per reason; choosing a building keeps its rejections and those naming no building."""
    model = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    panel = title("panel.rejects_by_reason", "en")

    def totals(variables: dict[str, list[str] | None]) -> dict[str, int]:
        series = _run_panel_queries(model, health_data, variables)[panel]["A"]
        return {s["tags"]["reason"]: sum(_values(s, "count")) for s in series}

    assert totals(ALL_CHOSEN) == {"bad_json": 3, "unknown_device": 2, "out_of_range": 1}
    assert totals({**ALL_CHOSEN, "building": [A002]}) == {"bad_json": 3, "unknown_device": 2}
    recent = _run_panel_queries(model, health_data, ALL_CHOSEN)[title("panel.rejects_recent", "en")]["A"]
    assert Counter((r[1], r[2]) for r in recent[0]["values"]) == Counter(
        {("bad_json", None): 3, ("unknown_device", A002): 2, ("out_of_range", A003): 1}
    )


def test_offline_panels_list_exactly_the_silent_meter(example_site: Site, health_data: dict[str, Any]) -> None:
    """A meter silent for the last hour (> OFFLINE_INTERVALS meter intervals) is the only offline device;
    choosing another building hides it."""
    assert 3600 > OFFLINE_INTERVALS * example_site.collection.meter_interval_s
    model = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    answers = _run_panel_queries(model, health_data, ALL_CHOSEN)
    offline = {}
    for kind in device_kinds(example_site):
        series = answers[title("panel.offline", "en", kind=title(f"kind.{kind.key}", "en"))]["A"]
        offline[kind.key] = [s["tags"] for s in series]
    assert offline == {"meter": [{"building": A001, "meter": health_data["silent_meter"]}], "ieq": [], "equipment": [], "weather": []}
    elsewhere = _run_panel_queries(model, health_data, {**ALL_CHOSEN, "building": [A002]})
    assert elsewhere[title("panel.offline", "en", kind=title("kind.meter", "en"))]["A"] == []


def test_reporting_devices_drop_by_one_when_the_meter_goes_silent(example_site: Site, health_data: dict[str, Any]) -> None:
    """Meters reporting per interval: all registered meters while all report, one fewer once one is silent."""
    model = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    kinds = device_kinds(example_site)
    ref = chr(ord("A") + [k.key for k in kinds].index("meter"))
    (series,) = _run_panel_queries(model, health_data, ALL_CHOSEN)[title("panel.reporting", "en")][ref]
    counts = [c for c in _values(series, "devices") if c is not None]
    registered = sum(len(b.meters) for b in example_site.buildings)
    assert counts[0] == registered
    assert counts[-2] == registered - 1  # the last full interval


def test_the_collector_variable_lists_the_reporting_collectors(example_site: Site, health_data: dict[str, Any]) -> None:
    """$collector's query (SHOW TAG VALUES) lists the collectors that wrote ingest_stats."""
    model = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    query = _variable(model, "collector")["query"]
    (series,) = health_data["store"].query(query)
    assert sorted(_values(series, "value")) == list(COLLECTORS)


def test_an_unreachable_grafana_is_a_clear_error(example_site: Site) -> None:
    """Nothing listening at --url: a FacmonError saying Grafana does not answer, not a traceback."""
    api = connect(f"http://127.0.0.1:{free_port()}", TOKEN)
    with pytest.raises(FacmonError, match="no answer from Grafana"):
        plan(api, _desired(example_site))


def test_the_registered_devices_table_counts_each_buildings_devices(example_site: Site, health_data: dict[str, Any]) -> None:
    """Registered devices per building come from the site_building points: each building's name and counts,
    one row per building ($building narrows it), summed in the table's footer."""
    model = build_dashboards(example_site, "en")[DATA_HEALTH_UID]
    panel = next(p for p in model["panels"] if p["title"] == title("panel.registered", "en"))
    assert panel["type"] == "table" and panel["options"]["footer"] == {"show": True, "reducer": ["sum"]}
    kinds = device_kinds(example_site)
    rows = {
        s["tags"]["building"]: dict(zip(s["columns"], s["values"][0], strict=True))
        for s in _run_panel_queries(model, health_data, ALL_CHOSEN)[panel["title"]]["A"]
    }
    assert set(rows) == {b.code for b in example_site.buildings}
    for building in example_site.buildings:
        counts = {"meters": building.meters, "ieq_sensors": building.ieq_sensors, "equipment": building.equipment}
        counts["weather_sensors"] = building.weather_sensors
        assert rows[building.code]["name"] == building.name
        assert {k.reference_field: rows[building.code][k.reference_field] for k in kinds} == {
            k.reference_field: len(counts[k.reference_field]) for k in kinds
        }
    assert [sum(row[k.reference_field] for row in rows.values()) for k in kinds] == [k.registered for k in kinds]
    narrowed = _run_panel_queries(model, health_data, {**ALL_CHOSEN, "building": [A002]})[panel["title"]]["A"]
    assert [s["tags"]["building"] for s in narrowed] == [A002]
