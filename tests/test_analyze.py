"""`facmon analyze` against a real InfluxDB: simulated registers in, energy_interval / meter_daily / energy_daily out.

Expected values are computed independently from the stored registers (main-meter register
differences between local midnights), never taken from the code under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from facmon.analytics.analyze import AnalysisSummary, analyze, follow
from facmon.registry import Site
from facmon.simulators import SiteSimulator, backfill
from facmon.stack import Stack, free_port
from facmon.store import InfluxStore, StoreUnavailable
from tests.conftest import EXAMPLE_SITE

FACMON = str(Path(sys.executable).with_name("facmon"))

# Three local (Asia/Shanghai) days, 2026-03-02 .. 2026-03-04, with readings from hours before to hours after.
SINCE = datetime.fromisoformat("2026-03-02T00:00+08:00")
UNTIL = datetime.fromisoformat("2026-03-05T00:00+08:00")
MIDNIGHTS = [int(datetime.fromisoformat(f"2026-03-0{d}T00:00+08:00").timestamp()) for d in (2, 3, 4, 5)]
BACKFILL = (datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 3, 5, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def analysed(stack: Stack, example_site: Site) -> Iterator[tuple[InfluxStore, AnalysisSummary]]:
    """A database holding three simulated days of the example site, analysed once."""
    database = f"test_{uuid.uuid4().hex[:12]}"
    store = InfluxStore(stack.influx_url, database)
    store.create_database()
    backfill(SiteSimulator(example_site, seed=3), store, *BACKFILL)
    summary = analyze(example_site, store, SINCE, UNTIL)
    yield store, summary
    store.query(f'DROP DATABASE "{database}"', method="POST")
    store.close()


def registers_at(store: InfluxStore, building: str, meter: str, times_s: list[int]) -> list[float]:
    """The stored register of one meter at each of the given instants (readings are on the 15-minute grid)."""
    rows = store.rows(
        f'SELECT "register" FROM "meter" WHERE "building"=\'{building}\' AND "meter"=\'{meter}\' '
        f"AND time >= {times_s[0]}s AND time <= {times_s[-1]}s"
    )
    by_time = {row["time"]: row["register"] for row in rows}
    return [by_time[t] for t in times_s]


def all_points(store: InfluxStore, measurement: str) -> list[tuple]:
    """Every point of a measurement as (name, value) tuples of its time, tags and fields, in a fixed order."""
    rows = store.rows(f'SELECT * FROM "{measurement}"')
    return sorted((tuple(sorted(row.items())) for row in rows), key=repr)


def test_daily_electricity_totals_equal_main_meter_register_differences(analysed, example_site):
    """The 01000 row of each building and local day is the main meter's register rise between the
    two local midnights; kgce = kWh × 0.1229 and CO₂ = kWh × 0.5306 (2023 national)."""
    store, _ = analysed
    rows = store.rows(
        'SELECT "consumption", "kgce", "co2_kg", "factor_version" FROM "energy_daily" WHERE "subitem"=\'01000\' GROUP BY "building"'
    )
    got = {(row["building"], row["time"]): row for row in rows}
    assert len(got) == len(example_site.buildings) * 3
    for building in example_site.buildings:
        mains = [m for m in building.meters if m.subitem == "01000"]
        assert mains, building.code
        rises = [0.0, 0.0, 0.0]
        for meter in mains:
            registers = registers_at(store, building.code, meter.id, MIDNIGHTS)
            assert registers == sorted(registers), "premise: no wrap or replacement in these days"
            rises = [total + later - earlier for total, earlier, later in zip(rises, registers, registers[1:])]
        for day_start, rise_kwh in zip(MIDNIGHTS, rises):
            row = got[(building.code, day_start)]
            assert row["consumption"] == pytest.approx(rise_kwh, rel=1e-9, abs=1e-5)
            assert row["kgce"] == pytest.approx(rise_kwh * 0.1229, rel=1e-9, abs=1e-5)
            assert row["co2_kg"] == pytest.approx(rise_kwh * 0.5306, rel=1e-9, abs=1e-5)
            assert row["factor_version"] == "2023-national"


def test_sub_item_rows_follow_the_meters_subitem_tags(analysed, example_site):
    """Building 341122A001 has rows for exactly the sub-items its electricity meters are tagged with;
    01A10 (nine floors of lighting) is the sum of the nine E-LS meters' register rises on the first day."""
    store, _ = analysed
    building = example_site.building("341122A001")
    rows = store.rows(
        f'SELECT "consumption" FROM "energy_daily" WHERE "building"=\'341122A001\' AND "energy"=\'01\' AND time = {MIDNIGHTS[0]}s GROUP '
        f'BY "subitem"'
    )
    assert {row["subitem"] for row in rows} == {m.subitem for m in building.meters if m.energy == "01"}
    lighting = next(row for row in rows if row["subitem"] == "01A10")
    expected = 0.0
    for meter in building.meters:
        if meter.subitem == "01A10":
            first, second = registers_at(store, "341122A001", meter.id, MIDNIGHTS[:2])
            expected += second - first
    assert lighting["consumption"] == pytest.approx(expected, rel=1e-9, abs=1e-5)


