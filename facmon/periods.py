"""Calendar periods that scores and assessments are given for: a year (``2026``), a quarter
(``2026-Q3``), a month (``2026-11``), in the site's local time; ``end`` is exclusive.

Part of the core because the analytics (energy and vendor scores) and the work-order service (the
combined vendor assessment) name the same periods.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from facmon.errors import InputError

PeriodKind = Literal["year", "quarter", "month", "twelve_months"]


class PeriodError(InputError):
    """A period that cannot be used, named in the message."""


@dataclass(frozen=True)
class Period:
    """A calendar year (``2025``), quarter (``2025-Q3``), month (``2025-06``) or twelve months
    (``2025-12..2026-11``, the plan's window for a month) in the site's local time; ``end`` is exclusive."""

    label: str
    kind: PeriodKind
    start: date
    end: date

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def days_in_year(self) -> int:
        """Days of the year an annual figure stands for: the calendar year's, or the twelve months' own."""
        if self.kind == "twelve_months":
            return self.days
        return 366 if calendar.isleap(self.year) else 365

    @property
    def months(self) -> int:
        """Calendar months the period spans (12 for a year, 3 for a quarter, 1 for a month)."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    def bounds_utc_s(self, timezone: str) -> tuple[int, int]:
        """Local midnight at the start and at the (exclusive) end, as UTC epoch seconds."""
        zone = ZoneInfo(timezone)
        return (
            int(datetime.combine(self.start, time(0), zone).timestamp()),
            int(datetime.combine(self.end, time(0), zone).timestamp()),
        )

    def elapsed_days(self, today: date) -> int:
        """Days of the period up to and including ``today`` (all of them for a past period)."""
        return max(0, min(self.end, today + timedelta(days=1)).toordinal() - self.start.toordinal())

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def previous(self) -> Period:
        """The period of the same kind just before this one (2026-10 before 2026-11, 2026-Q2 before 2026-Q3)."""
        if self.kind == "year":
            return year_period(self.year - 1)
        if self.kind == "quarter":
            quarter = (self.start.month - 1) // 3 + 1
            return quarter_period(self.year - 1, 4) if quarter == 1 else quarter_period(self.year, quarter - 1)
        if self.kind == "month":
            return month_period(self.year - 1, 12) if self.start.month == 1 else month_period(self.year, self.start.month - 1)
        raise PeriodError(f"period {self.label!r} has no previous period of its kind")


def year_period(year: int) -> Period:
    """The calendar year ``year``."""
    return Period(f"{year:04d}", "year", date(year, 1, 1), date(year + 1, 1, 1))


def quarter_period(year: int, quarter: int) -> Period:
    """Quarter ``quarter`` (1-4) of ``year``: 2026-Q3 is July to September."""
    first = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return Period(f"{year:04d}-Q{quarter}", "quarter", first, end)


def month_period(year: int, month: int) -> Period:
    """The calendar month ``month`` of ``year``."""
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(f"{year:04d}-{month:02d}", "month", date(year, month, 1), end)


def last_complete_month(today: date) -> Period:
    """The last calendar month that has ended before ``today`` (local date)."""
    last = date.fromordinal(today.replace(day=1).toordinal() - 1)
    return month_period(last.year, last.month)


def current_month(today: date) -> Period:
    """The calendar month that holds ``today`` (local date)."""
    return month_period(today.year, today.month)


_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|[Qq](?P<quarter>\d)))?$")


def parse_period(text: str) -> Period:
    """``2025`` → the year 2025; ``2025-Q3`` → July to September 2025; ``2025-06`` → June 2025.
    Raises :class:`PeriodError` on anything else."""
    match = _PERIOD.match(text.strip())
    if match is None:
        raise PeriodError(f"period {text!r} must be a year (2025), a quarter (2025-Q3) or a month (2025-06)")
    year = int(match["year"])
    if not 2000 <= year <= 2100:
        raise PeriodError(f"period {text!r}: year must be between 2000 and 2100")
    if match["quarter"] is not None:
        quarter = int(match["quarter"])
        if not 1 <= quarter <= 4:
            raise PeriodError(f"period {text!r}: quarter must be Q1..Q4")
        return quarter_period(year, quarter)
    if match["month"] is None:
        return year_period(year)
    month = int(match["month"])
    if not 1 <= month <= 12:
        raise PeriodError(f"period {text!r}: month must be 01..12")
    return month_period(year, month)


def resolve_period(text: str | None, today: date) -> Period:
    """The period a command works on: ``None`` → the last complete month before ``today`` (local date);
    ``current`` → the month holding ``today``; otherwise :func:`parse_period`."""
    if text is None:
        return last_complete_month(today)
    if text.strip() == "current":
        return current_month(today)
    return parse_period(text)
