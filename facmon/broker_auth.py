"""Broker credentials and access control, generated from the site registry.

Users (one per role; the ACL is written for Mosquitto's ``acl_file``):

- ``gw-<building>``, one per building gateway: may publish under ``<prefix>/<building>/#`` only (plus
  the topic filters the registry's ``mqtt.decoders`` attribute to that building, for devices with a
  convention of their own such as Shelly or Tasmota), and read nothing.
- ``facmon-ingest``, the collector (every collector instance, shared subscriptions included): may read
  ``<prefix>/#``, the ``mqtt.decoders`` topic filters and ``$SYS/broker/publish/messages/dropped``, and
  publish nothing.

The simulator has no user of its own: it stands in for the gateways, so it connects once per building
with that building's gateway credentials, and the broker holds it to exactly what a real gateway may
do. No user may publish into every building.

How Mosquitto 2.0 applies this (checked against 2.0.11): a publish outside the user's ``write`` topics
is refused, with PUBACK reason 0x87 *Not authorized* for MQTT v5 QoS 1, and never delivered. A
SUBSCRIBE is not checked against the ACL file (the SUBACK grants it); instead each message is checked
for ``read`` access on its own topic when it is delivered, for plain and for shared subscriptions
(``$share/<group>/<prefix>/#`` is delivered by the ``read <prefix>/#`` line). So a gateway may
subscribe to ``<prefix>/#`` but never receives anything. The ``$share`` read line is there for brokers
that do check the filter at subscribe time.

Files written to the output folder (``FACMON_HOME/mqtt`` by default), all mode 0600:
``credentials.json`` (usernames and plain passwords, which the local clients read), ``passwd``
(Mosquitto's password file, PBKDF2-SHA512 hashes made by ``mosquitto_passwd -U`` from a prepared
plain file, so no password appears on a command line) and ``acl``.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facmon.errors import FacmonError, TlsVerificationFailed
from facmon.registry import Site

COLLECTOR_USER = "facmon-ingest"
GATEWAY_PREFIX = "gw-"
DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"
CREDENTIALS_FILE = "credentials.json"
PASSWORD_FILE = "passwd"
ACL_FILE = "acl"
TLS_FOLDER = "tls"


def gateway_user(building: str) -> str:
    return f"{GATEWAY_PREFIX}{building}"


@dataclass(frozen=True)
class MqttAuth:
    """How one MQTT client authenticates: username/password (either may be None: anonymous) and the CA
    file to verify the broker's TLS certificate (None: plain TCP). The password never shows in repr."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_ca: str | None = None

    def apply(self, client: Any) -> None:
        """Configure a paho client: credentials, and TLS with server certificate verification."""
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls_ca:
            if not Path(self.tls_ca).is_file():
                raise FacmonError(
                    f"the broker's CA certificate {self.tls_ca} does not exist (FACMON_MQTT_TLS_CA or the stack's tls folder)"
                )
            client.tls_set(ca_certs=self.tls_ca)

    def tls_context(self) -> ssl.SSLContext | None:
        """TLS verifying the broker's certificate and host name against ``tls_ca``; None for plain TCP."""
        if not self.tls_ca:
            return None
        if not Path(self.tls_ca).is_file():
            raise TlsVerificationFailed(
                f"the broker's CA certificate {self.tls_ca} does not exist (FACMON_MQTT_TLS_CA or the stack's tls folder)"
            )
        return ssl.create_default_context(cafile=self.tls_ca)

    def describe(self) -> str:
        """For logs: who connects and how, never the password."""
        who = f"user {self.username}" if self.username else "anonymous"
        return f"{who}, {'TLS' if self.tls_ca else 'plain TCP'}"


@dataclass(frozen=True)
class Grant:
    user: str
    role: str  # "collector" or "gateway"
    building: str | None
    publish: tuple[str, ...]
    read: tuple[str, ...]


def _device_topics(site: Site) -> list[tuple[str, str]]:
    """(topic filter, building) of the registry's device conventions (``mqtt.decoders``: Shelly, Tasmota, ...).

    Such devices publish on their own topics, outside the prefix; every message on one of these filters
    is attributed to the entry's building, so that building's gateway user may publish there."""
    return [(entry.topic, entry.building) for entry in getattr(site.mqtt, "decoders", None) or []]


def grants(site: Site) -> list[Grant]:
    """Every broker user of the site with what it may publish and read."""
    prefix = site.mqtt.topic_prefix
    devices = _device_topics(site)
    collector_reads: tuple[str, ...] = (f"{prefix}/#", f"$share/+/{prefix}/#")
    for topic, _ in devices:
        collector_reads += (topic, f"$share/+/{topic}")
    out = [Grant(COLLECTOR_USER, "collector", None, (), (*collector_reads, DROPPED_TOPIC))]
    for building in site.buildings:
        own = (f"{prefix}/{building.code}/#", *(topic for topic, code in devices if code == building.code))
        out.append(Grant(gateway_user(building.code), "gateway", building.code, own, ()))
    return out


