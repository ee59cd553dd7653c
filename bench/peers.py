"""Peers benchmark: facmon's collector and Node-RED 4 with node-red-contrib-influxdb, on the same broker and the
same stream, in the same run.

Starts its own Mosquitto and InfluxDB (facmon.stack.Stack, temporary folder, free ports) through
bench/ingest.py's Bench, installs Node-RED and node-red-contrib-influxdb from npm into ``--node-red-dir``
(default bench/.node-red, git-ignored; installed once, reused), and runs a Node-RED flow as a Node-RED user
would build it: ``mqtt in`` (MQTT 5, QoS 1, a persistent session of its own) → a ``function`` node that turns
facmon's payload (``{"ts": ms, fields}`` on ``<prefix>/<building>/<device>``) into fields, tags and a time →
``influxdb out`` (1.x, precision ms) into a database of its own. ``facmon ingest`` runs with its defaults
against another database. Both subscribe to the same topics, so each receives every message.

stream   ``--messages`` single-reading messages published as fast as ``--publishers`` publishers can;
         rate per consumer = readings stored / (time all were stored - first publish), stored counted by
         count() per measurement alike for both.
outage   the same number of messages in three parts: the first with InfluxDB up, then InfluxDB stopped,
         the second part published, ``--outage-s`` (10) seconds down in all, InfluxDB started again, the third
         part; lost = acknowledged publishes - readings stored, per consumer.

Prints one JSON object.

    .venv/bin/python bench/peers.py
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import _DAY_MS, _NOW_MS, COUNT_FIELD_OF, DEFAULT_SITE, Bench, progress, site_devices  # noqa: E402
from facmon.stack import free_port  # noqa: E402
from facmon.store import InfluxStore  # noqa: E402

NODE_RED = "node-red@4.1.8"
INFLUX_NODES = "node-red-contrib-influxdb@0.7.0"
NODE_RED_DB = "nodered"
STREAM_BASE_MS = _NOW_MS - 14 * _DAY_MS
OUTAGE_BASE_MS = _NOW_MS - 16 * _DAY_MS


def install_node_red(folder: Path) -> Path:
    """Node-RED and node-red-contrib-influxdb in ``folder`` (npm, once); returns Node-RED's red.js."""
    red = folder / "node_modules" / "node-red" / "red.js"
    if not red.exists() or not (folder / "node_modules" / "node-red-contrib-influxdb").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is missing: apt-get install npm (Debian's nodejs and npm)")
        folder.mkdir(parents=True, exist_ok=True)
        progress(f"installing {NODE_RED} and {INFLUX_NODES} into {folder}")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(folder), NODE_RED, INFLUX_NODES], check=True
        )
    return red


def flow(mqtt_port: int, influx_port: int, prefix: str, measurement_of: dict[str, str]) -> list[dict[str, Any]]:
    """The Node-RED flow: MQTT in → payload to fields, tags and time → InfluxDB out."""
    function = (
        "const parts = msg.topic.split('/');\n"
        "const key = parts[1] + '/' + parts[2];\n"
        f"const measurements = {json.dumps(measurement_of)};\n"
        "const measurement = measurements[key];\n"
        "if (!measurement || typeof msg.payload !== 'object') { return null; }\n"
        "const fields = {};\n"
        "for (const name in msg.payload) { if (name !== 'ts') { fields[name] = msg.payload[name]; } }\n"
        "fields.time = msg.payload.ts;\n"
        "msg.measurement = measurement;\n"
        "msg.payload = [fields, {building: parts[1], device: parts[2]}];\n"
        "return msg;\n"
    )
    return [
        {"id": "tab", "type": "tab", "label": "facmon peers bench"},
        {
            "id": "broker",
            "type": "mqtt-broker",
            "broker": "127.0.0.1",
            "port": str(mqtt_port),
            "clientid": "nodered-bench",
            "usetls": False,
            "protocolVersion": "5",
            "keepalive": "60",
            "cleansession": False,
            "sessionExpiry": "604800",
            "autoConnect": True,
        },
        {
            "id": "in",
            "type": "mqtt in",
            "z": "tab",
            "topic": f"{prefix}/#",
            "qos": "1",
            "datatype": "json",
            "broker": "broker",
            "nl": False,
            "rap": True,
            "inputs": 0,
            "wires": [["shape"]],
        },
        {"id": "shape", "type": "function", "z": "tab", "func": function, "outputs": 1, "wires": [["out"]]},
        {
            "id": "db",
            "type": "influxdb",
            "hostname": "127.0.0.1",
            "port": str(influx_port),
            "protocol": "http",
            "database": NODE_RED_DB,
            "influxdbVersion": "1.x",
            "usetls": False,
        },
        {
            "id": "out",
            "type": "influxdb out",
            "z": "tab",
            "influxdb": "db",
            "measurement": "",
            "precision": "ms",
            "retentionPolicy": "",
            "wires": [],
        },
    ]


def stored_in(store: InfluxStore, measurements: list[str], since_ms: int, until_ms: int) -> int:
    """Readings with timestamps in [since_ms, until_ms) in ``store``'s database, over every measurement."""
    total = 0
    for m in measurements:
        rows = store.rows(f'SELECT count("{COUNT_FIELD_OF[m]}") FROM "{m}" WHERE time >= {since_ms}ms AND time < {until_ms}ms')
        total += int(rows[0]["count"]) if rows else 0
    return total


