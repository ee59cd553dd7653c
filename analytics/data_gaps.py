"""The data gaps an annual report lists: per building, the runs of local days of a period without any
whole-building energy point (``energy_daily`` ``<cc>000``), so an officer sees which months a figure is
short of, and why a total may be scaled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from facmon.periods import Period
from facmon.registry import Site
from facmon.schema.energy import days_with_totals
from facmon.store import InfluxStore


@dataclass(frozen=True)
class DataGap:
    """Local days ``first``..``last`` (inclusive) of one building without data."""

    building: str
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def as_dict(self) -> dict:
        return {**asdict(self), "first": self.first.isoformat(), "last": self.last.isoformat(), "days": self.days}


def missing_runs(building: str, present: Iterable[date], period: Period, until: date | None = None) -> list[DataGap]:
    """The runs of days of ``period`` (up to the day before ``until``, when given) not in ``present``."""
    have = set(present)
    end = period.end if until is None else min(period.end, until)
    gaps: list[DataGap] = []
    day = period.start
    while day < end:
        if day not in have:
            first = day
            while day < end and day not in have:
                day += timedelta(days=1)
            gaps.append(DataGap(building, first, day - timedelta(days=1)))
        day += timedelta(days=1)
    return gaps


def data_gaps(store: InfluxStore, site: Site, period: Period, until: date | None = None) -> list[DataGap]:
    """Every building's runs of days without data in the period (one query), in building order."""
    start_s, end_s = period.bounds_utc_s(site.site.timezone)
    found = days_with_totals(store, start_s, end_s)
    zone = site.site.tz
    gaps: list[DataGap] = []
    for building in site.buildings:
        present = {datetime.fromtimestamp(s, zone).date() for s in found.get(building.code, set())}
        gaps += missing_runs(building.code, present, period, until)
    return gaps
