"""Generated registries of city and province size, for benchmarks and tests at scale.

The example site's buildings (examples/county-offices.yaml: 4 office buildings and a canteen, 40–60 devices each)
are copied, in turn, to ``n`` buildings with new codes and numbered names; everything else in the
registry (vendors, coverage ``all``, energy targets of the first four codes, decoders) is kept as it is.

Codes: 8 type letters × 999 numbers fit 7,992 buildings in one county (GB/T 2260 division + A–H + 3
digits). Up to that many the site is the example's county (``341122``); beyond it, the site becomes the
province (``340000``) and the buildings spread over further counties of it (``COUNTIES``).

Layouts (docs/registry.md#a-site-in-a-folder):

- ``file``: one YAML file, as the example;
- ``folder``: ``site.yaml`` plus ``buildings/<county>/<code>.yaml``, one building per file;
- ``districts``: ``site.yaml`` plus ``buildings/<county>.yaml``, one list per county.

Generating text rather than objects keeps the registry's own format (and its line numbers) exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from facmon.settings import default_site_path

Layout = Literal["file", "folder", "districts"]
LAYOUTS: tuple[Layout, ...] = ("file", "folder", "districts")
TYPE_LETTERS = "ABCDEFGH"
PER_COUNTY = len(TYPE_LETTERS) * 999
# The example's county first (its targets and decoders name 341122A001…A004), then more counties of Anhui.
COUNTIES = ("341122", "341102", "341103", "341124", "341125", "341126", "341181", "341182")
PROVINCE = "340000"


def building_codes(n: int) -> Iterator[str]:
    """``n`` building codes: 341122A001…341122A999, 341122B001…, then the next county's."""
    if n > PER_COUNTY * len(COUNTIES):
        raise ValueError(f"at most {PER_COUNTY * len(COUNTIES):,} generated buildings, not {n:,}")
    for i in range(n):
        county, within = divmod(i, PER_COUNTY)
        letter, number = divmod(within, 999)
        yield f"{COUNTIES[county]}{TYPE_LETTERS[letter]}{number + 1:03d}"


def _example_parts(example: Path) -> tuple[str, list[str]]:
    """(the registry text before ``buildings:``, each building's block of text)."""
    text = example.read_text(encoding="utf-8")
    head, body = text.split("\nbuildings:\n", 1)
    blocks = [block.rstrip("\n") + "\n" for block in re.split(r"\n(?=- code: )", body.strip("\n"))]
    return head + "\n", blocks


def _building_text(block: str, code: str, number: int) -> str:
    block = re.sub(r"^- code: '[^']*'", f"- code: '{code}'", block)
    return re.sub(r"(\n  name: )([^\n]*)", lambda m: f"{m.group(1)}{m.group(2)}（{number}号）", block, count=1)


def generate_site(n: int, target: Path, layout: Layout = "file", example: Path | None = None) -> Path:
    """Write a registry of ``n`` buildings to ``target`` (a file for ``file``, else a folder, created) and
    return the path to pass to ``--site``."""
    head, blocks = _example_parts(example or default_site_path())
    if n < len(blocks):  # its targets, decoders and maintenance windows name them
        raise ValueError(f"a site generated from the example has at least {len(blocks)} buildings, the example's own, not {n}")
    if n > PER_COUNTY:
        head = re.sub(r"(\n  division_code: )'\d{6}'", rf"\g<1>'{PROVINCE}'", head, count=1)
    buildings = [(code, _building_text(blocks[i % len(blocks)], code, i + 1)) for i, code in enumerate(building_codes(n))]
    if layout == "file":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(head + "buildings:\n" + "".join(text for _, text in buildings), encoding="utf-8")
        return target
    folder = target / "buildings"
    folder.mkdir(parents=True, exist_ok=True)
    (target / "site.yaml").write_text(head, encoding="utf-8")
    if layout == "folder":
        for code, text in buildings:
            county = folder / code[:6]
            county.mkdir(exist_ok=True)
            # one building per file: the block's leading "- " and its indentation go
            (county / f"{code}.yaml").write_text(re.sub(r"(?m)^(?:- |  )", "", text), encoding="utf-8")
    elif layout == "districts":
        by_county: dict[str, list[str]] = {}
        for code, text in buildings:
            by_county.setdefault(code[:6], []).append(text)
        for county, texts in by_county.items():
            (folder / f"{county}.yaml").write_text("".join(texts), encoding="utf-8")
    else:
        raise ValueError(f"layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    return target
