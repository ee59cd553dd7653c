"""Where facmon finds its state folder, the MQTT broker and InfluxDB.

Resolution order for each endpoint: environment variable, then the local stack's ``stack.json``
under ``FACMON_HOME``, then the stack's default ports. Credentials come only from the environment
or from files named by it, never from the command line, so they stay out of shell history and ps.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from facmon.broker_auth import COLLECTOR_USER, MqttAuth, gateway_user, read_credentials
from facmon.errors import FacmonError
from facmon.registry import Site
from facmon.stack import HOST, Stack
from facmon.store import InfluxStore

DEFAULT_SITE = Path("examples") / "county-offices.yaml"


def facmon_home() -> Path:
    """State folder: ``FACMON_HOME`` or ``./.facmon``."""
    return Path(os.environ.get("FACMON_HOME") or ".facmon")


def default_site_path() -> Path:
    """The example site, found in the working folder or next to the installed source tree."""
    if DEFAULT_SITE.exists():
        return DEFAULT_SITE
    beside_source = Path(__file__).resolve().parent.parent / DEFAULT_SITE
    return beside_source if beside_source.exists() else DEFAULT_SITE


@dataclass(frozen=True)
class Endpoints:
    """Addresses of the broker and the database."""

    mqtt_host: str
    mqtt_port: int
    influx_url: str
    influx_database: str


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise FacmonError(f"environment variable {name}={value!r} must be a port number") from None


def resolve_endpoints(home: Path | None = None) -> Endpoints:
    """Broker and database addresses from the environment, else the local stack under ``home``."""
    stack = Stack(home or facmon_home())
    return Endpoints(
        mqtt_host=os.environ.get("FACMON_MQTT_HOST") or HOST,
        mqtt_port=_env_int("FACMON_MQTT_PORT") or stack.mqtt_port,
        influx_url=os.environ.get("FACMON_INFLUX_URL") or stack.influx_url,
        influx_database=os.environ.get("FACMON_INFLUX_DATABASE") or stack.database,
    )


def read_secret(name: str) -> str | None:
    """A secret from ``NAME``, from the file named by ``NAME_FILE``, or from the systemd credential ``NAME``
    (``$CREDENTIALS_DIRECTORY/NAME``, which a unit's ``LoadCredential=NAME`` provides: deploy/systemd); None
    when none is set. A ``NAME_FILE`` that cannot be read is an error; a credential the unit was not given is
    simply absent."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise FacmonError(f"{name}_FILE names {path}, which cannot be read: {exc.strerror}") from None
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if folder and re.fullmatch(r"[A-Za-z0-9_]+", name) and (Path(folder) / name).is_file():
        return (Path(folder) / name).read_text().strip() or None
    return None


def open_store(endpoints: Endpoints) -> InfluxStore:
    """An InfluxStore with credentials from FACMON_INFLUX_USERNAME/PASSWORD or FACMON_INFLUX_TOKEN (or *_FILE)."""
    return InfluxStore(
        endpoints.influx_url,
        endpoints.influx_database,
        username=read_secret("FACMON_INFLUX_USERNAME"),
        password=read_secret("FACMON_INFLUX_PASSWORD"),
        token=read_secret("FACMON_INFLUX_TOKEN"),
    )


# -- MQTT client credentials --------------------------------------------------------------------
#
# Each client resolves its own: FACMON_MQTT_USERNAME / FACMON_MQTT_PASSWORD (or *_FILE) when set,
# else the local stack's credentials file (FACMON_HOME/mqtt/credentials.json, written by
# `facmon mqtt credentials`), else anonymous. The broker's CA certificate: FACMON_MQTT_TLS_CA, else
# the local stack's CA when its broker runs with TLS, else plain TCP. Never from the command line.


def _mqtt_tls_ca(stack: Stack) -> str | None:
    ca = os.environ.get("FACMON_MQTT_TLS_CA")
    if ca:
        return ca
    security = stack.mqtt_security()
    return security["tls_ca"] if security["tls"] else None


def _env_login() -> tuple[str | None, str | None]:
    username = read_secret("FACMON_MQTT_USERNAME")
    password = read_secret("FACMON_MQTT_PASSWORD")
    if password and not username:
        raise FacmonError("FACMON_MQTT_PASSWORD is set but FACMON_MQTT_USERNAME is not: set both (or neither)")
    return username, password


def _stack_login(stack: Stack, user: str) -> MqttAuth | None:
    entry = read_credentials(stack.mqtt_auth_folder).get(user)
    if entry and entry.get("password"):
        return MqttAuth(user, entry["password"], _mqtt_tls_ca(stack))
    if stack.mqtt_security()["auth"]:
        raise FacmonError(
            f"the local broker requires a login, but {stack.mqtt_auth_folder}/credentials.json has no user {user}: "
            "run `facmon mqtt credentials`, or set FACMON_MQTT_USERNAME and FACMON_MQTT_PASSWORD (or _FILE)"
        )
    return None


def mqtt_auth(home: Path | None = None, *, user: str = COLLECTOR_USER) -> MqttAuth:
    """The collector's login (``user`` from the stack's credentials file unless the environment names one)."""
    stack = Stack(home or facmon_home())
    username, password = _env_login()
    if username:
        return MqttAuth(username, password, _mqtt_tls_ca(stack))
    return _stack_login(stack, user) or MqttAuth(None, None, _mqtt_tls_ca(stack))


def login_expected(auth: MqttAuth, home: Path | None = None) -> str | None:
    """Why connecting with ``auth`` anonymously deserves a warning: the stack of ``home`` (default
    FACMON_HOME) has MQTT credentials or requires a login. None when ``auth`` logs in, or when nothing
    says the broker wants a login."""
    if auth.username is not None:
        return None
    stack = Stack(home or facmon_home())
    if stack.has_client_credentials():
        return f"{stack.mqtt_auth_folder} holds MQTT credentials for this stack"
    if stack.mqtt_security()["auth"]:
        return f"the stack in {stack.home} runs its broker with authentication"
    return None


def simulator_auth(site: Site, home: Path | None = None) -> MqttAuth | dict[str, MqttAuth]:
    """The simulator's login: one for everything when the environment names one (or nobody does and the
    stack has no credentials: anonymous), else each building's gateway login from the stack's credentials
    file, so the simulator publishes exactly as the site's gateways would and the broker's ACL applies."""
    stack = Stack(home or facmon_home())
    username, password = _env_login()
    if username:
        return MqttAuth(username, password, _mqtt_tls_ca(stack))
    if not read_credentials(stack.mqtt_auth_folder) and not stack.mqtt_security()["auth"]:
        return MqttAuth(None, None, _mqtt_tls_ca(stack))
    logins: dict[str, MqttAuth] = {}
    for building in site.buildings:
        login = _stack_login(stack, gateway_user(building.code))
        if login is None:
            raise FacmonError(
                f"{stack.mqtt_auth_folder}/credentials.json has no user {gateway_user(building.code)}: "
                "run `facmon mqtt credentials` after changing the registry"
            )
        logins[building.code] = login
    return logins
