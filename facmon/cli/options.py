"""Options several commands share, and the site they name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from facmon.registry import Site, load_site
from facmon.registry.loader import BuildingFilter
from facmon.settings import default_site_path

SiteOption = Annotated[
    Path | None,
    typer.Option(
        "--site",
        envvar="FACMON_SITE",
        help="Site registry: a YAML file, or a folder of site.yaml and buildings/*.yaml "
        "(default: $FACMON_SITE, else examples/county-offices.yaml).",
        show_default=False,
    ),
]


def load_site_option(site_path: Path | None, *, buildings: BuildingFilter | None = None) -> Site:
    """The site of ``--site`` / $FACMON_SITE, else the example; ``buildings`` as in ``load_site``."""
    return load_site(site_path or default_site_path(), buildings=buildings)
