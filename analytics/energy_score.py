"""The energy-saving score of a building for a period (0–100), explained component by component.

Five components, each mapping its value to a fraction of its points by a monotone, capped rule
(defaults in the registry's ``energy_targets.scoring``; engineering choices, not from a standard):

| component | value | full points | half points | zero points |
|---|---|---|---|---|
| intensity | GB/T 51161 corrected EUI, kWh/(m²·a), annual | ≤ guide value | = constraint value | ≥ constraint × (1 + 20 %) |
| plan | kgce/m² reduction vs the base year, like for like | ≥ reduction required this year | half of it | no reduction (or growth) |
| savings | weather-normalised savings fraction | ≥ +5 % | 0 % (or inconclusive: FSU > 50 %) | ≤ −5 % |
| after_hours | share of electricity outside working hours / on rest days | ≤ 35 % | (linear) | ≥ 60 % |
| completeness | share of expected meter intervals measured | ≥ 90 % (docs/standards.md#metering-data-model, M) | (linear) | ≤ 50 % |

Every rule is linear between its anchors. Points of a component = 100 × effective weight × fraction;
the score is their sum. A component without a value (no data, no baseline, a building that is not an
office for GB/T 51161, a plan base that is not like for like) is reported as not available with the
reason, and its weight is shared among the available components in proportion to their weights, so
the score stays on 0–100; the explanation lists what was redistributed.

Every component carries its :class:`~facmon.analytics.scorecard.Basis`: the period and days it rests
on, where its value and its target come from (measured, configured, national default, facmon
default) and, for savings, the uncertainty. Monthly periods use annualised values
(analytics/indicators.py) against the annual benchmarks; one annualised from fewer than
``scoring.min_days_annualised`` days is flagged. The plan is judged on whole years (the twelve months
ending with a month).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from facmon.analytics.benchmarks import Gbt51161Comparison, compare_gbt51161, gbt51161_applies
from facmon.analytics.building_savings import BASELINE_DAYS, MIN_BASELINE_DAYS, savings_in_period
from facmon.analytics.indicators import (
    BuildingIndicators,
    Completeness,
    IndicatorError,
    Period,
    SiteIndicatorReport,
    read_indicators,
)
from facmon.analytics.plan_progress import PlanAssessment, describe_categories, read_plan_assessments
from facmon.analytics.savings import Savings
from facmon.analytics.scorecard import (
    CONFIGURED,
    FACMON_DEFAULT,
    MEASURED,
    NATIONAL_DEFAULT,
    Basis,
    ComponentScore,
    competition_rank,
    linear_points,
    weigh_components,
)
from facmon.registry import SCORE_COMPONENTS, ScoreWeights, Scoring, Site
from facmon.schema.reference import benchmark_group
from facmon.schema.scores import ComponentBasis, SavingsPoint, ScoreComponent, ScoreEnergy, savings_line, score_energy_line
from facmon.standards import GBT51161_SOURCE
from facmon.store import InfluxStore

PLAN_SCORE_INDICATOR = "kgce_per_m2"  # the plan's headline indicator (单位建筑面积能耗) drives the plan component

COMPONENT_LABELS = {
    "intensity": "EUI vs GB/T 51161",
    "plan": "plan progress (kgce/m²)",
    "savings": "weather-normalised savings",
    "after_hours": "after-hours use",
    "completeness": "data completeness",
}


class ScoreWeightError(IndicatorError):
    """Score weights that cannot be used."""


@dataclass(frozen=True)
class SavingsEvidence:
    """Weather-normalised savings of one building over the period (IPMVP Option C, analytics' savings).

    ``fraction``: avoided energy / adjusted baseline (positive = saved); ``fsu``: fractional savings
    uncertainty at 68 % confidence; ``conclusive``: False when FSU > 50 % (docs/standards.md#measurement-and-verification).
    """

    fraction: float
    fsu: float | None
    conclusive: bool
    uncertainty_fraction: float | None = None  # ± of the fraction at 68 % confidence
    reporting_days: int | None = None  # complete days measured against the baseline


def savings_evidence(savings: Savings) -> SavingsEvidence:
    """The score's view of measured savings: fraction, FSU, its ± band, and conclusive unless FSU > 50 % (G14)."""
    band = savings.uncertainty_kwh / savings.predicted_kwh if savings.predicted_kwh > 0 else None
    return SavingsEvidence(
        fraction=savings.fraction,
        fsu=savings.fsu,
        conclusive=not savings.inconclusive,
        uncertainty_fraction=band,
        reporting_days=savings.m,
    )


# ---------------------------------------------------------------------------------------------
# Points rules: value → fraction of the component's points, 0..1


def intensity_points(corrected_kwh_m2: float, guide_kwh_m2: float, constraint_kwh_m2: float, zero_above_constraint: float) -> float:
    """Full at or below the guide value, half at the constraint value, zero at constraint × (1 + zero_above_constraint)."""
    if corrected_kwh_m2 <= guide_kwh_m2:
        return 1.0
    if corrected_kwh_m2 <= constraint_kwh_m2:  # guide < E ≤ constraint, so constraint > guide here
        return 1.0 - 0.5 * (corrected_kwh_m2 - guide_kwh_m2) / (constraint_kwh_m2 - guide_kwh_m2)
    return 0.5 * linear_points(corrected_kwh_m2, constraint_kwh_m2, constraint_kwh_m2 * (1.0 + zero_above_constraint))


def plan_points(achieved_reduction: float, required_reduction: float) -> float:
    """Full when the reduction achieved reaches the reduction required, zero at no reduction, linear between."""
    if required_reduction <= 0:
        raise ValueError(f"required_reduction must be positive (got {required_reduction})")
    return linear_points(achieved_reduction, required_reduction, 0.0)


def savings_points(evidence: SavingsEvidence, target_fraction: float) -> float:
    """Full at +target, half at zero, zero at −target; inconclusive savings count as zero savings."""
    fraction = evidence.fraction if evidence.conclusive else 0.0
    return linear_points(fraction, target_fraction, -target_fraction)


# ---------------------------------------------------------------------------------------------
# Where targets come from


def setting_source(section: BaseModel, name: str, national: bool = False) -> str:
    """CONFIGURED when the site's registry sets ``name`` of ``section``, else the shipped default's kind:
    NATIONAL_DEFAULT for a value from a national standard, FACMON_DEFAULT for an engineering choice."""
    if name in section.model_fields_set:
        return CONFIGURED
    return NATIONAL_DEFAULT if national else FACMON_DEFAULT


def _period_basis(
    indicators: BuildingIndicators, period: Period, source: str, target_source: str | None, annualised: bool = False
) -> Basis:
    """The basis of a figure over the period's days with data; an annualised one carries the few-days flag."""
    flag = indicators.few_days if annualised else None
    return Basis(period.label, indicators.totals.days_with_data, period.days, source, target_source, flag=flag)


# ---------------------------------------------------------------------------------------------
# Components


def _unavailable(component: str, unit: str, note: str, rule: str, basis: Basis | None = None) -> ComponentScore:
    return ComponentScore(component, COMPONENT_LABELS[component], False, None, unit, None, "-", 0.0, rule, note, basis=basis)


def intensity_component(
    comparison: Gbt51161Comparison | None, scoring: Scoring, note_if_missing: str = "no electricity data", basis: Basis | None = None
) -> ComponentScore:
    zero = scoring.intensity_zero_above_constraint
    rule = f"≤ guide: full; = constraint: half; ≥ constraint +{zero:.0%}: 0; linear between"
    if comparison is None:
        return _unavailable("intensity", "kWh/(m²·a)", note_if_missing, rule, basis)
    fraction = intensity_points(comparison.corrected_kwh_m2, comparison.guide_kwh_m2, comparison.constraint_kwh_m2, zero)
    # A flagged EUI (annualised from too few days) is a rough figure: shown without decimals.
    measured = f"≈{comparison.measured_kwh_m2:.0f}" if basis is not None and basis.flag else f"{comparison.measured_kwh_m2:.1f}"
    note = (
        f"measured {measured} × γ₁ {comparison.gamma1:.3f} (T {comparison.use_hours_h:.0f} h) "
        f"× γ₂ {comparison.gamma2:.3f} (S {comparison.area_per_person_m2:.1f} m²/person); {comparison.verdict}; {comparison.note}"
    )
    return ComponentScore(
        "intensity",
        COMPONENT_LABELS["intensity"],
        True,
        comparison.corrected_kwh_m2,
        "kWh/(m²·a)",
        comparison.guide_kwh_m2,
        f"guide {comparison.guide_kwh_m2:g} / constraint {comparison.constraint_kwh_m2:g}",
        fraction,
        rule,
        note,
        basis=basis,
    )


def plan_component(assessment: PlanAssessment | None, note_if_missing: str = "no plan assessment") -> ComponentScore:
    """The plan component from the building's assessment: its headline kgce/m² progress, like for like."""
    rule = "reduction ≥ required this year: full; no reduction: 0; linear between"
    if assessment is None:
        return _unavailable("plan", "share", note_if_missing, rule)
    window = assessment.window
    basis = None
    if window is not None:
        target_source = None if assessment.base is None else (MEASURED if assessment.base.kind == "measured" else CONFIGURED)
        basis = Basis(window.label, window.days_with_data, window.days, MEASURED, target_source)
    progress = assessment.indicator(PLAN_SCORE_INDICATOR)
    if progress is None:
        reason = assessment.unavailable.get(
            PLAN_SCORE_INDICATOR, f"the plan sets no {PLAN_SCORE_INDICATOR} reduction for {assessment.year}"
        )
        return _unavailable("plan", "share", reason, rule, basis)
    base = assessment.base
    scope = "" if base is None else f"; both {describe_categories(base.energy)}"
    note = (
        f"{window.label if window else ''} {progress.actual_value:.2f} vs base {progress.base_value:.2f} kgce/m² "
        f"({progress.base_source}{scope}); target {progress.target_value:.2f} for {assessment.year}"
    ).strip()
    return ComponentScore(
        "plan",
        COMPONENT_LABELS["plan"],
        True,
        progress.achieved_reduction,
        "share",
        progress.required_reduction,
        f"≥ {progress.required_reduction:.1%} below base",
        plan_points(progress.achieved_reduction, progress.required_reduction),
        rule,
        note,
        basis=basis,
    )


def savings_component(
    evidence: SavingsEvidence | None, scoring: Scoring, note_if_missing: str = "", basis: Basis | None = None
) -> ComponentScore:
    target = scoring.savings_target_fraction
    rule = f"≥ +{target:.0%}: full; 0 or inconclusive: half; ≤ −{target:.0%}: 0; linear between"
    if evidence is None:
        return _unavailable(
            "savings", "share", note_if_missing or "no weather-normalised baseline for this building and period", rule, basis
        )
    fsu = "n/a" if evidence.fsu is None else f"{evidence.fsu:.0%}"
    band = "" if evidence.uncertainty_fraction is None else f"±{evidence.uncertainty_fraction:.1%} at 68 %; "
    note = f"{band}FSU {fsu}" + ("" if evidence.conclusive else "; inconclusive (FSU > 50 %): counted as no demonstrated saving")
    return ComponentScore(
        "savings",
        COMPONENT_LABELS["savings"],
        True,
        evidence.fraction,
        "share",
        target,
        f"≥ {target:.0%} saved",
        savings_points(evidence, target),
        rule,
        note,
        basis=basis,
    )


def after_hours_component(share: float | None, scoring: Scoring, note: str = "", basis: Basis | None = None) -> ComponentScore:
    full, zero = scoring.after_hours_target_share, scoring.after_hours_zero_share
    rule = f"≤ {full:.0%}: full; ≥ {zero:.0%}: 0; linear between"
    if share is None:
        return _unavailable("after_hours", "share", "no main-meter interval data", rule, basis)
    return ComponentScore(
        "after_hours",
        COMPONENT_LABELS["after_hours"],
        True,
        share,
        "share",
        full,
        f"≤ {full:.0%}",
        linear_points(share, full, zero),
        rule,
        note,
        basis=basis,
    )


def completeness_component(completeness: Completeness | None, scoring: Scoring, basis: Basis | None = None) -> ComponentScore:
    full, zero = scoring.completeness_target, scoring.completeness_zero
    rule = f"≥ {full:.0%}: full; ≤ {zero:.0%}: 0; linear between"
    if completeness is None:
        return _unavailable(
            "completeness", "share", "meter_daily holds no completeness for this site and period (run facmon analyze)", rule, basis
        )
    note = (
        f"mean over {completeness.meter_days_expected} expected meter-days; "
        f"{completeness.meter_days_reported} have a meter_daily row, the others count 0"
    )
    return ComponentScore(
        "completeness",
        COMPONENT_LABELS["completeness"],
        True,
        completeness.completeness,
        "share",
        full,
        f"≥ {full:.0%}",
        linear_points(completeness.completeness, full, zero),
        rule,
        note,
        basis=basis,
    )


def weigh(
    components: Sequence[ComponentScore], weights: ScoreWeights | Mapping[str, float], min_scored_weight: float = 0.0
) -> tuple[list[ComponentScore], float | None, str]:
    """Give each component its weight and points; share unavailable weight among the available
    components in proportion. Returns (components, score 0–100 or None, explanation); None when nothing,
    or less than ``min_scored_weight`` of the weights, is available."""
    configured = {name: float(getattr(weights, name) if isinstance(weights, ScoreWeights) else weights[name]) for name in SCORE_COMPONENTS}
    total = sum(configured.values())
    if any(w < 0 for w in configured.values()) or abs(total - 1.0) > 1e-6:
        raise ScoreWeightError(f"score weights must be non-negative and sum to 1 (got {configured}, sum {total:g})")
    return weigh_components(components, configured, min_scored_weight)


# ---------------------------------------------------------------------------------------------
# A building's score and the site's scorecard


def component_as_dict(c: ComponentScore) -> dict:
    """A component as JSON: its fields, with the basis as a nested object (None when it has none)."""
    return asdict(c)


@dataclass
class BuildingScore:
    """A building's score for a period with its components, indicators and comparisons."""

    building: str
    name: str
    period: str
    score: float | None
    components: list[ComponentScore]
    explanation: str
    indicators: BuildingIndicators
    gbt51161: Gbt51161Comparison | None = None
    plan: PlanAssessment | None = None
    rank: int | None = None
    use: str = "office"
    benchmark_group: str | None = None  # GB/T 51161 group (facmon.schema.reference.benchmark_group) when compared

    def component(self, name: str) -> ComponentScore:
        return next(c for c in self.components if c.component == name)

    def as_dict(self) -> dict:
        return {
            "building": self.building,
            "name": self.name,
            "use": self.use,
            "period": self.period,
            "score": self.score,
            "rank": self.rank,
            "explanation": self.explanation,
            "components": [component_as_dict(c) for c in self.components],
            "indicators": self.indicators.as_dict(),
            "gbt51161": None if self.gbt51161 is None else self.gbt51161.as_dict(),
            "plan": None if self.plan is None else self.plan.as_dict(),
        }


def rank_scores(scores: Sequence[BuildingScore]) -> list[BuildingScore]:
    """Best first; equal scores (to 0.01 points) share a rank (1, 2, 2, 4); unscored buildings last, unranked."""
    return competition_rank(scores, lambda s: s.building)


@dataclass
class EnergyScorecard:
    """Every building's score for one period, ranked, with the site's indicators (the whole institution)
    and the office buildings' (the scope of GB/T 51161's office values; None when all are offices)."""

    site: str
    period: Period
    buildings: list[BuildingScore]
    site_indicators: BuildingIndicators
    weights: dict[str, float]
    measured_savings: dict[str, Savings] = field(default_factory=dict)  # per building, when its baseline allowed it
    office_indicators: BuildingIndicators | None = None
    min_days_annualised: int = 0

    def as_dict(self) -> dict:
        return {
            "site": self.site,
            "period": self.period.label,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "period_days": self.period.days,
            "min_days_annualised": self.min_days_annualised,
            "weights": self.weights,
            "buildings": [b.as_dict() for b in self.buildings],
            "site_indicators": self.site_indicators.as_dict(),
            "office_indicators": None if self.office_indicators is None else self.office_indicators.as_dict(),
            "savings": {code: found.as_dict() for code, found in self.measured_savings.items()},
        }


def _savings_basis(period: Period, evidence: SavingsEvidence | None) -> Basis:
    days = 0 if evidence is None or evidence.reporting_days is None else evidence.reporting_days
    band = None if evidence is None else evidence.uncertainty_fraction
    baseline = f"measured ({BASELINE_DAYS} days before {period.start.isoformat()})"
    return Basis(period.label, days, period.days, MEASURED, baseline, uncertainty=band)


def score_building(
    site: Site,
    indicators: BuildingIndicators,
    period: Period,
    completeness: Completeness | None,
    savings: SavingsEvidence | None,
    plan: PlanAssessment | None,
) -> BuildingScore:
    """Score one building from its indicators and the given evidence (pure: no database)."""
    building = site.building(indicators.building)
    if building is None:
        raise IndicatorError(f"building {indicators.building!r} is not in the site registry")
    targets = site.energy_targets
    scoring = targets.scoring
    annualised = ""
    if indicators.few_days is not None:
        annualised = f"⚠ {indicators.few_days}"
    elif period.kind == "month":
        annualised = f"annualised from {indicators.totals.days_with_data} day(s) of data (a month carries its season)"
    elif indicators.totals.days_with_data != period.days:
        annualised = f"annualised from {indicators.totals.days_with_data} day(s) of data"

    comparison = None
    not_applicable = gbt51161_applies(building)
    if not_applicable is None and indicators.has_data and indicators.totals.electricity_kwh > 0:
        comparison = compare_gbt51161(
            building, site.site.climate_zone, indicators.annual["electricity_kwh_per_m2"], targets.gbt51161, period.year
        )
    benchmark_source = None
    if comparison is not None:
        benchmark_source = NATIONAL_DEFAULT if comparison.benchmark_source == GBT51161_SOURCE else CONFIGURED
    intensity = intensity_component(
        comparison,
        scoring,
        not_applicable or "no electricity data",
        _period_basis(indicators, period, MEASURED, benchmark_source, annualised=comparison is not None),
    )
    if annualised and intensity.available:
        intensity = replace(intensity, note=f"{annualised}; {intensity.note}")

    split = indicators.after_hours
    share = None if split is None else split.after_hours_share
    after_note = ""
    if split is not None and share is not None:
        after_note = (
            f"off-hours on working days {split.off_hours_workday_share:.0%}, "
            f"rest days {split.rest_day_share:.0%} of {split.total_kwh:,.0f} kWh"
        )
    savings_note = (
        f"no weather-normalised baseline: the {BASELINE_DAYS} days before {period.start.isoformat()} hold fewer than "
        f"{MIN_BASELINE_DAYS} complete days of main-meter data"
    )
    completeness_days = 0 if completeness is None or not building.meters else completeness.meter_days_expected // len(building.meters)
    components = [
        intensity,
        plan_component(plan),
        savings_component(savings, scoring, savings_note, _savings_basis(period, savings)),
        after_hours_component(
            share, scoring, after_note, _period_basis(indicators, period, MEASURED, setting_source(scoring, "after_hours_target_share"))
        ),
        completeness_component(
            completeness,
            scoring,
            Basis(period.label, completeness_days, period.days, MEASURED, setting_source(scoring, "completeness_target", national=True)),
        ),
    ]
    weighed, score, explanation = weigh(components, scoring.weights, scoring.min_scored_weight)
    group = None
    if comparison is not None and building.office_use is not None:
        group = benchmark_group(building.office_class.value, building.office_use.value)
    return BuildingScore(
        building.code,
        building.name,
        period.label,
        score,
        weighed,
        explanation,
        indicators,
        comparison,
        plan,
        use=building.use.value,
        benchmark_group=group,
    )


def score_report(
    site: Site,
    report: SiteIndicatorReport,
    savings: Mapping[str, SavingsEvidence | None] | None = None,
    plans: Mapping[str, PlanAssessment] | None = None,
) -> EnergyScorecard:
    """Score and rank every building of an indicator report (pure: no database)."""
    savings = savings or {}
    plans = plans or {}
    scores = []
    for indicators in report.buildings:
        completeness = None if report.completeness is None else report.completeness.get(indicators.building)
        scores.append(
            score_building(site, indicators, report.period, completeness, savings.get(indicators.building), plans.get(indicators.building))
        )
    weights = site.energy_targets.scoring.weights
    return EnergyScorecard(
        site.site.name,
        report.period,
        rank_scores(scores),
        report.site,
        {name: getattr(weights, name) for name in SCORE_COMPONENTS},
        office_indicators=report.offices,
        min_days_annualised=site.energy_targets.scoring.min_days_annualised,
    )


def score_energy(
    store: InfluxStore,
    site: Site,
    period: Period,
    savings: Mapping[str, SavingsEvidence | None] | None = None,
    today: date | None = None,
) -> EnergyScorecard:
    """Read the period's data, the plan's year-long window (and base year when measured) and score every building.

    ``savings``: weather-normalised savings per building; by default measured from InfluxDB over the
    period so far against the year before it (analytics.building_savings)."""
    report = read_indicators(store, site, period, today)
    measured: dict[str, Savings] = {}
    if savings is None:
        today = today or datetime.now(ZoneInfo(site.site.timezone)).date()
        found = savings_in_period(store, site, period.start, min(period.end, today + timedelta(days=1)))
        measured = {code: result.savings for code, result in found.items() if result is not None and result.savings is not None}
        savings = {code: savings_evidence(measured[code]) if code in measured else None for code in found}
    card = score_report(site, report, savings, read_plan_assessments(store, site, period))
    card.measured_savings = measured
    return card


def score_energy_lines(card: EnergyScorecard, timezone: str) -> list[str]:
    """score_energy points: tags building, period; time = the period's local start (so a rerun
    overwrites the same points); fields score, rank and per component _points, _value, _weight,
    _available and its basis (_days, _period_days, _source, _target_source, _uncertainty, _flagged), and
    intensity_benchmark (the GB/T 51161 group the intensity was compared with).
    And the savings behind the savings component, one `savings` point per building that has them:
    avoided_kwh, uncertainty_kwh (± at 68 %), predicted_kwh, observed_kwh, fraction, fsu, conclusive, reporting_days."""
    start_s = int(datetime.combine(card.period.start, time(0), ZoneInfo(timezone)).timestamp())
    lines = []
    for entry in card.buildings:
        if entry.score is None:
            continue
        components = [
            ScoreComponent(
                c.component,
                c.points,
                c.effective_weight,
                c.available,
                c.value,
                basis=None
                if c.basis is None
                else ComponentBasis(
                    days=c.basis.days,
                    period_days=c.basis.days_in_period,
                    source=c.basis.source,
                    target_source=c.basis.target_source,
                    uncertainty=c.basis.uncertainty,
                    flagged=c.basis.flag is not None,
                ),
            )
            for c in entry.components
        ]
        lines.append(
            score_energy_line(
                ScoreEnergy(entry.building, card.period.label, start_s, entry.score, entry.rank, components, entry.benchmark_group)
            )
        )
    for building, found in sorted(card.measured_savings.items()):
        point = SavingsPoint(
            building=building,
            period=card.period.label,
            start_s=start_s,
            avoided_kwh=found.avoided_kwh,
            uncertainty_kwh=found.uncertainty_kwh,
            predicted_kwh=found.predicted_kwh,
            observed_kwh=found.observed_kwh,
            fraction=found.fraction,
            fsu=found.fsu,
            conclusive=not found.inconclusive,
            reporting_days=found.m,
        )
        lines.append(savings_line(point))
    return lines


def write_energy_scores(store: InfluxStore, card: EnergyScorecard, timezone: str) -> int:
    """Write the scorecard's score_energy points; returns how many."""
    lines = score_energy_lines(card, timezone)
    store.write(lines)
    return len(lines)
