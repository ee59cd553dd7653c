"""The Docker Compose project of deploy/compose, checked without a Docker daemon.

A real Compose implementation reads the files: Debian's `docker-compose` (1.29, which validates against the
Compose Specification's JSON schema and resolves `.env`, anchors, secrets and volumes) runs `config` on a copy
of the project with the example `.env` and dummy secret files, and refuses deliberately broken copies. The
rest is checked on what `config` resolved: pinned images, health checks and restart policies, secrets only
as files, volumes, and that each facmon service runs a real facmon command line. Nothing is started.
"""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_collector_health_reads_the_fields_ingest_status_prints() -> None:
    """The JSON keys the health check reads are those `facmon ingest status --format json` writes."""
    source = (ROOT / "facmon" / "cli" / "ingest.py").read_text()
    assert '{"database": store.database, "collectors": rows}' in source
    assert '"collector": stats.collector' in source and '"age_s":' in source


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
