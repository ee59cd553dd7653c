"""Fault state across runs: detected episodes become ``fault`` points that continue what earlier runs wrote.

The stored shape, its record (:class:`~facmon.schema.faults.Fault`) and its one writer are
:mod:`facmon.schema.faults`'s; this module decides which points a run writes.
The start point is stamped at the fault's onset in the data (:attr:`Fault.onset_s`), so time to
restore and availability, read from the points, run from when the building broke, not from when the
persistence rules were satisfied. A fault raised in this run may therefore get a start point before
``from_s``; it is never put before the series' last earlier point.

A run covers [from_s, until_s). Before writing it deletes the building's ``fault`` points in that
range and writes them again from the episodes, so a rerun of the same period writes the same points.
What was active before ``from_s`` (the last point of each series) is read back: an episode already
running at ``from_s`` continues that fault instead of opening a new one, and a fault active before
``from_s`` that no episode continues is cleared at ``from_s``.

A clear point carries the ``building_name`` tag of the start it closes (``previous_names``, read back
with the last points), so the start and its clear stay one series, and one alert in Grafana, when the
registry renamed the building in between or the start was written before points carried the name.

Each start point carries ``noticed``, the wall-clock time facmon first wrote it: a rerun that writes the
same start again keeps the earlier value (``noticed``), a new one gets ``now_s``.
"""

from __future__ import annotations

from collections.abc import Mapping

from facmon.schema.faults import Fault, FaultSeries, active_before, clear_line, delete_faults, start_line
from facmon.store import InfluxStore

__all__ = ["FaultSeries", "active_before", "fault_lines", "replace_faults"]


def fault_lines(
    building: str,
    faults: list[Fault],
    series_of: Mapping[tuple[str, str], FaultSeries],
    previous: Mapping[tuple[str, str], tuple[int, float]],
    from_s: int,
    until_s: int,
    *,
    now_s: int | None = None,
    noticed: Mapping[tuple[str, str, int], int] | None = None,
    previous_names: Mapping[tuple[str, str], str] | None = None,
) -> list[str]:
    """``fault`` lines of [from_s, until_s) for a building's faults found by the detectors (see the module
    docstring). ``noticed``: (kind, target, onset s) -> wall-clock epoch s of start points already stored;
    ``now_s``: the wall-clock time of this run, for the others (None: no ``noticed`` field).
    ``previous_names``: (kind, target) -> the ``building_name`` tag of the series' last point before the run
    (``LastPoint.building_name``); a fault open before the run is cleared under it. None: under ``series_of``'s."""
    noticed = noticed or {}

    def as_opened(key: tuple[str, str]) -> FaultSeries:
        """The series a fault open before this run was started in (its name as stored then)."""
        series = series_of[key]
        return series if previous_names is None or key not in previous_names else series.named(previous_names[key])

    lines = []
    continued: set[tuple[str, str]] = set()
    # The time of each series' latest point so far: a start point goes after it, or it would overwrite
    # or precede an earlier clear. A fault still active before the run and not continued is cleared at from_s.
    latest_s = {key: from_s if active == 1.0 else ts for key, (ts, active) in previous.items()}
    for fault in sorted(faults, key=lambda f: (str(f.kind), f.target, f.detected_s)):
        key = fault.series
        series = series_of[key]
        raised_s = fault.detected_s
        if fault.cleared_s is not None and fault.cleared_s <= from_s:
            continue  # over before this run; earlier runs wrote it
        previous_s, previous_active = previous.get(key, (0, 0.0))
        # Already open: raised before this run, or opened at its onset by an earlier run of this period.
        if previous_active == 1.0 and (raised_s < from_s or previous_s >= fault.onset_s):
            continued.add(key)  # the fault an earlier run opened goes on: no new start
            series = as_opened(key)
        elif raised_s < until_s:
            onset_s = min(raised_s, max(fault.onset_s, latest_s.get(key, fault.onset_s - 1) + 1))
            first_known = noticed.get((key[0], key[1], onset_s), now_s)
            lines.append(start_line(building, series, onset_s, fault.value, fault.detail, raised_s, first_known))
            latest_s[key] = onset_s
        else:
            continue
        if fault.cleared_s is not None and fault.cleared_s < until_s:
            lines.append(clear_line(building, series, fault.cleared_s, fault.value))
            latest_s[key] = fault.cleared_s
    for key, (_, active) in previous.items():
        if active == 1.0 and key not in continued and key in series_of:
            lines.append(clear_line(building, as_opened(key), from_s))
    return lines


def replace_faults(store: InfluxStore, buildings: list[str], lines: list[str], from_s: int, until_s: int) -> None:
    """Delete the buildings' ``fault`` points in [from_s, until_s) and write ``lines`` (idempotent reruns)."""
    delete_faults(store, buildings, from_s, until_s)
    if lines:
        store.write(lines, precision="ns")
