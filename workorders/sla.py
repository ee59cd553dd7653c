"""The SLA clocks of one work order, from the vendor's contract terms (registry ``vendors[].sla``).

- time to acknowledge (接单): report → acknowledged; measured and shown, the contracts set no limit;
- time to on site (到场): report → technician on site, limit ``onsite_min`` ("minutes from report to
  technician on site");
- time to restore: fault onset (for a repair request: its report) → service restored, limit
  ``restore_min`` ("minutes from fault start to service restored"). A fault order is restored when the
  data show the fault cleared, not when the vendor says so; a repair request when it is resolved.

The clocks run continuously, across nights, weekends, month ends and holidays, unless the vendor's
contract says they stop on days off (registry ``vendors[].contract.sla_clock: working_days``): then
only the hours of working days count (the Chinese calendar, 调休 working weekends included), whole
local days. Pure: times are timezone-aware datetimes passed in, never read from a clock; the calendar
is a predicate passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DayOff = Callable[[date], bool]  # True for a local day the SLA clock stops on


def minutes_between(start: datetime, end: datetime) -> float:
    """Minutes from ``start`` to ``end`` (both timezone-aware), on a continuous clock."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("SLA times must be timezone-aware")
    return (end - start).total_seconds() / 60.0


def _next_midnight(moment: datetime, zone: tzinfo) -> datetime:
    local = moment.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time(0), zone)


def counted_minutes(start: datetime, end: datetime, day_off: DayOff | None = None, zone: tzinfo = UTC) -> float:
    """Minutes from ``start`` to ``end`` that count: all of them, or (``day_off``) those on local days
    in ``zone`` that are not days off. Negative when ``end`` is before ``start``."""
    if day_off is None:
        return minutes_between(start, end)
    if end < start:
        return -counted_minutes(end, start, day_off, zone)
    minutes_between(start, end)  # both timezone-aware
    total_s, moment = 0.0, start
    while moment < end:
        stop = min(end, _next_midnight(moment, zone))
        if not day_off(moment.astimezone(zone).date()):
            total_s += (stop - moment).total_seconds()
        moment = stop
    return total_s / 60.0


def add_counted_minutes(start: datetime, minutes: float, day_off: DayOff | None = None, zone: tzinfo = UTC) -> datetime:
    """The moment ``minutes`` counted minutes after ``start`` (see :func:`counted_minutes`)."""
    if day_off is None:
        return start + timedelta(minutes=minutes)
    left_s, moment = minutes * 60.0, start
    while True:
        midnight = _next_midnight(moment, zone)
        if not day_off(moment.astimezone(zone).date()):
            room_s = (midnight - moment).total_seconds()
            if left_s <= room_s:
                return moment + timedelta(seconds=left_s)
            left_s -= room_s
        moment = midnight


@dataclass(frozen=True)
class SlaClock:
    """When things happened to an order (None: not yet) and the limits of its severity, minutes."""

    reported_at: datetime
    onset_at: datetime
    onsite_limit_min: float
    restore_limit_min: float
    acknowledged_at: datetime | None = None
    on_site_at: datetime | None = None
    restored_at: datetime | None = None
    day_off: DayOff | None = None  # None: a continuous clock
    zone: tzinfo = UTC  # whose local days day_off judges

    def _minutes(self, start: datetime, end: datetime) -> float:
        return counted_minutes(start, end, self.day_off, self.zone)

    @property
    def onsite_due(self) -> datetime:
        return add_counted_minutes(self.reported_at, self.onsite_limit_min, self.day_off, self.zone)

    @property
    def restore_due(self) -> datetime:
        return add_counted_minutes(self.onset_at, self.restore_limit_min, self.day_off, self.zone)

    def status(self, now: datetime) -> SlaStatus:
        """Elapsed minutes of each clock (stopped where its event happened, else running to ``now``),
        whether each limit is breached, and the minutes left on the running ones."""

        def clock(start: datetime, stop: datetime | None, limit_min: float) -> tuple[float, bool, float | None]:
            # judged by counted minutes: with a working-day clock the deadline can fall on a midnight before
            # days off, and an arrival on the day off has used no more minutes than the limit
            end = stop if stop is not None else now
            elapsed = self._minutes(start, end)
            return elapsed, elapsed > limit_min + 1e-9, None if stop is not None else limit_min - elapsed

        onsite_min, onsite_breached, onsite_left = clock(self.reported_at, self.on_site_at, self.onsite_limit_min)
        restore_min, restore_breached, restore_left = clock(self.onset_at, self.restored_at, self.restore_limit_min)
        ack_min = self._minutes(self.reported_at, self.acknowledged_at if self.acknowledged_at else now)
        return SlaStatus(
            acknowledge_min=ack_min,
            acknowledged=self.acknowledged_at is not None,
            onsite_min=onsite_min,
            onsite_breached=onsite_breached,
            onsite_left_min=onsite_left,
            restore_min=restore_min,
            restore_breached=restore_breached,
            restore_left_min=restore_left,
        )


@dataclass(frozen=True)
class SlaStatus:
    """One order's clocks at a moment, minutes; ``*_left_min`` is None once the clock stopped (negative: overdue)."""

    acknowledge_min: float
    acknowledged: bool
    onsite_min: float
    onsite_breached: bool
    onsite_left_min: float | None
    restore_min: float
    restore_breached: bool
    restore_left_min: float | None
