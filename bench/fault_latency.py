"""Time to page, measured live: simulator → broker → collector → `analyze --follow` at 1×, faults injected.

Starts its own Mosquitto and InfluxDB in a temporary folder (free ports), backfills two days of the
example site, then runs the real commands as an operator would: `facmon ingest`, `facmon analyze
--follow --interval-min M` and `facmon simulate --faults F --duration D` (1×), with three faults
starting 90 s into the live run: a chiller fault code (visible in one reading), an elevator out of
service (critical; visible in one reading) and an IEQ sensor offline (a persistence rule: met when
2.5 reporting intervals pass without a reading). It polls InfluxDB every few seconds and reports per
fault, in wall-clock seconds:

- ``shown_to_fault_s``: from the moment the data showed the fault (the first stored reading showing
  it, or the moment the offline rule was met) to the ``fault`` point being in InfluxDB;
- ``shown_to_alert_query_s``: to the moment the alert rule's own query (alerts/rules.py fault_query)
  returns the fault as active; Grafana adds up to its evaluation interval (60 s) on top;
- ``noticed_minus_raised_s``: the fault's own record of facmon's pipeline delay.

Targets (issue 21): within 120 s for faults visible in one reading and for persistence rules.

    .venv/bin/python bench/fault_latency.py --duration-min 20 --follow-interval-min 1
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facmon.alerts.rules import fault_query  # noqa: E402
from facmon.registry import load_site  # noqa: E402
from facmon.schema.faults import read_faults  # noqa: E402
from facmon.stack import Stack, free_port  # noqa: E402
from facmon.store import InfluxStore, quote_string  # noqa: E402

SITE = ROOT / "examples" / "county-offices.yaml"
FACMON = str(Path(sys.executable).parent / "facmon")
# (kind, building, target, how the data shows it)
FAULTS = (
    ("equipment_fault_code", "341122A003", "CH-1", "reading"),
    ("elevator_out_of_service", "341122A001", "EL-1", "reading"),
    ("device_offline", "341122A001", "IEQ-1F", "rule"),
)


def log(message: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {message}", file=sys.stderr, flush=True)


def _first_showing(store: InfluxStore, kind: str, building: str, target: str, since_s: int) -> int | None:
    """Data time (epoch s) of the first stored reading showing the fault."""
    where = f'"building" = {quote_string(building)} AND "equipment" = {quote_string(target)} AND time >= {since_s}s'
    condition = '"fault_code" > 0' if kind == "equipment_fault_code" else '"running" = 0'
    rows = store.rows(f'SELECT first("running") FROM "equipment" WHERE {where} AND {condition}')
    return int(rows[0]["time"]) if rows else None


def _offline_rule_met(store: InfluxStore, building: str, target: str, since_s: int, interval_s: int, missed: float) -> int | None:
    """Data time when the offline rule was met: the last reading before the gap + missed × interval."""
    rows = store.rows(
        f'SELECT last("temperature") FROM "ieq" WHERE "building" = {quote_string(building)} AND "sensor" = {quote_string(target)} '
        f"AND time >= {since_s - 3600}s"
    )
    if not rows:
        return None
    met = int(rows[0]["time"]) + int(missed * interval_s)
    return met if met <= time.time() and int(rows[0]["time"]) >= since_s - interval_s else None


def _alert_active(store: InfluxStore, kind: str, building: str, target: str) -> bool:
    for series in store.query(fault_query(kind)):
        tags = series.get("tags", {})
        if tags.get("building") == building and tags.get("target") == target and series["values"][0][1] == 1:
            return True
    return False


def run(duration_min: float, follow_interval_min: float, fault_delay_s: float, poll_s: float) -> dict[str, Any]:
    site = load_site(SITE)
    with tempfile.TemporaryDirectory(prefix="facmon-bench-latency-") as folder:
        home = Path(folder)
        stack = Stack(home, mqtt_port=free_port(), influx_port=free_port(), influx_rpc_port=free_port())
        stack.up(work_orders=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
        env.update(
            FACMON_HOME=str(home),
            FACMON_SITE=str(SITE),
            FACMON_MQTT_PORT=str(stack.mqtt_port),
            FACMON_INFLUX_URL=stack.influx_url,
            FACMON_INFLUX_DATABASE="facmon",
        )
        store = InfluxStore(stack.influx_url, "facmon")
        processes: list[subprocess.Popen[bytes]] = []
        try:
            log("backfill: two days of history up to now")
            subprocess.run([FACMON, "simulate", "--backfill", "--days", "2"], env=env, check=True, capture_output=True, timeout=900)
            live_start = datetime.now(UTC)
            fault_start = live_start + timedelta(seconds=fault_delay_s)
            scenario = home / "live.yaml"
            scenario.write_text(
                "faults:\n"
                + "".join(
                    f"- {{kind: {kind}, building: '{building}', target: {target}, start: '{fault_start.isoformat()}', duration: 2h}}\n"
                    for kind, building, target, _ in FAULTS
                )
            )
            logs = {name: open(home / f"{name}.log", "wb") for name in ("ingest", "analyze", "simulate")}  # noqa: SIM115
            commands = {
                "ingest": [FACMON, "ingest"],
                "analyze": [FACMON, "analyze", "--follow", "--interval-min", f"{follow_interval_min:g}"],
                "simulate": [FACMON, "simulate", "--faults", str(scenario), "--duration", f"{duration_min * 60:g}"],
            }
            for name, command in commands.items():
                processes.append(subprocess.Popen(command, env=env, stdout=logs[name], stderr=subprocess.STDOUT, start_new_session=True))
                time.sleep(2)
            log(f"live: faults from {fault_start:%H:%M:%S} UTC; running {duration_min:g} min")
            since_s = int(fault_start.timestamp())
            seen: dict[str, dict[str, float | None]] = {
                f"{k}/{b}/{t}": {"shown": None, "fault": None, "alert": None} for k, b, t, _ in FAULTS
            }
            raised: dict[str, tuple[int | None, int | None]] = {}
            deadline = time.time() + duration_min * 60
            while time.time() < deadline and not all(all(v is not None for v in s.values()) for s in seen.values()):
                now = time.time()
                for kind, building, target, shows in FAULTS:
                    key, mark = f"{kind}/{building}/{target}", seen[f"{kind}/{building}/{target}"]
                    if mark["shown"] is None:
                        if shows == "reading":
                            first = _first_showing(store, kind, building, target, since_s)
                            mark["shown"] = now if first is not None else None  # stored now: the wall clock it became visible
                        else:
                            met = _offline_rule_met(
                                store, building, target, since_s, site.collection.ieq_interval_s, site.detection.offline_missed_readings
                            )
                            mark["shown"] = float(met) if met is not None else None
                    if mark["fault"] is None:
                        found = [
                            f
                            for f in read_faults(store, since_s - 3600, int(now) + 1)
                            if (f.kind, f.building, f.target) == (kind, building, target)
                        ]
                        if found:
                            mark["fault"] = now
                            raised[key] = (found[0].raised_s, found[0].noticed_s)
                    if mark["alert"] is None and _alert_active(store, kind, building, target):
                        mark["alert"] = now
                time.sleep(poll_s)
        finally:
            for process in processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            stack.down()

    def delay(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(b - a, 1)

    faults = {}
    for (_, _, _, shows), (key, mark) in zip(FAULTS, seen.items(), strict=True):
        raised_s, noticed_s = raised.get(key, (None, None))
        faults[key] = {
            "shows_in": "one reading" if shows == "reading" else "a persistence rule (offline after 2.5 intervals)",
            "shown_to_fault_s": delay(mark["shown"], mark["fault"]),
            "shown_to_alert_query_s": delay(mark["shown"], mark["alert"]),
            "noticed_minus_raised_s": None if raised_s is None or noticed_s is None else noticed_s - raised_s,
            "target_met": (delay(mark["shown"], mark["alert"]) or 10**9) <= 120,
        }
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "options": {"duration_min": duration_min, "follow_interval_min": follow_interval_min, "poll_s": poll_s},
        "faults": faults,
        "target_met": all(f["target_met"] for f in faults.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-min", type=float, default=20.0, help="wall-clock minutes of the live run")
    parser.add_argument("--follow-interval-min", type=float, default=1.0, help="analyze --follow --interval-min")
    parser.add_argument("--fault-delay-s", type=float, default=90.0, help="seconds into the live run the faults start")
    parser.add_argument("--poll-s", type=float, default=5.0, help="seconds between polls of InfluxDB")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.duration_min, args.follow_interval_min, args.fault_delay_s, args.poll_s), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
