"""`facmon analyze --shard K/N`: N workers cover the site's buildings without overlap, and what they write together
is what one worker writes for the whole site (each is idempotent)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from facmon.registry import Site
from facmon.store import InfluxStore

FACMON = str(Path(sys.executable).with_name("facmon"))


def daily_points(store: InfluxStore) -> list[tuple]:
    rows = store.rows('SELECT "consumption", "kgce" FROM "energy_daily" GROUP BY "building", "energy", "subitem"')
    return sorted((r["building"], r["energy"], r["subitem"], r["time"], r["consumption"], r.get("kgce")) for r in rows)


def test_two_shards_cover_the_site_once_and_write_what_one_worker_writes(
    store: InfluxStore, example_site: Site, stack_env: dict[str, str]
) -> None:
    from facmon.simulators import SiteSimulator, backfill

    backfill(SiteSimulator(example_site, seed=3), store, datetime(2026, 3, 1, 16, tzinfo=UTC), datetime(2026, 3, 2, 16, tzinfo=UTC))

    def analyse(*extra: str) -> list[str]:
        done = subprocess.run(
            [FACMON, "analyze", "--since", "2026-03-02", "--until", "2026-03-02", "--format", "json", *extra],
            env=stack_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return [b["building"] for b in json.loads(done.stdout)["buildings"]]

    first, second = analyse("--shard", "1/2"), analyse("--shard", "2/2")
    assert not set(first) & set(second) and sorted(first + second) == sorted(b.code for b in example_site.buildings)
    assert first and second  # the example's five buildings are spread over both workers
    by_shards = daily_points(store)
    # a worker catches up from its own buildings' progress: the last interval analysed of them, not of the site
    # (15:30 UTC: the 15:45 interval would need the 16:00 reading, after the backfill's end)
    from facmon.schema.energy import last_interval_start_s

    assert last_interval_start_s(store, first) == last_interval_start_s(store) == int(datetime(2026, 3, 2, 15, 30, tzinfo=UTC).timestamp())
    assert last_interval_start_s(store, ["341122B999"]) is None  # a building with nothing analysed
    assert {p[0] for p in by_shards} == set(first + second)
    assert analyse() == [b.code for b in example_site.buildings]
    assert daily_points(store) == by_shards  # one worker over the whole site rewrites the same points

    refused = subprocess.run([FACMON, "analyze", "--shard", "3/2"], env=stack_env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "--shard '3/2'" in refused.stderr
