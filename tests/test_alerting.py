"""Grafana alerting from the registry: fault rules, contact points, the policy tree, templates, mute timings.

Without a Grafana server, each claim is checked against something independent of the code under test:
every rule's InfluxQL runs on a real InfluxDB holding fault points of the detectors' contract shape
with a known set of active faults; the policy tree is walked as Alertmanager walks it; the mute
timings are read as Alertmanager reads time intervals; every push request goes through the real
grafana-client to the loopback server holding it to Grafana's OpenAPI spec; the exported files are
checked against the same spec's objects.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from grafana_client.client import GrafanaBadInputError
from typer.testing import CliRunner

from facmon.alerts.files import ALERTING_FILES, alerting_documents
from facmon.alerts.notifications import (
    DEFAULT_GRAFANA_RECEIVER,
    ENERGY_OFFICE,
    alerting_objects,
    message_templates,
    vendor_contact_point,
)
from facmon.alerts.routing import Delivery, deliveries, notification_groups
from facmon.alerts.rules import BUILDING_DASHBOARD_UID, FAULT_KINDS, LABELS, RULE_GROUP
from facmon.cli import app
from facmon.dashboards.catalog import FOLDER_UID, build_dashboards, folder_title
from facmon.dashboards.datasource import (
    DATASOURCE_UID,
    DatasourceSettings,
    InfluxVersion,
    SecretRef,
)
from facmon.fault_kinds import FaultKind
from facmon.grafana.push import Action, DesiredState, apply, connect, plan
from facmon.registry import Contact, Site, load_site
from facmon.schema import FAULT
from facmon.schema.faults import NAME_TAG, building_name_tag
from facmon.store import InfluxStore, line
from tests.clock import Calendar
from tests.conftest import EXAMPLE_SITE
from tests.grafana_contract import (
    ContractGrafana,
    render_influxql,
    spec_schema_problems,
)

TOKEN = "glsa_alerting-test-token"
A001, A002, A003, A004, A005 = "341122A001", "341122A002", "341122A003", "341122A004", "341122A005"


def _objects(site: Site) -> Any:
    return alerting_objects(site, FOLDER_UID, DATASOURCE_UID)


def _with(site: Site, **changes: Any) -> Site:
    """The site with top-level registry sections replaced (validated like a registry file)."""
    registry = site.model_dump(mode="json")
    registry.update(changes)
    changed = Site.model_validate(registry)
    assert changed.reference_problems() == []
    return changed


# -- rules -----------------------------------------------------------------------------------------


def test_one_rule_per_fault_kind_of_the_contract(example_site: Site) -> None:
    """Every fault kind the detectors write has exactly one rule, in one group, with a fixed uid Grafana accepts."""
    group = _objects(example_site).rule_group
    assert group["title"] == RULE_GROUP and group["folderUid"] == FOLDER_UID and group["interval"] == 60
    kinds = [re.search(r"\"kind\" = '(\w+)'", rule["data"][0]["model"]["query"]).group(1) for rule in group["rules"]]
    assert sorted(kinds) == sorted(kind.value for kind in FaultKind)
    uids = [rule["uid"] for rule in group["rules"]]
    assert len(set(uids)) == len(uids) and all(len(uid) <= 40 and re.fullmatch(r"[a-zA-Z0-9_-]+", uid) for uid in uids)
    for rule in group["rules"]:
        query, reduce, threshold = rule["data"]
        assert query["datasourceUid"] == DATASOURCE_UID and query["model"]["rawQuery"] is True
        assert reduce["datasourceUid"] == threshold["datasourceUid"] == "__expr__"
        assert rule["condition"] == threshold["refId"] and threshold["model"]["expression"] == reduce["refId"]
        assert reduce["model"]["expression"] == query["refId"]


def test_the_linked_building_dashboard_exists_with_a_building_variable(example_site: Site) -> None:
    """The alerts link the dashboard the catalogue builds under that uid, which has the variable the link sets."""
    dashboard = build_dashboards(example_site, "zh").get(BUILDING_DASHBOARD_UID)
    assert dashboard is not None
    assert "building" in [variable["name"] for variable in dashboard["templating"]["list"]]


def test_annotations_are_chinese_and_link_the_building_dashboard(example_site: Site) -> None:
    """Summary in Chinese naming the fault kind and the building by its building_name label (its code when a
    point carries none), with no building of the registry written into the rule; a link to the building
    dashboard with the alert's building chosen; the vendor's SLA for each severity."""
    group = _objects(example_site).rule_group
    for rule in group["rules"]:
        kind = re.search(r"\"kind\" = '(\w+)'", rule["data"][0]["model"]["query"]).group(1)
        notes = rule["annotations"]
        assert FAULT_KINDS[kind] in notes["summary"] and FAULT_KINDS[kind] in rule["title"]
        assert "{{ if $labels.building_name }}{{ $labels.building_name }}{{ else }}{{ $labels.building }}{{ end }}" in notes["summary"]
        assert not any(b.code in text or b.name in text for b in example_site.buildings for text in notes.values())
        assert notes["building_dashboard"] == f"d/{BUILDING_DASHBOARD_UID}?var-building={{{{ $labels.building }}}}"
        hvac = example_site.vendor("hvac")
        assert hvac is not None
        assert f"{hvac.sla['critical'].onsite_min:g} 分钟内到场" in notes["description"]
        for text in notes.values():
            assert _template_blocks_balance(text), text


def _template_blocks_balance(text: str) -> bool:
    """Every {{ if }} / {{ range }} / {{ define }} / {{ with }} has its {{ end }}, in order."""
    depth = 0
    for action in re.findall(r"\{\{-?\s*(\w+)", text):
        if action in ("if", "range", "define", "with"):
            depth += 1
        elif action == "end":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def test_message_templates_define_title_and_message_used_by_every_contact() -> None:
    """The templates define facmon.title and facmon.message (blocks balanced); every integration uses them."""
    templates = message_templates("Asia/Shanghai")
    assert _template_blocks_balance(templates)
    assert {'define "facmon.title"', 'define "facmon.message"'} <= set(re.findall(r'define "[\w.]+"', templates))
    assert "{{ $.ExternalURL }}{{ .Annotations.building_dashboard }}" in templates


# -- every rule's InfluxQL on a real InfluxDB --------------------------------------------------------

DAY_S = 86400


def _fault_lines(site: Site, now_s: int) -> tuple[list[str], set[tuple[str, ...]]]:
    """Fault points as the detectors write them (start active=1, clear active=0, the building's name as
    the building_name tag; the oldest fault from before points carried it has none), and by construction
    the (building, vendor, severity, kind, target, building_name) of the faults still active."""
    faults = [
        # kind, building, vendor, severity, target, [(seconds before now, active)], active now
        ("water_leak", A002, "property", "major", "W-TOILET", [(7200, 1.0)], True),
        ("water_leak", A005, "property", "major", "W-KITCHEN", [(3 * DAY_S, 1.0), (2 * DAY_S, 0.0)], False),
        ("elevator_out_of_service", A003, "elevator", "critical", "EL-1", [(DAY_S, 1.0), (DAY_S - 3600, 0.0)], False),
        ("hvac_weekend", A001, "hvac", "minor", "building", [(20 * DAY_S, 1.0)], True),  # started long ago, never cleared
        ("equipment_fault_code", A001, "hvac", "major", "VRF-1", [(5 * DAY_S, 1.0), (4 * DAY_S, 0.0), (3600, 1.0)], True),
        ("device_offline", A004, "none", "major", "E-MAIN", [(1800, 1.0)], True),
    ]
    lines, active = [], set()
    for kind, building, vendor, severity, target, points, is_active in faults:
        registered = site.building(building)
        assert registered is not None
        name = "" if kind == "hvac_weekend" else building_name_tag(registered.name)
        tags = {"building": building, "vendor": vendor, "severity": severity, "kind": kind, "target": target, NAME_TAG: name}
        for seconds_before, value in points:
            lines.append(line(FAULT, tags, {"active": value, "value": 1.5, "detail": "测试故障"}, (now_s - seconds_before) * 10**9))
        if is_active:
            active.add((building, vendor, severity, kind, target, name))
    return lines, active


REDUCERS = {"last": lambda values: values[-1], "max": max, "min": min, "mean": lambda values: sum(values) / len(values)}
EVALUATORS = {"gt": lambda value, limit: value > limit, "lt": lambda value, limit: value < limit}


def _firing(rule: dict[str, Any], store: InfluxStore, now_s: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(labels of firing instances, labels of every instance): the rule's query as Grafana sends it,
    each series reduced and compared as the rule's expressions say."""
    query, reduce, threshold = rule["data"]
    influxql = render_influxql(
        query["model"]["query"],
        start_ms=(now_s - query["relativeTimeRange"]["from"]) * 1000,
        end_ms=now_s * 1000,
        interval_s=60,
        variables={},
        all_values={},
    )
    evaluator = threshold["model"]["conditions"][0]["evaluator"]
    firing, instances = [], []
    for series in store.query(influxql):
        values = [row[1] for row in series["values"] if row[1] is not None]
        labels = series.get("tags", {})
        instances.append(labels)
        if EVALUATORS[evaluator["type"]](REDUCERS[reduce["model"]["reducer"]](values), evaluator["params"][0]):
            firing.append(labels)
    return firing, instances


