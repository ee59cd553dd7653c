"""The maintenance-quality score of a vendor for a period (0–100), explained component by component,
and the contract deductions its SLA breaches cost.

Everything is measured from sensor data, never self-reported: faults come from the ``fault``
measurement (a point with ``active`` 1 at the fault's onset in the data and 0 at its clear, tags building,
kind, severity, vendor, target; so time to restore runs from when the building broke, not from when the
detector's persistence rule was met), IEQ from ``ieq``, completeness from ``meter_daily`` and the presence of
equipment and IEQ readings. Seven components (weights and marks in the registry's ``vendor_scoring``;
linear between the full and the zero mark):

- sla_compliance: share of SLA outcomes decided in the period that were restored within the
  severity's ``restore_min``. Full points ≥ 95 % (docs/standards.md#outsourced-services, M/L), zero ≤ 70 %.
- restore_time: median of time to restore ÷ SLA ``restore_min`` over the same faults. Full ≤ 0.5,
  zero ≥ 1.5.
- fault_rate: severity-weighted faults opened (critical 3, major 2, minor 1) per maintained device per
  30 days. Full ≤ 0.05, zero ≥ 0.5.
- repeat_faults: share of faults opened that repeat (same building, target and kind, opening ≤ 7 days
  after the previous one cleared). Full at 0, zero ≥ 25 %.
- availability: share of the period's time each maintained equipment item had no active fault, mean
  over items. Full ≥ 98 % (设备完好率, docs/standards.md#outsourced-services, M/L), zero ≤ 90 %.
- ieq: share of occupied sensor-hours (working days, working hours; hourly means) within GB/T 18883
  bands. Full ≥ 95 %, zero ≤ 70 %.
- completeness: mean data completeness of the maintained devices (meters: meter_daily; equipment,
  IEQ: readings ÷ expected). Full ≥ 90 % (docs/standards.md#metering-data-model, M), zero ≤ 50 %.

Which faults count where:

- A fault's **SLA outcome is decided** at its clear when restored within ``restore_min``, else at
  start + ``restore_min`` (the moment it breached). sla_compliance, restore_time and the deductions use
  the outcomes decided in the period, so a fault spanning two periods counts once, in the period where
  it was restored or breached. **A fault still active at the period's end counts as breached once it is
  over its SLA**, with the time to restore measured up to the period's end (a lower bound); one still
  within its SLA at the period's end is decided in a later period.
- fault_rate and repeat_faults count the faults **opened** in the period.
- availability counts every fault whose target is the equipment item, whatever its tag ``vendor``.

A component without a value (no fault decided, no equipment or IEQ in scope, no data) is reported as not
available and its weight shared among the available ones in proportion, as in the energy score. On-site
arrival times (SLA ``onsite_min``, 川机管发〔2015〕53号 30 min) are not in the sensor data and are not scored.

Contract deductions (registry ``vendors[].contract``): per breach decided in a month, a fixed amount or
a percent of the monthly fee by severity; a month's total capped at ``cap_percent`` of the fee; a year
is the sum of its months.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from facmon.analytics.indicators import IndicatorError, Period
from facmon.analytics.scorecard import ComponentScore, competition_rank, linear_points, weigh_components
from facmon.registry import (
    VENDOR_COMPONENT_LABELS,
    VENDOR_SCORE_COMPONENTS,
    ContractTerms,
    Site,
    SlaTerm,
    System,
    Vendor,
    VendorScoreWeights,
    VendorScoring,
    WorkingHours,
)
from facmon.schema.energy import completeness_by_meter
from facmon.schema.faults import FAULT_TAGS, Fault, faults_from_points, read_faults
from facmon.schema.readings import ieq_hourly_means, readings_per_device
from facmon.schema.scores import ScoreComponent, ScoreVendor, score_vendor_line
from facmon.schema.work_orders import OnsiteOutcome, onsite_outcomes, return_visit_ratings
from facmon.standards import (
    GBT18883_CO2_MAX_PPM,
    GBT18883_HUMIDITY_SUMMER_PCT,
    GBT18883_HUMIDITY_WINTER_PCT,
    GBT18883_TEMPERATURE_SUMMER_C,
    GBT18883_TEMPERATURE_WINTER_C,
    Severity,
)
from facmon.store import InfluxStore
from facmon.workdays import is_working_day

COMPONENT_LABELS = VENDOR_COMPONENT_LABELS
SECONDS_PER_30_DAYS = 30 * 86400


class VendorScoreError(IndicatorError):
    """The vendor score cannot be computed from the given input (named in the message)."""


# ---------------------------------------------------------------------------------------------
# Faults as episodes


def _checked_series(tags: Mapping[str, str]) -> Severity:
    """The severity of a fault series whose tags are all there; VendorScoreError naming the series otherwise."""
    missing = [tag for tag in FAULT_TAGS if not tags.get(tag)]
    if missing:
        raise VendorScoreError(f"fault series {dict(tags)} lacks the tag(s) {', '.join(missing)}")
    try:
        return Severity(tags["severity"])
    except ValueError:
        raise VendorScoreError(
            f"fault series {dict(tags)}: severity {tags['severity']!r} is not one of {', '.join(s.value for s in Severity)}"
        ) from None


def episodes_from_points(
    tags: Mapping[str, str],
    times_s: Sequence[int],
    active: Sequence[float],
    values: Sequence[float | None] | None = None,
    details: Sequence[str | None] | None = None,
) -> list[Fault]:
    """The faults of one series (tags building, kind, severity, vendor, target) from its points: a fault
    opens at a point with active 1 and clears at the next point with active 0; repeated points change nothing."""
    severity = _checked_series(tags)
    points = [
        {
            "time": int(times_s[i]),
            "active": 0.0 if active[i] is None else float(active[i]),
            "value": None if values is None else values[i],
            "detail": None if details is None else details[i],
        }
        for i in range(len(times_s))
    ]
    return [replace(f, severity=severity) for f in faults_from_points(dict(tags), points)]


# ---------------------------------------------------------------------------------------------
# SLA outcomes, repeats, availability, deductions (pure)


@dataclass(frozen=True)
class SlaOutcome:
    """How one fault fared against its severity's SLA ``restore_min``.

    ``restore_min``: start to clear, or start to the period's end when still active then (a lower
    bound, ``restored`` False). ``decided_s``: the clear when restored within the SLA, else start + SLA."""

    episode: Fault
    sla_restore_min: float
    restore_min: float
    restored: bool
    breached: bool
    decided_s: int

    @property
    def restore_ratio(self) -> float:
        return self.restore_min / self.sla_restore_min


def sla_outcome(episode: Fault, sla_restore_min: float, as_of_s: int) -> SlaOutcome | None:
    """The fault's SLA outcome as known at ``as_of_s`` (UTC s), or None while it is active and still within its SLA."""
    deadline_s = episode.onset_s + sla_restore_min * 60.0
    if episode.cleared_s is not None and episode.cleared_s < as_of_s:
        restore_min = (episode.cleared_s - episode.onset_s) / 60.0
        breached = restore_min > sla_restore_min
        decided = int(deadline_s) if breached else episode.cleared_s
        return SlaOutcome(episode, sla_restore_min, restore_min, True, breached, decided)
    elapsed_min = (as_of_s - episode.onset_s) / 60.0
    if elapsed_min > sla_restore_min:
        return SlaOutcome(episode, sla_restore_min, elapsed_min, False, True, int(deadline_s))
    return None


