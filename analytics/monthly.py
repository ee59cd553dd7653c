"""Calendar-month rollup of ``energy_daily``: the ``energy_monthly`` measurement.

InfluxQL cannot group by calendar month (``GROUP BY time(30d)`` cuts months anywhere), so the monthly
trend of dashboard (a) reads points written here: one per building × energy category × sub-item per
LOCAL calendar month of the site, stamped at the month's local start (UTC epoch).

Every month the analysed period touches is recomputed from that month's ``energy_daily`` points as
stored in InfluxDB (read back after the day points are written), not from the days just analysed:
a month analysed in pieces -- day by day by ``facmon analyze --follow``, or in two runs across a
month boundary -- gets the totals of all its days, and rerunning writes the same points (idempotent).

Fields: ``consumption`` (the category's unit: kWh, m³, GJ, kg), ``kgce``, ``co2_kg`` (sums of the
days'; absent where no day has the factor, water has no kgce), ``days`` (days with an energy_daily
point) and ``completeness`` (mean of those days' completeness, 0..1; days without a point do not
count, ``days`` says how many there were).
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np

from facmon.schema.energy import LINE_PRECISION, EnergyMonthly, energy_monthly_line, read_energy_daily
from facmon.store import InfluxStore


def local_month_starts_s(first_s: int, last_s: int, tz: ZoneInfo) -> np.ndarray:
    """Epoch seconds of the local month starts from the month holding ``first_s`` to the one after the
    month holding ``last_s`` (instants in epoch s): n months + 1 edges."""
    first = datetime.fromtimestamp(first_s, tz).date().replace(day=1)
    last = datetime.fromtimestamp(last_s, tz).date().replace(day=1)
    edges = []
    month = first
    while True:
        edges.append(int(datetime.combine(month, time(0), tzinfo=tz).timestamp()))
        if month > last:
            break
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return np.array(edges, dtype=np.int64)


def monthly_energy(
    building: str,
    energy: str,
    subitem: str,
    day_starts_s: np.ndarray,
    consumption: np.ndarray,
    kgce: np.ndarray,
    co2_kg: np.ndarray,
    completeness: np.ndarray,
    month_edges_s: np.ndarray,
) -> list[EnergyMonthly]:
    """Sum one series of daily points into the months bounded by ``month_edges_s`` (epoch s, ascending).

    Arrays are per day: start (epoch s), consumption (category unit), kgce, co2_kg (NaN where the day
    has none) and completeness (0..1). Days outside the edges are ignored; a month without a day gets no point.
    """
    n_months = month_edges_s.size - 1
    month = np.searchsorted(month_edges_s, day_starts_s, side="right") - 1
    inside = (month >= 0) & (month < n_months)
    month = month[inside]

    def per_month(values: np.ndarray) -> np.ndarray:
        return np.bincount(month, weights=np.nan_to_num(values[inside]), minlength=n_months)[:n_months]

    def present(values: np.ndarray) -> np.ndarray:
        return np.bincount(month, weights=np.isfinite(values[inside]).astype(float), minlength=n_months)[:n_months] > 0

    days = np.bincount(month, minlength=n_months)[:n_months]
    totals = per_month(consumption)
    kgce_totals, has_kgce = per_month(kgce), present(kgce)
    co2_totals, has_co2 = per_month(co2_kg), present(co2_kg)
    completeness_sums = per_month(completeness)
    points = []
    for i in np.flatnonzero(days > 0):
        points.append(
            EnergyMonthly(
                building=building,
                energy=energy,
                subitem=subitem,
                month_start_s=int(month_edges_s[i]),
                consumption=float(totals[i]),
                kgce=float(kgce_totals[i]) if has_kgce[i] else None,
                co2_kg=float(co2_totals[i]) if has_co2[i] else None,
                days=int(days[i]),
                completeness=float(completeness_sums[i] / days[i]),
            )
        )
    return points


def building_months(store: InfluxStore, building: str, month_edges_s: np.ndarray) -> list[EnergyMonthly]:
    """energy_monthly points of one building for the months bounded by ``month_edges_s``, from the
    energy_daily points stored in InfluxDB (one query for the building)."""
    points: list[EnergyMonthly] = []
    for daily in read_energy_daily(store, building, int(month_edges_s[0]), int(month_edges_s[-1])):
        points += monthly_energy(
            building,
            daily.energy,
            daily.subitem,
            daily.day_starts_s,
            daily.consumption,
            daily.kgce,
            daily.co2_kg,
            daily.completeness,
            month_edges_s,
        )
    return points


def write_monthly(store: InfluxStore, buildings: list[str], first_s: int, last_s: int, tz: ZoneInfo) -> int:
    """Recompute and write energy_monthly for every local month from the one holding ``first_s`` to the
    one holding ``last_s`` (epoch s), for ``buildings`` (codes); returns the number of points written.

    Call it after the period's energy_daily points are in InfluxDB."""
    edges = local_month_starts_s(first_s, last_s, tz)
    lines = [energy_monthly_line(p) for building in buildings for p in building_months(store, building, edges)]
    if lines:
        store.write(lines, precision=LINE_PRECISION)
    return len(lines)
