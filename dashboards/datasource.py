"""The InfluxDB datasource that every dashboard and alert rule reads through, with a fixed uid.

All of facmon's queries are InfluxQL, so one datasource shape serves every InfluxDB generation:

- **1.x**: InfluxQL natively; a login (if any) as user + ``secureJsonData.password``.
- **2.x**: InfluxQL through the v1 compatibility API (the database must be mapped to a bucket, DBRP);
  the API token goes in an ``Authorization: Token ...`` header (``httpHeaderName1``/``httpHeaderValue1``).
- **3.x**: InfluxQL natively on ``/query``; the database is the database name, the token in the same header.

Two renderings: the HTTP API body (``facmon grafana push``, secrets sent as values, read from the
environment at push time) and the file-provisioning entry (``facmon grafana export``), where secrets
are never written in clear but as Grafana's ``$__env{NAME}`` / ``$__file{path}`` references, which
Grafana expands when it reads the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from facmon.dashboards.influxql import INFLUXDB_PLUGIN
from facmon.errors import FacmonError
from facmon.settings import Endpoints, read_secret

DATASOURCE_UID = "facmon-influxdb"  # dashboards and alert rules reference the datasource by this uid
DATASOURCE_NAME = "facmon InfluxDB"


class InfluxVersion(StrEnum):
    """InfluxDB generation behind FACMON_INFLUX_URL."""

    V1 = "1"
    V2 = "2"
    V3 = "3"


@dataclass(frozen=True)
class SecretRef:
    """Where a secret comes from: an environment variable, or a file named by ``<NAME>_FILE``."""

    variable: str  # e.g. FACMON_INFLUX_TOKEN
    file: str | None = None  # path from <variable>_FILE, when the secret lives in a file

    def provisioning_text(self) -> str:
        """The reference Grafana expands when it reads a provisioning file (never the secret itself)."""
        return f"$__file{{{self.file}}}" if self.file else f"$__env{{{self.variable}}}"

    def value(self) -> str:
        """The secret itself, from the environment or its file (for the HTTP API, which expands nothing)."""
        secret = read_secret(self.variable)
        if not secret:
            raise FacmonError(f"{self.variable} (or {self.variable}_FILE) is not set, but the datasource needs it")
        return secret


@dataclass(frozen=True)
class DatasourceSettings:
    """What Grafana needs to reach facmon's InfluxDB database."""

    url: str
    database: str
    version: InfluxVersion = InfluxVersion.V1
    username: str | None = None  # 1.x login name; the password comes from ``password``
    password: SecretRef | None = None
    token: SecretRef | None = None  # 2.x / 3.x API token

    def __post_init__(self) -> None:
        if self.version is not InfluxVersion.V1 and self.token is None:
            raise FacmonError(f"InfluxDB {self.version.value}.x needs an API token: set FACMON_INFLUX_TOKEN or FACMON_INFLUX_TOKEN_FILE")
        if self.password is not None and not self.username:
            raise FacmonError("FACMON_INFLUX_PASSWORD is set but FACMON_INFLUX_USERNAME is not: set both (or neither)")


def _secret_ref(variable: str) -> SecretRef | None:
    if os.environ.get(variable):
        return SecretRef(variable)
    path = os.environ.get(f"{variable}_FILE")
    return SecretRef(variable, path) if path else None


def datasource_settings(endpoints: Endpoints, version: str | None = None) -> DatasourceSettings:
    """Settings from the endpoints (FACMON_INFLUX_URL, FACMON_INFLUX_DATABASE) and the environment:
    ``version`` or FACMON_INFLUX_VERSION (1, 2 or 3; default 2 when a token is set, else 1), the token
    from FACMON_INFLUX_TOKEN[_FILE], a 1.x login from FACMON_INFLUX_USERNAME[_FILE] / FACMON_INFLUX_PASSWORD[_FILE]."""
    chosen = version or os.environ.get("FACMON_INFLUX_VERSION") or ""
    token = _secret_ref("FACMON_INFLUX_TOKEN")
    if not chosen:
        chosen = InfluxVersion.V2.value if token else InfluxVersion.V1.value
    try:
        influx_version = InfluxVersion(chosen.strip().removesuffix(".x"))
    except ValueError:
        raise FacmonError(f"InfluxDB version {chosen!r}: expected 1, 2 or 3 (FACMON_INFLUX_VERSION)") from None
    username = read_secret("FACMON_INFLUX_USERNAME") if influx_version is InfluxVersion.V1 else None
    return DatasourceSettings(
        url=endpoints.influx_url,
        database=endpoints.influx_database,
        version=influx_version,
        username=username,
        password=_secret_ref("FACMON_INFLUX_PASSWORD") if influx_version is InfluxVersion.V1 else None,
        token=token if influx_version is not InfluxVersion.V1 else None,
    )


def datasource_public_fields(settings: DatasourceSettings) -> dict[str, Any]:
    """The datasource without its secrets: what Grafana returns when asked for it."""
    json_data: dict[str, Any] = {"version": "InfluxQL", "dbName": settings.database, "httpMode": "POST"}
    if settings.token is not None:
        json_data["httpHeaderName1"] = "Authorization"
    body: dict[str, Any] = {
        "uid": DATASOURCE_UID,
        "name": DATASOURCE_NAME,
        "type": INFLUXDB_PLUGIN,
        "access": "proxy",
        "url": settings.url,
        "database": settings.database,
        "isDefault": False,
        "jsonData": json_data,
    }
    if settings.username:
        body["user"] = settings.username
    return body


def _secure_json(settings: DatasourceSettings, text_of: Any) -> dict[str, str]:
    secure: dict[str, str] = {}
    if settings.token is not None:
        secure["httpHeaderValue1"] = f"Token {text_of(settings.token)}"
    if settings.password is not None:
        secure["password"] = text_of(settings.password)
    return secure


def datasource_api_body(settings: DatasourceSettings) -> dict[str, Any]:
    """Body of ``POST /api/datasources`` / ``PUT /api/datasources/uid/{uid}``, secrets as values."""
    body = datasource_public_fields(settings)
    secure = _secure_json(settings, SecretRef.value)
    if secure:
        body["secureJsonData"] = secure
    return body


def secure_field_names(settings: DatasourceSettings) -> set[str]:
    """Names of the secure fields the datasource must have (Grafana reports them, never their values)."""
    return set(_secure_json(settings, lambda ref: ""))


def datasource_provisioning(settings: DatasourceSettings) -> dict[str, Any]:
    """The ``datasources/facmon.yaml`` document: secrets only as ``$__env{...}``/``$__file{...}`` references."""
    entry = datasource_public_fields(settings)
    entry["orgId"] = 1
    entry["editable"] = False
    secure = _secure_json(settings, SecretRef.provisioning_text)
    if secure:
        entry["secureJsonData"] = secure
    return {
        "apiVersion": 1,
        "datasources": [entry],
    }