def test_a_clean_simulated_day_is_complete(analysed, example_site):
    """Every meter has all 96 intervals of every local day measured: completeness 1, nothing estimated."""
    store, summary = analysed
    rows = store.rows('SELECT * FROM "meter_daily"')
    assert len(rows) == sum(len(b.meters) for b in example_site.buildings) * 3
    assert {row["completeness"] for row in rows} == {1.0}
    assert {row["expected_intervals"] for row in rows} == {96.0}
    assert {row["estimated_intervals"] for row in rows} == {0.0}
    assert all(not b.as_dict()["intervals"]["estimated"] and not b.as_dict()["intervals"]["missing"] for b in summary.buildings)
    estimated = store.rows('SELECT count("consumption") FROM "energy_interval" WHERE "estimated" = true')
    assert estimated == []


def test_rerunning_a_period_rewrites_identical_points(analysed, example_site):
    """Analysing the same days again, and an overlapping later period, leaves every point and value as it was."""
    store, _ = analysed
    before = {m: all_points(store, m) for m in ("energy_interval", "meter_daily", "energy_daily")}
    assert len(before["energy_interval"]) == sum(len(b.meters) for b in example_site.buildings) * 3 * 96
    analyze(example_site, store, SINCE, UNTIL)
    analyze(example_site, store, datetime.fromisoformat("2026-03-03T12:00+08:00"), UNTIL)
    after = {m: all_points(store, m) for m in before}
    assert after == before


