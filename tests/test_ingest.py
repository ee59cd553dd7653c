"""The collector against real Mosquitto and InfluxDB: what is published is stored, once, and what is
bad is rejected with a reason; acknowledgements follow storage, across restarts and SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from facmon.ingest import Collector, StoreSink
from facmon.registry import Site
from facmon.schema import FIELD_RANGES, allowed_fields, device_kind
from facmon.stack import Stack, free_port
from facmon.store import InfluxStore, line
from tests.clock import Calendar, reading_ts
from tests.conftest import ROOT

FACMON = str(Path(sys.executable).with_name("facmon"))
# Thursday 00:00 UTC of last week's InfluxDB shard group (tests/clock.py): inside the collector's
# plausibility window (registry collection.max_age_days), TS + 1 day is still in the past, and TS ± 1 day
# share one shard, whatever the date. Tests that take the ``calendar`` fixture compute their own.
TS = reading_ts(time.time())
TS_ISO_CST = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(TS + 8 * 3600))  # the same moment, ISO-8601 at UTC+8
A002, A003, A004 = "341122A002", "341122A003", "341122A004"
# A field every reading of a kind carries in these tests, to count points per series.
COUNT_FIELD = {"meter": "register", "ieq": "temperature", "equipment": "running", "weather": "temperature"}
DEVICE_TAG = {"meter": "meter", "ieq": "sensor", "equipment": "equipment"}


def wait_for(predicate: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def purge_session(stack: Stack, client_id: str) -> None:
    """Delete the broker's session of ``client_id`` (clean start, session expiry 0)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    client.connect(stack.host, stack.mqtt_port, clean_start=True, properties=properties)
    client.loop_start()
    wait_for(client.is_connected, 10, "purge connection")
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def client_id(stack: Stack) -> Iterator[str]:
    """A collector client id of its own; its persistent session is removed from the broker afterwards."""
    name = f"test-ingest-{uuid.uuid4().hex[:8]}"
    yield name
    purge_session(stack, name)


