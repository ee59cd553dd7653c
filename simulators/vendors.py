"""Simulated vendors: when a vendor's staff would acknowledge (接单), arrive (到场) and resolve (完工) a
work order, drawn per order so the demo's order board lives and the vendor scores move.

Behaviour (per order, reproducible from the seed and the order's number):

- acknowledge a few minutes after the report (log-normal, median ``ack_median_min``);
- arrive within the SLA's on-site limit, except a ``late_share`` of orders that arrive 10-80 % late;
- resolve a fault order a little after the data show recovery, except an ``early_resolve_share`` that
  resolve while the fault is still in the data (facmon flags those); resolve a repair request 20 min to
  3 h after arriving.

Pure: times in, steps out; the command line applies the steps to the work orders (facmon.cli.workorders).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np


@dataclass(frozen=True)
class VendorBehaviour:
    """How a simulated vendor works (shares 0-1, minutes)."""

    ack_median_min: float = 6.0
    late_share: float = 0.2
    early_resolve_share: float = 0.25


@dataclass(frozen=True)
class OrderFacts:
    """What a vendor knows of an order: its number, when it was reported, the SLA's on-site limit, and
    whether it comes from fault data (then when the data showed it clear, None while active)."""

    number: str
    reported_at: datetime
    onsite_limit_min: float
    from_fault: bool
    fault_cleared_at: datetime | None = None


@dataclass(frozen=True)
class VendorStep:
    action: str  # acknowledge, arrive, resolve
    at: datetime


def _rng(seed: int, number: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def vendor_steps(order: OrderFacts, behaviour: VendorBehaviour = VendorBehaviour(), seed: int = 0) -> list[VendorStep]:
    """The steps a simulated vendor takes on ``order``, in order; a fault order still active in the data
    gets no resolve step unless this vendor resolves early."""
    rng = _rng(seed, order.number)
    ack_min = min(float(rng.lognormal(np.log(behaviour.ack_median_min), 0.6)), order.onsite_limit_min * 0.5)
    late = rng.random() < behaviour.late_share
    share = rng.uniform(1.1, 1.8) if late else rng.uniform(0.3, 0.95)
    arrive_min = max(ack_min + 1.0, order.onsite_limit_min * share)
    acknowledged = order.reported_at + timedelta(minutes=ack_min)
    arrived = order.reported_at + timedelta(minutes=arrive_min)
    steps = [VendorStep("acknowledge", acknowledged), VendorStep("arrive", arrived)]
    early = rng.random() < behaviour.early_resolve_share
    after_arrival = timedelta(minutes=float(rng.uniform(20, 180)))
    if not order.from_fault:
        steps.append(VendorStep("resolve", arrived + after_arrival))
    elif early and (order.fault_cleared_at is None or order.fault_cleared_at > arrived + after_arrival):
        steps.append(VendorStep("resolve", arrived + after_arrival))  # on paper before the data recover
    elif order.fault_cleared_at is not None:
        steps.append(VendorStep("resolve", max(arrived, order.fault_cleared_at) + timedelta(minutes=float(rng.uniform(5, 30)))))
    return steps
