"""Outsourced vendors, their contracts (SLA response times, deductions) and where alerts reach them, and
which vendor maintains which systems in which buildings (registry sections ``vendors`` and ``coverage``)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from facmon.registry.buildings import System
from facmon.registry.common import Entry, Identifier
from facmon.standards import Severity


class SlaTerm(Entry):
    """Response times a vendor's contract promises for one severity."""

    onsite_min: float = Field(gt=0, description="minutes from report to technician on site")
    restore_min: float = Field(gt=0, description="minutes from fault start to service restored")

    @model_validator(mode="after")
    def _onsite_first(self) -> SlaTerm:
        if self.onsite_min > self.restore_min:
            raise ValueError(f"onsite_min {self.onsite_min} cannot exceed restore_min {self.restore_min}")
        return self


class Contact(Entry):
    """Where alerts go: one contact of a vendor, or of the energy office (``alerting.energy_office``)."""

    kind: Literal["webhook", "email", "dingding", "wecom"] = Field(
        description="how alerts are sent: a JSON POST to a webhook, an email, a DingTalk (钉钉) or WeCom (企业微信) group robot"
    )
    name: str | None = Field(None, description="who this reaches, e.g. the duty desk; for people, not sent")
    url: str | None = Field(None, description="http(s) URL of the webhook or robot; required for every kind but email")
    address: str | None = Field(None, description="email address; required for kind email")
    phone: str | None = Field(None, description="phone number for people reading the registry; facmon does not call it")

    @model_validator(mode="after")
    def _target_present(self) -> Contact:
        if self.kind == "email":
            if not self.address or "@" not in self.address:
                raise ValueError("an email contact needs address: someone@example.org")
        elif not self.url or not re.match(r"^https?://", self.url):
            raise ValueError(f"a {self.kind} contact needs url: http(s)://...")
        return self


class Service(StrEnum):
    """Outsourced services bought by government offices (docs/standards.md#outsourced-services)."""

    SECURITY = "security"
    BUILDING_UPKEEP = "building_upkeep"
    EQUIPMENT_MAINTENANCE = "equipment_maintenance"
    HVAC_MAINTENANCE = "hvac_maintenance"
    ELEVATOR_MAINTENANCE = "elevator_maintenance"
    CLEANING = "cleaning"
    GREENING = "greening"
    RECEPTION = "reception"
    VEHICLES = "vehicles"
    CANTEEN = "canteen"
    ENERGY_METERING = "energy_metering"


class ContractTerms(Entry):
    """The money side of a vendor's contract: deductions for SLA breaches (vendor maintenance-quality score).

    A breach (a fault not restored within its severity's ``restore_min``) costs
    ``deduction_per_breach_cny[severity]`` yuan, or ``deduction_per_breach_percent[severity]`` % of
    ``monthly_fee_cny``; a month's deductions are capped at ``cap_percent`` % of the monthly fee. Without
    terms nothing is deducted (the score still counts breaches)."""

    monthly_fee_cny: float | None = Field(None, gt=0, description="contract fee per month, CNY")
    deduction_per_breach_cny: dict[Severity, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="CNY per breach, by severity"
    )
    deduction_per_breach_percent: dict[Severity, Annotated[float, Field(ge=0, le=100)]] = Field(
        default_factory=dict, description="percent of the monthly fee per breach, by severity"
    )
    cap_percent: float | None = Field(None, gt=0, le=100, description="a month's deductions at most this percent of the monthly fee")
    reference: str | None = Field(None, description="where the terms come from, e.g. the contract number and clause")
    assessment_deduction_percent: dict[Identifier, Annotated[float, Field(ge=0, le=100)]] = Field(
        default_factory=dict,
        description="combined assessment (vendor_assessment): percent of the fee for the assessed period deducted for a grade, "
        "by grade id, e.g. {fail: 5}; needs monthly_fee_cny",
    )
    not_renew_after_failing_periods: int | None = Field(
        3,
        ge=1,
        description="combined assessment: after this many failing periods in a row (months with months, quarters with quarters) "
        "facmon recommends not renewing the contract; none: never",
    )
    sla_clock: Literal["continuous", "working_days"] = Field(
        "continuous",
        description="how the SLA minutes are counted: continuous (nights, weekends and holidays included), or working_days when "
        "the contract stops the clocks on days off (weekends and public holidays of the Chinese calendar; 调休 working weekends count)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ContractTerms:
        both = sorted(s.value for s in set(self.deduction_per_breach_cny) & set(self.deduction_per_breach_percent))
        if both:
            raise ValueError(f"severity {', '.join(both)} has both deduction_per_breach_cny and deduction_per_breach_percent; give one")
        if self.monthly_fee_cny is None and (self.deduction_per_breach_percent or self.cap_percent is not None):
            raise ValueError("deduction_per_breach_percent and cap_percent need monthly_fee_cny")
        if self.monthly_fee_cny is None and self.assessment_deduction_percent:
            raise ValueError("assessment_deduction_percent needs monthly_fee_cny")
        return self


class Vendor(Entry):
    """An outsourced property or maintenance company and its service-level agreement."""

    id: Identifier = Field(description="vendor id: the vendor tag of faults and scores, referred to by coverage and equipment")
    name: str = Field(min_length=1, description="company name shown on scorecards and alerts")
    services: list[Service] = Field(min_length=1, description="outsourced services the contract buys")
    contacts: list[Contact] = Field(min_length=1, description="where the vendor's fault alerts go; every contact gets every alert")
    sla: dict[Severity, SlaTerm] = Field(description="response times per severity; every severity (critical, major, minor) is required")
    contract: ContractTerms = Field(default_factory=ContractTerms, description="deductions for SLA breaches (optional)")

    @field_validator("sla")
    @classmethod
    def _every_severity(cls, sla: dict[Severity, SlaTerm]) -> dict[Severity, SlaTerm]:
        missing = [s.value for s in Severity if s not in sla]
        if missing:
            raise ValueError(f"sla needs terms for every severity; missing {', '.join(missing)}")
        return sla


class Coverage(Entry):
    """Which vendor maintains which systems in which buildings."""

    vendor: Identifier = Field(description="id of a vendor in vendors")
    buildings: list[str] | Literal["all"] = Field("all", description="building codes covered, or all")
    systems: list[System] = Field(
        min_length=1, description="building systems the vendor maintains there; one vendor per system and building"
    )
