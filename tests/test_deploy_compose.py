"""The Docker Compose project of deploy/compose, checked without a Docker daemon.

A real Compose implementation reads the files: Debian's `docker-compose` (1.29, which validates against the
Compose Specification's JSON schema and resolves `.env`, anchors, secrets and volumes) runs `config` on a copy
of the project with the example `.env` and dummy secret files, and refuses deliberately broken copies. The
rest is checked on what `config` resolved: pinned images, health checks and restart policies, secrets only
as files, volumes, and that each facmon service runs a real facmon command line.

The last part runs them: each facmon service's command and health check, exactly as `config` resolved them
for a copy of the project whose secrets make-secrets.sh made, against the local test stack (compose's own
Mosquitto configuration, the session's InfluxDB and PostgreSQL). Only what differs between a container on
the compose network and a process on this machine is translated, in one place (`Here`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_DIR = ROOT / "deploy" / "compose"
VENV_BIN = Path(sys.executable).parent
FACMON_SERVICES = {"ingest-1", "ingest-2", "analyze", "web", "reports"}
ALL_SERVICES = FACMON_SERVICES | {"mosquitto", "influxdb", "grafana", "postgres"}
GRAFANA_TOKEN_REFERENCE = "$__file{/run/secrets/facmon_influx_token}"
# environment variables whose value would be a secret if given inline
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY\b|_KEY_|PASSWD", re.IGNORECASE)


def compose_binary() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is not installed: `apt-get install --no-install-recommends docker-compose` (Debian's 1.29)")
    return found


def env_example() -> dict[str, str]:
    values = {}
    for line in (COMPOSE_DIR / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def make_project(tmp_path: Path, compose_text: str | None = None, env: dict[str, str] | None = None) -> tuple[Path, dict[str, str]]:
    """A copy of the repository's compose folder at tmp/deploy/compose with `.env` from the example (the site
    registry pointed at a file in tmp) and a dummy random value in every secret file compose.yaml declares.
    Returns the folder and {secret name: dummy value}."""
    project = tmp_path / "deploy" / "compose"
    shutil.copytree(COMPOSE_DIR, project, ignore=shutil.ignore_patterns("secrets", "grafana-provisioning", ".env"))
    if compose_text is not None:
        (project / "compose.yaml").write_text(compose_text)
    site = tmp_path / "site.yaml"
    site.write_text("# dummy registry\n")
    values = env_example() if env is None else env
    values = {**values, "SITE_REGISTRY": str(site)} if "SITE_REGISTRY" in values else values
    (project / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    dummies = {}
    for name, spec in yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())["secrets"].items():
        path = project / spec["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        dummies[name] = f"dummy-{name}-{secrets.token_hex(12)}"
        path.write_text(dummies[name] + "\n")
    return project, dummies


def run_config(project: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    return subprocess.run([compose_binary(), "config"], cwd=project, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """compose.yaml as `docker-compose config` resolves it, plus the config's text and the dummy secrets."""
    project, dummies = make_project(tmp_path_factory.mktemp("compose"))
    done = run_config(project)
    assert done.returncode == 0, f"docker-compose config refused the project:\n{done.stderr}"
    config = yaml.safe_load(done.stdout)
    return {"config": config, "text": done.stdout, "dummies": dummies, "project": project}


# -- the Compose implementation accepts the project, and refuses broken copies ---------------------------


def test_compose_config_accepts_the_project_with_every_service(resolved: dict[str, Any]) -> None:
    assert set(resolved["config"]["services"]) == ALL_SERVICES


def _replace_once(text: str, old: str, new: str) -> str:
    assert old in text, f"mutation target {old!r} is not in compose.yaml any more: update the test"
    return text.replace(old, new, 1)


BROKEN = {
    "unknown key": lambda t: _replace_once(t, "    healthcheck:\n", "    healthchek:\n"),
    "unknown depends_on condition": lambda t: _replace_once(t, "condition: service_healthy", "condition: service_hungry"),
    "volume not declared": lambda t: _replace_once(
        t, "      - influxdb-data:/var/lib/influxdb2", "      - influxdb-dat:/var/lib/influxdb2"
    ),
    "depends on a missing service": lambda t: _replace_once(t, "      influxdb:\n        condition", "      influx:\n        condition"),
    "port not a port": lambda t: _replace_once(t, ":8883", ":88x3"),
}


@pytest.mark.parametrize("mutation", sorted(BROKEN))
def test_compose_config_refuses_a_broken_copy(tmp_path: Path, mutation: str) -> None:
    broken = BROKEN[mutation]((COMPOSE_DIR / "compose.yaml").read_text())
    project, _ = make_project(tmp_path, compose_text=broken)
    done = run_config(project)
    assert done.returncode != 0, f"docker-compose config accepted a copy with {mutation}"


def test_compose_config_refuses_an_env_without_an_image_tag(tmp_path: Path) -> None:
    env = {k: v for k, v in env_example().items() if k != "GRAFANA_TAG"}
    project, _ = make_project(tmp_path, env=env)
    done = run_config(project)
    assert done.returncode != 0 and "GRAFANA_TAG" in done.stderr


# -- images -----------------------------------------------------------------------------------------------

PINNED = {
    "eclipse-mosquitto": r"2\.0\.\d+",
    "influxdb": r"2\.7\.\d+",
    "grafana/grafana": r"11\.\d+\.\d+",
    "postgres": r"1[56]\.\d+(-bookworm)?",
    "facmon": r"\d+\.\d+\.\d+",
}


def test_every_image_is_pinned_to_a_full_version(resolved: dict[str, Any]) -> None:
    for name, service in resolved["config"]["services"].items():
        repository, _, tag = service["image"].rpartition(":")
        assert repository in PINNED, f"{name}: unexpected image {service['image']}"
        assert re.fullmatch(PINNED[repository], tag), f"{name}: {service['image']} is not pinned to a full {repository} version"
    # compose.yaml itself names no tag (no default either): each comes from .env, required with :?
    text = (COMPOSE_DIR / "compose.yaml").read_text()
    for line in text.splitlines():
        if re.match(r"\s+image:", line):
            assert re.search(r":\$\{[A-Z_]+_TAG:\?", line), f"image without a required tag variable: {line.strip()}"
    assert "latest" not in text


def test_facmon_image_base_is_pinned_and_installs_what_facmon_needs() -> None:
    dockerfile = (COMPOSE_DIR / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    assert bases and all(re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base) for base in bases), bases
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-noto-cjk", "gettext"):
        assert re.search(rf"\s{re.escape(package)}(\s|$)", dockerfile), f"the image does not install {package}"
    assert re.search(r"^RUN pip install /src", dockerfile, re.MULTILINE)
    assert re.search(r"^USER facmon$", dockerfile, re.MULTILINE), "facmon's services must not run as root"
    # every folder the package maps (pyproject's package-dir) is copied into the build
    import tomllib

    package_dirs = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].values())
    copied = set(re.findall(r"^COPY (\S+) \./", dockerfile, re.MULTILINE))
    assert package_dirs <= copied, f"not copied into the image: {package_dirs - copied}"