def test_each_rule_fires_exactly_for_the_active_faults_of_its_kind(example_site: Site, store: InfluxStore, calendar: Calendar) -> None:
    """With faults written as the detectors write them, a kind's rule has one firing instance per active
    fault of that kind, labelled with its building, vendor, severity, kind, target and building name (empty
    for a point written before the name was; the message then shows the code); cleared faults
    (same kind, other building) and other kinds do not fire, a fault active for 20 days still fires,
    a fault that cleared and reopened fires, and kinds without faults return nothing (no data = OK)."""
    now_s = int(time.time())
    lines, active = _fault_lines(example_site, now_s)
    store.write(lines)
    rules = _objects(example_site).rule_group["rules"]
    fired: set[tuple[str, ...]] = set()
    for rule in rules:
        kind = re.search(r"\"kind\" = '(\w+)'", rule["data"][0]["model"]["query"]).group(1)
        firing, instances = _firing(rule, store, now_s)
        assert all(set(labels) == set(LABELS) and labels["kind"] == kind for labels in instances), (kind, instances)
        fired |= {tuple(labels[name] for name in LABELS) for labels in firing}
        expected = {fault for fault in active if fault[3] == kind}
        assert {tuple(labels[name] for name in LABELS) for labels in firing} == expected, kind
    assert fired == active
    assert rules[0]["noDataState"] == "OK"


