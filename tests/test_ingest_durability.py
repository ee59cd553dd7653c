"""Durability of the collector: the on-disk spool, and what happens when InfluxDB, the collector or
the broker goes away mid-stream. Every scenario ends with published == stored.

The restart scenarios stop servers, so they run on a stack of their own (module scoped), never on
the session's.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facmon.ingest.spool import Spool, SpoolError, SpoolFull
from facmon.registry import Site
from facmon.simulators import SiteSimulator, publish
from facmon.stack import Stack, free_port
from facmon.store import InfluxStore, line
from tests.clock import Calendar, reading_ts
from tests.conftest import EXAMPLE_SITE
from tests.ingest_process import IngestProcess
from tests.stored_counts import stored
from tests.test_ingest import A004, FACMON, TS, publish_readings, publisher, purge_session, running, series_counts, wait_for  # noqa: F401 - publisher is a fixture

SPEED = 300.0  # simulated seconds per wall second: about 130 readings a second from the example site


# -- the spool on its own ----------------------------------------------------------------------------


def batch(n: int, size: int = 3) -> list[str]:
    return [f"meter,meter=M{n} register={float(i)} {TS + i}000000000" for i in range(size)]


def drain(spool: Spool) -> list[list[str]]:
    out = []
    while (record := spool.peek()) is not None:
        out.append(record.lines)
        spool.pop(record)
    return out


def test_the_spool_replays_in_order_after_a_restart_and_deletes_what_was_replayed(tmp_path):
    spool = Spool(tmp_path, 10_000_000, segment_bytes=300)  # small segments: several files
    spool.open()
    for n in range(6):
        spool.append(batch(n), 3)
    assert spool.readings == 18 and spool.batches == 6
    assert len(list(tmp_path.glob("*.seg"))) > 1
    first = spool.peek()
    spool.pop(first)  # replayed before the "crash"
    spool.close()

    again = Spool(tmp_path, 10_000_000, segment_bytes=300)
    again.open()
    assert again.readings == 15
    again.append(batch(6), 3)  # new batches go behind the old ones
    assert drain(again) == [batch(n) for n in range(1, 7)]
    assert not again and again.bytes == 0
    assert list(tmp_path.glob("*.seg")) == []


def test_a_torn_write_and_a_damaged_record_are_skipped_loudly(tmp_path, caplog):
    spool = Spool(tmp_path, 10_000_000)
    spool.open()
    for n in range(3):
        spool.append(batch(n), 3)
    spool.close()
    (segment,) = tmp_path.glob("*.seg")
    data = bytearray(segment.read_bytes())
    record = len(data) // 3
    data[record + 30] ^= 0xFF  # a flipped bit in the second record's payload
    segment.write_bytes(bytes(data) + data[:10])  # and a torn append: only part of a header

    caplog.set_level(logging.ERROR, logger="facmon.ingest.spool")
    reopened = Spool(tmp_path, 10_000_000)
    reopened.open()
    assert drain(reopened) == [batch(0), batch(2)]
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("damaged record" in m for m in messages), messages
    assert any("torn write" in m for m in messages), messages
    assert reopened.skipped_bytes == record + 10


def test_a_full_or_unusable_spool_refuses_the_batch_and_keeps_nothing_of_it(tmp_path):
    spool = Spool(tmp_path / "spool", 400)
    spool.append(batch(0), 3)
    with pytest.raises(SpoolFull):
        spool.append(batch(1, size=10), 10)
    assert spool.batches == 1
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(SpoolError, match="cannot be used"):
        Spool(blocker / "spool", 400).append(batch(0), 3)


# -- the spool in the collector (session stack: nothing is stopped) -----------------------------------


def test_a_full_spool_stops_acknowledging_and_the_broker_keeps_the_backlog(stack, store, example_site, publisher, tmp_path, caplog):
    client_id = f"test-full-{uuid.uuid4().hex[:8]}"
    spool_dir = tmp_path / "spool"
    down = InfluxStore(f"http://{stack.host}:{free_port()}", store.database, timeout_s=2)
    caplog.set_level(logging.INFO, logger="facmon.ingest")
    try:
        with running(
            example_site, down, stack, client_id, spool_dir=spool_dir, spool_max_bytes=20_000, batch_lines=20, shutdown_timeout_s=1.0
        ) as collector:
            published = publish_readings(publisher, example_site, A004, 0, 12)
            wait_for(lambda: collector.counters.spool_full, 30, "the spool to fill up")
            held = collector.counters
            assert 0 < held.acked < published  # what the spool took is acknowledged, the rest is not
            assert held.spooled > 0 and 0 < held.spool_bytes <= 20_000
            assert "spool_full=1.0" in collector.stats_line() and "spool_bytes=" in collector.stats_line()
        assert any(
            "spool full" in r.getMessage() and "the broker holds the backlog" in r.getMessage()
            for r in caplog.records
            if r.levelno == logging.ERROR
        )
        assert collector.counters.unflushed > 0

        # InfluxDB is back: the spool is replayed and the broker redelivers the rest; nothing is missing.
        with running(example_site, store, stack, client_id, spool_dir=spool_dir) as collector:
            wait_for(lambda: sum(series_counts(store).values()) == published, 60, "every reading stored")
            wait_for(lambda: collector.counters.spooled == 0, 30, "the spool drained")
        assert list(spool_dir.glob("*.seg")) == []
    finally:
        purge_session(stack, client_id)


def test_an_unusable_spool_folder_is_an_error_not_a_crash_and_nothing_is_acknowledged(
    stack, store, example_site, publisher, tmp_path, caplog
):
    client_id = f"test-nospool-{uuid.uuid4().hex[:8]}"
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    down = InfluxStore(f"http://{stack.host}:{free_port()}", store.database, timeout_s=2)
    caplog.set_level(logging.INFO, logger="facmon.ingest")
    try:
        with running(example_site, down, stack, client_id, spool_dir=blocker / "spool", shutdown_timeout_s=1.0) as collector:
            published = publish_readings(publisher, example_site, A004, 0, 1)
            wait_for(lambda: collector.counters.spool_full and collector.counters.received == published, 30, "the spool to refuse")
            assert collector.counters.acked == 0
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert any("cannot be used" in m and "not acknowledging, the broker holds the backlog" in m for m in errors), errors
        assert collector.counters.unflushed == published
    finally:
        purge_session(stack, client_id)


def test_a_spooled_point_influxdb_refuses_on_replay_is_rejected_and_the_rest_is_stored(
    stack, store, example_site, tmp_path, calendar: Calendar
):
    from facmon.ingest import Collector

    ts = reading_ts(time.time())
    tags = {"building": A004, "meter": "E-IT", "energy": "01", "subitem": "01D10"}
    store.write([line("meter", tags, {"register": "broken"}, (ts - 60) * 10**9)])  # makes a float register a type conflict
    collector = Collector(example_site, store, mqtt_host=stack.host, mqtt_port=stack.mqtt_port, client_id="unused", spool_dir=tmp_path)
    good = [line("ieq", {"building": A004, "sensor": f"IEQ-{n}F", "zone": "z"}, {"temperature": 20.0 + n}, ts * 10**9) for n in range(1, 4)]
    bad = line("meter", tags, {"register": 5.0}, ts * 10**9)
    assert collector.spool is not None
    collector.spool.append([good[0], bad, *good[1:]], 4)
    collector._refresh_spool_counters()
    assert collector.counters.spooled == 4

    collector._replay()
    counters = collector.counters
    assert counters.written == 3 and counters.rejected == {"store_rejected": 1} and counters.spooled == 0
    assert sorted(row["temperature"] for row in store.rows("SELECT temperature FROM ieq")) == [21.0, 22.0, 23.0]
    (rejection,) = store.rows("SELECT * FROM ingest_rejected")
    assert rejection["reason"] == "store_rejected" and rejection["building"] == A004
    assert "E-IT" in rejection["detail"] and "conflict" in rejection["detail"]
    assert list(tmp_path.glob("*.seg")) == []
    assert "rejected_store_rejected=1.0" in collector.stats_line()


# -- restarts mid-stream (a stack of their own) --------------------------------------------------------


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("facmon-restarts")
    running_stack = Stack(home, mqtt_port=free_port(), influx_port=free_port(), influx_rpc_port=free_port())
    running_stack.up(work_orders=False)
    yield running_stack
    running_stack.down()


@pytest.fixture
def own_store(own_stack: Stack) -> Iterator[InfluxStore]:
    database = f"test_{uuid.uuid4().hex[:12]}"
    fresh = InfluxStore(own_stack.influx_url, database, timeout_s=5)
    fresh.create_database()
    yield fresh
    own_stack.up(work_orders=False)  # a failed test may have left a server stopped
    fresh.query(f'DROP DATABASE "{database}"', method="POST")
    fresh.close()


class Stream:
    """The simulator publishing the example site live in a thread; ``join`` returns what the broker
    acknowledged per (measurement, building). paho reconnects it with backoff if the broker restarts."""

    def __init__(self, stack: Stack, site: Site, duration_s: float):
        start = (datetime.now(UTC) - timedelta(hours=5)).replace(microsecond=0)
        start -= timedelta(seconds=start.timestamp() % 300)
        self.result: Counter | None = None
        self.error: BaseException | None = None
        simulator = SiteSimulator(site, seed=3)

        def target() -> None:
            try:
                self.result = publish(simulator, stack.host, stack.mqtt_port, start, duration_s, SPEED, topic_prefix=site.mqtt.topic_prefix)
            except BaseException as exc:  # noqa: BLE001 - reported by join()
                self.error = exc

        self.thread = threading.Thread(target=target, name="stream", daemon=True)
        self.thread.start()

    def join(self, timeout_s: float = 120) -> Counter:
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the publisher did not finish"
        if self.error is not None:
            raise self.error
        assert self.result
        return self.result


def wait_stored(store: InfluxStore, published: Counter, timeout_s: float = 90) -> Counter:
    deadline = time.monotonic() + timeout_s
    counts = stored(store)
    while counts != published and time.monotonic() < deadline:
        time.sleep(0.5)
        counts = stored(store)
    return counts


def test_influxdb_stopped_for_30_s_mid_stream_loses_nothing(own_stack, own_store, example_site, tmp_path):
    client_id = f"test-outage-{uuid.uuid4().hex[:8]}"
    spool_dir = tmp_path / "spool"
    try:
        with running(example_site, own_store, own_stack, client_id, spool_dir=spool_dir) as collector:
            stream = Stream(own_stack, example_site, duration_s=45)
            wait_for(lambda: collector.counters.written > 100, 30, "readings stored before the outage")
            assert own_stack.stop_service("influxdb")
            stopped_at = time.monotonic()
            wait_for(lambda: collector.counters.spooled > 0, 30, "batches spooled")
            acked = collector.counters.acked
            time.sleep(max(0.0, stopped_at + 30 - time.monotonic()))
            during = collector.counters
            assert during.acked > acked, "spooled batches are acknowledged: the broker does not have to hold them"
            assert during.spooled > 0 and during.spool_bytes > 0 and not during.spool_full
            assert list(spool_dir.glob("*.seg"))
            own_stack.up(work_orders=False)
            published = stream.join()
            assert wait_stored(own_store, published) == published
            wait_for(lambda: collector.counters.spooled == 0, 30, "the spool drained")
        assert list(spool_dir.glob("*.seg")) == []
        assert collector.counters.written == sum(published.values())
    finally:
        purge_session(own_stack, client_id)


def ingest_process(stack: Stack, store: InfluxStore, client_id: str) -> IngestProcess:
    """`facmon ingest` against the own stack and the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
    env |= {"FACMON_HOME": str(stack.home), "FACMON_INFLUX_DATABASE": store.database, "FACMON_SITE": str(EXAMPLE_SITE)}
    return IngestProcess(env, "--client-id", client_id, "--stats-interval", "1", "--flush-interval", "0.2")


