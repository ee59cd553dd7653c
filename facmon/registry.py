"""The site registry: one YAML file describing a site's buildings, meters, sensors, equipment and vendors.

Everything in facmon reads the site through :func:`load_site`. Validation happens in two passes:
pydantic checks each entry's fields, then :meth:`Site.reference_problems` checks what refers to what
(unique ids, vendor references, coverage). Both report through :class:`SiteFileError`, which names
the file, the line, the entry and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from facmon.errors import FacmonError
from facmon.standards import (
    BUILDING_CODE,
    ENERGY_CATEGORIES,
    ClimateZone,
    OfficeHvacClass,
    OfficeUse,
    Severity,
    subitem_codes,
)

# Ids become MQTT topic levels and InfluxDB tag values: no '/', '+', '#', spaces or quotes.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _quoted_code(value: Any) -> Any:
    # YAML reads 01 as the integer 1 and 320125 as an integer: codes must be quoted strings.
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"write codes as quoted strings, e.g. '{value:02d}' (YAML read {value} as a number)")
    return value


class WorkingHours(_Entry):
    """Office hours on working days, local time of the site."""

    start: time = time(8, 30)
    end: time = time(17, 30)

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError(f"start {self.start:%H:%M} must be before end {self.end:%H:%M}")
        return self

    @property
    def hours_per_day(self) -> float:
        return (self.end.hour * 60 + self.end.minute - self.start.hour * 60 - self.start.minute) / 60


class Meter(_Entry):
    """An energy or water meter. Devices publish the raw register; the collector applies ``multiplier``."""

    id: Identifier
    energy: str = Field(description="energy category code 01..13 (导则)")
    subitem: str = Field(description="5-character category/sub-item code, e.g. 01A10; <cc>000 for a whole category")
    unit: str
    cumulative: bool = Field(True, description="the register counts up; False for a meter reporting interval amounts")
    multiplier: float = Field(1.0, gt=0, description="CT/PT ratio applied to the raw register")
    rollover: float = Field(99_999_999.0, gt=0, description="raw register value at which the register wraps to 0")
    rated_power_kw: float | None = Field(None, gt=0, description="rated power of the metered circuit, kW")

    _check_codes = field_validator("energy", "subitem", mode="before")(_quoted_code)

    @model_validator(mode="after")
    def _consistent(self) -> Meter:
        if self.energy not in ENERGY_CATEGORIES:
            raise ValueError(f"energy {self.energy!r} is not a category code 01..13")
        allowed = subitem_codes(self.energy)
        if self.subitem not in allowed:
            shown = ", ".join(sorted(allowed)) if len(allowed) < 4 else "01000, 01A10, 01B20, ... (导则 sub-items)"
            raise ValueError(f"subitem {self.subitem!r} is not a sub-item of energy {self.energy}; expected one of {shown}")
        expected_unit = ENERGY_CATEGORIES[self.energy][1]
        if self.unit != expected_unit:
            raise ValueError(f"unit {self.unit!r} does not fit energy {self.energy}; expected {expected_unit!r}")
        if self.energy == "01" and self.rated_power_kw is None:
            raise ValueError("rated_power_kw is required for electricity meters (it bounds plausible consumption)")
        return self


class IeqQuantity(StrEnum):
    """Indoor environment quantities and the units their readings carry."""

    TEMPERATURE = "temperature"  # °C
    HUMIDITY = "humidity"  # % RH
    CO2 = "co2"  # ppm
    PM25 = "pm25"  # µg/m³
    PM10 = "pm10"  # µg/m³
    TVOC = "tvoc"  # mg/m³
    HCHO = "hcho"  # mg/m³ formaldehyde


class IeqSensor(_Entry):
    """An indoor environment sensor serving one zone (usually a floor)."""

    id: Identifier
    zone: Identifier
    floor: int | None = None
    quantities: list[IeqQuantity] = Field(min_length=1)


class WeatherQuantity(StrEnum):
    TEMPERATURE = "temperature"  # °C
    HUMIDITY = "humidity"  # % RH


class WeatherSensor(_Entry):
    """An outdoor weather sensor on the building."""

    id: Identifier
    quantities: list[WeatherQuantity] = Field(default_factory=lambda: [WeatherQuantity.TEMPERATURE, WeatherQuantity.HUMIDITY], min_length=1)


class System(StrEnum):
    """Building systems that maintenance contracts are written for."""

    HVAC = "hvac"
    ELEVATOR = "elevator"
    WATER_SUPPLY = "water_supply"
    ELECTRICAL = "electrical"
    LIGHTING = "lighting"
    VENTILATION = "ventilation"
    KITCHEN = "kitchen"
    IT = "it"
    INDOOR_ENVIRONMENT = "indoor_environment"


class EquipmentType(StrEnum):
    CHILLER = "chiller"
    HEAT_PUMP = "heat_pump"
    BOILER = "boiler"
    COOLING_TOWER = "cooling_tower"
    AHU = "ahu"
    FRESH_AIR_UNIT = "fresh_air_unit"
    FAN_COIL = "fan_coil"
    SPLIT_AC = "split_ac"
    PUMP = "pump"
    ELEVATOR = "elevator"
    ESCALATOR = "escalator"
    LIGHTING_CIRCUIT = "lighting_circuit"
    VENTILATION_FAN = "ventilation_fan"
    WATER_HEATER = "water_heater"
    TRANSFORMER = "transformer"
    UPS = "ups"
    KITCHEN_APPLIANCE = "kitchen_appliance"


DEFAULT_SYSTEM: dict[EquipmentType, System] = {
    EquipmentType.CHILLER: System.HVAC,
    EquipmentType.HEAT_PUMP: System.HVAC,
    EquipmentType.BOILER: System.HVAC,
    EquipmentType.COOLING_TOWER: System.HVAC,
    EquipmentType.AHU: System.HVAC,
    EquipmentType.FRESH_AIR_UNIT: System.HVAC,
    EquipmentType.FAN_COIL: System.HVAC,
    EquipmentType.SPLIT_AC: System.HVAC,
    EquipmentType.PUMP: System.WATER_SUPPLY,  # chilled/hot-water pumps say system: hvac
    EquipmentType.ELEVATOR: System.ELEVATOR,
    EquipmentType.ESCALATOR: System.ELEVATOR,
    EquipmentType.LIGHTING_CIRCUIT: System.LIGHTING,
    EquipmentType.VENTILATION_FAN: System.VENTILATION,
    EquipmentType.WATER_HEATER: System.WATER_SUPPLY,
    EquipmentType.TRANSFORMER: System.ELECTRICAL,
    EquipmentType.UPS: System.IT,
    EquipmentType.KITCHEN_APPLIANCE: System.KITCHEN,
}


class Equipment(_Entry):
    """A maintained piece of equipment. Its vendor is explicit here or follows from ``coverage``."""

    id: Identifier
    type: EquipmentType
    system: System | None = Field(None, description="defaults from the type, e.g. chiller -> hvac")
    vendor: Identifier | None = Field(None, description="overrides the vendor that coverage assigns")
    rated_power_kw: float | None = Field(None, gt=0)
    meter: Identifier | None = Field(None, description="id of the meter measuring this equipment, if any")

    @property
    def maintained_system(self) -> System:
        return self.system or DEFAULT_SYSTEM[self.type]


class Building(_Entry):
    """An office building with its meters, sensors and equipment."""

    code: str = Field(description="10-character building code per the 导则, e.g. 320125A001")
    name: str = Field(min_length=1)
    floor_area_m2: float = Field(gt=0, description="建筑面积, m²")
    energy_users: int = Field(gt=0, description="用能人数, persons")
    floors: int = Field(1, ge=1, le=200)
    office_class: OfficeHvacClass = Field(description="GB/T 51161 class A (split AC) or B (central HVAC)")
    office_use: OfficeUse = Field(description="GB/T 51161 党政机关 (government) or 商业办公 (commercial)")
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    canteen: bool = Field(False, description="serves meals (kitchen loads, gas, water)")
    meters: list[Meter] = Field(default_factory=list)
    ieq_sensors: list[IeqSensor] = Field(default_factory=list)
    weather_sensors: list[WeatherSensor] = Field(
        default_factory=list, max_length=1, description="at most one: weather points are tagged by building only"
    )
    equipment: list[Equipment] = Field(default_factory=list)

    _check_code = field_validator("code", mode="before")(_quoted_code)
    _devices: dict[str, Meter | IeqSensor | WeatherSensor | Equipment] = PrivateAttr(default_factory=dict)

    @field_validator("code")
    @classmethod
    def _code_format(cls, code: str) -> str:
        if not BUILDING_CODE.match(code):
            raise ValueError(f"building code {code!r} must be 6 digits of the division code + type letter A-H + 3 digits, e.g. 320125A001")
        return code

    def model_post_init(self, __context: Any) -> None:
        for device in self.all_devices():
            self._devices.setdefault(device.id, device)

    def all_devices(self) -> Iterator[Meter | IeqSensor | WeatherSensor | Equipment]:
        yield from self.meters
        yield from self.ieq_sensors
        yield from self.weather_sensors
        yield from self.equipment

    def device(self, device_id: str) -> Meter | IeqSensor | WeatherSensor | Equipment | None:
        """The device with this id in this building, or None."""
        return self._devices.get(device_id)

    @property
    def division_code(self) -> str:
        return self.code[:6]


class SlaTerm(_Entry):
    """Response times a vendor's contract promises for one severity."""

    onsite_min: float = Field(gt=0, description="minutes from report to technician on site")
    restore_min: float = Field(gt=0, description="minutes from fault start to service restored")

    @model_validator(mode="after")
    def _onsite_first(self) -> SlaTerm:
        if self.onsite_min > self.restore_min:
            raise ValueError(f"onsite_min {self.onsite_min} cannot exceed restore_min {self.restore_min}")
        return self