def wait_both(
    stores: dict[str, InfluxStore], measurements: list[str], base_ms: int, expected: int, stall_s: float = 30
) -> dict[str, tuple[int, float]]:
    """Poll until each store holds ``expected`` readings of the phase (or makes no progress for ``stall_s``)."""
    found: dict[str, tuple[int, float]] = {}
    last = {name: (-1, time.time()) for name in stores}
    while len(found) < len(stores):
        now = time.time()
        for name, store in stores.items():
            if name in found:
                continue
            try:
                count = stored_in(store, measurements, base_ms, base_ms + _DAY_MS)
            except Exception:  # noqa: BLE001 - InfluxDB may be restarting
                count = last[name][0]
            if count >= expected:
                found[name] = (count, now)
            elif count != last[name][0]:
                last[name] = (count, now)
            elif now - last[name][1] > stall_s:
                found[name] = (max(count, 0), now)
        time.sleep(0.25)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="messages of each phase")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--outage-s", type=float, default=10.0, help="seconds InfluxDB is down in the outage phase")
    parser.add_argument("--node-red-dir", type=Path, default=ROOT / "bench" / ".node-red", help="where Node-RED is installed")
    parser.add_argument("--site", default=str(DEFAULT_SITE))
    args = parser.parse_args()
    red = install_node_red(args.node_red_dir)
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise SystemExit("node is missing: apt-get install nodejs")

    bench_args = argparse.Namespace(
        site=args.site, stats_interval=1.0, collector_args="", window=1000, publishers=args.publishers, poll=0.25, outage_hold=args.outage_s
    )
    home = Path(tempfile.mkdtemp(prefix="facmon-peers-"))
    bench = Bench(bench_args, home)
    prefix, devices = site_devices(Path(args.site))
    measurements = sorted({m for _, _, m, _ in devices})
    result: dict[str, Any] = {"messages": args.messages, "node_red": NODE_RED, "influxdb_nodes": INFLUX_NODES}
    node_red = None
    try:
        bench.stack.up(work_orders=False)
        bench.store.create_database()
        nodered_store = InfluxStore(bench.stack.influx_url, NODE_RED_DB, timeout_s=60)
        nodered_store.create_database()
        stores = {"facmon": bench.store, "node_red": nodered_store}

        user_dir = home / "node-red"
        user_dir.mkdir()
        (user_dir / "flows.json").write_text(
            json.dumps(flow(bench.stack.mqtt_port, bench.stack.influx_port, prefix, {f"{b}/{d}": m for b, d, m, _ in devices}))
        )
        settings = {
            "flowFile": str(user_dir / "flows.json"),
            "uiPort": free_port(),
            "uiHost": "127.0.0.1",
            "logging": {"console": {"level": "warn"}},
        }
        (user_dir / "settings.js").write_text(f"module.exports = {json.dumps(settings)};\n")
        # userDir is the install folder: Node-RED finds node-red-contrib-influxdb in its node_modules
        node_red = subprocess.Popen(
            [node, str(red), "--userDir", str(args.node_red_dir), "--settings", str(user_dir / "settings.js")],
            stdout=open(home / "node-red.log", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        bench.start_collector("peers")
        bench.wait_subscribed()
        time.sleep(5)  # Node-RED connects and subscribes (its log says so at warn level only on failure)

        progress(f"stream: {args.messages} messages to both")
        published = bench.collect(bench.publish("single", args.messages, STREAM_BASE_MS, workers=args.publishers))
        acked = sum(p["acked"] for p in published)
        start = min(p["start"] for p in published)
        done = wait_both(stores, measurements, STREAM_BASE_MS, acked)
        for name, (count, at) in done.items():
            result[f"{name}_stream_readings_per_s"] = round(count / (at - start), 1)
            result[f"{name}_stream_lost"] = acked - count
        progress(f"stream: {result}")

        third = args.messages // 3
        parts = [third, third, args.messages - 2 * third]
        progress(f"outage: {parts[0]} messages, InfluxDB down for {args.outage_s:g} s with {parts[1]} more, then {parts[2]}")
        acked = sum(p["acked"] for p in bench.collect(bench.publish("single", parts[0], OUTAGE_BASE_MS, workers=args.publishers)))
        time.sleep(2)
        bench.stack.stop_service("influxdb")
        down_at = time.time()
        second = bench.publish("single", parts[1], OUTAGE_BASE_MS + parts[0], workers=args.publishers)
        acked += sum(p["acked"] for p in bench.collect(second))
        time.sleep(max(0.0, args.outage_s - (time.time() - down_at)))
        bench.stack.up(work_orders=False)
        acked += sum(
            p["acked"]
            for p in bench.collect(bench.publish("single", parts[2], OUTAGE_BASE_MS + parts[0] + parts[1], workers=args.publishers))
        )
        done = wait_both(stores, measurements, OUTAGE_BASE_MS, acked, stall_s=60)
        for name, (count, _) in done.items():
            result[f"{name}_outage_lost"] = acked - count
        result["outage_published"] = acked
    finally:
        if node_red is not None and node_red.poll() is None:
            node_red.terminate()
            try:
                node_red.wait(15)
            except subprocess.TimeoutExpired:
                node_red.kill()
        bench.stop_collector()
        bench.cleanup()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
