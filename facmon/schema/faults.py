"""The ``fault`` measurement: the one :class:`Fault` record, its one writer and its readers.

Stored shape (docs/architecture.md#the-measurement-schema): tags ``building, kind, severity, vendor,
target`` (a fault series) and ``building_name`` (the building's name from the registry, one line, so
Grafana's alert rules carry it as a label and their messages name the building without a per-building
template; absent on points written before it existed); one point when a fault starts, stamped at its
**onset** (when it began as far as the data tell) with ``active`` 1.0, ``value``, ``detail`` and
``raised`` (epoch s: when detection raised it), and one point when it **clears**, with ``active`` 0.0.
An active fault gets no repeated points, so "active now" is ``last(active) == 1`` per series. Time to
restore and availability run from the onset, time to detect runs to the raise.

The detectors (analytics.fault_detectors), fault state across runs (analytics.fault_state), the vendor
score and the evaluation against the simulator's labels all use :class:`Fault`; nothing else builds
``fault`` lines or queries the measurement (Grafana's rules and panels have their own InfluxQL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from facmon.schema.names import FAULT
from facmon.schema.reference import single_line
from facmon.store import InfluxStore, line, quote_identifier, quote_string

NS_PER_S = 1_000_000_000
FAULT_TAGS = ("building", "kind", "severity", "vendor", "target")  # the tags of every fault series
NO_VENDOR = "none"  # the vendor tag of a fault no vendor maintains
NAME_TAG = "building_name"  # the building's name on every point; not part of what identifies a fault


def building_name_tag(name: str) -> str:
    """A building's name as the ``building_name`` tag holds it: one line, trimmed, and a backslash written as
    the full-width ＼ (InfluxDB 1.x keeps a tag's backslash escaped, doubled, and refuses a tag value
    ending in one); commas, equals signs and spaces are escaped by line protocol and read back as written."""
    return single_line(name).replace("\\", "\uff3c")


@dataclass(frozen=True)
class Fault:
    """One fault of one target (epoch s throughout).

    ``onset_s``: when it began as far as the data tell (the time of its stored start point).
    ``raised_s``: when detection raised it, never before the onset; None for a fault known otherwise
    (the simulator's ground truth). Both are data time (the readings' timestamps). ``noticed_s``: the
    wall-clock time facmon first wrote it (for a backfilled history long after the data time; live, the
    delay a vendor sees), None when not recorded. ``cleared_s``: when it cleared (its stored clear point); None while
    active. ``severity`` and ``vendor`` are empty until the fault is attributed (a detector's finding,
    a label of the simulator's)."""

    building: str
    kind: str
    target: str
    onset_s: int
    raised_s: int | None = None
    cleared_s: int | None = None
    severity: str = ""
    vendor: str = ""
    value: float | None = None
    detail: str = ""
    noticed_s: int | None = None

    def __post_init__(self) -> None:
        if self.raised_s is not None and self.raised_s < self.onset_s:
            raise ValueError(f"fault {self.kind}/{self.target}: raised at {self.raised_s} s, before its onset {self.onset_s} s")

    @property
    def detected_s(self) -> int:
        """When it was known: the raise, or the onset for a fault without one (epoch s)."""
        return self.onset_s if self.raised_s is None else self.raised_s

    @property
    def series(self) -> tuple[str, str]:
        """(kind, target): what identifies the fault's series within its building."""
        return (str(self.kind), self.target)

    def tags(self) -> dict[str, str]:
        return {
            "building": self.building,
            "kind": str(self.kind),
            "severity": str(self.severity),
            "vendor": self.vendor,
            "target": self.target,
        }

    def attributed(self, building: str, severity: str, vendor: str) -> Fault:
        """The same fault in ``building``, with its severity and responsible vendor."""
        return replace(self, building=building, severity=severity, vendor=vendor)

    def active_seconds(self, start_s: int, end_s: int) -> int:
        """Seconds of [start_s, end_s) during which the fault was active."""
        stop = end_s if self.cleared_s is None else min(self.cleared_s, end_s)
        return max(0, stop - max(self.onset_s, start_s))


@dataclass(frozen=True)
class FaultSeries:
    """The tags of one fault series besides its building (not a fault: the series faults are stored in),
    and the building's name its points carry (``building_name``; empty: no such tag)."""

    kind: str
    target: str
    severity: str
    vendor: str
    building_name: str = ""

    def named(self, building_name: str) -> FaultSeries:
        """The same series with its points carrying ``building_name``."""
        return replace(self, building_name=building_name)


# -- the writer ------------------------------------------------------------------------------------


def start_line(
    building: str, series: FaultSeries, at_s: int, value: float | None, detail: str, raised_s: int, noticed_s: int | None = None
) -> str:
    """A fault's start point at ``at_s`` (its onset), carrying when it was raised (data time) and noticed
    (wall clock, epoch s)."""
    fields: dict[str, float | str] = {"active": 1.0, "value": round(value or 0.0, 6), "detail": detail, "raised": float(raised_s)}
    if noticed_s is not None:
        fields["noticed"] = float(noticed_s)
    return line(FAULT, _tags(building, series), fields, at_s * NS_PER_S)


def clear_line(building: str, series: FaultSeries, at_s: int, value: float | None = None) -> str:
    """A fault's clear point at ``at_s``."""
    return line(FAULT, _tags(building, series), {"active": 0.0, "value": round(value or 0.0, 6), "detail": "cleared"}, at_s * NS_PER_S)


def _tags(building: str, series: FaultSeries) -> dict[str, str]:
    return {
        "building": building,
        "kind": series.kind,
        "severity": series.severity,
        "vendor": series.vendor,
        "target": series.target,
        NAME_TAG: building_name_tag(series.building_name),
    }


def _of_buildings(buildings: Sequence[str]) -> str:
    """An InfluxQL condition: the ``building`` tag is one of ``buildings`` (codes, regex-escaped)."""
    return '"building" =~ /^(' + "|".join(re.escape(code) for code in buildings) + ")$/"


def delete_faults(store: InfluxStore, buildings: Sequence[str], from_s: int, until_s: int) -> None:
    """Delete the buildings' ``fault`` points in [from_s, until_s) (before a rerun writes them again)."""
    if buildings:
        store.query(
            f"DELETE FROM {quote_identifier(FAULT)} WHERE {_of_buildings(buildings)} AND time >= {int(from_s)}s AND time < {int(until_s)}s",
            method="POST",
        )


# -- the readers -----------------------------------------------------------------------------------

_GROUP_BY = "GROUP BY " + ", ".join(quote_identifier(tag) for tag in FAULT_TAGS)
_FIELDS = '"active", "value", "detail", "raised", "noticed"'


@dataclass(frozen=True)
class LastPoint:
    """The last ``fault`` point of a (kind, target) series of a building: its time (epoch s), ``active``
    and the ``building_name`` tag it carries ("" when none)."""

    time_s: int
    active: float
    building_name: str = ""


def last_points(store: InfluxStore, building: str, before_s: int) -> dict[tuple[str, str], LastPoint]:
    """(kind, target) -> the last ``fault`` point of each series of ``building`` before ``before_s``, with the
    name it carries: a clear continues the start it closes under that name, so the two stay one series
    (and one alert) even when the registry renamed the building in between, or the start predates the tag."""
    rows = store.query(
        f'SELECT last("active") FROM {quote_identifier(FAULT)} WHERE "building" = {quote_string(building)} '
        f'AND time < {int(before_s)}s GROUP BY "kind", "target", {quote_identifier(NAME_TAG)}'
    )
    state: dict[tuple[str, str], LastPoint] = {}
    for series in rows:
        tags = series.get("tags", {})
        ts, active = series["values"][0][0], series["values"][0][1]
        key = (tags["kind"], tags["target"])
        if key not in state or int(ts) >= state[key].time_s:
            state[key] = LastPoint(int(ts), float(active), tags.get(NAME_TAG, ""))
    return state


def active_before(store: InfluxStore, building: str, before_s: int) -> dict[tuple[str, str], tuple[int, float]]:
    """(kind, target) -> (time s, active) of the last ``fault`` point of each series of ``building`` before ``before_s``."""
    return {key: (point.time_s, point.active) for key, point in last_points(store, building, before_s).items()}


def _points(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, ...], tuple[dict[str, str], list[dict[str, Any]]]]:
    by_series: dict[tuple[str, ...], tuple[dict[str, str], list[dict[str, Any]]]] = {}
    for series in rows:
        tags = series.get("tags", {})
        key = tuple(tags.get(tag, "") for tag in FAULT_TAGS)
        points = by_series.setdefault(key, (tags, []))[1]
        for row in series["values"]:
            point = dict(zip(series["columns"], row, strict=True))
            if point.get("active") is not None:
                points.append(point)
    return by_series


