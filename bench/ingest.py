"""Ingest benchmark on the local stack: publisher -> Mosquitto -> `facmon ingest` -> InfluxDB.

Starts its own Mosquitto and InfluxDB (facmon.stack.Stack) in a temporary folder on free ports, runs
the collector as a separate `facmon ingest` process (so its peak RSS is the kernel's VmHWM of that
process), publishers and a bare subscriber as separate processes (this same file with ``--worker``),
and stops exactly what it started at the end, also on error or Ctrl-C.

Phases, in one run (the collector runs with its defaults: 5,000-line batches, 1 s flush interval):

live      ``--publishers`` paho publishers send ``--live-messages`` single-reading messages (QoS 1) as
          fast as they can (each keeps ``--window`` messages in flight) while the collector and a bare
          subscriber (paho, QoS 1, only counts) both receive the stream. Rates over the same start
          (first publish): stored readings / (time all were stored - start) versus received messages
          / (time the subscriber had them all - start).
          Progress and latency come from the collector's own ``ingest_stats`` points, written every
          ``--stats-interval`` (0.1) s with the cumulative count of readings InfluxDB accepted, so the
          bench does not load InfluxDB with count() queries while it measures (polling count() every
          0.1 s cost a third of the drain rate). The k-th reading published (in send order) counts as
          stored at the first stats point whose count reached k (one collector stores in arrival
          order), so latency is end to end, publish call to InfluxDB's answer, with 0.1 s resolution.
          Every phase's total is then checked independently with count() per measurement.
drain     the collector is stopped (SIGTERM: it flushes and acks what it has), ``--messages`` single-
          reading messages are queued in its persistent session, then a new collector process starts:
          rate = readings / (time all stored - process start); ``drain_steady`` excludes start-up
          (first stored point .. all stored).
batch     the same as drain with ``--batch-messages`` gateway batches of 50 readings each.
shared_N  one, then two collectors in one shared group (``--shared``: the broker deals each message to one
          member) on a live stream of ``--shared-messages`` messages; rate = stored readings / (time all were
          stored - first publish), polled by count() alike for both, so the two rates compare (the live
          phase's rate is timed by the collector's own stats and does not compare with these).
outage    collector running, InfluxDB stopped, ``--messages`` messages published; the collector spools
          what it receives to disk (its default); after ``--outage-hold`` s InfluxDB starts again and
          the bench waits until everything is stored. Shows the peak RSS of a collector while the
          database is down. ``outage_nospool`` repeats it with ``--spool-max-mb 0``: the collector then
          holds what the broker sends it (up to its receive maximum) in memory, unacknowledged, the
          worst case for its RSS.

Every reading goes to a real device of the site (default examples/county-offices.yaml) on its
documented topic with fields that device reports, and has its own timestamp (ms), so each reading
is one distinct point. Stored readings are counted with InfluxQL count() per measurement over each
phase's time window. Loss = acknowledged-by-broker publishes - stored readings.

    .venv/bin/python bench/ingest.py            # full run; one JSON object on stdout, progress on stderr
    .venv/bin/python bench/ingest.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SITE = ROOT / "examples" / "county-offices.yaml"
COUNT_FIELD = {"meter": "register", "ieq": "temperature", "equipment": "running", "weather": "temperature"}
BATCH_SIZE = 50
# Each phase stores its readings in its own time window (ms timestamps), so count() per window is that
# phase. The windows lie in the past days: the collector rejects readings older than the site's
# collection.max_age_days (35 by default).
_DAY_MS = 86_400_000
_NOW_MS = (int(time.time() * 1000) // _DAY_MS) * _DAY_MS
PHASE_BASE_MS = {
    "warmup": _NOW_MS - 8 * _DAY_MS,
    "drain": _NOW_MS - 6 * _DAY_MS,
    "batch": _NOW_MS - 4 * _DAY_MS,
    "outage": _NOW_MS - 2 * _DAY_MS,
    "outage_nospool": _NOW_MS - 1 * _DAY_MS,
    "shared_1": _NOW_MS - 10 * _DAY_MS,
    "shared_2": _NOW_MS - 12 * _DAY_MS,
}
IEQ_VALUES = {"temperature": 24.5, "humidity": 50.0, "co2": 650.0, "pm25": 20.0, "pm10": 30.0, "tvoc": 0.2, "hcho": 0.05}


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the site's devices ----------------------------------------------------------------------------


def site_devices(site_path: Path) -> tuple[str, list[tuple[str, str, str, str]]]:
    """(topic prefix, [(building, device, measurement, JSON fields without braces)]) for every device."""
    from facmon.registry import load_site
    from facmon.schema import MEASUREMENT_OF_KIND, allowed_fields, device_kind

    site = load_site(site_path)
    devices = []
    for building in site.buildings:
        for device in building.all_devices():
            kind = device_kind(device)
            allowed = allowed_fields(device)
            if kind == "meter":
                fields = {"register": 1234.5, "power": 12.25}
            elif kind == "equipment":
                fields = {"running": 1, "power": 10.5}
            elif kind == "weather":
                fields = {"temperature": 10.5, "humidity": 60.0}
            else:
                fields = {name: IEQ_VALUES[name] for name in sorted(allowed) if name in IEQ_VALUES}
            fields = {k: v for k, v in fields.items() if k in allowed}
            assert COUNT_FIELD[kind] in fields, (building.code, device.id)
            body = ",".join(f'"{k}":{json.dumps(v)}' for k, v in fields.items())
            devices.append((building.code, device.id, MEASUREMENT_OF_KIND[kind], body))
    return site.mqtt.topic_prefix, devices


# -- workers (separate processes) ------------------------------------------------------------------


def worker_publish(args: argparse.Namespace) -> None:
    """Publish ``args.count`` messages as fast as a window of ``args.window`` unacknowledged allows."""
    import numpy as np
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    prefix, devices = site_devices(Path(args.site))
    mine = devices[args.index :: args.workers] if args.mode == "live" else devices
    topics = [f"{prefix}/{b}/{d}" for b, d, _, _ in mine]
    bodies = [body for _, _, _, body in mine]
    by_building: dict[str, list[str]] = {}
    for b, d, _, body in devices:
        by_building.setdefault(b, []).append(f'{{"device":"{d}","ts":%d,{body}}}')
    buildings = sorted(by_building)

    window = threading.Semaphore(args.window)
    acked = [0]
    connected = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(args.window)
    client.max_queued_messages_set(0)

    def on_publish(c: Any, u: Any, mid: int, rc: Any, props: Any) -> None:
        acked[0] += 1
        window.release()

    client.on_publish = on_publish
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.connect(args.host, args.port, keepalive=60)
    client.loop_start()
    if not connected.wait(30):
        raise SystemExit("publisher: no CONNACK")
    count = args.count
    send_times = np.zeros(count if args.mode == "live" else 0, dtype=np.float64)
    last_ts = [0] * len(topics)
    n_dev = len(topics)
    now = time.time
    start = now()
    for i in range(count):
        window.acquire()
        if args.mode == "live":
            j = i % n_dev
            t = now()
            ts = max(int(t * 1000), last_ts[j] + 1)  # send time in ms, unique per device
            last_ts[j] = ts
            send_times[i] = t
            client.publish(topics[j], f'{{"ts":{ts},{bodies[j]}}}', qos=1)
        elif args.mode == "single":
            j = i % n_dev
            client.publish(topics[j], f'{{"ts":{args.base_ms + args.offset + i},{bodies[j]}}}', qos=1)
        else:  # batch: BATCH_SIZE readings of one building, each with its own timestamp
            building = buildings[i % len(buildings)]
            entries = by_building[building]
            first = args.base_ms + args.offset + i * BATCH_SIZE
            readings = ",".join(entries[k % len(entries)] % (first + k) for k in range(BATCH_SIZE))
            client.publish(f"{prefix}/{building}/_batch", f'{{"readings":[{readings}]}}', qos=1)
    end_publish = now()
    deadline = now() + 120
    while acked[0] < count and now() < deadline:
        time.sleep(0.01)
    end = now()
    client.disconnect()
    client.loop_stop()
    if args.mode == "live":
        np.save(args.times_out, send_times)
    print(json.dumps({"sent": count, "acked": acked[0], "start": start, "end_publish": end_publish, "end": end}), flush=True)


def worker_subscribe(args: argparse.Namespace) -> None:
    """Count messages on the site's topics (QoS 1) and nothing else; exits after ``args.count`` or when idle."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    state = {"n": 0, "first": 0.0, "last": 0.0}
    done = threading.Event()

    def on_message(c: Any, u: Any, message: Any) -> None:
        t = time.time()
        if state["n"] == 0:
            state["first"] = t
        state["n"] += 1
        state["last"] = t
        if state["n"] >= args.count:
            done.set()

    def on_subscribe(*a: Any) -> None:
        print("ready", flush=True)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv311)
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{args.prefix}/#", qos=1)
    client.connect(args.host, args.port, keepalive=60)
    client.loop_start()
    idle_since = time.time()
    seen = 0
    while not done.wait(0.5):
        if state["n"] != seen:
            seen, idle_since = state["n"], time.time()
        elif time.time() - idle_since > args.idle:
            break
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"received": state["n"], "first": state["first"], "last": state["last"]}), flush=True)


