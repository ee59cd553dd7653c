#!/usr/bin/env python3
"""Health checks of facmon's containers (deploy/compose), installed in the image as facmon-healthcheck.

    facmon-healthcheck collector CLIENT_ID [--max-age S]   this collector's newest ingest_stats point is
                                                            younger than S seconds (it writes one every 10 s)
                                                            and InfluxDB takes its writes
    facmon-healthcheck http URL                             the URL answers 2xx (redirects followed)

Exit 0 when healthy, 1 otherwise, with one line saying why (Docker keeps it in the container's health log).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.error
import urllib.request


def collector_verdict(status: dict, client_id: str, max_age_s: float) -> tuple[bool, str]:
    """Healthy when ``status`` (the JSON of `facmon ingest status --format json`) has a point of ``client_id``
    younger than ``max_age_s`` and the collector does not say that its writes to InfluxDB fail (``store_error``,
    from its status file under FACMON_HOME: InfluxDB cannot store the point that would say so)."""
    rows = [row for row in status.get("collectors", []) if row.get("collector") == client_id]
    problem = rows[0].get("store_error") if rows else None
    if problem:
        since = rows[0].get("store_error_since") or "?"
        spooled = float(rows[0].get("spooled") or 0)
        return (
            False,
            f"collector {client_id}: InfluxDB takes no writes ({problem} since {since}); {spooled:,.0f} readings held in its spool",
        )
    if not rows or "age_s" not in rows[0]:
        return False, f"collector {client_id} has not reported to database {status.get('database')!r}"
    age = float(rows[0]["age_s"])
    if age > max_age_s:
        return False, f"collector {client_id} last reported {age:.0f} s ago (limit {max_age_s:.0f} s)"
    return True, f"collector {client_id} reported {age:.0f} s ago"


def check_collector(client_id: str, max_age_s: float) -> tuple[bool, str]:
    done = subprocess.run(["facmon", "ingest", "status", "--format", "json"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return False, f"facmon ingest status failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-300:]}"
    try:
        status = json.loads(done.stdout)
    except ValueError:
        return False, "facmon ingest status --format json printed no JSON"
    return collector_verdict(status, client_id, max_age_s)


def check_http(url: str) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=8) as response:
            return 200 <= response.status < 300, f"{url}: HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: HTTP {exc.code}"
    except OSError as exc:
        return False, f"{url}: {exc}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="facmon-healthcheck")
    sub = parser.add_subparsers(dest="what", required=True)
    collector = sub.add_parser("collector")
    collector.add_argument("client_id")
    collector.add_argument("--max-age", type=float, default=60.0)
    http = sub.add_parser("http")
    http.add_argument("url")
    args = parser.parse_args(argv)
    healthy, why = check_collector(args.client_id, args.max_age) if args.what == "collector" else check_http(args.url)
    print(why)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
