"""Issue 18, reliability: InfluxDB's disk fills up under a running collector.

A real InfluxDB (Debian's package) whose data and WAL folders sit on a small tmpfs, a real Mosquitto, and
`facmon ingest` as the command runs in production. Readings stream in until the disk is full; then:

- InfluxDB answers every write with HTTP 500 "... no space left on device"; the collector says so once
  (not per batch), keeps acknowledging into its spool and never crashes;
- `facmon ingest status` reports "InfluxDB disk full since ...: N readings ... held in the spool", from the
  collector's local status file (InfluxDB cannot store its ingest_stats now);

then the operator frees space (the tmpfs is enlarged) and restarts InfluxDB, and:

- every published reading is stored exactly once (the count in InfluxDB equals what was published);
- the status returns to ok with an empty spool;
- ``ingest_stats`` shows the disk-full period (the points of that time are written once InfluxDB takes them).

Why the restart: InfluxDB 1.6 keeps answering "no space left on device" for a shard whose WAL write failed,
also after space was freed (its WAL segment writer keeps the first error), until it restarts; on restart it
keeps every point it had acknowledged and drops those it had refused, which the collector still holds.

Mounting a tmpfs needs root; that test is skipped, saying so, when it runs as another user. The tests before it
check the pieces against a stand-in InfluxDB (a loopback HTTP server answering as InfluxDB 1.6 does) and run
anywhere: the classification of its answers, the status file, the collector's once-per-change log and the
statistics it keeps for later, and what `facmon ingest status` makes of a status file.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import facmon.ingest.collector as collector_module
from facmon.cli.ingest import store_problem_lines, with_local_status
from facmon.ingest import Collector
from facmon.ingest.sink import StoreSink
from facmon.ingest.status import CollectorStatus, StoreRefusesWrites, classify, read_statuses, status_path, write_status
from facmon.registry import Site
from facmon.schema import StoreProblem, device_kind
from facmon.stack import Stack, free_port
from facmon.store import InfluxStore, StoreDiskFull, StoreUnavailable, line
from tests.conftest import EXAMPLE_SITE
from tests.ingest_process import FACMON, IngestProcess
from tests.test_ingest import TS, Publisher, good_fields, series_counts, wait_for

# InfluxDB 1.6.7's answer to a write it cannot append to its WAL, as the test at the end sees it (HTTP 500).
DISK_FULL_ANSWER = (
    '{"error":"engine: error writing WAL entry: write /var/lib/influxdb/wal/facmon/autogen/12/_00001.wal: no space left on device"}\n'
)
READING = line("meter", {"building": "341122A004", "meter": "E-IT"}, {"register": 1.0}, TS * 10**9)


class StandIn:
    """A loopback InfluxDB that answers /write with ``status`` and ``body`` (204 when all is well), recording
    each write's lines."""

    def __init__(self, server: HTTPServer):
        self.status, self.body = 204, ""
        self.writes: list[list[str]] = []
        server.expect_request("/write", method="POST").respond_with_handler(self._write)
        self.url = server.url_for("/").rstrip("/")

    def _write(self, request: Request) -> Response:
        self.writes.append(request.get_data(as_text=True).split("\n"))
        return Response(self.body, status=self.status, content_type="application/json")


@pytest.fixture
def stand_in(httpserver: HTTPServer) -> StandIn:
    return StandIn(httpserver)