def test_deleted_hour_is_estimated_and_a_long_gap_is_missing_and_reported(store, example_site):
    """One hour of E-LS-1F deleted: the five intervals from the last reading before to the first after
    are estimated, the day still adds up to the register rise. Three hours of E-LS-2F deleted: 13
    intervals missing and reported as one gap."""
    backfill(SiteSimulator(example_site, seed=5), store, datetime(2026, 3, 2, 12, tzinfo=UTC), datetime(2026, 3, 3, 20, tzinfo=UTC))
    # local day 2026-03-03: 2026-03-02T16:00Z .. 2026-03-03T16:00Z
    day = [
        int(datetime.fromisoformat("2026-03-03T00:00+08:00").timestamp()),
        int(datetime.fromisoformat("2026-03-04T00:00+08:00").timestamp()),
    ]
    store.query(
        'DELETE FROM "meter" WHERE "building"=\'341122A001\' AND "meter"=\'E-LS-1F\' '
        "AND time >= '2026-03-03T02:00:00Z' AND time < '2026-03-03T03:00:00Z'",
        method="POST",
    )
    store.query(
        'DELETE FROM "meter" WHERE "building"=\'341122A001\' AND "meter"=\'E-LS-2F\' '
        "AND time >= '2026-03-03T04:00:00Z' AND time < '2026-03-03T07:00:00Z'",
        method="POST",
    )
    summary = analyze(
        example_site, store, datetime.fromisoformat("2026-03-03T00:00+08:00"), datetime.fromisoformat("2026-03-04T00:00+08:00")
    )

    estimated = store.rows(
        'SELECT "consumption" FROM "energy_interval" WHERE "meter"=\'E-LS-1F\' AND "building"=\'341122A001\' AND "estimated" = true'
    )
    first = int(datetime(2026, 3, 3, 1, 45, tzinfo=UTC).timestamp())
    assert [row["time"] for row in estimated] == [first + 900 * k for k in range(5)]
    [daily] = store.rows('SELECT * FROM "meter_daily" WHERE "meter"=\'E-LS-1F\' AND "building"=\'341122A001\'')
    assert (daily["measured_intervals"], daily["estimated_intervals"], daily["missing_intervals"]) == (91.0, 5.0, 0.0)
    assert daily["completeness"] == pytest.approx(91 / 96)
    start_register, end_register = registers_at(store, "341122A001", "E-LS-1F", day)
    assert daily["consumption"] == pytest.approx(end_register - start_register, rel=1e-9, abs=1e-5)

    [long_gap] = store.rows('SELECT * FROM "meter_daily" WHERE "meter"=\'E-LS-2F\' AND "building"=\'341122A001\'')
    assert (long_gap["measured_intervals"], long_gap["missing_intervals"]) == (83.0, 13.0)
    reported = [(m.meter, m.gaps) for b in summary.buildings for m in b.meters if m.gaps]
    assert reported == [("E-LS-2F", [("2026-03-03T03:45:00+00:00", "2026-03-03T07:00:00+00:00")])]
    missing = store.rows(
        'SELECT count("consumption") FROM "energy_interval" WHERE "meter"=\'E-LS-2F\' AND "building"=\'341122A001\' '
        "AND time >= '2026-03-03T03:45:00Z' AND time < '2026-03-03T07:00:00Z'"
    )
    assert missing == []


def test_an_estimated_interval_whose_readings_arrive_late_is_measured_on_the_next_run(store, example_site):
    """Measured intervals carry no `estimated` field; an interval estimated across a gap is flagged true,
    and once the gateway's buffered readings arrive a rerun stores it measured (flag false, value exact)."""
    simulator = SiteSimulator(example_site, seed=5)
    start, end = datetime(2026, 3, 2, 12, tzinfo=UTC), datetime(2026, 3, 3, 20, tzinfo=UTC)
    backfill(simulator, store, start, end)
    day = (datetime.fromisoformat("2026-03-03T00:00+08:00"), datetime.fromisoformat("2026-03-04T00:00+08:00"))
    gap = "\"building\"='341122A001' AND \"meter\"='E-LS-1F' AND time >= '2026-03-03T02:00:00Z' AND time < '2026-03-03T03:00:00Z'"
    store.query(f'DELETE FROM "meter" WHERE {gap}', method="POST")
    analyze(example_site, store, *day)
    where = "\"meter\"='E-LS-1F' AND \"building\"='341122A001'"
    flagged = store.rows(f'SELECT "consumption" FROM "energy_interval" WHERE {where} AND "estimated" = true')
    assert len(flagged) == 5
    assert store.rows(f'SELECT count("estimated") FROM "energy_interval" WHERE {where}')[0]["count"] == 5, (
        "measured intervals carry no flag"
    )

    backfill(simulator, store, start, end)  # the buffered readings arrive
    analyze(example_site, store, *day)
    assert not store.rows(f'SELECT "consumption" FROM "energy_interval" WHERE {where} AND "estimated" = true')
    cleared = store.rows(f'SELECT "consumption", "estimated" FROM "energy_interval" WHERE {where} AND "estimated" = false')
    assert [row["time"] for row in cleared] == [row["time"] for row in flagged]
    times = [row["time"] for row in cleared]
    registers = registers_at(store, "341122A001", "E-LS-1F", [times[0], times[-1] + 900])
    assert sum(row["consumption"] for row in cleared) == pytest.approx(registers[1] - registers[0], abs=1e-5)


