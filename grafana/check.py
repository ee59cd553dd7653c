"""Provisioning files checked as Grafana 11 reads them, with Go's own parsers.

A spec-valid export once stopped Grafana from starting (a ``$$`` in a notification template reached
Go's template parser), so the check does not rest on Grafana's OpenAPI spec: ``check/main.go`` decodes
the files with gopkg.in/yaml.v3 into the shapes Grafana's provisioning uses, applies Grafana's
environment expansion where Grafana applies it, decodes mute timings with Alertmanager's
``timeinterval``, and parses notification templates and rule annotations with Go's text/template and
Alertmanager's template functions; given sample alerts, it expands the messages a vendor would get.
What it checks, and against which Grafana source files, is in docs/grafana.md.

The program is built once per source version, in GOPATH mode from Debian's packages (GO_PACKAGES;
``make demo`` and ``make test`` install them), into facmon's cache folder. Building it is what needs
Go; nothing else in facmon does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from facmon.errors import FacmonError

GO_SOURCE = Path(__file__).with_name("check") / "main.go"
DEBIAN_GOPATH = Path("/usr/share/gocode")  # where Debian's golang-*-dev packages put their sources
GO_PACKAGES = ("golang-go", "golang-github-prometheus-alertmanager-dev", "golang-gopkg-yaml.v3-dev")
_BUILD_TIMEOUT_S = 300
_RUN_TIMEOUT_S = 60


class CheckUnavailable(FacmonError):
    """The checker cannot be built here (Go or the Debian Go packages it needs are missing)."""

    hint = f"install the Debian packages {', '.join(GO_PACKAGES)} (`make demo` does), or export with --no-check"


class ProvisioningRefused(FacmonError):
    """Grafana would refuse or mangle a provisioning file; nothing was written."""


@dataclass(frozen=True)
class Problem:
    file: str  # relative to the provisioning folder; "" for a problem with a sample
    object: str  # e.g. "rule facmon-water_leak annotation summary"
    error: str

    def __str__(self) -> str:
        return f"{self.file or 'sample'}: {self.object}: {self.error}"


@dataclass(frozen=True)
class SampleMessage:
    """What a sample alert becomes: the rule's annotations expanded, and the receiver's title and message."""

    rule: str
    receiver: str
    status: str
    annotations: dict[str, str]
    title: str
    message: str


@dataclass(frozen=True)
class CheckReport:
    files: list[str]  # the files Grafana would read, relative to the folder
    problems: list[Problem]
    messages: list[SampleMessage]


@dataclass(frozen=True)
class SampleAlert:
    """An alert to expand: the labels a rule's query gives it, and the contact point it is routed to."""

    rule: str  # the rule's uid
    receiver: str  # contact point name
    labels: dict[str, str]
    starts_at: datetime  # aware
    ends_at: datetime | None = None  # aware; None while firing
    external_url: str = "https://grafana.example.gov.cn/"

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "receiver": self.receiver,
            "labels": self.labels,
            "status": "firing" if self.ends_at is None else "resolved",
            "starts_at": self.starts_at.isoformat(),
            "ends_at": (self.ends_at or datetime.fromisoformat("0001-01-01T00:00:00+00:00")).isoformat(),
            "external_url": self.external_url,
        }


def _cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "facmon"


def checker() -> Path:
    """The built checker program, built first if this version of its source has not been yet."""
    go = shutil.which("go")
    if (
        go is None
        or not (DEBIAN_GOPATH / "src" / "github.com" / "prometheus" / "alertmanager" / "template").is_dir()
        or not (DEBIAN_GOPATH / "src" / "gopkg.in" / "yaml.v3").is_dir()
    ):
        raise CheckUnavailable("the Grafana provisioning check needs Go and Debian's Alertmanager and yaml.v3 Go sources")
    source = GO_SOURCE.read_bytes()
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=False).stdout.strip()
    digest = hashlib.sha256(source + version.encode()).hexdigest()[:16]
    cache = _cache_folder()
    binary = cache / f"grafana-check-{digest}"
    if binary.exists():
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GOPATH": str(DEBIAN_GOPATH),
        "GO111MODULE": "off",
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
        "GOCACHE": str(cache / "go-build"),
    }
    with tempfile.TemporaryDirectory(dir=cache) as work:
        built = Path(work) / "check"
        result = subprocess.run(
            [go, "build", "-o", str(built), str(GO_SOURCE)], env=env, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S, check=False
        )
        if result.returncode != 0:
            raise CheckUnavailable(f"building the Grafana provisioning check failed: {result.stderr.strip()[-2000:]}")
        os.replace(built, binary)  # atomic: a concurrent build of the same source writes the same program
    return binary


def check_folder(folder: Path, samples: list[SampleAlert] | None = None) -> CheckReport:
    """Check the provisioning folder ``folder`` (its ``alerting/``, ``dashboards/``, ``datasources/``) and
    expand ``samples``."""
    program = checker()
    with tempfile.TemporaryDirectory() as work:
        args = [str(program), str(folder)]
        if samples:
            samples_path = Path(work) / "samples.json"
            samples_path.write_text(json.dumps([s.as_json() for s in samples], ensure_ascii=False), encoding="utf-8")
            args.append(str(samples_path))
        result = subprocess.run(args, capture_output=True, text=True, timeout=_RUN_TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise FacmonError(f"the Grafana provisioning check failed to run: {result.stderr.strip()[-2000:]}")
    found = json.loads(result.stdout)
    return CheckReport(
        files=found["files"] or [],
        problems=[Problem(**problem) for problem in found["problems"]],
        messages=[SampleMessage(**message) for message in found["messages"]],
    )


def check_files(files: dict[str, str], samples: list[SampleAlert] | None = None) -> CheckReport:
    """Check provisioning files given as {path relative to the folder: text}."""
    with tempfile.TemporaryDirectory() as folder:
        for name, text in files.items():
            path = Path(folder) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return check_folder(Path(folder), samples)


def refuse_bad_files(files: dict[str, str]) -> None:
    """Raise :class:`ProvisioningRefused` naming every problem when Grafana would refuse or mangle any of ``files``."""
    report = check_files(files)
    if report.problems:
        listed = "\n".join(f"  {problem}" for problem in report.problems[:20])
        more = f"\n  ... and {len(report.problems) - 20} more" if len(report.problems) > 20 else ""
        raise ProvisioningRefused(
            f"Grafana 11 would refuse or mangle {len(report.problems)} provisioning object(s); nothing was written:\n{listed}{more}"
        )