def sla_outcomes(episodes: Iterable[Fault], sla: Mapping[Severity, SlaTerm], start_s: int, as_of_s: int) -> list[SlaOutcome]:
    """Outcomes decided in [start_s, as_of_s): restored within the SLA, or breached (still active or not)."""
    found = []
    for episode in episodes:
        outcome = sla_outcome(episode, sla[episode.severity].restore_min, as_of_s)
        if outcome is not None and start_s <= outcome.decided_s < as_of_s:
            found.append(outcome)
    return sorted(found, key=lambda o: (o.decided_s, o.episode.building, o.episode.target))


def repeat_flags(episodes: Sequence[Fault], window_s: float) -> list[bool]:
    """For each episode: does it open within ``window_s`` after an earlier episode of the same building,
    target and kind cleared?"""
    last_clear: dict[tuple[str, str, str], int] = {}
    flags = [False] * len(episodes)
    for i in sorted(range(len(episodes)), key=lambda k: episodes[k].onset_s):
        episode = episodes[i]
        key = (episode.building, episode.target, episode.kind)
        cleared = last_clear.get(key)
        flags[i] = cleared is not None and 0 <= episode.onset_s - cleared <= window_s
        if episode.cleared_s is not None:
            last_clear[key] = max(episode.cleared_s, cleared or episode.cleared_s)
    return flags


@dataclass(frozen=True)
class Availability:
    """Share of time without an active fault, mean over the equipment items (each weighs the same)."""

    share: float
    items: int
    downtime_h: float  # summed over the items
    items_with_downtime: int


