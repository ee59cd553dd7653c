"""The ``fault`` measurement through its one writer and readers (facmon.schema.faults), on a real InfluxDB:
a fault is stored as a start point at its onset carrying when it was raised, and a clear point."""

from __future__ import annotations

import pytest

from facmon.schema.faults import Fault, FaultSeries, active_before, active_faults, clear_line, read_faults, start_line
from facmon.store import InfluxStore

H = 3600
LEAK = FaultSeries("water_leak", "W-TOILET", "major", "property")
LIFT = FaultSeries("elevator_out_of_service", "EL-1", "critical", "elevator")


def test_a_fault_reads_back_with_its_onset_raise_and_clear_named(store: InfluxStore) -> None:
    store.write(
        [
            start_line("B1", LEAK, 1 * H, 0.5, "leak", raised_s=5 * H),
            clear_line("B1", LEAK, 20 * H, 0.5),
            start_line("B2", LIFT, 30 * H, 1.0, "stopped", raised_s=30 * H),
        ]
    )
    faults = read_faults(store, 0, 40 * H)
    assert faults == [
        Fault(
            "B1",
            "water_leak",
            "W-TOILET",
            onset_s=1 * H,
            raised_s=5 * H,
            cleared_s=20 * H,
            severity="major",
            vendor="property",
            value=0.5,
            detail="leak",
        ),
        Fault(
            "B2",
            "elevator_out_of_service",
            "EL-1",
            onset_s=30 * H,
            raised_s=30 * H,
            severity="critical",
            vendor="elevator",
            value=1.0,
            detail="stopped",
        ),
    ]
    assert [(f.building, f.detected_s) for f in faults] == [("B1", 5 * H), ("B2", 30 * H)]
    assert [f.building for f in active_faults(store)] == ["B2"]
    assert active_before(store, "B1", 10 * H) == {("water_leak", "W-TOILET"): (1 * H, 1.0)}


def test_a_fault_active_before_the_window_is_read_whole(store: InfluxStore) -> None:
    store.write([start_line("B1", LEAK, 1 * H, 0.5, "leak", raised_s=2 * H), clear_line("B1", LEAK, 30 * H)])
    (fault,) = read_faults(store, 10 * H, 20 * H)
    assert (fault.onset_s, fault.raised_s, fault.cleared_s, fault.detail) == (1 * H, 2 * H, None, "leak")
    assert fault.active_seconds(10 * H, 20 * H) == 10 * H


def test_a_fault_cannot_be_raised_before_its_onset() -> None:
    with pytest.raises(ValueError, match="before its onset"):
        Fault("B1", "water_leak", "W", onset_s=100, raised_s=50)
