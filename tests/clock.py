"""The calendar the tests run on: reference instants around every boundary that data hung off "now"
can cross, a fake clock set to them, and the reference time for test readings.

Tests whose data is placed relative to the current time take the ``calendar`` fixture and run once per
instant of REFERENCE_INSTANTS: each day of one week, InfluxDB's shard-group boundary, UTC and local
(UTC+8) midnights, a month end, a year end, and a 调休 working Sunday. The test process's clock is
moved there with time-machine (``tick=True``: it runs on from there), so what runs on that calendar
runs in the test process: the collector in a thread, commands through typer's CliRunner. (libfaketime
cannot give a child process the same clock: under it Python's time.sleep fails with EINVAL or hangs.)
InfluxDB and Mosquitto keep the real time: every query names its time range, and neither server's
behaviour in these tests depends on its own clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import time_machine

DAY_S = 86_400
SHARD_GROUP_S = 7 * DAY_S  # InfluxDB's default retention policy: 7-day shard groups
# InfluxDB truncates a point's time to its shard-group duration counted from Go's zero time
# (0001-01-01, a Monday), so weekly groups start on Mondays 00:00 UTC; the Unix epoch fell on a
# Thursday, three days after a Monday.
_EPOCH_AFTER_MONDAY_S = 3 * DAY_S

REFERENCE_INSTANTS: dict[str, datetime] = {
    "mon-20s-into-a-shard-week": datetime(2026, 11, 30, 0, 0, 20, tzinfo=UTC),
    "tue-10s-before-local-midnight": datetime(2026, 12, 1, 15, 59, 50, tzinfo=UTC),
    "wed-just-after-utc-midnight": datetime(2026, 12, 2, 0, 0, 5, tzinfo=UTC),
    "thu-utc-fri-local": datetime(2026, 12, 3, 16, 0, 10, tzinfo=UTC),
    "fri-working-hours": datetime(2026, 12, 4, 7, 30, tzinfo=UTC),
    "sat-utc-sun-local": datetime(2026, 12, 5, 23, 59, 58, tzinfo=UTC),
    "sun-noon": datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
    "month-end-utc-month-start-local": datetime(2027, 2, 28, 16, 0, 5, tzinfo=UTC),
    "year-end": datetime(2026, 12, 31, 23, 59, 55, tzinfo=UTC),
    "adjusted-working-sunday": datetime(2026, 9, 20, 2, 0, tzinfo=UTC),  # 调休: worked in exchange for the National Day week
}


def shard_group_start_s(ts_s: int) -> int:
    """Start (epoch s) of the default 7-day InfluxDB shard group that holds ``ts_s``."""
    return ts_s - (ts_s + _EPOCH_AFTER_MONDAY_S) % SHARD_GROUP_S


def reading_ts(now_s: float) -> int:
    """A time for test readings (epoch s): Thursday 00:00 UTC of the shard week before the current one.

    At least 4 and under 11 days before ``now_s`` whatever the date: inside the collector's plausibility window
    (collection.max_age_days), a day after it is still in the past, and a day either side of it lies in
    the same shard group, so two writes meant to conflict (a field's type) always meet in one shard."""
    return shard_group_start_s(int(now_s)) - SHARD_GROUP_S + 3 * DAY_S


@dataclass(frozen=True)
class Calendar:
    """The fake clock a test runs under: REFERENCE_INSTANTS[name] when the test began, ticking since."""

    name: str
    instant: datetime
    offset_s: int  # fake minus real time, s: fixed, the fake clock ticks with the real one


@pytest.fixture(params=list(REFERENCE_INSTANTS), ids=list(REFERENCE_INSTANTS))
def calendar(request: pytest.FixtureRequest) -> Iterator[Calendar]:
    """Runs the test once per reference instant, with the clock set there."""
    instant = REFERENCE_INSTANTS[request.param]
    offset_s = round(instant.timestamp() - time.time())
    with time_machine.travel(instant, tick=True):
        yield Calendar(request.param, instant, offset_s)