def test_firing_faults_reach_their_vendor_and_critical_ones_the_office(example_site: Site, store: InfluxStore, calendar: Calendar) -> None:
    """End to end: the labels of each firing instance, walked through the policy tree, reach the vendor
    in the vendor label (a fault of no vendor reaches the energy office)."""
    now_s = int(time.time())
    lines, _ = _fault_lines(example_site, now_s)
    store.write(lines)
    objects = _objects(example_site)
    reached = {}
    for rule in objects.rule_group["rules"]:
        for labels in _firing(rule, store, now_s)[0]:
            reached[(labels["kind"], labels["building"])] = [d.receiver for d in deliveries(objects.policy_tree, labels)]
    assert reached == {
        ("water_leak", A002): ["facmon-vendor-property"],
        ("hvac_weekend", A001): ["facmon-vendor-hvac"],
        ("equipment_fault_code", A001): ["facmon-vendor-hvac"],
        ("device_offline", A004): [ENERGY_OFFICE],
    }


# Faults the simulator injects into the example site, all still going at the end of the analysed
# period (Wednesday 4 March 2026, a working day, 11:00 local) and each visible at once: kind, building,
# target, local start, duration, and the vendor the registry's coverage makes responsible (chillers: hvac;
# elevators: elevator; electricity meters: electrical, IEQ sensors: indoor_environment, both property).
# A reset or a spike is an event of one interval, cleared at the next: it is still active only in the
# period's last interval (10:45-11:00), where a live analysis would have just found it.
INJECTED = [
    ("equipment_fault_code", A001, "CH-1", "2026-03-04T09:00", "6h", "hvac"),
    ("elevator_out_of_service", A003, "EL-2", "2026-03-04T09:00", "8h", "elevator"),
    ("device_offline", A002, "IEQ-3F", "2026-03-04T08:00", "6h", "property"),
    ("meter_reset", A002, "E-MAIN", "2026-03-04T10:45", "15m", "property"),
    ("spike", A003, "E-LS-5-6F", "2026-03-04T10:45", "15m", "property"),
]
SIMULATED_FROM = "2026-03-01T00:00+08:00"  # three days of history before the faults (detector baselines, persistence)
ANALYSED_UNTIL = "2026-03-04T11:00+08:00"