def acl_text(site: Site) -> str:
    """The Mosquitto ACL file: one ``user`` section per grant; anonymous clients get nothing."""
    lines = [
        "# Generated by `facmon mqtt credentials` from the site registry; edits are overwritten.",
        "# No topic lines before the first `user`: anonymous clients may do nothing.",
    ]
    for grant in grants(site):
        lines.append("")
        lines.append(f"user {grant.user}")
        lines.extend(f"topic write {topic}" for topic in grant.publish)
        lines.extend(f"topic read {topic}" for topic in grant.read)
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by the owner only, replacing it atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def read_credentials(folder: Path) -> dict[str, dict[str, Any]]:
    """``{username: {"password", "role", "building"}}`` from ``folder/credentials.json``; {} when absent."""
    path = Path(folder) / CREDENTIALS_FILE
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise FacmonError(f"{path} cannot be read as facmon's MQTT credentials: {type(exc).__name__}") from None
    users = body.get("users") if isinstance(body, dict) else None
    if not isinstance(users, dict):
        raise FacmonError(f'{path} has no "users" object; regenerate it with `facmon mqtt credentials`')
    return users


def _hash_passwords(users: dict[str, dict[str, Any]], target: Path) -> None:
    """Mosquitto's password file via ``mosquitto_passwd -U`` on a private plain file (no password in argv)."""
    binary = next((p for p in ("/usr/bin/mosquitto_passwd", "/usr/sbin/mosquitto_passwd") if os.access(p, os.X_OK)), "mosquitto_passwd")
    fd, plain_name = tempfile.mkstemp(prefix=".passwd-", dir=target.parent)
    plain = Path(plain_name)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.writelines(f"{user}:{entry['password']}\n" for user, entry in sorted(users.items()))
        try:
            done = subprocess.run([binary, "-U", str(plain)], capture_output=True, text=True, timeout=60)
        except FileNotFoundError:
            raise FacmonError("mosquitto_passwd is not installed: run `make install` or `apt-get install mosquitto`") from None
        if done.returncode != 0:
            # its messages name the file, never a password
            raise FacmonError(f"mosquitto_passwd -U failed ({done.returncode}): {(done.stderr or done.stdout).strip()[:300]}")
        os.chmod(plain, 0o600)
        plain.replace(target)
    finally:
        plain.unlink(missing_ok=True)


def write_broker_files(site: Site, folder: Path, *, rotate: bool = False) -> list[Grant]:
    """Write ``credentials.json``, ``passwd`` and ``acl`` for the site into ``folder``.

    Existing passwords are kept (gateways already configured keep working) unless ``rotate``; users of
    buildings no longer in the registry are removed. Returns the grants written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    existing = {} if rotate else read_credentials(folder)
    site_grants = grants(site)
    users: dict[str, dict[str, Any]] = {}
    for grant in site_grants:
        old = existing.get(grant.user) or {}
        password = old.get("password") if isinstance(old.get("password"), str) and old.get("password") else secrets.token_urlsafe(24)
        users[grant.user] = {"password": password, "role": grant.role, "building": grant.building}
    body = {"topic_prefix": site.mqtt.topic_prefix, "users": users}
    _write_private(folder / CREDENTIALS_FILE, json.dumps(body, indent=2) + "\n")
    _hash_passwords(users, folder / PASSWORD_FILE)
    _write_private(folder / ACL_FILE, acl_text(site))
    return site_grants


# -- TLS ---------------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    try:
        done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise FacmonError("openssl is not installed: `apt-get install openssl`") from None
    if done.returncode != 0:
        raise FacmonError(f"openssl {args[0]} failed: {done.stderr.strip()[-400:]}")


def ensure_tls_files(folder: Path, host: str) -> dict[str, str]:
    """A self-signed CA and a server certificate for ``host`` (plus localhost), made once with openssl.

    Returns the paths: ``ca`` (what clients verify the broker with), ``cert`` and ``key`` (the broker's)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    paths = {"ca": folder / "ca.crt", "cert": folder / "server.crt", "key": folder / "server.key"}
    if all(p.exists() for p in paths.values()):
        return {k: str(v) for k, v in paths.items()}
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "3650",
        "-subj",
        "/CN=facmon local CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={host}", cwd=folder)
    san = f"IP:{host}" if host.replace(".", "").isdigit() else f"DNS:{host}"
    (folder / "server.ext").write_text(
        f"subjectAltName={san},DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "825",
        "-extfile",
        "server.ext",
        cwd=folder,
    )
    for name in ("ca.key", "server.key"):
        os.chmod(folder / name, 0o600)
    return {k: str(v) for k, v in paths.items()}
