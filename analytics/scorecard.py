"""What the energy-saving and vendor scores share: explained components, weighing and ranking.

A score is a weighted sum of components; each component says its value, target, rule and the share
of its points earned, so that an officer can check every point by hand. A component without data is
"not available" and its weight is shared among the others in proportion, and the explanation says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

# Where a figure's inputs come from.
MEASURED = "measured"  # from this site's meters (InfluxDB)
CONFIGURED = "configured"  # from the site registry (values someone entered)
NATIONAL_DEFAULT = "national default"  # from a national standard or plan, as facmon ships it
FACMON_DEFAULT = "facmon default"  # an engineering choice facmon ships (no standard sets it), not changed by the site


@dataclass(frozen=True)
class Basis:
    """What a component's figure rests on, shown beside it wherever it appears.

    ``period``: the time the value covers (``2026-11``, or ``2025-12..2026-11`` for the plan's twelve
    months); ``days``: days with data of ``days_in_period``; ``source``: where the value comes from and
    ``target_source`` where what it is compared with comes from (MEASURED, CONFIGURED,
    NATIONAL_DEFAULT, FACMON_DEFAULT); ``uncertainty``: ± at 68 % confidence in the value's unit, when known;
    ``flag``: why the value is a poor estimate (e.g. annualised from too few days), else None."""

    period: str
    days: int
    days_in_period: int
    source: str
    target_source: str | None = None
    uncertainty: float | None = None
    flag: str | None = None


@dataclass(frozen=True)
class ComponentScore:
    """One component of a building's score, with everything needed to check it by hand."""

    component: str
    label: str
    available: bool
    value: float | None
    unit: str  # "share" values are fractions 0..1
    target: float | None
    target_text: str
    fraction: float  # share of the component's points earned, 0..1
    rule: str
    note: str = ""
    weight: float = 0.0  # as configured
    effective_weight: float = 0.0  # after sharing out unavailable components' weight
    points: float = 0.0  # 100 × effective_weight × fraction
    max_points: float = 0.0  # 100 × effective_weight
    basis: Basis | None = None


def linear_points(value: float, full_at: float, zero_at: float) -> float:
    """1 at or beyond ``full_at``, 0 at or beyond ``zero_at``, linear between (either direction)."""
    if full_at == zero_at:
        raise ValueError("full_at and zero_at must differ")
    fraction = (value - zero_at) / (full_at - zero_at)
    return min(1.0, max(0.0, fraction))


def weigh_components(
    components: Sequence[ComponentScore], configured: Mapping[str, float], min_available_weight: float = 0.0
) -> tuple[list[ComponentScore], float | None, str]:
    """Give each component its configured weight and points; share unavailable weight among the available
    components in proportion. Returns (components, score 0–100 or None, explanation): None when no
    component is available, or when the available ones carry less than ``min_available_weight`` of the
    weights (their points are still shown, the score is not)."""
    available_weight = sum(configured[c.component] for c in components if c.available)
    if available_weight <= 0:
        return [replace(c, weight=configured[c.component]) for c in components], None, "no component available: not scored"
    weighed = []
    for c in components:
        effective = configured[c.component] / available_weight if c.available else 0.0
        weighed.append(
            replace(
                c,
                weight=configured[c.component],
                effective_weight=effective,
                points=100.0 * effective * c.fraction,
                max_points=100.0 * effective,
            )
        )
    missing = [c for c in components if not c.available and configured[c.component] > 0]
    explanation = ""
    if missing:
        explanation = (
            f"not available: {', '.join(c.component for c in missing)} (weight {1.0 - available_weight:.2f}); "
            f"shared among the others in proportion (each weight ÷ {available_weight:.2f})"
        )
    if available_weight < min_available_weight - 1e-9:
        available = ", ".join(c.component for c in components if c.available)
        return (
            weighed,
            None,
            f"not scored: only {available} available (weight {available_weight:.2f}); a score needs at least "
            f"{min_available_weight:.2f} of the weights",
        )
    return weighed, sum(c.points for c in weighed), explanation


class Ranked(Protocol):
    score: float | None
    rank: int | None


R = TypeVar("R", bound=Ranked)


def competition_rank(entries: Sequence[R], name: Callable[[R], str]) -> list[R]:
    """Best first; equal scores (to 0.01 points) share a rank (1, 2, 2, 4); unscored entries last, unranked
    (sets each entry's ``rank``); ties and the unscored are ordered by ``name``."""
    scored = sorted((e for e in entries if e.score is not None), key=lambda e: (-round(e.score, 2), name(e)))  # type: ignore[arg-type]
    ranked: list[R] = []
    for position, entry in enumerate(scored, start=1):
        same = ranked and round(ranked[-1].score, 2) == round(entry.score, 2)  # type: ignore[arg-type]
        entry.rank = ranked[-1].rank if same else position
        ranked.append(entry)
    for entry in sorted((e for e in entries if e.score is None), key=name):
        entry.rank = None
        ranked.append(entry)
    return ranked
