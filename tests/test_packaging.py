"""What `pip install` puts into site-packages: one top-level name, facmon, with every package under it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT

PARTS = {
    "ingest",
    "analytics",
    "alerts",
    "dashboards",
    "simulators",
    "grafana",
    "workorders",
    "reports",
}  # top-level folders installed as facmon.<part>


def _tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


def test_the_wheel_installs_one_top_level_name_with_every_package_and_the_go_checker(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy of the tracked files: building writes build/ and *.egg-info/ beside the sources
    tracked = _tracked_files()
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)]
    built = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("facmon-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")} == {"facmon"}
    for name in tracked:  # every package of the repository is in it, the parts' folders under facmon/
        if name.endswith("/__init__.py") and not name.startswith(("tests/", "bench/")):
            installed = f"facmon/{name}" if name.split("/")[0] in PARTS else name
            assert installed in names, name
    assert "facmon/grafana/check/main.go" in names
    # the work-order service's pages, translations and migrations travel with it
    for name in tracked:
        if name.startswith("workorders/") and name.endswith((".html", ".po", ".py")):
            assert f"facmon/{name}" in names, name
    # and the reports' templates and stylesheet
    for name in tracked:
        if name.startswith("reports/templates/"):
            assert f"facmon/{name}" in names, name