class Contact(_Entry):
    """Where a vendor's alerts go."""

    kind: Literal["webhook", "email", "dingding", "wecom"]
    name: str | None = None
    url: str | None = None
    address: str | None = None
    phone: str | None = None

    @model_validator(mode="after")
    def _target_present(self) -> Contact:
        if self.kind == "email":
            if not self.address or "@" not in self.address:
                raise ValueError("an email contact needs address: someone@example.org")
        elif not self.url or not re.match(r"^https?://", self.url):
            raise ValueError(f"a {self.kind} contact needs url: http(s)://...")
        return self


class Service(StrEnum):
    """Outsourced services bought by government offices (FACTS §6)."""

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


class ContractTerms(_Entry):
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

    @model_validator(mode="after")
    def _consistent(self) -> ContractTerms:
        both = sorted(s.value for s in set(self.deduction_per_breach_cny) & set(self.deduction_per_breach_percent))
        if both:
            raise ValueError(f"severity {', '.join(both)} has both deduction_per_breach_cny and deduction_per_breach_percent; give one")
        if self.monthly_fee_cny is None and (self.deduction_per_breach_percent or self.cap_percent is not None):
            raise ValueError("deduction_per_breach_percent and cap_percent need monthly_fee_cny")
        return self


class Vendor(_Entry):
    """An outsourced property or maintenance company and its service-level agreement."""

    id: Identifier
    name: str = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    contacts: list[Contact] = Field(min_length=1)
    sla: dict[Severity, SlaTerm]
    contract: ContractTerms = Field(default_factory=ContractTerms, description="deductions for SLA breaches (optional)")

    @field_validator("sla")
    @classmethod
    def _every_severity(cls, sla: dict[Severity, SlaTerm]) -> dict[Severity, SlaTerm]:
        missing = [s.value for s in Severity if s not in sla]
        if missing:
            raise ValueError(f"sla needs terms for every severity; missing {', '.join(missing)}")
        return sla


class Coverage(_Entry):
    """Which vendor maintains which systems in which buildings."""

    vendor: Identifier
    buildings: list[str] | Literal["all"] = "all"
    systems: list[System] = Field(min_length=1)


class SiteInfo(_Entry):
    name: str = Field(min_length=1)
    timezone: str = "Asia/Shanghai"
    division_code: str = Field(description="6-digit administrative division code, GB/T 2260")
    climate_zone: ClimateZone
    latitude_deg: float = Field(30.0, ge=-90, le=90)

    _check_code = field_validator("division_code", mode="before")(_quoted_code)

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


