"""Live detection: a fault in the newest readings is raised in the cycle that sees them, not when their
15-minute interval closes, and every fault records when facmon knew it (wall clock) beside when the
data showed it.

Against a real InfluxDB: the example site simulated for a morning, with the chiller CH-1 of 县政府
(A003) reporting a fault code from 10:35 local, stored, analysed to the last complete interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from facmon.analytics.analyze import analyze
from facmon.analytics.fault_detection import detect_faults, detect_faults_after
from facmon.registry import Site
from facmon.schema.faults import Fault, read_faults
from facmon.simulators import SiteSimulator, backfill
from facmon.simulators.faults import parse_faults
from facmon.store import InfluxStore

CHILLER = ("341122A003", "equipment_fault_code", "CH-1")


def _morning(site: Site, store: InfluxStore) -> tuple[datetime, datetime, datetime]:
    """(start, last complete interval, last reading) of the simulated morning, local times."""
    tz = site.site.tz
    start, fault_at, last_reading = (datetime(2026, 10, 20, h, m, tzinfo=tz) for h, m in ((6, 0), (10, 35), (10, 50)))
    scenario = (
        f"faults:\n- {{kind: equipment_fault_code, building: '341122A003', target: CH-1, start: '{fault_at.isoformat()}', duration: 2h}}\n"
    )
    faults = parse_faults(scenario, Path("live.yaml"), site)
    backfill(SiteSimulator(site, seed=5, faults=faults), store, start, last_reading + timedelta(seconds=1))
    return start, datetime(2026, 10, 20, 10, 30, tzinfo=tz), last_reading


def _chiller(found: list[Fault]) -> list[Fault]:
    return [f for f in found if (f.building, f.kind, f.target) == CHILLER]


def test_a_fault_code_in_the_newest_readings_is_raised_before_its_interval_closes(store: InfluxStore, example_site: Site) -> None:
    start, complete, last_reading = _morning(example_site, store)
    summary = analyze(example_site, store, start, complete)
    assert summary.end == complete
    detect_faults_after(example_site, store, summary)  # to the interval's end only, as `analyze` without --follow
    assert not _chiller(read_faults(store, int(start.timestamp()), int(last_reading.timestamp()) + 1))
    now_s = int(last_reading.timestamp()) + 30  # half a minute after the newest reading, as `analyze --follow` runs
    detect_faults_after(example_site, store, summary, until_s=now_s)
    (chiller,) = _chiller(read_faults(store, int(start.timestamp()), now_s))
    assert chiller.cleared_s is None and chiller.value and chiller.detail == f"fault code {chiller.value:g}"
    assert complete.timestamp() < chiller.raised_s <= last_reading.timestamp()


def test_a_rerun_keeps_when_facmon_first_knew_a_fault(store: InfluxStore, example_site: Site) -> None:
    start, _, last_reading = _morning(example_site, store)
    end_s = int(last_reading.timestamp()) + 30
    detect_faults(example_site, store, int(start.timestamp()), end_s, now_s=end_s + 5)
    detect_faults(example_site, store, int(start.timestamp()), end_s, now_s=end_s + 3600)  # the same period again, an hour later
    (chiller,) = _chiller(read_faults(store, int(start.timestamp()), end_s))
    assert chiller.noticed_s == end_s + 5
    assert chiller.raised_s is not None and chiller.raised_s < chiller.noticed_s  # data time, then wall clock


def test_detection_runs_through_every_building_before_any_meter_has_reported(store: InfluxStore, example_site: Site) -> None:
    # An empty database, as a new site's first `analyze --follow` cycle sees it. Water meters without readings
    # once stopped detection with a KeyError (and the follower with it); a device that never reported is not
    # judged (no onset to date an outage from), so the cycle ends with every building analysed and no finding.
    now = datetime(2026, 10, 20, 12, 0, tzinfo=example_site.site.tz)
    from_s, until_s = int((now - timedelta(hours=3)).timestamp()), int(now.timestamp())
    assert any(m.energy == "02" for b in example_site.buildings for m in b.meters), "the example has water meters"
    results = detect_faults(example_site, store, from_s, until_s)
    assert [(r.building, r.episodes) for r in results] == [(b.code, []) for b in example_site.buildings]
    assert read_faults(store, from_s, until_s + 1) == []
