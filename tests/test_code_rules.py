"""The rules a change keeps, checked as CI checks them: ruff's lint and format, mypy (strict for the core
and the collector), the layout contract (import-linter), and a repository that explains itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
PARTS = ("ingest", "analytics", "alerts", "dashboards", "simulators", "grafana", "workorders", "reports")
CORE_AND_INGEST = [
    "facmon/__init__.py", "facmon/errors.py", "facmon/store.py", "facmon/settings.py", "facmon/stack.py", "facmon/stop.py",
    "facmon/standards.py", "facmon/workdays.py", "facmon/broker_auth.py", "facmon/fault_kinds.py", "facmon/periods.py", "facmon/registry",
    "facmon/schema", "facmon/ingest",
]  # fmt: skip
CHECKED_PARTS = ["facmon/cli", "facmon/grafana", "facmon/alerts", "facmon/dashboards", "facmon/workorders", "facmon/reports"]


@pytest.fixture(scope="module")
def installed_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as it installs (facmon/ with every part under it), as symbolic links to the checkout:
    mypy and import-linter read the folders, not pip's import hooks."""
    root = tmp_path_factory.mktemp("layout")
    package = root / "facmon"
    package.mkdir()
    for entry in (ROOT / "facmon").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for part in PARTS:
        (package / part).symlink_to(ROOT / part)
    return root


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, env={**os.environ, **env})


def test_ruff_finds_nothing_to_lint() -> None:
    result = _run([str(BIN / "ruff"), "check", "."], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_every_file_as_it_is() -> None:
    result = _run([str(BIN / "ruff"), "format", "--check", "."], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_core_and_the_collector_type_check_strictly_and_the_cli_and_grafana_parts_type_check(installed_layout: Path) -> None:
    config = str(ROOT / "pyproject.toml")
    result = _run([str(BIN / "mypy"), "--config-file", config, *CORE_AND_INGEST, *CHECKED_PARTS], installed_layout)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_parts_never_import_one_another_and_the_core_imports_no_part(installed_layout: Path) -> None:
    result = _run([str(BIN / "lint-imports"), "--config", str(ROOT / "pyproject.toml")], installed_layout, PYTHONPATH=str(installed_layout))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_nothing_points_outside_the_clone() -> None:
    """Comments and docs cite docs/standards.md and docs/architecture.md, not files beside the checkout."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside = []
    for name in tracked:
        path = ROOT / name
        # docs/standards.md keeps the table from the old section numbers to its own anchors
        if (
            path.suffix not in (".py", ".md", ".yaml", ".toml", ".go")
            or not path.is_file()
            or name in ("tests/test_code_rules.py", "docs/standards.md")
        ):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if "FACTS §" in line or "DESIGN.md" in line or "../shared/domain" in line:
                outside.append(f"{name}:{number}: {line.strip()[:100]}")
    assert outside == []