class Publisher:
    """A plain paho client publishing at QoS 1, as a gateway would."""

    def __init__(self, stack: Stack):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(200)
        self.client.connect(stack.host, stack.mqtt_port)
        self.client.loop_start()
        self.infos: list[mqtt.MQTTMessageInfo] = []

    def publish(self, topic: str, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.infos.append(self.client.publish(topic, data, qos=1))

    def wait(self) -> int:
        """Block until the broker acknowledged everything; returns how many messages were published."""
        for info in self.infos:
            info.wait_for_publish(30)
            assert info.rc == mqtt.MQTT_ERR_SUCCESS and info.is_published()
        return len(self.infos)

    def close(self) -> None:
        self.wait()
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(stack: Stack) -> Iterator[Publisher]:
    pub = Publisher(stack)
    yield pub
    pub.close()


@contextmanager
def running(site: Site, store: InfluxStore, stack: Stack, client_id: str, **options: Any) -> Iterator[Collector]:
    """A collector running in a thread, connected and subscribed; stopped (flush, ack, disconnect) on exit."""
    options.setdefault("stats_interval_s", 0.5)
    options.setdefault("flush_interval_s", 0.2)
    collector = Collector(site, store, mqtt_host=stack.host, mqtt_port=stack.mqtt_port, client_id=client_id, **options)
    stop = threading.Event()
    thread = threading.Thread(target=collector.run, args=(stop,), name=f"collector-{client_id}")
    thread.start()
    try:
        wait_for(collector.connected.is_set, 15, "the collector to connect")
        yield collector
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive(), "the collector did not stop"


def good_fields(device: Any, i: int) -> dict[str, float]:
    """In-range values for every field the device reports; the meter register grows with i."""
    kind = device_kind(device)
    fields = {}
    for name in sorted(allowed_fields(device)):
        low, high, _ = FIELD_RANGES[kind][name]
        fields[name] = 1000.0 + i if name == "register" else round(low + (min(high, low + 100) - low) * (0.3 + 0.05 * (i % 10)), 3)
    if "running" in fields:
        fields["running"] = 1.0
    return fields


def series_counts(store: InfluxStore) -> Counter:
    """Points stored per (measurement, building, device)."""
    counts: Counter = Counter()
    for measurement, field in COUNT_FIELD.items():
        for row in store.rows(f'SELECT count("{field}") FROM "{measurement}" GROUP BY *'):
            device = row.get(DEVICE_TAG.get(measurement, ""), "weather")
            counts[(measurement, row["building"], device)] += int(row["count"])
    return counts


def collector_stats(store: InfluxStore, client_id: str) -> list[dict[str, Any]]:
    return store.rows(f"SELECT * FROM ingest_stats WHERE collector = '{client_id}'")


# -- end to end ------------------------------------------------------------------------------------


def test_every_published_reading_is_stored_once_and_bad_input_is_rejected_with_a_reason(stack, store, example_site, client_id, publisher):
    outbox: list[tuple[str, Any]] = []
    expected: Counter = Counter()
    readings = 0
    for code in (A002, A003):
        building = example_site.building(code)
        devices = list(building.all_devices())
        for i in range(3):
            ts = TS + 300 * i
            batch = []
            for n, device in enumerate(devices):
                body = {"ts": ts, **good_fields(device, i)}
                if n % 2:  # half through the gateway batch topic, half on the device's own topic
                    batch.append({"device": device.id, **body})
                else:
                    outbox.append((f"facmon/{code}/{device.id}", body))
                expected[(device_kind(device), code, device.id if device_kind(device) != "weather" else "weather")] += 1
                readings += 1
            outbox.append((f"facmon/{code}/_batch", {"readings": batch}))

    bad = [
        (f"facmon/{A002}/E-MAIN", b"{oops"),  # bad_json
        (f"facmon/{A002}/E-NOPE", {"ts": TS, "register": 1.0}),  # unknown_device
        ("facmon/999999A999/E-MAIN", {"ts": TS, "register": 1.0}),  # unknown_building
        (f"facmon/{A002}", {"ts": TS, "register": 1.0}),  # bad_topic
        (f"facmon/{A002}/E-MAIN", {"register": 1.0}),  # bad_timestamp (missing)
        (f"facmon/{A002}/IEQ-1F", {"ts": TS + 60, "temperature": 22.0, "humidity": 40.0, "co2": -5, "pm25": "n/a"}),  # partly good
    ]
    outbox += bad
    messages = len(outbox)
    expected[("ieq", A002, "IEQ-1F")] += 1
    readings += 1
    expected_reasons = Counter(
        ["bad_json", "unknown_device", "unknown_building", "bad_topic", "bad_timestamp", "out_of_range", "bad_value"]
    )

    with running(example_site, store, stack, client_id) as collector:
        for topic, payload in outbox:
            publisher.publish(topic, payload)
        assert publisher.wait() == messages
        wait_for(lambda: collector.counters.acked == messages, 30, f"{messages} messages stored and acknowledged")
    counters = collector.counters

    assert counters.received == messages
    assert counters.written == readings
    assert counters.rejected == dict(expected_reasons)
    assert counters.write_errors == 0 and counters.unflushed == 0
    assert series_counts(store) == expected  # every series holds exactly what was published for it

    # The meter's raw register is stored times its multiplier (E-MAIN of A003: 400).
    registers = [row["register"] for row in store.rows(f"SELECT register FROM meter WHERE building = '{A003}' AND meter = 'E-MAIN'")]
    assert registers == [1000.0 * 400, 1001.0 * 400, 1002.0 * 400]
    # The good fields of the partly bad reading are stored, the bad ones are not.
    partial = store.rows(f"SELECT * FROM ieq WHERE building = '{A002}' AND sensor = 'IEQ-1F' AND time = {TS + 60}s")
    assert [(row["temperature"], row["humidity"], row["co2"], row["pm25"]) for row in partial] == [(22.0, 40.0, None, None)]

    rejected = store.rows("SELECT * FROM ingest_rejected")
    assert Counter(row["reason"] for row in rejected) == expected_reasons
    by_reason = {row["reason"]: row for row in rejected}
    assert by_reason["bad_json"]["building"] == A002 and by_reason["bad_json"]["payload"] == "{oops"
    assert by_reason["bad_json"]["topic"] == f"facmon/{A002}/E-MAIN"
    assert "E-NOPE" in by_reason["unknown_device"]["detail"]
    assert by_reason["unknown_building"]["building"] is None  # codes from arbitrary topics never become tag values
    assert "999999A999" in by_reason["unknown_building"]["detail"]
    assert "'co2'" in by_reason["out_of_range"]["detail"] and "'pm25'" in by_reason["bad_value"]["detail"]

    final = collector_stats(store, client_id)[-1]  # written at stop, after the last batch
    assert (final["received"], final["written"], final["rejected"], final["spooled"]) == (messages, readings, len(rejected), 0)
    assert final["lag"] > 0  # readings of two days ago are old


def test_mosquitto_pub_payloads_are_stored_like_python_published_ones(stack, store, example_site, client_id, publisher):
    reading = {"temperature": 24.5, "humidity": 51, "co2": 640, "pm25": 12}
    meter = {"register": 4321.5, "power": 3.25}

    def mosquitto_pub(topic: str, body: dict) -> None:
        subprocess.run(
            ["mosquitto_pub", "-h", stack.host, "-p", str(stack.mqtt_port), "-V", "mqttv5", "-q", "1", "-t", topic, "-m", json.dumps(body)],
            check=True,
            timeout=30,
        )

    with running(example_site, store, stack, client_id) as collector:
        mosquitto_pub(f"facmon/{A004}/IEQ-2F", {"ts": TS, **reading})
        mosquitto_pub(f"facmon/{A004}/_batch", {"readings": [{"device": "E-IT", "ts": TS_ISO_CST, **meter}]})
        publisher.publish(f"facmon/{A004}/IEQ-2F", {"ts": (TS + 300) * 1000, **reading})
        publisher.publish(f"facmon/{A004}/_batch", {"readings": [{"device": "E-IT", "ts": TS + 300, **meter}]})
        publisher.wait()
        wait_for(lambda: collector.counters.acked == 4, 30, "4 messages stored")

    for measurement, where in (("ieq", "sensor = 'IEQ-2F'"), ("meter", "meter = 'E-IT'")):
        rows = store.rows(f"SELECT * FROM {measurement} WHERE building = '{A004}' AND {where}")
        assert [row.pop("time") for row in rows] == [TS, TS + 300]
        by_cli, by_python = rows
        assert by_cli == by_python
    assert store.rows("SELECT register, power FROM meter WHERE meter = 'E-IT'")[0] == {
        "time": TS,
        "register": 4321.5 * 20,
        "power": 3.25 * 20,
    }
    assert collector.counters.rejected == {}


# -- acknowledgements and sessions -----------------------------------------------------------------


def publish_readings(publisher: Publisher, site: Site, code: str, start: int, count: int) -> int:
    """``count`` rounds of one reading per device of a building; returns the number of readings."""
    devices = list(site.building(code).all_devices())
    for i in range(start, start + count):
        for device in devices:
            publisher.publish(f"facmon/{code}/{device.id}", {"ts": TS + 300 * i, **good_fields(device, i)})
    publisher.wait()
    return count * len(devices)


def stored_total(store: InfluxStore) -> int:
    return sum(series_counts(store).values())


def test_a_backlog_arriving_in_one_read_is_written_in_batches_of_at_most_batch_lines(stack, store, example_site, client_id, publisher):
    """A resumed session's backlog comes in a few large socket reads; each write still holds at most
    --batch-lines lines (a write, and a spooled record, stay as small as the operator said)."""
    with running(example_site, store, stack, client_id):
        pass  # creates the persistent session
    backlog = publish_readings(publisher, example_site, A004, 0, 6)
    sizes: list[int] = []

    class Recording(StoreSink):
        def write(self, lines):
            sizes.append(len(lines))
            return super().write(lines)

    with running(example_site, store, stack, client_id, sink=Recording(store), batch_lines=10, flush_interval_s=5.0) as collector:
        wait_for(lambda: collector.counters.written == backlog, 30, "the backlog stored")
    assert backlog > 50 and sum(sizes) == backlog
    assert max(sizes) == 10, sizes


def test_persistent_session_keeps_what_is_published_while_the_collector_is_down(stack, store, example_site, client_id, publisher):
    with running(example_site, store, stack, client_id) as collector:
        first = publish_readings(publisher, example_site, A004, 0, 2)
        wait_for(lambda: collector.counters.written == first, 30, "the first readings stored")

    # Collector down: the broker queues these in the collector's session.
    meanwhile = publish_readings(publisher, example_site, A004, 2, 3)

    with running(example_site, store, stack, client_id) as collector:
        wait_for(lambda: collector.counters.written == meanwhile, 30, "the queued readings stored")
        # A sentinel published now arrives after anything the broker redelivers from the session,
        # so once it is stored we know nothing of the first run came back (its acks reached the broker).
        publisher.publish(f"facmon/{A004}/E-MAIN", {"ts": TS + 86_400, "register": 1.0})
        publisher.wait()
        wait_for(lambda: collector.counters.written == meanwhile + 1, 30, "the sentinel stored")
    assert collector.counters.received == meanwhile + 1
    assert stored_total(store) == first + meanwhile + 1


def test_nothing_is_acknowledged_while_influxdb_is_down_and_the_broker_redelivers_it(stack, store, example_site, client_id, publisher):
    down = InfluxStore(f"http://{stack.host}:{free_port()}", store.database, timeout_s=2)
    with running(example_site, down, stack, client_id, shutdown_timeout_s=1.0) as collector:
        published = publish_readings(publisher, example_site, A004, 0, 2)
        wait_for(lambda: collector.counters.received == published and collector.counters.write_errors >= 2, 30, "failed writes")
        assert collector.counters.written == 0 and collector.counters.acked == 0
    assert collector.counters.unflushed == published  # given up at shutdown, left to the broker

    with running(example_site, store, stack, client_id) as collector:
        wait_for(lambda: collector.counters.written == published, 30, "the redelivered readings stored")
    assert stored_total(store) == published


def test_a_point_influxdb_refuses_is_rejected_and_the_rest_of_the_batch_is_stored(
    stack, store, example_site, client_id, publisher, calendar: Calendar
):
    ts = reading_ts(time.time())
    # A string register in the same shard makes every float register a field type conflict.
    store.write(
        [line("meter", {"building": A004, "meter": "E-IT", "energy": "01", "subitem": "01D10"}, {"register": "broken"}, (ts - 60) * 10**9)]
    )
    body = {
        "readings": [
            {"device": "IEQ-1F", "ts": ts, "temperature": 21.0},
            {"device": "E-MAIN", "ts": ts, "register": 5.0},
            {"device": "IEQ-2F", "ts": ts, "temperature": 22.0},
        ]
    }
    with running(example_site, store, stack, client_id) as collector:
        publisher.publish(f"facmon/{A004}/_batch", body)
        publisher.wait()
        wait_for(lambda: collector.counters.acked == 1, 30, "the batch handled")
    assert collector.counters.written == 2
    assert collector.counters.rejected == {"store_rejected": 1}
    temperatures = store.rows(f"SELECT temperature FROM ieq WHERE building = '{A004}'")
    assert sorted(row["temperature"] for row in temperatures) == [21.0, 22.0]
    (rejection,) = store.rows("SELECT * FROM ingest_rejected")
    assert rejection["reason"] == "store_rejected" and rejection["building"] == A004
    assert "E-MAIN" in rejection["detail"] and "conflict" in rejection["detail"]
    assert rejection["topic"] == f"facmon/{A004}/_batch" and '"E-MAIN"' in rejection["payload"]


def test_store_sink_isolates_refused_lines(store):
    store.write([line("meter", {"meter": "X"}, {"register": "text"}, TS * 10**9)])
    lines = [
        line("meter", {"meter": f"M{i}"}, {"register": float(i)}, TS * 10**9)
        if i % 3
        else line("ieq", {"sensor": f"S{i}"}, {"co2": 400.0}, TS * 10**9)
        for i in range(10)
    ]
    result = StoreSink(store).write(lines)
    refused = [index for index, _ in result.refused]
    assert refused == [1, 2, 4, 5, 7, 8]
    assert all("conflict" in message for _, message in result.refused)
    assert len(store.rows("SELECT co2 FROM ieq")) == 4


# -- the command ------------------------------------------------------------------------------------


def test_facmon_ingest_stores_and_acknowledges_everything_received_on_sigterm(stack, store, stack_env, example_site, client_id, publisher):
    # Flush only at the end: whatever is stored was stored by the SIGTERM path.
    process = subprocess.Popen(
        [FACMON, "ingest", "--client-id", client_id, "--flush-interval", "3600", "--batch-lines", "100000", "--stats-interval", "0.5"],
        env=stack_env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(process.stderr), daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: any("subscribed to facmon/#" in entry for entry in log) or process.poll() is not None, 30, "facmon ingest to connect"
        )
        assert process.poll() is None, "".join(log)
        published = publish_readings(publisher, example_site, A004, 0, 2)
        # ingest_stats tells when the collector holds everything.
        wait_for(
            lambda: any(row["received"] == published for row in collector_stats(store, client_id)), 40, "ingest_stats received == published"
        )
        assert stored_total(store) == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, "".join(log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(5)
    assert stored_total(store) == published
    final = collector_stats(store, client_id)[-1]
    assert (final["received"], final["written"], final["rejected"]) == (published, published, 0)
    assert any("SIGTERM received" in entry for entry in log), "".join(log)

    # Every message was acknowledged before exit: a new run of the same session gets nothing back.
    with running(example_site, store, stack, client_id) as collector:
        publisher.publish(f"facmon/{A004}/E-MAIN", {"ts": TS + 86_400, "register": 1.0})
        publisher.wait()
        wait_for(lambda: collector.counters.written == 1, 30, "the sentinel stored")
    assert collector.counters.received == 1


def test_a_decoder_error_becomes_an_internal_error_rejection_and_the_collector_carries_on(stack, store, example_site, client_id, publisher):
    from facmon.ingest import FacmonJsonDecoder
    from facmon.ingest.model import Decoded

    class Broken:
        name = "broken"
        topic_filters = ("facmon/+/BROKEN",)

        def decode(self, topic: str, payload: bytes) -> Decoded:
            raise RuntimeError("decoder bug")

    decoders = [Broken(), FacmonJsonDecoder("facmon")]
    with running(example_site, store, stack, client_id, decoders=decoders) as collector:
        publisher.publish(f"facmon/{A004}/BROKEN", {"ts": TS, "register": 1.0})
        publisher.publish(f"facmon/{A004}/E-MAIN", {"ts": TS, "register": 1.0})
        publisher.wait()
        wait_for(lambda: collector.counters.acked == 2, 30, "both messages handled")
    assert collector.counters.rejected == {"internal_error": 1} and collector.counters.written == 1
    (rejection,) = store.rows("SELECT * FROM ingest_rejected")
    assert rejection["reason"] == "internal_error" and "decoder bug" in rejection["detail"]
    assert rejection["topic"] == f"facmon/{A004}/BROKEN"