def test_influxdb_s_answers_are_sorted_into_why_writes_fail(stand_in: StandIn) -> None:
    seen: list[BaseException | None] = []
    sink = StoreSink(InfluxStore(stand_in.url, "facmon", timeout_s=2), observer=seen.append)
    for status, body, expected in (
        (500, DISK_FULL_ANSWER, StoreProblem.DISK_FULL),
        (500, '{"error":"write /var/lib/influxdb/data/facmon/autogen/13/fields.idx.tmp: disk quota exceeded"}', StoreProblem.DISK_FULL),
        (401, '{"error":"authorization failed"}', StoreProblem.REFUSED),
        (403, '{"error":""facmon" user is not authorized to write to database "facmon""}', StoreProblem.REFUSED),
        (503, '{"error":"timeout"}', StoreProblem.SERVER_ERROR),
    ):
        stand_in.status, stand_in.body = status, body
        with pytest.raises(StoreUnavailable):
            sink.write([READING])
        assert classify(seen[-1]) is expected, (status, body)
    assert isinstance(seen[0], StoreDiskFull) and "no space left on device" in str(seen[0]) and "restart InfluxDB" in seen[0].hint
    assert isinstance(seen[2], StoreRefusesWrites) and seen[2].status == 401
    # a refused point is not the store's problem: it answers, and the write counts as taken
    stand_in.status, stand_in.body = 400, '{"error":"partial write: field type conflict: input field "register" is type float"}'
    assert sink.write([READING]).refused and seen[-1] is None
    unreachable = StoreSink(InfluxStore(f"http://127.0.0.1:{free_port()}", "facmon", timeout_s=2), observer=seen.append)
    with pytest.raises(StoreUnavailable):
        unreachable.write([READING])
    assert classify(seen[-1]) is StoreProblem.UNREACHABLE
    assert classify(ValueError("a bug")) is StoreProblem.OTHER


def _status(**changes: object) -> CollectorStatus:
    values: dict = dict(
        collector="ingest/1",
        pid=4242,
        running=True,
        updated_at=1_767_000_010.5,
        influx_url="http://127.0.0.1:8086",
        database="facmon",
        store_error="disk_full",
        store_error_detail="InfluxDB at http://127.0.0.1:8086 has no disk space left (500): ...",
        store_error_since=1_767_000_000.25,
        spooled=12345,
        spool_bytes=1_500_000,
        spool_full=False,
        spool_folder="/var/lib/facmon/spool/ingest-1",
        received=500,
        written=100,
    )
    return CollectorStatus(**{**values, **changes})


def test_the_status_file_is_replaced_whole_and_reads_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = status_path(tmp_path, "ingest/1")
    assert path.parent == tmp_path / "ingest" and path.name == "ingest%2F1.json"  # a client id never leaves the folder
    write_status(path, _status())
    body = json.loads(path.read_text())
    assert body["store_error"] == "disk_full" and body["store_error_since"] == "2025-12-29T09:20:00.250000+00:00"
    write_status(path, _status(store_error="", store_error_since=None, spooled=0))
    (tmp_path / "ingest" / "damaged.json").write_text("{")
    caplog.set_level(logging.WARNING)
    assert read_statuses(tmp_path) == [_status(store_error="", store_error_since=None, spooled=0)]
    assert "damaged.json is not a readable collector status file" in caplog.text
    assert sorted(p.name for p in path.parent.iterdir()) == ["damaged.json", "ingest%2F1.json"]  # no temporary file left
    assert read_statuses(tmp_path / "nothing-here") == []


