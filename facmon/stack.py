"""The local stack: Mosquitto, InfluxDB and PostgreSQL (work orders) from Debian's packages, on loopback,
under ``FACMON_HOME``.

``up`` writes configs, starts what is not already running and records each PID in ``stack.json``;
``down`` stops exactly the PIDs recorded there, after checking that each PID still runs our config
(a PID reused by another program is never signalled). Tests use the same class on free ports in a
temporary folder.

PostgreSQL refuses to run as root. Started by root, the stack runs it in a user namespace
(``unshare --user``) as the ``postgres`` user of the Debian package: no privilege inside, and its files
stay the caller's in ``FACMON_HOME/postgresql``, which a real ``postgres`` user could not even reach
in a 0700 test folder. Its superuser password is a file there (mode 0600), read by the web service.

The broker's security (authentication, TLS) is part of the stack's state in ``mqtt/security.json``,
apart from the PIDs: it survives ``down``, a crash and a reboot, and only an explicit ``auth=False`` /
``tls=False`` turns it off. The stack fails closed: with client credentials in ``mqtt/`` it refuses to
start an anonymous broker unless told so explicitly.
"""

from __future__ import annotations

import getpass
import json
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from facmon.errors import FacmonError
from facmon.store import InfluxStore

HOST = "127.0.0.1"
# Away from 1883/8086/8088 on purpose: installing Debian's packages on a systemd machine starts
# the system's own mosquitto and influxd on those ports.
DEFAULT_MQTT_PORT = 11883
DEFAULT_INFLUX_PORT = 18086
DEFAULT_INFLUX_RPC_PORT = 18088
DEFAULT_DATABASE = "facmon"
DEFAULT_POSTGRES_PORT = 15432
POSTGRES_USER = "facmon"
POSTGRES_DATABASE = "facmon"
POSTGRES_PASSWORD_FILE = "password"  # in FACMON_HOME/postgresql, mode 0600
STATE_FILE = "stack.json"
MQTT_AUTH_FOLDER = "mqtt"  # passwd, acl, credentials.json (facmon.broker_auth), tls/ and security.json
SECURITY_FILE = "security.json"  # {"auth": bool, "tls": bool}: how the broker starts, kept across `down`


@dataclass
class Service:
    """One server of the stack as recorded in ``stack.json``."""

    name: str
    host: str
    port: int
    pid: int | None = None
    config: str = ""
    log: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def port_is_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


_LISTEN_PORTS = (10000, 32768)  # below Linux's default ephemeral range (32768-60999)


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host: str = HOST) -> int:
    """A TCP port that nothing listens on right now, chosen outside the ephemeral range: a port the
    kernel hands out for port 0 is also handed to outgoing connections, which can take it between this
    call and the server's bind (seen as "address already in use" in a busy test run)."""
    low, high = _ephemeral_ports()
    candidates = [p for p in range(*_LISTEN_PORTS) if not low <= p <= high]
    for port in random.sample(candidates, min(64, len(candidates))):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:  # every candidate taken: let the kernel choose
        probe.bind((host, 0))
        chosen: int = probe.getsockname()[1]
        return chosen


