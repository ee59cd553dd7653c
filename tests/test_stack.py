"""`facmon stack`: real Mosquitto and InfluxDB from Debian's packages, started once, stopped exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from facmon.errors import FacmonError
from facmon.stack import Stack, free_port, port_is_open
from facmon.store import InfluxStore

FACMON = [str(Path(sys.executable).with_name("facmon"))]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0


@pytest.fixture
def ports() -> dict[str, int]:
    return {"mqtt_port": free_port(), "influx_port": free_port(), "influx_rpc_port": free_port(), "postgres_port": free_port()}


def test_up_twice_is_harmless_and_down_stops_exactly_its_pids(tmp_path, ports):
    stack = Stack(tmp_path, **ports)
    first = stack.up()
    pids = {name: s["pid"] for name, s in first["services"].items()}
    assert all(first["services"][name]["running"] for name in ("mosquitto", "influxdb", "postgresql"))
    assert port_is_open("127.0.0.1", ports["mqtt_port"])
    assert InfluxStore(stack.influx_url, "facmon").ping()

    again = Stack(tmp_path).up()  # a second `up`, ports read back from stack.json
    assert {name: s["pid"] for name, s in again["services"].items()} == pids

    bystander = subprocess.Popen(["sleep", "60"])
    try:
        assert sorted(Stack(tmp_path).down()) == ["influxdb", "mosquitto", "postgresql"]
        assert not any(_alive(pid) for pid in pids.values())
        assert _alive(bystander.pid)
        assert not port_is_open("127.0.0.1", ports["mqtt_port"])
        assert Stack(tmp_path).down() == []  # down twice is harmless too
    finally:
        bystander.kill()
        bystander.wait()


def test_postgresql_runs_unprivileged_and_keeps_its_files_in_the_stack_folder(tmp_path, ports):
    """PostgreSQL refuses root; started by root it runs in a user namespace, its files still the caller's."""
    import psycopg

    stack = Stack(tmp_path, **ports)
    try:
        service = stack.up()["services"]["postgresql"]
        assert service["running"]
        with psycopg.connect(**stack.postgres_dsn()) as connection:
            assert connection.execute("SELECT current_database(), current_user").fetchone() == ("facmon", "facmon")
        data = tmp_path / "postgresql" / "data"
        assert data.stat().st_uid == os.getuid()
        assert (tmp_path / "postgresql" / "password").stat().st_mode & 0o077 == 0  # the password file is the caller's alone
        uid_line = next(line for line in Path(f"/proc/{service['pid']}/status").read_text().splitlines() if line.startswith("Uid:"))
        if os.getuid() == 0:
            # /proc shows the real uid outside the namespace (root's), while inside it postgres is not root
            assert Path(f"/proc/{service['pid']}/uid_map").read_text().split()[:2] != ["0", "0"]
        else:
            assert uid_line.split()[1] == str(os.getuid())
    finally:
        stack.down()


def test_down_never_signals_a_recorded_pid_that_now_runs_something_else(tmp_path, ports):
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        stack = Stack(tmp_path, **ports)
        stack._mosquitto_config()
        state = {
            "database": "facmon",
            "services": {
                "mosquitto": {
                    "name": "mosquitto",
                    "host": "127.0.0.1",
                    "port": ports["mqtt_port"],
                    "pid": stranger.pid,
                    "config": str(tmp_path / "mosquitto" / "mosquitto.conf"),
                    "log": "",
                    "extra": {},
                }
            },
        }
        (tmp_path / "stack.json").write_text(json.dumps(state))
        assert Stack(tmp_path).down() == []
        assert _alive(stranger.pid)
    finally:
        stranger.kill()
        stranger.wait()


def test_a_busy_port_is_reported_with_the_way_out(tmp_path, stack):
    with pytest.raises(FacmonError, match=rf"port {stack.mqtt_port} on 127.0.0.1 is already in use by another program"):
        Stack(tmp_path, mqtt_port=stack.mqtt_port, influx_port=free_port(), influx_rpc_port=free_port()).up()


def test_generated_broker_config_raises_the_silent_drop_limits(stack):
    config = (stack.home / "mosquitto" / "mosquitto.conf").read_text()
    assert "persistence true" in config
    assert "max_inflight_messages 1000\n" in config
    assert "max_queued_messages 1000000\n" in config


def test_cli_status_json_names_host_port_pid_and_database(tmp_path, ports):
    env = {**os.environ, "FACMON_HOME": str(tmp_path)}
    up = subprocess.run(
        [
            *FACMON,
            "stack",
            "up",
            "--mqtt-port",
            str(ports["mqtt_port"]),
            "--influx-port",
            str(ports["influx_port"]),
            "--influx-rpc-port",
            str(ports["influx_rpc_port"]),
            "--postgres-port",
            str(ports["postgres_port"]),
            "--format",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        assert up.returncode == 0, up.stderr
        status = subprocess.run([*FACMON, "stack", "status", "--format", "json"], env=env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["database"] == "facmon"
        mosquitto, influx = report["services"]["mosquitto"], report["services"]["influxdb"]
        assert (mosquitto["host"], mosquitto["port"], mosquitto["running"]) == ("127.0.0.1", ports["mqtt_port"], True)
        assert (influx["host"], influx["port"], influx["running"], influx["database"]) == (
            "127.0.0.1",
            ports["influx_port"],
            True,
            "facmon",
        )
        assert _alive(mosquitto["pid"]) and _alive(influx["pid"])
    finally:
        down = subprocess.run([*FACMON, "stack", "down"], env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not _alive(mosquitto["pid"]) and not _alive(influx["pid"])


def test_one_service_can_be_stopped_and_started_again_keeping_its_data(tmp_path, ports):
    stack = Stack(tmp_path, **ports)
    stack.up()
    try:
        store = InfluxStore(stack.influx_url, "facmon")
        store.write(["weather,building=B temperature=21.5 1000000000"])
        old_pid = stack.status()["services"]["influxdb"]["pid"]
        assert stack.stop_service("influxdb")
        assert not store.ping() and stack.status()["services"]["mosquitto"]["running"]
        restarted = stack.up()["services"]["influxdb"]
        assert restarted["running"] and restarted["pid"] != old_pid and restarted["port"] == ports["influx_port"]
        assert store.rows('SELECT "temperature" FROM "weather"')[0]["temperature"] == 21.5
    finally:
        stack.down()