def test_a_full_disk_is_logged_once_the_batches_spooled_and_the_statistics_written_once_influxdb_takes_them(
    stand_in: StandIn, example_site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="facmon.ingest")
    status_file = status_path(tmp_path, "c1")
    store = InfluxStore(stand_in.url, "facmon", timeout_s=2)
    collector = Collector(example_site, store, mqtt_host="127.0.0.1", mqtt_port=1, client_id="c1", spool_dir=tmp_path / "spool")
    collector.status_file = status_file
    stand_in.status, stand_in.body = 500, DISK_FULL_ANSWER
    for _ in range(3):
        assert collector.sink.write([READING] * 10).spooled == 10  # the first after InfluxDB refused it, then behind it
        collector._replay()  # each attempt to replay asks InfluxDB again
        collector._write_stats()
    collector._refresh_spool_counters()
    counters = collector.counters
    assert counters.store_error == "disk_full" and counters.spooled == 30 and "no space left on device" in counters.store_error_detail
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("InfluxDB disk full: ") and "restart InfluxDB" in errors[0], errors
    status = read_statuses(tmp_path)[0]
    assert (status.store_error, status.spooled) == ("disk_full", 0)  # written when the state changed, before the spool grew
    collector._write_status()
    assert read_statuses(tmp_path)[0].spooled == 30 and read_statuses(tmp_path)[0].store_error_since == pytest.approx(
        counters.store_error_since, abs=1e-5
    )
    kept = list(collector._stats_kept)
    assert len(kept) == 3 and all('store_error="disk_full"' in stats for stats in kept)

    stand_in.status, stand_in.body = 204, ""
    collector._replay()
    counters = collector.counters
    assert counters.store_error == "" and counters.spooled == 0 and counters.written == 30
    assert any(r.getMessage().startswith("InfluxDB takes writes again, after") for r in caplog.records)
    assert read_statuses(tmp_path)[0].store_error == ""
    collector._write_stats()
    assert stand_in.writes[-1][:3] == kept and 'store_error=""' in stand_in.writes[-1][3]  # the kept ones, then the new one
    assert collector._stats_kept == []

    # a long outage: beyond STATS_KEPT_MAX every other kept point goes, the first stays
    monkeypatch.setattr(collector_module, "STATS_KEPT_MAX", 4)
    for n in range(5):
        collector._keep_stats(f"s{n}")
    assert collector._stats_kept == ["s0", "s2", "s4"]


def test_ingest_status_takes_the_store_s_state_and_the_spool_from_a_newer_status_file() -> None:
    now = datetime.fromtimestamp(1_767_000_070.5, UTC)
    reported = {"collector": "ingest/1", "time": datetime.fromtimestamp(1_767_000_000, UTC).isoformat(), "age_s": 70.5}
    reported |= {"received": 400.0, "spooled": 0.0, "spool_bytes": 0.0, "spool_full": 0.0, "store_error": ""}
    rows = with_local_status({"ingest/1": dict(reported)}, [_status(updated_at=1_767_000_060.5), _status(collector="only-local")], now)
    assert [row["collector"] for row in rows] == ["ingest/1", "only-local"]
    row = rows[0]
    assert (row["store_error"], row["spooled"], row["received"], row["age_s"]) == ("disk_full", 12345.0, 400.0, 70.5)
    assert row["local"] == {
        "updated_at": "2025-12-29T09:21:00.500000+00:00",
        "age_s": 10.0,
        "running": True,
        "pid": 4242,
        "spool_folder": "/var/lib/facmon/spool/ingest-1",
    }
    assert "time" not in rows[1] and rows[1]["store_error"] == "disk_full"
    (text, _) = store_problem_lines(rows)
    assert text.startswith("ingest/1: InfluxDB disk full since ") and ": 12,345 readings (1.5 MB) held in the spool\n" in text
    assert "has no disk space left" in text and "then restart InfluxDB" in text
    # a status file older than the newest ingest_stats point adds itself, but changes nothing
    older = with_local_status({"ingest/1": dict(reported)}, [_status(updated_at=1_766_999_990.0)], now)[0]
    assert (older["store_error"], older["spooled"]) == ("", 0.0) and older["local"]["age_s"] == 80.5
    assert store_problem_lines([older]) == []
    stopped = with_local_status({}, [_status(running=False, spool_folder=None)], now)
    assert store_problem_lines(stopped)[0].startswith("ingest/1: InfluxDB disk full since ")
    assert "no spool: the broker keeps the backlog (the collector is stopped" in store_problem_lines(stopped)[0]


# -- the real thing ------------------------------------------------------------------------------------