def _find_binary(name: str, package: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FacmonError(f"{name} is not installed: run `make install` or `apt-get install {package}`")


def _postgres_bin_dir() -> Path:
    """The newest PostgreSQL server installed from Debian's packages (/usr/lib/postgresql/<major>/bin)."""
    found = sorted((p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").exists()), key=lambda p: int(p.parent.name))
    if not found:
        raise FacmonError("PostgreSQL is not installed: run `make install` or `apt-get install postgresql`")
    return found[-1]


def _remove_stale_locks(data: Path, sockets: Path) -> None:
    """Remove the lock files (``postmaster.pid``, the socket's ``.s.PGSQL.<port>.lock``) that a killed
    PostgreSQL left behind (a crash, a reboot): PostgreSQL refuses to start while the PID they name
    exists, and a killed server's PID can linger as a zombie nobody reaps (a container's init). Each is
    kept when its PID still runs a server of this data folder."""
    for lock in [data / "postmaster.pid", *sockets.glob(".s.PGSQL.*.lock")]:
        try:
            pid = int(lock.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            continue
        if not _pid_runs(pid, str(data)):
            lock.unlink(missing_ok=True)
            if lock.parent == sockets:
                lock.with_suffix("").unlink(missing_ok=True)  # the socket itself


def _unprivileged_prefix() -> list[str]:
    """What runs PostgreSQL as a plain user: nothing for one, a user namespace mapping root to the
    Debian package's ``postgres`` user for root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return []
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise FacmonError("PostgreSQL cannot run as root and the postgres user is missing: run `apt-get install postgresql`") from None
    unshare = _find_binary("unshare", "util-linux")
    return [unshare, "--user", f"--map-user={user.pw_uid}", f"--map-group={user.pw_gid}"]


def _pid_runs(pid: int | None, config: str) -> bool:
    """True when ``pid`` is alive and was started with our ``config`` file (guards against PID reuse)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return config.encode() in cmdline


def _exiting(pid: int) -> bool:
    """True while ``pid`` is a process on its way out: still listed, not yet a zombie, command line gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return "State:\tZ" not in status and not cmdline


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child (started by an earlier `facmon stack up`): init reaps it


class Stack:
    """Mosquitto + InfluxDB for one ``FACMON_HOME``."""

    def __init__(
        self,
        home: Path,
        *,
        host: str = HOST,
        mqtt_port: int | None = None,
        influx_port: int | None = None,
        influx_rpc_port: int | None = None,
        postgres_port: int | None = None,
        database: str = DEFAULT_DATABASE,
    ):
        self.home = Path(home).absolute()
        self.host = host
        self.database = database
        recorded = self._read_state()
        self.mqtt_port = mqtt_port or recorded.get("mosquitto", {}).get("port") or DEFAULT_MQTT_PORT
        self.influx_port = influx_port or recorded.get("influxdb", {}).get("port") or DEFAULT_INFLUX_PORT
        self.influx_rpc_port = influx_rpc_port or recorded.get("influxdb", {}).get("extra", {}).get("rpc_port") or DEFAULT_INFLUX_RPC_PORT
        self.postgres_port = postgres_port or recorded.get("postgresql", {}).get("port") or DEFAULT_POSTGRES_PORT

    # -- state ---------------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.home / STATE_FILE

    def _read_state(self) -> dict[str, dict[str, Any]]:
        try:
            services: dict[str, dict[str, Any]] = json.loads(self.state_path.read_text())["services"]
            return services
        except (OSError, ValueError, KeyError):
            return {}

    def _write_state(self, services: dict[str, Service]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        body = {"database": self.database, "services": {name: asdict(s) for name, s in services.items()}}
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=2))
        tmp.replace(self.state_path)

    def _recorded(self) -> dict[str, Service]:
        return {name: Service(**entry) for name, entry in self._read_state().items()}

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://{self.host}:{self.mqtt_port}"

    @property
    def influx_url(self) -> str:
        return f"http://{self.host}:{self.influx_port}"

    @property
    def postgres_folder(self) -> Path:
        return self.home / "postgresql"

    def postgres_dsn(self) -> dict[str, Any]:
        """Connection settings of the work-order database (host, port, dbname, user, password)."""
        password_file = self.postgres_folder / POSTGRES_PASSWORD_FILE
        try:
            password = password_file.read_text().strip()
        except OSError as error:
            raise FacmonError(
                f"the work-order database has no password file {password_file} ({error.strerror}): start it with `facmon stack up`"
            ) from None
        return {"host": self.host, "port": self.postgres_port, "dbname": POSTGRES_DATABASE, "user": POSTGRES_USER, "password": password}

    @property
    def mqtt_auth_folder(self) -> Path:
        """Where `facmon mqtt credentials` writes the broker's passwd/acl and the clients' credentials."""
        return self.home / MQTT_AUTH_FOLDER

    @property
    def security_path(self) -> Path:
        return self.mqtt_auth_folder / SECURITY_FILE

    def _security_setting(self) -> dict[str, bool]:
        """The broker's security as last chosen: ``security.json``, else what a stack recorded before that
        file existed, else plain and anonymous (a stack never started with either)."""
        try:
            chosen = json.loads(self.security_path.read_text())
            return {"auth": bool(chosen["auth"]), "tls": bool(chosen["tls"])}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as error:
            # never guess "open" from a damaged file: the operator decides
            raise FacmonError(
                f"{self.security_path} is unreadable ({error}); it records whether the broker requires a login and TLS: "
                "start with --auth/--no-auth and --tls/--no-tls to write it again"
            ) from error
        extra = self._read_state().get("mosquitto", {}).get("extra", {})
        return {"auth": bool(extra.get("auth")), "tls": bool(extra.get("tls"))}

    def _write_security(self, setting: dict[str, bool]) -> None:
        self.mqtt_auth_folder.mkdir(parents=True, exist_ok=True)
        tmp = self.security_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(setting) + "\n")
        tmp.replace(self.security_path)

    def has_client_credentials(self) -> bool:
        """True when ``mqtt/`` holds logins (credentials.json or the broker's password file)."""
        from facmon.broker_auth import CREDENTIALS_FILE, PASSWORD_FILE

        return any((self.mqtt_auth_folder / name).is_file() for name in (CREDENTIALS_FILE, PASSWORD_FILE))

    def mqtt_security(self) -> dict[str, Any]:
        """How the broker starts (and, when it runs, was started): ``{"auth": bool, "tls": bool, "tls_ca": path
        or None}``; kept across ``down``, crashes and reboots."""
        from facmon.broker_auth import TLS_FOLDER

        setting = self._security_setting()
        ca = self.mqtt_auth_folder / TLS_FOLDER / "ca.crt"
        return {**setting, "tls_ca": str(ca) if setting["tls"] else None}

    # -- configs -------------------------------------------------------------------------------

    def _security_lines(self, auth: bool, tls: bool) -> tuple[str, dict[str, Any]]:
        """mosquitto.conf lines for authentication and TLS, and what to record about them."""
        from facmon.broker_auth import ACL_FILE, PASSWORD_FILE, TLS_FOLDER, ensure_tls_files

        lines: list[str] = []
        extra: dict[str, Any] = {"auth": auth, "tls": tls}
        if tls:
            files = ensure_tls_files(self.mqtt_auth_folder / TLS_FOLDER, self.host)
            lines += [f"cafile {files['ca']}", f"certfile {files['cert']}", f"keyfile {files['key']}"]
            extra["tls_ca"] = files["ca"]
        if auth:
            passwd, acl = self.mqtt_auth_folder / PASSWORD_FILE, self.mqtt_auth_folder / ACL_FILE
            missing = [str(p) for p in (passwd, acl) if not p.exists()]
            if missing:
                raise FacmonError(
                    f"the broker cannot start with authentication: {', '.join(missing)} missing; run `facmon mqtt credentials`"
                )
            lines += ["allow_anonymous false", f"password_file {passwd}", f"acl_file {acl}"]
        else:
            lines += ["allow_anonymous true"]
        return "\n".join(lines), extra

    def _mosquitto_config(self, auth: bool = False, tls: bool = False) -> Service:
        folder = self.home / "mosquitto"
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "mosquitto.conf"
        log = folder / "mosquitto.log"
        security, extra = self._security_lines(auth, tls)
        config.write_text(
            f"""# Generated by `facmon stack up`; edits are overwritten.
per_listener_settings false
listener {self.mqtt_port} {self.host}
{security}
persistence true
persistence_location {folder}/
autosave_interval 30
persistent_client_expiration 14d
# Mosquitto's defaults (20 in flight, 1000 queued per client) drop messages silently under load.
max_inflight_messages 1000
max_queued_messages 1000000
max_queued_bytes 0
sys_interval 10
log_dest file {log}
log_type error
log_type warning
log_type notice
# Keep running as the current user instead of dropping root to `mosquitto`, which could not
# write to this folder.
user {getpass.getuser()}
"""
        )
        return Service("mosquitto", self.host, self.mqtt_port, config=str(config), log=str(log), extra=extra)

    def _influxdb_config(self) -> Service:
        folder = self.home / "influxdb"
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "influxdb.conf"
        log = folder / "influxd.log"
        config.write_text(
            f"""# Generated by `facmon stack up`; edits are overwritten.
reporting-disabled = true
bind-address = "{self.host}:{self.influx_rpc_port}"

[meta]
  dir = "{folder}/meta"

[data]
  dir = "{folder}/data"
  wal-dir = "{folder}/wal"
  query-log-enabled = false

[coordinator]
  write-timeout = "30s"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{self.host}:{self.influx_port}"
  auth-enabled = false
  log-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
"""
        )
        return Service(
            "influxdb",
            self.host,
            self.influx_port,
            config=str(config),
            log=str(log),
            extra={"rpc_port": self.influx_rpc_port, "database": self.database},
        )

    def _postgres_service(self) -> tuple[Service, list[str]]:
        """Initialise the cluster on first use; the service and the command line that runs it."""
        bin_dir = _postgres_bin_dir()
        folder = self.postgres_folder
        data, sockets = folder / "data", folder / "run"
        folder.mkdir(parents=True, exist_ok=True)
        sockets.mkdir(exist_ok=True)
        password_file = folder / POSTGRES_PASSWORD_FILE
        if not password_file.exists():
            password_file.touch(mode=0o600)
            password_file.write_text(secrets.token_urlsafe(24) + "\n")
        prefix = _unprivileged_prefix()
        log = folder / "postgres.log"
        if not (data / "PG_VERSION").exists():
            shutil.rmtree(data, ignore_errors=True)  # a half-made cluster from an interrupted first start
            done = subprocess.run(
                [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", POSTGRES_USER, "--auth=scram-sha-256",
                 f"--pwfile={password_file}", "--encoding=UTF8", "--locale=C.UTF-8"],
                capture_output=True, text=True, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            if done.returncode != 0:
                raise FacmonError(f"initdb could not create the work-order database in {data}:\n{(done.stdout + done.stderr)[-1500:]}")
        _remove_stale_locks(data, sockets)
        service = Service(
            "postgresql", self.host, self.postgres_port, config=str(data), log=str(log), extra={"database": POSTGRES_DATABASE}
        )
        command = [
            *prefix, str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.postgres_port),
            "-c", f"listen_addresses={self.host}", "-c", f"unix_socket_directories={sockets}",
        ]  # fmt: skip
        return service, command

    def _postgres_ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(**{**self.postgres_dsn(), "dbname": "postgres"}, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _create_postgres_database(self) -> None:
        import psycopg

        with psycopg.connect(**{**self.postgres_dsn(), "dbname": "postgres"}, autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (POSTGRES_DATABASE,)).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{POSTGRES_DATABASE}"')

    # -- lifecycle -----------------------------------------------------------------------------

    def _start(self, service: Service, command: list[str]) -> subprocess.Popen[bytes]:
        for port in (service.port, service.extra.get("rpc_port")):
            if port and port_is_open(self.host, port):
                raise FacmonError(
                    f"{service.name} cannot start: port {port} on {self.host} is already in use by another program; "
                    "choose other ports (see `facmon stack up --help`)"
                )
        with open(service.log, "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        service.pid = process.pid
        return process

    def _wait_ready(self, service: Service, process: subprocess.Popen[bytes], ready: Any, timeout_s: float = 30.0) -> None:
        # Watch the child through its Popen handle: right after fork, /proc/PID/cmdline still
        # shows our own command line, so the config check of _pid_runs would misreport it.
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():
                return
            if process.poll() is not None:
                break
            time.sleep(0.1)
        tail = Path(service.log).read_text(errors="replace")[-1500:] if Path(service.log).exists() else ""
        if process.poll() is None:
            process.kill()
        process.wait()
        raise FacmonError(f"{service.name} did not become ready on {self.host}:{service.port}; its log ends:\n{tail}")

    def up(self, *, auth: bool | None = None, tls: bool | None = None, work_orders: bool = True) -> dict[str, Any]:
        """Start whatever is not running; harmless when everything already is. Returns :meth:`status`, with
        ``warnings``: what an explicit ``auth=False`` / ``tls=False`` opens.

        ``auth``: the broker refuses anonymous clients and applies the password file and ACL in
        ``mqtt_auth_folder`` (write them first with :func:`facmon.broker_auth.write_broker_files`).
        ``tls``: the broker's listener speaks TLS with a certificate of a local CA (made on first use).
        None keeps the stack's security setting (``mqtt/security.json``; plain and anonymous for a new
        stack), whether or not the broker still runs. With client credentials in ``mqtt/`` and no explicit
        ``auth=False``, an anonymous broker is refused (fail closed). A running broker started otherwise is
        restarted with the new settings (its persistent sessions are kept); one already running with
        authentication reloads the password file and ACL (SIGHUP). ``work_orders``: PostgreSQL for the
        work-order service too (tests of the collector leave it out)."""
        services = self._recorded()
        mosquitto = services.get("mosquitto")
        running = mosquitto is not None and _pid_runs(mosquitto.pid, mosquitto.config)
        setting = self._security_setting()
        want = {"auth": setting["auth"] if auth is None else auth, "tls": setting["tls"] if tls is None else tls}
        if not want["auth"] and auth is None and self.has_client_credentials():
            raise FacmonError(
                f"the broker would start anonymous, but {self.mqtt_auth_folder} holds MQTT credentials: start it with --auth "
                "(the gateways and collectors log in), or with --no-auth to open it to anonymous clients on purpose"
            )
        warnings = self._opening_warnings(auth, tls)
        self._write_security(want)
        current = {"auth": bool(mosquitto.extra.get("auth")), "tls": bool(mosquitto.extra.get("tls"))} if mosquitto else {}
        if running and mosquitto is not None and current != want:
            self._stop_pid(mosquitto)
            running = False
        elif running and mosquitto is not None and want["auth"]:
            assert mosquitto.pid is not None
            self._security_lines(want["auth"], want["tls"])  # the files are still there
            os.kill(mosquitto.pid, signal.SIGHUP)
        if not running:
            binary = _find_binary("mosquitto", "mosquitto")
            mosquitto = self._mosquitto_config(**want)
            process = self._start(mosquitto, [binary, "-c", mosquitto.config])
            services["mosquitto"] = mosquitto
            self._write_state(services)
            self._wait_ready(mosquitto, process, lambda: port_is_open(self.host, self.mqtt_port))

        influx = services.get("influxdb")
        if influx is None or not _pid_runs(influx.pid, influx.config):
            binary = _find_binary("influxd", "influxdb")
            influx = self._influxdb_config()
            process = self._start(influx, [binary, "run", "-config", influx.config])
            services["influxdb"] = influx
            self._write_state(services)
            self._wait_ready(influx, process, InfluxStore(self.influx_url, self.database).ping, timeout_s=60.0)
        InfluxStore(self.influx_url, self.database).create_database()
        postgres = services.get("postgresql")
        if work_orders and (postgres is None or not _pid_runs(postgres.pid, postgres.config)):
            postgres, command = self._postgres_service()
            process = self._start(postgres, command)
            services["postgresql"] = postgres
            self._write_state(services)
            self._wait_ready(postgres, process, self._postgres_ready, timeout_s=60.0)
        if work_orders:
            self._create_postgres_database()
        self._write_state(services)
        return {**self.status(), "warnings": warnings}

    def start_process(
        self, name: str, command: list[str], port: int, ready: Any, *, marker: str, timeout_s: float = 60.0
    ) -> dict[str, Any]:
        """Start one more long-running process of the stack (e.g. the work-order service of `facmon demo`)
        unless it runs; recorded in ``stack.json`` so ``down`` stops it too. ``marker``: an argument of
        ``command`` that identifies it in /proc (guards against PID reuse)."""
        services = self._recorded()
        running = services.get(name)
        if running is not None and _pid_runs(running.pid, running.config):
            return asdict(running)
        folder = self.home / name
        folder.mkdir(parents=True, exist_ok=True)
        service = Service(name, self.host, port, config=marker, log=str(folder / f"{name}.log"))
        process = self._start(service, command)
        services[name] = service
        self._write_state(services)
        self._wait_ready(service, process, ready, timeout_s=timeout_s)
        return asdict(service)

    def _opening_warnings(self, auth: bool | None, tls: bool | None) -> list[str]:
        """What an explicit off switch opens, in words an operator acts on."""
        warnings = []
        where = f"the MQTT broker on {self.host}:{self.mqtt_port}"
        if auth is False:
            warnings.append(
                f"{where} accepts anonymous clients (--no-auth): anyone who can reach it may read and publish every "
                "building's topics; `facmon stack up --auth` turns authentication back on"
            )
        if tls is False:
            warnings.append(
                f"{where} speaks plain MQTT (--no-tls): readings and any passwords cross the network unencrypted; "
                "`facmon stack up --tls` turns TLS back on"
            )
        return warnings

    def _stop_pid(self, service: Service, timeout_s: float = 20.0) -> bool:
        if not _pid_runs(service.pid, service.config):
            return False
        assert service.pid is not None
        pid = service.pid
        # PostgreSQL's SIGTERM waits for every client to leave; SIGINT is its fast shutdown (still clean).
        os.kill(pid, signal.SIGINT if service.name == "postgresql" else signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _pid_runs(pid, service.config):
            _reap(pid)
            time.sleep(0.05)
        if _pid_runs(pid, service.config):
            os.kill(pid, signal.SIGKILL)
        # A process's command line empties while it exits, a moment before it is gone: wait that moment
        # out, so the caller never sees our PID alive after `down` (a PID reused since has a command line).
        settle = time.monotonic() + 5.0
        while time.monotonic() < settle and (_pid_runs(pid, service.config) or _exiting(pid)):
            _reap(pid)
            time.sleep(0.02)
        return True

    def stop_service(self, name: str) -> bool:
        """Stop one recorded service ("mosquitto", "influxdb" or "postgresql"), keeping its data; ``up()`` starts it again
        on the same port. Returns False when it was not running."""
        service = self._recorded().get(name)
        if service is None:
            raise FacmonError(f"{name!r} is not a service of the stack in {self.home}; expected mosquitto, influxdb or postgresql")
        return self._stop_pid(service)

    def down(self) -> list[str]:
        """Stop exactly the recorded PIDs that still run our configs; returns the names stopped. Processes
        that use the servers (the work-order service) stop first."""
        recorded = sorted(self._recorded().items(), key=lambda item: item[0] in ("mosquitto", "influxdb", "postgresql"))
        stopped = [name for name, service in recorded if self._stop_pid(service)]
        if self.state_path.exists():
            self.state_path.unlink()
        return stopped

    def status(self) -> dict[str, Any]:
        """Each service with host, port, PID and whether it runs, plus the InfluxDB database name; then the
        processes started with :meth:`start_process` (the demo's work-order service)."""
        services = self._recorded()
        report: dict[str, Any] = {"home": str(self.home), "database": self.database, "services": {}}
        others = [(name, service.port) for name, service in services.items() if name not in ("mosquitto", "influxdb", "postgresql")]
        servers = [("mosquitto", self.mqtt_port), ("influxdb", self.influx_port), ("postgresql", self.postgres_port)]
        for name, port in servers + others:
            service = services.get(name)
            if name == "postgresql" and service is None:
                continue  # a stack started without the work-order database
            running = service is not None and _pid_runs(service.pid, service.config)
            entry: dict[str, Any] = {
                "host": self.host,
                "port": service.port if service else port,
                "pid": service.pid if running and service else None,
                "running": running,
            }
            if name == "mosquitto":
                # a running broker as it was started; a stopped one as the next `up` starts it
                security = (
                    {"auth": bool(service.extra.get("auth")), "tls": bool(service.extra.get("tls"))}
                    if running and service
                    else self._security_setting()
                )
                entry["url"] = f"{'mqtts' if security['tls'] else 'mqtt'}://{self.host}:{entry['port']}"
                entry["auth"] = security["auth"]
                entry["tls"] = security["tls"]
            elif name == "postgresql":
                entry["url"] = f"postgresql://{POSTGRES_USER}@{self.host}:{entry['port']}/{POSTGRES_DATABASE}"
                entry["database"] = POSTGRES_DATABASE
            elif name != "influxdb":
                entry["url"] = f"http://{self.host}:{entry['port']}/"  # a process of the stack, e.g. the work-order service
            else:
                entry["url"] = f"http://{self.host}:{entry['port']}"
                entry["database"] = self.database
            report["services"][name] = entry
        return report
