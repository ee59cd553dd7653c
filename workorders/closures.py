"""Closed assessment periods: which closure holds a record, and the one lock that orders closing against
every writer of the assessment's records (inspections, survey responses, third-party imports), so nothing
lands in a period in the moment it closes."""

from __future__ import annotations

from datetime import date

from django.db import connection

from facmon.periods import Period
from facmon.workorders.models import PeriodClosure

# pg_advisory_xact_lock key of the assessment's records (an arbitrary constant: "facmon-assess").
ASSESSMENT_LOCK_KEY = 0x66A55E55


def lock_assessment_records() -> None:
    """Within a transaction: wait for, and hold until commit, the lock of the assessment's records."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ASSESSMENT_LOCK_KEY])


def closure_holding(day: date) -> PeriodClosure | None:
    """A closed period that holds ``day`` (the shortest, when closures nest), or None."""
    return PeriodClosure.objects.filter(start__lte=day, end__gt=day).order_by("-start", "end").first()


def closure_containing(period: Period) -> PeriodClosure | None:
    """A closed period that holds all of ``period`` (the period itself or one around it), or None. A closed
    month inside an open quarter does not close the quarter's own surveys and scores."""
    return PeriodClosure.objects.filter(start__lte=period.start, end__gte=period.end).order_by("-start", "end").first()
