"""Fault state across runs: detected episodes become ``fault`` points that continue what earlier runs wrote.

Contract (README, Storage): measurement ``fault``, tags building, kind, severity, vendor, target;
fields ``active`` (1.0 at the start, 0.0 at the clear), ``value``, ``detail``, and on the start point
``raised`` (epoch s: when detection raised it). One point when a fault starts and one when it clears;
an active fault gets no repeated points, so "currently active" is ``last(active) == 1`` per series.
The start point is stamped at the fault's onset in the data (:attr:`Episode.began_s`), so time to
restore and availability, read from the points, run from when the building broke, not from when the
persistence rules were satisfied. A fault raised in this run may therefore get a start point before
``from_s``; it is never put before the series' last earlier point.

A run covers [from_s, until_s). Before writing it deletes the building's ``fault`` points in that
range and writes them again from the episodes, so a rerun of the same period writes the same points.
What was active before ``from_s`` (the last point of each series) is read back: an episode already
running at ``from_s`` continues that fault instead of opening a new one, and a fault active before
``from_s`` that no episode continues is cleared at ``from_s``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from facmon.analytics.fault_detectors import Episode
from facmon.schema import FAULT
from facmon.store import InfluxStore, line

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class FaultSeries:
    """Tags of one fault series besides the building."""

    kind: str
    target: str
    severity: str
    vendor: str


def active_before(store: InfluxStore, building: str, before_s: int) -> dict[tuple[str, str], tuple[int, float]]:
    """(kind, target) -> (time s, active) of the last ``fault`` point of each series of the building before ``before_s``."""
    rows = store.query(
        f'SELECT last("active") FROM "{FAULT}" WHERE "building"=\'{building}\' AND time < {int(before_s)}s GROUP BY "kind", "target"'
    )
    state = {}
    for series in rows:
        tags = series.get("tags", {})
        ts, active = series["values"][0][0], series["values"][0][1]
        state[(tags["kind"], tags["target"])] = (int(ts), float(active))
    return state


def fault_lines(
    building: str,
    episodes: list[Episode],
    series_of: dict[tuple[str, str], FaultSeries],
    previous: dict[tuple[str, str], tuple[int, float]],
    from_s: int,
    until_s: int,
) -> list[str]:
    """``fault`` lines of [from_s, until_s) for a building's episodes (see the module docstring)."""
    lines = []
    continued: set[tuple[str, str]] = set()
    # The time of each series' latest point so far: a start point goes after it, or it would overwrite
    # or precede an earlier clear. A fault still active before the run and not continued is cleared at from_s.
    latest_s = {key: from_s if active == 1.0 else ts for key, (ts, active) in previous.items()}
    for e in sorted(episodes, key=lambda e: (e.kind, e.target, e.raised_s)):
        key = (e.kind.value, e.target)
        tags = series_of[key]
        tag_map = {"building": building, "kind": tags.kind, "severity": tags.severity, "vendor": tags.vendor, "target": tags.target}
        if e.end_s is not None and e.end_s <= from_s:
            continue  # over before this run; earlier runs wrote it
        previous_s, previous_active = previous.get(key, (0, 0.0))
        # Already open: raised before this run, or opened at its onset by an earlier run of this period.
        if previous_active == 1.0 and (e.raised_s < from_s or previous_s >= e.began_s):
            continued.add(key)  # the fault an earlier run opened goes on: no new start
        elif e.raised_s < until_s:
            began_s = min(e.raised_s, max(e.began_s, latest_s.get(key, e.began_s - 1) + 1))
            fields = {"active": 1.0, "value": round(e.value, 6), "detail": e.detail, "raised": float(e.raised_s)}
            lines.append(line(FAULT, tag_map, fields, began_s * NS_PER_S))
            latest_s[key] = began_s
        else:
            continue
        if e.end_s is not None and e.end_s < until_s:
            lines.append(line(FAULT, tag_map, {"active": 0.0, "value": round(e.value, 6), "detail": "cleared"}, e.end_s * NS_PER_S))
            latest_s[key] = e.end_s
    for key, (_, active) in previous.items():
        if active == 1.0 and key not in continued and key in series_of:
            tags = series_of[key]
            tag_map = {"building": building, "kind": tags.kind, "severity": tags.severity, "vendor": tags.vendor, "target": tags.target}
            lines.append(line(FAULT, tag_map, {"active": 0.0, "value": 0.0, "detail": "cleared"}, from_s * NS_PER_S))
    return lines


def replace_faults(store: InfluxStore, buildings: list[str], lines: list[str], from_s: int, until_s: int) -> None:
    """Delete the buildings' ``fault`` points in [from_s, until_s) and write ``lines`` (idempotent reruns)."""
    if buildings:
        pattern = "|".join(re.escape(code) for code in buildings)
        store.query(
            f'DELETE FROM "{FAULT}" WHERE "building" =~ /^({pattern})$/ AND time >= {int(from_s)}s AND time < {int(until_s)}s',
            method="POST",
        )
    if lines:
        store.write(lines, precision="ns")
