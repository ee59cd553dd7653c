"""When scheduled reports are due, which period each covers, and what was delivered (issue 17, delivery on a
schedule).

The functions that decide are pure: they take the local time and the ledger's entries and return what to
send, so the tests pass explicit datetimes and never depend on today's date. The ledger
(``FACMON_HOME/reports/ledger.jsonl``, one JSON object per line, appended and flushed to disk per delivery)
is what lets a restarted `facmon report follow` skip what was delivered and try again what failed. The
files sent are published under ``FACMON_HOME/reports/published/<token>/<file>``, which `facmon serve`
serves at ``/r/<token>/<file>`` (the link DingTalk groups get).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from facmon.registry.report_delivery import DeliveryPeriod, ReportDelivery, Schedule

log = logging.getLogger("facmon.reports.schedule")

LEDGER = Path("reports") / "ledger.jsonl"
PUBLISHED = Path("reports") / "published"

# The months a schedule runs in: a quarter's report after the quarter ends, a year's in January.
_RUN_MONTHS: dict[DeliveryPeriod, tuple[int, ...]] = {
    DeliveryPeriod.LAST_MONTH: tuple(range(1, 13)),
    DeliveryPeriod.LAST_QUARTER: (1, 4, 7, 10),
    DeliveryPeriod.LAST_YEAR: (1,),
}


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def covered_period(period: DeliveryPeriod, run_day: date) -> str:
    """The period label (as `facmon report --period` takes it) a run on ``run_day`` covers: the complete month,
    quarter or year before it. 2026-12-03 → ``2026-11``; 2027-01-03 → ``2026-Q4`` or ``2026``."""
    if period is DeliveryPeriod.LAST_MONTH:
        year, month = _month_before(run_day.year, run_day.month)
        return f"{year}-{month:02d}"
    if period is DeliveryPeriod.LAST_QUARTER:
        quarter = (run_day.month - 1) // 3  # the quarter before the one holding run_day; 0 → Q4 of the year before
        return f"{run_day.year - 1}-Q4" if quarter == 0 else f"{run_day.year}-Q{quarter}"
    return str(run_day.year - 1)


def run_at(schedule: Schedule, year: int, month: int, tz: Any) -> datetime:
    """The local time the schedule runs in that month (whether or not it runs in that month)."""
    return datetime.combine(date(year, month, schedule.day_of_month), schedule.local_time, tz)


def last_run(schedule: Schedule, now: datetime) -> datetime:
    """The latest scheduled run at or before ``now`` (an aware local datetime)."""
    year, month = now.year, now.month
    for _ in range(13):
        if month in _RUN_MONTHS[schedule.period]:
            at = run_at(schedule, year, month, now.tzinfo)
            if at <= now:
                return at
        year, month = _month_before(year, month)
    raise AssertionError("every schedule runs at least once a year")


def next_run(schedule: Schedule, now: datetime) -> datetime:
    """The first scheduled run after ``now`` (an aware local datetime)."""
    year, month = now.year, now.month
    for _ in range(13):
        if month in _RUN_MONTHS[schedule.period]:
            at = run_at(schedule, year, month, now.tzinfo)
            if at > now:
                return at
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("every schedule runs at least once a year")


@dataclass(frozen=True)
class LedgerEntry:
    """One delivery of one report to one channel: delivered (ok) or given up after ``attempts`` tries."""

    schedule: str
    period: str
    channel: str
    ok: bool
    attempts: int
    detail: str
    at: str  # UTC, ISO 8601
    file: str = ""

    @property
    def time(self) -> datetime:
        return datetime.fromisoformat(self.at)


@dataclass(frozen=True)
class Due:
    """A schedule's run that still has channels to deliver to."""

    schedule: Schedule
    period: str
    run_at: datetime
    channels: tuple[str, ...]


def due(delivery: ReportDelivery, now: datetime, entries: Iterable[LedgerEntry]) -> list[Due]:
    """What `facmon report follow` sends at ``now`` (an aware local datetime): for each schedule, its latest run
    at or before ``now`` if not more than ``catch_up_hours`` ago, with the channels that have no delivery of that
    period in the ledger, less those whose last failure is more recent than ``retry_failed_after_min``."""
    delivered: set[tuple[str, str, str]] = set()
    last_failure: dict[tuple[str, str, str], datetime] = {}
    for entry in entries:
        key = (entry.schedule, entry.period, entry.channel)
        if entry.ok:
            delivered.add(key)
        else:
            last_failure[key] = max(entry.time, last_failure.get(key, entry.time))
    found: list[Due] = []
    for schedule in delivery.schedules:
        at = last_run(schedule, now)
        if now - at > timedelta(hours=delivery.catch_up_hours):
            continue
        period = covered_period(schedule.period, at.date())
        pending = []
        for channel in schedule.channels:
            key = (schedule.id, period, channel)
            if key in delivered:
                continue
            failed = last_failure.get(key)
            if failed is not None and now - failed < timedelta(minutes=delivery.retry_failed_after_min):
                continue
            pending.append(channel)
        if pending:
            found.append(Due(schedule, period, at, tuple(pending)))
    return found


class Ledger:
    """The delivery ledger, a JSON-lines file appended to once per delivery and channel."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def under(cls, home: Path) -> Ledger:
        """The ledger of the state folder ``home`` (FACMON_HOME)."""
        return cls(home / LEDGER)

    def entries(self) -> list[LedgerEntry]:
        """Every entry, oldest first. A line that cannot be read (a crash mid-write) is skipped with a warning."""
        if not self.path.exists():
            return []
        found = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                found.append(LedgerEntry(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                log.warning("%s:%d: skipped a ledger line that cannot be read (%s)", self.path, number, exc)
        return found

    def record(
        self, schedule: str, period: str, channel: str, ok: bool, attempts: int, detail: str, file: str = "", at: datetime | None = None
    ) -> LedgerEntry:
        """Append one delivery's outcome, on disk (fsync) before returning."""
        entry = LedgerEntry(schedule, period, channel, ok, attempts, detail, (at or datetime.now(UTC)).astimezone(UTC).isoformat(), file)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        return entry


@dataclass(frozen=True)
class Published:
    """A report copied where `facmon serve` serves it."""

    token: str
    path: Path

    def url(self, public_url: str) -> str:
        """The link to the file, under the work-order service's public address."""
        return f"{public_url.rstrip('/')}/r/{self.token}/{quote(self.path.name)}"


def publish(file: Path, home: Path) -> Published:
    """Copy ``file`` to ``home/reports/published/<token>/<name>``, the token unguessable (18 random bytes):
    whoever has the link may read the report, nobody can list or guess the others."""
    token = secrets.token_urlsafe(18)
    folder = home / PUBLISHED / token
    folder.mkdir(parents=True, mode=0o750)
    target = folder / file.name
    shutil.copyfile(file, target)
    return Published(token, target)
