"""The systemd units of deploy/systemd: systemd itself accepts them, every command they run is a real facmon
command line, the collector is given time to drain, the secrets they load are ones facmon reads, and the
folders and user they rely on are made by the sysusers.d and tmpfiles.d files.

systemd is not PID 1 in the test machines, so nothing here starts a unit: `systemd-analyze verify` and
`systemd-analyze security --offline` read the files as systemd would, and the commands are run by hand.
"""

from __future__ import annotations

import ctypes
import inspect
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import typer

from facmon.cli import app
from facmon.ingest.collector import stop_worst_case_s
from facmon.store import InfluxStore

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "systemd"
VENV_BIN = Path(sys.executable).parent
PREFIX = "/opt/facmon/"  # where the guide installs facmon: /opt/facmon/venv
FACMON = "/opt/facmon/venv/bin/facmon"
TIMER = "facmon-reports.timer"
UNITS = ["facmon-ingest@.service", "facmon-analyze.service", "facmon-web.service", "facmon-reports.service", "facmon-migrate.service"]
# the name systemd-analyze verifies each file under: a template as one of its instances
INSTANCE = {"facmon-ingest@.service": "facmon-ingest@1.service"}
HARDENING = {
    "User": "facmon",
    "Group": "facmon",
    "EnvironmentFile": "/etc/facmon/facmon.env",
    "Environment": "FACMON_HOME=/var/lib/facmon",
    "StateDirectory": "facmon",
    "WorkingDirectory": "/var/lib/facmon",
    "ReadWritePaths": "/var/lib/facmon",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "CapabilityBoundingSet": "",
    "StandardOutput": "journal",
    "StandardError": "journal",
}


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is not installed: it comes with Debian's package `systemd` (apt-get install systemd)")
    return found