def mqtt_filter_problem(topic_filter: str) -> str | None:
    """Why ``topic_filter`` cannot be subscribed to as a plain MQTT topic filter, or None when it can.

    ``$``-topics (``$SYS``, ``$share/...``) are refused: shared subscriptions are the collector's
    business, not the registry's."""
    if not topic_filter:
        return "an MQTT topic filter cannot be empty"
    if len(topic_filter.encode("utf-8", errors="surrogatepass")) > 65535:
        return "an MQTT topic filter is at most 65535 bytes"
    if "\x00" in topic_filter:
        return "an MQTT topic filter cannot contain the NUL character"
    if topic_filter.startswith("$"):
        return f"topic {topic_filter!r} starts with '$' (broker topics such as $SYS and $share/... are not device topics)"
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return f"topic {topic_filter!r}: '#' must be a whole level and the last one, e.g. shellies/#"
        if "+" in level and level != "+":
            return f"topic {topic_filter!r}: '+' must be a whole level, e.g. tele/+/SENSOR"
    return None


def filters_overlap(first: str, second: str) -> bool:
    """True when some topic matches both MQTT topic filters (``+`` one level, ``#`` the rest, even nothing)."""
    a, b = first.split("/"), second.split("/")
    for index in range(max(len(a), len(b)) + 1):
        if (index < len(a) and a[index] == "#") or (index < len(b) and b[index] == "#"):
            return True
        if index == len(a) or index == len(b):
            return len(a) == len(b)
        if a[index] != "+" and b[index] != "+" and a[index] != b[index]:
            return False
    return False  # not reached


class DeviceFormat(StrEnum):
    """Device MQTT conventions the collector decodes besides facmon's own JSON (README: Device conventions)."""

    SHELLY_GEN2 = "shelly_gen2"  # <device>/status/<component> and <device>/events/rpc NotifyStatus
    TASMOTA = "tasmota"  # tele/<device>/SENSOR with an ENERGY object


# The metering components of Shelly Gen2+ devices a channel name may name (emdata:N and em1data:N
# are the energy counters of em:N and em1:N and feed the same meter).
SHELLY_CHANNEL_TYPES = ("switch", "cover", "light", "pm1", "em", "em1")
NATIVE_NAME_PATTERNS: dict[DeviceFormat, tuple[re.Pattern[str], str]] = {
    DeviceFormat.SHELLY_GEN2: (
        re.compile(r"^[^/+#:\s]+:(?:" + "|".join(SHELLY_CHANNEL_TYPES) + r"):(?:0|[1-9]\d{0,2})$"),
        "<device>:<component>:<id> with component " + ", ".join(SHELLY_CHANNEL_TYPES) + ", e.g. shellypro3em-c8f09e8a1b2c:em:0",
    ),
    DeviceFormat.TASMOTA: (
        re.compile(r"^[^/+#:\s]+(?::[1-9]\d{0,2})?$"),
        "<device topic>, or <device topic>:<channel 1..n> for a multi-channel device, e.g. tasmota_C59B5E or tasmota_DUALR3:2",
    ),
}


class DeviceDecoder(_Entry):
    """Messages of one device convention on one topic filter, all belonging to one building.

    ``devices`` maps each device's own name (its channel, for a multi-channel device) to the id of a
    meter of ``building``; a device not listed is rejected as ``unknown_device``."""

    format: DeviceFormat
    topic: str = Field(description="MQTT topic filter, e.g. 'shellies/341122A002/#' or 'tele/+/SENSOR'")
    building: str = Field(description="code of the building every device on this topic belongs to")
    devices: dict[str, Identifier] = Field(min_length=1, description="device's own name -> meter id of the building")

    _check_code = field_validator("building", mode="before")(_quoted_code)

    @field_validator("topic")
    @classmethod
    def _valid_filter(cls, topic: str) -> str:
        problem = mqtt_filter_problem(topic)
        if problem is not None:
            raise ValueError(problem)
        return topic


class MqttTopics(_Entry):
    topic_prefix: Identifier = "facmon"
    decoders: list[DeviceDecoder] = Field(default_factory=list, description="device conventions besides facmon JSON on <topic_prefix>/#")


class Collection(_Entry):
    """How often gateways report each kind of device, seconds, and which reading times are plausible."""

    meter_interval_s: int = Field(900, ge=1, le=86400)
    ieq_interval_s: int = Field(300, ge=1, le=86400)
    equipment_interval_s: int = Field(300, ge=1, le=86400)
    weather_interval_s: int = Field(300, ge=1, le=86400)
    # Readings stamped further ahead of the collector's clock are rejected (implausible_time): NTP-synced
    # gateways are seconds off; hours ahead is local time sent as UTC, a wrong date, or a unit error.
    max_future_s: int = Field(600, ge=0, le=86400, description="seconds a reading may be stamped ahead of now")
    # Readings older than this are rejected (implausible_time): covers a gateway buffering through a
    # month-long outage; older is an RTC reset or a wrong year. Raise it for a deliberate late import.
    max_age_days: float = Field(35.0, gt=0, le=3660, description="days a reading may be stamped before now")


# ---------------------------------------------------------------------------------------------
# Energy targets: conservation plan, GB/T 51161 correction parameters, energy-score weights.
# Defaults come from facmon/standards.py (FACTS §1, §2); every M/L number can be overridden here.

from facmon.standards import (  # noqa: E402  (kept beside the section that uses it)
    FYP14_BASE_YEAR,
    FYP14_NAME,
    FYP14_NATIONAL_BASE_VALUES,
    FYP14_REDUCTIONS,
    FYP14_SOURCE,
    FYP14_TARGET_YEAR,
    GBT51161_CORRECTION_SOURCE,
    GBT51161_OFFICE_EUI_KWH_M2,
    GBT51161_REFERENCE_AREA_PER_PERSON_M2,
    GBT51161_REFERENCE_USE_HOURS_H,
    GBT51161_SOURCE,
)

# Indicators a plan sets reduction targets for (analytics/indicators.py computes them per year).
PlanIndicator = Literal["kgce_per_m2", "kgce_per_person", "water_m3_per_person", "co2_kg_per_m2"]
# The energy-score components, in display order (analytics/energy_score.py).
SCORE_COMPONENTS = ("intensity", "plan", "savings", "after_hours", "completeness")
_BENCHMARK_KEY = re.compile(r"^(?P<office_class>[AB])/(?P<office_use>government|commercial)/(?P<climate_zone>[a-z_]+)$")


