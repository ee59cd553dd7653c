"""``facmon grafana push``: make a running Grafana hold facmon's folder, datasource, dashboards and
alerting (message templates, mute timings, contact points, the policy tree, the fault rule group),
through its HTTP API with grafana-client.

Declarative and idempotent: each object is read first (GET) and compared with what the registry
gives; only what differs is created or updated, so a second push changes nothing. ``plan`` says
per object create / update / unchanged without changing anything (``--dry-run``).

Secrets: Grafana never returns a datasource's secure fields, only whether they are set, so a
datasource whose other settings are equal and whose secure fields are all set counts as unchanged
(rotate a token with ``--update-secrets``). Contact point settings Grafana keeps secret (a
DingTalk or WeCom robot URL) come back as ``[REDACTED]`` and count as equal for the same reason.

Alerting is owned whole by facmon where Grafana's API replaces whole objects: the rule group
(``PUT .../rule-groups/facmon-faults``) and the notification policy tree (``PUT /policies``, which
replaces any policy added by hand). Contact point integrations facmon created (uid ``facmon-...``)
that the registry no longer declares are deleted, after the new policy tree stops using them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import (
    GrafanaClientError,
    GrafanaException,
    GrafanaUnauthorizedError,
)

from facmon.alerts.notifications import AlertingObjects
from facmon.dashboards.datasource import (
    DATASOURCE_UID,
    DatasourceSettings,
    datasource_api_body,
    datasource_public_fields,
    secure_field_names,
)
from facmon.errors import FacmonError
from facmon.settings import read_secret

TOKEN_VARIABLE = "FACMON_GRAFANA_TOKEN"
PUSH_MESSAGE = "facmon grafana push"
# Fields Grafana adds to a stored dashboard: not part of what facmon declares.
_DASHBOARD_SERVER_FIELDS = ("id", "version")


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DELETE = "delete"


@dataclass
class Change:
    """One object's planned change; ``apply`` performs it (None when unchanged)."""

    kind: str  # folder, datasource, dashboard, template, mute timing, contact point, policy tree, rule group
    uid: str
    title: str
    action: Action
    apply: Callable[[], Any] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class DesiredState:
    """What Grafana should hold: the folder, the datasource, the dashboards (JSON by uid) and alerting."""

    folder_uid: str
    folder_title: str
    datasource: DatasourceSettings
    dashboards: dict[str, dict[str, Any]]
    alerting: AlertingObjects | None = None


def grafana_token() -> str:
    """The Grafana service-account token from FACMON_GRAFANA_TOKEN or the file named by FACMON_GRAFANA_TOKEN_FILE."""
    token = read_secret(TOKEN_VARIABLE)
    if not token:
        raise FacmonError(
            f"no Grafana token: set {TOKEN_VARIABLE} or {TOKEN_VARIABLE}_FILE to a service-account token with the Admin role "
            "(never on the command line)"
        )
    return token


def connect(url: str, token: str, *, timeout_s: float = 30.0) -> GrafanaApi:
    """A grafana-client API for ``url`` (e.g. ``http://grafana:3000`` or with a sub-path) with a bearer token."""
    if not url.startswith(("http://", "https://")):
        raise FacmonError(f"--url {url!r}: give Grafana's address as http://host:port or https://host:port")
    return GrafanaApi.from_url(url, credential=token, timeout=timeout_s)


def _get_or_none(fetch: Callable[[], Any]) -> Any:
    try:
        return fetch()
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise


def _folder_change(api: GrafanaApi, desired: DesiredState) -> Change:
    current = _get_or_none(lambda: api.folder.get_folder(desired.folder_uid))
    if current is None:
        return Change(
            "folder",
            desired.folder_uid,
            desired.folder_title,
            Action.CREATE,
            lambda: api.folder.create_folder(desired.folder_title, uid=desired.folder_uid),
        )
    if current.get("title") != desired.folder_title:
        return Change(
            "folder",
            desired.folder_uid,
            desired.folder_title,
            Action.UPDATE,
            lambda: api.folder.update_folder(desired.folder_uid, title=desired.folder_title, version=current.get("version")),
        )
    return Change("folder", desired.folder_uid, desired.folder_title, Action.UNCHANGED)


def _datasource_differs(current: dict[str, Any], settings: DatasourceSettings) -> bool:
    wanted = datasource_public_fields(settings)
    if any(current.get(key) != value for key, value in wanted.items()):
        return True
    set_fields = {name for name, is_set in (current.get("secureJsonFields") or {}).items() if is_set}
    return not secure_field_names(settings) <= set_fields


