"""The analysis run: meter registers from InfluxDB to energy_interval, meter_daily and energy_daily, and back.

:func:`analyze` covers whole LOCAL days: the period asked for is widened to the local midnight
before ``since`` and cut at ``until`` (floored to the collection interval), so a day's figures are
always computed from all of its intervals. Registers are read from ``MAX_GAP_S`` + one interval
before and after the period, so the first and last intervals have their neighbouring readings.

Idempotent: every point is keyed by its series and its interval or day start, values are rounded
to 6 decimals, and intervals depend only on the readings around them, so analysing a period again
writes the same points with the same values (a late reading changes only what it touches).
Missing intervals get no energy_interval point; meter_daily says how many there were.

Written (records, writers and readers in facmon.schema.energy):
- ``energy_interval`` (building, meter, energy, subitem): ``consumption`` (meter unit per interval),
  at the interval's start, and ``estimated`` = true on estimated intervals only. A measured interval
  carries no ``estimated`` field (half the field values to write: InfluxDB's write path is the
  analysis's bottleneck), except ``estimated`` = false where an earlier run had stored true and real
  readings have since arrived: InfluxDB merges the fields of a rewritten point, so the stale flag is
  overwritten explicitly. (Why an interval is estimated -- gap, reset, spike -- is counted per day in
  meter_daily; a third field per interval costs a quarter more write time.)
- ``meter_daily`` (building, meter, energy, subitem): completeness and interval counts, at local midnight.
- ``energy_daily`` (building, energy, subitem): ``consumption``, ``kgce``, ``co2_kg``, ``completeness``,
  ``estimated_share``, ``meters``, ``factor_version``, at local midnight (analytics.daily: which rows are totals).
- ``energy_monthly`` (building, energy, subitem): every local calendar month the period touches, summed
  from that month's stored energy_daily points (analytics.monthly), at the month's local start.
- ``site_building`` (building): the registry's facts about each building analysed (name, use, floor area,
  registered devices, GB/T 51161 benchmark; analytics.reference), at the local midnight of the last day
  analysed, so Grafana's dashboards show names without the files growing per building.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from facmon.analytics.consumption import ESTIMATED, MAX_GAP_S, MISSING, IntervalConsumption, interval_amounts, interval_consumption
from facmon.analytics.daily import Factors, daily_energy, local_day, local_midnights_s, meter_days
from facmon.analytics.monthly import write_monthly
from facmon.analytics.reference import write_building_references
from facmon.errors import FacmonError
from facmon.registry import Building, Meter, Site
from facmon.schema.energy import (
    LINE_PRECISION,
    VALUE_DECIMALS,
    EnergyIntervals,
    MeterDays,
    MeterSeries,
    energy_daily_line,
    energy_interval_lines,
    estimated_interval_starts,
    last_interval_start_s,
    meter_daily_lines,
)
from facmon.schema.readings import reading_series
from facmon.store import InfluxStore, StoreError

log = logging.getLogger(__name__)

DEFAULT_DAYS = 2  # without --since and without earlier results: analyse the last 2 days
SETTLE_S = 120  # an interval counts as complete this long after it ended (readings are in flight)
WRITE_BATCH_LINES = 50_000
READ_THREADS = 3


class AnalysisError(FacmonError):
    """The analysis cannot run with the period or site given."""


@dataclass(frozen=True)
class AnalysisPeriod:
    """Whole local days from ``start_s`` (a local midnight) to ``end_s`` (the next midnights, or the last complete interval)."""

    start_s: int
    end_s: int
    day_edges_s: np.ndarray  # local midnights, epoch s; the last day may extend past end_s
    interval_s: int

    @property
    def days(self) -> int:
        return self.day_edges_s.size - 1


def analysis_period(site: Site, since: datetime, until: datetime) -> AnalysisPeriod:
    """The local days covering [since, until), ``until`` floored to the collection interval."""
    if since.tzinfo is None or until.tzinfo is None:
        raise AnalysisError("since and until need a time zone")
    interval_s = site.collection.meter_interval_s
    tz = site.site.tz
    until_s = int(until.timestamp()) // interval_s * interval_s
    since_s = int(since.timestamp())
    if until_s <= since_s:
        raise AnalysisError(
            f"nothing to analyse: until {until.isoformat()} (floored to whole {interval_s} s intervals) "
            f"is not after since {since.isoformat()}"
        )
    first_day = local_day(since_s, tz)
    last_day = local_day(until_s - 1, tz)
    edges = local_midnights_s(first_day, (last_day - first_day).days + 1, tz)
    if (edges[0] % interval_s) or (edges[-1] - edges[0]) % interval_s:
        raise AnalysisError(f"local midnights of {site.site.timezone} do not fall on the {interval_s} s interval grid")
    return AnalysisPeriod(int(edges[0]), min(int(edges[-1]), until_s), edges, interval_s)


@dataclass
class MeterResult:
    """What the analysis found for one meter over the period."""

    meter: str
    energy: str
    subitem: str
    measured: int
    estimated: int
    missing: int
    spikes: int
    resets: int
    rollovers: int
    gaps: list[tuple[str, str]]  # missing runs, ISO-8601 UTC (start, end exclusive)


@dataclass
class BuildingResult:
    """One building's analysis: per-meter findings, category totals, points written, seconds taken."""

    building: str
    meters: list[MeterResult] = field(default_factory=list)
    totals: dict[str, dict[str, float]] = field(default_factory=dict)  # energy code -> consumption, kgce, co2_kg of its <cc>000 rows
    points: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "building": self.building,
            "seconds": round(self.seconds, 3),
            "points": self.points,
            "intervals": {
                "measured": sum(m.measured for m in self.meters),
                "estimated": sum(m.estimated for m in self.meters),
                "missing": sum(m.missing for m in self.meters),
            },
            "spikes": sum(m.spikes for m in self.meters),
            "resets": sum(m.resets for m in self.meters),
            "rollovers": sum(m.rollovers for m in self.meters),
            "totals": self.totals,
            "meters": [m.__dict__ for m in self.meters],
        }