def availability(episodes: Iterable[Fault], items: Sequence[tuple[str, str]], start_s: int, end_s: int) -> Availability | None:
    """Availability of ``items`` (building, equipment id) over [start_s, end_s) from the faults targeting them;
    overlapping faults on one item count once. None when there are no items or no time."""
    if not items or end_s <= start_s:
        return None
    wanted = set(items)
    spans: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for episode in episodes:
        key = (episode.building, episode.target)
        if key in wanted and episode.active_seconds(start_s, end_s) > 0:
            stop = end_s if episode.cleared_s is None else min(episode.cleared_s, end_s)
            spans.setdefault(key, []).append((max(episode.onset_s, start_s), stop))
    length = end_s - start_s
    shares, downtime_s = [], 0
    for item in items:
        merged_s, reach = 0, start_s
        for begin, stop in sorted(spans.get(item, [])):
            begin = max(begin, reach)
            if stop > begin:
                merged_s += stop - begin
                reach = stop
        downtime_s += merged_s
        shares.append(1.0 - merged_s / length)
    return Availability(float(np.mean(shares)), len(items), downtime_s / 3600.0, sum(1 for item in items if spans.get(item)))


@dataclass(frozen=True)
class Deduction:
    """Contract deductions of the period, CNY: per month, with the cap applied."""

    amount_cny: float
    uncapped_cny: float
    by_month_cny: dict[str, float]
    breaches: dict[str, int]  # severity → breaches decided in the period
    note: str


def contract_deduction(breaches_by_month: Mapping[str, Mapping[Severity, int]], contract: ContractTerms) -> Deduction:
    """Deductions for SLA breaches by the contract terms: each breach costs its severity's CNY amount or
    percent of the monthly fee; each month's total is capped at ``cap_percent`` of the monthly fee."""
    by_month, uncapped_total = {}, 0.0
    breaches = {s.value: 0 for s in Severity}
    unpriced: set[str] = set()
    for month, counts in sorted(breaches_by_month.items()):
        month_cny = 0.0
        for severity, count in counts.items():
            breaches[severity.value] += count
            if severity in contract.deduction_per_breach_cny:
                month_cny += count * contract.deduction_per_breach_cny[severity]
            elif severity in contract.deduction_per_breach_percent and contract.monthly_fee_cny is not None:
                month_cny += count * contract.deduction_per_breach_percent[severity] / 100.0 * contract.monthly_fee_cny
            elif count:
                unpriced.add(severity.value)
        uncapped_total += month_cny
        if contract.cap_percent is not None and contract.monthly_fee_cny is not None:
            month_cny = min(month_cny, contract.cap_percent / 100.0 * contract.monthly_fee_cny)
        by_month[month] = month_cny
    notes = []
    if not contract.deduction_per_breach_cny and not contract.deduction_per_breach_percent:
        notes.append("no deduction terms in the registry: vendors[].contract")
    elif unpriced:
        notes.append(f"no deduction term for {', '.join(sorted(unpriced))} breaches")
    amount = sum(by_month.values())
    if amount < uncapped_total:
        notes.append(f"capped at {contract.cap_percent:g} % of the monthly fee {contract.monthly_fee_cny:,.0f} CNY")
    if contract.reference:
        notes.append(contract.reference)
    return Deduction(amount, uncapped_total, by_month, breaches, "; ".join(notes))


# ---------------------------------------------------------------------------------------------
# IEQ compliance and data completeness (pure)


@dataclass(frozen=True)
class IeqCompliance:
    """Occupied sensor-hours (hourly means) within GB/T 18883 bands, of all occupied sensor-hours with data."""

    compliant_hours: int
    occupied_hours: int

    @property
    def share(self) -> float | None:
        return None if self.occupied_hours == 0 else self.compliant_hours / self.occupied_hours


def ieq_bands(month: int, scoring: VendorScoring) -> tuple[tuple[float, float], tuple[float, float]]:
    """(temperature °C, relative humidity %) bands of GB/T 18883-2022 for a month: summer, winter, or
    their union in the months between."""
    if month in scoring.ieq_summer_months:
        return GBT18883_TEMPERATURE_SUMMER_C, GBT18883_HUMIDITY_SUMMER_PCT
    if month in scoring.ieq_winter_months:
        return GBT18883_TEMPERATURE_WINTER_C, GBT18883_HUMIDITY_WINTER_PCT
    return (
        (
            min(GBT18883_TEMPERATURE_WINTER_C[0], GBT18883_TEMPERATURE_SUMMER_C[0]),
            max(GBT18883_TEMPERATURE_WINTER_C[1], GBT18883_TEMPERATURE_SUMMER_C[1]),
        ),
        (
            min(GBT18883_HUMIDITY_WINTER_PCT[0], GBT18883_HUMIDITY_SUMMER_PCT[0]),
            max(GBT18883_HUMIDITY_WINTER_PCT[1], GBT18883_HUMIDITY_SUMMER_PCT[1]),
        ),
    )