def faults_from_points(tags: dict[str, str], points: Sequence[dict[str, Any]]) -> list[Fault]:
    """The faults of one series from its points (dicts with ``time`` and ``active``, optionally ``value``,
    ``detail``, ``raised``), in time order: a fault opens at a point with active 1 and clears at the next
    point with active 0; repeated points change nothing."""
    faults: list[Fault] = []
    opened: dict[str, Any] | None = None
    for point in sorted(points, key=lambda p: int(p["time"])):
        active = float(point["active"]) >= 0.5
        if active and opened is None:
            opened = point
        elif not active and opened is not None:
            faults.append(_fault(tags, opened, int(point["time"])))
            opened = None
    if opened is not None:
        faults.append(_fault(tags, opened, None))
    return faults


def _fault(tags: dict[str, str], start: dict[str, Any], cleared_s: int | None) -> Fault:
    onset_s = int(start["time"])
    raised = start.get("raised")
    return Fault(
        building=tags.get("building", ""),
        kind=tags.get("kind", ""),
        target=tags.get("target", ""),
        onset_s=onset_s,
        raised_s=max(onset_s, int(raised)) if raised is not None else None,
        cleared_s=cleared_s,
        severity=tags.get("severity", ""),
        vendor=tags.get("vendor", ""),
        value=None if start.get("value") is None else float(start["value"]),
        detail="" if start.get("detail") is None else str(start["detail"]),
        noticed_s=None if start.get("noticed") is None else int(start["noticed"]),
    )


