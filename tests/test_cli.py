"""The `facmon` command line explains itself and reports user mistakes without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_SITE

FACMON = str(Path(sys.executable).with_name("facmon"))


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACMON_")}
    return subprocess.run([FACMON, *args], env={**base, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["site"],
        ["site", "check"],
        ["stack"],
        ["stack", "up"],
        ["stack", "down"],
        ["stack", "status"],
        ["simulate"],
        ["ingest"],
        ["demo"],
    ],
)
def test_every_command_explains_itself(command):
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: facmon" in result.stdout
    assert len(result.stdout.splitlines()) > 5


def test_site_check_prints_a_summary_of_the_example(tmp_path):
    result = run("site", "check", str(EXAMPLE_SITE))
    assert result.returncode == 0, result.stderr
    for expected in (
        "县委办公楼",
        "县人大办公楼",
        "县政府办公楼",
        "县政协办公楼",
        "机关食堂",
        "property",
        "hvac",
        "elevator",
        "valid: 5 buildings, 3 vendors",
    ):
        assert expected in result.stdout


def test_site_file_comes_from_option_then_environment_then_the_example(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        EXAMPLE_SITE.read_text(encoding="utf-8").replace("climate_zone: hot_summer_cold_winter", "climate_zone: tropical"), encoding="utf-8"
    )
    by_env = run("site", "check", "--format", "json", env={"FACMON_SITE": str(broken)})
    assert by_env.returncode == 2 and str(broken) in by_env.stderr
    by_option = run("site", "check", "--site", str(EXAMPLE_SITE), "--format", "json", env={"FACMON_SITE": str(broken)})
    assert by_option.returncode == 0 and json.loads(by_option.stdout)["valid"] is True
    by_default = run("site", "check", "--format", "json", cwd=tmp_path)  # no examples/ here: found beside the source
    assert by_default.returncode == 0, by_default.stderr
    assert len(json.loads(by_default.stdout)["buildings"]) == 5


def test_a_broken_site_file_is_an_error_message_not_a_traceback(tmp_path):
    broken = tmp_path / "site.yaml"
    broken.write_text(EXAMPLE_SITE.read_text(encoding="utf-8").replace("floor_area_m2: 14500", "floor_area_m2: -14500"), encoding="utf-8")
    result = run("site", "check", str(broken))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{broken}:" in result.stderr and "floor_area_m2: input should be greater than 0 (got -14500)" in result.stderr
    assert "buildings[0] (341122A001)" in result.stderr


def test_a_missing_site_file_and_a_bad_option_are_errors(tmp_path):
    missing = run("site", "check", str(tmp_path / "none.yaml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    bad_option = run("simulate", "--speed", "fast")
    assert bad_option.returncode == 2 and "Traceback" not in bad_option.stderr


def test_a_server_that_cannot_be_reached_is_named_with_the_way_out(tmp_path):
    from facmon.stack import free_port

    port = free_port()
    # (`facmon ingest` itself starts anyway and spools: tests/test_ingest_durability.py)
    result = run("ingest", "status", env={"FACMON_HOME": str(tmp_path), "FACMON_INFLUX_URL": f"http://127.0.0.1:{port}"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"InfluxDB at http://127.0.0.1:{port} cannot be reached" in result.stderr
    assert "facmon stack up" in result.stderr


def test_a_backfill_window_is_given_by_its_first_moment_or_its_end_and_the_old_start_is_refused():
    from datetime import UTC, datetime

    from facmon.cli.simulate import backfill_window

    first = datetime(2026, 9, 30, 16, tzinfo=UTC)  # 2026-10-01 00:00 in Beijing
    assert backfill_window("2026-10-01T00:00:00+08:00", None, 31) == (first, datetime(2026, 10, 31, 16, tzinfo=UTC))
    assert backfill_window(None, "2026-10-01T00:00:00+08:00", 2) == (datetime(2026, 9, 28, 16, tzinfo=UTC), first)
    assert backfill_window("2026-10-01T00:00:00+08:00", "2026-10-02T00:00:00+08:00", None)[1] == datetime(2026, 10, 1, 16, tzinfo=UTC)
    refused = run("simulate", "--backfill", "--start", "2026-10-01T00:00:00+08:00", "--days", "1")
    assert refused.returncode == 2 and "--from" in refused.stderr and "--until" in refused.stderr, refused.stderr
    live = run("simulate", "--from", "2026-10-01T00:00:00+08:00", "--duration", "1")
    assert live.returncode == 2 and "--backfill" in live.stderr, live.stderr
