"""The building's name on ``fault`` points (tag ``building_name``), which Grafana's alert rules carry as
a label so a message names the building without the rules growing per building: any registry name
survives line protocol and reads back as written (on one line), and a fault's clear stays in the series
of its start, so its alert resolves, when the start predates the tag or the building was renamed."""

from __future__ import annotations

from facmon.alerts.rules import LABELS, fault_query
from facmon.analytics.fault_state import fault_lines, replace_faults
from facmon.schema.faults import (
    NAME_TAG,
    Fault,
    FaultSeries,
    building_name_tag,
    clear_line,
    last_points,
    read_faults,
    start_line,
)
from facmon.store import InfluxStore

H = 3600
B = "341122A001"
LEAK = FaultSeries("water_leak", "W-TOILET", "major", "property")
ODD_NAMES = [
    '县委办公楼（东区）, A=1 "x" $HOME {{ .Status }}',
    "trailing backslash \\",
    "二\n楼\t后勤 ",
    "  spaces  around  ",
]


def test_any_registry_name_reads_back_as_the_tag_and_stays_out_of_the_faults_identity(store: InfluxStore) -> None:
    """Commas, equals signs, quotes, spaces, braces and dollars pass line protocol's escaping and read back
    as written; control characters (a newline has no escape in a tag) become one space, a backslash the
    full-width ＼ (InfluxDB 1.x would store it doubled, and refuses one ending a tag value)."""
    lines = []
    for i, name in enumerate(ODD_NAMES):
        code = f"341122A00{i + 1}"
        lines.append(start_line(code, LEAK.named(name), 1 * H, 0.5, "leak", raised_s=1 * H))
    store.write(lines)
    rows = store.query(f'SELECT last("active") FROM "fault" GROUP BY "building", "{NAME_TAG}"')
    names = {s["tags"]["building"]: s["tags"][NAME_TAG] for s in rows}
    assert names == {f"341122A00{i + 1}": building_name_tag(name) for i, name in enumerate(ODD_NAMES)}
    assert building_name_tag("二\n楼\t后勤 ") == "二 楼 后勤"
    assert building_name_tag("trailing backslash \\") == "trailing backslash ＼"
    assert [f.building for f in read_faults(store, 0, 2 * H)] == [f"341122A00{i + 1}" for i in range(len(ODD_NAMES))]


def _alert_series(store: InfluxStore) -> list[dict]:
    """The water_leak rule's series as Grafana's query returns them (one alert instance each)."""
    return store.query(fault_query("water_leak"))


def test_a_fault_started_before_points_carried_the_name_clears_in_its_own_series(store: InfluxStore) -> None:
    """A leak started (by an older facmon) without building_name, cleared by a run that names the
    building: the clear carries no name either, so the one alert instance resolves."""
    store.write([start_line(B, LEAK, 1 * H, 0.5, "leak", raised_s=1 * H)])
    named = {("water_leak", "W-TOILET"): LEAK.named("县委办公楼")}
    last = last_points(store, B, 10 * H)
    previous = {key: (p.time_s, p.active) for key, p in last.items()}
    lines = fault_lines(B, [], named, previous, 10 * H, 20 * H, previous_names={k: p.building_name for k, p in last.items()})
    assert lines == [clear_line(B, LEAK, 10 * H)]
    replace_faults(store, [B], lines, 10 * H, 20 * H)
    (series,) = _alert_series(store)
    assert series["tags"][NAME_TAG] == "" and series["values"][0][1] == 0


def test_a_renamed_buildings_fault_clears_under_the_name_it_started_with(store: InfluxStore) -> None:
    """Started as 旧楼名, renamed in the registry, cleared: the clear keeps 旧楼名 (one series, resolved);
    the next fault starts under the new name."""
    key = ("water_leak", "W-TOILET")
    old, new = LEAK.named("旧楼名"), LEAK.named("新楼名")
    opened = Fault(B, "water_leak", "W-TOILET", onset_s=1 * H, raised_s=1 * H, value=0.5, detail="leak")
    replace_faults(store, [B], fault_lines(B, [opened], {key: old}, {}, 0, 10 * H), 0, 10 * H)
    last = last_points(store, B, 10 * H)
    assert last[key].building_name == "旧楼名" and last[key].active == 1.0
    closed = Fault(B, "water_leak", "W-TOILET", onset_s=1 * H, raised_s=1 * H, cleared_s=12 * H, value=0.5, detail="leak")
    again = Fault(B, "water_leak", "W-TOILET", onset_s=15 * H, raised_s=15 * H, value=0.7, detail="leak again")
    previous = {k: (p.time_s, p.active) for k, p in last.items()}
    lines = fault_lines(
        B, [closed, again], {key: new}, previous, 10 * H, 20 * H, previous_names={k: p.building_name for k, p in last.items()}
    )
    assert lines[0] == clear_line(B, old, 12 * H, 0.5)
    assert lines[1].startswith(start_line(B, new, 15 * H, 0.7, "leak again", raised_s=15 * H).rsplit(" ", 1)[0].split(" ")[0])
    replace_faults(store, [B], lines, 10 * H, 20 * H)
    by_name = {s["tags"][NAME_TAG]: s["values"][0][1] for s in _alert_series(store)}
    assert by_name == {"旧楼名": 0, "新楼名": 1}  # the old instance resolved, the new one fires
    assert all(set(s["tags"]) == set(LABELS) for s in _alert_series(store))