class EnergyPlan(_Entry):
    """A conservation plan: base year, target year and reductions per indicator (14th Five-Year plan by default).

    A building's base-year values are ``base_values[code]`` when given (numbers, or ``measured`` /
    ``national``), else ``default_base``: ``measured`` reads the base year from energy_daily;
    ``national`` uses ``national_base_values``; ``measured_else_national`` tries the first, then the second.
    """

    name: str = FYP14_NAME
    source: str = FYP14_SOURCE
    base_year: int = Field(FYP14_BASE_YEAR, ge=2000, le=2100)
    target_year: int = Field(FYP14_TARGET_YEAR, ge=2000, le=2100)
    reductions: dict[PlanIndicator, Annotated[float, Field(ge=0, lt=1)]] = Field(
        default_factory=lambda: dict(FYP14_REDUCTIONS), description="fraction below the base-year value by target_year, e.g. 0.05"
    )
    national_base_values: dict[PlanIndicator, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: dict(FYP14_NATIONAL_BASE_VALUES)
    )
    default_base: Literal["measured", "national", "measured_else_national"] = "measured_else_national"
    base_values: dict[str, dict[PlanIndicator, Annotated[float, Field(gt=0)]] | Literal["measured", "national"]] = Field(
        default_factory=dict, description="per building code: base-year values, or measured / national"
    )

    def required_reduction(self, indicator: str, year: int) -> float | None:
        """Fraction below the base-year value the plan requires of ``indicator`` by ``year``, on a straight
        path from the base year to the target year (the full reduction after it); None when the plan sets
        none for the indicator or ``year`` is not after the base year."""
        full = self.reductions.get(indicator)  # type: ignore[call-overload]
        if full is None or year <= self.base_year:
            return None
        return full * min(1.0, (year - self.base_year) / (self.target_year - self.base_year))

    @model_validator(mode="after")
    def _years_in_order(self) -> EnergyPlan:
        if self.target_year <= self.base_year:
            raise ValueError(f"target_year {self.target_year} must be after base_year {self.base_year}")
        return self


class EuiBenchmark(_Entry):
    """GB/T 51161 constraint and guide value of non-heating EUI, kWh/(m²·a)."""

    constraint_kwh_m2: float = Field(gt=0, description="约束值")
    guide_kwh_m2: float = Field(gt=0, description="引导值")

    @model_validator(mode="after")
    def _guide_below_constraint(self) -> EuiBenchmark:
        if self.guide_kwh_m2 > self.constraint_kwh_m2:
            raise ValueError(f"guide_kwh_m2 {self.guide_kwh_m2:g} cannot exceed constraint_kwh_m2 {self.constraint_kwh_m2:g}")
        return self


class Gbt51161Parameters(_Entry):
    """Parameters of the GB/T 51161 comparison: correction references, use hours, table overrides."""

    source: str = f"{GBT51161_SOURCE}; {GBT51161_CORRECTION_SOURCE}"
    reference_use_hours_h: float = Field(GBT51161_REFERENCE_USE_HOURS_H, gt=0, description="T₀, h/a")
    reference_area_per_person_m2: float = Field(GBT51161_REFERENCE_AREA_PER_PERSON_M2, gt=0, description="S₀, m²/person")
    use_hours_h: dict[str, Annotated[float, Field(gt=0, le=8784)]] = Field(
        default_factory=dict, description="per building code: annual use hours T; default working hours × working days of the year"
    )
    benchmarks: dict[str, EuiBenchmark] = Field(
        default_factory=dict, description="overrides of Table 5.2.1, keyed '<A|B>/<government|commercial>/<climate zone>'"
    )

    def benchmark(self, office_class: OfficeHvacClass, office_use: OfficeUse, climate_zone: ClimateZone) -> tuple[float, float, str]:
        """(constraint, guide) EUI in kWh/(m²·a) of a building class and climate zone, and where they come
        from: this registry's override, else GB/T 51161-2016 Table 5.2.1."""
        key = f"{office_class.value}/{office_use.value}/{climate_zone.value}"
        override = self.benchmarks.get(key)
        if override is not None:
            return override.constraint_kwh_m2, override.guide_kwh_m2, f"registry energy_targets.gbt51161.benchmarks[{key!r}]"
        constraint, guide = GBT51161_OFFICE_EUI_KWH_M2[(office_class, office_use, climate_zone)]
        return constraint, guide, GBT51161_SOURCE

    @field_validator("benchmarks")
    @classmethod
    def _benchmark_keys(cls, benchmarks: dict[str, EuiBenchmark]) -> dict[str, EuiBenchmark]:
        zones = {zone.value for zone in ClimateZone}
        for key in benchmarks:
            match = _BENCHMARK_KEY.match(key)
            if match is None or match["climate_zone"] not in zones:
                raise ValueError(
                    f"benchmark key {key!r} must look like 'B/government/hot_summer_cold_winter' (zones: {', '.join(sorted(zones))})"
                )
        return benchmarks


class ScoreWeights(_Entry):
    """Weights of the energy-score components; they must sum to 1."""

    intensity: float = Field(0.30, ge=0, le=1, description="corrected EUI against the GB/T 51161 guide and constraint values")
    plan: float = Field(0.25, ge=0, le=1, description="progress of kgce/m² against the plan's reduction for the year")
    savings: float = Field(0.20, ge=0, le=1, description="weather-normalised savings (IPMVP Option C)")
    after_hours: float = Field(0.15, ge=0, le=1, description="share of electricity used outside working hours and on rest days")
    completeness: float = Field(0.10, ge=0, le=1, description="share of expected meter intervals measured")

    @model_validator(mode="after")
    def _sum_to_one(self) -> ScoreWeights:
        total = sum(getattr(self, name) for name in SCORE_COMPONENTS)
        if abs(total - 1.0) > 1e-6:
            terms = " + ".join(f"{name} {getattr(self, name):g}" for name in SCORE_COMPONENTS)
            raise ValueError(f"score weights must sum to 1; {terms} = {total:g}")
        return self


