"""Where facmon finds its state folder, the MQTT broker and InfluxDB.

Resolution order for each endpoint: environment variable, then the local stack's ``stack.json``
under ``FACMON_HOME``, then the stack's default ports. Credentials come only from the environment
or from files named by it, never from the command line, so they stay out of shell history and ps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from facmon.errors import FacmonError
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


def _secret(name: str) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise FacmonError(f"{name}_FILE names {path}, which cannot be read: {exc.strerror}") from None


def open_store(endpoints: Endpoints) -> InfluxStore:
    """An InfluxStore with credentials from FACMON_INFLUX_USERNAME/PASSWORD or FACMON_INFLUX_TOKEN (or *_FILE)."""
    return InfluxStore(
        endpoints.influx_url,
        endpoints.influx_database,
        username=_secret("FACMON_INFLUX_USERNAME"),
        password=_secret("FACMON_INFLUX_PASSWORD"),
        token=_secret("FACMON_INFLUX_TOKEN"),
    )
