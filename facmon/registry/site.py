"""The root of the registry file (:class:`Site`), its ``site`` section (:class:`SiteInfo`), and the
cross-entry checks that pydantic cannot do field by field (unique ids, references between sections).

Validation happens in two passes: pydantic checks each entry's fields, then :meth:`Site.reference_problems`
checks what refers to what (unique ids, vendor references, coverage). :mod:`facmon.registry.loader`
reports both through :class:`~facmon.registry.loader.SiteFileError`, naming file, line, entry and field."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, field_validator

from facmon.registry.alerting import Alerting
from facmon.registry.anomalies import AnomalyReview
from facmon.registry.assessment import VendorAssessment
from facmon.registry.buildings import Building, Equipment, Meter, System
from facmon.registry.collection import Collection
from facmon.registry.common import Entry, require_quoted_code
from facmon.registry.detection import Detection
from facmon.registry.energy_factors import EnergyFactors
from facmon.registry.energy_targets import EnergyTargets
from facmon.registry.mqtt import NATIVE_NAME_PATTERNS, MqttTopics, filters_overlap
from facmon.registry.report_delivery import ReportDelivery
from facmon.registry.scoring import VendorScoring
from facmon.registry.tariffs import Tariffs
from facmon.registry.vendors import Coverage, Vendor
from facmon.registry.work_orders import WorkOrders
from facmon.standards import ClimateZone


class SiteInfo(Entry):
    """The site as a whole: the institution's office area, where it is and its local time."""

    name: str = Field(min_length=1, description="name of the site, e.g. the institution's office area; titles of reports and scorecards")
    timezone: str = Field(
        "Asia/Shanghai", description="IANA time zone of the site: working hours, days, months and local times in the registry are in it"
    )
    division_code: str = Field(
        description="6-digit administrative division code, GB/T 2260, of the county, city (ending 00) or province (ending 0000) "
        "the site covers; every building code starts with a county code inside it"
    )
    climate_zone: ClimateZone = Field(
        description="GB 50176 building climate zone: selects the GB/T 51161 benchmark values and the simulator's climate"
    )
    latitude_deg: float = Field(30.0, ge=-90, le=90, description="latitude, degrees north; the simulator's daylight hours")

    _check_code = field_validator("division_code", mode="before")(require_quoted_code)

    @field_validator("division_code")
    @classmethod
    def _six_digits(cls, code: str) -> str:
        if not re.fullmatch(r"\d{6}", code):
            raise ValueError(f"division_code {code!r} must be 6 digits (GB/T 2260), e.g. '320125'")
        return code

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {zone!r} is not an IANA time zone, e.g. 'Asia/Shanghai'") from None
        return zone

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def contains_division(self, code: str) -> bool:
        """Whether the 6-digit division ``code`` lies within the site's division (GB/T 2260: a province's
        code ends in 0000 and a city's in 00, so a province site holds all its counties' buildings)."""
        if self.division_code.endswith("0000"):
            return code[:2] == self.division_code[:2]
        if self.division_code.endswith("00"):
            return code[:4] == self.division_code[:4]
        return code == self.division_code