def _datasource_change(api: GrafanaApi, settings: DatasourceSettings, update_secrets: bool) -> Change:
    current = _get_or_none(lambda: api.datasource.get_datasource_by_uid(DATASOURCE_UID))
    name = datasource_public_fields(settings)["name"]
    if current is None:
        return Change(
            "datasource", DATASOURCE_UID, name, Action.CREATE, lambda: api.datasource.create_datasource(datasource_api_body(settings))
        )
    if update_secrets or _datasource_differs(current, settings):
        return Change(
            "datasource",
            DATASOURCE_UID,
            name,
            Action.UPDATE,
            lambda: api.datasource.update_datasource_by_uid(DATASOURCE_UID, datasource_api_body(settings)),
        )
    return Change("datasource", DATASOURCE_UID, name, Action.UNCHANGED)


def _declared(model: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in model.items() if key not in _DASHBOARD_SERVER_FIELDS}


def _dashboard_change(api: GrafanaApi, desired: DesiredState, uid: str, model: dict[str, Any]) -> Change:
    current = _get_or_none(lambda: api.dashboard.get_dashboard(uid))
    title = str(model.get("title", uid))

    def save() -> Any:
        body = copy.deepcopy(model)
        body.pop("id", None)  # found by uid; Grafana's own id is never ours to set
        return api.dashboard.update_dashboard(
            {"dashboard": body, "folderUid": desired.folder_uid, "overwrite": True, "message": PUSH_MESSAGE}
        )

    if current is None:
        return Change("dashboard", uid, title, Action.CREATE, save)
    stored = current.get("dashboard") or {}
    in_folder = (current.get("meta") or {}).get("folderUid") == desired.folder_uid
    if _declared(stored) != _declared(model) or not in_folder:
        return Change("dashboard", uid, title, Action.UPDATE, save)
    return Change("dashboard", uid, title, Action.UNCHANGED)


# -- alerting ----------------------------------------------------------------------------------------

REDACTED = "[REDACTED]"  # how Grafana returns a contact point's secret settings
FACMON_UID_PREFIX = "facmon-"


def _without_empty(value: Any) -> Any:
    """``value`` without keys whose value is empty or false: Grafana omits them when it answers."""
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v not in (None, False, [], {}, "") and k != "provenance"}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def _template_change(api: GrafanaApi, name: str, text: str) -> Change:
    current = _get_or_none(lambda: api.alertingprovisioning.get_template(name))
    if current is None:
        return Change(
            "template", name, name, Action.CREATE, lambda: api.alertingprovisioning.create_or_update_template(name, {"template": text})
        )
    if current.get("template") != text:
        body = {"template": text, **({"version": current["version"]} if current.get("version") else {})}
        return Change("template", name, name, Action.UPDATE, lambda: api.alertingprovisioning.create_or_update_template(name, body))
    return Change("template", name, name, Action.UNCHANGED)


def _mute_timing_change(api: GrafanaApi, timing: dict[str, Any]) -> Change:
    name = timing["name"]
    current = _get_or_none(lambda: api.alertingprovisioning.get_mute_timing(name))
    if current is None:
        return Change("mute timing", name, name, Action.CREATE, lambda: api.alertingprovisioning.create_mute_timing(timing))
    if _without_empty(current.get("time_intervals")) != _without_empty(timing["time_intervals"]):
        return Change("mute timing", name, name, Action.UPDATE, lambda: api.alertingprovisioning.update_mute_timing(name, timing))
    return Change("mute timing", name, name, Action.UNCHANGED)