@dataclass
class AnalysisSummary:
    """The result of :func:`analyze`: period, factor version, and each building's result."""

    start: datetime
    end: datetime
    days: int
    factor_version: str
    buildings: list[BuildingResult]
    seconds: float
    no_kgce_factor: list[str]  # energy codes analysed for which no kgce factor exists (water needs none)

    def as_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "factor_version": self.factor_version,
            "seconds": round(self.seconds, 3),
            "points": sum(b.points for b in self.buildings),
            "no_kgce_factor": self.no_kgce_factor,
            "buildings": [b.as_dict() for b in self.buildings],
        }


def meter_intervals(meter: Meter, times_s: np.ndarray, registers: np.ndarray, period: AnalysisPeriod) -> IntervalConsumption:
    """One meter's interval consumption over the period from its stored readings (register with multiplier applied)."""
    if meter.cumulative:
        return interval_consumption(
            times_s,
            registers,
            start_s=period.start_s,
            end_s=period.end_s,
            interval_s=period.interval_s,
            wrap_at=meter.rollover * meter.multiplier,
            rated_power_kw=meter.rated_power_kw,
        )
    return interval_amounts(
        times_s, registers, start_s=period.start_s, end_s=period.end_s, interval_s=period.interval_s, rated_power_kw=meter.rated_power_kw
    )


class _Writer:
    """Writes batches of lines (precision s) in a background thread, so reading, computing and writing overlap."""

    def __init__(self, store: InfluxStore):
        self._store = store
        self._queue: queue.Queue[list[str] | None] = queue.Queue(maxsize=4)
        self._failure: list[BaseException] = []
        self._pending: list[str] = []
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="facmon-analyze-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._failure:
                continue
            try:
                self._store.write(batch, precision=LINE_PRECISION)
                self.written += len(batch)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                self._failure.append(exc)

    def add(self, lines: list[str]) -> None:
        if self._failure:
            raise self._failure[0]
        self._pending.extend(lines)
        while len(self._pending) >= WRITE_BATCH_LINES:
            self._queue.put(self._pending[:WRITE_BATCH_LINES])
            self._pending = self._pending[WRITE_BATCH_LINES:]

    def close(self) -> None:
        """Write what is left and wait; raises the first write failure."""
        if self._pending and not self._failure:
            self._queue.put(self._pending)
        self._pending = []
        self._queue.put(None)
        self._thread.join()
        if self._failure:
            raise self._failure[0]


