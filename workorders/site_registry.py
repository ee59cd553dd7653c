"""What the web service reads besides its database: the site registry, loaded once per process from
``FACMON_SITE``, and the InfluxDB store."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from facmon.registry import Site, load_site
from facmon.settings import default_site_path, open_store, resolve_endpoints
from facmon.store import InfluxStore


@cache
def current_site() -> Site:
    """The registry named by ``FACMON_SITE`` (default: the example site)."""
    return load_site(Path(os.environ.get("FACMON_SITE") or default_site_path()))


_store: InfluxStore | None = None


def use_store(store: InfluxStore) -> None:
    """The InfluxDB the pages read (the measured vendor scores of the combined assessment): `facmon serve`'s."""
    global _store
    _store = store


def current_store() -> InfluxStore:
    """The store given to :func:`use_store`, else the one the environment names (FACMON_INFLUX_URL, the local stack)."""
    global _store
    if _store is None:
        _store = open_store(resolve_endpoints())
    return _store