def ieq_compliance(
    hour_starts_s: np.ndarray,
    temperature_c: np.ndarray,
    humidity_pct: np.ndarray,
    co2_ppm: np.ndarray,
    working_hours: WorkingHours,
    timezone: str,
    scoring: VendorScoring,
) -> IeqCompliance:
    """Judge hourly means of one sensor: an hour is occupied when it is on a working day (调休 included)
    and its midpoint lies within working hours; it complies when every quantity measured (not NaN)
    lies in its GB/T 18883 band (temperature and humidity by season, CO₂ ≤ 1000 ppm)."""
    zone = ZoneInfo(timezone)
    start_min = working_hours.start.hour * 60 + working_hours.start.minute
    end_min = working_hours.end.hour * 60 + working_hours.end.minute
    compliant = occupied = 0
    working: dict[date, bool] = {}
    for i, hour_s in enumerate(np.asarray(hour_starts_s, dtype=np.int64)):
        middle = datetime.fromtimestamp(int(hour_s) + 1800, zone)
        day = middle.date()
        if day not in working:
            working[day] = is_working_day(day)
        if not working[day] or not start_min <= middle.hour * 60 + middle.minute < end_min:
            continue
        readings = (temperature_c[i], humidity_pct[i], co2_ppm[i])
        if all(np.isnan(r) for r in readings):
            continue
        occupied += 1
        (t_low, t_high), (h_low, h_high) = ieq_bands(middle.month, scoring)
        ok = (np.isnan(readings[0]) or t_low <= readings[0] <= t_high) and (np.isnan(readings[1]) or h_low <= readings[1] <= h_high)
        ok = ok and (np.isnan(readings[2]) or readings[2] <= GBT18883_CO2_MAX_PPM)
        compliant += int(bool(ok))
    return IeqCompliance(compliant, occupied)


@dataclass(frozen=True)
class MaintainedDevice:
    """A device whose upkeep and data are a vendor's business."""

    building: str
    device: str
    kind: Literal["equipment", "ieq", "meter"]
    system: System


# A meter belongs to the system its energy feeds: water meters to water supply, the others to the
# electrical installation (the registry's systems have no separate metering system).
METER_SYSTEM = {"02": System.WATER_SUPPLY}


def maintained_devices(site: Site, vendor_id: str) -> list[MaintainedDevice]:
    """Equipment the vendor maintains (its own ``vendor`` or coverage), IEQ sensors of buildings where it
    covers indoor_environment, meters of buildings where it covers the meter's system."""
    found = []
    for building in site.buildings:
        for equipment in building.equipment:
            if site.equipment_vendor(building.code, equipment) == vendor_id:
                found.append(MaintainedDevice(building.code, equipment.id, "equipment", equipment.maintained_system))
        if site.covering_vendor(building.code, System.INDOOR_ENVIRONMENT) == vendor_id:
            found += [MaintainedDevice(building.code, s.id, "ieq", System.INDOOR_ENVIRONMENT) for s in building.ieq_sensors]
        for meter in building.meters:
            system = METER_SYSTEM.get(meter.energy, System.ELECTRICAL)
            if site.covering_vendor(building.code, system) == vendor_id:
                found.append(MaintainedDevice(building.code, meter.id, "meter", system))
    return found


@dataclass(frozen=True)
class DataCompleteness:
    """Mean completeness over the maintained devices whose data could be judged."""

    share: float
    devices: int
    by_kind: dict[str, float]  # kind → mean completeness
    note: str = ""


def data_completeness(
    devices: Sequence[MaintainedDevice], measured: Mapping[tuple[str, str], float], kinds_judged: Iterable[str]
) -> DataCompleteness | None:
    """Mean of each judged device's completeness (0..1, a device without data counts 0); devices of kinds
    not judged (no data source) are left out. None when no device is judged."""
    judged_kinds = set(kinds_judged)
    values: dict[str, list[float]] = {}
    for device in devices:
        if device.kind in judged_kinds:
            values.setdefault(device.kind, []).append(min(1.0, max(0.0, measured.get((device.building, device.device), 0.0))))
    every = [v for group in values.values() for v in group]
    if not every:
        return None
    return DataCompleteness(float(np.mean(every)), len(every), {kind: float(np.mean(v)) for kind, v in sorted(values.items())})


# ---------------------------------------------------------------------------------------------
# Components and weights


def _component(
    name: str, value: float | None, unit: str, target: float | None, target_text: str, fraction: float, rule: str, note: str
) -> ComponentScore:
    return ComponentScore(
        name,
        COMPONENT_LABELS[name],
        value is not None,
        value,
        unit,
        target,
        target_text if value is not None else "-",
        fraction,
        rule,
        note,
    )


def weigh(components: Sequence[ComponentScore], weights: VendorScoreWeights) -> tuple[list[ComponentScore], float | None, str]:
    """Each component's weight and points; unavailable weight is shared among the available components
    in proportion. Returns (components, score 0–100 or None when none is available, explanation)."""
    configured = {name: float(getattr(weights, name)) for name in VENDOR_SCORE_COMPONENTS}
    return weigh_components(components, configured)


