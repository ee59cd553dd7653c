"""The calendar-month rollup (energy_monthly): sums by hand, local month edges, and `analyze` runs that
split a month between them still leaving each month whole."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from facmon.analytics.analyze import analyze
from facmon.analytics.monthly import local_month_starts_s, monthly_energy
from facmon.registry import Site
from facmon.schema import ENERGY_DAILY, ENERGY_MONTHLY
from facmon.simulators import SiteSimulator
from facmon.simulators.backfill import backfill
from facmon.store import InfluxStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
A001 = "341122A001"


def _local_s(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).timestamp())


def test_month_edges_are_local_month_starts_across_a_year_end() -> None:
    """From an instant in December to one in February: 1 Dec, 1 Jan, 1 Feb and 1 Mar at local midnight
    (16:00 UTC of the day before in UTC+8)."""
    edges = local_month_starts_s(_local_s("2025-12-15T12:00"), _local_s("2026-02-01T00:00"), SHANGHAI)
    assert edges.tolist() == [_local_s(d) for d in ("2025-12-01T00:00", "2026-01-01T00:00", "2026-02-01T00:00", "2026-03-01T00:00")]
    assert datetime.fromtimestamp(int(edges[1]), ZoneInfo("UTC")).isoformat() == "2025-12-31T16:00:00+00:00"


def test_days_add_up_per_month_with_mean_completeness_and_days_with_data() -> None:
    """30 Jan 10 kWh (kgce 1.0, completeness 1.0), 31 Jan 20 kWh (no kgce, 0.5), 1 Feb 5 kWh (kgce 0.5, 0.9):
    January 30 kWh over 2 days, kgce 1.0, completeness 0.75; February 5 kWh, 1 day, 0.9. A day outside
    the edges (1 March) is left out; a month without days gets no point."""
    days = np.array([_local_s(d) for d in ("2026-01-30T00:00", "2026-01-31T00:00", "2026-02-01T00:00", "2026-03-01T00:00")])
    edges = np.array([_local_s(d) for d in ("2025-12-01T00:00", "2026-01-01T00:00", "2026-02-01T00:00", "2026-03-01T00:00")])
    points = monthly_energy(
        A001,
        "01",
        "01000",
        days,
        np.array([10.0, 20.0, 5.0, 99.0]),
        np.array([1.0, np.nan, 0.5, 9.0]),
        np.array([5.0, 10.0, 2.5, 9.0]),
        np.array([1.0, 0.5, 0.9, 1.0]),
        edges,
    )
    got = [(p.month_start_s, p.consumption, p.kgce, p.co2_kg, p.days, p.completeness) for p in points]
    assert got == [
        (_local_s("2026-01-01T00:00"), 30.0, 1.0, 15.0, 2, pytest.approx(0.75)),
        (_local_s("2026-02-01T00:00"), 5.0, 0.5, 2.5, 1, pytest.approx(0.9)),
    ]


def test_a_category_without_factors_has_no_kgce_or_co2() -> None:
    """Water days carry no kgce and no CO₂: the month has neither, only its consumption."""
    edges = np.array([_local_s("2026-01-01T00:00"), _local_s("2026-02-01T00:00")])
    (point,) = monthly_energy(
        A001,
        "02",
        "02000",
        np.array([_local_s("2026-01-05T00:00")]),
        np.array([3.5]),
        np.array([np.nan]),
        np.array([np.nan]),
        np.array([1.0]),
        edges,
    )
    assert (point.consumption, point.kgce, point.co2_kg, point.days) == (3.5, None, None, 1)


def _monthly(store: InfluxStore) -> dict[tuple[str, str, int], dict[str, Any]]:
    (series,) = store.query(f'SELECT * FROM "{ENERGY_MONTHLY}"')
    return {(r["subitem"], r["building"], r["time"]): r for r in (dict(zip(series["columns"], row)) for row in series["values"])}


def test_a_month_analysed_in_two_runs_is_whole_and_a_rerun_changes_nothing(example_site: Site, store: InfluxStore) -> None:
    """30 Jan to 1 Feb analysed as [30 Jan] then [31 Jan, 1 Feb]: January's point holds both January days
    (the first run's day read back from InfluxDB), February's the 1st; each month's consumption, kgce and
    CO₂ are the sums of that month's energy_daily rows and completeness their mean. Analysing the whole
    span again in one run writes the same points."""
    tz = example_site.site.tz
    start, split, end = (datetime(2026, 1, 30, tzinfo=tz), datetime(2026, 1, 31, tzinfo=tz), datetime(2026, 2, 2, tzinfo=tz))
    backfill(SiteSimulator(example_site, seed=5), store, start, end)
    analyze(example_site, store, start, split, buildings=[A001])
    after_first = _monthly(store)
    january, february = int(datetime(2026, 1, 1, tzinfo=tz).timestamp()), int(datetime(2026, 2, 1, tzinfo=tz).timestamp())
    assert {(key[2], row["days"]) for key, row in after_first.items()} == {(january, 1.0)}
    analyze(example_site, store, split, end, buildings=[A001])

    expected: dict[tuple[str, str, int], dict[str, Any]] = defaultdict(
        lambda: {"consumption": 0.0, "kgce": None, "co2_kg": None, "days": 0, "completeness": 0.0}
    )
    for series in store.query(
        f'SELECT "consumption", "kgce", "co2_kg", "completeness" FROM "{ENERGY_DAILY}" GROUP BY "subitem", "building"'
    ):
        for row in series["values"]:
            record = dict(zip(series["columns"], row))
            month = january if record["time"] < february else february
            point = expected[(series["tags"]["subitem"], series["tags"]["building"], month)]
            point["consumption"] += record["consumption"]
            point["days"] += 1
            point["completeness"] += record["completeness"]
            for name in ("kgce", "co2_kg"):
                if record[name] is not None:
                    point[name] = (point[name] or 0.0) + record[name]
    for point in expected.values():
        point["completeness"] /= point["days"]

    found = _monthly(store)
    assert set(found) == set(expected)
    assert {key[2] for key in found} == {january, february}
    for key, point in expected.items():
        row = found[key]
        assert row["days"] == point["days"] == (2 if key[2] == january else 1), key
        assert row["consumption"] == pytest.approx(point["consumption"], abs=1e-5), key
        assert row["completeness"] == pytest.approx(point["completeness"], abs=1e-6), key
        for name in ("kgce", "co2_kg"):
            assert (row[name] is None) == (point[name] is None), (key, name)
            if point[name] is not None:
                assert row[name] == pytest.approx(point[name], abs=1e-5), (key, name)
    assert found[("02000", A001, january)]["kgce"] is None  # water: no kgce

    analyze(example_site, store, start, end, buildings=[A001])
    assert _monthly(store) == found
