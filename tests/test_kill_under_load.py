"""Issue 18, reliability: a collector, analysis worker or web process killed at random under load (a test
kills each in turn while the simulator streams) loses no reading, writes no duplicate fault or work order,
and resumes by itself.

The processes are the commands deploy/systemd and deploy/compose run: ``facmon ingest --shared G
--client-id C --stop-timeout 30``, ``facmon analyze --follow --interval-min M`` and ``facmon serve``,
against the session's real Mosquitto, InfluxDB and PostgreSQL and the example site. A day of history is
backfilled, then the simulator streams the last two hours of data time up to now through the broker at
240x, with three injected faults whose vendors get work orders. The stream lags the clock, so the offline
rule (judged against the clock) takes devices for offline while their readings are on their way, and the
analysis takes those episodes back once the readings are in. While it streams, each process in turn is
killed with SIGKILL at a random moment of its work (the collector mid-stream, the analysis worker
mid-cycle, the web service inside a sync transaction) and the same command line is started again, as
systemd's ``Restart=on-failure`` does (without its 5 s pause). At the end:

- every reading the simulator backfilled or the broker acknowledged is stored exactly once;
- the analysis resumed where it stood: every meter has every 15-minute interval of the whole period;
- each injected fault is detected as one episode, started and cleared where the truth says, with one
  start point (and one clear point) in the ``fault`` measurement;
- each fault with a responsible vendor has exactly one work order, opened once, and the ``work_order``
  timeline holds each event once; any other fault order is one facmon withdrew because the data no
  longer show its episode (cancelled by the system, not standing against its vendor);
- each restarted process is still running.

The seed that chooses the moments is printed; ``FACMON_KILL_SEED=<seed>`` replays a run.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from facmon.analytics.analyze import SETTLE_S
from facmon.analytics.consumption import MAX_GAP_S
from facmon.registry import Site
from facmon.schema.faults import NO_VENDOR, Fault, read_faults
from facmon.stack import Stack, free_port
from facmon.store import InfluxStore, quote_string
from tests.conftest import EXAMPLE_SITE
from tests.stored_counts import stored
from tests.test_ingest import purge_session

FACMON = str(Path(sys.executable).with_name("facmon"))
HISTORY_DAYS = 1
# Data time streamed live: what every cycle of `analyze --follow` reads again (the last complete interval
# less MAX_GAP_S + one interval, from that local midnight), so late readings of the stream are analysed
# whatever the time of day; compressed into STREAM_WALL_S of wall time.
STREAM_S = MAX_GAP_S
STREAM_WALL_S = 30
ANALYSE_EVERY_MIN = 0.1  # the shortest cycle `analyze --follow` takes
SYNC_EVERY_S = 0.5
# (kind, building, target, minutes into the stream, duration): each seen in one reading, each with a vendor
# (hvac, property, elevator); the elevator is still out of service when the stream ends.
FAULTS = (
    ("equipment_fault_code", "341122A003", "CH-1", 15, "30m"),
    ("equipment_fault_code", "341122A002", "PU-1", 35, "40m"),
    ("elevator_out_of_service", "341122A001", "EL-1", 75, "3h"),
)
DEADLINE_S = 60.0  # for a condition that does not depend on the stream: stuck, not slow


def wait_for(predicate: Callable[[], Any], what: str, timeout_s: float = DEADLINE_S, every_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(every_s)
    return value


def settle(problems: Callable[[], list[str]], timeout_s: float = DEADLINE_S) -> list[str]:
    """Poll ``problems`` until it finds none (the processes have caught up) or the deadline passes; the last findings."""
    deadline = time.monotonic() + timeout_s
    while (found := problems()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


class Service:
    """One long-running facmon command in a process group of its own, its output in a log file per run.
    ``kill`` is SIGKILL (no flush, no goodbye); ``restart`` starts the same command line again."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], folder: Path):
        self.name, self.argv, self.env, self.folder = name, argv, env, folder
        self.runs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self.start()

    def start(self) -> None:
        log = self.folder / f"{self.name}-{len(self.runs) + 1}.log"
        with log.open("wb") as errors, log.with_suffix(".out").open("wb") as output:
            self.runs.append(subprocess.Popen(self.argv, env=self.env, stdout=output, stderr=errors, start_new_session=True))
        self.logs.append(log)

    def output(self) -> str:
        """What the current run printed on stdout (its results; the log is stderr)."""
        return self.logs[-1].with_suffix(".out").read_text()

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.runs[-1]

    def log(self, run: int = -1) -> str:
        return self.logs[run].read_text(errors="replace")

    def all_logs(self) -> str:
        return "".join(f"--- {path.name}\n{path.read_text(errors='replace')}" for path in self.logs)

    def cpu_ticks(self) -> int:
        """User + system clock ticks the current run has used."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def kill(self) -> None:
        assert self.process.poll() is None, f"{self.name} was not running:\n{self.all_logs()}"
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def restart(self) -> None:
        assert self.process.poll() is not None
        self.start()

    def stop(self) -> int | None:
        """SIGTERM, then the exit code; SIGKILL (and None) if it does not stop within 40 s."""
        if self.process.poll() is not None:
            return self.process.returncode
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            return None


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """The services a test starts; whatever still runs afterwards is stopped (exactly their process groups)."""
    started: list[Service] = []
    yield started
    for service in started:
        for run in service.runs:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait(10)


def published_counts(body: dict[str, dict[str, int]]) -> Counter:
    """(measurement, building) -> readings, from `facmon simulate --format json`'s nested counts."""
    return Counter({(m, b): n for m, per in body.items() if m != "sim_truth" for b, n in per.items()})