def test_a_collector_killed_with_sigkill_mid_stream_loses_nothing_and_replays_its_spool(own_stack, own_store, example_site):
    client_id = f"test-kill-{uuid.uuid4().hex[:8]}"
    spool_dir = Path(own_stack.home) / "spool" / client_id
    first = second = None
    try:
        first = ingest_process(own_stack, own_store, client_id)
        first.wait_subscribed()
        stream = Stream(own_stack, example_site, duration_s=25)
        wait_for(lambda: sum(stored(own_store).values()) > 100, 30, "readings stored before the kill")
        # Kill it while it holds spooled batches and unacknowledged messages.
        own_stack.stop_service("influxdb")
        wait_for(lambda: list(spool_dir.glob("*.seg")), 30, "batches spooled")
        time.sleep(1.0)
        first.kill()
        own_stack.up(work_orders=False)
        time.sleep(1.0)  # the stream goes on while no collector runs: the broker queues it in the session
        second = ingest_process(own_stack, own_store, client_id)
        second.wait_subscribed()
        published = stream.join()
        assert wait_stored(own_store, published) == published, "".join(second.log)
        wait_for(lambda: not list(spool_dir.glob("*.seg")), 30, "the spool drained")
        assert any("from an earlier run" in entry for entry in second.log), "".join(second.log)
        assert second.terminate() == 0, "".join(second.log)
    finally:
        for process in (first, second):
            if process is not None and process.process.poll() is None:
                process.kill()
        purge_session(own_stack, client_id)


