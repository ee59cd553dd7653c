"""The site registry as the web service sees it: loaded once per process from ``FACMON_SITE``."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from facmon.registry import Site, load_site
from facmon.settings import default_site_path


@cache
def current_site() -> Site:
    """The registry named by ``FACMON_SITE`` (default: the example site)."""
    return load_site(Path(os.environ.get("FACMON_SITE") or default_site_path()))
