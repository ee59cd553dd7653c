"""The consumption analysis's measurements: ``energy_interval``, ``meter_daily``, ``energy_daily`` and
``energy_monthly``, their records, their one writer each and their readers.

Stored shapes (docs/architecture.md#the-measurement-schema); every line here is stamped in epoch
**seconds**, so write them with ``precision=LINE_PRECISION``:

- ``energy_interval`` (tags of :class:`MeterSeries`): a meter's validated consumption per collection
  interval, at the interval's start; :class:`EnergyIntervals`, columnar. A missing interval has no point.
- ``meter_daily`` (tags of :class:`MeterSeries`): a meter's local day, at local midnight;
  :class:`MeterDays`, columnar.
- ``energy_daily`` (building, energy, subitem): a building's category × sub-item per local day, at
  local midnight; :class:`EnergyDaily`.
- ``energy_monthly`` (building, energy, subitem): energy_daily summed per local calendar month, at the
  month's local start; :class:`EnergyMonthly`.

``energy_interval`` and ``meter_daily`` are written and read in bulk (a building-year is about 35,000
intervals per meter), so their records hold numpy arrays, their writers format one f-string per line
and :func:`interval_consumption` reads through :meth:`facmon.store.InfluxStore.field_series` (CSV).
Values are rounded to VALUE_DECIMALS by the writers (the analysis rounds interval consumption itself,
before summing days), so reanalysing a period writes the same values.

Written by ``facmon analyze`` (analytics.analyze, analytics.monthly); read by the indicators, the
savings, the anomaly review, fault detection and the vendor score through the readers below. Grafana's
panels have their own InfluxQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from facmon.schema.names import ENERGY_DAILY, ENERGY_INTERVAL, ENERGY_MONTHLY, METER_DAILY
from facmon.store import InfluxStore, line, quote_identifier, quote_string

LINE_PRECISION = "s"  # the timestamps of every line written here are epoch seconds
VALUE_DECIMALS = 6  # numeric fields are rounded to this many decimals: reruns write identical values
_PROBE_SUFFIX = " probe=0.0 0"


@dataclass(frozen=True)
class MeterSeries:
    """The tags of a meter's ``energy_interval`` and ``meter_daily`` series (the same as its ``meter``
    readings): ``building`` code, ``meter`` id, ``energy`` category code (``01``..``13``), ``subitem``."""

    building: str
    meter: str
    energy: str
    subitem: str

    def tags(self) -> dict[str, str]:
        return {"building": self.building, "meter": self.meter, "energy": self.energy, "subitem": self.subitem}


def _prefix(measurement: str, tags: dict[str, str]) -> str:
    """Escaped ``measurement,tags`` part of a line, made by facmon.store.line itself."""
    probe = line(measurement, tags, {"probe": 0.0}, 0)
    return probe[: -len(_PROBE_SUFFIX)]


# -- energy_interval -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnergyIntervals:
    """A meter's ``energy_interval`` points, columnar: one element per stored interval.

    ``starts_s``: int64, the intervals' starts (epoch s, the points' times). ``consumption``: float64,
    in the meter's unit (kWh, m³) per interval. ``estimated``: bool, True where the interval was
    interpolated over a short gap, follows a reset or replaces a spike (stored ``estimated`` = true;
    measured intervals carry no ``estimated`` field, see :func:`energy_interval_lines`).
    """

    starts_s: np.ndarray
    consumption: np.ndarray
    estimated: np.ndarray


def energy_interval_lines(series: MeterSeries, intervals: EnergyIntervals, flagged_s: np.ndarray) -> list[str]:
    """The meter's ``energy_interval`` lines (time in s).

    A measured interval carries no ``estimated`` field (half the field values to write: InfluxDB's
    write path is the analysis's bottleneck), except ``estimated`` = false where an earlier run stored
    true (``flagged_s``: those interval starts, see :func:`estimated_interval_starts`): InfluxDB merges
    the fields of a rewritten point, so the stale flag is overwritten explicitly.
    """
    prefix = _prefix(ENERGY_INTERVAL, series.tags())
    starts_s = intervals.starts_s
    estimated = intervals.estimated
    cleared = np.isin(starts_s, flagged_s) & ~estimated
    flags = np.where(estimated, ",estimated=true", np.where(cleared, ",estimated=false", "")).tolist()
    values = intervals.consumption.tolist()
    return [f"{prefix} consumption={v!r}{e} {s}" for v, e, s in zip(values, flags, starts_s.tolist())]


def interval_consumption(store: InfluxStore, building: str, meter: str, start_s: int, end_s: int) -> tuple[np.ndarray, np.ndarray]:
    """A meter's interval starts (epoch s) and consumption (meter unit) in [start_s, end_s), columnar."""
    return store.field_series(ENERGY_INTERVAL, "consumption", {"building": building, "meter": meter}, start_s, end_s)


def estimated_interval_starts(store: InfluxStore, building: str, meter: str, start_s: int, end_s: int) -> np.ndarray:
    """Starts (epoch s) of a meter's intervals in [start_s, end_s) stored with ``estimated`` = true."""
    return store.times_where_true(ENERGY_INTERVAL, "estimated", {"building": building, "meter": meter}, start_s, end_s)


def last_interval_start_s(store: InfluxStore, buildings: Sequence[str] | None = None) -> int | None:
    """Start (epoch s) of the newest ``energy_interval`` point of any meter (of ``buildings`` when given, codes),
    or None when there is none."""
    if buildings is not None:
        # one row per building, filtered here: a WHERE naming a shard's thousands of codes would not fit in a URL
        wanted = set(buildings)
        rows = store.rows(f'SELECT last("consumption") FROM {quote_identifier(ENERGY_INTERVAL)} GROUP BY "building"')
        found = [int(row["time"]) for row in rows if row.get("building") in wanted]
        return max(found) if found else None
    series = store.query(f'SELECT last("consumption") FROM {quote_identifier(ENERGY_INTERVAL)}')
    if not series or not series[0].get("values"):
        return None
    return int(series[0]["values"][0][0])


def interval_consumption_by_building(
    store: InfluxStore, energy: str, subitem: str, start_s: int, end_s: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per building, the interval starts (epoch s) and consumption of its meters of ``energy`` ×
    ``subitem`` in [start_s, end_s) (the points of all those meters, in time order); buildings without
    any are left out."""
    series = store.query(
        f'SELECT "consumption" FROM {quote_identifier(ENERGY_INTERVAL)} '
        f'WHERE "energy" = {quote_string(energy)} AND "subitem" = {quote_string(subitem)} '
        f'AND time >= {int(start_s)}s AND time < {int(end_s)}s GROUP BY "building"'
    )
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for one in series:
        code = one.get("tags", {}).get("building", "")
        values = [v for v in one["values"] if v[1] is not None]
        if not values:
            continue
        block = np.array(values, dtype=float)
        found[code] = (block[:, 0].astype(np.int64), block[:, 1])
    return found


def hourly_consumption(
    store: InfluxStore, building: str, energy: str, subitem: str, start_s: int, end_s: int
) -> list[tuple[int, float | None, int]]:
    """(hour start epoch s, summed consumption or None, intervals counted) per UTC-aligned hour of
    [start_s, end_s), over the building's meters of ``energy`` × ``subitem``."""
    rows = store.rows(
        f'SELECT sum("consumption") AS kwh, count("consumption") AS n '
        f'FROM {quote_identifier(ENERGY_INTERVAL)} WHERE "building"={quote_string(building)} '
        f'AND "energy"={quote_string(energy)} AND "subitem"={quote_string(subitem)} '
        f"AND time >= {int(start_s)}s AND time < {int(end_s)}s GROUP BY time(1h)"
    )
    return [(int(row["time"]), None if row.get("kwh") is None else float(row["kwh"]), int(row.get("n") or 0)) for row in rows]


# -- meter_daily -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeterDays:
    """A meter's ``meter_daily`` points, columnar: one element per local day.

    ``day_starts_s``: the days' local midnights (epoch s, the points' times). ``consumption``: the
    day's measured + estimated intervals, in the meter's unit. Interval counts: ``expected`` (the day's
    intervals inside the analysed period: fewer than 96 for a day still running; a day expecting none
    gets no point), ``measured``, ``estimated``, ``missing``, ``spikes`` (intervals replacing a spike);
    events: ``resets`` and ``rollovers`` of the register. ``completeness`` = measured / expected,
    estimated intervals counted apart. Stored fields: ``completeness``, ``consumption``,
    ``expected_intervals``, ``measured_intervals``, ``estimated_intervals``, ``missing_intervals``,
    ``spike_intervals``, ``reset_count``, ``rollover_count``.
    """

    day_starts_s: np.ndarray
    consumption: np.ndarray
    expected: np.ndarray
    measured: np.ndarray
    estimated: np.ndarray
    missing: np.ndarray
    spikes: np.ndarray
    resets: np.ndarray
    rollovers: np.ndarray

    @property
    def completeness(self) -> np.ndarray:
        share: np.ndarray = np.divide(self.measured, self.expected, out=np.zeros(self.expected.size), where=self.expected > 0)
        return share


def meter_daily_lines(series: MeterSeries, days: MeterDays) -> list[str]:
    """The meter's ``meter_daily`` lines (time in s), one per day that expects intervals."""
    prefix = _prefix(METER_DAILY, series.tags())
    lines = []
    completeness = days.completeness
    for i in np.flatnonzero(days.expected > 0):
        fields = {
            "completeness": round(float(completeness[i]), VALUE_DECIMALS),
            "consumption": round(float(days.consumption[i]), VALUE_DECIMALS),
            "expected_intervals": int(days.expected[i]),
            "measured_intervals": int(days.measured[i]),
            "estimated_intervals": int(days.estimated[i]),
            "missing_intervals": int(days.missing[i]),
            "spike_intervals": int(days.spikes[i]),
            "reset_count": int(days.resets[i]),
            "rollover_count": int(days.rollovers[i]),
        }
        lines.append(f"{prefix} " + ",".join(f"{k}={float(v)!r}" for k, v in fields.items()) + f" {int(days.day_starts_s[i])}")
    return lines


def _completeness(store: InfluxStore, start_s: int, end_s: int, group_by: Sequence[str]) -> list[dict[str, Any]]:
    return store.rows(
        f'SELECT "completeness" FROM {quote_identifier(METER_DAILY)} WHERE time >= {int(start_s)}s AND time < {int(end_s)}s '
        f"GROUP BY {', '.join(quote_identifier(tag) for tag in group_by)}"
    )


def completeness_by_building(store: InfluxStore, start_s: int, end_s: int) -> dict[str, list[float]]:
    """The ``completeness`` (0..1) of every meter-day in [start_s, end_s) per building, in time order
    (meters mixed); empty when meter_daily holds nothing for the period."""
    found: dict[str, list[float]] = {}
    for row in _completeness(store, start_s, end_s, ("building",)):
        if row.get("completeness") is not None:
            found.setdefault(row["building"], []).append(float(row["completeness"]))
    return found


def completeness_by_meter(store: InfluxStore, start_s: int, end_s: int) -> dict[tuple[str, str], list[float]]:
    """The ``completeness`` (0..1) of every day in [start_s, end_s) per (building, meter), in time order;
    empty when meter_daily holds nothing for the period."""
    found: dict[tuple[str, str], list[float]] = {}
    for row in _completeness(store, start_s, end_s, ("building", "meter")):
        if row.get("completeness") is not None:
            found.setdefault((row["building"], row["meter"]), []).append(float(row["completeness"]))
    return found


# -- energy_daily ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnergyDaily:
    """One ``energy_daily`` point: a building's consumption of one category × sub-item on one local day.

    Tags ``building``, ``energy``, ``subitem`` (the ``<cc>000`` row is the category's building total).
    ``day_start_s``: the local midnight (epoch s, the point's time). ``consumption`` in the category's
    unit (kWh, m³, GJ, kg); ``kgce`` (kg standard coal) and ``co2_kg`` (kg CO₂) are None, and not
    stored, where no factor exists (water has no kgce). ``completeness``: measured share of the
    expected meter-intervals of the meters summed; ``estimated_share``: estimated share of them;
    ``meters``: how many meters were summed; ``factor_version`` (string): the conversion factors used.
    """

    building: str
    energy: str
    subitem: str
    day_start_s: int
    consumption: float
    kgce: float | None
    co2_kg: float | None
    completeness: float
    estimated_share: float
    meters: int
    factor_version: str


def energy_daily_line(point: EnergyDaily) -> str:
    """One ``energy_daily`` point as line protocol, time in seconds (local midnight)."""
    fields: dict[str, float | int | str] = {
        "consumption": round(point.consumption, VALUE_DECIMALS),
        "completeness": round(point.completeness, VALUE_DECIMALS),
        "estimated_share": round(point.estimated_share, VALUE_DECIMALS),
        "meters": point.meters,
        "factor_version": point.factor_version,
    }
    if point.kgce is not None:
        fields["kgce"] = round(point.kgce, VALUE_DECIMALS)
    if point.co2_kg is not None:
        fields["co2_kg"] = round(point.co2_kg, VALUE_DECIMALS)
    return line(ENERGY_DAILY, {"building": point.building, "energy": point.energy, "subitem": point.subitem}, fields, point.day_start_s)


@dataclass(frozen=True)
class EnergyDailySeries:
    """The ``energy_daily`` points of one building × category × sub-item, columnar (NaN where a point
    lacks the field): ``day_starts_s`` (int64 epoch s) and float64 ``consumption``, ``kgce``,
    ``co2_kg``, ``completeness``, ``estimated_share`` as in :class:`EnergyDaily`."""

    building: str
    energy: str
    subitem: str
    day_starts_s: np.ndarray
    consumption: np.ndarray
    kgce: np.ndarray
    co2_kg: np.ndarray
    completeness: np.ndarray
    estimated_share: np.ndarray


_DAILY_COLUMNS = ("consumption", "kgce", "co2_kg", "completeness", "estimated_share")


def _column(series: dict[str, Any], name: str) -> np.ndarray:
    index = series["columns"].index(name)
    return np.array([np.nan if row[index] is None else row[index] for row in series["values"]], dtype=np.float64)


def read_energy_daily(
    store: InfluxStore, building: str, start_s: int, end_s: int, *, energy: str | None = None, subitem: str | None = None
) -> list[EnergyDailySeries]:
    """The building's ``energy_daily`` points in [start_s, end_s), one series per category × sub-item
    (only ``energy`` and ``subitem`` when given), in time order."""
    where = f'"building" = {quote_string(building)}'
    for tag, value in (("energy", energy), ("subitem", subitem)):
        if value is not None:
            where += f" AND {quote_identifier(tag)} = {quote_string(value)}"
    found = store.query(
        f"SELECT {', '.join(quote_identifier(name) for name in _DAILY_COLUMNS)} FROM {quote_identifier(ENERGY_DAILY)} "
        f'WHERE {where} AND time >= {int(start_s)}s AND time < {int(end_s)}s GROUP BY "energy", "subitem"'
    )
    result = []
    for series in found:
        tags = series.get("tags", {})
        result.append(
            EnergyDailySeries(
                building,
                tags.get("energy", ""),
                tags.get("subitem", ""),
                np.array([row[0] for row in series["values"]], dtype=np.int64),
                *(_column(series, name) for name in _DAILY_COLUMNS),
            )
        )
    return result


@dataclass(frozen=True)
class EnergyDailySum:
    """``energy_daily`` summed over a period for one building × category × sub-item: ``consumption``
    (category unit), ``kgce``, ``co2_kg`` (kg; None where no day has the field)."""

    building: str
    energy: str
    subitem: str
    consumption: float | None
    kgce: float | None
    co2_kg: float | None


def energy_daily_sums(store: InfluxStore, start_s: int, end_s: int) -> list[EnergyDailySum]:
    """Sums of every building × category × sub-item of ``energy_daily`` over [start_s, end_s)."""
    sums = ", ".join(f"sum({quote_identifier(name)}) AS {name}" for name in ("consumption", "kgce", "co2_kg"))
    rows = store.rows(
        f"SELECT {sums} FROM {quote_identifier(ENERGY_DAILY)} WHERE time >= {int(start_s)}s AND time < {int(end_s)}s "
        f'GROUP BY "building", "energy", "subitem"'
    )

    def number(value: Any) -> float | None:
        return None if value is None else float(value)

    return [
        EnergyDailySum(
            row.get("building", ""),
            row.get("energy", ""),
            row.get("subitem", ""),
            number(row.get("consumption")),
            number(row.get("kgce")),
            number(row.get("co2_kg")),
        )
        for row in rows
    ]


def days_with_totals(store: InfluxStore, start_s: int, end_s: int) -> dict[str, set[int]]:
    """Per building, the days (local midnights, epoch s) in [start_s, end_s) with a category-total
    (``<cc>000``) ``energy_daily`` point."""
    rows = store.rows(
        f'SELECT "consumption" FROM {quote_identifier(ENERGY_DAILY)} WHERE "subitem" =~ /^[0-9]{{2}}000$/ '
        f'AND time >= {int(start_s)}s AND time < {int(end_s)}s GROUP BY "building"'
    )
    days: dict[str, set[int]] = {}
    for row in rows:
        if row.get("consumption") is not None:
            days.setdefault(row["building"], set()).add(int(row["time"]))
    return days


# -- energy_monthly --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnergyMonthly:
    """One ``energy_monthly`` point: a building's category × sub-item over one local calendar month.

    Tags as :class:`EnergyDaily`. ``month_start_s``: the month's local start (epoch s, the point's
    time). ``consumption`` in the category's unit; ``kgce`` and ``co2_kg`` (kg) sums of the days', None
    (not stored) where no day had them; ``days``: days with an energy_daily point; ``completeness``:
    the mean daily completeness (0..1) over those days.
    """

    building: str
    energy: str
    subitem: str
    month_start_s: int
    consumption: float
    kgce: float | None
    co2_kg: float | None
    days: int
    completeness: float


def energy_monthly_line(point: EnergyMonthly) -> str:
    """One ``energy_monthly`` point as line protocol, time in seconds (local start of the month)."""
    fields: dict[str, float | int | str] = {
        "consumption": round(point.consumption, VALUE_DECIMALS),
        "days": point.days,
        "completeness": round(point.completeness, VALUE_DECIMALS),
    }
    if point.kgce is not None:
        fields["kgce"] = round(point.kgce, VALUE_DECIMALS)
    if point.co2_kg is not None:
        fields["co2_kg"] = round(point.co2_kg, VALUE_DECIMALS)
    return line(ENERGY_MONTHLY, {"building": point.building, "energy": point.energy, "subitem": point.subitem}, fields, point.month_start_s)
