"""SLA clocks against hand-computed cases: continuous across midnight, month ends and holidays."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from facmon.workorders.sla import SlaClock, minutes_between

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


def test_arrival_across_midnight_within_the_limit() -> None:
    # reported 23:50, on site 00:15 the next day: 25 min against a 30-min critical limit
    clock = SlaClock(local(2026, 11, 30, 23, 50), local(2026, 11, 30, 23, 40), 30, 240, on_site_at=local(2026, 12, 1, 0, 15))
    status = clock.status(local(2026, 12, 1, 1, 0))
    assert status.onsite_min == 25
    assert not status.onsite_breached
    assert status.onsite_left_min is None
    # restore clock from the onset 23:40, still running at 01:00: 80 min of 240, 160 left
    assert status.restore_min == 80
    assert status.restore_left_min == 160
    assert not status.restore_breached


def test_restore_across_a_month_end_breaches_by_the_minute() -> None:
    # onset 31 Oct 20:00, restored 1 Nov 20:01: 1441 min against 1440
    clock = SlaClock(local(2026, 10, 31, 20, 5), local(2026, 10, 31, 20, 0), 60, 1440, restored_at=local(2026, 11, 1, 20, 1))
    status = clock.status(local(2026, 11, 2, 9, 0))
    assert status.restore_min == 1441
    assert status.restore_breached
    assert clock.restore_due == local(2026, 11, 1, 20, 0)


def test_national_day_does_not_stop_the_clock() -> None:
    # reported 30 Sep 17:00, on site 1 Oct (国庆节) 09:00: 16 h = 960 min against 240 min
    clock = SlaClock(local(2026, 9, 30, 17, 0), local(2026, 9, 30, 17, 0), 240, 4320, on_site_at=local(2026, 10, 1, 9, 0))
    status = clock.status(local(2026, 10, 1, 10, 0))
    assert status.onsite_min == 960
    assert status.onsite_breached
    assert clock.onsite_due == local(2026, 9, 30, 21, 0)


def test_a_running_clock_counts_down_then_shows_how_late() -> None:
    clock = SlaClock(local(2026, 12, 3, 9, 0), local(2026, 12, 3, 9, 0), 60, 1440)
    assert clock.status(local(2026, 12, 3, 9, 45)).onsite_left_min == 15
    late = clock.status(local(2026, 12, 3, 10, 20))
    assert late.onsite_left_min == -20
    assert late.onsite_breached
    assert late.acknowledge_min == 80
    assert not late.acknowledged


def test_exactly_on_the_limit_is_in_time() -> None:
    clock = SlaClock(local(2026, 12, 3, 9, 0), local(2026, 12, 3, 9, 0), 30, 240, on_site_at=local(2026, 12, 3, 9, 30))
    assert not clock.status(local(2026, 12, 3, 12, 0)).onsite_breached


def test_times_without_a_zone_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        minutes_between(datetime(2026, 12, 3, 9, 0), datetime(2026, 12, 3, 9, 0) + timedelta(minutes=1))


def _weekend_or_holiday(day: date) -> bool:
    from facmon.workdays import is_working_day

    return not is_working_day(day)


def test_a_contract_that_stops_the_clock_on_days_off_counts_working_days_only() -> None:
    # Friday 27 Nov 2026 17:00, restore within 1440 min: 420 min on Friday, Saturday and Sunday stop the
    # clock, the other 1020 min (17 h) run on Monday: due Monday 30 Nov 17:00. Continuously: Saturday 17:00.
    friday = local(2026, 11, 27, 17, 0)
    paused = SlaClock(friday, friday, 60, 1440, day_off=_weekend_or_holiday, zone=SHANGHAI)
    assert paused.restore_due == local(2026, 11, 30, 17, 0)
    assert SlaClock(friday, friday, 60, 1440).restore_due == local(2026, 11, 28, 17, 0)
    # restored Monday 09:00: 420 + 540 = 960 counted minutes, in time; continuously 3840, breached
    restored = SlaClock(friday, friday, 60, 1440, restored_at=local(2026, 11, 30, 9, 0), day_off=_weekend_or_holiday, zone=SHANGHAI)
    status = restored.status(local(2026, 12, 1, 9, 0))
    assert (status.restore_min, status.restore_breached) == (960, False)
    assert SlaClock(friday, friday, 60, 1440, restored_at=local(2026, 11, 30, 9, 0)).status(local(2026, 12, 1)).restore_breached
    # a running clock on Saturday shows what is left of Friday's budget: 1020 min
    assert paused.status(local(2026, 11, 28, 12, 0)).restore_left_min == 1020


def test_national_day_stops_a_working_day_clock_and_a_makeup_saturday_runs_it() -> None:
    # 2026 (the holidays package's China calendar): 1-7 Oct off, Saturday 10 Oct a 调休 working day.
    assert _weekend_or_holiday(date(2026, 10, 1)) and not _weekend_or_holiday(date(2026, 10, 10))
    reported = local(2026, 9, 30, 23, 0)  # 60 of the 120 min on 30 Sep, the rest after the holiday, on Thu 8 Oct
    clock = SlaClock(reported, reported, 120, 4320, day_off=_weekend_or_holiday, zone=SHANGHAI)
    assert clock.onsite_due == local(2026, 10, 8, 1, 0)
    friday = local(2026, 10, 9, 23, 30)  # 30 min on Friday, the other 90 on the working Saturday
    assert SlaClock(friday, friday, 120, 4320, day_off=_weekend_or_holiday, zone=SHANGHAI).onsite_due == local(2026, 10, 10, 1, 30)


def test_a_working_day_limit_used_up_at_midnight_before_days_off_is_met_on_the_next_working_minute() -> None:
    # Friday 20:00 + 240 counted minutes ends at Friday's midnight; an arrival on Saturday (a day off) has
    # used no more than the 240: in time. (Judged by counted minutes, not by the midnight timestamp.)
    friday = local(2026, 11, 27, 20, 0)
    clock = SlaClock(friday, friday, 240, 4320, on_site_at=local(2026, 11, 28, 10, 0), day_off=_weekend_or_holiday, zone=SHANGHAI)
    status = clock.status(local(2026, 11, 30, 9, 0))
    assert (status.onsite_min, status.onsite_breached) == (240, False)
    monday = SlaClock(friday, friday, 240, 4320, on_site_at=local(2026, 11, 30, 0, 1), day_off=_weekend_or_holiday, zone=SHANGHAI)
    assert monday.status(local(2026, 11, 30, 9, 0)).onsite_breached  # one counted minute over