def test_build_context_leaves_out_secrets_and_state() -> None:
    ignored = (COMPOSE_DIR / "Dockerfile.dockerignore").read_text().split()
    for path in ("deploy/compose/secrets", "deploy/compose/.env", "**/.venv", "**/.facmon", "**/.git"):
        assert path in ignored, f"{path} would be sent to the Docker daemon with the build context"
    gitignored = (COMPOSE_DIR / ".gitignore").read_text().split()
    assert {"/secrets/", "/.env", "/grafana-provisioning/"} <= set(gitignored)


# -- health, restarts, order -------------------------------------------------------------------------------


def test_every_service_has_a_health_check_and_restarts(resolved: dict[str, Any]) -> None:
    for name, service in resolved["config"]["services"].items():
        check = service.get("healthcheck") or {}
        assert not check.get("disable") and check.get("test"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert service.get("restart") == "unless-stopped", f"{name}: restart {service.get('restart')!r}"


def test_services_wait_for_what_they_use_to_be_healthy(resolved: dict[str, Any]) -> None:
    services = resolved["config"]["services"]
    needs = {
        "ingest-1": {"mosquitto", "influxdb"},
        "ingest-2": {"mosquitto", "influxdb"},
        "analyze": {"influxdb"},
        "web": {"postgres", "influxdb"},
        "reports": {"postgres", "influxdb", "web"},
        "grafana": {"influxdb"},
    }
    for name, wanted in needs.items():
        depends = services[name].get("depends_on") or {}
        assert set(depends) >= wanted, f"{name} does not wait for {wanted - set(depends)}"
        for other, how in depends.items():
            assert how == {"condition": "service_healthy"}, f"{name} -> {other}: {how}"


# -- secrets ---------------------------------------------------------------------------------------------


def test_every_secret_a_service_mounts_is_declared(resolved: dict[str, Any]) -> None:
    # docker-compose 1.29 leaves this to the daemon (Compose v2 checks it); checked here
    declared = set(resolved["config"]["secrets"])
    for name, service in resolved["config"]["services"].items():
        for entry in service.get("secrets", []):
            assert entry["source"] in declared, f"{name} mounts undeclared secret {entry['source']}"


def test_no_secret_value_reaches_the_compose_configuration(resolved: dict[str, Any]) -> None:
    for name, value in resolved["dummies"].items():
        assert value not in resolved["text"], f"the value of secret {name} appears in the resolved configuration"


def test_secret_variables_name_files_of_secrets_the_service_mounts(resolved: dict[str, Any]) -> None:
    checked = 0
    for name, service in resolved["config"]["services"].items():
        mounted = {entry["source"] for entry in service.get("secrets", [])}
        environment = service.get("environment") or {}
        for variable, value in environment.items():
            if variable.endswith(("_FILE", "__FILE")):
                match = re.fullmatch(r"/run/secrets/([a-z0-9_]+)", str(value))
                assert match, f"{name}: {variable}={value} is not a Docker secret's path"
                assert match.group(1) in mounted, f"{name}: {variable} names secret {match.group(1)}, which {name} does not mount"
                checked += 1
            elif SECRET_NAME.search(variable):
                pytest.fail(f"{name}: {variable} is given a value in compose.yaml; give {variable}_FILE instead")
        # every secret it mounts is read: named by an environment variable, its health check or (Mosquitto) its config
        readers = str(environment) + str(service.get("healthcheck"))
        if name == "mosquitto":
            readers += (COMPOSE_DIR / "mosquitto" / "mosquitto.conf").read_text()
        if name == "grafana":  # the exported datasource reads it: test_grafana_reads_facmon_provisioning_...
            readers += GRAFANA_TOKEN_REFERENCE
        for secret in mounted:
            assert f"/run/secrets/{secret}" in readers, f"{name} mounts secret {secret} but nothing in it reads /run/secrets/{secret}"
    assert checked >= 12


def test_env_example_holds_no_secret() -> None:
    for variable, value in env_example().items():
        assert not SECRET_NAME.search(variable), f".env.example sets {variable}: secrets are files under secrets/"
        assert len(value) < 40 or "/" in value, f".env.example: {variable}={value} looks like a credential"


def test_facmon_reads_every_secret_variable_the_project_sets(resolved: dict[str, Any]) -> None:
    """Each FACMON_*_FILE the project sets is one facmon reads through read_secret (which honours NAME_FILE)."""
    sources = "\n".join(
        p.read_text()
        for folder in ("facmon", "ingest", "workorders", "reports", "dashboards", "grafana")
        for p in (ROOT / folder).rglob("*.py")
    )
    read = set(re.findall(r'read_secret\("([A-Z_]+)"\)', sources)) | set(
        re.findall(r'^\s*[A-Z_]+ = "(FACMON_[A-Z_]+)"', sources, re.MULTILINE)
    )
    for name, service in resolved["config"]["services"].items():
        for variable in service.get("environment") or {}:
            if variable.startswith("FACMON_") and variable.endswith("_FILE"):
                assert variable.removesuffix("_FILE") in read, (
                    f"{name}: facmon never reads {variable.removesuffix('_FILE')} via read_secret"
                )


def test_make_secrets_produces_every_secret_file_and_the_broker_files(tmp_path: Path) -> None:
    if shutil.which("mosquitto_passwd") is None and not Path("/usr/bin/mosquitto_passwd").exists():
        pytest.fail("mosquitto_passwd is missing: apt-get install mosquitto (make install does)")
    project = tmp_path / "deploy" / "compose"
    shutil.copytree(COMPOSE_DIR, project, ignore=shutil.ignore_patterns("secrets", "grafana-provisioning", ".env"))
    env = env_example() | {
        "SITE_REGISTRY": str(ROOT / "examples" / "county-offices.yaml"),
        "MQTT_PUBLIC_NAMES": "mqtt.example.org,10.1.2.3",
    }
    (project / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    run_env = {**os.environ, "FACMON": str(VENV_BIN / "facmon")}
    for attempt in (1, 2):  # idempotent: the second run keeps every secret
        done = subprocess.run(["./make-secrets.sh"], cwd=project, capture_output=True, text=True, timeout=300, env=run_env)
        assert done.returncode == 0, done.stderr + done.stdout
        # passwd is hashed anew (new salts) from the same passwords: compare everything else
        snapshot = {p: p.read_bytes() for p in sorted((project / "secrets").rglob("*")) if p.is_file() and p.name != "passwd"}
        if attempt == 1:
            first = snapshot
    assert snapshot == first
    declared = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())["secrets"]
    for name, spec in declared.items():
        assert (project / spec["file"]).is_file(), f"make-secrets.sh did not make {spec['file']} (secret {name})"
    secrets_dir = project / "secrets"
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    import json

    users = json.loads((secrets_dir / "mqtt" / "credentials.json").read_text())["users"]
    assert (secrets_dir / "mqtt_ingest_password").read_text().strip() == users["facmon-ingest"]["password"]
    assert "facmon-ingest:$7$" in (secrets_dir / "mqtt" / "passwd").read_text()
    assert "user facmon-ingest" in (secrets_dir / "mqtt" / "acl").read_text()
    for name in ("passwd", "acl"):
        assert (secrets_dir / "mqtt" / name).stat().st_uid == 1883, f"{name} must belong to the image's mosquitto user"
    # the server certificate verifies against the CA for the names clients use
    for host in ("mosquitto", "localhost", "mqtt.example.org"):
        check = subprocess.run(
            ["openssl", "verify", "-CAfile", "secrets/tls/ca.crt", "-verify_hostname", host, "secrets/tls/server.crt"],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, f"{host}: {check.stdout}{check.stderr}"
    check = subprocess.run(
        ["openssl", "verify", "-CAfile", "secrets/tls/ca.crt", "-verify_ip", "10.1.2.3", "secrets/tls/server.crt"], cwd=project
    )
    assert check.returncode == 0
    # and the project with these real files passes config without any value leaking
    done = run_config(project)
    assert done.returncode == 0, done.stderr
    for name in ("postgres_password", "influxdb_admin_token", "web_secret_key", "mqtt_ingest_password"):
        assert (secrets_dir / name).read_text().strip() not in done.stdout


# -- volumes ---------------------------------------------------------------------------------------------


def test_every_named_volume_is_used_and_every_state_has_one(resolved: dict[str, Any]) -> None:
    config = resolved["config"]
    declared = set(config.get("volumes") or {})
    used: dict[str, set[str]] = {}
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
            if source in declared:
                target = volume.split(":")[1] if isinstance(volume, str) else volume.get("target")
                used.setdefault(source, set()).add(f"{name}:{target}")
    assert declared == set(used), f"declared but unused: {declared - set(used)}"
    state = {
        "mosquitto": "/mosquitto/data",
        "influxdb": "/var/lib/influxdb2",
        "grafana": "/var/lib/grafana",
        "postgres": "/var/lib/postgresql/data",
        **{name: "/var/lib/facmon" for name in FACMON_SERVICES},
    }
    mounts = {mount for mounts in used.values() for mount in mounts}
    for service, target in state.items():
        assert f"{service}:{target}" in mounts, f"{service} keeps {target} outside a named volume"
    assert any(m.startswith("influxdb:/etc/influxdb2") for m in mounts), "InfluxDB's config (its CLI token) must persist"


# -- facmon's command lines ------------------------------------------------------------------------------


def _help(words: list[str]) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "facmon"), *words, "--help"], capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "250"}
    )
    assert done.returncode == 0, f"`facmon {' '.join(words)} --help` failed: {done.stderr}"
    return done.stdout