# ---------------------------------------------------------------------------------------------
# A vendor's score and the site's scorecard


@dataclass
class VendorScore:
    """A vendor's score for a period: components, fault counts, SLA outcomes and deductions."""

    vendor: str
    name: str
    period: str
    score: float | None
    components: list[ComponentScore]
    explanation: str
    faults_by_severity: dict[str, int]  # faults opened in the period
    outcomes: list[SlaOutcome]
    deduction: Deduction
    devices: int
    rank: int | None = None

    def component(self, name: str) -> ComponentScore:
        return next(c for c in self.components if c.component == name)

    @property
    def breaches(self) -> int:
        return sum(1 for o in self.outcomes if o.breached)

    def as_dict(self) -> dict:
        return {
            "vendor": self.vendor,
            "name": self.name,
            "period": self.period,
            "score": self.score,
            "rank": self.rank,
            "explanation": self.explanation,
            "components": [asdict(c) for c in self.components],
            "faults_by_severity": self.faults_by_severity,
            "maintained_devices": self.devices,
            "sla_outcomes": [
                {
                    "building": o.episode.building,
                    "kind": o.episode.kind,
                    "severity": o.episode.severity.value,
                    "target": o.episode.target,
                    "start": datetime.fromtimestamp(o.episode.onset_s, UTC).isoformat(),
                    "clear": None
                    if o.episode.cleared_s is None or not o.restored
                    else datetime.fromtimestamp(o.episode.cleared_s, UTC).isoformat(),
                    "restore_min": o.restore_min,
                    "sla_restore_min": o.sla_restore_min,
                    "restored": o.restored,
                    "breached": o.breached,
                }
                for o in self.outcomes
            ],
            "deduction": asdict(self.deduction),
        }


def rank_vendors(scores: Sequence[VendorScore]) -> list[VendorScore]:
    """Best first; equal scores (to 0.01 points) share a rank (1, 2, 2, 4); unscored vendors last, unranked."""
    return competition_rank(scores, lambda s: s.vendor)


@dataclass
class VendorScorecard:
    """Every vendor's score for one period, ranked; ``as_of`` is the period's end, or now for a running period."""

    site: str
    period: Period
    as_of: datetime
    vendors: list[VendorScore]
    weights: dict[str, float]

    def as_dict(self) -> dict:
        return {
            "site": self.site,
            "period": self.period.label,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "weights": self.weights,
            "vendors": [v.as_dict() for v in self.vendors],
        }


def _month(epoch_s: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch_s, zone).strftime("%Y-%m")


