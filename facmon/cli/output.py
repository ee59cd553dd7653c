"""How every command prints: tables for people, JSON for programs, from one renderer.

A command builds its result once and hands it to :func:`emit` with the JSON payload and the tables (or
lines) to show; ``--format json`` prints only the payload, so a program never parses a table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType

# Piped output (CI logs, `| less`) gets room for the tables instead of rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table for people, json for programs.")]


def emit(output: OutputFormat, payload: Any, show: Callable[[], Iterable[RenderableType]]) -> None:
    """Print ``payload`` as JSON (``--format json``), else each renderable ``show()`` gives, in order."""
    if output is OutputFormat.JSON:
        out.print_json(json.dumps(payload, ensure_ascii=False, allow_nan=False))
        return
    for item in show():
        out.print(item)