def unknown_options(command: list[str]) -> list[str]:
    """The --options of a facmon command line that its subcommand's --help does not list."""
    assert command[0] == "facmon", command
    words = []
    for token in command[1:]:
        if token.startswith("-"):
            break
        words.append(token)
    offered = set(re.findall(r"(--[a-z][a-z0-9-]*)", _help(words)))
    return [token.split("=")[0] for token in command[1:] if token.startswith("--") and token.split("=")[0] not in offered]


def test_the_option_check_catches_a_misspelt_option() -> None:
    assert unknown_options(["facmon", "ingest", "--shared", "g", "--client-idd", "x"]) == ["--client-idd"]
    assert unknown_options(["facmon", "analyze", "--folow"]) == ["--folow"]


def test_each_facmon_service_runs_a_real_facmon_command_line(resolved: dict[str, Any]) -> None:
    services = resolved["config"]["services"]
    commands = {}
    for name in FACMON_SERVICES:
        command = services[name]["command"]
        command = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
        assert not unknown_options(command), f"{name}: {command} passes options facmon does not have: {unknown_options(command)}"
        commands[name] = command
        test = services[name]["healthcheck"]["test"]
        if test[0] == "CMD" and test[1] == "facmon":
            assert not unknown_options(test[1:]), f"{name}'s health check: {test[1:]}"
    assert commands["analyze"][:3] == ["facmon", "analyze", "--follow"]
    assert commands["web"][:2] == ["facmon", "serve"] and commands["web"][commands["web"].index("--host") + 1] == "0.0.0.0"
    assert commands["reports"][:3] == ["facmon", "report", "follow"]
    groups, ids = set(), set()
    for name in ("ingest-1", "ingest-2"):
        command = commands[name]
        assert command[:2] == ["facmon", "ingest"]
        groups.add(command[command.index("--shared") + 1])
        ids.add(command[command.index("--client-id") + 1])
        assert services[name]["healthcheck"]["test"][1:4] == ["facmon-healthcheck", "collector", command[command.index("--client-id") + 1]]
    assert len(groups) == 1, f"the collectors must share one group: {groups}"
    assert len(ids) == 2, "each collector needs its own client id (its broker session and its spool)"


def test_web_port_and_health_check_match_the_command(resolved: dict[str, Any]) -> None:
    web = resolved["config"]["services"]["web"]
    port = web["command"][web["command"].index("--port") + 1]
    assert [str(p).removesuffix("/tcp").rsplit(":", 1)[1] for p in web["ports"]] == [str(port)], web["ports"]
    assert f"127.0.0.1:{port}/" in " ".join(web["healthcheck"]["test"])


