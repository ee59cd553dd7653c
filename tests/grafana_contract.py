"""A loopback stand-in for Grafana that holds every request to Grafana's own published contract.

No Grafana server can run here (see ../shared/grafana/README.md). :class:`ContractGrafana` is a real
HTTP server (pytest-httpserver) that

- validates every request, through openapi-core, against Grafana 11.4's OpenAPI spec, patched for the
  spec's known defects and closed (``additionalProperties: false``) on the objects facmon sends, so a
  misspelt key fails instead of being ignored; a dashboard body is also validated against the
  dashboard JSON Schema;
- keeps state like Grafana for what facmon touches (folders, datasources by uid, dashboards by uid
  with versions; alerting: rule groups per folder, contact points with secret settings redacted on
  read, the policy tree, templates, mute timings), so "a second push changes nothing" can be checked
  by what it sends; it also checks what Grafana checks across objects (a rule's folder and datasource
  exist, the policy tree names existing contact points and mute timings, a contact point in use is
  not deleted);
- validates its own responses against the same spec, so it cannot drift into answers Grafana never gives;
- records every violation; tests assert there are none.

It also renders InfluxQL the way Grafana's InfluxDB datasource does before sending a panel's query
(:func:`render_influxql`), so the tests can run each panel's query against a real InfluxDB.

The contract folder is ``../shared/grafana`` from the project root or ``$FACMON_GRAFANA_CONTRACT``; if
it is missing the tests fail (never skip): a contract test that silently does not run proves nothing.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import (
    WerkzeugOpenAPIRequest,
    WerkzeugOpenAPIResponse,
)
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

ROOT = Path(__file__).resolve().parent.parent
SPEC_FILE = "openapi3-grafana-11.4.0.json"
DASHBOARD_SCHEMA_FILE = "dashboard.jsonschema.json"

# Objects facmon sends, closed against unknown keys (README defect 3, plus the datasource and folder
# update commands this push also sends).
CLOSED_SCHEMAS = (
    "ProvisionedAlertRule",
    "AlertQuery",
    "RelativeTimeRange",
    "AlertRuleGroup",
    "EmbeddedContactPoint",
    "Route",
    "NotificationTemplateContent",
    "SaveDashboardCommand",
    "CreateFolderCommand",
    "UpdateFolderCommand",
    "AddDataSourceCommand",
    "UpdateDataSourceCommand",
)
# Contact point types Grafana 11 accepts besides the spec's (README defect 1).
EXTRA_CONTACT_POINT_TYPES = ("mqtt", "LINE", "oncall", "sns", "webex", "jira")
# Contact point settings Grafana 11 keeps secret: answered as "[REDACTED]", never returned.
SECURE_CONTACT_SETTINGS = {"dingding": ("url",), "wecom": ("url", "secret"), "webhook": ("password", "authorization_credentials")}


class ContractMissing(AssertionError):
    """The Grafana contract files are not where the tests look for them."""


def _beside_origin() -> list[Path]:
    """``../shared/grafana`` of the checkout this one was cloned from, when that is a local folder: a
    throwaway clone (CI, or `git clone` into /tmp to try a fresh machine) has no ``../shared`` of its own."""
    try:
        url = subprocess.run(
            ["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return []
    origin = Path(url.removeprefix("file://"))
    return [origin.parent / "shared" / "grafana"] if url and origin.is_dir() else []


def contract_folder() -> Path:
    """The folder with Grafana's contract files; raises (fails the test) when it is missing."""
    configured = os.environ.get("FACMON_GRAFANA_CONTRACT")
    candidates = [Path(configured)] if configured else [ROOT.parent / "shared" / "grafana", *_beside_origin()]
    folder = next((c for c in candidates if all((c / name).is_file() for name in (SPEC_FILE, DASHBOARD_SCHEMA_FILE))), candidates[0])
    missing = [name for name in (SPEC_FILE, DASHBOARD_SCHEMA_FILE) if not (folder / name).is_file()]
    if missing:
        raise ContractMissing(
            f"Grafana contract files {missing} not found in {folder}: set FACMON_GRAFANA_CONTRACT to the folder "
            "holding them (see ../shared/grafana/README.md); the Grafana tests cannot run without them"
        )
    return folder


