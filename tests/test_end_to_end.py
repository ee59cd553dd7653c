"""The whole data path through the real command line: `facmon simulate` publishes, `facmon ingest`
stores, and every reading published is stored, per building and measurement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from typer.testing import CliRunner

from facmon.cli import app
from facmon.stack import free_port
from facmon.store import InfluxStore
from tests.clock import Calendar
from tests.ingest_process import IngestProcess
from tests.stored_counts import MEASUREMENTS, stored
from tests.test_ingest import purge_session, running

FACMON = str(Path(sys.executable).with_name("facmon"))


def flatten(nested: dict[str, dict[str, int]]) -> Counter:
    return Counter({(measurement, building): n for measurement, per in nested.items() for building, n in per.items()})


def wait_until_equal(store: InfluxStore, expected: Counter, timeout_s: float = 60) -> Counter:
    deadline = time.monotonic() + timeout_s
    counts = stored(store)
    while counts != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        counts = stored(store)
    return counts


def own_home_env(stack_env: dict[str, str], stack, home: Path) -> dict[str, str]:
    """The test's database on the session's servers, with a state folder (simulator registers) of its own."""
    return {
        **stack_env,
        "FACMON_HOME": str(home),
        "FACMON_MQTT_PORT": str(stack.mqtt_port),
        "FACMON_INFLUX_URL": stack.influx_url,
    }


@pytest.mark.parametrize("gateway_batches", [False, True], ids=["device-topics", "gateway-batches"])
def test_every_reading_published_live_is_stored(stack, stack_env, store, example_site, gateway_batches, tmp_path):
    env = own_home_env(stack_env, stack, tmp_path)
    collector = IngestProcess(env, "--client-id", f"e2e-{store.database}")
    try:
        collector.wait_subscribed()
        start = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
        args = [FACMON, "simulate", "--start", start.isoformat(), "--speed", "3600", "--duration", "3", "--seed", "7", "--format", "json"]
        if gateway_batches:
            args.append("--gateway-batches")
        simulate = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert simulate.returncode == 0, simulate.stderr
        published = flatten(json.loads(simulate.stdout)["published"])
        assert {b.code for b in example_site.buildings} == {building for _, building in published}
        assert {measurement for measurement, _ in published} == set(MEASUREMENTS)

        assert wait_until_equal(store, published) == published
    finally:
        exit_code = collector.terminate()
    assert exit_code == 0, "".join(collector.log)
    assert store.rows('SELECT count("written") FROM "ingest_stats"'), "the collector reports on itself"


def test_backfill_writes_history_straight_to_influxdb(stack, stack_env, store, example_site, tmp_path):
    env = own_home_env(stack_env, stack, tmp_path)
    env["FACMON_MQTT_PORT"] = "1"  # backfill must not need the broker
    result = subprocess.run(
        [FACMON, "simulate", "--backfill", "--days", "1", "--until", "2026-02-14T16:00:00+00:00", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    backfilled = flatten(json.loads(result.stdout)["backfilled"])
    assert stored(store) == backfilled
    # One day of 15-minute meter readings: 96 per meter of the site.
    n_meters = sum(len(b.meters) for b in example_site.buildings)
    assert sum(n for (measurement, _), n in backfilled.items() if measurement == "meter") == 96 * n_meters
    assert (tmp_path / "simulator-state.json").exists(), "registers are kept for a live run to continue from"


def _last_complete_month_label() -> str:
    from facmon.periods import last_complete_month

    return last_complete_month(datetime.now(ZoneInfo("Asia/Shanghai")).date()).label


def test_make_demo_runs_end_to_end_and_loses_nothing(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
    env["FACMON_HOME"] = str(home)
    ports = [free_port(), free_port(), free_port(), free_port(), free_port()]
    up = subprocess.run(
        [
            *[FACMON, "stack", "up", "--mqtt-port", str(ports[0]), "--influx-port", str(ports[1]), "--influx-rpc-port", str(ports[2])],
            *["--postgres-port", str(ports[3])],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert up.returncode == 0, up.stderr
    try:
        months_before = _last_complete_month_label()
        # the default history: from the first day of the last complete month, which the demo scores
        demo = subprocess.run(
            [FACMON, "demo", "--live-seconds", "8", "--speed", "900", "--web-port", str(ports[4])],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        months = {months_before, _last_complete_month_label()}  # the same month unless the run crossed a month's end
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "nothing lost" in demo.stdout
        store = InfluxStore(f"http://127.0.0.1:{ports[1]}", "facmon")
        counts = stored(store)
        buildings = {building for _, building in counts}
        assert len(buildings) == 5
        for measurement in MEASUREMENTS:
            assert all(counts[(measurement, b)] > 0 for b in buildings), measurement
        # the history is analysed and each building is scored and ranked
        assert "Energy-saving score" in demo.stdout
        daily = store.rows('SELECT count("consumption") FROM "energy_daily" WHERE "subitem" = \'01000\' GROUP BY "building"')
        assert {row["building"] for row in daily} == buildings
        (month,) = (m for m in months if f"scores for {m}, the last complete month" in demo.stderr)
        scores = store.rows(f'SELECT last("score"), last("rank") FROM "score_energy" WHERE "period" = \'{month}\' GROUP BY "building"')
        # the canteen is not scored: after-hours share and completeness alone (0.25 of the weights) say
        # nothing of its consumption, and GB/T 51161's office values do not apply to it
        assert {row["building"] for row in scores} == buildings - {"341122A005"}
        assert "341122A005 not scored: only after_hours, completeness available" in " ".join(demo.stdout.split())
        for row in scores:  # competition ranking: 1 + the buildings scoring better (equal scores share a rank)
            assert int(row["last_1"]) == 1 + sum(other["last"] > row["last"] for other in scores), scores
        # no component gives every building points for a reason unrelated to its energy use: plan and
        # savings have no base year or baseline in a month of history and are unavailable (not full
        # points against a national average); the data gateway of 341122A004 was offline five days, so
        # its completeness falls short and its annual intensity, from 25 days or so, is flagged
        card = json.loads(
            subprocess.run(
                [FACMON, "score", "energy", "--period", month, "--format", "json"], env=env, capture_output=True, text=True, timeout=300
            ).stdout
        )
        by_code = {b["building"]: {c["component"]: c for c in b["components"]} for b in card["buildings"]}
        assert not any(by_code[code]["plan"]["available"] or by_code[code]["savings"]["available"] for code in by_code)
        assert by_code["341122A004"]["completeness"]["points"] < by_code["341122A004"]["completeness"]["max_points"]
        assert by_code["341122A004"]["intensity"]["basis"]["flag"] and "⚠" in demo.stdout
        # the injected chiller fault code is detected, still active, and charged to the HVAC vendor
        assert "Active faults" in demo.stdout
        chiller = store.rows(
            'SELECT last("active") FROM "fault" WHERE "kind" = \'equipment_fault_code\' AND "target" = \'CH-1\' GROUP BY "building", '
            '"vendor"'
        )
        assert [(row["building"], row["vendor"], row["last"]) for row in chiller] == [("341122A003", "hvac", 1.0)]
        vendors = store.rows('SELECT last("score") FROM "score_vendor" GROUP BY "vendor"')
        assert {row["vendor"] for row in vendors} == {"property", "hvac", "elevator"}
        # and the Grafana provisioning files are where the demo says
        provisioning = home / "grafana-provisioning"
        assert str(provisioning) in demo.stdout
        assert (provisioning / "datasources").is_dir() and list((provisioning / "alerting").glob("*.yaml"))
        # the active faults with a vendor became work orders, which the web service it started shows to
        # the demo's officer; the hvac vendor sees its chiller order and nothing of property's leak
        accounts = json.loads((home / "web" / "demo-accounts.json").read_text())
        assert f"Work orders: http://127.0.0.1:{ports[4]}/" in demo.stdout
        assert all(name in demo.stdout and account["password"] in demo.stdout for name, account in accounts.items())
        api = f"http://127.0.0.1:{ports[4]}/api/orders"
        seen = requests.get(api, auth=("officer", accounts["officer"]["password"]), timeout=30).json()
        assert {("341122A003", "CH-1", "hvac"), ("341122A002", "W-TOILET", "property")} <= {
            (o["building"], o["target"], o["vendor"]) for o in seen
        }
        hvac = requests.get(api, auth=("hvac", accounts["hvac"]["password"]), timeout=30).json()
        assert {o["vendor"] for o in hvac} == {"hvac"} and any(o["target"] == "CH-1" for o in hvac)
        # the month's simulated inspections and surveys give the combined assessment its evidence: every
        # vendor graded from measured, inspections (simulated) and satisfaction (simulated), the third
        # party unavailable with its weight shared out; the command, the API and the dashboard's points agree
        assert "Combined vendor assessment" in demo.stdout and "(labelled simulated)" in demo.stdout
        combined = subprocess.run(
            [FACMON, "score", "vendors", "--combined", "--period", month, "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert combined.returncode == 0, combined.stderr
        printed = json.loads(combined.stdout)
        for vendor in printed["vendors"]:
            parts = {p["part"]: p for p in vendor["parts"]}
            assert vendor["score"] is not None and vendor["grade"] in {"excellent", "good", "pass", "fail"}, vendor
            assert parts["inspections"]["simulated"] and parts["satisfaction"]["simulated"] and not parts["third_party"]["available"]
            assert abs(sum(p["effective_weight"] for p in vendor["parts"]) - 1) < 1e-6
        answered = requests.get(
            f"http://127.0.0.1:{ports[4]}/api/assessments/{month}", auth=("officer", accounts["officer"]["password"]), timeout=60
        ).json()
        assert answered["vendors"] == printed["vendors"]
        points = store.rows(f'SELECT "score", "grade" FROM "vendor_assessment" WHERE "period" = \'{month}\' GROUP BY "vendor"')
        assert sorted((r["vendor"], r["score"]) for r in points) == sorted((v["vendor"], v["score"]) for v in printed["vendors"])

        # the reports an officer hands in show the same figures: the energy report's figures hold `score energy`'s
        # JSON key for key, the vendor workbook the combined scores, the statistics return the quarter's site totals
        def report(*args: str) -> Path:
            out = tmp_path / f"{args[0]}-{args[2]}.{args[-1]}"  # e.g. energy-2026-11.json
            made = subprocess.run([FACMON, "report", *args, "--out", str(out)], env=env, capture_output=True, text=True, timeout=300)
            assert made.returncode == 0, made.stderr[-2000:]
            return out

        figures = json.loads(report("energy", "--period", month, "--format", "json").read_text(encoding="utf-8"))
        assert {key: figures[key] for key in card} == card
        from openpyxl import load_workbook

        header, *rows = [
            list(r) for r in load_workbook(report("vendors", "--period", month, "--format", "xlsx"))["results"].iter_rows(values_only=True)
        ]
        assert sorted((r[header.index("vendor")], r[header.index("score")]) for r in rows) == sorted(
            (v["vendor"], v["score"]) for v in printed["vendors"]
        )
        quarter = f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"
        quarter_figures = json.loads(report("energy", "--period", quarter, "--format", "json").read_text(encoding="utf-8"))
        consumption = load_workbook(report("statistics", "--period", quarter, "--format", "xlsx"))["能源资源消费"]
        electricity = next(row for row in consumption.iter_rows(min_row=4, values_only=True) if row[0] == "电")
        assert electricity[3] == round(quarter_figures["site_indicators"]["totals"]["consumption_by_energy"]["01"], 2)
    finally:
        subprocess.run([FACMON, "stack", "down"], env=env, capture_output=True, text=True, timeout=120)


def test_a_fast_live_run_without_start_ends_now_so_no_reading_is_in_the_future(stack, stack_env, store, tmp_path):
    env = own_home_env(stack_env, stack, tmp_path)
    collector = IngestProcess(env, "--client-id", f"e2e-now-{store.database}")
    try:
        collector.wait_subscribed()
        before = datetime.now(UTC)
        simulate = subprocess.run(
            [FACMON, "simulate", "--speed", "1800", "--duration", "2", "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert simulate.returncode == 0, simulate.stderr
        published = flatten(json.loads(simulate.stdout)["published"])
        assert wait_until_equal(store, published) == published
    finally:
        assert collector.terminate() == 0
    newest = store.rows('SELECT last("register") FROM "meter"')[0]["time"]
    assert newest <= before.timestamp() + 60
    assert not store.rows('SELECT count("detail") FROM "ingest_rejected"'), "nothing rejected as implausible"


def test_a_live_run_without_start_ends_now_on_every_reference_day(
    stack, stack_env, store, example_site, tmp_path, monkeypatch, calendar: Calendar
):
    """The same on the fake calendar (tests/clock.py): `facmon simulate` in this process, the collector in
    a thread, both on the fake clock; every reading is stored and none is rejected as implausible."""
    for name, value in own_home_env(stack_env, stack, tmp_path).items():
        monkeypatch.setenv(name, value)
    client_id = f"e2e-calendar-{store.database}"
    try:
        with running(example_site, store, stack, client_id) as collector:
            before = datetime.now(UTC)
            simulate = CliRunner().invoke(app, ["simulate", "--speed", "1800", "--duration", "2", "--format", "json"])
            assert simulate.exit_code == 0, simulate.output
            published = flatten(json.loads(simulate.stdout)["published"])
            assert wait_until_equal(store, published) == published
        assert collector.counters.rejected_total == 0
    finally:
        purge_session(stack, client_id)
    newest = store.rows('SELECT last("register") FROM "meter"')[0]["time"]
    assert before.timestamp() - 3600 <= newest <= before.timestamp() + 60
