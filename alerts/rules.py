"""Alert rules on the ``fault`` measurement: one rule per fault kind, all in one rule group.

Each rule asks InfluxDB (InfluxQL, through the datasource with the fixed uid) for the last ``active``
value of every fault series of its kind, grouped by the tags ``building, vendor, severity, kind,
target`` and ``building_name``; Grafana turns each series into an alert instance whose labels are those tags, reduces it
to its last value and fires when that is above 0.5 (a fault writes ``active=1`` when it starts and
``active=0`` when it clears, and nothing in between).

The query has no time filter on purpose: an active fault writes no repeated points, so a fault that
started weeks ago has its only point weeks ago, and any relative time range would resolve it while it
is still active. The ``fault`` measurement holds two points per fault, so reading all of it is cheap.

Labels come from the data (not from the rule), so one rule serves every building and vendor; the
vendor label routes the notification (alerts.notifications). Annotations are in Chinese and name the
building, the fault, the vendor and its SLA, plus a link to the building dashboard. The building's name
comes from the data too (the ``building_name`` tag the analysis writes on every ``fault`` point), so
the rules are the same size for 5 buildings or 10,000; vendors and severities, few, are chosen by
template branches from the registry.
"""

from __future__ import annotations

import json
from typing import Any

from facmon.registry import Site
from facmon.schema import FAULT
from facmon.schema.faults import NAME_TAG, NO_VENDOR
from facmon.standards import Severity
from facmon.store import quote_identifier, quote_string

# The fault kinds of the ``fault`` measurement's ``kind`` tag (the detectors' contract), with their
# Chinese names. Strings, not the simulator's enum: alerts/ reads analytics' output, nothing else.
FAULT_KINDS: dict[str, str] = {
    "meter_stuck": "表计读数停滞",
    "device_offline": "设备离线",
    "spike": "读数突变",
    "out_of_range": "读数超出量程",
    "meter_reset": "表计清零",
    "lights_after_hours": "下班后照明未关",
    "hvac_weekend": "非工作日空调运行",
    "water_leak": "疑似漏水",
    "equipment_fault_code": "设备故障代码",
    "elevator_out_of_service": "电梯停运",
    "ventilation_failure": "通风失效",
    "comfort_out_of_band": "室内环境超标",
    "simultaneous_heating_cooling": "冷热同时运行",
}
SEVERITY_ZH: dict[Severity, str] = {Severity.CRITICAL: "紧急", Severity.MAJOR: "重要", Severity.MINOR: "一般"}
LABELS = ("building", "vendor", "severity", "kind", "target", NAME_TAG)  # the fault tags every alert carries

RULE_GROUP = "facmon-faults"
EVALUATE_EVERY_S = 60
FIRING_ABOVE = 0.5  # last(active) is 1 while active, 0 once cleared
QUERY_REF, REDUCE_REF, THRESHOLD_REF = "A", "B", "C"
EXPRESSION_DATASOURCE = "__expr__"  # Grafana's server-side expressions
# The building dashboard (issue 6, dashboard b) and its building variable; the dashboards worker
# builds it with this uid. Relative to Grafana's root URL: the message template prefixes .ExternalURL.
BUILDING_DASHBOARD_UID = "facmon-building"
BUILDING_DASHBOARD_PATH = f"d/{BUILDING_DASHBOARD_UID}?var-building="
# Nominal query range, seconds: Grafana requires one, the query (no $timeFilter) does not use it.
QUERY_RANGE_S = 600


def rule_uid(kind: str) -> str:
    """The fixed uid of a kind's rule (at most 40 characters, as Grafana requires)."""
    return f"facmon-{kind}"


def fault_query(kind: str) -> str:
    """InfluxQL: the last ``active`` value of every fault series of ``kind``, one series per tag set.

    No time filter, deliberately: a fault writes ``active=1`` once when it starts and nothing until it
    clears, so the only point of a fault active for weeks is weeks old, and any ``$timeFilter`` or
    relative range would let the alert resolve while the fault is still there. The measurement holds
    two points per fault, so reading all of it stays cheap."""
    group_by = ", ".join(quote_identifier(tag) for tag in LABELS)
    return f'SELECT last("active") FROM {quote_identifier(FAULT)} WHERE "kind" = {quote_string(kind)} GROUP BY {group_by}'


def template_text(text: str) -> str:
    """``text`` (e.g. a building name from the registry) as literal text of a Go template: every ``{``
    becomes an action printing it, so no name can open an action (``{{``) or merge with one that follows."""
    return text.replace("{", '{{ "{" }}') if "{" in text else text


def template_string(text: str) -> str:
    """``text`` as a Go template string literal (JSON's escapes are Go's)."""
    return json.dumps(text, ensure_ascii=False)


def _choice(label: str, names: dict[str, str]) -> str:
    """A Go template choosing a display name for ``$labels.<label>`` (the label itself when unknown)."""
    if not names:
        return f"{{{{ $labels.{label} }}}}"
    branches = "".join(
        f"{{{{ {'if' if i == 0 else 'else if'} eq $labels.{label} {template_string(key)} }}}}{template_text(name)}"
        for i, (key, name) in enumerate(names.items())
    )
    return f"{branches}{{{{ else }}}}{{{{ $labels.{label} }}}}{{{{ end }}}}"