class Scoring(_Entry):
    """How each energy-score component turns its value into points (engineering defaults, not from a standard)."""

    weights: ScoreWeights = Field(default_factory=ScoreWeights)
    intensity_zero_above_constraint: float = Field(0.20, gt=0, le=2, description="EUI this fraction above the constraint value scores 0")
    after_hours_target_share: float = Field(0.35, gt=0, lt=1, description="after-hours share at or below this scores full points")
    after_hours_zero_share: float = Field(0.60, gt=0, le=1, description="after-hours share at or above this scores 0")
    savings_target_fraction: float = Field(0.05, gt=0, lt=1, description="weather-normalised savings fraction scoring full points")
    # FACTS §4 (M): national key energy-user monitoring system asks for ≥ 90 % of expected intervals.
    completeness_target: float = Field(0.90, gt=0, le=1, description="completeness at or above this scores full points")
    completeness_zero: float = Field(0.50, ge=0, lt=1, description="completeness at or below this scores 0")

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Scoring:
        if self.after_hours_zero_share <= self.after_hours_target_share:
            raise ValueError(
                f"after_hours_zero_share {self.after_hours_zero_share:g} must exceed after_hours_target_share {self.after_hours_target_share:g}"
            )
        if self.completeness_zero >= self.completeness_target:
            raise ValueError(f"completeness_zero {self.completeness_zero:g} must be below completeness_target {self.completeness_target:g}")
        return self


class EnergyTargets(_Entry):
    """What a building's energy use is judged against: the plan, GB/T 51161, and the score's weights."""

    plan: EnergyPlan = Field(default_factory=EnergyPlan)
    gbt51161: Gbt51161Parameters = Field(default_factory=Gbt51161Parameters)
    scoring: Scoring = Field(default_factory=Scoring)


# ---------------------------------------------------------------------------------------------
# Conversion factors: which versioned kgce and CO₂ factors (facmon/standards.py, FACTS §3) the
# energy statistics use. analytics/daily.py records the chosen version on every energy_daily point.

from facmon.standards import DEFAULT_FACTOR_DATA_YEAR, DEFAULT_GRID_REGION, GRID_CO2_KG_PER_KWH, GRID_REGIONS  # noqa: E402


class EnergyFactors(_Entry):
    """Grid region and data year of the CO₂ factor, plus per-category overrides (M/L factors are configurable)."""

    grid_region: str = Field(
        DEFAULT_GRID_REGION, description="national, or a regional grid: " + ", ".join(r for r in GRID_REGIONS if r != "national")
    )
    data_year: int = Field(DEFAULT_FACTOR_DATA_YEAR, description="data year of the published grid CO₂ factor")
    kgce_per_unit: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="energy category code -> kgce per register unit, overriding facmon.standards.KGCE_PER_UNIT"
    )
    co2_kg_per_unit: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="energy category code -> kgCO₂ per register unit (electricity: overrides the grid factor)"
    )

    @model_validator(mode="after")
    def _published_factor(self) -> EnergyFactors:
        if self.grid_region not in GRID_REGIONS:
            raise ValueError(f"grid_region {self.grid_region!r} is not one of {', '.join(GRID_REGIONS)}")
        if (self.data_year, self.grid_region) not in GRID_CO2_KG_PER_KWH and "01" not in self.co2_kg_per_unit:
            known = ", ".join(f"{year}/{region}" for year, region in sorted(GRID_CO2_KG_PER_KWH))
            raise ValueError(f"no grid CO₂ factor for data_year {self.data_year} and grid_region {self.grid_region!r}; known: {known}")
        for code in (*self.kgce_per_unit, *self.co2_kg_per_unit):
            if code not in ENERGY_CATEGORIES:
                raise ValueError(f"{code!r} is not an energy category code 01..13")
        return self

    @property
    def version(self) -> str:
        """Short label of the factor set, e.g. ``2023-national`` (``+site`` when the site overrides a factor)."""
        return f"{self.data_year}-{self.grid_region}" + ("+site" if self.kgce_per_unit or self.co2_kg_per_unit else "")


# ---------------------------------------------------------------------------------------------
# Vendor maintenance-quality score: weights and points rules (analytics/vendor_score.py). Defaults from
# facmon/standards.py (FACTS §5, §6) where a KPI exists, engineering choices otherwise; all configurable.

from facmon.standards import EQUIPMENT_GOOD_ORDER_MIN_SHARE, REPAIR_TIMELINESS_MIN_SHARE  # noqa: E402

# The vendor-score components, in display order.
VENDOR_SCORE_COMPONENTS = ("sla_compliance", "restore_time", "fault_rate", "repeat_faults", "availability", "ieq", "completeness")


class VendorScoreWeights(_Entry):
    """Weights of the vendor-score components; they must sum to 1."""

    sla_compliance: float = Field(0.25, ge=0, le=1, description="share of faults restored within the SLA restore_min of their severity")
    restore_time: float = Field(0.15, ge=0, le=1, description="mean time to restore as a multiple of the SLA restore_min")
    fault_rate: float = Field(0.10, ge=0, le=1, description="severity-weighted faults per maintained device per 30 days")
    repeat_faults: float = Field(0.10, ge=0, le=1, description="share of faults reopening on the same target within the repeat window")
    availability: float = Field(0.20, ge=0, le=1, description="share of time the maintained equipment had no active fault")
    ieq: float = Field(0.10, ge=0, le=1, description="GB/T 18883 compliance in occupied hours (vendors covering indoor_environment)")
    completeness: float = Field(0.10, ge=0, le=1, description="data completeness of the maintained devices")

    @model_validator(mode="after")
    def _sum_to_one(self) -> VendorScoreWeights:
        total = sum(getattr(self, name) for name in VENDOR_SCORE_COMPONENTS)
        if abs(total - 1.0) > 1e-6:
            terms = " + ".join(f"{name} {getattr(self, name):g}" for name in VENDOR_SCORE_COMPONENTS)
            raise ValueError(f"vendor score weights must sum to 1; {terms} = {total:g}")
        return self


def _default_severity_weights() -> dict[Severity, float]:
    return {Severity.CRITICAL: 3.0, Severity.MAJOR: 2.0, Severity.MINOR: 1.0}