def read_faults(store: InfluxStore, since_s: int, until_s: int) -> list[Fault]:
    """Faults with a point in [since_s, until_s) and those already active at ``since_s``, every series."""
    # The last point of each series before since_s, whole (ORDER BY time DESC LIMIT 1 keeps a row's
    # fields together, where last() picks each field's own last value).
    before = store.query(
        f"SELECT {_FIELDS} FROM {quote_identifier(FAULT)} WHERE time < {int(since_s)}s {_GROUP_BY} ORDER BY time DESC LIMIT 1"
    )
    inside = store.query(
        f"SELECT {_FIELDS} FROM {quote_identifier(FAULT)} WHERE time >= {int(since_s)}s AND time < {int(until_s)}s {_GROUP_BY}"
    )
    earlier, found = _points(before), _points(inside)
    faults: list[Fault] = []
    for key in sorted(set(earlier) | set(found)):
        tags = (found.get(key) or earlier[key])[0]
        points = [p for p in earlier.get(key, (tags, []))[1] if float(p["active"]) >= 0.5] + found.get(key, (tags, []))[1]
        faults += faults_from_points(tags, points)
    return faults


def noticed_in(store: InfluxStore, buildings: Sequence[str], from_s: int, until_s: int) -> dict[tuple[str, str, str, int], int]:
    """(building, kind, target, onset s) -> noticed (wall clock, epoch s) of the start points already stored
    in [from_s, until_s): a rerun that rewrites them keeps when facmon first knew."""
    if not buildings:
        return {}
    rows = store.query(
        f'SELECT "noticed" FROM {quote_identifier(FAULT)} WHERE {_of_buildings(buildings)} AND "active" = 1 '
        f'AND time >= {int(from_s)}s AND time < {int(until_s)}s GROUP BY "building", "kind", "target"'
    )
    noticed = {}
    for series in rows:
        tags = series.get("tags", {})
        for ts, value in series["values"]:
            if value is not None:
                noticed[(tags["building"], tags["kind"], tags["target"], int(ts))] = int(value)
    return noticed


def active_faults(store: InfluxStore) -> list[Fault]:
    """Faults active now (the last point of their series says active), oldest onset first."""
    rows = store.query(f"SELECT {_FIELDS} FROM {quote_identifier(FAULT)} {_GROUP_BY} ORDER BY time DESC LIMIT 1")
    active = [fault for tags, points in _points(rows).values() for fault in faults_from_points(tags, points) if fault.cleared_s is None]
    return sorted(active, key=lambda f: (f.onset_s, f.building, f.kind, f.target))
