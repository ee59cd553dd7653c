"""The SLA clocks of one work order, from the vendor's contract terms (registry ``vendors[].sla``).

- time to acknowledge (接单): report → acknowledged; measured and shown, the contracts set no limit;
- time to on site (到场): report → technician on site, limit ``onsite_min`` ("minutes from report to
  technician on site");
- time to restore: fault onset (for a repair request: its report) → service restored, limit
  ``restore_min`` ("minutes from fault start to service restored"). A fault order is restored when the
  data show the fault cleared, not when the vendor says so; a repair request when it is resolved.

The clocks run continuously, across nights, weekends, month ends and holidays: the registry's SLA terms
are in plain minutes and no contract of the example site pauses them. Pure: times are timezone-aware
datetimes passed in, never read from a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


def minutes_between(start: datetime, end: datetime) -> float:
    """Minutes from ``start`` to ``end`` (both timezone-aware), on a continuous clock."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("SLA times must be timezone-aware")
    return (end - start).total_seconds() / 60.0


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

    @property
    def onsite_due(self) -> datetime:
        return self.reported_at + timedelta(minutes=self.onsite_limit_min)

    @property
    def restore_due(self) -> datetime:
        return self.onset_at + timedelta(minutes=self.restore_limit_min)

    def status(self, now: datetime) -> SlaStatus:
        """Elapsed minutes of each clock (stopped where its event happened, else running to ``now``),
        whether each limit is breached, and the minutes left on the running ones."""

        def clock(start: datetime, stop: datetime | None, due: datetime) -> tuple[float, bool, float | None]:
            end = stop if stop is not None else now
            elapsed = minutes_between(start, end)
            breached = end > due
            left = None if stop is not None else minutes_between(now, due)
            return elapsed, breached, left

        onsite_min, onsite_breached, onsite_left = clock(self.reported_at, self.on_site_at, self.onsite_due)
        restore_min, restore_breached, restore_left = clock(self.onset_at, self.restored_at, self.restore_due)
        ack_min = minutes_between(self.reported_at, self.acknowledged_at if self.acknowledged_at else now)
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
