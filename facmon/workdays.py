"""The Chinese working calendar: public holidays, substituted days off and 调休 working weekends.

Backed by the ``holidays`` package, whose China calendar lists substituted days off and the
weekend days turned into working days by the State Council's annual holiday notice.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import lru_cache

import holidays


class DayKind(StrEnum):
    WORKDAY = "workday"  # Monday-Friday, no holiday
    ADJUSTED_WORKDAY = "adjusted_workday"  # a Saturday or Sunday worked in exchange (调休上班)
    WEEKEND = "weekend"
    HOLIDAY = "holiday"  # public holiday or substituted day off


@lru_cache(maxsize=64)
def _china(year: int) -> holidays.HolidayBase:
    calendar: holidays.HolidayBase = holidays.country_holidays("CN", years=year)
    return calendar


def day_kind(day: date) -> DayKind:
    """What kind of day this is for a Chinese public institution."""
    calendar = _china(day.year)
    if day in calendar:
        return DayKind.HOLIDAY
    if day in calendar.weekend_workdays:
        return DayKind.ADJUSTED_WORKDAY
    if day.weekday() >= 5:
        return DayKind.WEEKEND
    return DayKind.WORKDAY


def is_working_day(day: date) -> bool:
    """True on ordinary weekdays and 调休 working weekends; False on weekends and holidays."""
    return day_kind(day) in (DayKind.WORKDAY, DayKind.ADJUSTED_WORKDAY)