class VendorScoring(_Entry):
    """How each vendor-score component turns its value into points; linear between the full and zero marks."""

    weights: VendorScoreWeights = Field(default_factory=VendorScoreWeights)
    # FACTS §6 (M/L): repair timeliness ≥ 95 %.
    sla_compliance_target: float = Field(
        REPAIR_TIMELINESS_MIN_SHARE, gt=0, le=1, description="SLA compliance at or above this scores full points"
    )
    sla_compliance_zero: float = Field(0.70, ge=0, lt=1, description="SLA compliance at or below this scores 0")
    restore_ratio_full: float = Field(0.5, gt=0, description="mean restore time ÷ SLA restore_min at or below this scores full points")
    restore_ratio_zero: float = Field(1.5, gt=0, description="mean restore time ÷ SLA restore_min at or above this scores 0")
    severity_weights: dict[Severity, Annotated[float, Field(ge=0)]] = Field(
        default_factory=_default_severity_weights, description="weight of one fault per severity in fault_rate"
    )
    fault_rate_full: float = Field(
        0.05, ge=0, description="weighted faults per maintained device per 30 days at or below this scores full points"
    )
    fault_rate_zero: float = Field(0.50, gt=0, description="weighted faults per maintained device per 30 days at or above this scores 0")
    repeat_window_days: float = Field(
        7.0, gt=0, le=90, description="a fault opening this soon after the same target's same fault cleared is a repeat"
    )
    repeat_share_zero: float = Field(0.25, gt=0, le=1, description="share of repeat faults at or above this scores 0 (none scores full)")
    # FACTS §6 (M/L): equipment in good order (设备完好率) ≥ 98 %.
    availability_target: float = Field(
        EQUIPMENT_GOOD_ORDER_MIN_SHARE, gt=0, le=1, description="availability at or above this scores full points"
    )
    availability_zero: float = Field(0.90, ge=0, lt=1, description="availability at or below this scores 0")
    ieq_target: float = Field(0.95, gt=0, le=1, description="share of occupied sensor-hours within GB/T 18883 bands scoring full points")
    ieq_zero: float = Field(0.70, ge=0, lt=1, description="IEQ compliance at or below this scores 0")
    ieq_summer_months: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        default_factory=lambda: [6, 7, 8, 9], description="months judged by the summer bands"
    )
    ieq_winter_months: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        default_factory=lambda: [12, 1, 2], description="months judged by the winter bands; other months by their union"
    )
    # FACTS §4 (M): ≥ 90 % of expected intervals.
    completeness_target: float = Field(0.90, gt=0, le=1, description="completeness at or above this scores full points")
    completeness_zero: float = Field(0.50, ge=0, lt=1, description="completeness at or below this scores 0")

    @model_validator(mode="after")
    def _marks_in_order(self) -> VendorScoring:
        for name, full, zero, higher_is_better in (
            ("sla_compliance", self.sla_compliance_target, self.sla_compliance_zero, True),
            ("restore_ratio", self.restore_ratio_full, self.restore_ratio_zero, False),
            ("fault_rate", self.fault_rate_full, self.fault_rate_zero, False),
            ("availability", self.availability_target, self.availability_zero, True),
            ("ieq", self.ieq_target, self.ieq_zero, True),
            ("completeness", self.completeness_target, self.completeness_zero, True),
        ):
            if (full <= zero) if higher_is_better else (full >= zero):
                relation = "above" if higher_is_better else "below"
                raise ValueError(f"{name}: the full-points mark {full:g} must be {relation} the zero mark {zero:g}")
        missing = [s.value for s in Severity if s not in self.severity_weights]
        if missing:
            raise ValueError(f"severity_weights needs every severity; missing {', '.join(missing)}")
        overlap = sorted(set(self.ieq_summer_months) & set(self.ieq_winter_months))
        if overlap:
            raise ValueError(f"months {overlap} are both summer and winter months")
        return self


# ---------------------------------------------------------------------------------------------
# Alerting (alerts/): who besides the vendors is notified, and planned maintenance windows during which
# a vendor's notifications are muted (Grafana mute timings). Everything optional: the defaults alert the
# vendors only and mute nothing.

from datetime import date


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


class MaintenanceWindow(_Entry):
    """A planned maintenance window: notifications of faults for ``vendors`` in ``buildings`` are muted
    while it lasts (the alerts still show in Grafana). It recurs on ``weekdays`` (empty: every day),
    between ``start`` and ``end`` (local time of the site; none: all day), within ``first_day`` ..
    ``last_day`` inclusive (none: always). Critical faults still reach the energy office."""

    name: Identifier
    vendors: list[Identifier] | Literal["all"] = "all"
    buildings: list[str] | Literal["all"] = "all"
    weekdays: list[Weekday] = Field(default_factory=list)
    start: time | None = None
    end: time | None = None
    first_day: date | None = None
    last_day: date | None = None

    @model_validator(mode="after")
    def _bounded(self) -> MaintenanceWindow:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end (times of day), or neither for whole days")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"start {self.start:%H:%M} must be before end {self.end:%H:%M} (split a window crossing midnight in two)")
        if (self.first_day is None) != (self.last_day is None):
            raise ValueError("give both first_day and last_day, or neither for a weekly window")
        if self.first_day is not None and self.last_day is not None and self.first_day > self.last_day:
            raise ValueError(f"first_day {self.first_day} is after last_day {self.last_day}")
        if not self.weekdays and self.start is None and self.first_day is None:
            raise ValueError("a maintenance window needs weekdays, start/end or first_day/last_day (else it mutes for ever)")
        return self


class Alerting(_Entry):
    """Alert routing beyond the vendors' own contacts."""

    energy_office: list[Contact] = Field(
        default_factory=list,
        description="the energy office (节能办/机关事务管理局): gets every critical fault and faults no vendor maintains",
    )
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list)


from facmon.standards import (  # noqa: E402  (kept beside the section that uses it)
    GBT18883_CO2_MAX_PPM,
    GBT18883_CO2_MEAN_WINDOW_S,
    GBT18883_TEMPERATURE_SUMMER_C,
    GBT18883_TEMPERATURE_WINTER_C,
)


