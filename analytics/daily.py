"""Daily figures: per meter (completeness) and per building × energy category × sub-item (consumption, kgce, CO₂).

Days are LOCAL calendar days of the site's time zone (indicators and the annual statistics report
go by the local calendar); a day's points are stamped at its local midnight (UTC epoch).

Which ``energy_daily`` rows hold totals
---------------------------------------
Rows are keyed exactly by the meters' ``subitem`` tags. The row with sub-item ``<cc>000`` (``01000``
the main electricity meter, ``02000`` water, ``03000`` gas, ...) holds the category's building total;
the electricity sub-item rows (``01A10``, ``01B20``, ...) are parts of the ``01000`` total and must not
be added to it. A site total of a category is the sum of the buildings' ``<cc>000`` rows.

Categories without sub-items (water, gas, ...) often have a main meter and sub-meters under the
same ``<cc>000`` code (the example site's ``W-MAIN`` and ``W-TOILET``). The registry has no field
saying which meter feeds which, so the convention of the example site and the simulator applies:
when some meters of such a category have ``MAIN`` in their id, only those make the total and the
others are sub-meters (they still get their ``meter_daily`` and ``energy_interval`` points);
without a ``MAIN`` meter all meters of the category are added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from facmon.analytics.consumption import ESTIMATED, FLAG_RESET, FLAG_ROLLOVER, FLAG_SPIKE, MEASURED, MISSING, IntervalConsumption
from facmon.registry import EnergyFactors, Meter
from facmon.schema.energy import EnergyDaily, MeterDays
from facmon.standards import GRID_CO2_KG_PER_KWH, KGCE_PER_UNIT


def local_midnights_s(first_day: date, days: int, tz: ZoneInfo) -> np.ndarray:
    """Epoch seconds (UTC) of the local midnights starting ``first_day`` .. ``first_day + days`` (days + 1 edges)."""
    return np.array(
        [int(datetime.combine(first_day + timedelta(days=i), time(0), tzinfo=tz).timestamp()) for i in range(days + 1)],
        dtype=np.int64,
    )


def local_day(epoch_s: float, tz: ZoneInfo) -> date:
    """The local calendar day an instant (epoch seconds) falls on."""
    return datetime.fromtimestamp(epoch_s, tz).date()


def meter_days(intervals: IntervalConsumption, day_edges_s: np.ndarray) -> MeterDays:
    """Sum a meter's intervals into the days bounded by ``day_edges_s`` (epoch s, ascending, n days + 1 edges).

    Intervals outside the edges are ignored. Resets and rollovers are counted as events: a run of
    consecutive flagged intervals (one wrap or replacement spread over a gap) counts once, on its first day.
    """
    n_days = day_edges_s.size - 1
    starts = intervals.interval_starts_s
    day = np.searchsorted(day_edges_s, starts, side="right") - 1
    inside = (day >= 0) & (day < n_days)
    day, state, flags = day[inside], intervals.state[inside], intervals.flags[inside]
    consumption = intervals.consumption[inside]

    def per_day(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(day[mask], weights=None if weights is None else weights[mask], minlength=n_days)[:n_days]

    everything = np.ones(day.size, dtype=bool)
    valid = state != MISSING

    def run_starts(bit: int) -> np.ndarray:
        flagged = (flags & bit) != 0
        return flagged & ~np.concatenate(([False], flagged[:-1]))

    return MeterDays(
        day_starts_s=day_edges_s[:-1],
        consumption=per_day(valid, np.nan_to_num(consumption)).astype(np.float64),
        expected=per_day(everything).astype(np.int64),
        measured=per_day(state == MEASURED).astype(np.int64),
        estimated=per_day(state == ESTIMATED).astype(np.int64),
        missing=per_day(state == MISSING).astype(np.int64),
        spikes=per_day((flags & FLAG_SPIKE) != 0).astype(np.int64),
        resets=per_day(run_starts(FLAG_RESET)).astype(np.int64),
        rollovers=per_day(run_starts(FLAG_ROLLOVER)).astype(np.int64),
    )


@dataclass(frozen=True)
class Factors:
    """The conversion factors in force for one analysis: per category kgce and kgCO₂ per register unit, and the version label."""

    kgce_per_unit: dict[str, float]
    co2_kg_per_unit: dict[str, float]
    version: str

    @classmethod
    def from_registry(cls, chosen: EnergyFactors) -> Factors:
        """Standard factors (facmon.standards, docs/standards.md#conversion-factors) with the site's grid
        region, data year and overrides."""
        kgce = {code: factor.value for code, factor in KGCE_PER_UNIT.items()}
        kgce.update(chosen.kgce_per_unit)
        co2: dict[str, float] = {}
        grid = GRID_CO2_KG_PER_KWH.get((chosen.data_year, chosen.grid_region))
        if grid is not None:
            co2["01"] = grid.value
        co2.update(chosen.co2_kg_per_unit)
        return cls(kgce, co2, chosen.version)


def is_category_submeter(meter: Meter, category_meters: Sequence[Meter]) -> bool:
    """True for a water/gas/... meter that is a sub-meter of a ``MAIN`` meter of the same category (module docstring)."""
    if meter.energy == "01" or "MAIN" in meter.id.upper():
        return False
    return any("MAIN" in other.id.upper() for other in category_meters if other.energy == meter.energy and other.subitem == meter.subitem)


def daily_energy(building: str, meters: Sequence[tuple[Meter, MeterDays]], factors: Factors) -> list[EnergyDaily]:
    """energy_daily points of one building from its meters' days (all on the same day edges).

    A (category, sub-item) gets a point for a day when at least one of its summed meters has a
    measured or estimated interval that day.
    """
    groups: dict[tuple[str, str], list[MeterDays]] = {}
    all_meters = [meter for meter, _ in meters]
    for meter, days in meters:
        if is_category_submeter(meter, all_meters):
            continue
        groups.setdefault((meter.energy, meter.subitem), []).append(days)
    points: list[EnergyDaily] = []
    for (energy, subitem), members in sorted(groups.items()):
        consumption = np.sum([d.consumption for d in members], axis=0)
        expected = np.sum([d.expected for d in members], axis=0)
        measured = np.sum([d.measured for d in members], axis=0)
        estimated = np.sum([d.estimated for d in members], axis=0)
        kgce_factor = factors.kgce_per_unit.get(energy)
        co2_factor = factors.co2_kg_per_unit.get(energy)
        for i, day_start in enumerate(members[0].day_starts_s):
            if expected[i] == 0 or measured[i] + estimated[i] == 0:
                continue
            value = float(consumption[i])
            points.append(
                EnergyDaily(
                    building=building,
                    energy=energy,
                    subitem=subitem,
                    day_start_s=int(day_start),
                    consumption=value,
                    kgce=None if kgce_factor is None else value * kgce_factor,
                    co2_kg=None if co2_factor is None else value * co2_factor,
                    completeness=float(measured[i] / expected[i]),
                    estimated_share=float(estimated[i] / expected[i]),
                    meters=len(members),
                    factor_version=factors.version,
                )
            )
    return points