def _label_or(label: str, fallback: str) -> str:
    """A Go template printing ``$labels.<label>``, or ``$labels.<fallback>`` when it is empty or missing (a
    point written before the label existed). A label's value is data to the template, never parsed: a name
    holding ``{{`` or ``$`` is printed as written."""
    return f"{{{{ if $labels.{label} }}}}{{{{ $labels.{label} }}}}{{{{ else }}}}{{{{ $labels.{fallback} }}}}{{{{ end }}}}"


def _sla_text(site: Site) -> str:
    """A Go template stating the responsible vendor's SLA for the alert's severity (empty when none)."""
    branches = []
    for vendor in site.vendors:
        for severity, term in vendor.sla.items():
            branches.append(
                (
                    f"and (eq $labels.vendor {template_string(vendor.id)}) (eq $labels.severity {template_string(severity.value)})",
                    f"按合同应在 {term.onsite_min:g} 分钟内到场、{term.restore_min:g} 分钟内恢复。",
                )
            )
    if not branches:
        return ""
    text = "".join(f"{{{{ {'if' if i == 0 else 'else if'} {condition} }}}}{promise}" for i, (condition, promise) in enumerate(branches))
    return text + "{{ end }}"


def rule_annotations(site: Site, kind: str) -> dict[str, str]:
    """The rule's annotations (Go templates Grafana expands per alert, with ``$labels`` predefined): a
    Chinese summary naming the building (its ``building_name`` label, else its code), a description naming
    the vendor and its SLA, the building dashboard's path with
    the building chosen, and the address of the fault's work order in the work-order service (registry
    ``work_orders.public_url``; sign-in required). Grafana stores annotations raw (no environment
    expansion), so ``$`` stays ``$``."""
    building = _label_or(NAME_TAG, "building")
    vendor = _choice("vendor", {v.id: v.name for v in site.vendors} | {NO_VENDOR: "无（未指定服务商）"})
    severity = _choice("severity", {s.value: name for s, name in SEVERITY_ZH.items()})
    return {
        "summary": f"【{severity}】{building}：{FAULT_KINDS[kind]}（{{{{ $labels.target }}}}）",
        "description": f"建筑编码 {{{{ $labels.building }}}}，故障对象 {{{{ $labels.target }}}}。责任服务商：{vendor}。{_sla_text(site)}",
        "building_dashboard": BUILDING_DASHBOARD_PATH + "{{ $labels.building }}",
        "work_order": f"{site.work_orders.public_url}/f/{{{{ $labels.building }}}}/{kind}/{{{{ $labels.target }}}}/",
    }


def _query(kind: str, datasource_uid: str) -> dict[str, Any]:
    return {
        "refId": QUERY_REF,
        "datasourceUid": datasource_uid,
        "queryType": "",
        "relativeTimeRange": {"from": QUERY_RANGE_S, "to": 0},
        "model": {
            "refId": QUERY_REF,
            "datasource": {"type": "influxdb", "uid": datasource_uid},
            "rawQuery": True,
            "query": fault_query(kind),
            "resultFormat": "time_series",
            "intervalMs": EVALUATE_EVERY_S * 1000,
            "maxDataPoints": 43200,
        },
    }


def _expression(ref: str, model: dict[str, Any]) -> dict[str, Any]:
    return {
        "refId": ref,
        "datasourceUid": EXPRESSION_DATASOURCE,
        "queryType": "",
        "relativeTimeRange": {"from": 0, "to": 0},
        "model": {"refId": ref, "datasource": {"type": EXPRESSION_DATASOURCE, "uid": EXPRESSION_DATASOURCE}, **model},
    }


def fault_rule(site: Site, kind: str, folder_uid: str, datasource_uid: str) -> dict[str, Any]:
    """One kind's rule as Grafana's provisioning API takes it (``ProvisionedAlertRule``)."""
    return {
        "uid": rule_uid(kind),
        "orgID": 1,
        "folderUID": folder_uid,
        "ruleGroup": RULE_GROUP,
        "title": f"故障：{FAULT_KINDS[kind]}",
        "condition": THRESHOLD_REF,
        "data": [
            _query(kind, datasource_uid),
            _expression(REDUCE_REF, {"type": "reduce", "expression": QUERY_REF, "reducer": "last", "settings": {"mode": ""}}),
            _expression(
                THRESHOLD_REF,
                {"type": "threshold", "expression": REDUCE_REF, "conditions": [{"evaluator": {"type": "gt", "params": [FIRING_ABOVE]}}]},
            ),
        ],
        # No fault rows at all is the normal state; a failing query is an error Grafana shows.
        "noDataState": "OK",
        "execErrState": "Error",
        "for": "0s",
        "labels": {"source": "facmon"},
        "annotations": rule_annotations(site, kind),
        "isPaused": False,
    }


def rule_group(site: Site, folder_uid: str, datasource_uid: str) -> dict[str, Any]:
    """The rule group as ``PUT /api/v1/provisioning/folder/{folder}/rule-groups/{group}`` takes it
    (``AlertRuleGroup``; ``interval`` in seconds)."""
    return {
        "title": RULE_GROUP,
        "folderUid": folder_uid,
        "interval": EVALUATE_EVERY_S,
        "rules": [fault_rule(site, kind, folder_uid, datasource_uid) for kind in FAULT_KINDS],
    }