def score_vendor(
    site: Site,
    vendor: Vendor,
    period: Period,
    as_of_s: int,
    episodes: Sequence[Fault],
    ieq: IeqCompliance | None,
    completeness: DataCompleteness | None,
    onsite: Sequence[OnsiteOutcome] = (),
    ratings: Sequence[int] = (),
) -> VendorScore:
    """Score one vendor from fault episodes (all read, any vendor), measured IEQ and completeness, and its
    work orders' on-site outcomes and return-visit ratings decided in the period (pure: no database).
    ``as_of_s``: the period's end, or now when the period is still running (UTC s)."""
    scoring = site.vendor_scoring
    zone = site.site.tz
    start_s = int(datetime.combine(period.start, time(0), zone).timestamp())
    if as_of_s <= start_s:
        raise VendorScoreError(f"period {period.label} has not started yet")
    elapsed_s = as_of_s - start_s
    own = [e for e in episodes if e.vendor == vendor.id]
    devices = maintained_devices(site, vendor.id)

    # SLA outcomes decided in the period.
    outcomes = sla_outcomes(own, vendor.sla, start_s, as_of_s)
    breached = [o for o in outcomes if o.breached]
    open_breaches = sum(1 for o in breached if not o.restored)
    rule = f"≥ {scoring.sla_compliance_target:.0%}: full; ≤ {scoring.sla_compliance_zero:.0%}: 0; linear between"
    if outcomes:
        share = 1.0 - len(breached) / len(outcomes)
        note = f"{len(outcomes) - len(breached)} of {len(outcomes)} restored within SLA"
        if open_breaches:
            note += f"; {open_breaches} still active at the period's end counted as breached"
        compliance = _component(
            "sla_compliance",
            share,
            "share",
            scoring.sla_compliance_target,
            f"≥ {scoring.sla_compliance_target:.0%}",
            linear_points(share, scoring.sla_compliance_target, scoring.sla_compliance_zero),
            rule,
            note,
        )
    else:
        compliance = _component("sla_compliance", None, "share", None, "", 0.0, rule, "no fault restored or breached in the period")

    rule = (
        f"median restore time ÷ SLA restore_min ≤ {scoring.restore_ratio_full:g}: full; ≥ {scoring.restore_ratio_zero:g}: 0; linear between"
    )
    if outcomes:
        ratio = statistics.median(o.restore_ratio for o in outcomes)
        per_severity = []
        for severity in Severity:
            minutes = [o.restore_min for o in outcomes if o.episode.severity is severity]
            if minutes:
                per_severity.append(f"{severity.value} mean {np.mean(minutes):.0f} min vs SLA {vendor.sla[severity].restore_min:g}")
        note = "; ".join(per_severity) + ("; still-active faults measured to the period's end" if open_breaches else "")
        restore = _component(
            "restore_time",
            ratio,
            "× SLA",
            scoring.restore_ratio_full,
            f"≤ {scoring.restore_ratio_full:g} × SLA",
            linear_points(ratio, scoring.restore_ratio_full, scoring.restore_ratio_zero),
            rule,
            note,
        )
    else:
        restore = _component("restore_time", None, "× SLA", None, "", 0.0, rule, "no fault restored or breached in the period")

    # Faults opened in the period: rate and repeats.
    repeats = repeat_flags(own, scoring.repeat_window_days * 86400)
    opened = [(e, r) for e, r in zip(own, repeats, strict=True) if start_s <= e.onset_s < as_of_s]
    by_severity = {s.value: sum(1 for e, _ in opened if e.severity is s) for s in Severity}
    rule = f"≤ {scoring.fault_rate_full:g}: full; ≥ {scoring.fault_rate_zero:g}: 0; weights " + ", ".join(
        f"{s.value} {scoring.severity_weights[s]:g}" for s in Severity
    )
    if devices:
        weighted = sum(scoring.severity_weights[e.severity] for e, _ in opened)
        rate = weighted / len(devices) / (elapsed_s / SECONDS_PER_30_DAYS)
        note = (
            f"{len(opened)} fault(s) opened ("
            + ", ".join(f"{k} {v}" for k, v in by_severity.items())
            + f"), weighted {weighted:g}, on {len(devices)} maintained device(s) over {elapsed_s / 86400:.1f} days"
        )
        fault_rate = _component(
            "fault_rate",
            rate,
            "per device·30 d",
            scoring.fault_rate_full,
            f"≤ {scoring.fault_rate_full:g}",
            linear_points(rate, scoring.fault_rate_full, scoring.fault_rate_zero),
            rule,
            note,
        )
    else:
        fault_rate = _component("fault_rate", None, "per device·30 d", None, "", 0.0, rule, "the vendor maintains no device of this site")

    rule = (
        f"none: full; ≥ {scoring.repeat_share_zero:.0%}: 0; linear between "
        f"(same target and kind ≤ {scoring.repeat_window_days:g} days after a clear)"
    )
    if opened:
        repeat_count = sum(1 for _, r in opened if r)
        share = repeat_count / len(opened)
        repeat = _component(
            "repeat_faults",
            share,
            "share",
            0.0,
            "0 %",
            linear_points(share, 0.0, scoring.repeat_share_zero),
            rule,
            f"{repeat_count} of {len(opened)} opened faults repeat",
        )
    else:
        repeat = _component("repeat_faults", None, "share", None, "", 0.0, rule, "no fault opened in the period")

    items = [(d.building, d.device) for d in devices if d.kind == "equipment"]
    found = availability(episodes, items, start_s, as_of_s)
    rule = (
        f"≥ {scoring.availability_target:.0%}: full (设备完好率, docs/standards.md#outsourced-services); "
        f"≤ {scoring.availability_zero:.0%}: 0; linear between"
    )
    if found is not None:
        note = f"{found.items} equipment items, {found.items_with_downtime} with faults, {found.downtime_h:.1f} h down in all"
        avail = _component(
            "availability",
            found.share,
            "share",
            scoring.availability_target,
            f"≥ {scoring.availability_target:.0%}",
            linear_points(found.share, scoring.availability_target, scoring.availability_zero),
            rule,
            note,
        )
    else:
        avail = _component("availability", None, "share", None, "", 0.0, rule, "the vendor maintains no equipment")

    rule = (
        f"≥ {scoring.ieq_target:.0%}: full; ≤ {scoring.ieq_zero:.0%}: 0; "
        f"GB/T 18883 temperature, RH by season, CO₂ ≤ {GBT18883_CO2_MAX_PPM:g} ppm (hourly means)"
    )
    if ieq is not None and ieq.share is not None:
        note = f"{ieq.compliant_hours} of {ieq.occupied_hours} occupied sensor-hours in band"
        ieq_score = _component(
            "ieq",
            ieq.share,
            "share",
            scoring.ieq_target,
            f"≥ {scoring.ieq_target:.0%}",
            linear_points(ieq.share, scoring.ieq_target, scoring.ieq_zero),
            rule,
            note,
        )
    else:
        why = "the vendor does not cover indoor_environment" if ieq is None else "no IEQ readings in occupied hours"
        ieq_score = _component("ieq", None, "share", None, "", 0.0, rule, why)

    rule = f"≥ {scoring.completeness_target:.0%}: full; ≤ {scoring.completeness_zero:.0%}: 0; linear between"
    if completeness is not None:
        note = f"mean over {completeness.devices} devices (" + ", ".join(f"{k} {v:.1%}" for k, v in completeness.by_kind.items()) + ")"
        note += f"; {completeness.note}" if completeness.note else ""
        data = _component(
            "completeness",
            completeness.share,
            "share",
            scoring.completeness_target,
            f"≥ {scoring.completeness_target:.0%}",
            linear_points(completeness.share, scoring.completeness_target, scoring.completeness_zero),
            rule,
            note,
        )
    else:
        data = _component("completeness", None, "share", None, "", 0.0, rule, "no maintained device with a data source")

    rule = (
        f"≥ {scoring.onsite_timeliness_target:.0%}: full; ≤ {scoring.onsite_timeliness_zero:.0%}: 0; linear between "
        "(arrivals within the SLA onsite_min, from the work orders)"
    )
    if onsite:
        late = sum(1 for o in onsite if o.breached)
        share = 1.0 - late / len(onsite)
        waiting = sum(1 for o in onsite if o.onsite_min is None)
        note = f"{len(onsite) - late} of {len(onsite)} on site in time" + (
            f"; {waiting} past the limit with nobody on site" if waiting else ""
        )
        timeliness = _component(
            "onsite_timeliness",
            share,
            "share",
            scoring.onsite_timeliness_target,
            f"≥ {scoring.onsite_timeliness_target:.0%}",
            linear_points(share, scoring.onsite_timeliness_target, scoring.onsite_timeliness_zero),
            rule,
            note,
        )
    else:
        timeliness = _component(
            "onsite_timeliness", None, "share", None, "", 0.0, rule, "no work order reached its on-site time in the period"
        )

    rule = (
        f"≥ {scoring.satisfaction_target:.0%} of return visits rated 4-5: full; ≤ {scoring.satisfaction_zero:.0%}: 0; "
        f"at least {scoring.satisfaction_min_visits} visits"
    )
    if len(ratings) >= scoring.satisfaction_min_visits:
        satisfied = sum(1 for r in ratings if r >= 4)
        share = satisfied / len(ratings)
        satisfaction = _component(
            "satisfaction",
            share,
            "share",
            scoring.satisfaction_target,
            f"≥ {scoring.satisfaction_target:.0%}",
            linear_points(share, scoring.satisfaction_target, scoring.satisfaction_zero),
            rule,
            f"{satisfied} of {len(ratings)} return visits satisfied (mean {np.mean(ratings):.1f} of 5)",
        )
    else:
        why = "no return visit in the period" if not ratings else f"only {len(ratings)} return visit(s): too few to judge"
        satisfaction = _component("satisfaction", None, "share", None, "", 0.0, rule, why)

    weighed, score, explanation = weigh(
        [compliance, restore, timeliness, fault_rate, repeat, avail, ieq_score, data, satisfaction], scoring.weights
    )
    months: dict[str, dict[Severity, int]] = {}
    for outcome in breached:
        month = months.setdefault(_month(outcome.decided_s, zone), {})
        month[outcome.episode.severity] = month.get(outcome.episode.severity, 0) + 1
    deduction = contract_deduction(months, vendor.contract)
    return VendorScore(vendor.id, vendor.name, period.label, score, weighed, explanation, by_severity, outcomes, deduction, len(devices))


