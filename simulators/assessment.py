"""Simulated inspectors and survey respondents for the demo: a month of inspections (现场检查 and 抽查)
and satisfaction-survey answers per vendor, so the combined assessment has evidence to show. Every record
made from them is labelled simulated.

Behaviour, reproducible from the seed: each vendor has a quality (0-1, :data:`VENDOR_QUALITY`, 0.85 for
a vendor not listed). Per checklist of a service the vendor provides: two scheduled inspections in two
buildings and one spot check on working days of the month; an item is marked down with probability
1 − quality, by 10-40 % of its points (in whole points). Per vendor, a survey in two buildings: 30 links,
12-24 responses, each answer drawn around the quality (5 best on 1-5, 4 = 优 on the four-step scale).

Pure: the registry and the month in, plain records out; the command line stores them (facmon.cli.demo).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from facmon.registry import Site
from facmon.workdays import is_working_day

VENDOR_QUALITY = {"property": 0.86, "hvac": 0.72, "elevator": 0.93}
SURVEY_LINKS = 30


@dataclass(frozen=True)
class SimulatedInspection:
    vendor: str
    building: str
    checklist: str
    kind: str  # scheduled | spot
    day: date
    awarded: dict[str, float]  # item id -> points
    notes: dict[str, str] = field(default_factory=dict)  # item id -> why marked down


@dataclass(frozen=True)
class SimulatedSurvey:
    vendor: str
    building: str
    period: str
    links: int
    responses: list[dict[str, int]]  # question id -> answer (1-5, or 1 差 .. 4 优)


def _rng(seed: int, *parts: str) -> np.random.Generator:
    digest = hashlib.sha256("|".join((str(seed), *parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _answer(rng: np.random.Generator, quality: float, steps: int) -> int:
    """An answer 1..steps around the quality: the best with probability ≈ quality, spread below."""
    centre = 1 + quality * (steps - 1)
    return int(np.clip(round(rng.normal(centre, 0.8)), 1, steps))


def simulated_evidence(
    site: Site, month_start: date, month_end: date, seed: int = 0
) -> tuple[list[SimulatedInspection], list[SimulatedSurvey]]:
    """Inspections and surveys of every vendor for the month [month_start, month_end)."""
    rules = site.vendor_assessment
    days = [month_start + timedelta(days=n) for n in range((month_end - month_start).days)]
    working = [d for d in days if is_working_day(d)] or days
    buildings = [b.code for b in site.buildings]
    period = f"{month_start:%Y-%m}"
    inspections: list[SimulatedInspection] = []
    surveys: list[SimulatedSurvey] = []
    for vendor in site.vendors:
        quality = VENDOR_QUALITY.get(vendor.id, 0.85)
        for checklist in (c for c in rules.checklists if c.service in vendor.services):
            rng = _rng(seed, vendor.id, checklist.id, period)
            where = rng.choice(len(buildings), size=min(3, len(buildings)), replace=False)
            for n, kind in enumerate(("scheduled", "scheduled", "spot")):
                awarded: dict[str, float] = {}
                notes: dict[str, str] = {}
                for item in checklist.items:
                    if rng.random() > quality:
                        lost = max(1.0, float(round(item.points * rng.uniform(0.1, 0.4))))
                        awarded[item.id] = item.points - lost
                        notes[item.id] = f"simulated: marked down by {lost:g}"
                    else:
                        awarded[item.id] = item.points
                inspections.append(
                    SimulatedInspection(
                        vendor.id,
                        buildings[int(where[n % len(where)])],
                        checklist.id,
                        kind,
                        working[int(rng.integers(len(working)))],
                        awarded,
                        notes,
                    )
                )
        questions = rules.questions_for(list(vendor.services))
        if not questions:
            continue
        rng = _rng(seed, vendor.id, "survey", period)
        for building in buildings[:2]:
            count = int(rng.integers(12, 25))
            responses = [
                {q.id: _answer(rng, quality, 5 if q.scale == "1-5" else 4) for q in questions if rng.random() < 0.95} for _ in range(count)
            ]
            surveys.append(SimulatedSurvey(vendor.id, building, period, SURVEY_LINKS, [r for r in responses if r]))
    return inspections, surveys
