"""The ``sim_truth`` measurement through its writer (facmon.schema.truth), on a real InfluxDB: an injected
fault's start and end as ``active`` 1.0 and 0.0, tagged with its building, kind and target."""

from __future__ import annotations

from facmon.schema.truth import SimTruth, sim_truth_line
from facmon.store import InfluxStore

START_S = 1_767_000_000


def test_a_fault_start_and_end_are_stored_as_active_one_and_zero(store: InfluxStore) -> None:
    start = SimTruth("341122A003", "device_offline", "E-CH1", START_S, True)
    end = SimTruth("341122A003", "device_offline", "E-CH1", START_S + 3600, False)
    assert sim_truth_line(start) == f"sim_truth,building=341122A003,kind=device_offline,target=E-CH1 active=1.0 {START_S * 10**9}"
    store.write([sim_truth_line(start), sim_truth_line(end)])
    rows = store.rows('SELECT "active" FROM "sim_truth" GROUP BY "building", "kind", "target"')
    assert [(r["building"], r["kind"], r["target"], r["time"], r["active"]) for r in rows] == [
        ("341122A003", "device_offline", "E-CH1", START_S, 1.0),
        ("341122A003", "device_offline", "E-CH1", START_S + 3600, 0.0),
    ]
