"""Report benchmark: seconds to make the monthly energy report (PDF) of a site of ``--buildings`` buildings.

Starts its own InfluxDB (facmon.stack.Stack, temporary folder, free ports), backfills ``--buildings`` copies of
the example site's first building (its meters; bench/analytics_pipeline.bench_site) for December 2025 with the
simulator, analyses them, then times the report as `facmon report energy --period 2025-12` makes it:

figures_s    the report's figures: the scorecard (indicators, GB/T 51161, plan, savings, completeness, score,
             written as the command writes it), the monthly trend, the hourly load, the waste faults caused
render_s     HTML from the templates, charts by matplotlib, the PDF by WeasyPrint (fonts embedded)
report_s     figures_s + render_s: the issue's target (< 60 s for 100 buildings)

and prints one JSON object with them, the pages and the PDF's size. Backfill and analysis are reported too but
are not part of the target (they run once, as data arrive).

    .venv/bin/python bench/reports.py --buildings 100
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analytics_pipeline import DEFAULT_SITE, bench_site  # noqa: E402
from facmon.analytics.analyze import analyze  # noqa: E402
from facmon.cli.report import energy_report_figures  # noqa: E402
from facmon.registry import load_site  # noqa: E402
from facmon.reports.energy_report import write_energy_report  # noqa: E402
from facmon.simulators import SiteSimulator, backfill  # noqa: E402
from facmon.stack import Stack, free_port  # noqa: E402
from facmon.store import InfluxStore  # noqa: E402

MONTH_START, MONTH_END = datetime(2025, 11, 30, 16, tzinfo=UTC), datetime(2025, 12, 31, 16, tzinfo=UTC)  # December 2025, Shanghai


def report_benchmark(store: InfluxStore, out: Path, *, buildings: int, site_path: Path = DEFAULT_SITE) -> dict:
    site = bench_site(load_site(site_path), buildings)
    began = time.monotonic()
    backfill(SiteSimulator(site, seed=0), store, MONTH_START, MONTH_END)
    backfill_s = time.monotonic() - began
    analysed = analyze(site, store, MONTH_START, MONTH_END)

    began = time.monotonic()
    figures = energy_report_figures(store, site, "2025-12")
    figures_s = time.monotonic() - began
    began = time.monotonic()
    write_energy_report(figures, out, "pdf", "zh", datetime.now(site.site.tz))
    render_s = time.monotonic() - began
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout if out.exists() else ""
    pages = next((int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:")), None)
    return {
        "buildings": buildings,
        "period": "2025-12",
        "meters_per_building": len(site.buildings[0].meters),
        "backfill_s": round(backfill_s, 1),
        "analyse_s": round(analysed.seconds, 1),
        "figures_s": round(figures_s, 2),
        "render_s": round(render_s, 2),
        "report_s": round(figures_s + render_s, 2),
        "pages": pages,
        "pdf_bytes": out.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100, help="building copies in the site")
    args = parser.parse_args(argv)
    if args.buildings < 1:
        parser.error("--buildings must be at least 1")
    with tempfile.TemporaryDirectory(prefix="facmon-bench-reports-") as home:
        stack = Stack(Path(home), mqtt_port=free_port(), influx_port=free_port(), influx_rpc_port=free_port())
        stack.up(work_orders=False)
        try:
            store = InfluxStore(stack.influx_url, "bench")
            store.create_database()
            figures = report_benchmark(store, Path(home) / "energy-2025-12.pdf", buildings=args.buildings)
        finally:
            stack.down()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