def _settings_equal(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    if set(current) != set(wanted):
        return False
    return all(current[key] == value or current[key] == REDACTED for key, value in wanted.items())


def _contact_point_changes(api: GrafanaApi, points: list[dict[str, Any]]) -> tuple[list[Change], list[Change]]:
    """(creates/updates/unchanged, deletions of facmon integrations no longer declared)."""
    current = {point.get("uid"): point for point in api.alertingprovisioning.get_contactpoints() or []}
    changes = []
    for point in points:
        uid, title = point["uid"], f"{point['name']} ({point['type']})"
        stored = current.get(uid)
        if stored is None:
            changes.append(Change("contact point", uid, title, Action.CREATE, partial(api.alertingprovisioning.create_contactpoint, point)))
        elif (stored.get("name"), stored.get("type"), bool(stored.get("disableResolveMessage"))) != (
            point["name"],
            point["type"],
            point["disableResolveMessage"],
        ) or not _settings_equal(stored.get("settings") or {}, point["settings"]):
            changes.append(
                Change(
                    "contact point", uid, title, Action.UPDATE, partial(api.alertingprovisioning.update_contactpoint, point["uid"], point)
                )
            )
        else:
            changes.append(Change("contact point", uid, title, Action.UNCHANGED))
    declared = {point["uid"] for point in points}
    deletions = [
        Change(
            "contact point",
            uid,
            f"{stored.get('name')} ({stored.get('type')})",
            Action.DELETE,
            partial(api.alertingprovisioning.delete_contactpoint, uid),
        )
        for uid, stored in current.items()
        if uid and uid.startswith(FACMON_UID_PREFIX) and uid not in declared
    ]
    return changes, deletions


def _policy_change(api: GrafanaApi, tree: dict[str, Any]) -> Change:
    current = _get_or_none(lambda: api.alertingprovisioning.get_notification_policy_tree())
    title = f"{len(tree.get('routes', []))} routes"

    def apply_tree() -> Any:
        return api.alertingprovisioning.set_notification_policy_tree(tree)

    if current is None:
        return Change("policy tree", "policies", title, Action.CREATE, apply_tree)
    if _without_empty(current) != _without_empty(tree):
        return Change("policy tree", "policies", title, Action.UPDATE, apply_tree)
    return Change("policy tree", "policies", title, Action.UNCHANGED)


# What facmon declares of a rule; Grafana adds id, updated, provenance.
_RULE_KEYS = (
    "uid",
    "orgID",
    "folderUID",
    "ruleGroup",
    "title",
    "condition",
    "data",
    "noDataState",
    "execErrState",
    "for",
    "labels",
    "annotations",
    "isPaused",
)


def _declared_group(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": group.get("title"),
        "folderUid": group.get("folderUid"),
        "interval": group.get("interval"),
        "rules": [_without_empty({key: rule.get(key) for key in _RULE_KEYS}) for rule in group.get("rules") or []],
    }


def _rule_group_change(api: GrafanaApi, group: dict[str, Any]) -> Change:
    folder_uid, name = group["folderUid"], group["title"]
    current = _get_or_none(lambda: api.alertingprovisioning.get_rule_group(folder_uid, name))
    title = f"{name} ({len(group['rules'])} rules)"

    def put() -> Any:
        return api.alertingprovisioning.update_rule_group(folder_uid, name, group)

    if current is None:
        return Change("rule group", name, title, Action.CREATE, put)
    if _declared_group(current) != _declared_group(group):
        return Change("rule group", name, title, Action.UPDATE, put)
    return Change("rule group", name, title, Action.UNCHANGED)


def _alerting_changes(api: GrafanaApi, alerting: AlertingObjects) -> list[Change]:
    changes = [_template_change(api, name, text) for name, text in alerting.templates.items()]
    changes += [_mute_timing_change(api, timing) for timing in alerting.mute_timings]
    points, deletions = _contact_point_changes(api, alerting.contact_points)
    changes += points
    changes.append(_policy_change(api, alerting.policy_tree))
    changes.append(_rule_group_change(api, alerting.rule_group))
    return changes + deletions


def plan(api: GrafanaApi, desired: DesiredState, *, update_secrets: bool = False) -> list[Change]:
    """What a push would do, object by object (reads only)."""
    try:
        changes = [_folder_change(api, desired), _datasource_change(api, desired.datasource, update_secrets)]
        changes += [_dashboard_change(api, desired, uid, model) for uid, model in desired.dashboards.items()]
        if desired.alerting is not None:
            changes += _alerting_changes(api, desired.alerting)
    except (GrafanaException, niquests.exceptions.RequestException) as exc:
        raise _explained(api, exc) from None
    return changes


def apply(api: GrafanaApi, changes: list[Change]) -> None:
    """Perform the planned changes in plan order: folder and datasource before what lives in them,
    templates and mute timings before the contact points and policies using them, deletions last."""
    try:
        for change in changes:
            if change.apply is not None:
                change.apply()
    except (GrafanaException, niquests.exceptions.RequestException) as exc:
        raise _explained(api, exc) from None


def _explained(api: GrafanaApi, exc: Exception) -> FacmonError:
    where = api.url or "Grafana"
    if isinstance(exc, GrafanaUnauthorizedError):
        return FacmonError(f"Grafana at {where} refused the token (401): check {TOKEN_VARIABLE}")
    if isinstance(exc, GrafanaException):
        return FacmonError(f"Grafana at {where} answered {exc.status_code}: {exc.message}")
    if isinstance(exc, niquests.exceptions.RequestException):
        return FacmonError(f"no answer from Grafana at {where} ({type(exc).__name__}): is the URL right and Grafana running?")
    return FacmonError(f"Grafana at {where}: {exc}")