class Site(Entry):
    """A whole site: the root of the registry file."""

    site: SiteInfo = Field(description="the site as a whole: name, time zone, division code, climate zone")
    mqtt: MqttTopics = Field(default_factory=MqttTopics, description="MQTT topics the collector subscribes to")
    collection: Collection = Field(default_factory=Collection, description="reporting intervals and plausible reading times")
    vendors: list[Vendor] = Field(default_factory=list, description="outsourced vendors with their SLA, contacts and contract terms")
    coverage: list[Coverage] = Field(default_factory=list, description="which vendor maintains which systems in which buildings")
    buildings: list[Building] = Field(min_length=1, description="the office buildings with their meters, sensors and equipment")
    energy_targets: EnergyTargets = Field(
        default_factory=EnergyTargets, description="conservation plan, GB/T 51161 comparison and energy-score rules"
    )
    energy_factors: EnergyFactors = Field(default_factory=EnergyFactors, description="kgce and CO₂ conversion factors")
    tariffs: Tariffs = Field(default_factory=Tariffs, description="the prices that put a CNY figure on energy faults wasted")
    alerting: Alerting = Field(default_factory=Alerting, description="the energy office's contacts and maintenance windows")
    vendor_scoring: VendorScoring = Field(default_factory=VendorScoring, description="vendor maintenance-quality score rules")
    detection: Detection = Field(default_factory=Detection, description="fault detector thresholds and fault severities")
    anomalies: AnomalyReview = Field(default_factory=AnomalyReview, description="the weekly anomaly review")
    vendor_assessment: VendorAssessment = Field(
        default_factory=VendorAssessment,
        description="the combined vendor assessment (综合考核): weights, grades, inspection checklists, survey questions",
    )
    work_orders: WorkOrders = Field(default_factory=WorkOrders, description="the work-order service: address, deep links, repair requests")
    report_delivery: ReportDelivery = Field(default_factory=ReportDelivery, description="reports sent on a set day: mail, WeCom, DingTalk")

    _buildings: dict[str, Building] = PrivateAttr(default_factory=dict)
    _vendors: dict[str, Vendor] = PrivateAttr(default_factory=dict)
    # codes of the registry's buildings left out of this load (another shard's): references to them stand
    _elsewhere: frozenset[str] = PrivateAttr(default_factory=frozenset)

    def model_post_init(self, __context: Any) -> None:
        self._buildings = {b.code: b for b in self.buildings}
        self._vendors = {v.id: v for v in self.vendors}

    def building(self, code: str) -> Building | None:
        return self._buildings.get(code)

    @property
    def buildings_elsewhere(self) -> frozenset[str]:
        """Codes of the registry's buildings this load left out (``load_site(path, buildings=...)``, a shard
        worker's site): read, not validated; ``buildings`` holds the rest."""
        return self._elsewhere

    def _registered(self, code: str) -> bool:
        return code in self._buildings or code in self._elsewhere

    def vendor(self, vendor_id: str) -> Vendor | None:
        return self._vendors.get(vendor_id)

    def covering_vendor(self, building: str, system: System) -> str | None:
        """Id of the vendor whose coverage includes this building's system, or None."""
        for entry in self.coverage:
            if system in entry.systems and (entry.buildings == "all" or building in entry.buildings):
                return entry.vendor
        return None

    def equipment_vendor(self, building: str, equipment: Equipment) -> str | None:
        """The vendor maintaining a piece of equipment: its own ``vendor`` or the covering one."""
        return equipment.vendor or self.covering_vendor(building, equipment.maintained_system)

    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Cross-entry problems as (location, message); empty when the registry is consistent."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen_vendors: set[str] = set()
        for i, vendor in enumerate(self.vendors):
            if vendor.id in seen_vendors:
                problems.append((("vendors", i, "id"), f"vendor id {vendor.id!r} is used twice"))
            seen_vendors.add(vendor.id)

        seen_buildings: set[str] = set()
        for b, building in enumerate(self.buildings):
            where = ("buildings", b)
            if building.code in seen_buildings:
                problems.append(((*where, "code"), f"building code {building.code!r} is used twice"))
            seen_buildings.add(building.code)
            if not self.site.contains_division(building.division_code):
                problems.append(
                    (
                        (*where, "code"),
                        f"building code {building.code!r} is not in the site's division {self.site.division_code!r}: "
                        "it must start with that county's code (or a county's of that city or province)",
                    )
                )
            seen_devices: dict[str, str] = {}
            for group in ("meters", "ieq_sensors", "weather_sensors", "equipment"):
                for d, device in enumerate(getattr(building, group)):
                    if device.id in seen_devices:
                        problems.append(
                            (
                                (*where, group, d, "id"),
                                f"device id {device.id!r} is already used by {seen_devices[device.id]} in this building",
                            )
                        )
                    else:
                        seen_devices[device.id] = group.rstrip("s")
            meter_ids = {m.id for m in building.meters}
            for e, equipment in enumerate(building.equipment):
                if equipment.vendor is not None and equipment.vendor not in self._vendors:
                    problems.append(((*where, "equipment", e, "vendor"), f"vendor {equipment.vendor!r} is not in vendors"))
                elif self.equipment_vendor(building.code, equipment) is None:
                    problems.append(
                        (
                            (*where, "equipment", e),
                            f"no vendor maintains system {equipment.maintained_system.value!r} in building {building.code}: "
                            "add it to a vendor's coverage or give the equipment a vendor",
                        )
                    )
                if equipment.meter is not None and equipment.meter not in meter_ids:
                    problems.append(((*where, "equipment", e, "meter"), f"meter {equipment.meter!r} is not a meter of this building"))

        claimed: dict[tuple[str, System], str] = {}
        for c, entry in enumerate(self.coverage):
            if entry.vendor not in self._vendors:
                problems.append((("coverage", c, "vendor"), f"vendor {entry.vendor!r} is not in vendors"))
            codes = list(self._buildings) if entry.buildings == "all" else entry.buildings
            for code in codes:
                if code not in self._buildings:
                    if not self._registered(code):
                        problems.append((("coverage", c, "buildings"), f"building {code!r} is not in buildings"))
                    continue
                for system in entry.systems:
                    other = claimed.get((code, system))
                    if other is not None and other != entry.vendor:
                        problems.append(
                            (
                                ("coverage", c, "systems"),
                                f"system {system.value!r} of building {code} is already covered by vendor {other!r}",
                            )
                        )
                    claimed[(code, system)] = entry.vendor
        problems += self._decoder_problems()
        problems += self._energy_target_problems()
        problems += self._alerting_problems()
        problems += self._assessment_problems()
        return problems

    def _assessment_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Contract terms name grades of vendor_assessment.grades."""
        grades = {g.id for g in self.vendor_assessment.grades}
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for v, vendor in enumerate(self.vendors):
            for grade in vendor.contract.assessment_deduction_percent:
                if grade not in grades:
                    problems.append(
                        (
                            ("vendors", v, "contract", "assessment_deduction_percent"),
                            f"grade {grade!r} is not in vendor_assessment.grades ({', '.join(sorted(grades))})",
                        )
                    )
        return problems

    def _alerting_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """alerting.maintenance_windows: unique names; vendors and buildings of this site."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen: set[str] = set()
        for w, window in enumerate(self.alerting.maintenance_windows):
            where = ("alerting", "maintenance_windows", w)
            if window.name in seen:
                problems.append(((*where, "name"), f"maintenance window name {window.name!r} is used twice"))
            seen.add(window.name)
            for vendor in [] if window.vendors == "all" else window.vendors:
                if vendor not in self._vendors:
                    problems.append(((*where, "vendors"), f"vendor {vendor!r} is not in vendors"))
            for code in [] if window.buildings == "all" else window.buildings:
                if not self._registered(code):
                    problems.append(((*where, "buildings"), f"building {code!r} is not in buildings"))
        return problems

    def _energy_target_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """energy_targets: per-building entries name buildings of this site."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for where, codes in (
            (("energy_targets", "plan", "base_values"), self.energy_targets.plan.base_values),
            (("energy_targets", "gbt51161", "use_hours_h"), self.energy_targets.gbt51161.use_hours_h),
        ):
            for code in codes:
                if not self._registered(code):
                    problems.append(((*where, code), f"building {code!r} is not in buildings"))
        return problems

    def _decoder_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """mqtt.decoders: buildings and meters exist, device names fit the format, every meter has at
        most one device, and no topic filter overlaps facmon's own or another entry's."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        own = f"{self.mqtt.topic_prefix}/#"
        fed: dict[tuple[str, str], tuple[int, str]] = {}
        for i, entry in enumerate(self.mqtt.decoders):
            where = ("mqtt", "decoders", i)
            if filters_overlap(entry.topic, own):
                problems.append(
                    (
                        (*where, "topic"),
                        f"topic {entry.topic!r} overlaps {own}, facmon's own JSON convention; give these devices other topics",
                    )
                )
            for j, other in enumerate(self.mqtt.decoders[:i]):
                if filters_overlap(entry.topic, other.topic):
                    problems.append(
                        (
                            (*where, "topic"),
                            f"topic {entry.topic!r} overlaps mqtt.decoders[{j}] topic {other.topic!r}: a message could match both",
                        )
                    )
            building = self._buildings.get(entry.building)
            if building is None and entry.building not in self._elsewhere:
                problems.append(((*where, "building"), f"building {entry.building!r} is not in buildings"))
            pattern, expected = NATIVE_NAME_PATTERNS[entry.format]
            for native, meter_id in entry.devices.items():
                at = (*where, "devices", native)
                if not pattern.match(native):
                    problems.append((at, f"{native!r} is not a {entry.format.value} device name; expected {expected}"))
                if building is None:
                    continue
                device = building.device(meter_id)
                if device is None:
                    problems.append((at, f"meter {meter_id!r} is not a meter of building {building.code}"))
                elif not isinstance(device, Meter):
                    problems.append(
                        (
                            at,
                            f"{meter_id!r} is not a meter of building {building.code}; "
                            f"{entry.format.value} devices feed electricity meters",
                        )
                    )
                elif device.unit != "kWh":
                    problems.append(
                        (at, f"meter {meter_id!r} measures {device.unit}; {entry.format.value} devices report electricity in kWh")
                    )
                elif device.multiplier != 1.0:
                    problems.append(
                        (
                            at,
                            f"meter {meter_id!r} has multiplier {device.multiplier:g}; "
                            f"{entry.format.value} devices report energy already scaled, set multiplier: 1",
                        )
                    )
                else:
                    previous = fed.get((building.code, meter_id))
                    if previous is not None:
                        problems.append(
                            (
                                at,
                                f"meter {meter_id!r} of building {building.code} is already fed by {previous[1]!r} "
                                f"(mqtt.decoders[{previous[0]}]); one device per meter",
                            )
                        )
                    else:
                        fed[(building.code, meter_id)] = (i, native)
        return problems