def busy(service: Service, window_s: float = 0.03) -> bool:
    """The process used CPU in two windows in a row: in the middle of its work, not waiting for the next cycle."""
    first = service.cpu_ticks()
    time.sleep(window_s)
    second = service.cpu_ticks()
    time.sleep(window_s)
    return first < second < service.cpu_ticks()


def in_transaction(admin: psycopg.Connection, application: str) -> bool:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND xact_start IS NOT NULL", (application,)
    ).fetchone()
    return bool(row and row[0])


def idle(service: Service, quiet_s: float = 1.0) -> bool:
    """The process used no CPU for ``quiet_s``: between two cycles (each takes a few seconds of CPU, then waits)."""
    before = service.cpu_ticks()
    time.sleep(quiet_s)
    return service.cpu_ticks() == before


ANALYSED = re.compile(r"^(\S+ \S+) INFO facmon\.analytics\.analyze: analysed .*, ([\d.]+) s$", re.MULTILINE)


def cycle_starts(service: Service) -> list[float]:
    """When each cycle of the current run began (epoch s): its log line's time less the seconds it reports, rounded
    to 0.1 s (the line ends the consumption part of a cycle; fault detection follows it)."""
    return [
        datetime.strptime(at, "%Y-%m-%d %H:%M:%S,%f").timestamp() - float(seconds) - 0.1 for at, seconds in ANALYSED.findall(service.log())
    ]


def _order_key(fault: Fault) -> tuple[Any, ...]:
    """What an order records of the fault episode it was opened for (its latest)."""

    def at(epoch_s: int | None) -> datetime | None:
        return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC)

    return (fault.building, fault.kind, fault.target, fault.vendor, at(fault.onset_s), at(fault.cleared_s))


def _key_of(order: Any) -> tuple[Any, ...]:
    return (order.building, order.kind, order.target, order.vendor, order.fault_onset_at, order.fault_cleared_at)


def withdrawn(order: Any) -> bool:
    """Cancelled by facmon (not by a person) because the data no longer show the order's episode."""
    return order.state == "cancelled" and order.events.filter(action="cancel", role="system", detail__has_key="withdrawn").exists()


def fault_points(store: InfluxStore, building: str, kind: str, target: str) -> list[tuple[int, float]]:
    """Every stored point of one fault series, whatever its severity and vendor tags."""
    rows = store.rows(
        f'SELECT "active" FROM "fault" WHERE "building" = {quote_string(building)} AND "kind" = {quote_string(kind)} '
        f'AND "target" = {quote_string(target)}'
    )
    return [(int(row["time"]), float(row["active"])) for row in rows]


def iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


