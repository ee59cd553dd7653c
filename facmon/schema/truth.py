"""The ``sim_truth`` measurement: the faults the simulator injected on purpose, its :class:`SimTruth`
record and its one writer.

Stored shape (docs/architecture.md#the-measurement-schema): tags ``building``, ``kind`` (a
``facmon.fault_kinds.FaultKind`` value) and ``target`` (the device id); one point when an injected
fault starts, with ``active`` 1.0, and one when it ends, with ``active`` 0.0, stamped at that instant
(second precision, stored in ns).

The simulator's fault injection (simulators/faults.py) writes it through :func:`sim_truth_line`,
for ``facmon simulate --faults`` and live runs. Nothing in facmon reads it back: fault evaluation
compares detections against the labels file the same run writes; sim_truth is for people and tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from facmon.schema.names import SIM_TRUTH
from facmon.store import line

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class SimTruth:
    """One ``sim_truth`` point: an injected fault of ``kind`` on ``target`` in ``building`` starts
    (``active``) or ends (not ``active``) at ``time_s`` (epoch s)."""

    building: str
    kind: str
    target: str
    time_s: int
    active: bool


def sim_truth_line(truth: SimTruth) -> str:
    """The ``sim_truth`` point of ``truth`` as line protocol (``active`` stored as 1.0 / 0.0)."""
    return line(
        SIM_TRUTH,
        {"building": truth.building, "kind": truth.kind, "target": truth.target},
        {"active": 1.0 if truth.active else 0.0},
        int(truth.time_s) * NS_PER_S,
    )