# -- the orchestrator ------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, home: Path):
        from facmon.stack import Stack, free_port
        from facmon.store import InfluxStore

        self.args = args
        self.home = home
        self.stack = Stack(home / "stack", mqtt_port=free_port(), influx_port=free_port(), influx_rpc_port=free_port())
        self.database = "bench"
        self.store = InfluxStore(self.stack.influx_url, self.database, timeout_s=60)
        self.prefix, self.devices = site_devices(Path(args.site))
        self.measurements = sorted({m for _, _, m, _ in self.devices})
        self.children: list[subprocess.Popen] = []
        self.collector: subprocess.Popen | None = None
        self.collector_runs = 0
        self.peak_rss_kb: dict[str, int] = {}
        self.rss_samples: list[tuple[float, int]] = []

    # processes

    def _spawn(self, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        process = subprocess.Popen(argv, start_new_session=True, **kwargs)
        self.children.append(process)
        return process

    def _worker(self, kind: str, extra: list[str]) -> subprocess.Popen:
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            kind,
            "--site",
            self.args.site,
            "--host",
            self.stack.host,
            "--port",
            str(self.stack.mqtt_port),
            *extra,
        ]
        return self._spawn(argv, stdout=subprocess.PIPE, stderr=None, text=True, cwd=ROOT)

    def start_collector(self, label: str, extra: Sequence[str] = ()) -> float:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
        env.update(FACMON_HOME=str(self.stack.home), FACMON_INFLUX_DATABASE=self.database, FACMON_SITE=self.args.site)
        self.collector_runs += 1
        log = open(self.home / f"collector-{self.collector_runs}-{label}.log", "w")
        facmon = Path(sys.executable).parent / "facmon"
        argv = [
            str(facmon),
            "ingest",
            "--client-id",
            COLLECTOR_ID,
            "--stats-interval",
            str(self.args.stats_interval),
            *self.args.collector_args.split(),
            *extra,
        ]
        started = self.collector_started = time.time()
        self.collector = self._spawn(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.collector_label = label
        return started

    def collector_hwm_kb(self) -> int:
        assert self.collector is not None
        try:
            for row in Path(f"/proc/{self.collector.pid}/status").read_text().splitlines():
                if row.startswith("VmHWM:"):
                    return int(row.split()[1])
        except OSError:
            pass
        return 0

    def collector_rss_kb(self) -> int:
        assert self.collector is not None
        try:
            for row in Path(f"/proc/{self.collector.pid}/status").read_text().splitlines():
                if row.startswith("VmRSS:"):
                    return int(row.split()[1])
        except OSError:
            pass
        return 0

    def stop_collector(self) -> None:
        collector = self.collector
        if collector is None:
            return
        hwm = self.collector_hwm_kb()
        self.peak_rss_kb[self.collector_label] = max(hwm, self.peak_rss_kb.get(self.collector_label, 0))
        collector.send_signal(signal.SIGTERM)
        try:
            collector.wait(60)
        except subprocess.TimeoutExpired:
            collector.kill()
            collector.wait()
        self.collector = None

    def wait_subscribed(self, timeout_s: float = 60) -> None:
        """Wait until the collector's log says the broker confirmed its subscription."""
        log = self.home / f"collector-{self.collector_runs}-{self.collector_label}.log"
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if "subscribed to" in log.read_text(errors="replace"):
                return
            if self.collector is not None and self.collector.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the collector did not subscribe; its log:\n{log.read_text(errors='replace')[-2000:]}")

    def cleanup(self) -> None:
        for process in self.children:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.children:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        try:
            self.stack.down()
        except Exception as exc:  # noqa: BLE001 - cleanup must go on
            progress(f"stopping the stack failed: {exc}")

    # InfluxDB

    def stored(self, since_ms: int, until_ms: int) -> int:
        """Readings stored with timestamps in [since_ms, until_ms), over all measurements (one request)."""
        window = f"time >= {since_ms}ms AND time < {until_ms}ms"
        q = ";".join(f'SELECT count("{COUNT_FIELD_OF[m]}") FROM "{m}" WHERE {window}' for m in self.measurements)
        response = self.store._request("GET", "/query", params={"db": self.database, "q": q})  # noqa: SLF001
        total = 0
        for result in response.json().get("results", []):
            for series in result.get("series", []):
                total += int(series["values"][0][1])
        return total

    def written(self, since_s: float, at_least: int | None = None) -> list[tuple[float, int]]:
        """The collector's own ``ingest_stats`` points since ``since_s`` as (time s, readings written);
        with ``at_least``, only the first point whose count reached it."""
        where = f"\"collector\" = '{COLLECTOR_ID}' AND time >= {int(since_s * 1000)}ms"
        if at_least is not None:
            where += f' AND "written" >= {at_least}'
        q = f'SELECT "written" FROM "ingest_stats" WHERE {where}' + (" LIMIT 1" if at_least is not None else "")
        return [(t / 1000, int(w)) for series in self.store.query(q, epoch="ms") for t, w in series["values"]]

    def wait_written(self, since_s: float, target: int, *, stall_s: float = 60, poll_s: float = 0.25) -> tuple[int, float]:
        """Wait until the collector started at ``since_s`` reports ``target`` readings written (or makes no
        progress for ``stall_s``); returns (written, time of its first stats point that reached it)."""
        last, last_change = -1, time.time()
        while True:
            t = time.time()
            try:
                rows = self.store.query(
                    f'SELECT last("written") FROM "ingest_stats" WHERE "collector" = \'{COLLECTOR_ID}\' AND time >= {int(since_s * 1000)}ms'
                )
                value = int(rows[0]["values"][0][1]) if rows else 0
            except Exception:  # noqa: BLE001 - InfluxDB may be down on purpose
                value = last
            if self.collector is not None:
                self.rss_samples.append((t, self.collector_rss_kb()))
            if value >= target:
                reached = self.written(since_s, at_least=target)
                return value, reached[0][0] if reached else t
            if value != last:
                last, last_change = value, t
            elif t - last_change > stall_s:
                return max(value, 0), t
            time.sleep(poll_s)

    def rejected(self) -> int:
        rows = self.store.rows('SELECT count("topic") FROM "ingest_rejected"')
        return int(rows[0]["count"]) if rows else 0

    def wait_stored(
        self,
        since_ms: int,
        until_ms: int,
        expected: int,
        *,
        stall_s: float = 60,
        poll_s: float = 0.1,
        curve: list[tuple[float, int]] | None = None,
    ) -> tuple[int, float]:
        """Poll until ``expected`` readings are stored (or no progress for ``stall_s``); (stored, time all stored)."""
        last_count, last_change = -1, time.time()
        sampled_at = 0.0
        while True:
            t = time.time()
            try:
                count = self.stored(since_ms, until_ms)
            except Exception:  # noqa: BLE001 - InfluxDB may be down on purpose
                count = last_count
            if curve is not None:
                curve.append((t, count))
            if self.collector is not None and t - sampled_at >= 0.5:
                self.rss_samples.append((t, self.collector_rss_kb()))
                sampled_at = t
            if count >= expected:
                return count, t
            if count != last_count:
                last_count, last_change = count, t
            elif t - last_change > stall_s:
                return max(count, 0), t
            time.sleep(poll_s)

    def publish(self, mode: str, count: int, base_ms: int = 0, workers: int = 1) -> list[dict[str, Any]]:
        procs = []
        per = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
        offset = 0
        for i in range(workers):
            extra = [
                "--mode",
                mode,
                "--count",
                str(per[i]),
                "--index",
                str(i),
                "--workers",
                str(workers),
                "--base-ms",
                str(base_ms),
                "--offset",
                str(offset * (BATCH_SIZE if mode == "batch" else 1)),
                "--window",
                str(self.args.window),
                "--times-out",
                str(self.home / f"send-times-{i}.npy"),
            ]
            offset += per[i]
            procs.append(self._worker("publish", extra))
        return procs

    @staticmethod
    def collect(procs: list[subprocess.Popen]) -> list[dict[str, Any]]:
        out = []
        for p in procs:
            stdout, _ = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"a worker failed with exit code {p.returncode}")
            out.append(json.loads(stdout.strip().splitlines()[-1]))
        return out

    # phases

    def run(self) -> dict[str, Any]:
        import numpy as np

        args = self.args
        result: dict[str, Any] = {}
        progress(f"stack in {self.stack.home}: mqtt {self.stack.mqtt_port}, influxdb {self.stack.influx_port}")
        self.stack.up(work_orders=False)
        self.store.create_database()

        # warm-up: collector up, subscribed, one batch of every device stored
        self.start_collector("live")
        self.wait_subscribed()
        n = len(self.devices)
        base = PHASE_BASE_MS["warmup"]
        self.collect(self.publish("single", n, base))
        stored, _ = self.wait_stored(base, base + _DAY_MS, n, stall_s=30)
        self.wait_written(self.collector_started, n, stall_s=30)  # its stats count them too
        if stored != n:
            raise RuntimeError(f"warm-up: {stored} of {n} readings stored; see {self.home}")
        progress(f"warm-up: {n} readings of {n} devices stored")

        # (a)+(b) live stream, counted by the collector (stored) and a bare subscriber
        live_n = args.live_messages
        subscriber = self._worker("subscribe", ["--prefix", self.prefix, "--count", str(live_n), "--idle", "30"])
        assert subscriber.stdout is not None
        if subscriber.stdout.readline().strip() != "ready":
            raise RuntimeError("the bare subscriber did not subscribe")
        live_start_ms = int(time.time() * 1000) - 1000
        baseline = self.written(self.collector_started)[-1][1]
        progress(f"live: {args.publishers} publisher(s), {live_n} messages, window {args.window}")
        pubs = self.publish("live", live_n, workers=args.publishers)
        _, all_stored_at = self.wait_written(self.collector_started, baseline + live_n, stall_s=30, poll_s=args.poll)
        stored_live, _ = self.wait_stored(live_start_ms, live_start_ms + _DAY_MS, live_n, stall_s=10)
        curve = [(t, w - baseline) for t, w in self.written(live_start_ms / 1000)]
        published = self.collect(pubs)
        sub = self.collect([subscriber])[0]
        acked = sum(p["acked"] for p in published)
        start = min(p["start"] for p in published)
        publish_end = max(p["end_publish"] for p in published)
        times = np.sort(np.concatenate([np.load(self.home / f"send-times-{i}.npy") for i in range(args.publishers)]))
        poll_t = np.array([t for t, _ in curve])
        poll_c = np.array([c for _, c in curve])
        # the k-th published reading (k = 1..n) is stored at the first poll whose count >= k
        k = np.arange(1, len(times) + 1)
        idx = np.searchsorted(poll_c, k, side="left")  # poll_c is non-decreasing
        ok = idx < len(poll_t)
        latency = poll_t[idx[ok]] - times[ok]
        live_time = all_stored_at - start
        sub_time = sub["last"] - start
        result.update(
            live_messages=live_n,
            live_published_acked=acked,
            live_stored=stored_live,
            live_lost=acked - stored_live,
            live_publish_per_s=round(acked / (publish_end - start), 1),
            live_readings_per_s=round(stored_live / live_time, 1),
            ceiling_received=sub["received"],
            ceiling_readings_per_s=round(sub["received"] / sub_time, 1) if sub_time > 0 else None,
            live_latency_p50_ms=round(float(np.percentile(latency, 50)) * 1000, 1) if len(latency) else None,
            live_latency_p99_ms=round(float(np.percentile(latency, 99)) * 1000, 1) if len(latency) else None,
            live_latency_max_ms=round(float(latency.max()) * 1000, 1) if len(latency) else None,
        )
        result["live_ratio"] = (
            round(result["live_readings_per_s"] / result["ceiling_readings_per_s"], 3) if result["ceiling_readings_per_s"] else None
        )
        progress(
            f"live: stored {stored_live}/{acked} at {result['live_readings_per_s']}/s; "
            f"bare subscriber {sub['received']} at {result['ceiling_readings_per_s']}/s"
        )

        # (c) drain of single-reading messages
        result.update(self.drain("drain", "single", args.messages, 1))
        # (d) drain of gateway batches
        result.update(self.drain("batch", "batch", args.batch_messages, BATCH_SIZE))

        # (f) one and two collectors in a shared group, on the same live stream, timed the same way
        if args.shared_messages:
            self.stop_collector()
            for collectors in (1, 2):
                result.update(self.shared(collectors, args.shared_messages))

        # (e) InfluxDB down: the collector spools what it receives (default), or with the spool off
        # holds it in memory unacknowledged (at most its receive maximum): the worst case for RSS
        result.update(self.outage("outage", args.messages))
        result.update(self.outage("outage_nospool", args.messages, ["--spool-max-mb", "0"]))

        self.stop_collector()
        result["rejected"] = self.rejected()
        result["peak_rss_mb"] = round(max(self.peak_rss_kb.values()) / 1024, 1)
        result["peak_rss_mb_by_phase"] = {k: round(v / 1024, 1) for k, v in self.peak_rss_kb.items()}
        return result

    def drain(self, name: str, mode: str, messages: int, per_message: int) -> dict[str, Any]:
        self.stop_collector()
        base = PHASE_BASE_MS[name]
        readings = messages * per_message
        progress(f"{name}: collector stopped; queueing {messages} messages ({readings} readings) in its session")
        published = self.collect(self.publish(mode, messages, base, workers=self.args.publishers))
        acked = sum(p["acked"] for p in published)
        time.sleep(1)
        started = self.start_collector(name)
        _, done = self.wait_written(started, readings, stall_s=60)
        stored, _ = self.wait_stored(base, base + _DAY_MS, readings, stall_s=10)
        first = next((t for t, w in self.written(started) if w > 0), done)
        total = done - started
        progress(f"{name}: {stored}/{acked * per_message} readings stored in {total:.1f} s ({stored / total:.0f}/s)")
        return {
            f"{name}_readings": readings,
            f"{name}_lost": acked * per_message - stored,
            f"{name}_seconds": round(total, 2),
            f"{name}_readings_per_s": round(stored / total, 1),
            f"{name}_steady_readings_per_s": round(stored / (done - first), 1) if done > first else None,
            f"{name}_startup_s": round(first - started, 2),
        }

    def shared(self, collectors: int, messages: int) -> dict[str, Any]:
        """``collectors`` collectors in one shared group (``--shared``) receive a live stream of ``messages``
        single-reading messages; rate = stored readings / (time all were stored - first publish), polled by
        count() for every run alike; every collector is stopped (SIGTERM, it drains) before the next run."""
        name = f"shared_{collectors}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
        env.update(FACMON_HOME=str(self.stack.home), FACMON_INFLUX_DATABASE=self.database, FACMON_SITE=self.args.site)
        facmon = Path(sys.executable).parent / "facmon"
        group = []
        for i in range(collectors):
            log = self.home / f"{name}-{i}.log"
            argv = [str(facmon), "ingest", "--shared", "bench", "--client-id", f"bench-{name}-{i}"]
            group.append((self._spawn(argv, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=ROOT), log))
        deadline = time.time() + 60
        while not all("subscribed to" in log.read_text(errors="replace") for _, log in group):
            if time.time() > deadline:
                raise RuntimeError(f"{name}: a collector did not subscribe; see {self.home}")
            time.sleep(0.05)
        base = PHASE_BASE_MS[name]
        progress(f"{name}: {collectors} collector(s) in shared group 'bench'; {messages} live messages")
        pubs = self.publish("single", messages, base, workers=self.args.publishers)
        published = self.collect(pubs)
        acked = sum(p["acked"] for p in published)
        start = min(p["start"] for p in published)
        stored, done = self.wait_stored(base, base + _DAY_MS, acked, stall_s=30, poll_s=self.args.poll)
        for process, _ in group:
            process.send_signal(signal.SIGTERM)
        for process, _ in group:
            process.wait(60)
        # out of the group for good, as an operator would: else their sessions go on taking a share of the next run
        for i in range(collectors):
            retire = [str(facmon), "ingest", "retire", "--client-id", f"bench-{name}-{i}", "--shared", "bench", "--idle-s", "2"]
            if subprocess.run(retire, env=env, capture_output=True, cwd=ROOT, timeout=120).returncode != 0:
                raise RuntimeError(f"{name}: bench-{name}-{i} could not be retired")
        progress(f"{name}: {stored}/{acked} stored at {stored / (done - start):.0f}/s")
        return {f"{name}_lost": acked - stored, f"{name}_readings_per_s": round(stored / (done - start), 1)}

    def outage(self, name: str, messages: int, extra: Sequence[str] = ()) -> dict[str, Any]:
        self.stop_collector()
        self.start_collector(name, extra)
        self.wait_subscribed()
        self.stack.stop_service("influxdb")
        base = PHASE_BASE_MS[name]
        progress(f"{name}: InfluxDB stopped; publishing {messages} messages to the running collector")
        published = self.collect(self.publish("single", messages, base, workers=self.args.publishers))
        acked = sum(p["acked"] for p in published)
        hold_until = time.time() + self.args.outage_hold
        while time.time() < hold_until:
            self.rss_samples.append((time.time(), self.collector_rss_kb()))
            time.sleep(0.5)
        held_hwm = self.collector_hwm_kb()
        progress(f"{name}: collector VmHWM {held_hwm / 1024:.1f} MB while InfluxDB was down; starting InfluxDB")
        self.stack.up(work_orders=False)
        restarted = time.time()
        stored, done = self.wait_stored(base, base + _DAY_MS, acked, poll_s=self.args.poll, stall_s=90)
        progress(f"{name}: {stored}/{acked} stored {done - restarted:.1f} s after InfluxDB came back")
        return {
            f"{name}_lost": acked - stored,
            f"{name}_rss_mb_while_down": round(held_hwm / 1024, 1),
            f"{name}_recovery_s": round(done - restarted, 2),
        }


