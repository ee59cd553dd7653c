"""What InfluxDB holds, counted the way the simulator reports what it published: points per
(measurement, building). The end-to-end and restart tests compare the two."""

from __future__ import annotations

from collections import Counter

from facmon.store import InfluxStore

# A field every reading of the measurement carries, so count() counts readings.
MEASUREMENTS = {"meter": "register", "ieq": "temperature", "equipment": "running", "weather": "temperature"}


def stored(store: InfluxStore) -> Counter:
    """Points per (measurement, building) in the store."""
    counts: Counter = Counter()
    for measurement, field in MEASUREMENTS.items():
        for row in store.rows(f'SELECT count("{field}") FROM "{measurement}" GROUP BY "building"'):
            counts[(measurement, row["building"])] = int(row["count"])
    return counts