def _healthcheck_module():
    spec = importlib.util.spec_from_file_location("facmon_compose_healthcheck", COMPOSE_DIR / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_collector_health_verdict() -> None:
    verdict = _healthcheck_module().collector_verdict
    status = {
        "database": "facmon",
        "collectors": [{"collector": "facmon-ingest-1", "age_s": 12.0}, {"collector": "facmon-ingest-2", "age_s": 300.0}],
    }
    assert verdict(status, "facmon-ingest-1", 60)[0] is True
    assert verdict(status, "facmon-ingest-2", 60)[0] is False
    assert verdict(status, "facmon-ingest-3", 60)[0] is False
    assert verdict({"database": "facmon", "collectors": []}, "facmon-ingest-1", 60)[0] is False
    # InfluxDB's disk is full: the collector's status file says so (its last ingest_stats point may still be young)
    full = {"collector": "facmon-ingest-1", "age_s": 12.0, "store_error": "disk_full", "store_error_since": "2026-01-05T08:00:00+00:00"}
    healthy, why = verdict({"database": "facmon", "collectors": [{**full, "spooled": 12345.0}]}, "facmon-ingest-1", 60)
    assert healthy is False and "disk_full since 2026-01-05T08:00:00+00:00" in why and "12,345 readings held" in why
    assert verdict({"database": "facmon", "collectors": [{**full, "store_error": ""}]}, "facmon-ingest-1", 60)[0] is True
    # a collector known only from its status file (it never reached InfluxDB)
    assert verdict({"database": "facmon", "collectors": [{"collector": "facmon-ingest-1"}]}, "facmon-ingest-1", 60)[0] is False


def test_collector_health_reads_the_fields_ingest_status_prints() -> None:
    """The JSON keys the health check reads are those `facmon ingest status --format json` writes."""
    source = (ROOT / "facmon" / "cli" / "ingest.py").read_text()
    assert '{"database": store.database, "collectors": rows}' in source
    assert '"collector": stats.collector' in source and '"age_s":' in source
    assert 'row["store_error"] = status.store_error' in source and 'row["spooled"] = float(status.spooled)' in source


# -- the services' own configuration ---------------------------------------------------------------------


def test_mosquitto_config_requires_logins_and_tls(resolved: dict[str, Any]) -> None:
    conf = {}
    for line in (COMPOSE_DIR / "mosquitto" / "mosquitto.conf").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" ")
            conf.setdefault(key, []).append(value.strip())
    assert conf["allow_anonymous"] == ["false"]
    assert conf["listener"] == ["8883"], "one listener, TLS on 8883, no plain port"
    assert conf["persistence"] == ["true"]
    mosquitto = resolved["config"]["services"]["mosquitto"]
    mounted_secrets = {entry["source"] for entry in mosquitto["secrets"]}
    assert conf["password_file"] == ["/run/secrets/mosquitto_passwd"] and "mosquitto_passwd" in mounted_secrets
    assert conf["acl_file"] == ["/run/secrets/mosquitto_acl"] and "mosquitto_acl" in mounted_secrets
    assert conf["keyfile"] == ["/run/secrets/mqtt_server_key"] and "mqtt_server_key" in mounted_secrets
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in mosquitto["volumes"]]
    assert any(m.split(":")[1] == conf["certfile"][0] for m in mounts)
    assert any(m.split(":")[1] == "/mosquitto/config/mosquitto.conf" for m in mounts)
    declared = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())["secrets"]
    assert declared["mosquitto_passwd"]["file"] == "./secrets/mqtt/passwd" and declared["mosquitto_acl"]["file"] == "./secrets/mqtt/acl"
    assert [str(p).removesuffix("/tcp").rsplit(":", 1)[1] for p in mosquitto["ports"]] == ["8883"], mosquitto["ports"]


def test_influxdb_first_start_creates_the_v1_mapping(resolved: dict[str, Any]) -> None:
    influxdb = resolved["config"]["services"]["influxdb"]
    env = influxdb["environment"]
    assert env["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    for name in ("DOCKER_INFLUXDB_INIT_ORG", "DOCKER_INFLUXDB_INIT_BUCKET", "DOCKER_INFLUXDB_INIT_USERNAME"):
        assert env.get(name)
    assert "DOCKER_INFLUXDB_INIT_PASSWORD" not in env and "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN" not in env
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in influxdb["volumes"]]
    initdb = [m for m in mounts if m.split(":")[1] == "/docker-entrypoint-initdb.d"]
    assert initdb, "the init scripts are not mounted"
    scripts = sorted((COMPOSE_DIR / "influxdb" / "initdb").glob("*.sh"))
    assert scripts
    for script in scripts:
        # the image's entrypoint runs only executable *.sh files (run-parts)
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = "\n".join(s.read_text() for s in scripts)
    assert re.search(r"influx v1 dbrp create", text)
    for flag in ("--db", "--rp", "--bucket-id", "--default"):
        assert flag in text
    assert "DOCKER_INFLUXDB_INIT_BUCKET_ID" in text
    # the database name the script maps is the one facmon uses
    facmon_db = {resolved["config"]["services"][name]["environment"]["FACMON_INFLUX_DATABASE"] for name in FACMON_SERVICES}
    assert facmon_db == {env["FACMON_INFLUX_DATABASE"]}


def test_grafana_reads_facmon_provisioning_and_its_token_from_a_secret(resolved: dict[str, Any], tmp_path: Path) -> None:
    grafana = resolved["config"]["services"]["grafana"]
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in grafana["volumes"]]
    assert any(m.split(":")[1] == "/etc/grafana/provisioning" and m.split(":")[0].endswith("grafana-provisioning") for m in mounts)
    assert "facmon_influx_token" in {entry["source"] for entry in grafana["secrets"]}
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    # `facmon grafana export` writes $__file{<FACMON_INFLUX_TOKEN_FILE>}: the guide exports with the path the
    # Grafana container sees, and the facmon services use the same path
    guide = (ROOT / "docs" / "deploy-compose.md").read_text()
    export = re.search(r"^\s*(FACMON_INFLUX_URL=\S+ .*facmon grafana export .*)$", guide, re.MULTILINE)
    assert export, "the guide has no `facmon grafana export` line for the compose project"
    words = shlex.split(export.group(1))
    env = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=.*", w))
    args = [w for w in words if not re.fullmatch(r"[A-Z_]+=.*", w)]
    assert args[:3] == [".venv/bin/facmon", "grafana", "export"] and args[args.index("--out") + 1] == "deploy/compose/grafana-provisioning"
    assert env["FACMON_INFLUX_URL"] == "http://influxdb:8086", "Grafana reaches InfluxDB by its service name"
    assert env["FACMON_INFLUX_TOKEN_FILE"] == "/run/secrets/facmon_influx_token"
    # run it (without the Go check, which other tests cover; the example registry for the host's) and read the datasource
    env["FACMON_SITE"] = str(ROOT / "examples" / "county-offices.yaml")
    out = tmp_path / "provisioning"
    args[args.index("--out") + 1] = str(out)
    run_env = {**{k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}, **env}
    done = subprocess.run(
        [str(VENV_BIN / "facmon"), *args[1:], "--no-check"], cwd=ROOT, capture_output=True, text=True, timeout=300, env=run_env
    )
    assert done.returncode == 0, done.stderr + done.stdout
    datasource = (out / "datasources" / "facmon.yaml").read_text()
    assert GRAFANA_TOKEN_REFERENCE in datasource and "http://influxdb:8086" in datasource
    assert (out / "dashboards" / "facmon.yaml").is_file() and (out / "alerting" / "rules.yaml").is_file()


def test_helper_scripts_are_executable_shell() -> None:
    for script in ("make-secrets.sh", "healthcheck.py"):
        assert os.access(COMPOSE_DIR / script, os.X_OK), f"{script} is not executable"
    assert subprocess.run(["sh", "-n", str(COMPOSE_DIR / "make-secrets.sh")]).returncode == 0
    text = (COMPOSE_DIR / "make-secrets.sh").read_text()
    assert "openssl rand" in text and "mqtt credentials" in text


