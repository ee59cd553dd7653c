"""The heat map of hourly load the energy report draws: the site's main electricity (``01000``, every
building's main meter) in kWh per local hour, one row per local day of the period.

Read from ``energy_interval`` summed per hour by InfluxDB. An hour whose intervals were not all present
is kept apart (``partial``) so the chart can show it as missing rather than as a low load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from facmon.periods import Period
from facmon.registry import Site
from facmon.schema.names import ENERGY_INTERVAL
from facmon.store import InfluxStore, quote_identifier, quote_string


@dataclass(frozen=True)
class HourlyLoad:
    """``kwh[d, h]``: the site's main electricity in local day ``days[d]`` (YYYY-MM-DD) and hour ``h``
    (kWh; NaN where no interval was stored). ``partial[d, h]``: fewer intervals than the buildings'
    main meters report in an hour."""

    days: list[str]
    kwh: np.ndarray
    partial: np.ndarray

    @property
    def hours_with_data(self) -> int:
        return int(np.isfinite(self.kwh).sum())

    def as_dict(self) -> dict:
        return {
            "days": self.days,
            "kwh": [[None if not np.isfinite(v) else round(float(v), 3) for v in row] for row in self.kwh],
            "partial": self.partial.tolist(),
        }


def hourly_load(store: InfluxStore, site: Site, period: Period) -> HourlyLoad:
    """The site's main electricity per local hour of the period (kWh), from one query."""
    zone = site.site.tz
    start_s, end_s = period.bounds_utc_s(site.site.timezone)
    rows = store.rows(
        f'SELECT sum("consumption") AS kwh, count("consumption") AS n FROM {quote_identifier(ENERGY_INTERVAL)} '
        f"WHERE \"energy\"='01' AND \"subitem\"='01000' AND time >= {start_s}s AND time < {end_s}s GROUP BY time(1h) "
        f"tz({quote_string(site.site.timezone)})"  # local hours, also in a zone with a half-hour offset
    )
    mains = sum(1 for b in site.buildings for m in b.meters if m.energy == "01" and m.subitem == "01000")
    expected = mains * max(1, round(3600 / site.collection.meter_interval_s))
    days = [(period.start + timedelta(days=n)).isoformat() for n in range(period.days)]
    kwh = np.full((period.days, 24), np.nan)
    partial = np.zeros((period.days, 24), dtype=bool)
    for row in rows:
        if row.get("kwh") is None:
            continue
        local = datetime.fromtimestamp(int(row["time"]), zone)
        d = (local.date() - period.start).days
        if 0 <= d < period.days:
            kwh[d, local.hour] = float(row["kwh"])
            partial[d, local.hour] = int(row.get("n") or 0) < expected
    return HourlyLoad(days, kwh, partial)