DISK_SMALL = "256k"  # InfluxDB's data + WAL: a few 10,000s of the example site's readings (its WAL compresses them well)
DISK_LARGE = "64m"  # "space freed": what the operator gives it afterwards
STATS_INTERVAL = "0.5"


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"mount {' '.join(args)}: {done.stderr}"


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Path]]:
    """Mosquitto and InfluxDB of their own, InfluxDB's data and WAL folders on a DISK_SMALL tmpfs; stopped
    (exactly their PIDs) and unmounted afterwards. Yields the stack and the tmpfs' mount point."""
    home = tmp_path_factory.mktemp("facmon-disk-full")
    mount_point = home / "influx-disk"
    mount_point.mkdir()
    _mount("-t", "tmpfs", "-o", f"size={DISK_SMALL},mode=0700", "facmon-test-influx", str(mount_point))
    stack = Stack(home, mqtt_port=free_port(), influx_port=free_port(), influx_rpc_port=free_port())
    try:
        (home / "influxdb").mkdir()
        for name in ("data", "wal"):  # the stack's config names FACMON_HOME/influxdb/{data,wal}: they lead to the tmpfs
            (mount_point / name).mkdir()
            (home / "influxdb" / name).symlink_to(mount_point / name)
        stack.up(work_orders=False)
        yield stack, mount_point
    finally:
        stack.down()
        if subprocess.run(["umount", str(mount_point)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "--lazy", str(mount_point)], check=True, timeout=30)


class Stream:
    """One gateway batch per building and round, every device of the building in it, at TS + round seconds
    (each reading a point of its own), published at QoS 1 in a thread until stopped."""

    def __init__(self, stack: Stack, site: Site):
        self.site = site
        self.publisher = Publisher(stack)
        self.expected: Counter = Counter()  # readings per (kind, building, device), as series_counts counts them
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for building in self.site.buildings:
                batch = []
                for device in building.all_devices():
                    kind = device_kind(device)
                    batch.append({"device": device.id, "ts": TS + self.rounds, **good_fields(device, self.rounds)})
                    self.expected[(kind, building.code, device.id if kind != "weather" else "weather")] += 1
                self.publisher.publish(f"facmon/{building.code}/_batch", {"readings": batch})
            self.rounds += 1
            time.sleep(0.01)

    def stop(self) -> Counter:
        """Stop, wait until the broker has every message; the readings published."""
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive()
        self.publisher.wait()
        return self.expected

    def close(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self.publisher.close()


def facmon(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FACMON, *args], env=env, capture_output=True, text=True, timeout=60)


def local_status(home: Path, client_id: str) -> CollectorStatus | None:
    return next((s for s in read_statuses(home) if s.collector == client_id), None)


