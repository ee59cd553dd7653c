"""Registry benchmark: what a city- or province-sized registry costs every command that reads it.

For each size it generates a site from the example (simulators/registry.py: codes 341122A001…, the example's
buildings copied in turn, 37 devices each on average: meters, sensors, equipment) as one file and as a folder (one file per
building), then measures, each in a new process (cold: nothing cached but the operating system's file cache):

load_s / load_folder_s   `load_site` of the file / the folder: parse, validate, cross-check
shard_load_s             `load_site(..., buildings=Shard(1, 8).holds)`: what one of 8 analysis workers pays
site_check_s             `facmon site check` of the file, wall clock (Python's start-up and imports included)
collector_start_s        `facmon ingest` from launch until the broker confirms its subscription (its own
                         Mosquitto and InfluxDB, facmon.stack, in a temporary folder on free ports)
export_s                 `facmon grafana export` (with the check of every file as Grafana 11 reads it)
rules_kb, dashboards_kb  the sizes of alerting/rules.yaml and of the largest dashboard it wrote

and, at the largest size, breaks three buildings' entries (near the start, middle and end) and runs
`facmon site check` once: every broken entry must be reported with its file and line.

    .venv/bin/python bench/registry.py --sizes 10 100 1000 10000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facmon.simulators.registry import building_codes, generate_site  # noqa: E402
from facmon.stack import Stack, free_port  # noqa: E402

FACMON = Path(sys.executable).parent / "facmon"
LOAD = """
import json, sys, time
began = time.monotonic()
from facmon.registry import load_site
from facmon.shards import Shard
imported = time.monotonic()
site = load_site(sys.argv[1], buildings=Shard(1, 8).holds if sys.argv[2] == "shard" else None)
done = time.monotonic()
print(json.dumps({"load_s": done - imported, "import_s": imported - began, "buildings": len(site.buildings),
                  "devices": sum(len(b.meters) + len(b.ieq_sensors) + len(b.weather_sensors) + len(b.equipment) for b in site.buildings)}))
"""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
    env.update(extra or {})
    return env


def load_once(path: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", LOAD, str(path), mode], capture_output=True, text=True, check=True, cwd=ROOT, env=_env())
    return json.loads(out.stdout)


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess]:
    began = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=_env(env))
    return time.monotonic() - began, done


def collector_start_s(stack: Stack, site: Path, home: Path) -> float:
    """From launching `facmon ingest` to the broker confirming its subscription, s."""
    log_path = home / "collector.log"
    env = _env({"FACMON_HOME": str(stack.home), "FACMON_INFLUX_DATABASE": "bench_registry", "FACMON_SITE": str(site)})
    with open(log_path, "w") as log:
        began = time.monotonic()
        collector = subprocess.Popen(
            [str(FACMON), "ingest", "--client-id", "bench-registry"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        try:
            while "subscribed to" not in log_path.read_text(errors="replace"):
                if collector.poll() is not None or time.monotonic() - began > 600:
                    raise RuntimeError(f"the collector did not subscribe; its log:\n{log_path.read_text(errors='replace')[-2000:]}")
                time.sleep(0.02)
            return time.monotonic() - began
        finally:
            collector.send_signal(signal.SIGTERM)
            try:
                collector.wait(60)
            except subprocess.TimeoutExpired:
                collector.kill()
                collector.wait()


def export_figures(site: Path, out: Path) -> dict:
    seconds, done = timed([str(FACMON), "grafana", "export", "--site", str(site), "--out", str(out)])
    if done.returncode != 0:
        raise RuntimeError(f"grafana export failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    dashboards = sorted(out.rglob("*.json"), key=lambda p: p.stat().st_size)
    return {
        "export_s": round(seconds, 2),
        "rules_kb": round((out / "alerting" / "rules.yaml").stat().st_size / 1024, 1),
        "dashboards_kb": round(dashboards[-1].stat().st_size / 1024, 1),
        "largest_dashboard": dashboards[-1].name,
    }


def break_three(path: Path, codes: list[str]) -> dict[str, int]:
    """Break one field of three buildings' entries in ``path``; {code: the line a person would look at}."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    starts = {line[len("- code: '") : -2]: i for i, line in enumerate(lines) if line.startswith("- code: '")}
    expected = {}
    for code, (pattern, new) in zip(
        codes, ((r"floor_area_m2: \d+", "floor_area_m2: -5"), (r"multiplier: [\d.]+", "multiplier: lots"), (r"floors: \d+", "floors: x"))
    ):
        at = next(i for i in range(starts[code], len(lines)) if re.search(pattern, lines[i]))
        lines[at] = re.sub(pattern, new, lines[at], count=1)
        expected[code] = at + 1
    path.write_text("".join(lines), encoding="utf-8")
    return expected


def broken_figures(path: Path, n: int) -> dict:
    codes = list(building_codes(n))
    expected = break_three(path, [codes[1], codes[n // 2], codes[-1]])
    seconds, done = timed([str(FACMON), "site", "check", str(path)])
    reported = [line.strip() for line in (done.stdout + done.stderr).splitlines() if re.match(rf"\s*{re.escape(str(path))}:\d+: ", line)]
    found = {code: any(p.startswith(f"{path}:{line}: ") and f"({code})" in p for p in reported) for code, line in expected.items()}
    return {
        "broken_site_check_s": round(seconds, 2),
        "broken_exit_code": done.returncode,
        "broken_reported": len(reported),
        "broken_found_at_their_lines": sum(found.values()),
        "broken_problems": reported,
    }


def size_figures(n: int, work: Path, stack: Stack) -> dict:
    progress(f"{n:,} buildings: generating")
    file_site = generate_site(n, work / f"site-{n}.yaml", "file")
    folder_site = generate_site(n, work / f"site-{n}", "folder")
    progress(f"{n:,} buildings: loading")
    loaded = load_once(file_site, "all")
    figures = {
        "buildings": n,
        "devices": loaded["devices"],
        "file_mb": round(file_site.stat().st_size / 1e6, 2),
        "import_s": round(loaded["import_s"], 2),
        "load_s": round(loaded["load_s"], 2),
        "load_folder_s": round(load_once(folder_site, "all")["load_s"], 2),
        "shard_load_s": round(load_once(file_site, "shard")["load_s"], 2),
    }
    seconds, done = timed([str(FACMON), "site", "check", str(file_site)])
    if done.returncode != 0:
        raise RuntimeError(f"site check failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    figures["site_check_s"] = round(seconds, 2)
    progress(f"{n:,} buildings: collector start-up")
    figures["collector_start_s"] = round(collector_start_s(stack, file_site, work), 2)
    progress(f"{n:,} buildings: grafana export")
    figures.update(export_figures(file_site, work / f"grafana-{n}"))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 10000], help="site sizes in buildings (at least 5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="facmon-bench-registry-") as folder:
        work = Path(folder)
        stack = Stack(work / "stack", mqtt_port=free_port(), influx_port=free_port(), influx_rpc_port=free_port())
        try:
            stack.up(work_orders=False)
            sizes = [size_figures(n, work, stack) for n in args.sizes]
        finally:
            stack.down()
        largest = max(args.sizes)
        progress(f"{largest:,} buildings: three broken entries")
        broken = broken_figures(work / f"site-{largest}.yaml", largest)
    print(json.dumps({"sizes": sizes, "broken_entries": {"buildings": largest, **broken}}, ensure_ascii=False, indent=2))
    return 0 if broken["broken_found_at_their_lines"] == 3 and broken["broken_reported"] == 3 else 1


if __name__ == "__main__":
    sys.exit(main())