COLLECTOR_ID = "bench-collector"
COUNT_FIELD_OF = {"meter": "register", "ieq": "temperature", "equipment": "running", "weather": "temperature"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200_000, help="single-reading messages queued for the drain (and the outage) phase")
    parser.add_argument("--live-messages", type=int, default=200_000, help="messages of the live phase")
    parser.add_argument("--batch-messages", type=int, default=10_000, help="gateway batches (50 readings each) queued for the batch phase")
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes")
    parser.add_argument("--window", type=int, default=1000, help="unacknowledged messages each publisher keeps in flight")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between polls of the collector's progress")
    parser.add_argument(
        "--stats-interval",
        type=float,
        default=0.1,
        help="the collector's --stats-interval: its ingest_stats points time the phases and the latency",
    )
    parser.add_argument("--outage-hold", type=float, default=10.0, help="seconds InfluxDB stays down after the outage publish")
    parser.add_argument(
        "--shared-messages", type=int, default=100_000, help="live messages for one, then two, collectors in a shared group (0: skip)"
    )
    parser.add_argument("--collector-args", default="", help="extra options for `facmon ingest`, e.g. '--batch-lines 10000'")
    parser.add_argument("--site", default=str(DEFAULT_SITE))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) after the run")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 live, 5,000 drain, 200 batches")
    # worker options (internal)
    parser.add_argument("--worker", choices=["publish", "subscribe"], help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--base-ms", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--times-out", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--idle", type=float, default=30.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.worker == "publish":
        return worker_publish(args)
    if args.worker == "subscribe":
        return worker_subscribe(args)
    if args.quick:
        args.messages, args.live_messages, args.batch_messages, args.outage_hold = 5_000, 5_000, 200, 2.0
        args.shared_messages = min(args.shared_messages, 5_000)

    home = Path(tempfile.mkdtemp(prefix="facmon-bench-"))
    bench = Bench(args, home)

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    started = time.time()
    try:
        result = bench.run()
    except KeyboardInterrupt:
        progress("interrupted; stopping what the bench started")
        raise SystemExit(130) from None
    finally:
        bench.cleanup()
        if not args.keep:
            import shutil

            shutil.rmtree(home, ignore_errors=True)
        else:
            progress(f"kept {home}")
    result = {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "cpus": os.cpu_count(),
        "options": {
            k: getattr(args, k) for k in ("live_messages", "messages", "batch_messages", "publishers", "window", "poll", "collector_args")
        },
        **result,
        "bench_seconds": round(time.time() - started, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