# ---------------------------------------------------------------------------------------------
# Reading from InfluxDB


def _epoch_s(when: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(when, time(0), zone).timestamp())


def read_fault_episodes(store: InfluxStore, since_s: int, until_s: int) -> list[Fault]:
    """Faults with any point in [since_s, until_s), and those already active at ``since_s`` (UTC s), their
    series checked and their severity a :class:`Severity`."""
    faults = read_faults(store, since_s, until_s)
    return [replace(f, severity=_checked_series(f.tags())) for f in faults]


def read_ieq_compliance(store: InfluxStore, site: Site, vendor_id: str, start_s: int, end_s: int) -> IeqCompliance | None:
    """GB/T 18883 compliance of the hourly means of every IEQ sensor in the buildings where the vendor
    covers indoor_environment; None when it covers none."""
    buildings = [b for b in site.buildings if site.covering_vendor(b.code, System.INDOOR_ENVIRONMENT) == vendor_id and b.ieq_sensors]
    if not buildings:
        return None
    compliant = occupied = 0
    for building in buildings:
        for block in ieq_hourly_means(store, building.code, start_s, end_s).values():
            found = ieq_compliance(
                block[:, 0].astype(np.int64),
                block[:, 1],
                block[:, 2],
                block[:, 3],
                building.working_hours,
                site.site.timezone,
                site.vendor_scoring,
            )
            compliant += found.compliant_hours
            occupied += found.occupied_hours
    return IeqCompliance(compliant, occupied)