def test_a_collector_started_while_influxdb_is_down_spools_and_creates_its_database_when_it_answers(own_stack, own_store, example_site):
    client_id = f"test-cold-{uuid.uuid4().hex[:8]}"
    spool_dir = Path(own_stack.home) / "spool" / client_id
    collector = None
    try:
        own_store.query(f'DROP DATABASE "{own_store.database}"', method="POST")
        assert own_stack.stop_service("influxdb")
        collector = ingest_process(own_stack, own_store, client_id)
        collector.wait_subscribed()
        assert any("starting anyway, spooling to" in entry for entry in collector.log), "".join(collector.log)
        stream = Stream(own_stack, example_site, duration_s=15)
        wait_for(lambda: list(spool_dir.glob("*.seg")), 30, "batches spooled while InfluxDB is down")
        time.sleep(3.0)
        own_stack.up(work_orders=False)
        published = stream.join()
        assert wait_stored(own_store, published) == published, "".join(collector.log)
        wait_for(lambda: not list(spool_dir.glob("*.seg")), 30, "the spool drained")
        assert any(f"had no database {own_store.database!r}: created it" in entry for entry in collector.log), "".join(collector.log)
        assert collector.terminate() == 0, "".join(collector.log)
    finally:
        if collector is not None and collector.process.poll() is None:
            collector.kill()
        purge_session(own_stack, client_id)


def test_a_broker_restart_mid_stream_loses_nothing(own_stack, own_store, example_site, tmp_path):
    client_id = f"test-broker-{uuid.uuid4().hex[:8]}"
    try:
        with running(example_site, own_store, own_stack, client_id, spool_dir=tmp_path / "spool") as collector:
            stream = Stream(own_stack, example_site, duration_s=25)
            wait_for(lambda: collector.counters.written > 100, 30, "readings stored before the restart")
            assert own_stack.stop_service("mosquitto")
            wait_for(lambda: not collector.connected.is_set(), 10, "the collector to notice")
            time.sleep(2.0)
            own_stack.up(work_orders=False)
            wait_for(collector.connected.is_set, 60, "the collector to reconnect and subscribe")
            published = stream.join()
            assert wait_stored(own_store, published) == published
    finally:
        purge_session(own_stack, client_id)