def test_rules_fire_for_exactly_the_faults_the_simulator_injected(
    example_site: Site, store: InfluxStore, stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Through the real pipeline: the example site backfilled with the faults of INJECTED (a fault scenario
    file), `facmon analyze` (fault detection runs after it), then every rule's InfluxQL as Grafana sends it.
    Each injected kind's rule fires for exactly its (building, target), labelled with the responsible
    vendor and the building's registry name; the rules of the kinds not injected return no firing row."""
    from facmon.simulators import SiteSimulator, backfill
    from facmon.simulators.faults import load_faults

    for key, value in stack_env.items():
        monkeypatch.setenv(key, value)
    scenario = tmp_path / "faults.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "name": "alert rule check",
                "faults": [
                    {"kind": kind, "building": building, "target": target, "start": start, "duration": duration}
                    for kind, building, target, start, duration, _ in INJECTED
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    faults = load_faults(scenario, example_site)
    until = datetime.fromisoformat(ANALYSED_UNTIL)
    # An hour past the analysed period: the readings closing its last intervals exist, as they would live.
    backfill(
        SiteSimulator(example_site, seed=3, faults=faults),
        store,
        datetime.fromisoformat(SIMULATED_FROM),
        datetime.fromtimestamp(until.timestamp() + 3600, UTC),
    )
    analysed = CliRunner().invoke(app, ["analyze", "--since", SIMULATED_FROM[:10], "--until", ANALYSED_UNTIL, "--format", "json"])
    assert analysed.exit_code == 0, analysed.output

    now_s = int(until.timestamp())
    expected = {kind: {(building, target, vendor)} for kind, building, target, _, _, vendor in INJECTED}
    fired: dict[str, set[tuple[str, str, str]]] = {}
    for rule in _objects(example_site).rule_group["rules"]:
        kind = re.search(r"\"kind\" = '(\w+)'", rule["data"][0]["model"]["query"]).group(1)
        firing, _ = _firing(rule, store, now_s)
        if firing:
            fired[kind] = {(labels["building"], labels["target"], labels["vendor"]) for labels in firing}
        names = {b.code: building_name_tag(b.name) for b in example_site.buildings}
        assert all(labels[NAME_TAG] == names[labels["building"]] for labels in firing), firing  # the analysis wrote the names
    assert fired == expected


# -- contact points and routing --------------------------------------------------------------------


def test_each_vendor_has_one_contact_point_with_an_integration_per_registry_contact(example_site: Site) -> None:
    """Integrations named facmon-vendor-<id> carry the vendor's contacts: webhook and robot URLs,
    email addresses, in registry order; the energy office gets its own contact point."""
    points = _objects(example_site).contact_points
    for vendor in example_site.vendors:
        mine = [p for p in points if p["name"] == vendor_contact_point(vendor.id)]
        assert [p["type"] for p in mine] == [c.kind for c in vendor.contacts]
        assert [p["settings"].get("url") or p["settings"].get("addresses") for p in mine] == [c.url or c.address for c in vendor.contacts]
    office = [p for p in points if p["name"] == ENERGY_OFFICE]
    assert [(p["type"], p["settings"].get("url") or p["settings"].get("addresses")) for p in office] == [
        (c.kind, c.url or c.address) for c in example_site.alerting.energy_office
    ]
    assert len({p["uid"] for p in points}) == len(points)


@pytest.mark.parametrize("severity", ["critical", "major", "minor"])
def test_the_policy_tree_routes_each_vendor_label_to_that_vendor(example_site: Site, severity: str) -> None:
    """vendor=<id> reaches facmon-vendor-<id>; a critical fault also reaches the energy office (first);
    vendor=none or an unknown vendor reaches the energy office only, once."""
    tree = _objects(example_site).policy_tree
    office = [ENERGY_OFFICE] if severity == "critical" else []
    for vendor in example_site.vendors:
        labels = {"vendor": vendor.id, "severity": severity, "building": A001, "kind": "water_leak"}
        assert [d.receiver for d in deliveries(tree, labels)] == [*office, vendor_contact_point(vendor.id)]
    for vendor_id in ("none", "someone-else"):
        assert [d.receiver for d in deliveries(tree, {"vendor": vendor_id, "severity": severity})] == [ENERGY_OFFICE]


def test_without_an_energy_office_the_root_is_grafanas_default_contact(example_site: Site) -> None:
    """A registry without alerting section: vendors still get their faults; the rest goes to
    grafana-default-email; no critical copy (there is no office to copy to)."""
    bare = _with(example_site, alerting={})
    objects = _objects(bare)
    assert objects.policy_tree["receiver"] == DEFAULT_GRAFANA_RECEIVER
    assert {p["name"] for p in objects.contact_points} == {vendor_contact_point(v.id) for v in bare.vendors}
    assert [d.receiver for d in deliveries(objects.policy_tree, {"vendor": "hvac", "severity": "critical"})] == ["facmon-vendor-hvac"]
    assert objects.mute_timings == []


def test_maintenance_windows_mute_only_their_vendor_and_buildings(example_site: Site) -> None:
    """The example mutes hvac (every building) on Saturday mornings and elevators in A003 during the
    annual inspection; elevators elsewhere, other vendors and the office's critical copy are not muted."""
    tree = _objects(example_site).policy_tree
    saturday, inspection = "facmon-hvac-saturday-service", "facmon-elevator-annual-inspection"
    assert deliveries(tree, {"vendor": "hvac", "building": A002, "severity": "major"}) == [Delivery("facmon-vendor-hvac", (saturday,))]
    assert deliveries(tree, {"vendor": "elevator", "building": A003, "severity": "major"}) == [
        Delivery("facmon-vendor-elevator", (inspection,))
    ]
    assert deliveries(tree, {"vendor": "elevator", "building": A004, "severity": "major"}) == [Delivery("facmon-vendor-elevator", ())]
    assert deliveries(tree, {"vendor": "elevator", "building": A003, "severity": "critical"}) == [
        Delivery(ENERGY_OFFICE, ()),
        Delivery("facmon-vendor-elevator", (inspection,)),
    ]
    assert deliveries(tree, {"vendor": "property", "building": A003, "severity": "minor"}) == [Delivery("facmon-vendor-property", ())]


def test_a_building_window_keeps_the_vendor_wide_mutes(example_site: Site) -> None:
    """Grafana does not inherit mute timings: a building's route repeats the vendor-wide windows."""
    windows = [
        {"name": "all-hvac", "vendors": ["hvac"], "weekdays": ["sunday"]},
        {"name": "a2-hvac", "vendors": ["hvac"], "buildings": [A002], "first_day": "2026-07-01", "last_day": "2026-07-03"},
    ]
    tree = _objects(_with(example_site, alerting={"maintenance_windows": windows})).policy_tree
    assert deliveries(tree, {"vendor": "hvac", "building": A002}) == [Delivery("facmon-vendor-hvac", ("facmon-all-hvac", "facmon-a2-hvac"))]
    assert deliveries(tree, {"vendor": "hvac", "building": A001}) == [Delivery("facmon-vendor-hvac", ("facmon-all-hvac",))]


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _in_ranges(value: int, ranges: list[str] | None, names: tuple[str, ...] = ()) -> bool:
    """Alertmanager's inclusive ranges ``a:b`` or single values (numbers or, for weekdays, names)."""
    if not ranges:
        return True
    for text in ranges:
        first, _, last = text.partition(":")
        low = names.index(first) if names else int(first)
        high = (names.index(last) if names else int(last)) if last else low
        if low <= value <= high:
            return True
    return False


def _muted(timing: dict[str, Any], at: datetime) -> bool:
    """Whether a mute timing (Alertmanager time intervals) covers the instant ``at``."""
    for interval in timing["time_intervals"]:
        local = at.astimezone(ZoneInfo(interval.get("location", "UTC")))
        minute = local.hour * 60 + local.minute
        times = interval.get("times")
        in_times = not times or any(
            int(t["start_time"][:2]) * 60 + int(t["start_time"][3:]) <= minute < int(t["end_time"][:2]) * 60 + int(t["end_time"][3:])
            for t in times
        )
        if (
            in_times
            and _in_ranges(local.weekday(), interval.get("weekdays"), WEEKDAYS)
            and _in_ranges(local.day, interval.get("days_of_month"))
            and _in_ranges(local.month, interval.get("months"))
            and _in_ranges(local.year, interval.get("years"))
        ):
            return True
    return False


def test_mute_timings_cover_exactly_the_declared_windows(example_site: Site) -> None:
    """Saturday 08:00-12:00 site time (Asia/Shanghai) is muted, not 12:00 or Friday; the inspection
    30 Dec 2026 .. 2 Jan 2027 (across a year end) is muted all day, not 29 Dec or 3 Jan."""
    timings = {t["name"]: t for t in _objects(example_site).mute_timings}
    saturday, inspection = timings["facmon-hvac-saturday-service"], timings["facmon-elevator-annual-inspection"]
    shanghai = ZoneInfo("Asia/Shanghai")

    def at(*args: int) -> datetime:
        return datetime(*args, tzinfo=shanghai).astimezone(UTC)

    assert _muted(saturday, at(2026, 11, 21, 8, 0)) and _muted(saturday, at(2026, 11, 21, 11, 59))
    assert not _muted(saturday, at(2026, 11, 21, 12, 0)) and not _muted(saturday, at(2026, 11, 20, 9, 0))
    assert not _muted(saturday, at(2026, 11, 21, 7, 59))
    assert all(
        _muted(inspection, at(*day, hour, 0)) for day in ((2026, 12, 30), (2026, 12, 31), (2027, 1, 1), (2027, 1, 2)) for hour in (0, 23)
    )
    assert not _muted(inspection, at(2026, 12, 29, 23, 59)) and not _muted(inspection, at(2027, 1, 3, 0, 0))


def test_registry_rejects_windows_that_make_no_sense(example_site: Site) -> None:
    """A window with no time bound, end before start, an unknown vendor or building is an error naming it."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="mutes for ever"):
        _with(example_site, alerting={"maintenance_windows": [{"name": "x"}]})
    with pytest.raises(ValidationError, match="must be before end"):
        _with(example_site, alerting={"maintenance_windows": [{"name": "x", "start": "12:00", "end": "08:00"}]})
    registry = example_site.model_dump(mode="json")
    registry["alerting"] = {
        "maintenance_windows": [{"name": "x", "vendors": ["nobody"], "buildings": ["341122A999"], "weekdays": ["monday"]}]
    }
    problems = [message for _, message in Site.model_validate(registry).reference_problems()]
    assert problems == ["vendor 'nobody' is not in vendors", "building '341122A999' is not in buildings"]


# -- export ----------------------------------------------------------------------------------------


def _unescaped(value: Any) -> Any:
    """What Grafana's environment expansion makes of a value facmon wrote (no variables: $$ is $)."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [_unescaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _unescaped(v) for k, v in value.items()}
    return value


# The fields of a rule in a provisioning file that Grafana 11 stores raw, without environment expansion
# (rules_types.go: annotations use .Raw; query models and time ranges are not values.* types).
RAW_RULE_KEYS = {"annotations", "isPaused"}
RAW_QUERY_KEYS = {"model", "relativeTimeRange"}


def _rule_as_grafana_reads_it(rule: dict[str, Any]) -> dict[str, Any]:
    read = {key: value if key in RAW_RULE_KEYS else _unescaped(value) for key, value in rule.items() if key != "data"}
    read["data"] = [{key: value if key in RAW_QUERY_KEYS else _unescaped(value) for key, value in query.items()} for query in rule["data"]]
    return read


def test_exported_alerting_files_are_provisioning_yaml_of_the_documented_shapes(
    example_site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`facmon grafana export` writes alerting/*.yaml: apiVersion 1; groups name the folder by title and
    hold rules valid as Grafana's ProvisionedAlertRule once the group's fields are added; contact points
    nest receivers; policies, templates and mute timings are the API objects plus orgId; read as Grafana
    reads them (environment expansion where it applies, raw elsewhere) they are the API objects."""
    monkeypatch.delenv("FACMON_INFLUX_TOKEN", raising=False)
    out = tmp_path / "provisioning"
    result = CliRunner().invoke(app, ["grafana", "export", "--out", str(out), "--site", str(EXAMPLE_SITE), "--format", "json"], env={})
    assert result.exit_code == 0, result.output
    assert sorted(f"alerting/{name}" for name in ALERTING_FILES) == sorted(
        f for f in json.loads(result.output)["files"] if f.startswith("alerting/")
    )
    files = {name: yaml.safe_load((out / "alerting" / name).read_text(encoding="utf-8")) for name in ALERTING_FILES}
    assert {document["apiVersion"] for document in files.values()} == {1}
    objects = _objects(example_site)

    (group,) = files["rules.yaml"]["groups"]
    assert (group["orgId"], group["name"], group["folder"], group["interval"]) == (1, RULE_GROUP, folder_title("zh"), "60s")
    for rule in group["rules"]:
        assert "{{ $labels.building }}" in rule["annotations"]["summary"], (
            "annotations are stored raw: a $$ would reach the template parser"
        )
        api_rule = {**_rule_as_grafana_reads_it(rule), "orgID": 1, "folderUID": FOLDER_UID, "ruleGroup": group["name"]}
        assert spec_schema_problems("ProvisionedAlertRule", api_rule) == []
        assert api_rule == next(r for r in objects.rule_group["rules"] if r["uid"] == rule["uid"])

    points = files["contact-points.yaml"]["contactPoints"]
    flattened = [{**receiver, "name": point["name"]} for point in points for receiver in _unescaped(point["receivers"])]
    assert all(point["orgId"] == 1 for point in points)
    assert all(spec_schema_problems("EmbeddedContactPoint", receiver) == [] for receiver in flattened)
    assert sorted(flattened, key=lambda p: p["uid"]) == sorted(objects.contact_points, key=lambda p: p["uid"])

    (policy,) = files["policies.yaml"]["policies"]
    assert policy.pop("orgId") == 1
    assert spec_schema_problems("Route", _unescaped(policy)) == [] and _unescaped(policy) == objects.policy_tree

    (template,) = files["templates.yaml"]["templates"]
    assert "{{ $.ExternalURL }}" in template["template"] and template["template"] == message_templates(example_site.site.timezone)

    timings = files["mute-timings.yaml"]["muteTimes"]
    assert [t.pop("orgId") for t in timings] == [1, 1]
    assert all(spec_schema_problems("MuteTimeInterval", t) == [] for t in timings) and timings == objects.mute_timings


def test_a_dollar_is_doubled_only_where_grafana_expands_environment_variables() -> None:
    """Registry text with $ (a webhook URL, a vendor id cannot hold one) is doubled in contact points, the
    policy tree and the expanded rule fields, and left alone in annotations and templates."""
    site = load_site(EXAMPLE_SITE)
    vendor = site.vendors[0]
    site = site.model_copy(
        update={
            "vendors": [
                vendor.model_copy(update={"contacts": [Contact(kind="webhook", url="https://hooks.example/a$b?x=$HOME")]}),
                *site.vendors[1:],
            ]
        }
    )
    documents = alerting_documents(_objects(site), folder_title("zh"))
    receivers = [r for point in documents["contact-points.yaml"]["contactPoints"] for r in point["receivers"]]
    assert any(r["settings"].get("url") == "https://hooks.example/a$$b?x=$$HOME" for r in receivers)
    (group,) = documents["rules.yaml"]["groups"]
    assert all("$$" not in text for rule in group["rules"] for text in rule["annotations"].values())
    assert "$$" not in documents["templates.yaml"]["templates"][0]["template"]


# -- push through the real grafana-client to the contract server -----------------------------------


@pytest.fixture(scope="module")
def contract_server() -> Iterator[ContractGrafana]:
    server = ContractGrafana(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def grafana(contract_server: ContractGrafana, monkeypatch: pytest.MonkeyPatch) -> Iterator[ContractGrafana]:
    """The loopback Grafana, fresh; the test fails if any request broke the contract."""
    monkeypatch.setenv("FACMON_INFLUX_TOKEN", "influx-token")
    contract_server.reset()
    yield contract_server
    assert [str(v) for v in contract_server.violations] == []


def _desired(site: Site) -> DesiredState:
    settings = DatasourceSettings("http://influxdb:8086", "facmon", InfluxVersion.V2, token=SecretRef("FACMON_INFLUX_TOKEN"))
    return DesiredState(FOLDER_UID, folder_title("zh"), settings, build_dashboards(site, "zh"), _objects(site))


def _alerting_plan(changes: list[Any]) -> list[tuple[str, Action]]:
    return [(c.kind, c.action) for c in changes if c.kind not in ("folder", "datasource", "dashboard")]


def test_push_creates_the_alerting_then_a_second_push_changes_nothing(example_site: Site, grafana: ContractGrafana) -> None:
    """First push: the template, both mute timings, every integration, the policy tree (replacing
    Grafana's default) and the rule group; Grafana then holds exactly them. Second push: only reads,
    although Grafana answers the robots' URLs as [REDACTED]."""
    api = connect(grafana.url, TOKEN)
    desired = _desired(example_site)
    objects = desired.alerting
    assert objects is not None
    first = plan(api, desired)
    assert _alerting_plan(first) == (
        [("template", Action.CREATE)]
        + [("mute timing", Action.CREATE)] * 2
        + [("contact point", Action.CREATE)] * len(objects.contact_points)
        + [("policy tree", Action.UPDATE), ("rule group", Action.CREATE)]
    )
    apply(api, first)
    state = grafana.state
    assert state.policy_tree == objects.policy_tree
    assert {uid: p for uid, p in state.contact_points.items() if uid != "default-email"} == {p["uid"]: p for p in objects.contact_points}
    stored = state.rule_groups[(FOLDER_UID, RULE_GROUP)]
    assert [{k: v for k, v in r.items() if k not in ("id", "updated", "provenance")} for r in stored["rules"]] == objects.rule_group[
        "rules"
    ]
    assert {name: t["template"] for name, t in state.templates.items()} == objects.templates
    assert list(state.mute_timings.values()) == objects.mute_timings
    assert "[REDACTED]" in json.dumps(api.alertingprovisioning.get_contactpoints())

    writes = len(grafana.writes())
    second = plan(api, desired)
    apply(api, second)
    assert {c.action for c in second} == {Action.UNCHANGED}
    assert len(grafana.writes()) == writes


def test_push_updates_what_the_registry_changed_and_removes_a_dropped_contact(example_site: Site, grafana: ContractGrafana) -> None:
    """After the hvac vendor loses its email contact and the Saturday window moves to Sunday, the next
    push updates the mute timing, deletes that one integration (after the policy tree) and nothing else."""
    api = connect(grafana.url, TOKEN)
    apply(api, plan(api, _desired(example_site)))
    registry = example_site.model_dump(mode="json")
    hvac = next(v for v in registry["vendors"] if v["id"] == "hvac")
    hvac["contacts"] = [c for c in hvac["contacts"] if c["kind"] != "email"]
    registry["alerting"]["maintenance_windows"][0]["weekdays"] = ["sunday"]
    changed = Site.model_validate(registry)
    changes = plan(api, _desired(changed))
    moved = [(c.kind, c.uid, c.action) for c in changes if c.action is not Action.UNCHANGED]
    dropped = next(p["uid"] for p in _objects(example_site).contact_points if p["name"] == "facmon-vendor-hvac" and p["type"] == "email")
    assert moved == [("mute timing", "facmon-hvac-saturday-service", Action.UPDATE), ("contact point", dropped, Action.DELETE)]
    assert changes[-1].action is Action.DELETE  # deletions come last
    apply(api, changes)
    assert dropped not in grafana.state.contact_points
    assert grafana.state.mute_timings["facmon-hvac-saturday-service"]["time_intervals"][0]["weekdays"] == ["sunday"]
    assert {c.action for c in plan(api, _desired(changed))} == {Action.UNCHANGED}


def test_a_policy_tree_edited_in_grafana_is_put_back(example_site: Site, grafana: ContractGrafana) -> None:
    """facmon owns the policy tree: a route added by hand is replaced by the registry's tree on the next push."""
    api = connect(grafana.url, TOKEN)
    apply(api, plan(api, _desired(example_site)))
    grafana.state.policy_tree["routes"].append({"receiver": "grafana-default-email", "object_matchers": [["team", "=", "x"]]})
    changes = plan(api, _desired(example_site))
    assert [(c.kind, c.action) for c in changes if c.action is not Action.UNCHANGED] == [("policy tree", Action.UPDATE)]
    apply(api, changes)
    assert grafana.state.policy_tree == _objects(example_site).policy_tree


def test_the_contract_server_rejects_a_misspelt_rule_key(example_site: Site, grafana: ContractGrafana) -> None:
    """The stand-in holds alerting bodies to the closed spec: folderUid for folderUID inside a rule is a violation."""
    api = connect(grafana.url, TOKEN)
    apply(api, plan(api, _desired(example_site)))
    group = json.loads(json.dumps(_objects(example_site).rule_group))
    group["rules"][0]["folderUid"] = group["rules"][0].pop("folderUID")
    with pytest.raises(GrafanaBadInputError):
        api.alertingprovisioning.update_rule_group(FOLDER_UID, RULE_GROUP, group)
    assert len(grafana.violations) == 1 and "folderUid" in grafana.violations[0].problem
    grafana.violations.clear()


def test_cli_dry_run_plans_the_alerting_and_sends_nothing(grafana: ContractGrafana, monkeypatch: pytest.MonkeyPatch) -> None:
    """`facmon grafana push --dry-run --format json` lists the alerting objects as create and only reads;
    the real push then makes a second one report every object unchanged."""
    env = {"FACMON_GRAFANA_TOKEN": TOKEN, "FACMON_INFLUX_URL": "http://influxdb:8086", "FACMON_INFLUX_DATABASE": "facmon"}
    monkeypatch.delenv("FACMON_INFLUX_TOKEN")
    runner = CliRunner()
    dry = runner.invoke(
        app, ["grafana", "push", "--url", grafana.url, "--site", str(EXAMPLE_SITE), "--dry-run", "--format", "json"], env=env
    )
    assert dry.exit_code == 0, dry.output
    kinds = {(c["kind"], c["action"]) for c in json.loads(dry.output)["changes"]}
    assert {
        ("template", "create"),
        ("mute timing", "create"),
        ("contact point", "create"),
        ("policy tree", "update"),
        ("rule group", "create"),
    } <= kinds
    assert grafana.writes() == []
    assert runner.invoke(app, ["grafana", "push", "--url", grafana.url, "--site", str(EXAMPLE_SITE)], env=env).exit_code == 0
    again = runner.invoke(app, ["grafana", "push", "--url", grafana.url, "--site", str(EXAMPLE_SITE), "--format", "json"], env=env)
    assert {c["action"] for c in json.loads(again.output)["changes"]} == {"unchanged"}


def test_a_storm_in_one_building_pages_each_vendor_once_listing_every_fault(example_site: Site) -> None:
    """Five fault kinds on four devices each in 县委 (A001), all the property vendor's, plus one of the HVAC
    vendor's: Alertmanager batches them into one notification per vendor, not one per kind (grouped by
    alertname, this storm made six) or per device; the message lists every fault of the group."""
    tree = _objects(example_site).policy_tree
    kinds = ["device_offline", "meter_stuck", "water_leak", "lights_after_hours", "out_of_range"]
    storm = [
        {
            "grafana_folder": "facmon",
            "alertname": f"facmon {kind}",
            "building": A001,
            "vendor": "property",
            "severity": "major",
            "kind": kind,
            "target": f"D-{n}",
        }
        for kind in kinds
        for n in range(4)
    ]
    storm.append(
        {
            "grafana_folder": "facmon",
            "alertname": "facmon equipment_fault_code",
            "building": A001,
            "vendor": "hvac",
            "severity": "major",
            "kind": "equipment_fault_code",
            "target": "CH-1",
        }
    )
    groups = notification_groups(tree, storm)
    assert sorted(receiver for receiver, _ in groups) == ["facmon-vendor-hvac", "facmon-vendor-property"]
    assert len(storm) == 21