def unit_entries(name: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of every assignment in a unit file, in order (keys may repeat, as systemd allows)."""
    entries, section = [], ""
    for raw in (DEPLOY / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def values(name: str, key: str, section: str = "Service") -> list[str]:
    return [v for s, k, v in unit_entries(name) if s == section and k == key]


def one(name: str, key: str, section: str = "Service") -> str:
    found = values(name, key, section)
    assert len(found) == 1, f"{name}: expected one {key}=, found {found}"
    return found[0]


def exec_argv(name: str, instance: str = "1") -> list[str]:
    """ExecStart split as systemd splits it (quotes), with %i substituted."""
    argv = shlex.split(one(name, "ExecStart").replace("%i", instance))
    assert argv[0] == FACMON, f"{name}: ExecStart should run {FACMON} (facmon reads the loaded credentials itself)"
    return argv


def installed_tree(tmp_path: Path) -> Path:
    """A stand-in for /opt/facmon: the test's venv, linked."""
    opt = tmp_path / "opt" / "facmon"
    opt.mkdir(parents=True)
    (opt / "venv").symlink_to(VENV_BIN.parent)  # the whole venv: its python finds pyvenv.cfg beside bin/
    return opt


def relocated_units(tmp_path: Path) -> Path:
    """The unit files with /opt/facmon/ replaced by the stand-in tree: the only change made to them."""
    opt = installed_tree(tmp_path)
    units = tmp_path / "units"
    units.mkdir()
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        assert PREFIX in text
        (units / name).write_text(text.replace(PREFIX, f"{opt}/"))
    return units


def verify(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([systemd_analyze(), "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=120)


def test_the_folder_holds_the_units_tested_here() -> None:
    assert sorted(p.name for p in DEPLOY.glob("*.service")) == sorted(UNITS)
    assert [p.name for p in DEPLOY.glob("*.timer")] == [TIMER], "a timer was added: test what it runs too"


def test_the_report_timer_runs_a_delivery_that_exits_every_minute(tmp_path: Path) -> None:
    assert one(TIMER, "OnCalendar", "Timer") == "minutely" and one(TIMER, "Unit", "Timer") == "facmon-reports.service"
    assert values(TIMER, "WantedBy", "Install") == ["timers.target"]
    # what it starts exits after one run: a oneshot of `facmon report follow --once`, not the long-running follower
    assert one("facmon-reports.service", "Type") == "oneshot" and exec_argv("facmon-reports.service")[1:] == ["report", "follow", "--once"]
    assert not values("facmon-reports.service", "WantedBy", "Install"), "the timer starts it, not the boot"
    units = relocated_units(tmp_path)
    (units / TIMER).write_text((DEPLOY / TIMER).read_text())
    done = verify(units / TIMER)
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr


def test_systemd_accepts_every_unit(tmp_path: Path) -> None:
    units = relocated_units(tmp_path)
    for name in UNITS:
        done = verify(units / INSTANCE.get(name, name))
        # verify exits 0 on unknown keys and unparsable values, it only prints them: any output is a finding
        assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), f"{name}:\n{done.stdout}{done.stderr}"


def test_verify_reports_what_a_broken_unit_gets_wrong(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key, a bad value and a missing program are all reported."""
    units = relocated_units(tmp_path)
    broken = units / "facmon-analyze.service"
    text = broken.read_text().replace("ProtectSystem=strict", "ProtectSystem=strickt").replace("PrivateTmp=", "PrivateTemp=")
    # systemd checks that the program it starts exists
    broken.write_text(text.replace(str(units.parent / "opt/facmon/venv/bin/facmon"), str(units.parent / "missing/facmon")))
    done = verify(broken)
    output = done.stdout + done.stderr
    assert "strickt" in output and "PrivateTemp" in output and "missing/facmon" in output, output


def test_systemd_rates_every_unit_well_hardened(tmp_path: Path) -> None:
    units = relocated_units(tmp_path)
    for name in UNITS:
        done = subprocess.run(
            [systemd_analyze(), "security", "--offline=yes", "--no-pager", str(units / INSTANCE.get(name, name))],
            capture_output=True,
            text=True,
            timeout=120,
        )
        level = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", done.stdout)
        assert level, done.stdout + done.stderr
        assert float(level.group(1)) <= 4.0, f"{name}: exposure {level.group(1)} (at most 4.0, 'OK', expected)\n{done.stdout}"


@pytest.mark.parametrize("name", UNITS)
def test_every_unit_runs_hardened_as_facmon_with_its_state_folder(name: str) -> None:
    for key, expected in HARDENING.items():
        assert expected in values(name, key), f"{name}: {key}={expected} missing (has {values(name, key)})"


def facmon_command(argv: list[str]) -> tuple[list[str], Any, list[str]]:
    """The subcommand path, its click command and the arguments left for it, from a facmon argv."""
    assert argv[0] == f"{PREFIX}venv/bin/facmon", argv
    command = typer.main.get_command(app)  # typer's own copy of click: groups are recognised by their commands
    path, args = [], argv[1:]
    while hasattr(command, "commands") and args and not args[0].startswith("-"):
        assert args[0] in command.commands, f"facmon {' '.join(path)} has no subcommand {args[0]!r}"
        path.append(args[0])
        command = command.commands[args.pop(0)]
    return path, command, args


@pytest.mark.parametrize("name", [n for n in UNITS if n != "facmon-migrate.service"])
def test_every_exec_start_is_a_facmon_command_line_that_parses(name: str) -> None:
    path, command, args = facmon_command(exec_argv(name))
    # each option the unit passes is one `facmon ... --help` lists
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    shown = subprocess.run([str(VENV_BIN / "facmon"), *path, "--help"], capture_output=True, text=True, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    options = [arg.split("=", 1)[0] for arg in args if arg.startswith("--")]
    assert options or path == ["report", "follow"], f"{name}: expected options in {args}"
    for option in options:
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", shown.stdout), (
            f"{name}: `facmon {' '.join(path)} --help` lists no {option}"
        )
    # ...and the whole line parses, values and types included, as `facmon` would parse it (without running it)
    ctx = command.make_context(f"facmon {' '.join(path)}", list(args))
    assert not ctx.args and not getattr(ctx, "protected_args", []), f"{name}: arguments left over: {ctx.args}"


def test_the_parser_check_refuses_a_wrong_command_line() -> None:
    """The check above can fail: an option facmon lacks, and a value of the wrong type."""
    _, command, _ = facmon_command([f"{PREFIX}venv/bin/facmon", "ingest"])
    with pytest.raises(Exception, match="No such option: --shard"):
        command.make_context("facmon ingest", ["--shard", "1/2"])
    _, command, _ = facmon_command([f"{PREFIX}venv/bin/facmon", "serve"])
    with pytest.raises(Exception, match="valid integer"):
        command.make_context("facmon serve", ["--port", "http"])


def test_collectors_share_one_group_each_with_its_own_client_id() -> None:
    first, second = exec_argv("facmon-ingest@.service", "1"), exec_argv("facmon-ingest@.service", "2")

    def option(argv: list[str], name: str) -> str:
        return argv[argv.index(name) + 1]

    assert option(first, "--shared") == option(second, "--shared")
    assert option(first, "--client-id") == "facmon-ingest-1" != option(second, "--client-id")
    assert "--spool-dir" not in first, "the default spool (FACMON_HOME/spool/<client id>) keeps instances apart"


def test_a_stopping_collector_gets_time_to_drain() -> None:
    argv = exec_argv("facmon-ingest@.service")
    stop_timeout = float(argv[argv.index("--stop-timeout") + 1])
    store_timeout = inspect.signature(InfluxStore).parameters["timeout_s"].default
    worst = stop_worst_case_s(store_timeout, stop_timeout)
    timeout = one("facmon-ingest@.service", "TimeoutStopSec")
    assert timeout.isdigit() and int(timeout) > worst, f"TimeoutStopSec={timeout} must exceed the collector's worst case {worst} s"
    assert one("facmon-ingest@.service", "KillSignal") == "SIGTERM"
    assert one("facmon-ingest@.service", "KillMode") == "mixed"


@pytest.mark.parametrize("name", UNITS)
def test_units_restart_on_failure_and_are_ordered_after_their_servers(name: str) -> None:
    after = " ".join(values(name, "After", "Unit")).split()
    assert "network-online.target" in after and "network-online.target" in " ".join(values(name, "Wants", "Unit")).split()
    needs = {
        "facmon-ingest@.service": {"mosquitto.service", "influxdb.service"},
        "facmon-analyze.service": {"influxdb.service"},
        "facmon-web.service": {"postgresql.service", "influxdb.service", "facmon-migrate.service"},
        "facmon-reports.service": {"postgresql.service", "influxdb.service"},
        "facmon-migrate.service": {"postgresql.service"},
    }[name]
    assert needs <= set(after), f"{name}: After= lacks {needs - set(after)}"
    if name == "facmon-migrate.service":
        assert one(name, "Type") == "oneshot" and "facmon-web.service" in values(name, "Before", "Unit")
    elif name == "facmon-reports.service":  # a oneshot its timer starts again every minute: no Restart=
        assert one(name, "Type") == "oneshot" and not values(name, "Restart")
    else:
        assert one(name, "Restart") == "on-failure" and one(name, "RestartSec")
        assert values(name, "WantedBy", "Install") == ["multi-user.target"]
    if name == "facmon-web.service":
        assert values(name, "Requires", "Unit") == ["facmon-migrate.service"]


def facmon_sources() -> str:
    folders = ["facmon", "ingest", "analytics", "workorders", "reports", "simulators", "dashboards", "alerts", "grafana"]
    return "\n".join(p.read_text() for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_units_load_only_secrets_facmon_reads() -> None:
    code = facmon_sources()
    read_by_name = set(re.findall(r'read_secret\("(FACMON_[A-Z0-9_]+)"\)', code))
    read_by_name |= set(re.findall(r'^\w+ = "(FACMON_[A-Z0-9_]+)"', code, re.M)) & {
        "FACMON_SMTP_PASSWORD"
    }  # read_credential(SMTP_PASSWORD)
    for name in UNITS:
        for credential in values(name, "LoadCredential"):
            assert ":" not in credential, (
                f"{name}: LoadCredential={credential}: give a name only (searched in /etc/credstore, skipped when absent)"
            )
            assert credential in read_by_name, f"{name}: LoadCredential={credential} is no secret facmon reads"


def test_the_environment_example_lists_every_variable_facmon_reads() -> None:
    code = facmon_sources()
    names = set(re.findall(r"FACMON_[A-Z0-9_]+", code))
    constants = {"FACMON_DEFAULT", "FACMON_UID_PREFIX"}  # Python names, not environment variables
    for constant in constants:
        assert re.search(rf"^{constant}\b.*=", code, re.M), f"{constant} is no longer a constant: is it an environment variable now?"
    example = (DEPLOY / "facmon.env.example").read_text()
    missing = {n for n in names - constants if not n.endswith("_FILE") and not re.search(rf"\b{n}\b", example)}
    assert not missing, f"facmon.env.example does not mention {sorted(missing)}"
    assigned = dict(line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#"))
    assert set(assigned) <= names | {"REQUESTS_CA_BUNDLE"}, set(assigned) - names
    secrets = {"FACMON_MQTT_PASSWORD", "FACMON_INFLUX_PASSWORD", "FACMON_INFLUX_TOKEN", "FACMON_POSTGRES_PASSWORD", "FACMON_WEB_SECRET_KEY"}
    assert not secrets & set(assigned), "secrets belong in /etc/credstore, not the environment file"


def test_facmon_reads_the_credentials_a_unit_loads_and_a_variable_set_wins(tmp_path: Path) -> None:
    """LoadCredential=NAME puts the secret in $CREDENTIALS_DIRECTORY/NAME: facmon's reader finds it there, after
    NAME and NAME_FILE; a name that is not a plain variable name is never a path into the folder."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "FACMON_INFLUX_TOKEN").write_text("token-from-systemd\n")
    (credentials / "FACMON_POSTGRES_PASSWORD").write_text("pg-from-systemd\n")
    probe = (
        "import json; from facmon.settings import read_secret; names = "
        "('FACMON_INFLUX_TOKEN', 'FACMON_POSTGRES_PASSWORD', 'FACMON_MQTT_PASSWORD', '../x'); "
        "print(json.dumps({n: read_secret(n) for n in names}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", probe],
        capture_output=True,
        text=True,
        env={**clean, "CREDENTIALS_DIRECTORY": str(credentials), "FACMON_POSTGRES_PASSWORD": "inline"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "FACMON_INFLUX_TOKEN": "token-from-systemd",
        "FACMON_POSTGRES_PASSWORD": "inline",  # a variable already set wins
        "FACMON_MQTT_PASSWORD": None,  # a credential the unit was not given is absent, not an error
        "../x": None,
    }


def test_sysusers_and_tmpfiles_make_the_user_and_folders(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("systemd-tmpfiles --create must run as root to give /var/lib/facmon to the facmon user")
    for tool in ("systemd-sysusers", "systemd-tmpfiles"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: it comes with Debian's package `systemd`")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "var" / "lib").mkdir(parents=True)
    made = subprocess.run(["systemd-sysusers", f"--root={root}", str(DEPLOY / "facmon.conf")], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    user = next(line.split(":") for line in (root / "etc" / "passwd").read_text().splitlines() if line.startswith("facmon:"))
    assert user[5:] == ["/var/lib/facmon", "/usr/sbin/nologin"] and int(user[2]) < 1000, user
    made = subprocess.run(
        ["systemd-tmpfiles", f"--root={root}", "--create", str(DEPLOY / "facmon-tmpfiles.conf")], capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0, made.stderr
    state, config, store = (root / "var/lib/facmon").stat(), (root / "etc/facmon").stat(), (root / "etc/credstore").stat()
    assert (state.st_uid, state.st_mode & 0o777) == (int(user[2]), 0o750)
    assert (config.st_uid, config.st_gid, config.st_mode & 0o777) == (0, int(user[3]), 0o750)
    assert (store.st_uid, store.st_mode & 0o777) == (0, 0o700)


MDWE_PROBE = """
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN (Linux 6.3)
    sys.exit(77)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("W^X is not enforced: the probe proves nothing")
except OSError:
    pass
import numpy, scipy.stats, sklearn.linear_model, psycopg, django, requests
sklearn.linear_model.LinearRegression().fit(numpy.arange(20.0).reshape(-1, 1), numpy.arange(20.0))
callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)
assert callback(1) == 2
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
figure, axes = plt.subplots()
axes.plot([1, 2, 3])
figure.savefig(sys.argv[1] + "/chart.png")
from weasyprint import HTML
HTML(string="<h1>能耗报告</h1><img src='chart.png'>", base_url=sys.argv[1] + "/").write_pdf(sys.argv[1] + "/report.pdf")
import facmon.cli, facmon.ingest.collector, facmon.workorders.server, facmon.reports.delivery
print("ok")
"""


def test_facmon_libraries_run_without_writable_executable_memory(tmp_path: Path) -> None:
    """MemoryDenyWriteExecute=yes: numpy, scipy, scikit-learn, matplotlib, WeasyPrint (PDF with Chinese), psycopg
    and ctypes callbacks, under the kernel's W^X (PR_SET_MDWE), which refuses what systemd's filter refuses."""
    done = subprocess.run([str(VENV_BIN / "python"), "-c", MDWE_PROBE, str(tmp_path)], capture_output=True, text=True, timeout=300)
    if done.returncode == 77:
        pytest.skip(f"this kernel ({os.uname().release}) has no PR_SET_MDWE (Linux 6.3+): W^X not tried")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
    assert (tmp_path / "report.pdf").stat().st_size > 1000
    assert ctypes  # the probe's ctypes runs in the child


def test_the_migrate_unit_migrates_the_database(stack, tmp_path: Path) -> None:  # noqa: ANN001 - conftest's Stack
    """facmon-migrate.service's command, run as the unit runs it: password from a systemd credential."""
    dsn = stack.postgres_dsn()
    database = f"deploy_{uuid.uuid4().hex[:10]}"
    admin = {**dsn, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        credentials = tmp_path / "credentials"
        credentials.mkdir()
        (credentials / "FACMON_POSTGRES_PASSWORD").write_text(dsn["password"] + "\n")
        opt = installed_tree(tmp_path)
        argv = [arg.replace(PREFIX, f"{opt}/") for arg in exec_argv("facmon-migrate.service")]
        home = tmp_path / "home"
        home.mkdir()
        clean = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_") and k != "DJANGO_SETTINGS_MODULE"}
        env = {
            **clean,
            "CREDENTIALS_DIRECTORY": str(credentials),
            "FACMON_HOME": str(home),
            "FACMON_SITE": str(ROOT / "examples" / "county-offices.yaml"),
            "FACMON_POSTGRES_HOST": dsn["host"],
            "FACMON_POSTGRES_PORT": str(dsn["port"]),
            "FACMON_POSTGRES_DB": database,
            "FACMON_POSTGRES_USER": dsn["user"],
        }
        done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=home, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        with psycopg.connect(**{**dsn, "dbname": database}) as connection:
            applied = {app for (app,) in connection.execute("SELECT app FROM django_migrations")}
        assert {"workorders", "auth", "sessions"} <= applied, applied
    finally:
        with psycopg.connect(**admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