@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting the small tmpfs that InfluxDB's disk fills up on needs root")
def test_a_full_influxdb_disk_is_reported_the_spool_holds_the_backlog_and_nothing_is_lost(disk, example_site: Site) -> None:
    stack, mount_point = disk
    home = stack.home
    store = InfluxStore(stack.influx_url, f"test_{uuid.uuid4().hex[:12]}", timeout_s=10)
    client_id = f"test-disk-full-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
    env |= {"FACMON_HOME": str(home), "FACMON_INFLUX_DATABASE": store.database, "FACMON_SITE": str(EXAMPLE_SITE)}
    collector = IngestProcess(
        env, "--client-id", client_id, "--stats-interval", STATS_INTERVAL, "--flush-interval", "0.2", "--stop-timeout", "5"
    )
    stream: Stream | None = None
    enlarged = False
    try:
        collector.wait_subscribed()
        wait_for(lambda: store.rows(f"SELECT count(received) FROM ingest_stats WHERE collector = '{client_id}'"), 20, "a first report")
        stream = Stream(stack, example_site)

        # The disk fills up: the collector says so, in its status file.
        def disk_full() -> CollectorStatus | None:
            status = local_status(home, client_id)
            return status if status is not None and status.store_error == "disk_full" and status.spooled > 0 else None

        wait_for(disk_full, 40, "the collector to report InfluxDB's disk full")
        published = stream.stop()
        readings = sum(published.values())
        messages = stream.rounds * len(example_site.buildings)
        # Every message acknowledged into the spool, none held back: the spool has the backlog.
        status = wait_for(
            lambda: (s := local_status(home, client_id)) is not None and s.received == messages and not s.spool_full and s,
            30,
            "every message received",
        )
        assert status.store_error == "disk_full" and status.running
        assert "no space left on device" in status.store_error_detail, status.store_error_detail
        assert 0 < status.spooled < readings

        table = facmon(env, "ingest", "status")
        assert table.returncode == 0, table.stdout + table.stderr
        held = wait_for(lambda: local_status(home, client_id), 5, "status").spooled  # the spool does not change any more
        assert f"{client_id}: InfluxDB disk full since " in table.stdout, table.stdout
        assert f"{held:,} readings" in table.stdout and "held in the spool" in table.stdout, table.stdout
        assert "no space left on device" in table.stdout and "then restart InfluxDB" in table.stdout
        rows = json.loads(facmon(env, "ingest", "status", "--format", "json").stdout)["collectors"]
        (row,) = [r for r in rows if r["collector"] == client_id]
        assert row["store_error"] == "disk_full" and row["spooled"] == held and row["store_error_since"]

        # Space again, and InfluxDB restarted: the spool drains, every reading is stored exactly once.
        _mount("-o", f"remount,size={DISK_LARGE}", str(mount_point))
        enlarged = True
        assert stack.stop_service("influxdb")  # InfluxDB 1.x takes writes to the failed shards again only after a restart
        stack.up(work_orders=False)
        wait_for(lambda: series_counts(store) == published, 40, f"all {readings} readings stored")
        fine = wait_for(
            lambda: (s := local_status(home, client_id)) is not None and s.store_error == "" and s.spooled == 0 and s,
            20,
            "the status back to ok",
        )
        assert fine.store_error_since is None and fine.running
        assert sum(series_counts(store).values()) == readings

        table = facmon(env, "ingest", "status", "--format", "json")
        (row,) = [r for r in json.loads(table.stdout)["collectors"] if r["collector"] == client_id]
        assert table.returncode == 0 and row["store_error"] == "" and row["spooled"] == 0
        assert "disk full" not in facmon(env, "ingest", "status").stdout

        # InfluxDB's history shows the period: ok, disk full (points written once it took writes again), ok
        # (between them, unreachable while it restarted, when a report fell into that moment).
        def history() -> list[str]:
            states = [
                r["store_error"] for r in store.rows(f"SELECT store_error, spooled FROM ingest_stats WHERE collector = '{client_id}'")
            ]
            return [state for i, state in enumerate(states) if i == 0 or states[i - 1] != state]

        assert wait_for(lambda: history()[-1:] == [""] and history(), 10, "ingest_stats written again")[:1] == [""]
        assert "disk_full" in history(), history()
        full_points = store.rows(f"SELECT spooled FROM ingest_stats WHERE collector = '{client_id}' AND store_error = 'disk_full'")
        assert max(p["spooled"] for p in full_points) > 0

        assert collector.terminate() == 0, "".join(collector.log)
        # The store's state is logged once per change, not per batch: no state follows itself.
        markers = [f"facmon.ingest: {problem.text}: " for problem in StoreProblem] + ["facmon.ingest: InfluxDB takes writes again"]
        changes = [next(m for m in markers if m in entry) for entry in collector.log if any(m in entry for m in markers)]
        assert changes[0] == markers[0] and changes[-1] == markers[-1], changes
        assert all(a != b for a, b in zip(changes, changes[1:])), changes
        assert "Traceback" not in "".join(collector.log)
        stopped = local_status(home, client_id)
        assert stopped is not None and not stopped.running and stopped.store_error == ""
    finally:
        if not enlarged:  # a failure with the disk full: give the collector room to stop
            subprocess.run(["mount", "-o", f"remount,size={DISK_LARGE}", str(mount_point)], timeout=30)
        if stream is not None:
            stream.close()
        if collector.process.poll() is None:
            collector.kill()
        store.close()