@cache
def _raw_spec() -> str:
    return (contract_folder() / SPEC_FILE).read_text(encoding="utf-8")


@cache
def dashboard_schema() -> dict[str, Any]:
    return json.loads((contract_folder() / DASHBOARD_SCHEMA_FILE).read_text(encoding="utf-8"))


def dashboard_problems(model: dict[str, Any]) -> list[str]:
    """Every way ``model`` breaks the dashboard JSON Schema (empty when valid)."""
    validator = jsonschema.Draft7Validator(dashboard_schema())
    problems = []
    for error in validator.iter_errors(model):
        # A panel is "a Panel or a RowPanel": report why each alternative rejected it.
        for e in [error, *error.context]:
            problems.append(f"{'/'.join(map(str, e.absolute_path)) or '(dashboard)'}: {e.message[:300]}")
    return problems


def patched_spec(server_url: str) -> dict[str, Any]:
    """Grafana's OpenAPI 3 spec with the README's four defects fixed, served at ``server_url``."""
    spec = json.loads(_raw_spec())
    schemas = spec["components"]["schemas"]
    # 1. contact point types carry a leading space; Grafana 11 accepts a few more.
    contact_type = schemas["EmbeddedContactPoint"]["properties"]["type"]
    contact_type["enum"] = [value.strip() for value in contact_type["enum"]] + list(EXTRA_CONTACT_POINT_TYPES)
    # 2. mute timings: Alertmanager's wire format, not the colliding TimeInterval model.
    schemas["MuteTimeInterval"]["properties"]["time_intervals"]["items"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "times": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["start_time", "end_time"],
                    "properties": {
                        "start_time": {"type": "string", "pattern": r"^([01]\d|2[0-4]):[0-5]\d$"},
                        "end_time": {"type": "string", "pattern": r"^([01]\d|2[0-4]):[0-5]\d$"},
                    },
                },
            },
            "weekdays": {"type": "array", "items": {"type": "string"}},
            "days_of_month": {"type": "array", "items": {"type": "string"}},
            "months": {"type": "array", "items": {"type": "string"}},
            "years": {"type": "array", "items": {"type": "string"}},
            "location": {"type": "string"},
        },
    }
    # 3. close the objects we send.
    for name in CLOSED_SCHEMAS:
        schemas[name]["additionalProperties"] = False
    # 4. the loopback server instead of the relative /api.
    spec["servers"] = [{"url": f"{server_url.rstrip('/')}/api"}]
    return spec


def spec_schema_problems(schema_name: str, instance: Any) -> list[str]:
    """Every way ``instance`` breaks the patched spec's schema ``schema_name`` (empty when valid): for
    checking provisioning files against the objects the API defines."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(object)'}: {e.message[:300]}"
        for e in _spec_validator(schema_name).iter_errors(instance)
    ]


@cache
def _spec_validator(schema_name: str) -> jsonschema.Draft4Validator:
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": patched_spec("http://127.0.0.1")["components"]}
    return jsonschema.Draft4Validator(root)


@dataclass
class Violation:
    """A request (or one of our own responses) that breaks the contract."""

    method: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {self.problem}"


def _explain(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__ or exc.__context__
    seen = 0
    while cause is not None and seen < 5:
        details = getattr(cause, "schema_errors", None)
        if details:
            parts += [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:300]}" for e in details]
        else:
            parts.append(f"{type(cause).__name__}: {str(cause)[:300]}")
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return " <- ".join(parts)


@dataclass
class GrafanaState:
    """What the stand-in Grafana holds, shaped like Grafana's own answers."""

    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasource_secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # uid -> secureJsonData as received
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> {"dashboard", "folderUid", "version", "id"}
    rule_groups: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (folder uid, group) -> AlertRuleGroup
    # uid -> EmbeddedContactPoint as received; a fresh Grafana has its default email contact point.
    contact_points: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "default-email": {
                "uid": "default-email",
                "name": "grafana-default-email",
                "type": "email",
                "settings": {"addresses": "<example@email.com>"},
                "disableResolveMessage": False,
            },
        }
    )
    policy_tree: dict[str, Any] = field(
        default_factory=lambda: {"receiver": "grafana-default-email", "group_by": ["grafana_folder", "alertname"]}
    )
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> NotificationTemplate
    mute_timings: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> MuteTimeInterval


