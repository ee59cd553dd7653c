"""Energy-conservation measures in simulated buildings: known efficiency changes from a known date.

A measure multiplies one electricity sub-item's load of one building by ``factor`` from the local
date ``start`` on, e.g. a lighting retrofit cutting room lighting and sockets (01A10) by 15 %:
``EfficiencyMeasure("341122A001", "01A10", 0.85, date(2025, 7, 1))``. The sub-meters and the main
meter see the cut, so weather-normalised savings computed from the meters can be checked against
the change that was made (IPMVP Option C: the whole-building meter carries it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from facmon.registry import Site
from facmon.standards import ELECTRICITY_SUBITEMS

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class EfficiencyMeasure:
    """``building``'s load of electricity sub-item ``subitem`` (e.g. 01A10) times ``factor`` (0..1 for
    a saving, above 1 for a deterioration) from local date ``start`` on."""

    building: str
    subitem: str
    factor: float
    start: date

    @property
    def start_local_day(self) -> int:
        """``start`` as days since 1970-01-01 (local calendar), like DayGrid.local_day."""
        return (self.start - _EPOCH).days


def check_measures(site: Site, measures: Sequence[EfficiencyMeasure]) -> None:
    """ValueError naming the measure when its building is not in ``site`` or its sub-item or factor is not usable."""
    for measure in measures:
        if site.building(measure.building) is None:
            raise ValueError(f"efficiency measure {measure}: building {measure.building!r} is not in the site registry")
        if measure.subitem not in ELECTRICITY_SUBITEMS or measure.subitem.endswith("00"):
            raise ValueError(f"efficiency measure {measure}: {measure.subitem!r} is not an electricity sub-item such as 01A10")
        if not 0.0 <= measure.factor <= 10.0:
            raise ValueError(f"efficiency measure {measure}: factor {measure.factor} is outside 0..10")


def apply_measures(subitem_kw: dict[str, np.ndarray], local_day: np.ndarray, measures: Sequence[EfficiencyMeasure]) -> None:
    """Scale the sub-item loads (kW per tick, in place) of one building by its measures in force at each tick."""
    for measure in measures:
        load_kw = subitem_kw.get(measure.subitem)
        if load_kw is None:
            continue  # the building has no such load (no meter or equipment for it)
        subitem_kw[measure.subitem] = np.where(local_day >= measure.start_local_day, load_kw * measure.factor, load_kw)
