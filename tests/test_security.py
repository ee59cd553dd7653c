"""Broker authentication and ACL generated from the registry, TLS, and secrets kept out of logs.

Each test module stack here is its own: real Mosquitto (with ``allow_anonymous false``, the generated
password file and ACL, and for the TLS tests a listener with a local CA) and InfluxDB, on free ports
in a temporary folder. The session's anonymous stack is not used.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from facmon.broker_auth import COLLECTOR_USER, MqttAuth, gateway_user, read_credentials, write_broker_files
from facmon.errors import FacmonError
from facmon.ingest import Collector
from facmon.settings import mqtt_auth, simulator_auth
from facmon.simulators import SiteSimulator, publish
from facmon.simulators.publisher import PublishError
from facmon.stack import Stack, free_port
from facmon.store import InfluxStore, StoreUnavailable
from tests.conftest import EXAMPLE_SITE
from tests.test_ingest import FACMON, TS, wait_for

A001, A002 = "341122A001", "341122A002"
NOT_AUTHORIZED = 0x87  # MQTT v5 reason code Mosquitto gives a refused publish (PUBACK) or login (CONNACK)
BAD_LOGIN = 0x86


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
    env["FACMON_SITE"] = str(EXAMPLE_SITE)
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def _no_mqtt_login_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "FACMON_MQTT_USERNAME",
        "FACMON_MQTT_PASSWORD",
        "FACMON_MQTT_USERNAME_FILE",
        "FACMON_MQTT_PASSWORD_FILE",
        "FACMON_MQTT_TLS_CA",
    ):
        monkeypatch.delenv(name, raising=False)


def _start(home: Path, site: Any, *, tls: bool) -> Stack:
    stack = Stack(home, mqtt_port=free_port(), influx_port=free_port(), influx_rpc_port=free_port())
    write_broker_files(site, stack.mqtt_auth_folder)
    stack.up(auth=True, tls=tls, work_orders=False)
    return stack


@pytest.fixture(scope="module")
def secure_stack(tmp_path_factory: pytest.TempPathFactory, example_site: Any) -> Iterator[Stack]:
    stack = _start(tmp_path_factory.mktemp("secure-home"), example_site, tls=False)
    yield stack
    stack.down()


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory: pytest.TempPathFactory, example_site: Any) -> Iterator[Stack]:
    stack = _start(tmp_path_factory.mktemp("tls-home"), example_site, tls=True)
    yield stack
    stack.down()


def _fresh_store(stack: Stack, **credentials: str) -> InfluxStore:
    store = InfluxStore(stack.influx_url, f"sec_{uuid.uuid4().hex[:12]}", **credentials)
    store.create_database()
    return store


def _password(stack: Stack, user: str) -> str:
    return read_credentials(stack.mqtt_auth_folder)[user]["password"]


class Client:
    """A raw paho MQTT v5 client that records CONNACK, SUBACKs, PUBACK reason codes and messages."""

    def __init__(self, stack: Stack, auth: MqttAuth, *, connect: bool = True):
        self.connack: Any = None
        self.connected = threading.Event()
        self.answered = threading.Event()
        self.pubacks: dict[int, int] = {}
        self.subacks: list[list[int]] = []
        self.messages: list[str] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-sec-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
        auth.apply(self.client)
        self.client.on_connect = self._on_connect
        self.client.on_publish = lambda c, u, mid, rc, p: self.pubacks.__setitem__(mid, rc.value)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.append([rc.value for rc in rcs])
        self.client.on_message = lambda c, u, m: self.messages.append(m.topic)
        if connect:
            self.client.connect(stack.host, stack.mqtt_port)
            self.client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        self.connack = reason_code.value
        self.answered.set()
        if not reason_code.is_failure:
            self.connected.set()

    def wait_connected(self) -> Client:
        assert self.connected.wait(15), f"not connected: CONNACK {self.connack}"
        return self

    def subscribe(self, *filters: str) -> list[int]:
        before = len(self.subacks)
        self.client.subscribe([(f, 1) for f in filters])
        wait_for(lambda: len(self.subacks) > before, 10, "SUBACK")
        return self.subacks[before]

    def publish(self, topic: str, body: dict[str, Any]) -> int:
        return self.client.publish(topic, json.dumps(body).encode(), qos=1).mid

    def puback(self, mid: int) -> int:
        wait_for(lambda: mid in self.pubacks, 15, f"PUBACK of mid {mid}")
        return self.pubacks[mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _run_collector(collector: Collector) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=collector.run, args=(stop,), name="secure-collector")
    thread.start()
    return stop, thread


# -- generating credentials ---------------------------------------------------------------------


def test_credentials_and_acl_come_from_the_registry_and_passwords_survive_a_rerun(tmp_path, example_site):
    folder = tmp_path / "mqtt"
    grants = write_broker_files(example_site, folder)
    users = read_credentials(folder)
    assert set(users) == {COLLECTOR_USER} | {gateway_user(b.code) for b in example_site.buildings}
    assert {g.user: g.publish for g in grants}[gateway_user(A001)] == (f"facmon/{A001}/#",)
    for name in ("credentials.json", "passwd", "acl"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    acl = (folder / "acl").read_text()
    assert f"user {gateway_user(A001)}\ntopic write facmon/{A001}/#\n" in acl
    assert f"user {COLLECTOR_USER}\ntopic read facmon/#\n" in acl
    statements = [line for line in acl.splitlines() if line and not line.startswith("#")]
    assert statements[0].startswith("user ")  # nothing granted to anonymous clients
    sections: dict[str, list[tuple[str, str]]] = {}
    for statement in statements:
        words = statement.split(" ", 2)
        if words[0] == "user":
            current = sections.setdefault(words[1], [])
        else:
            current.append((words[1], words[2]))
    device_topics = {(d.topic, d.building) for d in getattr(example_site.mqtt, "decoders", None) or []}
    for building in example_site.buildings:
        entries = sections.pop(gateway_user(building.code))
        assert ("write", f"facmon/{building.code}/#") in entries
        for access, topic in entries:  # a gateway only writes, and only its own building's topics
            assert access == "write" and (topic.startswith(f"facmon/{building.code}/") or (topic, building.code) in device_topics), topic
    assert set(sections) == {COLLECTOR_USER} and {access for access, _ in sections[COLLECTOR_USER]} == {"read"}
    passwd = (folder / "passwd").read_text()
    for user, entry in users.items():
        assert f"{user}:$7$" in passwd  # PBKDF2-SHA512 hash made by mosquitto_passwd
        assert entry["password"] not in passwd and entry["password"] not in acl

    write_broker_files(example_site, folder)
    assert read_credentials(folder) == users  # rerun keeps the passwords gateways are configured with
    write_broker_files(example_site, folder, rotate=True)
    rotated = read_credentials(folder)
    assert all(rotated[user]["password"] != users[user]["password"] for user in users)


def test_cli_prints_users_and_topics_but_never_a_password(tmp_path):
    env = _clean_env(FACMON_HOME=str(tmp_path / "home"))
    done = subprocess.run([FACMON, "mqtt", "credentials", "--format", "json"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert {u["user"]: u["publish"] for u in body["users"]}[gateway_user(A001)] == [f"facmon/{A001}/#"]
    table = subprocess.run(
        [FACMON, "mqtt", "credentials", "--out", str(tmp_path / "elsewhere")], env=env, capture_output=True, text=True, timeout=60
    )
    assert table.returncode == 0, table.stderr
    assert gateway_user(A001) in table.stdout and (tmp_path / "elsewhere" / "acl").exists()
    for folder in (tmp_path / "home" / "mqtt", tmp_path / "elsewhere"):
        for entry in read_credentials(folder).values():
            assert entry["password"] not in done.stdout + done.stderr + table.stdout + table.stderr


# -- the broker's ACL ---------------------------------------------------------------------------


def test_anonymous_clients_and_wrong_passwords_are_refused(secure_stack):
    status = secure_stack.status()["services"]["mosquitto"]
    assert status["auth"] and not status["tls"]
    anonymous = Client(secure_stack, MqttAuth())
    wrong = Client(secure_stack, MqttAuth(gateway_user(A001), "not-the-password"))
    try:
        for client in (anonymous, wrong):
            assert client.answered.wait(15)
            assert client.connack in (NOT_AUTHORIZED, BAD_LOGIN) and not client.connected.is_set()
    finally:
        anonymous.close()
        wrong.close()


def test_a_gateway_publishing_into_another_buildings_prefix_is_refused_and_never_delivered(secure_stack, example_site):
    store = _fresh_store(secure_stack)
    collector = Collector(
        example_site,
        store,
        mqtt_host=secure_stack.host,
        mqtt_port=secure_stack.mqtt_port,
        client_id=f"sec-{uuid.uuid4().hex[:8]}",
        flush_interval_s=0.2,
        stats_interval_s=60,
        auth=mqtt_auth(secure_stack.home),
    )
    spy = Client(secure_stack, mqtt_auth(secure_stack.home)).wait_connected()  # the collector's user sees everything
    nosy = Client(secure_stack, mqtt_auth(secure_stack.home, user=gateway_user(A002))).wait_connected()
    gateway = Client(secure_stack, mqtt_auth(secure_stack.home, user=gateway_user(A001))).wait_connected()
    stop, thread = _run_collector(collector)
    try:
        assert collector.connected.wait(15)
        spy.subscribe("facmon/#", "$share/spies/facmon/#")
        # Mosquitto 2.0 grants the SUBACK and checks read access per delivered message instead
        nosy.subscribe("facmon/#")

        foreign = gateway.publish(f"facmon/{A002}/WX-ROOF", {"ts": TS, "temperature": 31.0})
        # a device convention's topic the registry gives to another building is just as foreign
        other_devices = [d.topic for d in getattr(example_site.mqtt, "decoders", None) or [] if d.building != A001]
        foreign_devices = [gateway.publish(topic.replace("+", "x").replace("#", "x"), {"ts": TS}) for topic in other_devices]
        own = gateway.publish(f"facmon/{A001}/WX-ROOF", {"ts": TS, "temperature": 21.5})
        assert gateway.puback(foreign) == NOT_AUTHORIZED
        assert [gateway.puback(mid) for mid in foreign_devices] == [NOT_AUTHORIZED] * len(other_devices)
        assert gateway.puback(own) == 0

        rows = wait_for(lambda: store.rows('SELECT "temperature" FROM "weather" GROUP BY "building"'), 15, "the gateway's own reading")
        assert [(r["building"], r["temperature"]) for r in rows] == [(A001, 21.5)]
        # the broker delivers in order: the own reading arrived, so the refused one would have been before it
        wait_for(lambda: len(spy.messages) == 2, 10, "the spy's plain and shared copies")
        assert spy.messages == [f"facmon/{A001}/WX-ROOF"] * 2
        assert nosy.messages == []  # a gateway reads nothing, not even its neighbour's own-prefix reading
        assert collector.counters.received == 1
    finally:
        stop.set()
        thread.join(60)
        for client in (spy, nosy, gateway):
            client.close()
        store.close()


def test_a_device_not_registered_under_the_topics_building_is_rejected_under_auth(secure_stack, example_site):
    store = _fresh_store(secure_stack)
    collector = Collector(
        example_site,
        store,
        mqtt_host=secure_stack.host,
        mqtt_port=secure_stack.mqtt_port,
        client_id=f"sec-{uuid.uuid4().hex[:8]}",
        flush_interval_s=0.2,
        stats_interval_s=60,
        auth=mqtt_auth(secure_stack.home),
    )
    gateway = Client(secure_stack, mqtt_auth(secure_stack.home, user=gateway_user(A001))).wait_connected()
    a003_only = "E-LS-1-2F"  # a meter of 341122A003, not of 341122A001
    assert example_site.building(A001) and all(m.id != a003_only for m in example_site.building(A001).meters)
    stop, thread = _run_collector(collector)
    try:
        assert collector.connected.wait(15)
        # allowed by the ACL (own prefix), refused by validation against the registry
        assert gateway.puback(gateway.publish(f"facmon/{A001}/{a003_only}", {"ts": TS, "register": 10.0})) == 0
        batch = {
            "readings": [{"device": a003_only, "ts": TS + 300, "register": 11.0}, {"device": "WX-ROOF", "ts": TS, "temperature": 20.0}]
        }
        assert gateway.puback(gateway.publish(f"facmon/{A001}/_batch", batch)) == 0
        rejected = wait_for(
            lambda: len(store.rows("SELECT * FROM ingest_rejected")) >= 2 and store.rows("SELECT * FROM ingest_rejected"), 15, "rejections"
        )
        assert {(r["reason"], r["building"]) for r in rejected} == {("unknown_device", A001)}
        assert store.rows('SELECT count("register") FROM "meter"') == []
        assert [r["building"] for r in store.rows('SELECT "temperature" FROM "weather" GROUP BY "building"')] == [A001]
    finally:
        stop.set()
        thread.join(60)
        gateway.close()
        store.close()


def test_restarting_the_broker_keeps_authentication_on(secure_stack):
    assert secure_stack.stop_service("mosquitto")
    status = secure_stack.up(work_orders=False)["services"]["mosquitto"]  # no flag: as it was started
    assert status["running"] and status["auth"]
    assert "allow_anonymous false" in (secure_stack.home / "mosquitto" / "mosquitto.conf").read_text()
    anonymous = Client(secure_stack, MqttAuth())
    try:
        assert anonymous.answered.wait(15) and not anonymous.connected.is_set()
    finally:
        anonymous.close()


# -- TLS ----------------------------------------------------------------------------------------


def test_over_tls_the_simulator_publishes_as_each_gateway_and_the_collector_stores_it_all(tls_stack, example_site, caplog):
    status = tls_stack.status()["services"]["mosquitto"]
    assert status["auth"] and status["tls"] and status["url"].startswith("mqtts://")
    plain = Client(tls_stack, MqttAuth(COLLECTOR_USER, _password(tls_stack, COLLECTOR_USER)))  # right login, no TLS
    try:
        time.sleep(1.5)
        assert not plain.connected.is_set()
    finally:
        plain.close()

    # the broker's certificate is verified: another CA (here a fresh one of a second folder) is not trusted
    from facmon.broker_auth import ensure_tls_files

    stranger_ca = ensure_tls_files(tls_stack.home / "stranger-ca", tls_stack.host)["ca"]
    with pytest.raises(PublishError, match=f"TLS with the MQTT broker .*CA file {stranger_ca}.*CERTIFICATE_VERIFY_FAILED"):
        publish(
            SiteSimulator(example_site),
            tls_stack.host,
            tls_stack.mqtt_port,
            _ts_datetime(),
            1.0,
            60,
            topic_prefix="facmon",
            auth=MqttAuth(gateway_user(A001), _password(tls_stack, gateway_user(A001)), stranger_ca),
        )
    # the command says what to check, not "is the stack running?"
    env = _clean_env(FACMON_HOME=str(tls_stack.home), FACMON_MQTT_TLS_CA=str(stranger_ca))
    refused = subprocess.run([FACMON, "simulate", "--duration", "1"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "FACMON_MQTT_TLS_CA" in refused.stderr and "stack running" not in refused.stderr, refused.stderr
    # a collector keeps retrying, and says why as an error naming the CA file
    distrustful = Collector(
        example_site,
        _fresh_store(tls_stack),
        mqtt_host=tls_stack.host,
        mqtt_port=tls_stack.mqtt_port,
        client_id=f"sec-{uuid.uuid4().hex[:8]}",
        auth=MqttAuth(COLLECTOR_USER, _password(tls_stack, COLLECTOR_USER), stranger_ca),
    )
    with caplog.at_level(logging.ERROR, logger="facmon"):
        stop, thread = _run_collector(distrustful)
        try:
            wait_for(
                lambda: any("does not verify against CA file" in r.getMessage() for r in caplog.records), 15, "the certificate error logged"
            )
            assert not distrustful.connected.is_set()
        finally:
            stop.set()
            thread.join(60)
    assert any(str(stranger_ca) in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)

    store = _fresh_store(tls_stack)
    login = mqtt_auth(tls_stack.home)
    assert login.tls_ca and login.username == COLLECTOR_USER
    logins = simulator_auth(example_site, tls_stack.home)
    assert isinstance(logins, dict) and logins[A001].username == gateway_user(A001) and logins[A001].tls_ca
    collector = Collector(
        example_site,
        store,
        mqtt_host=tls_stack.host,
        mqtt_port=tls_stack.mqtt_port,
        client_id=f"sec-{uuid.uuid4().hex[:8]}",
        flush_interval_s=0.2,
        stats_interval_s=60,
        auth=login,
    )
    stop, thread = _run_collector(collector)
    try:
        assert collector.connected.wait(15)
        published = publish(
            SiteSimulator(example_site, seed=5),
            tls_stack.host,
            tls_stack.mqtt_port,
            _ts_datetime(),
            2.0,
            3600,
            topic_prefix="facmon",
            gateway_batches=True,
            auth=logins,
        )
        assert {building for _, building in published} == {b.code for b in example_site.buildings}
        total = sum(published.values())
        wait_for(lambda: collector.counters.written == total, 30, f"{total} readings stored")
        assert collector.counters.rejected_total == 0
    finally:
        stop.set()
        thread.join(60)
        store.close()


def _ts_datetime() -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(TS, UTC)


# -- secrets stay out of logs -------------------------------------------------------------------


def _secret_env(stack: Stack, database: str, **extra: str) -> dict[str, str]:
    return _clean_env(FACMON_HOME=str(stack.home), FACMON_INFLUX_DATABASE=database, **extra)


def _wait_text(path: Path, needle: str, timeout_s: float = 30.0) -> str:
    return wait_for(lambda: needle in path.read_text() and path.read_text(), timeout_s, f"{needle!r} in {path.name}")


def test_secrets_from_the_environment_never_appear_in_the_commands_output(secure_stack, tmp_path):
    influx_marker = f"influx-secret-{uuid.uuid4().hex}"
    mqtt_password = _password(secure_stack, COLLECTOR_USER)
    store = _fresh_store(secure_stack)
    outputs: list[str] = []

    # 1. a normal run: InfluxDB credentials and the collector's MQTT login from the environment
    env = _secret_env(
        secure_stack,
        store.database,
        FACMON_INFLUX_USERNAME="facmon",
        FACMON_INFLUX_PASSWORD=influx_marker,
        FACMON_MQTT_USERNAME=COLLECTOR_USER,
        FACMON_MQTT_PASSWORD=mqtt_password,
    )
    log = tmp_path / "ingest.log"
    with open(log, "w") as sink:
        ingest = subprocess.Popen(
            [FACMON, "ingest", "--client-id", f"sec-{uuid.uuid4().hex[:8]}", "--flush-interval", "0.2"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_text(log, "subscribed to")
        gateway = Client(secure_stack, mqtt_auth(secure_stack.home, user=gateway_user(A001))).wait_connected()
        gateway.puback(gateway.publish(f"facmon/{A001}/WX-ROOF", {"ts": TS, "temperature": 22.0}))
        gateway.close()
        wait_for(lambda: store.rows('SELECT "temperature" FROM "weather"'), 15, "the reading stored")
    finally:
        ingest.send_signal(signal.SIGTERM)
        assert ingest.wait(60) == 0
    outputs.append(log.read_text())

    # 2. the broker refuses the login: the message names the user, never the password
    wrong_marker = f"mqtt-secret-{uuid.uuid4().hex}"
    env = _secret_env(
        secure_stack,
        store.database,
        FACMON_INFLUX_PASSWORD=influx_marker,
        FACMON_INFLUX_USERNAME="facmon",
        FACMON_MQTT_USERNAME=COLLECTOR_USER,
        FACMON_MQTT_PASSWORD=wrong_marker,
    )
    log = tmp_path / "refused.log"
    with open(log, "w") as sink:
        ingest = subprocess.Popen([FACMON, "ingest"], env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        text = _wait_text(log, "refused the connection")
        assert f"user {COLLECTOR_USER}" in text
    finally:
        ingest.send_signal(signal.SIGTERM)
        ingest.wait(60)
    outputs.append(log.read_text())
    simulate = subprocess.run([FACMON, "simulate", "--duration", "1"], env=env, capture_output=True, text=True, timeout=60)
    assert simulate.returncode == 2 and "refused the connection" in simulate.stderr
    outputs.append(simulate.stdout + simulate.stderr)

    # 3. InfluxDB cannot be reached
    env = _secret_env(
        secure_stack,
        store.database,
        FACMON_INFLUX_URL=f"http://127.0.0.1:{free_port()}",
        FACMON_INFLUX_USERNAME="facmon",
        FACMON_INFLUX_PASSWORD=influx_marker,
    )
    log = tmp_path / "ingest-unreachable.log"
    with open(log, "w") as sink:  # a collector starts anyway and spools
        ingest = subprocess.Popen(
            [FACMON, "ingest", "--client-id", f"sec-{uuid.uuid4().hex[:8]}"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        text = _wait_text(log, "starting anyway")
        assert "cannot be reached" in text
    finally:
        ingest.send_signal(signal.SIGTERM)
        assert ingest.wait(60) == 0
    outputs.append(log.read_text())
    unreachable = subprocess.run([FACMON, "simulate", "--backfill", "--days", "0.01"], env=env, capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 2 and "cannot be reached" in unreachable.stderr
    outputs.append(unreachable.stdout + unreachable.stderr)

    # the secret given as a file works the same, and is not printed either
    (tmp_path / "influx-password").write_text(influx_marker + "\n")
    env = _secret_env(
        secure_stack,
        store.database,
        FACMON_INFLUX_URL=f"http://127.0.0.1:{free_port()}",
        FACMON_INFLUX_USERNAME="facmon",
        FACMON_INFLUX_PASSWORD_FILE=str(tmp_path / "influx-password"),
    )
    from_file = subprocess.run([FACMON, "simulate", "--backfill", "--days", "0.01"], env=env, capture_output=True, text=True, timeout=60)
    assert from_file.returncode == 2
    outputs.append(from_file.stdout + from_file.stderr)

    for text in outputs:
        for secret in (influx_marker, mqtt_password, wrong_marker):
            assert secret not in text
    store.close()


def test_secrets_never_appear_in_captured_log_records(secure_stack, example_site, caplog):
    marker = f"secret-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    unreachable = InfluxStore(f"http://127.0.0.1:{free_port()}", "facmon", username="facmon", password=marker)
    assert marker not in repr(unreachable) and marker not in repr(MqttAuth("u", marker))
    with pytest.raises(StoreUnavailable) as caught:
        unreachable.write(["weather,building=B temperature=1.0 1"])
    assert marker not in str(caught.value)

    # a collector whose login is refused and whose database is unreachable: both problems are logged
    collector = Collector(
        example_site,
        unreachable,
        mqtt_host=secure_stack.host,
        mqtt_port=secure_stack.mqtt_port,
        client_id=f"sec-{uuid.uuid4().hex[:8]}",
        stats_interval_s=0.2,
        shutdown_timeout_s=1,
        auth=MqttAuth(COLLECTOR_USER, marker),
    )
    stop, thread = _run_collector(collector)
    try:
        wait_for(lambda: "refused the connection" in caplog.text and "cannot write ingest_stats" in caplog.text, 20, "both failures logged")
    finally:
        stop.set()
        thread.join(60)
    with pytest.raises(PublishError) as refused:
        publish(
            SiteSimulator(example_site),
            secure_stack.host,
            secure_stack.mqtt_port,
            _ts_datetime(),
            1.0,
            60,
            topic_prefix="facmon",
            auth=MqttAuth(gateway_user(A001), marker),
        )
    assert marker not in str(refused.value) and gateway_user(A001) in str(refused.value)
    assert marker not in caplog.text
    assert all(marker not in str(record.args) for record in caplog.records)


def test_an_mqtt_password_without_a_username_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("FACMON_MQTT_PASSWORD", "x-secret-x")
    with pytest.raises(FacmonError, match="FACMON_MQTT_USERNAME is not") as caught:
        mqtt_auth(tmp_path)
    assert "x-secret-x" not in str(caught.value)


def test_cli_stack_up_auth_generates_missing_credentials_and_no_auth_turns_it_off(tmp_path):
    env = _clean_env(FACMON_HOME=str(tmp_path))
    ports = ["--mqtt-port", str(free_port()), "--influx-port", str(free_port()), "--influx-rpc-port", str(free_port())]
    up = subprocess.run([FACMON, "stack", "up", "--auth", *ports, "--format", "json"], env=env, capture_output=True, text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stderr
        assert json.loads(up.stdout)["services"]["mosquitto"]["auth"] is True
        stack = Stack(tmp_path)
        assert COLLECTOR_USER in read_credentials(stack.mqtt_auth_folder)
        table = subprocess.run([FACMON, "stack", "status"], env=env, capture_output=True, text=True, timeout=60)
        assert "auth on" in table.stdout
        anonymous = Client(stack, MqttAuth())
        assert anonymous.answered.wait(15) and not anonymous.connected.is_set()
        anonymous.close()

        off = subprocess.run([FACMON, "stack", "up", "--no-auth", "--format", "json"], env=env, capture_output=True, text=True, timeout=120)
        assert off.returncode == 0, off.stderr
        assert json.loads(off.stdout)["services"]["mosquitto"]["auth"] is False
        anonymous = Client(stack, MqttAuth())
        anonymous.wait_connected()
        anonymous.close()
    finally:
        subprocess.run([FACMON, "stack", "down"], env=env, capture_output=True, text=True, timeout=60)