# -- each facmon service's command line, run against the local stack ------------------------------------------
#
# Issue 18: "run each facmon service's exact command line against the local stack in a test". Each service's
# `command` and health check `test` are taken from `docker-compose config` of a copy of the project (secrets/
# made by make-secrets.sh) and run unchanged; argv[0] is found on PATH, as in the image. `Here` translates what
# cannot be the same outside a container, and only that:
#
#   in the container                                  here
#   /run/secrets/NAME                                 the file compose.yaml's top-level `secrets: NAME: file:` names
#   a bind mount's target (/etc/facmon/site.yaml)     its source (.env's SITE_REGISTRY)
#   a named volume's target (/var/lib/facmon)         one folder per volume, shared by the services mounting it
#   /usr/local/bin/facmon-healthcheck                 deploy/compose/healthcheck.py (the Dockerfile copies it there)
#   /usr/local/bin/facmon, python3                    .venv/bin (PATH: that folder, then .venv/bin, then the system's)
#   the image's ENV, WORKDIR and its user's HOME      read from the Dockerfile, paths translated as above
#   addresses on the compose network, database names  local_values(): the test stack's hosts, ports, fresh databases
#   secrets/postgres_password                         the test stack's PostgreSQL password (its server has its own)
#   Mosquitto's listener 8883, its user               a free loopback port; this machine's user (see compose_broker)
#
# Left as they are: every other variable (TZ, FACMON_MQTT_USERNAME, FACMON_INFLUX_VERSION ...), every other secret
# (the test stack's InfluxDB 1.x runs without authentication: the token is sent and not checked). The processes
# run as this machine's user, not the image's facmon (uid 10001).

RUN_HERE = ("ingest-1", "ingest-2", "analyze", "web", "reports")
WECOM_KEY_ENV = "FACMON_WECOM_OFFICERS_KEY"
# The registry with a delivery schedule (examples/county-offices.yaml has none): one that is due whenever the
# follower starts (its run on the 1st at 00:00 is always within catch_up_hours), sent to a WeCom robot here.
SCHEDULE = """
report_delivery:
  wecom_api: {api}
  catch_up_hours: 744
  schedules:
    - id: vendors-monthly
      report: vendors
      day_of_month: 1
      time: '00:00'
      format: xlsx
      wecom: [{{name: officers, key_env: {key_env}}}]
"""
# As docs/deploy-compose.md says for a robot's key: a secret per name, NAME_FILE in the reports service, in a
# compose.override.yaml that keeps it out of the shipped file.
OVERRIDE = f"""\
services:
  reports:
    environment:
      {WECOM_KEY_ENV}_FILE: /run/secrets/wecom_officers_key
    secrets:
      - wecom_officers_key
secrets:
  wecom_officers_key:
    file: ./secrets/wecom_officers_key
"""


def local_values(stack: Any, broker_port: int, influx_db: str, postgres_db: str) -> dict[tuple[str, str], str]:
    """(variable, the value compose.yaml gives it) -> its value here: the servers' addresses on the compose network,
    and the databases (compose's are both `facmon`; each run here gets fresh ones)."""
    return {
        ("FACMON_MQTT_HOST", "mosquitto"): "localhost",  # a name the broker's certificate holds (make-secrets.sh)
        ("FACMON_MQTT_PORT", "8883"): str(broker_port),
        ("FACMON_INFLUX_URL", "http://influxdb:8086"): stack.influx_url,
        ("FACMON_INFLUX_DATABASE", "facmon"): influx_db,
        ("FACMON_POSTGRES_HOST", "postgres"): stack.host,
        ("FACMON_POSTGRES_PORT", "5432"): str(stack.postgres_port),
        ("FACMON_POSTGRES_DB", "facmon"): postgres_db,
    }