def _iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


def analyze_building(
    site: Site, building: Building, store: InfluxStore, period: AnalysisPeriod, writer: _Writer, factors: Factors, pool: ThreadPoolExecutor
) -> BuildingResult:
    """Read, validate, roll up and queue the points of one building (see :func:`analyze`)."""
    began = time.monotonic()
    result = BuildingResult(building.code)
    margin_s = MAX_GAP_S + period.interval_s

    def read(meter: Meter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tags = {"building": building.code, "meter": meter.id}
        times_s, registers = reading_series(store, "meter", "register", tags, period.start_s - margin_s, period.end_s + margin_s)
        return times_s, registers, estimated_interval_starts(store, building.code, meter.id, period.start_s, period.end_s)

    per_meter: list[tuple[Meter, MeterDays]] = []
    lines = 0
    for meter, (times_s, registers, flagged_s) in zip(building.meters, pool.map(read, building.meters)):
        intervals = meter_intervals(meter, times_s, registers, period)
        consumption = np.round(intervals.consumption, VALUE_DECIMALS)
        intervals = IntervalConsumption(
            intervals.start_s,
            intervals.interval_s,
            consumption,
            intervals.state,
            intervals.flags,
            intervals.gaps_s,
            intervals.rollovers,
            intervals.resets,
        )
        days = meter_days(intervals, period.day_edges_s)
        per_meter.append((meter, days))
        series = MeterSeries(building.code, meter.id, meter.energy, meter.subitem)
        stored = intervals.state != MISSING
        batch = energy_interval_lines(
            series,
            EnergyIntervals(intervals.interval_starts_s[stored], consumption[stored], intervals.state[stored] == ESTIMATED),
            flagged_s,
        )
        batch += meter_daily_lines(series, days)
        writer.add(batch)
        lines += len(batch)
        counts = intervals.counts()
        result.meters.append(
            MeterResult(
                meter.id,
                meter.energy,
                meter.subitem,
                counts["measured"],
                counts["estimated"],
                counts["missing"],
                counts["spikes"],
                intervals.resets,
                intervals.rollovers,
                [(_iso(a), _iso(b)) for a, b in intervals.gaps_s],
            )
        )
    points = daily_energy(building.code, per_meter, factors)
    writer.add([energy_daily_line(p) for p in points])
    lines += len(points)
    for p in points:
        if p.subitem == f"{p.energy}000":
            total = result.totals.setdefault(p.energy, {"consumption": 0.0})
            total["consumption"] += p.consumption
            for name, value in (("kgce", p.kgce), ("co2_kg", p.co2_kg)):
                if value is not None:
                    total[name] = total.get(name, 0.0) + value
    for total in result.totals.values():
        for name in total:
            total[name] = round(total[name], 3)
    result.points = lines
    result.seconds = time.monotonic() - began
    return result


def analyze(
    site: Site,
    store: InfluxStore,
    since: datetime,
    until: datetime,
    *,
    buildings: list[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> AnalysisSummary:
    """Validated consumption for the local days covering [since, until): energy_interval, meter_daily, energy_daily
    (and energy_monthly of the months they touch), and the buildings' site_building points.

    ``buildings``: codes to analyse (default all). ``progress(building, done, total)`` is called after
    each building. Raises StoreUnavailable / StoreRejected when InfluxDB fails; points of buildings
    finished before stay written (rerunning is harmless).
    """
    began = time.monotonic()
    period = analysis_period(site, since, until)
    chosen = site.buildings if buildings is None else [b for b in site.buildings if b.code in set(buildings)]
    if buildings is not None and len(chosen) != len(set(buildings)):
        unknown = sorted(set(buildings) - {b.code for b in site.buildings})
        raise AnalysisError(f"building(s) {', '.join(unknown)} are not in the site registry")
    factors = Factors.from_registry(site.energy_factors)
    writer = _Writer(store)
    results: list[BuildingResult] = []
    try:
        with ThreadPoolExecutor(READ_THREADS, thread_name_prefix="facmon-analyze-read") as pool:
            for done, building in enumerate(chosen, start=1):
                results.append(analyze_building(site, building, store, period, writer, factors, pool))
                if progress is not None:
                    progress(building.code, done, len(chosen))
    finally:
        writer.close()
    # After the day points are written: each month touched is summed from all its stored days.
    write_monthly(store, [b.code for b in chosen], period.start_s, period.end_s - 1, site.site.tz)
    # The registry's facts for Grafana, one point per building at the last local day's midnight (a rerun overwrites it).
    write_building_references(store, site, chosen, int(period.day_edges_s[-2]))
    energies = sorted({m.energy for b in chosen for m in b.meters})
    return AnalysisSummary(
        start=datetime.fromtimestamp(period.start_s, UTC),
        end=datetime.fromtimestamp(period.end_s, UTC),
        days=period.days,
        factor_version=factors.version,
        buildings=results,
        seconds=time.monotonic() - began,
        no_kgce_factor=[code for code in energies if code != "02" and code not in factors.kgce_per_unit],
    )


def last_analysed(store: InfluxStore, buildings: list[str] | None = None) -> datetime | None:
    """Start of the newest energy_interval point (of ``buildings``, codes, when given), or None when nothing has been analysed."""
    last_s = last_interval_start_s(store, buildings)
    return None if last_s is None else datetime.fromtimestamp(last_s, UTC)


def default_until(site: Site, now: datetime | None = None) -> datetime:
    """The end of the last complete interval: ``now`` less the settling time, floored to the interval."""
    now = now or datetime.now(UTC)
    interval_s = site.collection.meter_interval_s
    return datetime.fromtimestamp((int(now.timestamp()) - SETTLE_S) // interval_s * interval_s, UTC)


def default_since(site: Site, store: InfluxStore, until: datetime, buildings: list[str] | None = None) -> datetime:
    """From the last analysed interval of ``buildings`` (default all; less the longest interpolated gap, so a closing gap
    gets its estimate), else the last 2 days. A shard's worker catches up from its own buildings' progress."""
    last = last_analysed(store, buildings)
    if last is None or last >= until:
        return until - timedelta(days=DEFAULT_DAYS)
    return last - timedelta(seconds=MAX_GAP_S + site.collection.meter_interval_s)


def follow(
    site: Site,
    store: InfluxStore,
    *,
    every_s: float = 300.0,
    stop: threading.Event,
    on_cycle: Callable[[AnalysisSummary | None, BaseException | None], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    buildings: list[str] | None = None,
) -> None:
    """Analyse the recent past every ``every_s`` seconds until ``stop`` is set; never raises for a failed cycle.

    The first successful cycle catches up from the last analysed interval (:func:`default_since`);
    later ones cover the local days from the last complete interval less ``MAX_GAP_S`` + one
    interval (so estimates of gaps that just closed are rewritten). A cycle that fails (InfluxDB
    away, ...) is logged and the next one retries. ``on_cycle(summary, error)`` reports each cycle.
    ``buildings``: the codes this worker analyses (its shard), default all.
    """
    caught_up = False
    while not stop.is_set():
        summary: AnalysisSummary | None = None
        error: BaseException | None = None
        try:
            until = default_until(site, now())
            if caught_up:
                since = until - timedelta(seconds=MAX_GAP_S + site.collection.meter_interval_s)
            else:
                since = default_since(site, store, until, buildings)
            summary = analyze(site, store, since, until, buildings=buildings)
            caught_up = True
            missing = sum(m.missing for b in summary.buildings for m in b.meters)
            log.info(
                "analysed %s .. %s: %d points, %d missing intervals, %.1f s",
                summary.start.isoformat(),
                summary.end.isoformat(),
                sum(b.points for b in summary.buildings),
                missing,
                summary.seconds,
            )
        except StoreError as exc:
            error = exc
            log.warning("analysis cycle failed, retrying in %.0f s: %s", every_s, exc)
        except Exception as exc:  # noqa: BLE001 - a long-running loop logs and carries on
            error = exc
            log.exception("analysis cycle failed unexpectedly, retrying in %.0f s", every_s)
        if on_cycle is not None:
            on_cycle(summary, error)
        stop.wait(every_s)


def iter_gaps(summary: AnalysisSummary) -> Iterator[tuple[str, str, str, str]]:
    """(building, meter, start, end) of every run of missing intervals in a summary."""
    for b in summary.buildings:
        for m in b.meters:
            for start, end in m.gaps:
                yield b.building, m.meter, start, end