class Detection(_Entry):
    """Thresholds and persistence of the rule-based fault detectors (analytics/fault_detectors.py).

    Engineering defaults (L) unless a source is named; every one can be set in the registry's
    ``detection:`` section. Persistence counts consecutive readings (or intervals) that must show a
    fault before it is raised, so one odd reading never pages anyone."""

    severity: dict[str, Severity] = Field(
        default_factory=dict, description="fault kind -> severity, overriding facmon.fault_kinds.DEFAULT_SEVERITY"
    )
    offline_missed_readings: float = Field(
        2.5, gt=1, description="a device is offline after this many reporting intervals without a reading"
    )
    offline_lookback_h: float = Field(
        24.0, gt=0, description="a device must have reported within this many hours before the period to be missed"
    )
    stuck_min_steps: int = Field(2, ge=1, description="flat register steps in a row, while power flows, before a meter is stuck")
    stuck_min_resolutions: float = Field(
        5.0, gt=0, description="energy the power implies over the flat run, in register resolutions (multiplier x last decimal)"
    )
    stuck_sensor_h: float = Field(6.0, gt=0, description="hours of bit-identical readings of every quantity before an IEQ sensor is stuck")
    after_hours_lookback_days: int = Field(21, ge=3, le=60, description="days of history for a lighting meter's own unoccupied baseline")
    after_hours_min_days: int = Field(3, ge=1, description="days with readings at an hour before its unoccupied baseline is trusted")
    after_hours_margin_share: float = Field(
        0.25, gt=0, le=1, description="margin above the unoccupied baseline, share of the meter's rated power"
    )
    after_hours_persistence: int = Field(4, ge=1, description="15-min intervals above baseline + margin in a row")
    hvac_days_off_persistence: int = Field(6, ge=1, description="equipment readings running on a day off in a row (5-min readings: 30 min)")
    leak_night_start: time = Field(time(1, 0), description="local start of the night window for water night flow")
    leak_night_end: time = Field(time(5, 0), description="local end of the night window")
    leak_lookback_nights: int = Field(14, ge=3, le=60, description="nights of history for a water meter's own night-flow baseline")
    leak_min_flow_m3_h: float = Field(0.2, gt=0, description="night flow above the meter's baseline that counts as a leak, m³/h")
    leak_baseline_share: float = Field(1.0, ge=0, description="... or this share of the baseline itself, whichever is larger")
    running_types: list[EquipmentType] = Field(
        default_factory=lambda: [EquipmentType.ELEVATOR, EquipmentType.ESCALATOR, EquipmentType.TRANSFORMER, EquipmentType.UPS],
        description="equipment that is in service around the clock: running 0 is a fault",
    )
    not_running_persistence: int = Field(2, ge=1, description="readings with running 0 in a row before equipment that should run is down")
    fault_code_persistence: int = Field(1, ge=1, description="readings with a non-zero fault code in a row")
    heating_water_min_c: float = Field(35.0, description="water supply at or above this: the unit heats, °C")
    cooling_water_max_c: float = Field(12.0, description="water supply at or below this: the unit cools, °C (7/12 °C chilled water)")
    heating_air_min_c: float = Field(28.0, description="supply air at or above this: the unit heats, °C")
    cooling_air_max_c: float = Field(16.0, description="supply air at or below this: the unit cools, °C")
    simultaneous_persistence: int = Field(3, ge=1, description="readings in a row with one unit heating and another cooling")
    ieq_mean_window_s: int = Field(
        GBT18883_CO2_MEAN_WINDOW_S,
        ge=300,
        description="IEQ values are judged as rolling means over this window (GB/T 18883: CO₂ 1-hour mean)",
    )
    ieq_persistence: int = Field(3, ge=1, description="readings in a row with the rolling mean outside the band")
    comfort_warmup_h: float = Field(
        2.0,
        ge=0,
        le=12,
        description="hours after the working day starts during which the temperature band is not judged: a split unit switched on at "
        "arrival (or a central plant after a cold weekend) needs that long to bring a zone into the band (engineering default, L)",
    )
    co2_max_ppm: float = Field(GBT18883_CO2_MAX_PPM, gt=0, description="GB/T 18883-2022, 1-hour mean (FACTS §5, M)")
    temperature_summer_c: tuple[float, float] = Field(
        GBT18883_TEMPERATURE_SUMMER_C, description="GB/T 18883-2022 summer band (FACTS §5, H)"
    )
    temperature_winter_c: tuple[float, float] = Field(
        GBT18883_TEMPERATURE_WINTER_C, description="GB/T 18883-2022 winter band (FACTS §5, H)"
    )
    summer_months: list[int] = Field(
        default_factory=lambda: [6, 7, 8], description="months judged by the summer band (L: the standard names no dates)"
    )
    winter_months: list[int] = Field(
        default_factory=lambda: [12, 1, 2], description="months judged by the winter band; other months by the union of both"
    )

    @field_validator("severity")
    @classmethod
    def _known_kinds(cls, severity: dict[str, Severity]) -> dict[str, Severity]:
        from facmon.fault_kinds import FaultKind

        unknown = sorted(set(severity) - {k.value for k in FaultKind})
        if unknown:
            raise ValueError(f"unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(k.value for k in FaultKind)}")
        return severity


class AnomalyReview(_Entry):
    """The weekly anomaly review (analytics/anomalies.py): data-driven, for people to read, never paged.

    Engineering defaults (L); every one can be set in the registry's ``anomalies:`` section."""

    baseline_weeks: int = Field(8, ge=2, le=52, description="weeks before the review week on which the hourly TOWT baseline is fitted")
    z_threshold: float = Field(
        4.0,
        gt=0,
        description="an hour is anomalous when its residual is this many robust standard deviations (1.4826 MAD) from its hour of week's baseline residuals",
    )
    min_hours: int = Field(2, ge=1, description="consecutive anomalous hours (same sign) for an anomaly to be listed")
    scale_floor_share: float = Field(
        0.02,
        ge=0,
        description="smallest residual scale, share of the mean hourly load, so a very regular hour of week does not turn meter resolution into anomalies",
    )
    isolation_forest: bool = Field(
        True, description="rank anomalies by an IsolationForest on (residual z, temperature, load) fitted on the baseline weeks"
    )
    night_start: time = Field(time(1, 0), description="local start of the night window for the night base load")
    night_end: time = Field(time(5, 0), description="local end of the night window")
    creep_weeks: int = Field(6, ge=2, le=26, description="weeks of nightly minima (ending with the review week) whose trend is judged")
    creep_min_share_per_week: float = Field(
        0.01, gt=0, description="night base load rising by at least this share of itself per week is listed (Theil-Sen slope)"
    )
    creep_min_night_share: float = Field(
        0.75, gt=0, le=1, description="share of the window's nights with a complete night window needed to judge a trend"
    )

    @model_validator(mode="after")
    def _whole_hour_night(self) -> AnomalyReview:
        if self.night_start.minute or self.night_end.minute or not self.night_start < self.night_end:
            raise ValueError(
                f"night_start {self.night_start} and night_end {self.night_end} must be whole hours, the start before the end (one night window within a day)"
            )
        return self