def image_settings() -> dict[str, Any]:
    """What the facmon image adds to each container, from the Dockerfile: ENV, the last WORKDIR, the facmon user's
    home and where facmon-healthcheck is copied to."""
    text = (COMPOSE_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for rest in re.findall(r"^ENV\s+(.*)$", text, re.MULTILINE):
        env.update(word.split("=", 1) for word in shlex.split(rest))
    healthcheck = re.search(r"^COPY deploy/compose/healthcheck\.py (\S+)$", text, re.MULTILINE)
    home = re.search(r"useradd .*--home-dir (\S+)", text)
    assert healthcheck and home, "the Dockerfile no longer installs facmon-healthcheck or makes the facmon user as expected"
    return {
        "env": env,
        "workdir": re.findall(r"^WORKDIR\s+(\S+)$", text, re.MULTILINE)[-1],
        "home": home.group(1),
        "healthcheck": healthcheck.group(1),
    }


def seconds(duration: str) -> float:
    """A compose duration (`20s`, `1m`, `1m30s`) in seconds."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, duration
    return int(parts.group(1) or 0) * 60 + int(parts.group(2) or 0)


class Running:
    """A process in a session of its own (its PID is its process group's id): stopped with killpg, exactly it."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: str, log: Path):
        self.name, self.log_path = name, log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM (as `docker stop`), SIGKILL after ``timeout_s``; the exit status. Signals only while the process is
        not reaped, so its PID (and group) cannot be another program's."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode


@dataclass
class Here:
    """The project as `docker-compose config` resolved it, and where its containers' files and servers are here."""

    config: dict[str, Any]
    root: Path  # the named volumes, /usr/local/bin and the logs
    values: dict[tuple[str, str], str]
    translated: set[tuple[str, str, str, str]] = field(default_factory=set)  # (service, variable, compose's value, here)

    def service(self, name: str) -> dict[str, Any]:
        return self.config["services"][name]

    def mounts(self, name: str) -> dict[str, str]:
        """Container path -> path here, for service ``name``: its secrets and volumes, and the image's /usr/local/bin."""
        service = self.service(name)
        mounts = {"/usr/local/bin": str(self.root / "usr-local-bin")}
        for entry in service.get("secrets", []):
            mounts[f"/run/secrets/{entry.get('target') or entry['source']}"] = self.config["secrets"][entry["source"]]["file"]
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2] if isinstance(volume, str) else (volume["source"], volume["target"])
            if not source.startswith("/"):  # a named volume
                (self.root / "volumes" / source).mkdir(parents=True, exist_ok=True)
                source = str(self.root / "volumes" / source)
            mounts[target] = source
        return mounts

    def path(self, name: str, container_path: str) -> str:
        for target, source in sorted(self.mounts(name).items(), key=lambda item: -len(item[0])):
            if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
                return source + container_path[len(target) :]
        raise AssertionError(f"{name}: {container_path} is on no mount of the service, so nothing here stands for it")

    def translate(self, name: str, variable: str, value: str) -> str:
        if (variable, value) in self.values:
            here = self.values[(variable, value)]
        elif value.startswith("/"):
            here = self.path(name, value)
        else:
            named = [other for other in self.config["services"] if re.search(rf"(^|[/:@]){re.escape(other)}([:/]|$)", value)]
            assert not named, f"{name}: {variable}={value} names the compose service {named}: give it its local value in local_values()"
            return value
        self.translated.add((name, variable, value, here))
        return here

    def env(self, name: str) -> dict[str, str]:
        """The environment of service ``name``'s processes: the image's (the python image's PATH and LANG, the facmon
        user's HOME, the Dockerfile's ENV), then the service's `environment:`, each value translated."""
        image = image_settings()
        env = {"PATH": f"{self.path(name, '/usr/local/bin')}:{VENV_BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        env["HOME"] = self.path(name, image["home"])
        for variable, value in {**image["env"], **self.service(name).get("environment", {})}.items():
            env[variable] = self.translate(name, variable, str(value))
        return env

    def workdir(self, name: str) -> str:
        return self.path(name, image_settings()["workdir"])

    def start(self, name: str, started: list[Running]) -> Running:
        """Service ``name``'s command, exactly as compose runs it, in its environment and working folder."""
        command = self.service(name)["command"]
        argv = command if isinstance(command, list) else shlex.split(command)
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        running = Running(name, argv, self.env(name), self.workdir(name), logs / f"{name}-{len(started)}.log")
        started.append(running)
        return running

    def healthcheck(self, name: str) -> subprocess.CompletedProcess:
        """Service ``name``'s health check, run as Docker runs it in the container (exec form, or `sh -c`), within its timeout."""
        check = self.service(name)["healthcheck"]
        argv = check["test"][1:] if check["test"][0] == "CMD" else ["/bin/sh", "-c", check["test"][1]]
        return subprocess.run(
            argv, env=self.env(name), cwd=self.workdir(name), capture_output=True, text=True, timeout=seconds(check["timeout"])
        )


def compose_broker(here: Here, port: int) -> Running:
    """Compose's Mosquitto: deploy/compose/mosquitto/mosquitto.conf with the mosquitto service's paths translated, listening
    on a free loopback port instead of 8883, and running as this machine's user (in the image it reads the secret files
    as their owner, uid 1883; make-secrets.sh gives them that owner, which this machine's root may read)."""
    import getpass

    lines = []
    for line in Path(here.path("mosquitto", "/mosquitto/config/mosquitto.conf")).read_text().splitlines():
        key, _, value = line.partition(" ")
        if key == "listener":
            assert value == "8883", line
            line = f"listener {port} 127.0.0.1"
        elif not key.startswith("#") and value.startswith("/"):
            line = f"{key} {here.path('mosquitto', value)}"
        lines.append(line)
    lines.append(f"user {getpass.getuser()}")
    config = here.root / "mosquitto.conf"
    config.write_text("\n".join(lines) + "\n")
    binary = shutil.which("mosquitto", path=f"{os.defpath}:/usr/sbin")
    assert binary, "mosquitto is not installed (make install)"
    (here.root / "logs").mkdir(exist_ok=True)
    return Running("mosquitto", [binary, "-c", str(config)], {"PATH": os.defpath}, str(here.root), here.root / "logs" / "mosquitto.log")


class Robot(BaseHTTPRequestHandler):
    """WeCom's group-robot API as the reports service meets it (upload the file, then send it); records each request."""

    seen: list[dict[str, Any]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append({"path": url.path, "query": {k: v[0] for k, v in parse_qs(url.query).items()}, "body": body})
        answer = json.dumps({"errcode": 0, "errmsg": "ok", "type": "file", "media_id": "MEDIA-1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@dataclass
class Local:
    here: Here  # the project with .env.example's registry (examples/county-offices.yaml)
    scheduled: Here  # the same project, SITE_REGISTRY a registry with a delivery schedule, and compose.override.yaml
    store: Any  # the InfluxDB database that stands for compose's `facmon`
    postgres: dict[str, Any]  # connection settings of the PostgreSQL database that stands for compose's `facmon`
    broker: Running
    robot: type[Robot]
    wecom_key: str


def _until(predicate: Any, timeout_s: float, what: str, *logs: Running) -> Any:
    """Poll ``predicate`` until it is true (returned) or ``timeout_s`` passes (the failure shows ``logs``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            shown = "\n".join(
                f"--- {r.name} ({'running' if r.running() else f'exited {r.process.returncode}'}):\n{r.log()[-3000:]}" for r in logs
            )
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{shown}")
        time.sleep(0.1)


def stops_on_docker_stop(here: Here, name: str, process: Running) -> bool:
    """`docker stop` sends SIGTERM to the container's PID 1, and the kernel drops a signal PID 1 has no handler for: the
    service stops in time only when compose runs an init that passes it on (`init: true`) or its process catches SIGTERM."""
    status = Path(f"/proc/{process.process.pid}/status").read_text()
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE).group(1), 16)
    return here.service(name).get("init") is True or bool(caught >> (signal.SIGTERM - 1) & 1)


def _compose_config(project: Path, *files: str, **variables: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))} | variables
    argv = [compose_binary(), *(word for name in files for word in ("-f", name)), "config"]
    done = subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


@pytest.fixture(scope="module")
def local(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """The project with real secrets (make-secrets.sh), resolved by docker-compose, its broker running, fresh databases."""
    import psycopg

    from facmon.stack import free_port, port_is_open
    from facmon.store import InfluxStore

    tmp = tmp_path_factory.mktemp("compose-here")
    robot = type("Robot", (Robot,), {"seen": []})
    robot_server = ThreadingHTTPServer(("127.0.0.1", 0), robot)
    threading.Thread(target=robot_server.serve_forever, daemon=True).start()
    store = InfluxStore(stack.influx_url, f"compose_{uuid.uuid4().hex[:10]}")
    store.create_database()
    postgres = {**stack.postgres_dsn(), "dbname": f"compose_{uuid.uuid4().hex[:10]}"}
    admin = {**stack.postgres_dsn(), "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{postgres["dbname"]}"')
    broker = None
    try:
        # the project, .env from the example (its SITE_REGISTRY, relative to deploy/compose, made absolute for the copy)
        project = tmp / "deploy" / "compose"
        shutil.copytree(COMPOSE_DIR, project, ignore=shutil.ignore_patterns("secrets", "grafana-provisioning", ".env"))
        env = env_example()
        registry = (COMPOSE_DIR / env["SITE_REGISTRY"]).resolve()
        (project / ".env").write_text("".join(f"{k}={v}\n" for k, v in (env | {"SITE_REGISTRY": str(registry)}).items()))
        made = subprocess.run(
            ["./make-secrets.sh"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "FACMON": str(VENV_BIN / "facmon")},
        )
        assert made.returncode == 0, made.stderr + made.stdout
        # the secrets whose values differ here: the test stack's PostgreSQL password, the robot's key (the override's)
        assert stack.postgres_dsn()["user"] == "facmon"  # FACMON_POSTGRES_USER stays as compose.yaml has it
        (project / "secrets" / "postgres_password").write_text(stack.postgres_dsn()["password"] + "\n")
        wecom_key = f"robot-key-{secrets.token_hex(8)}"
        (project / "secrets" / "wecom_officers_key").write_text(wecom_key + "\n")
        (project / "compose.override.yaml").write_text(OVERRIDE)
        scheduled_registry = tmp / "site-with-schedules.yaml"
        api = f"http://127.0.0.1:{robot_server.server_address[1]}/cgi-bin/webhook"
        scheduled_registry.write_text(registry.read_text() + SCHEDULE.format(api=api, key_env=WECOM_KEY_ENV))
        broker_port = free_port()
        values = local_values(stack, broker_port, store.database, postgres["dbname"])
        here = Here(_compose_config(project, "compose.yaml"), tmp / "root", values)
        scheduled = Here(
            _compose_config(project, "compose.yaml", "compose.override.yaml", SITE_REGISTRY=str(scheduled_registry)), tmp / "root", values
        )
        link = here.path("web", image_settings()["healthcheck"])
        Path(link).parent.mkdir(parents=True, exist_ok=True)
        Path(link).symlink_to(COMPOSE_DIR / "healthcheck.py")
        broker = compose_broker(here, broker_port)
        _until(lambda: port_is_open("127.0.0.1", broker_port) or not broker.running(), 20, "the broker to listen", broker)
        assert broker.running(), broker.log()
        yield Local(here, scheduled, store, postgres, broker, robot, wecom_key)
    finally:
        if broker is not None:
            broker.stop()
        robot_server.shutdown()
        robot_server.server_close()
        store.query(f'DROP DATABASE "{store.database}"', method="POST")
        store.close()
        with psycopg.connect(**admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{postgres["dbname"]}" WITH (FORCE)')


@pytest.fixture
def processes() -> Iterator[list[Running]]:
    """The services a test starts; whatever still runs is stopped afterwards, also when the test failed."""
    started: list[Running] = []
    yield started
    for running in reversed(started):
        running.stop(timeout_s=30)


def test_every_facmon_service_is_run_here_and_only_addresses_and_paths_are_translated(local: Local) -> None:
    services = local.here.config["services"]
    # every service of the facmon image (one-shot ones, e.g. a migration, included: web migrates when it starts)
    assert {name for name, service in services.items() if service["image"].startswith("facmon:")} == set(RUN_HERE)
    for name in RUN_HERE:
        compose_env = services[name]["environment"]
        env = local.here.env(name)
        for variable, value in compose_env.items():
            if env[variable] != str(value):  # each change is an address, a database or a path of the container
                assert (variable, str(value)) in local.here.values or str(value).startswith("/"), (name, variable, value)
        # paths: a secret's file, the registry, the shared volume, nothing else
        for variable, value in compose_env.items():
            if str(value).startswith("/run/secrets/"):
                secret = Path(env[variable])
                assert secret.is_file() and secret.is_relative_to(local.here.root.parent / "deploy" / "compose" / "secrets"), secret
        assert env["FACMON_SITE"] == str((COMPOSE_DIR / env_example()["SITE_REGISTRY"]).resolve())
        assert env["FACMON_HOME"] == env["HOME"] == local.here.workdir(name) == str(local.here.root / "volumes" / "facmon-home")
        assert env["TZ"] == compose_env["TZ"] and env["FACMON_INFLUX_VERSION"] == "2"
        assert not [v for v in env if v.startswith("FACMON_") and v not in compose_env and v not in image_settings()["env"]]


def _gateway(local: Local, building: str) -> Any:
    """An MQTT client logged in as the building's gateway over TLS (its login from make-secrets.sh's credentials.json)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from facmon.broker_auth import MqttAuth, gateway_user

    secrets_files = local.here.config["secrets"]
    user = gateway_user(building)
    credentials = Path(secrets_files["mosquitto_passwd"]["file"]).with_name("credentials.json")
    password = json.loads(credentials.read_text())["users"][user]["password"]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
    MqttAuth(user, password, secrets_files["mqtt_ca"]["file"]).apply(client)
    client.connect("localhost", int(local.here.values[("FACMON_MQTT_PORT", "8883")]))
    client.loop_start()
    return client


@dataclass
class Stream:
    collectors: dict[str, Running]
    before: dict[str, subprocess.CompletedProcess]  # each collector's health check before it ran
    building: Any
    meter: Any  # published every 15 minutes over the last two hours
    chiller: Any  # published every 5 minutes until an hour ago, then silent
    readings: list[tuple[str, dict[str, Any]]]


def stored(store: Any, building: str, device: Any) -> int:
    """Readings of ``device`` in InfluxDB."""
    from facmon.schema import device_kind

    measurement, field_name, tag = {"meter": ("meter", "register", "meter"), "equipment": ("equipment", "running", "equipment")}[
        device_kind(device)
    ]
    query = f'SELECT count("{field_name}") FROM "{measurement}" WHERE "building" = \'{building}\' AND "{tag}" = \'{device.id}\''
    return sum(int(row["count"]) for row in store.rows(query))


@pytest.fixture(scope="module")
def stream(local: Local) -> Iterator[Stream]:
    """ingest-1 and ingest-2 running, and what a building's gateway published through them stored: its main meter's
    readings of the last two hours, and a chiller's until it stopped reporting an hour ago."""
    from facmon.registry import load_site
    from tests.test_ingest import good_fields

    here, started = local.here, []
    try:
        collectors = ("ingest-1", "ingest-2")
        before = {name: here.healthcheck(name) for name in collectors}
        running = {name: here.start(name, started) for name in collectors}
        for name, process in running.items():
            _until(lambda p=process: "subscribed to" in p.log() or not p.running(), 30, f"{name} to subscribe", process)
            assert process.running(), process.log()
        site = load_site(here.env("ingest-1")["FACMON_SITE"])
        building = site.buildings[0]
        meter = next(device for device in building.meters if device.energy == "01")
        chiller = building.device("CH-1")
        step, now = site.collection.meter_interval_s, int(time.time())
        last = now // step * step - step
        # the register grows by a quarter of the meter's unit (x its multiplier, 400: 100 kWh) per interval, below its rated power
        readings = [
            (f"facmon/{building.code}/{meter.id}", {"ts": last - step * (7 - i), **good_fields(meter, i), "register": 1000 + 0.25 * i})
            for i in range(8)
        ]
        every = site.collection.equipment_interval_s
        readings += [
            (
                f"facmon/{building.code}/{chiller.id}",
                {"ts": now // every * every - 7200 + every * i, **good_fields(chiller, i), "fault_code": 0},
            )
            for i in range(13)
        ]
        gateway = _gateway(local, building.code)
        try:
            for info in [gateway.publish(topic, json.dumps(body).encode(), qos=1) for topic, body in readings]:
                info.wait_for_publish(30)
        finally:
            gateway.disconnect()
            gateway.loop_stop()
        _until(
            lambda: stored(local.store, building.code, meter) + stored(local.store, building.code, chiller) == len(readings),
            30,
            "the readings stored",
            *running.values(),
        )
        yield Stream(running, before, building, meter, chiller, readings)
    finally:
        for process in reversed(started):
            process.stop(timeout_s=30)


def test_two_collectors_in_one_shared_group_store_each_reading_once(local: Local, stream: Stream) -> None:
    from facmon.schema.ingest import latest_ingest_stats

    here, store = local.here, local.store
    for check in stream.before.values():  # not running yet: its collector had not reported, so its check failed
        assert check.returncode == 1 and "no collector has reported" in check.stdout, check
    for process in stream.collectors.values():
        assert "(user facmon-ingest, TLS)" in process.log() and "$share/facmon/facmon/#" in process.log(), process.log()
    # each collector's own ingest_stats point (every 10 s) makes its check pass
    for name, process in stream.collectors.items():
        _until(lambda n=name: here.healthcheck(n).returncode == 0, 40, f"{name}'s health check to pass", process)
        argv = process.process.args
        assert f"collector {argv[argv.index('--client-id') + 1]} reported" in here.healthcheck(name).stdout
    for name, process in stream.collectors.items():
        assert stops_on_docker_stop(here, name, process)
        assert process.stop() == 0, f"{name} did not stop cleanly:\n{process.log()[-3000:]}"
    # the members of the shared group each took a share, and together received every reading once
    stats = {s.collector: s for s in latest_ingest_stats(store)}
    assert set(stats) == {"facmon-ingest-1", "facmon-ingest-2"}
    assert all(s.received > 0 for s in stats.values()) and sum(s.received for s in stats.values()) == len(stream.readings), stats
    assert all(s.fields()["mqtt_login"] == 1.0 and s.fields()["mqtt_tls"] == 1.0 for s in stats.values())
    assert stored(store, stream.building.code, stream.meter) == 8 and stored(store, stream.building.code, stream.chiller) == 13
    # Stopped, a collector's check passes until its last point is --max-age (60 s) old, too long to wait for here;
    # test_collector_health_verdict covers that verdict. (Docker does not run the check of an exited container.)


def test_analyze_follow_computes_energy_and_raises_faults_that_its_health_check_reads(
    local: Local, stream: Stream, processes: list[Running]
) -> None:
    here, store, code = local.here, local.store, stream.building.code
    analyze = here.start("analyze", processes)  # its first cycle runs at once (the next one a minute later)
    # the cycle logs "analysed ..." once its points are written
    _until(lambda: "analysed" in analyze.log() or not analyze.running(), 60, "analyze --follow to complete a cycle", analyze)
    assert "analysed" in analyze.log(), analyze.log()
    energy = f'SELECT count("consumption") FROM "energy_interval" WHERE "building" = \'{code}\' AND "meter" = \'{stream.meter.id}\''
    # one per interval between the 8 readings, each 0.25 x the multiplier
    assert [row["count"] for row in store.rows(energy)] == [7], analyze.log()
    total = energy.replace('count("consumption")', 'sum("consumption")')
    assert [row["sum"] for row in store.rows(total)] == [pytest.approx(7 * 0.25 * stream.meter.multiplier)]
    # then fault detection: the chiller silent for an hour is offline; and the follower waits for its next cycle
    faults = f'SELECT count("active") FROM "fault" WHERE "building" = \'{code}\''
    _until(lambda: store.rows(faults) or not analyze.running(), 60, "analyze --follow to write fault points", analyze)
    assert analyze.running() and stops_on_docker_stop(here, "analyze", analyze), analyze.log()
    check = here.healthcheck("analyze")
    assert check.returncode == 0, check.stdout + check.stderr
    assert [(f["kind"], f["target"]) for f in json.loads(check.stdout)] == [("device_offline", stream.chiller.id)], check.stdout
    assert analyze.stop() == 0, analyze.log()
    # Stopped, its check still passes: it reads the fault data in InfluxDB, not whether analyze runs.
    assert here.healthcheck("analyze").returncode == 0


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:  # as waitress binds: SO_REUSEADDR, so a closed connection's TIME_WAIT does not count
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def test_web_serves_on_its_port_and_reports_follow_delivers_what_web_then_serves(local: Local, processes: list[Running]) -> None:
    import psycopg
    import requests

    here, scheduled = local.here, local.scheduled
    command = here.service("web")["command"]
    port = int(command[command.index("--port") + 1])
    if _port_taken(port):  # the command line is run as it is, so its port must be free
        pytest.skip(f"port {port}, which `facmon serve` is given in compose.yaml, is in use by another program on this machine")
    check = here.healthcheck("web")
    assert check.returncode == 1 and "Connection refused" in check.stdout, check.stdout

    web = here.start("web", processes)
    _until(lambda: here.healthcheck("web").returncode == 0 or not web.running(), 60, "web's health check to pass", web)
    assert web.running(), web.log()
    page = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
    assert page.status_code == 200 and urlsplit(page.url).path.startswith("/login") and 'type="password"' in page.text
    with psycopg.connect(**local.postgres) as connection:  # `facmon serve` migrated the empty database when it started
        assert connection.execute("SELECT count(*) FROM django_migrations WHERE app = 'workorders'").fetchone()[0] > 0

    # the reports service (profile `reports`), with a registry that schedules a report, starts once web is healthy
    assert scheduled.service("reports")["command"] == here.service("reports")["command"]
    assert scheduled.env("reports")[f"{WECOM_KEY_ENV}_FILE"].endswith("secrets/wecom_officers_key")
    reports = scheduled.start("reports", processes)
    ledger = Path(scheduled.env("reports")["FACMON_HOME"]) / "reports" / "ledger.jsonl"
    _until(lambda: ledger.is_file() and ledger.read_text().strip(), 60, "a delivery in the ledger", reports)
    (entry,) = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert entry["ok"] and entry["schedule"] == "vendors-monthly" and entry["channel"] == "wecom:officers", entry
    upload, send = local.robot.seen
    assert upload["path"].endswith("/upload_media") and upload["query"] == {"key": local.wecom_key, "type": "file"}
    assert send["path"].endswith("/send") and send["query"] == {"key": local.wecom_key} and b"MEDIA-1" in send["body"]
    published = Path(entry["file"])
    assert published.name.endswith(".xlsx") and published.read_bytes()[:2] == b"PK" and published.read_bytes() in upload["body"]
    check = scheduled.healthcheck("reports")
    assert check.returncode == 0, check.stdout + check.stderr
    shown = json.loads(check.stdout)
    assert [s["id"] for s in shown["schedules"]] == ["vendors-monthly"] and shown["ledger"][-1]["ok"]
    # the file is published in the shared volume, where web serves it by its link
    served = requests.get(f"http://127.0.0.1:{port}/r/{published.parent.name}/{published.name}", timeout=10)
    assert served.status_code == 200 and served.content == published.read_bytes()

    assert stops_on_docker_stop(here, "web", web) and stops_on_docker_stop(scheduled, "reports", reports)
    assert reports.stop() == 0, reports.log()
    assert web.stop() in (0, -signal.SIGTERM), web.log()  # `facmon serve` has no SIGTERM handler: the signal ends it
    check = here.healthcheck("web")
    assert check.returncode == 1 and "Connection refused" in check.stdout, check.stdout
    # Stopped, reports' check still passes: it reads the registry and the ledger, not whether the follower runs.
    assert scheduled.healthcheck("reports").returncode == 0


def test_reports_exits_without_schedules_which_is_why_it_is_only_in_a_profile(local: Local, processes: list[Running]) -> None:
    """With .env.example's registry (no report_delivery), the service's command exits at once: compose.yaml keeps it
    out of `docker compose up` (profile `reports`), else it would restart for ever."""
    here = local.here
    assert here.service("reports")["profiles"] == ["reports"]
    assert not any("profiles" in here.service(name) for name in RUN_HERE if name != "reports")
    reports = here.start("reports", processes)
    _until(lambda: not reports.running(), 30, "facmon report follow to exit", reports)
    assert reports.process.returncode == 2 and "the registry has no report_delivery schedules" in reports.log(), reports.log()
    # its health check passes all the same (Docker does not run it for an exited container)
    assert here.healthcheck("reports").returncode == 0