class ContractGrafana:
    """The loopback Grafana: start(), use ``url`` with grafana-client, then check ``violations``."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.state = GrafanaState()
        self.violations: list[Violation] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._openapi: OpenAPI | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> ContractGrafana:
        self.server.start()
        self._openapi = OpenAPI.from_dict(patched_spec(self.url))
        self.server.expect_request(re.compile(".*")).respond_with_handler(self._handle)
        return self

    def stop(self) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()

    def reset(self) -> None:
        """Forget everything: an empty Grafana, no requests, no violations."""
        with self._lock:
            self.state = GrafanaState()
            self.violations.clear()
            self.requests.clear()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def writes(self) -> list[tuple[str, str]]:
        """Requests that would change Grafana (POST, PUT, PATCH, DELETE)."""
        return [(method, path) for method, path in self.requests if method not in ("GET", "HEAD")]

    # -- request handling --------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append((request.method, request.path))
            assert self._openapi is not None
            try:
                self._openapi.validate_request(WerkzeugOpenAPIRequest(request))
            except Exception as exc:  # noqa: BLE001 (every kind of contract failure is recorded, then answered 400)
                self.violations.append(Violation(request.method, request.path, _explain(exc)))
                return self._json({"message": "request breaks the Grafana API contract"}, 400)
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return self._json({"message": "Unauthorized"}, 401)
            response = self._route(request)
            try:
                self._openapi.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
            except Exception as exc:  # noqa: BLE001 (recorded: the test fails on it)
                self.violations.append(Violation(request.method, request.path, "the stand-in's own response: " + _explain(exc)))
            return response

    @staticmethod
    def _json(body: Any, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")

    def _route(self, request: Request) -> Response:
        method, path = request.method, request.path.removeprefix("/api")
        body = request.get_json(silent=True) if request.data else None
        routes = (
            ("GET", r"/health", lambda m: self._json({"commit": "stand-in", "database": "ok", "version": "11.4.0"})),
            ("GET", r"/folders/(?P<uid>[^/]+)", lambda m: self._get_folder(m["uid"])),
            ("POST", r"/folders", lambda m: self._create_folder(body)),
            ("PUT", r"/folders/(?P<uid>[^/]+)", lambda m: self._update_folder(m["uid"], body)),
            ("GET", r"/datasources/uid/(?P<uid>[^/]+)", lambda m: self._get_datasource(m["uid"])),
            ("POST", r"/datasources", lambda m: self._save_datasource(None, body)),
            ("PUT", r"/datasources/uid/(?P<uid>[^/]+)", lambda m: self._save_datasource(m["uid"], body)),
            ("GET", r"/dashboards/uid/(?P<uid>[^/]+)", lambda m: self._get_dashboard(m["uid"])),
            ("POST", r"/dashboards/db", lambda m: self._save_dashboard(body)),
            (
                "GET",
                r"/v1/provisioning/folder/(?P<folder>[^/]+)/rule-groups/(?P<group>[^/]+)",
                lambda m: self._get_rule_group(m["folder"], m["group"]),
            ),
            (
                "PUT",
                r"/v1/provisioning/folder/(?P<folder>[^/]+)/rule-groups/(?P<group>[^/]+)",
                lambda m: self._put_rule_group(m["folder"], m["group"], body),
            ),
            (
                "GET",
                r"/v1/provisioning/contact-points",
                lambda m: self._json([self._contact_point_view(p) for p in self.state.contact_points.values()]),
            ),
            ("POST", r"/v1/provisioning/contact-points", lambda m: self._save_contact_point(None, body)),
            ("PUT", r"/v1/provisioning/contact-points/(?P<uid>[^/]+)", lambda m: self._save_contact_point(m["uid"], body)),
            ("DELETE", r"/v1/provisioning/contact-points/(?P<uid>[^/]+)", lambda m: self._delete_contact_point(m["uid"])),
            ("GET", r"/v1/provisioning/policies", lambda m: self._json({**self.state.policy_tree, "provenance": "api"})),
            ("PUT", r"/v1/provisioning/policies", lambda m: self._put_policy_tree(body)),
            ("GET", r"/v1/provisioning/templates/(?P<name>[^/]+)", lambda m: self._get_template(m["name"])),
            ("PUT", r"/v1/provisioning/templates/(?P<name>[^/]+)", lambda m: self._put_template(m["name"], body)),
            ("GET", r"/v1/provisioning/mute-timings/(?P<name>[^/]+)", lambda m: self._get_mute_timing(m["name"])),
            ("POST", r"/v1/provisioning/mute-timings", lambda m: self._save_mute_timing(None, body)),
            ("PUT", r"/v1/provisioning/mute-timings/(?P<name>[^/]+)", lambda m: self._save_mute_timing(m["name"], body)),
        )
        for route_method, pattern, answer in routes:
            match = re.fullmatch(pattern, path)
            if match and method == route_method:
                return answer(match)
        self.violations.append(
            Violation(method, request.path, "the stand-in does not serve this endpoint (valid, but unexpected from facmon)")
        )
        return self._json({"message": "Not found"}, 404)

    def _not_found(self, what: str) -> Response:
        return self._json({"message": f"{what} not found"}, 404)

    # folders

    def _folder_view(self, folder: dict[str, Any]) -> dict[str, Any]:
        return {
            **folder,
            "url": f"/dashboards/f/{folder['uid']}/",
            "hasAcl": False,
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canDelete": True,
        }

    def _get_folder(self, uid: str) -> Response:
        folder = self.state.folders.get(uid)
        return self._json(self._folder_view(folder)) if folder else self._not_found("folder")

    def _create_folder(self, body: dict[str, Any]) -> Response:
        uid = body.get("uid") or f"folder{next(self._ids)}"
        if uid in self.state.folders:
            return self._json({"message": "a folder with the same uid already exists"}, 409)
        folder = {"id": next(self._ids), "uid": uid, "title": body["title"], "version": 1}
        self.state.folders[uid] = folder
        return self._json(self._folder_view(folder))

    def _update_folder(self, uid: str, body: dict[str, Any]) -> Response:
        folder = self.state.folders.get(uid)
        if folder is None:
            return self._not_found("folder")
        if not body.get("overwrite") and body.get("version") not in (None, folder["version"]):
            return self._json({"message": "the folder has been changed by someone else"}, 409)
        folder.update(title=body.get("title", folder["title"]), version=folder["version"] + 1)
        return self._json(self._folder_view(folder))

    # datasources

    def _get_datasource(self, uid: str) -> Response:
        datasource = self.state.datasources.get(uid)
        return self._json(datasource) if datasource else self._not_found("data source")

    def _save_datasource(self, uid: str | None, body: dict[str, Any]) -> Response:
        if uid is None:
            uid = body.get("uid") or f"ds{next(self._ids)}"
            if uid in self.state.datasources or any(d["name"] == body.get("name") for d in self.state.datasources.values()):
                return self._json({"message": "data source with the same name or uid already exists"}, 409)
            record = {
                "id": next(self._ids),
                "orgId": 1,
                "version": 0,
                "readOnly": False,
                "basicAuth": False,
                "withCredentials": False,
                "user": "",
                "database": "",
            }
        else:
            existing = self.state.datasources.get(uid)
            if existing is None:
                return self._not_found("data source")
            record = existing
        secrets = {**self.state.datasource_secrets.get(uid, {}), **(body.get("secureJsonData") or {})}
        public = {key: value for key, value in body.items() if key != "secureJsonData"}
        record.update(public, uid=uid, version=record["version"] + 1, secureJsonFields={name: True for name in secrets})
        self.state.datasources[uid] = record
        self.state.datasource_secrets[uid] = secrets
        return self._json({"id": record["id"], "name": record["name"], "message": "Datasource saved", "datasource": record})

    # dashboards

    def _get_dashboard(self, uid: str) -> Response:
        stored = self.state.dashboards.get(uid)
        if stored is None:
            return self._not_found("dashboard")
        folder = self.state.folders[stored["folderUid"]]
        meta = {
            "folderUid": folder["uid"],
            "folderTitle": folder["title"],
            "folderId": folder["id"],
            "version": stored["version"],
            "slug": uid,
            "url": f"/d/{uid}",
            "type": "db",
            "provisioned": False,
            "canSave": True,
            "canEdit": True,
        }
        return self._json({"dashboard": stored["dashboard"], "meta": meta})

    def _save_dashboard(self, body: dict[str, Any]) -> Response:
        model = copy.deepcopy(body["dashboard"])
        problems = dashboard_problems(model)
        if problems:
            self.violations.append(
                Violation("POST", "/api/dashboards/db", "dashboard breaks dashboard.jsonschema.json: " + "; ".join(problems[:5]))
            )
            return self._json({"message": "invalid dashboard"}, 400)
        folder_uid = body.get("folderUid", "")
        if folder_uid and folder_uid not in self.state.folders:
            return self._json({"message": "folder not found"}, 400)
        uid = model.get("uid") or f"dash{next(self._ids)}"
        stored = self.state.dashboards.get(uid)
        if stored is not None and not body.get("overwrite") and model.get("version") != stored["version"]:
            return self._json({"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}, 412)
        version = stored["version"] + 1 if stored else 1
        dashboard_id = stored["id"] if stored else next(self._ids)
        model.update(id=dashboard_id, uid=uid, version=version)
        self.state.dashboards[uid] = {"dashboard": model, "folderUid": folder_uid, "version": version, "id": dashboard_id}
        return self._json(
            {
                "id": dashboard_id,
                "uid": uid,
                "url": f"/d/{uid}",
                "status": "success",
                "version": version,
                "title": model.get("title", ""),
                "folderUid": folder_uid,
            }
        )

    # alerting (Grafana 11's provisioning API)

    def _rejected(self, method: str, path: str, problem: str, status: int = 400) -> Response:
        """A request Grafana itself would refuse: recorded as a violation (the test fails) and refused."""
        self.violations.append(Violation(method, path, problem))
        return self._json({"message": problem}, status)

    def _get_rule_group(self, folder_uid: str, group: str) -> Response:
        stored = self.state.rule_groups.get((folder_uid, group))
        return self._json(stored) if stored else Response(status=404)

    def _put_rule_group(self, folder_uid: str, group: str, body: dict[str, Any]) -> Response:
        path = f"/api/v1/provisioning/folder/{folder_uid}/rule-groups/{group}"
        if folder_uid not in self.state.folders:
            return self._rejected("PUT", path, f"folder {folder_uid} does not exist")
        other_uids = {r["uid"] for key, g in self.state.rule_groups.items() if key != (folder_uid, group) for r in g["rules"]}
        rules = []
        for rule in body.get("rules") or []:
            if (rule.get("folderUID"), rule.get("ruleGroup")) != (folder_uid, group):
                return self._rejected(
                    "PUT", path, f"rule {rule.get('uid')} names folder {rule.get('folderUID')} / group {rule.get('ruleGroup')}"
                )
            if rule.get("uid") in other_uids:
                return self._rejected("PUT", path, f"rule uid {rule.get('uid')} is already used by another group")
            refs = {query.get("refId") for query in rule["data"]}
            if rule["condition"] not in refs:
                return self._rejected("PUT", path, f"rule {rule.get('uid')}: condition {rule['condition']} is not a refId of its data")
            for query in rule["data"]:
                if query.get("datasourceUid") != "__expr__" and query.get("datasourceUid") not in self.state.datasources:
                    return self._rejected("PUT", path, f"rule {rule.get('uid')}: datasource {query.get('datasourceUid')} does not exist")
            previous = next(
                (r for r in (self.state.rule_groups.get((folder_uid, group)) or {}).get("rules", []) if r["uid"] == rule.get("uid")), None
            )
            rules.append(
                {
                    **copy.deepcopy(rule),
                    "id": previous["id"] if previous else next(self._ids),
                    "updated": "2024-11-22T07:00:00Z",
                    "provenance": "api",
                }
            )
        stored = {"title": group, "folderUid": folder_uid, "interval": body.get("interval", 60), "rules": rules}
        self.state.rule_groups[(folder_uid, group)] = stored
        return self._json(stored)

    def _contact_point_view(self, point: dict[str, Any]) -> dict[str, Any]:
        secure = SECURE_CONTACT_SETTINGS.get(point["type"], ())
        settings = {key: ("[REDACTED]" if key in secure else value) for key, value in point["settings"].items()}
        return {**point, "settings": settings, "provenance": "api"}

    def _used_receivers(self, route: dict[str, Any]) -> set[str]:
        names = {route["receiver"]} if route.get("receiver") else set()
        for child in route.get("routes") or []:
            names |= self._used_receivers(child)
        return names

    def _used_mute_timings(self, route: dict[str, Any]) -> set[str]:
        names = set(route.get("mute_time_intervals") or [])
        for child in route.get("routes") or []:
            names |= self._used_mute_timings(child)
        return names

    def _save_contact_point(self, uid: str | None, body: dict[str, Any]) -> Response:
        path = "/api/v1/provisioning/contact-points" + (f"/{uid}" if uid else "")
        if uid is None:
            uid = body.get("uid") or f"cp{next(self._ids)}"
            if uid in self.state.contact_points:
                return self._rejected("POST", path, f"contact point uid {uid} already exists")
        elif uid not in self.state.contact_points:
            return self._rejected("PUT", path, f"contact point {uid} does not exist", 404)
        point = {
            "uid": uid,
            "name": body.get("name") or uid,
            "type": body["type"],
            "settings": copy.deepcopy(body["settings"]),
            "disableResolveMessage": bool(body.get("disableResolveMessage")),
        }
        self.state.contact_points[uid] = point
        created = path.endswith("contact-points")  # POST answers the contact point, PUT an empty Ack
        return self._json(self._contact_point_view(point) if created else {}, 202)

    def _delete_contact_point(self, uid: str) -> Response:
        point = self.state.contact_points.get(uid)
        if point is None:
            return Response(status=202)
        sharing = [p for p in self.state.contact_points.values() if p["name"] == point["name"] and p["uid"] != uid]
        if not sharing and point["name"] in self._used_receivers(self.state.policy_tree):
            self.violations.append(
                Violation(
                    "DELETE", f"/api/v1/provisioning/contact-points/{uid}", f"contact point {point['name']} is used by the policy tree"
                )
            )
            return Response(status=202)
        del self.state.contact_points[uid]
        return Response(status=202)

    def _put_policy_tree(self, body: dict[str, Any]) -> Response:
        path = "/api/v1/provisioning/policies"
        if not body.get("receiver"):
            return self._rejected("PUT", path, "the root policy needs a receiver")
        if body.get("mute_time_intervals") or body.get("object_matchers"):
            return self._rejected("PUT", path, "the root policy cannot have matchers or mute timings")
        known = {p["name"] for p in self.state.contact_points.values()}
        unknown = self._used_receivers(body) - known
        if unknown:
            return self._rejected("PUT", path, f"receivers {sorted(unknown)} do not exist")
        unknown = self._used_mute_timings(body) - set(self.state.mute_timings)
        if unknown:
            return self._rejected("PUT", path, f"mute timings {sorted(unknown)} do not exist")
        self.state.policy_tree = copy.deepcopy(body)
        return self._json({}, 202)

    def _get_template(self, name: str) -> Response:
        stored = self.state.templates.get(name)
        return self._json(stored) if stored else self._json({"message": "template not found"}, 404)

    def _put_template(self, name: str, body: dict[str, Any]) -> Response:
        stored = self.state.templates.get(name)
        if stored is not None and body.get("version") not in (None, stored["version"]):
            return self._json({"message": "version conflict"}, 409)
        version = f"v{int(stored['version'][1:]) + 1}" if stored else "v1"
        self.state.templates[name] = {"name": name, "template": body["template"], "version": version, "provenance": "api"}
        return self._json(self.state.templates[name], 202)

    def _get_mute_timing(self, name: str) -> Response:
        stored = self.state.mute_timings.get(name)
        return self._json(stored) if stored else Response(status=404)

    def _save_mute_timing(self, name: str | None, body: dict[str, Any]) -> Response:
        path = "/api/v1/provisioning/mute-timings" + (f"/{name}" if name else "")
        if name is None:
            if body["name"] in self.state.mute_timings:
                return self._rejected("POST", path, f"mute timing {body['name']} already exists")
            self.state.mute_timings[body["name"]] = copy.deepcopy(body)
            return self._json(body, 201)
        if name not in self.state.mute_timings:
            return self._rejected("PUT", path, f"mute timing {name} does not exist", 404)
        self.state.mute_timings[name] = {**copy.deepcopy(body), "name": name}
        return self._json(self.state.mute_timings[name], 202)


# -- Grafana's InfluxQL templating -----------------------------------------------------------------

_REGEX_SPECIALS = re.compile(r"([\\^$.|?*+()\[\]{}/])")


def _escape_regex(value: str) -> str:
    return _REGEX_SPECIALS.sub(r"\\\1", value)


def interval_text(seconds: int) -> str:
    """A bucket width as Grafana writes ``$__interval`` (``30s``, ``15m``, ``1h``)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render_influxql(
    query: str,
    *,
    start_ms: int,
    end_ms: int,
    interval_s: int,
    variables: dict[str, list[str] | None],
    all_values: dict[str, str],
) -> str:
    """``query`` as Grafana's InfluxDB datasource sends it: ``$timeFilter``, ``$__interval`` and each
    multi-value variable (``None`` = All, written as the variable's allValue; else the chosen values,
    regex-escaped, as ``(a|b)``)."""
    rendered = query.replace("$timeFilter", f"time >= {start_ms}ms and time <= {end_ms}ms")
    rendered = rendered.replace("$__interval", interval_text(interval_s)).replace("$interval", interval_text(interval_s))
    for name in sorted(variables, key=len, reverse=True):
        chosen = variables[name]
        value = all_values[name] if chosen is None else "(" + "|".join(_escape_regex(v) for v in chosen) + ")"
        rendered = rendered.replace(f"${{{name}}}", value).replace(f"${name}", value)
    leftover = re.search(r"\$(?!tag_)[A-Za-z_]\w*", rendered)
    if leftover:
        raise AssertionError(f"query still holds {leftover.group(0)} after templating: {rendered}")
    return rendered
