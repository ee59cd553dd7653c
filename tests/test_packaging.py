"""What `pip install` puts into site-packages: one top-level name, facmon, with every part under it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_the_wheel_installs_one_top_level_name_with_every_part_and_the_go_checker(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("facmon-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")} == {"facmon"}
    for part in ("ingest", "analytics", "alerts", "dashboards", "simulators", "grafana"):
        assert f"facmon/{part}/__init__.py" in names, part
    assert "facmon/grafana/check/main.go" in names
