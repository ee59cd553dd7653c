"""Scale benchmark: what one machine does per unit of work as a site grows to 10, 100 and 1,000 buildings.

Starts its own InfluxDB (facmon.stack.Stack, temporary folder, free ports). For each size it builds a site of N
copies of the example site's first building (its 23 meters; bench/analytics_pipeline.bench_site), backfills one
local day (2025-12-01, Asia/Shanghai) with the simulator into a database of its own, then times:

analyse_day_s_per_building   `facmon analyze` of that day for all N buildings, per building: the work of a
                             `--follow` cycle for a whole day (each cycle re-analyses the local days since the
                             last complete interval less the longest gap, so at most today's whole day)
score_s_per_building         `facmon score energy --period 2025-12` (written as the command writes it), per building
report_s_per_building        `facmon report energy` for that month: figures and PDF, per building (``--report-max``
                             buildings at most: rendering 1,000 buildings' tables is measured only when asked)

and prints one JSON object with every size's figures. Loading the registry is not included: the sites are
built in memory (issue 20 measures and fixes the registry's load time separately).

    .venv/bin/python bench/scale.py --sizes 10 100 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analytics_pipeline import DEFAULT_SITE, bench_site  # noqa: E402
from facmon.analytics.analyze import analyze  # noqa: E402
from facmon.analytics.energy_score import score_energy, write_energy_scores  # noqa: E402
from facmon.analytics.indicators import parse_period  # noqa: E402
from facmon.cli.report import energy_report_figures  # noqa: E402
from facmon.registry import load_site  # noqa: E402
from facmon.reports.energy_report import write_energy_report  # noqa: E402
from facmon.simulators import SiteSimulator, backfill  # noqa: E402
from facmon.stack import Stack, free_port  # noqa: E402
from facmon.store import InfluxStore  # noqa: E402

DAY_START, DAY_END = datetime(2025, 11, 30, 16, tzinfo=UTC), datetime(2025, 12, 1, 16, tzinfo=UTC)  # 2025-12-01, Shanghai


def size_figures(url: str, buildings: int, out: Path, report_max: int) -> dict:
    store = InfluxStore(url, f"scale{buildings}")
    store.create_database()
    site = bench_site(load_site(DEFAULT_SITE), buildings)
    began = time.monotonic()
    readings = backfill(SiteSimulator(site, seed=buildings), store, DAY_START, DAY_END)
    backfill_s = time.monotonic() - began
    analysed = analyze(site, store, DAY_START, DAY_END)
    began = time.monotonic()
    card = score_energy(store, site, parse_period("2025-12"), today=datetime(2026, 1, 5).date())
    write_energy_scores(store, card, site.site.timezone)
    score_s = time.monotonic() - began
    figures = {
        "buildings": buildings,
        "readings": sum(readings.values()),
        "backfill_s": round(backfill_s, 1),
        "analyse_day_s": round(analysed.seconds, 2),
        "analyse_day_s_per_building": round(analysed.seconds / buildings, 3),
        "score_s": round(score_s, 2),
        "score_s_per_building": round(score_s / buildings, 4),
    }
    if buildings <= report_max:
        began = time.monotonic()
        report = energy_report_figures(store, site, "2025-12")
        write_energy_report(report, out / f"energy-{buildings}.pdf", "pdf", "zh", datetime.now(site.site.tz))
        report_s = time.monotonic() - began
        figures.update(report_s=round(report_s, 1), report_s_per_building=round(report_s / buildings, 3))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000], help="site sizes in buildings")
    parser.add_argument("--report-max", type=int, default=100, help="render the report only for sizes up to this")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.sizes):
        parser.error("--sizes must be positive")
    results = []
    with tempfile.TemporaryDirectory(prefix="facmon-bench-scale-") as home:
        stack = Stack(Path(home), mqtt_port=free_port(), influx_port=free_port(), influx_rpc_port=free_port())
        stack.up(work_orders=False)
        try:
            for n in args.sizes:
                results.append(size_figures(stack.influx_url, n, Path(home), args.report_max))
                print(json.dumps(results[-1]), file=sys.stderr)
        finally:
            stack.down()
    print(json.dumps({"sizes": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
