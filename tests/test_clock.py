"""The test calendar itself (tests/clock.py): test readings land where the tests need them on any
date, and the fake clock reaches the code under test, in this process and in `facmon` commands."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facmon.store import InfluxStore, StoreRejected, line
from tests.clock import DAY_S, REFERENCE_INSTANTS, Calendar, reading_ts, shard_group_start_s

ANY_INSTANT = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC))


@given(ANY_INSTANT)
def test_the_reading_time_is_a_thursday_4_to_11_days_back_with_a_day_either_side_in_one_shard(now: datetime) -> None:
    now_s = int(now.timestamp())
    ts = reading_ts(now_s)
    assert datetime.fromtimestamp(ts, UTC).strftime("%A %H:%M:%S") == "Thursday 00:00:00"
    assert 4 * DAY_S <= now_s - ts < 11 * DAY_S
    assert shard_group_start_s(ts - DAY_S) == shard_group_start_s(ts) == shard_group_start_s(ts + DAY_S)


@pytest.mark.parametrize("name", list(REFERENCE_INSTANTS))
def test_influxdb_puts_a_conflicting_write_a_day_either_side_of_the_reading_time_in_the_same_shard(store: InfluxStore, name: str) -> None:
    """The shard arithmetic checked against the real server: a string field at the reading time makes a
    float one day before and one day after it a type conflict, on every reference day."""
    ts = reading_ts(REFERENCE_INSTANTS[name].timestamp())
    store.write([line("meter", {"meter": "X"}, {"register": "text"}, ts * 10**9)])
    for other_s in (ts - DAY_S, ts + DAY_S - 1):
        with pytest.raises(StoreRejected, match="conflict"):
            store.write([line("meter", {"meter": "Y"}, {"register": 1.0}, other_s * 10**9)])
    shards = store.query("SHOW SHARDS")
    own = [row for series in shards if series.get("name") == store.database for row in series["values"]]
    assert len(own) == 1, own


def test_the_fake_clock_reaches_the_code_under_test_in_every_thread(calendar: Calendar) -> None:
    seen: list[float] = []
    thread = threading.Thread(target=lambda: seen.append(time.time()))
    thread.start()
    thread.join()
    for now_s in (time.time(), datetime.now(UTC).timestamp(), *seen):
        assert 0 <= now_s - calendar.instant.timestamp() < 60