def read_device_completeness(
    store: InfluxStore, site: Site, start_s: int, as_of_s: int
) -> tuple[dict[tuple[str, str], float], set[str], str]:
    """Completeness (0..1) per (building, device): equipment and IEQ sensors from their readings' count ÷
    expected (one per collection interval), meters from meter_daily (a meter-day without a row counts 0).
    Returns (completeness, kinds judged, note); meters are not judged when meter_daily is empty."""
    measured: dict[tuple[str, str], float] = {}
    elapsed_s = as_of_s - start_s
    expected_equipment = elapsed_s / site.collection.equipment_interval_s
    for device, count in readings_per_device(store, "equipment", start_s, as_of_s, "running").items():
        measured[device] = count / expected_equipment
    expected_ieq = elapsed_s / site.collection.ieq_interval_s
    for device, count in readings_per_device(store, "ieq", start_s, as_of_s).items():
        measured[device] = count / expected_ieq
    kinds = {"equipment", "ieq"}
    note = ""
    days = max(1, -(-elapsed_s // 86400))  # meter_daily has one row per local day begun
    daily = completeness_by_meter(store, start_s, as_of_s)
    if daily:
        for key, values in daily.items():
            total = 0.0
            for value in values:
                total += min(1.0, max(0.0, value))
            measured[key] = total / days
        kinds.add("meter")
    else:
        note = "meters not judged: meter_daily holds nothing for the period (run facmon analyze)"
    return measured, kinds, note


def score_vendors(store: InfluxStore, site: Site, period: Period, now: datetime | None = None) -> VendorScorecard:
    """Read the period's faults, IEQ and completeness and score every vendor of the site, ranked."""
    zone = site.site.tz
    now = now or datetime.now(UTC)
    start_s, end_s = _epoch_s(period.start, zone), _epoch_s(period.end, zone)
    as_of_s = min(end_s, int(now.timestamp()))
    if as_of_s <= start_s:
        raise VendorScoreError(f"period {period.label} has not started yet")
    lookback_s = int(site.vendor_scoring.repeat_window_days * 86400)
    episodes = read_fault_episodes(store, start_s - lookback_s, as_of_s)
    measured, kinds, note = read_device_completeness(store, site, start_s, as_of_s)
    scores = []
    for vendor in site.vendors:
        devices = maintained_devices(site, vendor.id)
        completeness = data_completeness(devices, measured, kinds)
        if completeness is not None and note and any(d.kind == "meter" for d in devices):
            completeness = replace(completeness, note=note)
        ieq = read_ieq_compliance(store, site, vendor.id, start_s, as_of_s)
        onsite = onsite_outcomes(store, vendor.id, start_s, as_of_s)
        ratings = return_visit_ratings(store, vendor.id, start_s, as_of_s)
        scores.append(score_vendor(site, vendor, period, as_of_s, episodes, ieq, completeness, onsite, ratings))
    weights = site.vendor_scoring.weights
    return VendorScorecard(
        site.site.name,
        period,
        datetime.fromtimestamp(as_of_s, zone),
        rank_vendors(scores),
        {n: getattr(weights, n) for n in VENDOR_SCORE_COMPONENTS},
    )


def score_vendor_lines(card: VendorScorecard, timezone: str) -> list[str]:
    """score_vendor points: tags vendor, period; time = the period's local start (a rerun overwrites);
    fields score, rank, deduction (CNY), deduction_uncapped, breaches, faults and faults_<severity>,
    and per component _points, _weight, _available, _value."""
    start_s = _epoch_s(card.period.start, ZoneInfo(timezone))
    lines = []
    for entry in card.vendors:
        if entry.score is None:
            continue
        point = ScoreVendor(
            vendor=entry.vendor,
            period=card.period.label,
            start_s=start_s,
            score=entry.score,
            rank=entry.rank,
            deduction_cny=entry.deduction.amount_cny,
            deduction_uncapped_cny=entry.deduction.uncapped_cny,
            breaches=entry.breaches,
            faults_by_severity=entry.faults_by_severity,
            components=[ScoreComponent(c.component, c.points, c.effective_weight, c.available, c.value) for c in entry.components],
        )
        lines.append(score_vendor_line(point))
    return lines


def write_vendor_scores(store: InfluxStore, card: VendorScorecard, timezone: str) -> int:
    """Write the scorecard's score_vendor points; returns how many."""
    lines = score_vendor_lines(card, timezone)
    store.write(lines)
    return len(lines)
