"""``facmon grafana push``: make a running Grafana hold facmon's folder, datasource and dashboards,
through its HTTP API with grafana-client.

Declarative and idempotent: each object is read first (GET) and compared with what the registry
gives; only what differs is created or updated, so a second push changes nothing. ``plan`` says
per object create / update / unchanged without changing anything (``--dry-run``).

Secrets: Grafana never returns a datasource's secure fields, only whether they are set, so a
datasource whose other settings are equal and whose secure fields are all set counts as unchanged
(rotate a token with ``--update-secrets``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import (
    GrafanaClientError,
    GrafanaException,
    GrafanaUnauthorizedError,
)

from dashboards.datasource import (
    DATASOURCE_UID,
    DatasourceSettings,
    datasource_api_body,
    datasource_public_fields,
    secure_field_names,
)
from facmon.errors import FacmonError
from facmon.settings import _secret

TOKEN_VARIABLE = "FACMON_GRAFANA_TOKEN"
PUSH_MESSAGE = "facmon grafana push"
# Fields Grafana adds to a stored dashboard: not part of what facmon declares.
_DASHBOARD_SERVER_FIELDS = ("id", "version")


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass
class Change:
    """One object's planned change; ``apply`` performs it (None when unchanged)."""

    kind: str  # folder, datasource, dashboard
    uid: str
    title: str
    action: Action
    apply: Callable[[], Any] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class DesiredState:
    """What Grafana should hold: the folder, the datasource and the dashboards (JSON by uid)."""

    folder_uid: str
    folder_title: str
    datasource: DatasourceSettings
    dashboards: dict[str, dict[str, Any]]


def grafana_token() -> str:
    """The Grafana service-account token from FACMON_GRAFANA_TOKEN or the file named by FACMON_GRAFANA_TOKEN_FILE."""
    token = _secret(TOKEN_VARIABLE)
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
        return Change("folder", desired.folder_uid, desired.folder_title, Action.CREATE,
                      lambda: api.folder.create_folder(desired.folder_title, uid=desired.folder_uid))
    if current.get("title") != desired.folder_title:
        return Change("folder", desired.folder_uid, desired.folder_title, Action.UPDATE,
                      lambda: api.folder.update_folder(desired.folder_uid, title=desired.folder_title, version=current.get("version")))
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
        return Change("datasource", DATASOURCE_UID, name, Action.CREATE,
                      lambda: api.datasource.create_datasource(datasource_api_body(settings)))
    if update_secrets or _datasource_differs(current, settings):
        return Change("datasource", DATASOURCE_UID, name, Action.UPDATE,
                      lambda: api.datasource.update_datasource_by_uid(DATASOURCE_UID, datasource_api_body(settings)))
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


def plan(api: GrafanaApi, desired: DesiredState, *, update_secrets: bool = False) -> list[Change]:
    """What a push would do, object by object (reads only)."""
    try:
        changes = [_folder_change(api, desired), _datasource_change(api, desired.datasource, update_secrets)]
        changes += [_dashboard_change(api, desired, uid, model) for uid, model in desired.dashboards.items()]
    except (GrafanaException, niquests.exceptions.RequestException) as exc:
        raise _explained(api, exc) from None
    return changes


def apply(api: GrafanaApi, changes: list[Change]) -> None:
    """Perform the planned creates and updates, folder and datasource before the dashboards."""
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