def test_follow_survives_an_unreachable_influxdb_and_keeps_cycling(example_site):
    """With InfluxDB away every cycle fails with StoreUnavailable, is reported, and the loop goes on until stopped."""
    nobody = InfluxStore(f"http://127.0.0.1:{free_port()}", "facmon", timeout_s=2)
    stop = threading.Event()
    errors: list[BaseException | None] = []

    def on_cycle(summary, error):
        errors.append(error)
        if len(errors) == 3:
            stop.set()

    follow(example_site, nobody, every_s=0.01, stop=stop, on_cycle=on_cycle)
    assert len(errors) == 3 and all(isinstance(e, StoreUnavailable) for e in errors)


def test_follow_catches_up_then_keeps_to_the_current_day(store, example_site):
    """At 2026-03-05T07:10+08:00 with nothing analysed yet, the first cycle covers the last 2 days
    (from local 2026-03-03) up to 07:00, the last complete interval; the next cycle only the current local day."""
    backfill(SiteSimulator(example_site, seed=7), store, datetime(2026, 3, 2, 12, tzinfo=UTC), datetime(2026, 3, 5, 0, tzinfo=UTC))
    stop = threading.Event()
    summaries: list[AnalysisSummary] = []

    def on_cycle(summary, error):
        assert error is None
        summaries.append(summary)
        if len(summaries) == 2:
            stop.set()

    follow(example_site, store, every_s=0.01, stop=stop, on_cycle=on_cycle, now=lambda: datetime.fromisoformat("2026-03-05T07:10+08:00"))
    first, second = summaries
    assert (first.start, first.end) == (datetime.fromisoformat("2026-03-03T00:00+08:00"), datetime.fromisoformat("2026-03-05T07:00+08:00"))
    assert (second.start, second.end) == (
        datetime.fromisoformat("2026-03-05T00:00+08:00"),
        datetime.fromisoformat("2026-03-05T07:00+08:00"),
    )
    assert all(not m.missing for b in second.buildings for m in b.meters)


def test_cli_analyze_prints_json_and_refuses_a_bad_date(analysed, stack):
    """`facmon analyze --since 2026-03-02 --until 2026-03-04 --format json` covers the three local days;
    a malformed --since is one error line, no traceback."""
    store, summary = analysed
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
    env.update(FACMON_HOME=str(stack.home), FACMON_INFLUX_DATABASE=store.database, FACMON_SITE=str(EXAMPLE_SITE))
    result = subprocess.run(
        [FACMON, "analyze", "--since", "2026-03-02", "--until", "2026-03-04", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["days"] == 3 and body["start"] == "2026-03-01T16:00:00+00:00" and body["end"] == "2026-03-04T16:00:00+00:00"
    assert {b["building"]: b["totals"] for b in body["buildings"]} == {b.building: b.totals for b in summary.buildings}
    bad = subprocess.run([FACMON, "analyze", "--since", "March 2nd"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--since 'March 2nd'" in bad.stderr


def test_field_series_reads_one_series_as_columns(store):
    """InfluxStore.field_series (CSV, chunked) returns exactly the points of the series asked for, in
    time order, within [start, end), and empty arrays when there are none."""
    store.write(
        [
            "meter,building=341122A001,meter=E-MAIN register=10.5 1000",
            "meter,building=341122A001,meter=E-MAIN register=12.25 1900",
            "meter,building=341122A001,meter=E-MAIN register=99.0 2800",
            "meter,building=341122A001,meter=E-IT register=7.0 1900",
        ],
        precision="s",
    )
    times, values = store.field_series("meter", "register", {"building": "341122A001", "meter": "E-MAIN"}, 1000, 2800)
    assert times.tolist() == [1000, 1900] and values.tolist() == [10.5, 12.25]
    none_t, none_v = store.field_series("meter", "register", {"building": "341122A001", "meter": "E-NONE"}, 0, 5000)
    assert none_t.size == 0 and none_v.size == 0
