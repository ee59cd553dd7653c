"""The scores' measurements: ``score_energy``, ``savings`` and ``score_vendor``, their records and
their one writer each.

Stored shapes (docs/architecture.md#the-measurement-schema): one point per building (vendor) and
period, stamped at the period's local start so that a rerun overwrites it. Tags: ``building`` (or
``vendor``) and ``period`` (``2025`` or ``2025-06``). A component ``c`` of a score is stored as
``<c>_points``, ``<c>_weight`` (effective, after sharing out the weight of unavailable components),
``<c>_available`` (1.0 / 0.0) and ``<c>_value`` when available (unit per component: kWh/(m²·a) for
the energy score's intensity, fractions 0..1 otherwise), all floats; with its basis (energy score):
``<c>_days`` and ``<c>_period_days`` (days with data of the days it covers), ``<c>_flagged`` (1.0 when
the value is a poor estimate, e.g. annualised from too few days), ``<c>_uncertainty`` (± at 68 %, the
value's unit, when known), and the strings ``<c>_source`` and ``<c>_target_source`` (measured,
configured, national default, facmon default). ``score_energy`` also carries ``intensity_benchmark``
(string, e.g. ``B/government``: the office's GB/T 51161 benchmark group, facmon.schema.reference, when its
intensity was compared), so a dashboard panel per benchmark selects its buildings from the data.

Written by ``facmon score energy`` (analytics.energy_score) and ``facmon score vendors``
(analytics.vendor_score). The dashboards have their own InfluxQL; the combined vendor assessment
(workorders) reads ``score_vendor`` back through :func:`stored_vendor_score`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from facmon.schema.names import SAVINGS, SCORE_ENERGY, SCORE_VENDOR
from facmon.store import InfluxStore, line, quote_identifier, quote_string

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class ComponentBasis:
    """What a stored component rests on: ``days`` with data of ``period_days``, ``source`` and
    ``target_source`` (measured, configured, national default, facmon default), ``uncertainty`` (± at
    68 % in the value's unit; None, and no field, when unknown), ``flagged`` (a poor estimate)."""

    days: int
    period_days: int
    source: str
    target_source: str | None = None
    uncertainty: float | None = None
    flagged: bool = False


@dataclass(frozen=True)
class ScoreComponent:
    """One component of a stored score: ``points`` earned (of 100 for the whole score), ``weight``
    (effective, 0..1), ``available``, ``value`` (None, and no field, when not available) and its
    ``basis`` (None, and no fields, when the score has none)."""

    component: str
    points: float
    weight: float
    available: bool
    value: float | None = None
    basis: ComponentBasis | None = None


def _component_fields(components: Sequence[ScoreComponent]) -> dict[str, float | str]:
    fields: dict[str, float | str] = {}
    for c in components:
        fields[f"{c.component}_points"] = round(c.points, 4)
        fields[f"{c.component}_weight"] = round(c.weight, 6)
        fields[f"{c.component}_available"] = 1.0 if c.available else 0.0
        if c.value is not None:
            fields[f"{c.component}_value"] = float(c.value)
        if c.basis is not None:
            fields[f"{c.component}_days"] = float(c.basis.days)
            fields[f"{c.component}_period_days"] = float(c.basis.period_days)
            fields[f"{c.component}_flagged"] = 1.0 if c.basis.flagged else 0.0
            fields[f"{c.component}_source"] = c.basis.source
            if c.basis.target_source is not None:
                fields[f"{c.component}_target_source"] = c.basis.target_source
            if c.basis.uncertainty is not None:
                fields[f"{c.component}_uncertainty"] = round(c.basis.uncertainty, 6)
    return fields


@dataclass(frozen=True)
class ScoreEnergy:
    """One ``score_energy`` point: a building's energy-saving ``score`` (0..100) and ``rank`` (1 = best;
    None stored as 0) for ``period``, at ``start_s`` (the period's local start, epoch s), with its
    components (``intensity``, ``plan``, ``savings``, ``after_hours``, ``completeness``)."""

    building: str
    period: str
    start_s: int
    score: float
    rank: int | None
    components: Sequence[ScoreComponent] = ()
    benchmark: str | None = None  # GB/T 51161 benchmark group of the intensity comparison (field intensity_benchmark)


def score_energy_line(point: ScoreEnergy) -> str:
    """The ``score_energy`` point of ``point`` as line protocol (score and points to 4 decimals, weights to 6)."""
    fields: dict[str, float | str] = {"score": round(point.score, 4), "rank": float(point.rank or 0)}
    fields.update(_component_fields(point.components))
    if point.benchmark is not None:
        fields["intensity_benchmark"] = point.benchmark
    return line(SCORE_ENERGY, {"building": point.building, "period": point.period}, fields, int(point.start_s) * NS_PER_S)


@dataclass(frozen=True)
class SavingsPoint:
    """One ``savings`` point: a building's weather-normalised savings over ``period`` against the year
    before it, at ``start_s`` (the period's local start, epoch s).

    ``avoided_kwh`` (kWh avoided: predicted − observed), ``uncertainty_kwh`` (± at 68 % confidence),
    ``predicted_kwh`` (the baseline's prediction), ``observed_kwh``, ``fraction`` (avoided ÷ predicted),
    ``fsu`` (fractional savings uncertainty; None, and no field, when nothing was avoided),
    ``conclusive`` (FSU ≤ 50 %; stored 1.0 / 0.0), ``reporting_days`` (complete days measured).
    """

    building: str
    period: str
    start_s: int
    avoided_kwh: float
    uncertainty_kwh: float
    predicted_kwh: float
    observed_kwh: float
    fraction: float
    fsu: float | None
    conclusive: bool
    reporting_days: int


def savings_line(point: SavingsPoint) -> str:
    """The ``savings`` point of ``point`` as line protocol (energies to 3 decimals, fractions to 6)."""
    fields: dict[str, float] = {
        "avoided_kwh": round(point.avoided_kwh, 3),
        "uncertainty_kwh": round(point.uncertainty_kwh, 3),
        "predicted_kwh": round(point.predicted_kwh, 3),
        "observed_kwh": round(point.observed_kwh, 3),
        "fraction": round(point.fraction, 6),
        "conclusive": 1.0 if point.conclusive else 0.0,
        "reporting_days": float(point.reporting_days),
    }
    if point.fsu is not None:
        fields["fsu"] = round(point.fsu, 6)
    return line(SAVINGS, {"building": point.building, "period": point.period}, fields, int(point.start_s) * NS_PER_S)


@dataclass(frozen=True)
class ScoreVendor:
    """One ``score_vendor`` point: a vendor's maintenance-quality ``score`` (0..100) and ``rank`` (1 =
    best; None stored as 0) for ``period``, at ``start_s`` (the period's local start, epoch s).

    ``deduction_cny`` (the contract deduction, CNY, capped; field ``deduction``) and
    ``deduction_uncapped_cny`` (field ``deduction_uncapped``), ``breaches`` (SLA breaches decided in the
    period), ``faults_by_severity`` (severity -> faults opened in the period; fields ``faults`` for
    their sum and ``faults_<severity>``, in this mapping's order) and the components
    (``sla_compliance``, ``restore_time``, ``fault_rate``, ``repeat_faults``, ``availability``, ``ieq``,
    ``completeness``).
    """

    vendor: str
    period: str
    start_s: int
    score: float
    rank: int | None
    deduction_cny: float
    deduction_uncapped_cny: float
    breaches: int
    faults_by_severity: Mapping[str, int] = field(default_factory=dict)
    components: Sequence[ScoreComponent] = ()


def score_vendor_line(point: ScoreVendor) -> str:
    """The ``score_vendor`` point of ``point`` as line protocol (deductions to 2 decimals, score and points to 4, weights to 6)."""
    fields: dict[str, float | str] = {
        "score": round(point.score, 4),
        "rank": float(point.rank or 0),
        "deduction": round(point.deduction_cny, 2),
        "deduction_uncapped": round(point.deduction_uncapped_cny, 2),
        "breaches": float(point.breaches),
        "faults": float(sum(point.faults_by_severity.values())),
    }
    for severity, count in point.faults_by_severity.items():
        fields[f"faults_{severity}"] = float(count)
    fields.update(_component_fields(point.components))
    return line(SCORE_VENDOR, {"vendor": point.vendor, "period": point.period}, fields, int(point.start_s) * NS_PER_S)


@dataclass(frozen=True)
class StoredVendorScore:
    """A ``score_vendor`` point as read back: ``score`` (0..100), ``breaches``, and per available
    component its (points, effective weight)."""

    score: float
    breaches: int
    components: Mapping[str, tuple[float, float]]


def stored_vendor_score(store: InfluxStore, vendor: str, period: str) -> StoredVendorScore | None:
    """The stored ``score_vendor`` of ``vendor`` for ``period`` (label, e.g. 2026-11), or None."""
    rows = store.rows(
        f'SELECT * FROM {quote_identifier(SCORE_VENDOR)} WHERE "vendor" = {quote_string(vendor)} AND "period" = {quote_string(period)}'
    )
    if not rows:
        return None
    row = rows[-1]
    components = {}
    for key, available in row.items():
        if key.endswith("_available") and available == 1.0:
            name = key.removesuffix("_available")
            components[name] = (float(row[f"{name}_points"]), float(row[f"{name}_weight"]))
    return StoredVendorScore(float(row["score"]), int(row.get("breaches") or 0), components)
