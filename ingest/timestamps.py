"""Reading timestamps: epoch seconds or milliseconds, ISO-8601 with an offset, or a device's local time.

:func:`parse_timestamp` is the facmon convention (docs/collecting.md#mqtt-topics-and-payloads): a JSON number is epoch seconds or
epoch milliseconds (told apart by magnitude: below 1e11 is seconds, 1e11 up to 1e14 is milliseconds,
larger is rejected as micro/nanoseconds), a string is ISO-8601 **with** a UTC offset. A naive ISO
string is rejected there: a facmon gateway that drops the offset is misconfigured, and guessing would
silently shift its readings by hours.

:func:`parse_local_timestamp` is for device conventions that document local time without an offset
(Tasmota's ``Time``): a naive ISO string is read in the site's time zone, anything else as above.

Both accept only 2000-01-01 .. 2100-01-01 UTC (a device clock or unit error otherwise). Whether a
timestamp is plausibly *recent* is validation's job (:mod:`facmon.ingest.validation`), which knows the
registry's window and the current time.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from decimal import Decimal

# Plausible timestamps: anything outside is a device clock or unit error, not a reading.
TS_MIN_NS = 946_684_800 * 10**9  # 2000-01-01T00:00:00Z
TS_MAX_NS = 4_102_444_800 * 10**9  # 2100-01-01T00:00:00Z
_SECONDS_BELOW = 1e11  # 1e11 s is the year 5138; 1e11 ms is 1973
_MILLISECONDS_BELOW = 1e14  # 1e14 ms is the year 5138
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TimestampError(ValueError):
    """A ``ts`` value that cannot be used; the message says why."""


def _check_range(ns: int, shown: object) -> int:
    if not TS_MIN_NS <= ns < TS_MAX_NS:
        raise TimestampError(f"ts {shown!r} is outside 2000-01-01..2100-01-01 UTC")
    return ns


def _aware_ns(moment: datetime, shown: object) -> int:
    try:
        delta = moment - _EPOCH
    except OverflowError:  # year 1 or 9999 with an offset
        raise TimestampError(f"ts {shown!r} is outside 2000-01-01..2100-01-01 UTC") from None
    return _check_range((delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000, shown)


def _parse_iso(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise TimestampError(f"ts {value!r} is not an ISO-8601 date-time (nor a JSON number)") from None


def parse_timestamp(value: object) -> int:
    """Nanoseconds since the Unix epoch from a payload's ``ts``; raises :class:`TimestampError`."""
    if isinstance(value, bool) or value is None:
        raise TimestampError(f"ts {value!r} is not a number or an ISO-8601 string")
    if isinstance(value, int):
        magnitude: float = abs(value)
        if magnitude < _SECONDS_BELOW:
            return _check_range(value * 10**9, value)
        if magnitude < _MILLISECONDS_BELOW:
            return _check_range(value * 10**6, value)
        raise TimestampError(f"ts {value!r} is too large for epoch seconds or milliseconds (microseconds or nanoseconds are not accepted)")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TimestampError(f"ts {value!r} is not a finite number")
        # repr() is the shortest text that reads back as this float: the digits the device sent.
        exact = Decimal(repr(value))
        magnitude = abs(value)
        if magnitude < _SECONDS_BELOW:
            return _check_range(int((exact * 10**9).to_integral_value()), value)
        if magnitude < _MILLISECONDS_BELOW:
            return _check_range(int((exact * 10**6).to_integral_value()), value)
        raise TimestampError(f"ts {value!r} is too large for epoch seconds or milliseconds (microseconds or nanoseconds are not accepted)")
    if isinstance(value, str):
        moment = _parse_iso(value)
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise TimestampError(f"ts {value!r} has no UTC offset; write e.g. {value}+08:00 or {value}Z")
        return _aware_ns(moment, value)
    raise TimestampError(f"ts {value!r} is not a number or an ISO-8601 string")


def parse_local_timestamp(value: object, zone: tzinfo) -> int:
    """Like :func:`parse_timestamp`, but an ISO string without offset is local time in ``zone``.

    A local time that occurs twice (the hour repeated when daylight saving time ends) is read as the
    first occurrence; one that does not exist (skipped when it starts) gets the offset before the gap.
    """
    if isinstance(value, str):
        moment = _parse_iso(value)
        if moment.tzinfo is None or moment.utcoffset() is None:
            try:
                moment = moment.replace(tzinfo=zone, fold=0)
                moment.utcoffset()
            except (OverflowError, ValueError):
                raise TimestampError(f"ts {value!r} cannot be read in time zone {zone}") from None
        return _aware_ns(moment, value)
    return parse_timestamp(value)


def iso_utc(ts_ns: int) -> str:
    """``2024-05-01T00:00:00Z`` for people, from nanoseconds since the epoch."""
    try:
        return datetime.fromtimestamp(ts_ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return f"{ts_ns} ns since the epoch"
