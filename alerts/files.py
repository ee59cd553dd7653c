"""Alerting as Grafana file provisioning (``alerting/*.yaml`` of ``facmon grafana export``).

The file shapes differ from the API bodies: a rule group names its folder by title and holds rules
without folder/group/org fields, its interval is a duration string; a contact point nests its
integrations as ``receivers``; policies, templates and mute timings are lists with an ``orgId``.
Grafana expands ``$NAME`` in provisioning files as environment variables, so every ``$`` of a
template (``$labels``, ``$.ExternalURL``) is written ``$$``.
"""

from __future__ import annotations

from typing import Any

from alerts.notifications import AlertingObjects

ORG_ID = 1
# file name (under alerting/) -> what it holds
ALERTING_FILES = ("rules.yaml", "contact-points.yaml", "policies.yaml", "templates.yaml", "mute-timings.yaml")
_RULE_FILE_KEYS = ("uid", "title", "condition", "data", "noDataState", "execErrState", "for", "labels", "annotations", "isPaused")


def escape_dollars(value: Any) -> Any:
    """``value`` with every ``$`` in its strings doubled, so Grafana's provisioning leaves it alone."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [escape_dollars(item) for item in value]
    if isinstance(value, dict):
        return {key: escape_dollars(item) for key, item in value.items()}
    return value


def _contact_points_file(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for point in points:
        receiver = {key: point[key] for key in ("uid", "type", "settings", "disableResolveMessage")}
        by_name.setdefault(point["name"], []).append(receiver)
    return [{"orgId": ORG_ID, "name": name, "receivers": receivers} for name, receivers in by_name.items()]


def alerting_documents(objects: AlertingObjects, folder_title: str) -> dict[str, dict[str, Any]]:
    """The provisioning documents by file name; the rule group goes into the folder titled ``folder_title``."""
    group = objects.rule_group
    documents: dict[str, dict[str, Any]] = {
        "rules.yaml": {
            "apiVersion": 1,
            "groups": [{
                "orgId": ORG_ID,
                "name": group["title"],
                "folder": folder_title,
                "interval": f"{group['interval']}s",
                "rules": [{key: rule[key] for key in _RULE_FILE_KEYS} for rule in group["rules"]],
            }],
        },
        "contact-points.yaml": {"apiVersion": 1, "contactPoints": _contact_points_file(objects.contact_points)},
        "policies.yaml": {"apiVersion": 1, "policies": [{"orgId": ORG_ID, **objects.policy_tree}]},
        "templates.yaml": {"apiVersion": 1, "templates": [{"orgId": ORG_ID, "name": name, "template": text} for name, text in objects.templates.items()]},
        "mute-timings.yaml": {"apiVersion": 1, "muteTimes": [{"orgId": ORG_ID, **timing} for timing in objects.mute_timings]},
    }
    return {name: escape_dollars(document) for name, document in documents.items()}