def test_killing_each_process_under_load_loses_nothing_duplicates_nothing_and_it_resumes(
    stack: Stack, store: InfluxStore, workorder_db: str, example_site: Site, services: list[Service], tmp_path: Path
) -> None:
    from facmon.workorders.models import Event, TimelinePending, WorkOrder

    seed = int(os.environ.get("FACMON_KILL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"kill seed {seed} (replay with FACMON_KILL_SEED={seed})")
    rng = random.Random(seed)
    site_path = EXAMPLE_SITE
    site = example_site
    interval_s = site.collection.meter_interval_s

    # -- the period: a day of history, then two hours of data streamed up to about now -----------------
    began = time.time()
    stream_start = int(began) + STREAM_WALL_S - STREAM_S  # the stream's data never runs ahead of the clock
    history_start = (stream_start - HISTORY_DAYS * 86400) // interval_s * interval_s
    stream_end = stream_start + STREAM_S
    scenario = tmp_path / "faults.yaml"
    scenario.write_text(
        "faults:\n"
        + "".join(
            f"- {{kind: {kind}, building: '{building}', target: {target}, "
            f"start: '{iso(stream_start + minutes * 60)}', duration: {duration}}}\n"
            for kind, building, target, minutes, duration in FAULTS
        )
    )
    home = tmp_path / "home"
    home.mkdir()
    dsn = stack.postgres_dsn()
    application = f"facmon-serve-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACMON_", "PG"))}
    env |= {
        "FACMON_HOME": str(home),  # the simulator's state, the spool, the web service's compiled translations
        "FACMON_SITE": str(site_path),
        "FACMON_MQTT_HOST": stack.host,
        "FACMON_MQTT_PORT": str(stack.mqtt_port),
        "FACMON_INFLUX_URL": stack.influx_url,
        "FACMON_INFLUX_DATABASE": store.database,
        "FACMON_POSTGRES_HOST": str(dsn["host"]),
        "FACMON_POSTGRES_PORT": str(dsn["port"]),
        "FACMON_POSTGRES_DB": workorder_db,
        "FACMON_POSTGRES_USER": str(dsn["user"]),
        "FACMON_POSTGRES_PASSWORD": str(dsn["password"]),
        "FACMON_WEB_SECRET_KEY": "test-secret-key-" + uuid.uuid4().hex,
    }
    backfill = subprocess.run(
        [FACMON, "simulate", "--backfill", "--from", iso(history_start), "--until", iso(stream_start)]
        + ["--faults", str(scenario), "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert backfill.returncode == 0, backfill.stderr
    backfilled = published_counts(json.loads(backfill.stdout)["backfilled"])

    group, client_id, port = f"kill-{uuid.uuid4().hex[:8]}", f"facmon-ingest-kill-{uuid.uuid4().hex[:8]}", free_port()
    commands = {
        "ingest": [FACMON, "ingest", "--shared", group, "--client-id", client_id, "--stop-timeout", "30"],
        "analyze": [FACMON, "analyze", "--follow", "--interval-min", f"{ANALYSE_EVERY_MIN:g}"],
        "serve": [FACMON, "serve", "--host", "127.0.0.1", "--port", str(port), "--interval-s", f"{SYNC_EVERY_S:g}"],
    }
    web_env = env | {"PGAPPNAME": application}  # libpq names the web service's connections: the test sees its transactions
    try:
        collector, analysis, web = (Service(name, argv, web_env if name == "serve" else env, tmp_path) for name, argv in commands.items())
        services += [collector, analysis, web]
        wait_for(lambda: "subscribed to" in collector.log(), "the collector to subscribe")
        labels = tmp_path / "labels.json"
        simulator = Service(
            "simulate",
            [FACMON, "simulate", "--start", iso(stream_start), "--speed", f"{STREAM_S / STREAM_WALL_S:g}"]
            + ["--duration", str(STREAM_WALL_S), "--faults", str(scenario), "--labels-out", str(labels), "--format", "json"],
            env,
            tmp_path,
        )
        services.append(simulator)
        moments: dict[str, str] = {}

        def streaming() -> str:
            return "while the simulator streams" if simulator.process.poll() is None else "AFTER the stream"

        # -- the collector, mid-stream: after a random share of the stream is stored -----------------------
        expected_stream = sum(backfilled.values()) * STREAM_S / ((stream_start - history_start) or 1)
        share = rng.uniform(0.15, 0.45)
        wait_for(
            lambda: sum(stored(store).values()) - sum(backfilled.values()) >= share * expected_stream,
            f"{share:.0%} of the stream stored",
            every_s=0.05,
        )
        collector.kill()
        moments["ingest"] = f"after {share:.0%} of the stream was stored, {streaming()}"
        collector.restart()
        wait_for(lambda: "subscribed to" in collector.log(), "the restarted collector to subscribe")
        assert "(session resumed)" in collector.log(), collector.all_logs()  # the broker kept what it had not acknowledged

        # -- the analysis worker, mid-cycle: the first moment it works after a random delay --------------
        time.sleep(rng.uniform(0.0, ANALYSE_EVERY_MIN * 60))
        wait_for(lambda: busy(analysis), "the analysis worker in a cycle", every_s=0.0)
        cycles = len(cycle_starts(analysis))
        analysis.kill()
        moments["analyze"] = f"mid-cycle after {cycles} complete cycle(s), {streaming()}"
        analysis.restart()

        # -- the web service, mid-sync: inside a transaction of the fault sync after a random delay (it syncs
        # every SYNC_EVERY_S here, not every 10 s, so that a pass is under way when the test looks) ---------
        time.sleep(rng.uniform(0.0, 3.0))
        with psycopg.connect(**{**dsn, "dbname": workorder_db}, autocommit=True) as admin:
            wait_for(lambda: in_transaction(admin, application), "the web service inside a sync transaction", every_s=0.001)
            web.kill()
        moments["serve"] = f"inside a database transaction with {WorkOrder.objects.count()} order(s) opened, {streaming()}"
        web.restart()
        print("killed: " + "; ".join(f"{name} {moment}" for name, moment in moments.items()))

        # -- the stream ends; every reading it published is stored once ------------------------------------
        assert simulator.process.wait(STREAM_WALL_S + 60) == 0, simulator.all_logs()
        published = published_counts(json.loads(simulator.output())["published"])
        truth = json.loads(labels.read_text())["faults"]
        assert {(t["building"], t["kind"], t["target"]) for t in truth} == {(b, k, t) for k, b, t, _, _ in FAULTS}
        expected = backfilled + published

        def readings() -> list[str]:
            counts = stored(store)
            return [] if counts == expected else [f"stored beyond what was sent: {counts - expected}, missing: {expected - counts}"]

        problems = settle(readings)
        assert not problems, "\n".join(problems) + "\n" + collector.all_logs()
        print(f"{time.time() - began:.0f} s: every reading stored")

        # -- a whole cycle of the analysis on the complete data -------------------------------------------
        complete_at = time.time()
        wait_for(
            lambda: max(cycle_starts(analysis), default=0.0) > complete_at,
            f"a cycle of the restarted analysis worker begun after the last reading (running: {analysis.process.poll() is None})",
        )
        wait_for(lambda: idle(analysis), "that cycle's fault detection to finish", every_s=0.0)

        # -- the analysis resumed where it stood: every interval of every meter, history and stream ---------
        meters = {(b.code, m.id) for b in site.buildings for m in b.meters}
        # the last interval complete when the stream ended: what a cycle after it has analysed
        last_complete = (stream_end - SETTLE_S) // interval_s * interval_s

        def analysed() -> list[str]:
            rows = store.rows(
                f'SELECT count("consumption") FROM "energy_interval" WHERE time >= {history_start}s AND time < {last_complete}s '
                'GROUP BY "building", "meter"'
            )
            counts = {(row["building"], row["meter"]): int(row["count"]) for row in rows}
            whole = (last_complete - history_start) // interval_s
            short = {key: counts.get(key, 0) for key in meters if counts.get(key, 0) != whole}
            estimated = store.rows(
                f'SELECT count("estimated") FROM "energy_interval" WHERE "estimated" = true AND time >= {history_start}s'
            )
            return [f"{len(short)} meter(s) without all {whole} intervals of the period: {short}"] * bool(short) + [
                f"intervals estimated although no reading was lost: {estimated}"
            ] * bool(estimated)

        problems = settle(analysed)
        assert not problems, "\n".join(problems) + "\n" + analysis.all_logs()

        # -- each injected fault: one episode, where the truth puts it, with one start point (and one clear) -
        reading_s = max(site.collection.ieq_interval_s, site.collection.equipment_interval_s)
        injected = {(t["building"], t["kind"], t["target"]) for t in truth}

        def detected() -> list[Fault]:
            return read_faults(store, history_start, int(time.time()) + 1)

        def faults() -> list[str]:
            found, wrong = detected(), []
            for fault in truth:
                series = (fault["building"], fault["kind"], fault["target"])
                episodes = [f for f in found if (f.building, f.kind, f.target) == series]
                if len(episodes) != 1:
                    wrong.append(f"{series}: {len(episodes)} episodes for one injected fault: {episodes}")
                    continue
                (episode,) = episodes
                cleared = fault["end_s"] <= stream_end - reading_s
                if not (
                    fault["start_s"] <= episode.onset_s <= fault["start_s"] + reading_s  # the first reading showing it
                    and (
                        episode.cleared_s is not None and fault["end_s"] <= episode.cleared_s <= fault["end_s"] + reading_s
                        if cleared
                        else episode.cleared_s is None
                    )
                    and episode.vendor == fault["vendor"]
                ):
                    wrong.append(f"{series}: detected {episode}, injected {fault}")
                points = [(episode.onset_s, 1.0)] + ([(episode.cleared_s, 0.0)] if episode.cleared_s is not None else [])
                if (stored_points := fault_points(store, *series)) != points:
                    wrong.append(f"{series}: fault points {stored_points}, one episode is {points}")
            # nothing else with a vendor: no stray episode left behind by a kill (or by the stream's own lag)
            stray = [f for f in found if f.vendor != NO_VENDOR and (f.building, f.kind, f.target) not in injected]
            return wrong + [f"faults with a vendor that were not injected: {stray}"] * bool(stray)

        problems = settle(faults)
        assert not problems, "\n".join(problems) + "\n" + analysis.all_logs()

        # -- each fault episode with a vendor: exactly one work order, opened once, on the timeline once ----
        def orders() -> list[str]:
            found = detected()
            owned = [f for f in found if f.vendor != NO_VENDOR]
            made = list(WorkOrder.objects.filter(source=WorkOrder.SOURCE_FAULT))
            # orders of episodes the stream's lag made, which the analysis took back: withdrawn by facmon
            taken_back = [o for o in made if withdrawn(o)]
            made = [o for o in made if o not in taken_back]
            shown = {(f.building, f.kind, f.target, datetime.fromtimestamp(f.onset_s, UTC)) for f in found}
            wrong = [
                f"{o} withdrawn although the data show its episode"
                for o in taken_back
                if (o.building, o.kind, o.target, o.fault_onset_at) in shown
            ]
            wrong += [f"no order (or one out of step) for {f}" for f in owned if _order_key(f) not in {_key_of(o) for o in made}]
            per_series = Counter((o.building, o.kind, o.target, o.vendor) for o in made)
            if per_series != Counter((f.building, f.kind, f.target, f.vendor) for f in owned):
                wrong.append(f"orders per fault series: {dict(per_series)}, fault episodes with a vendor: {owned}")
                wrong += [
                    f"{o}: onset {o.fault_onset_at}, cleared {o.fault_cleared_at}, reported {o.reported_at}, events "
                    + ", ".join(f"{e.action} at {e.at} (recorded {e.recorded_at}) {e.detail}" for e in o.events.all())
                    for o in made
                ]
            opened = Counter(e.order.number for e in Event.objects.filter(action="open").select_related("order"))
            wrong += [f"{number} opened {n} times" for number, n in opened.items() if n != 1]
            if TimelinePending.objects.exists():
                wrong.append(f"{TimelinePending.objects.count()} event(s) not yet on the timeline")
            timeline = Counter(row["order"] for row in store.rows('SELECT "action" FROM "work_order" GROUP BY "order"'))
            events = Counter(e.order.number for e in Event.objects.select_related("order"))
            return wrong + [f"work_order points per order {dict(timeline)}, events {dict(events)}"] * (timeline != events)

        problems = settle(orders)
        assert not problems, "\n".join(problems) + "\n" + web.all_logs()
        lagged = sum(withdrawn(o) for o in WorkOrder.objects.filter(source=WorkOrder.SOURCE_FAULT))
        print(f"{time.time() - began:.0f} s: the end state matches the truth ({lagged} order(s) of lag-made episodes withdrawn)")

        # -- each process resumed by itself and is still running ------------------------------------------
        for service in (collector, analysis, web):
            assert [run.returncode for run in service.runs] == [-signal.SIGKILL, None], f"{service.name}:\n{service.all_logs()}"
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=10).status_code < 500
        assert collector.stop() == 0, collector.all_logs()  # everything it received is stored and acknowledged
        for service in (analysis, web):
            service.stop()
    finally:
        for service in services:
            service.stop()
        purge_session(stack, client_id)
