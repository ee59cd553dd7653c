"""A stack's security is part of its state: it survives `stack down`, a crash and a reboot.

Each test runs the real `facmon stack` commands in its own FACMON_HOME with real Mosquitto and InfluxDB
on free loopback ports, and checks the broker with a real MQTT client: an operator who restarts the
stack after maintenance must never find it open to anonymous clients unless they said so.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from facmon.broker_auth import MqttAuth
from facmon.ingest import Collector
from facmon.schema.ingest import IngestStats, ingest_stats_line, latest_ingest_stats
from facmon.settings import login_expected
from facmon.stack import Stack, free_port
from facmon.store import InfluxStore
from tests.conftest import EXAMPLE_SITE
from tests.test_ingest import FACMON, wait_for
from tests.test_security import Client, _run_collector


class Home:
    """One FACMON_HOME and the `facmon` command run in it, with the stack stopped at the end."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
        self.env.update(FACMON_HOME=str(folder), FACMON_SITE=str(EXAMPLE_SITE))
        self.ports = [
            "--mqtt-port",
            str(free_port()),
            "--influx-port",
            str(free_port()),
            "--influx-rpc-port",
            str(free_port()),
            "--postgres-port",
            str(free_port()),
        ]

    def facmon(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([FACMON, *args], env=self.env, capture_output=True, text=True, timeout=120)

    def up(self, *flags: str) -> dict[str, Any]:
        """`facmon stack up FLAGS --format json` (with the test's ports): the broker's status entry and warnings."""
        done = self.facmon("stack", "up", *flags, *self.ports, "--format", "json")
        assert done.returncode == 0, done.stderr
        status = json.loads(done.stdout)
        return {**status["services"]["mosquitto"], "warnings": status["warnings"], "stderr": done.stderr}

    def down(self) -> None:
        done = self.facmon("stack", "down")
        assert done.returncode == 0, done.stderr

    @property
    def stack(self) -> Stack:
        return Stack(self.folder)

    def kill_recorded_pids(self) -> None:
        """What a reboot or a crash leaves: stack.json still names PIDs, none of them runs."""
        recorded = json.loads((self.folder / "stack.json").read_text())["services"]
        for service in recorded.values():
            os.kill(service["pid"], signal.SIGKILL)
        wait_for(lambda: not any(s["running"] for s in self.stack.status()["services"].values()), 15, "the killed servers gone")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    home = Home(tmp_path / "home")
    yield home
    home.facmon("stack", "down")


def _refuses_anonymous(stack: Stack) -> bool:
    """True when the broker answers an anonymous CONNECT with a refusal."""
    client = Client(stack, MqttAuth(tls_ca=stack.mqtt_security()["tls_ca"]))
    try:
        assert client.answered.wait(15), "the broker did not answer CONNECT"
        return not client.connected.is_set()
    finally:
        client.close()


def _answers_plain_mqtt(stack: Stack) -> bool:
    """True when a client without TLS gets a CONNACK (of any kind)."""
    client = Client(stack, MqttAuth())
    try:
        return client.answered.wait(5)
    finally:
        client.close()


def test_authentication_survives_down_and_up(home: Home) -> None:
    assert home.up("--auth")["auth"]
    assert home.up()["auth"]
    home.down()
    status = home.facmon("stack", "status")
    assert "auth on" in status.stdout, "a stopped stack shows how its broker will start"
    again = home.up()
    assert again["auth"] and again["running"] and not again["warnings"]
    assert _refuses_anonymous(home.stack)


def test_authentication_survives_a_reboot_that_killed_every_recorded_pid(home: Home) -> None:
    home.up("--auth")
    home.kill_recorded_pids()
    again = home.up()
    assert again["auth"] and again["running"]
    assert _refuses_anonymous(home.stack)


def test_tls_survives_down_and_a_reboot(home: Home) -> None:
    first = home.up("--tls")
    assert first["tls"] and first["url"].startswith("mqtts://")
    home.down()
    after_down = home.up()
    assert after_down["tls"] and not _answers_plain_mqtt(home.stack)
    home.kill_recorded_pids()
    after_reboot = home.up()
    assert after_reboot["tls"] and not _answers_plain_mqtt(home.stack)
    # over TLS with the stack's CA the same (anonymous, as chosen) client is answered
    over_tls = Client(home.stack, MqttAuth(tls_ca=home.stack.mqtt_security()["tls_ca"]))
    try:
        over_tls.wait_connected()
    finally:
        over_tls.close()


def test_no_auth_opens_the_broker_and_says_what_it_opens(home: Home) -> None:
    home.up("--auth")
    opened = home.up("--no-auth")
    assert not opened["auth"]
    assert any("accepts anonymous clients" in warning and "every building's topics" in warning for warning in opened["warnings"])
    assert "WARNING" in opened["stderr"] and "anonymous" in opened["stderr"]
    assert not _refuses_anonymous(home.stack)
    # with credentials in FACMON_HOME/mqtt every anonymous start is said explicitly, even after --no-auth
    assert home.facmon("stack", "up", *home.ports).returncode != 0
    plain = home.up("--no-auth", "--no-tls")
    assert any("unencrypted" in warning for warning in plain["warnings"])


def test_with_credentials_an_anonymous_broker_needs_no_auth_said_explicitly(home: Home) -> None:
    """Fail closed: credentials exist, nothing chose authentication, so `stack up` refuses and starts nothing."""
    credentials = home.facmon("mqtt", "credentials")
    assert credentials.returncode == 0, credentials.stderr
    refused = home.facmon("stack", "up", *home.ports)
    assert refused.returncode != 0
    assert str(home.stack.mqtt_auth_folder) in refused.stderr and "--no-auth" in refused.stderr
    assert not any(service["running"] for service in home.stack.status()["services"].values())
    opened = home.up("--no-auth")
    assert not opened["auth"] and opened["running"] and opened["warnings"]


def test_a_collector_connecting_anonymously_where_credentials_exist_warns_and_reports_it(
    home: Home, example_site: Any, caplog: pytest.LogCaptureFixture
) -> None:
    home.facmon("mqtt", "credentials")
    home.up("--no-auth")
    stack = home.stack
    store = InfluxStore(stack.influx_url, f"sec_{uuid.uuid4().hex[:12]}")
    store.create_database()
    collector = Collector(
        example_site,
        store,
        mqtt_host=stack.host,
        mqtt_port=stack.mqtt_port,
        client_id=f"anonymous-{uuid.uuid4().hex[:6]}",
        stats_interval_s=0.2,
        auth=MqttAuth(),
        login_expected=login_expected(MqttAuth(), home.folder),  # as `facmon ingest` decides it
    )
    caplog.set_level(logging.WARNING, logger="facmon")
    stop, thread = _run_collector(collector)
    try:
        assert collector.connected.wait(15)
        wait_for(lambda: latest_ingest_stats(store), 15, "ingest_stats written")
    finally:
        stop.set()
        thread.join(30)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "connected anonymously" in r.getMessage()]
    assert warnings and str(stack.mqtt_auth_folder) in warnings[0]
    (stats,) = latest_ingest_stats(store)
    assert (stats.mqtt_login, stats.mqtt_tls) == (False, False)


def test_ingest_status_shows_how_each_collector_connects(home: Home) -> None:
    home.up()
    stack = home.stack
    store = InfluxStore(stack.influx_url, "facmon")
    store.create_database()
    now_ns = time.time_ns()
    counters: dict[str, Any] = {"received": 1, "written": 1, "rejected": 0, "spooled": 0, "spool_bytes": 0, "spool_full": False, "lag_s": 0}
    store.write(
        [
            ingest_stats_line(IngestStats("with-login", now_ns, **counters, mqtt_login=True, mqtt_tls=True)),
            ingest_stats_line(IngestStats("without", now_ns, **counters, mqtt_login=False, mqtt_tls=False)),
        ]
    )
    env = {**home.env, "FACMON_INFLUX_URL": stack.influx_url}
    done = subprocess.run([FACMON, "ingest", "status"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[1]: line for line in done.stdout.splitlines() if "with-login" in line or "without" in line}
    assert "login, TLS" in rows["with-login"] and "anonymous, plain" in rows["without"]