class Site(_Entry):
    """A whole site: the root of the registry file."""

    site: SiteInfo
    mqtt: MqttTopics = Field(default_factory=MqttTopics)
    collection: Collection = Field(default_factory=Collection)
    vendors: list[Vendor] = Field(default_factory=list)
    coverage: list[Coverage] = Field(default_factory=list)
    buildings: list[Building] = Field(min_length=1)
    energy_targets: EnergyTargets = Field(default_factory=EnergyTargets)
    energy_factors: EnergyFactors = Field(default_factory=EnergyFactors)
    alerting: Alerting = Field(default_factory=Alerting)
    vendor_scoring: VendorScoring = Field(default_factory=VendorScoring)
    detection: Detection = Field(default_factory=Detection)
    anomalies: AnomalyReview = Field(default_factory=AnomalyReview)

    _buildings: dict[str, Building] = PrivateAttr(default_factory=dict)
    _vendors: dict[str, Vendor] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        self._buildings = {b.code: b for b in self.buildings}
        self._vendors = {v.id: v for v in self.vendors}

    def building(self, code: str) -> Building | None:
        return self._buildings.get(code)

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
            if building.division_code != self.site.division_code:
                problems.append(
                    (
                        (*where, "code"),
                        f"building code {building.code!r} does not start with the site's division_code {self.site.division_code!r}",
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
                if code not in self._buildings:
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
                if code not in self._buildings:
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
            if building is None:
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
                            f"{meter_id!r} is not a meter of building {building.code}; {entry.format.value} devices feed electricity meters",
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
                            f"meter {meter_id!r} has multiplier {device.multiplier:g}; {entry.format.value} devices report energy already scaled, set multiplier: 1",
                        )
                    )
                else:
                    previous = fed.get((building.code, meter_id))
                    if previous is not None:
                        problems.append(
                            (
                                at,
                                f"meter {meter_id!r} of building {building.code} is already fed by {previous[1]!r} (mqtt.decoders[{previous[0]}]); one device per meter",
                            )
                        )
                    else:
                        fed[(building.code, meter_id)] = (i, native)
        return problems


# ---------------------------------------------------------------------------------------------
# Loading with line numbers


class _SiteYamlLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 numbers, so ``17:30`` stays a time and not 1050."""


_SiteYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:int", r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
):
    _SiteYamlLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


class SiteFileError(FacmonError):
    """The site file cannot be used. ``problems`` holds one line per problem, each naming file, line, entry and field."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s) in the site registry:\n" + "\n".join(f"  {p}" for p in problems))


def _node_at(root: yaml.Node, loc: tuple[str | int, ...]) -> yaml.Node:
    """The deepest YAML node along ``loc`` (a pydantic error location)."""
    node = root
    for step in loc:
        child = None
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            child = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        if child is None:
            break
        node = child
    return node


def _describe(raw: Any, loc: tuple[str | int, ...]) -> str:
    """Human path such as ``buildings[2] (320125A003) > meters[4] (E05) > multiplier``."""
    parts: list[str] = []
    value = raw
    for step in loc:
        if isinstance(step, int):
            if not parts:
                parts.append(f"[{step}]")
            else:
                parts[-1] += f"[{step}]"
            value = value[step] if isinstance(value, list) and step < len(value) else None
            if isinstance(value, dict):
                label = value.get("id") or value.get("code") or value.get("vendor") or value.get("name") or value.get("topic")
                if label is not None:
                    parts[-1] += f" ({label})"
        else:
            parts.append(str(step))
            value = value.get(step) if isinstance(value, dict) else None
    return " > ".join(parts) or "(top level)"


def _duplicate_keys(node: yaml.Node, path: Path) -> list[str]:
    found: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                found.append(
                    f"{path}:{key.start_mark.line + 1}: key {key.value!r} appears twice in the same entry; the first would be ignored"
                )
            seen.add(key.value)
            found += _duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += _duplicate_keys(item, path)
    return found


def _pydantic_message(error: dict[str, Any]) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return "is required but missing"
    if error["type"] == "extra_forbidden":
        return "is not a known field (typo?)"
    if error["type"] in ("literal_error", "enum") or "Input should be" in message:
        return f"{message[0].lower()}{message[1:]} (got {error['input']!r})"
    return message


def parse_site(text: str, path: Path) -> Site:
    """Validate registry YAML text; ``path`` is used in messages only."""
    try:
        root = yaml.compose(text, Loader=_SiteYamlLoader)
        raw = yaml.load(text, Loader=_SiteYamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise SiteFileError(path, [f"{path}{line}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(raw, dict) or root is None:
        raise SiteFileError(path, [f"{path}:1: expected a mapping with site, vendors, coverage and buildings"])

    problems = _duplicate_keys(root, path)
    try:
        site = Site.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(step for step in error["loc"] if not (isinstance(step, str) and step.startswith(("function-", "literal["))))
            line = _node_at(root, loc).start_mark.line + 1
            problems.append(f"{path}:{line}: {_describe(raw, loc)}: {_pydantic_message(error)}")
        raise SiteFileError(path, problems) from None
    for loc, message in site.reference_problems():
        line = _node_at(root, loc).start_mark.line + 1
        problems.append(f"{path}:{line}: {_describe(raw, loc)}: {message}")
    if problems:
        raise SiteFileError(path, problems)
    return site


def load_site(path: str | Path) -> Site:
    """Read and validate a site registry file; raises :class:`SiteFileError` naming every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteFileError(path, [f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteFileError(path, [f"{path}: cannot be read: {exc}"]) from None
    return parse_site(text, path)
