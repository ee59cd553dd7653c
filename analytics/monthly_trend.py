"""The monthly trend the energy report draws: kgce per local calendar month over the twelve months that
end with the reported period, beside the same months a year before, per building and for the site.

Read from ``energy_monthly`` (the category totals, ``<cc>000``), the points the dashboards' monthly
trend reads, so report and dashboard agree. A month without a point is absent (None), never 0, and each
month carries the days it rests on: a month of 3 days beside one of 30 is not a fall in consumption.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from facmon.periods import Period
from facmon.registry import Site
from facmon.schema.names import ENERGY_MONTHLY
from facmon.store import InfluxStore, quote_identifier


@dataclass(frozen=True)
class MonthPoint:
    """One month of one building (or the site): ``kgce`` (kg standard coal, None without a point) and
    ``days``: the days with data of its kgce-bearing energy (the most of its categories); for the site, the
    fewest of any building's (0 when one has none), so a month some building missed never looks whole."""

    month: str  # YYYY-MM
    kgce: float | None
    days: int


@dataclass(frozen=True)
class MonthlyTrend:
    """Twelve months ending with the period (``months``), and the twelve before them (``last_year``), in
    the same order: ``last_year[i]`` is ``months[i]`` a year earlier."""

    building: str  # a building's code, or "" for the site
    months: list[MonthPoint]
    last_year: list[MonthPoint]

    def as_dict(self) -> dict:
        return asdict(self)


def _month_add(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def trend_months(period: Period) -> list[date]:
    """The first days of the twelve months that end with the period's last month."""
    last = _month_add(period.end.replace(day=1), -1) if period.end.day == 1 else period.end.replace(day=1)
    return [_month_add(last, offset) for offset in range(-11, 1)]


def monthly_trend(store: InfluxStore, site: Site, period: Period) -> list[MonthlyTrend]:
    """The trend of every building of the site, then the site's (building ""), from one query of
    ``energy_monthly``: kgce summed over the energy categories (water has none)."""
    zone = ZoneInfo(site.site.timezone)
    months = trend_months(period)
    earlier = [_month_add(m, -12) for m in months]
    start_s = int(datetime.combine(earlier[0], time(0), zone).timestamp())
    end_s = int(datetime.combine(_month_add(months[-1], 1), time(0), zone).timestamp())
    rows = store.rows(
        f'SELECT "kgce", "days" FROM {quote_identifier(ENERGY_MONTHLY)} WHERE "subitem" =~ /^[0-9]{{2}}000$/ '
        f'AND time >= {start_s}s AND time < {end_s}s GROUP BY "building", "energy"'
    )
    kgce: dict[tuple[str, str], float] = {}
    days: dict[tuple[str, str], int] = {}
    for row in rows:
        month = datetime.fromtimestamp(int(row["time"]), zone).strftime("%Y-%m")
        key = (row.get("building", ""), month)
        if row.get("kgce") is not None:  # water has no kgce: its days say nothing of the kgce's coverage
            days[key] = max(days.get(key, 0), int(row.get("days") or 0))
            kgce[key] = kgce.get(key, 0.0) + float(row["kgce"])
    codes = [b.code for b in site.buildings]

    def points(building: str, firsts: list[date]) -> list[MonthPoint]:
        found = []
        for first in firsts:
            label = first.strftime("%Y-%m")
            members = codes if building == "" else [building]
            values = [kgce[(code, label)] for code in members if (code, label) in kgce]
            found.append(MonthPoint(label, sum(values) if values else None, min(days.get((code, label), 0) for code in members)))
        return found

    return [MonthlyTrend(code, points(code, months), points(code, earlier)) for code in [*codes, ""]]
