"""Analytics pipeline benchmark: seconds to analyse one building-year of 15-minute meter data from InfluxDB.

Starts its own InfluxDB (facmon.stack.Stack, temporary folder, free ports) unless ``--reuse-env``
(then FACMON_INFLUX_URL / FACMON_HOME and a fresh database named ``bench_analytics_<random>``,
dropped at the end), backfills ``--buildings`` copies of the example site's first building
(its 23 meters; sensors and equipment left out, they play no part here) for ``--days`` days with the
simulator, then times :func:`facmon.analytics.analyze.analyze`:

first_one    building 1 alone, nothing analysed before (fresh points)
score_one    `facmon score energy` for building 1's year (indicators, benchmark, plan, savings, completeness), s
analyse_and_score_one = first_one + score_one: the issue's target (< 5 s per building-year; a year's run)
first_rest   buildings 2..N together, fresh points (per building)
score_all    scoring all N buildings, s per building
rerun_all    all N again, rewriting the same points (per building)
read_one     only reading building 1's registers (the InfluxDB share of first_one)

and prints one JSON object: seconds per building-year for each, and ``scaling_ratio`` = per-building
seconds of first_rest ÷ first_one (1.0 = linear in the number of buildings).

    .venv/bin/python bench/analytics_pipeline.py --buildings 1 --days 365
    .venv/bin/python bench/analytics_pipeline.py --buildings 4 --days 365
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facmon.analytics.analyze import MAX_GAP_S, analysis_period, analyze  # noqa: E402
from facmon.analytics.energy_score import score_energy, write_energy_scores  # noqa: E402
from facmon.analytics.indicators import Period, parse_period  # noqa: E402
from facmon.registry import Site, load_site  # noqa: E402
from facmon.simulators import SiteSimulator, backfill  # noqa: E402
from facmon.stack import Stack, free_port  # noqa: E402
from facmon.store import InfluxStore  # noqa: E402

DEFAULT_SITE = ROOT / "examples" / "county-offices.yaml"
END = datetime(2026, 1, 1, tzinfo=UTC)


def bench_site(template: Site, buildings: int) -> Site:
    """``buildings`` copies of the template's first building (codes <division>A101, A102, ..., A999, B000, ...: up
    to 7,899 copies), meters only."""
    first = template.buildings[0]

    def code(i: int) -> str:
        n = 101 + i
        return f"{template.site.division_code}{'ABCDEFGH'[n // 1000]}{n % 1000:03d}"

    copies = [
        first.model_copy(update={"code": code(i), "ieq_sensors": [], "weather_sensors": [], "equipment": []}) for i in range(buildings)
    ]
    raw = template.model_dump(mode="json")
    raw["buildings"] = [c.model_dump(mode="json") for c in copies]
    raw["mqtt"] = {"topic_prefix": template.mqtt.topic_prefix}
    return Site.model_validate(raw)


def pipeline_benchmark(
    store: InfluxStore, *, buildings: int = 3, days: float = 365.0, site_path: Path = DEFAULT_SITE, seed: int = 0
) -> dict:
    """Backfill ``buildings`` building copies for ``days`` days into ``store``, time the analysis phases; returns the figures."""
    site = bench_site(load_site(site_path), buildings)
    codes = [b.code for b in site.buildings]
    start = END - timedelta(days=days)
    # Backfill from hours before the first local day to hours after the end, so every interval has its readings.
    began = time.monotonic()
    written = backfill(SiteSimulator(site, seed=seed), store, start - timedelta(hours=9), END + timedelta(hours=3))
    backfill_s = time.monotonic() - began
    per_year = 365.0 / days

    began = time.monotonic()
    period = analysis_period(site, start, END)
    margin = MAX_GAP_S + period.interval_s
    with ThreadPoolExecutor(3) as pool:
        list(
            pool.map(
                lambda m: store.field_series(
                    "meter", "register", {"building": codes[0], "meter": m.id}, period.start_s - margin, period.end_s + margin
                ),
                site.buildings[0].meters,
            )
        )
    read_one_s = time.monotonic() - began

    first_one = analyze(site, store, start, END, buildings=codes[:1])
    year = parse_period(str(start.year)) if days >= 365 else None
    score_one_s = _score_seconds(store, bench_site(load_site(site_path), 1), year)
    figures: dict = {
        "buildings": buildings,
        "days": days,
        "meters_per_building": len(site.buildings[0].meters),
        "readings_per_building": written[("meter", codes[0])],
        "backfill_s": round(backfill_s, 2),
        "read_one_s_per_building_year": round(read_one_s * per_year, 2),
        "first_one_s_per_building_year": round(first_one.seconds * per_year, 2),
        "score_one_s": round(score_one_s, 2),
        "analyse_and_score_one_s_per_building_year": round(first_one.seconds * per_year + score_one_s, 2),
        "points_written_per_building": first_one.buildings[0].points,
    }
    if buildings > 1:
        first_rest = analyze(site, store, start, END, buildings=codes[1:])
        per_building = first_rest.seconds / (buildings - 1)
        figures["first_rest_s_per_building_year"] = round(per_building * per_year, 2)
        figures["scaling_ratio"] = round(per_building / first_one.seconds, 3)
    else:
        figures["scaling_ratio"] = 1.0
    rerun = analyze(site, store, start, END)
    figures["rerun_all_s_per_building_year"] = round(rerun.seconds / buildings * per_year, 2)
    figures["score_all_s_per_building"] = round(_score_seconds(store, site, year) / buildings, 2)
    return figures


def _score_seconds(store: InfluxStore, site: Site, year: Period | None) -> float:
    """Seconds to score the site for the benchmark's year (its last month when less than a year was simulated)."""
    period = year or parse_period(f"{END.year - 1}-12")
    began = time.monotonic()
    card = score_energy(store, site, period, today=END.date())
    write_energy_scores(store, card, site.site.timezone)
    return time.monotonic() - began


def run_on_own_stack(*, buildings: int, days: float, site_path: Path = DEFAULT_SITE) -> dict:
    """pipeline_benchmark on an InfluxDB of its own (temporary folder, free ports), stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="facmon-bench-analytics-") as home:
        stack = Stack(Path(home), mqtt_port=free_port(), influx_port=free_port(), influx_rpc_port=free_port())
        stack.up(work_orders=False)
        try:
            store = InfluxStore(stack.influx_url, "bench")
            store.create_database()
            return pipeline_benchmark(store, buildings=buildings, days=days, site_path=site_path)
        finally:
            stack.down()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=3, help="building copies to backfill and analyse")
    parser.add_argument("--days", type=float, default=365.0, help="days of 15-minute data per building")
    parser.add_argument("--site", type=Path, default=DEFAULT_SITE, help="site whose first building is copied")
    parser.add_argument("--reuse-env", action="store_true", help="use the InfluxDB of FACMON_* settings instead of starting one")
    args = parser.parse_args(argv)
    if args.buildings < 1 or args.days <= 0:
        parser.error("--buildings must be at least 1 and --days positive")

    if args.reuse_env:
        from dataclasses import replace

        from facmon.settings import open_store, resolve_endpoints

        store = open_store(replace(resolve_endpoints(), influx_database=f"bench_analytics_{uuid.uuid4().hex[:8]}"))
        store.create_database()
        try:
            figures = pipeline_benchmark(store, buildings=args.buildings, days=args.days, site_path=args.site)
        finally:
            store.query(f'DROP DATABASE "{store.database}"', method="POST")
    else:
        figures = run_on_own_stack(buildings=args.buildings, days=args.days, site_path=args.site)
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
