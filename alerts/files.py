"""Alerting as Grafana file provisioning (``alerting/*.yaml`` of ``facmon grafana export``).

The file shapes differ from the API bodies: a rule group names its folder by title and holds rules
without folder/group/org fields, its interval is a duration string; a contact point nests its
integrations as ``receivers``; policies, templates and mute timings are lists with an ``orgId``.

Grafana 11 expands environment variables (``$NAME``, ``${NAME}``; ``$$`` is a literal ``$``) in some
fields of these files and stores others raw (pkg/services/provisioning/values and the *_types.go files
of pkg/services/provisioning/alerting; docs/grafana.md). Expanded: a rule group's name, folder and
interval; a rule's uid, title, condition, labels and its queries' refId, queryType and datasourceUid;
contact points whole (settings included); the policy tree whole. Raw: rule annotations, query models and
time ranges, notification templates, mute timings. So a ``$`` is doubled in expanded fields only: a
``$$labels`` in an annotation or ``$$.ExternalURL`` in a template would reach Go's template parser.
"""

from __future__ import annotations

from typing import Any

from facmon.alerts.notifications import AlertingObjects

ORG_ID = 1
# file name (under alerting/) -> what it holds
ALERTING_FILES = ("rules.yaml", "contact-points.yaml", "policies.yaml", "templates.yaml", "mute-timings.yaml")
_RULE_FILE_KEYS = ("uid", "title", "condition", "data", "noDataState", "execErrState", "for", "labels", "annotations", "isPaused")


def escape_dollars(value: Any) -> Any:
    """``value`` with every ``$`` in its strings doubled, so Grafana's environment expansion gives it back."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [escape_dollars(item) for item in value]
    if isinstance(value, dict):
        return {key: escape_dollars(item) for key, item in value.items()}
    return value


_EXPANDED_RULE_KEYS = ("uid", "title", "condition", "noDataState", "execErrState", "for", "labels")
_EXPANDED_QUERY_KEYS = ("refId", "queryType", "datasourceUid")


def _rule_file(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as the file carries it: ``$`` doubled in the fields Grafana expands, the rest raw."""
    entry = {key: escape_dollars(rule[key]) if key in _EXPANDED_RULE_KEYS else rule[key] for key in _RULE_FILE_KEYS}
    entry["data"] = [
        {key: escape_dollars(value) if key in _EXPANDED_QUERY_KEYS else value for key, value in query.items()} for query in rule["data"]
    ]
    return entry


def _contact_points_file(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for point in points:
        receiver = {key: point[key] for key in ("uid", "type", "settings", "disableResolveMessage")}
        by_name.setdefault(point["name"], []).append(receiver)
    return [{"orgId": ORG_ID, "name": name, "receivers": receivers} for name, receivers in by_name.items()]


def alerting_documents(objects: AlertingObjects, folder_title: str) -> dict[str, dict[str, Any]]:
    """The provisioning documents by file name; the rule group goes into the folder titled ``folder_title``
    (Grafana finds or creates it by title; the dashboard provider names the same title)."""
    group = objects.rule_group
    return {
        "rules.yaml": {
            "apiVersion": 1,
            "groups": [
                {
                    "orgId": ORG_ID,
                    "name": escape_dollars(group["title"]),
                    "folder": escape_dollars(folder_title),
                    "interval": f"{group['interval']}s",
                    "rules": [_rule_file(rule) for rule in group["rules"]],
                }
            ],
        },
        "contact-points.yaml": {"apiVersion": 1, "contactPoints": escape_dollars(_contact_points_file(objects.contact_points))},
        "policies.yaml": {"apiVersion": 1, "policies": [{"orgId": ORG_ID, **escape_dollars(objects.policy_tree)}]},
        "templates.yaml": {
            "apiVersion": 1,
            "templates": [{"orgId": ORG_ID, "name": name, "template": text} for name, text in objects.templates.items()],
        },
        "mute-timings.yaml": {"apiVersion": 1, "muteTimes": [{"orgId": ORG_ID, **timing} for timing in objects.mute_timings]},
    }
