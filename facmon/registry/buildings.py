"""The buildings of the site and their devices: meters, indoor-environment and weather sensors, and
maintained equipment with the building system each belongs to (registry section ``buildings``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from enum import StrEnum
from typing import Any

from pydantic import Field, PrivateAttr, field_validator, model_validator

from facmon.registry.common import Entry, Identifier, require_quoted_code
from facmon.standards import BUILDING_CODE, ENERGY_CATEGORIES, OfficeHvacClass, OfficeUse, subitem_codes


class WorkingHours(Entry):
    """Office hours on working days, local time of the site."""

    start: time = Field(time(8, 30), description="start of the working day, local time HH:MM")
    end: time = Field(time(17, 30), description="end of the working day, local time HH:MM; after start")

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError(f"start {self.start:%H:%M} must be before end {self.end:%H:%M}")
        return self

    @property
    def hours_per_day(self) -> float:
        return (self.end.hour * 60 + self.end.minute - self.start.hour * 60 - self.start.minute) / 60


class Meter(Entry):
    """An energy or water meter. Devices publish the raw register; the collector applies ``multiplier``."""

    id: Identifier = Field(description="device id, unique within the building: the MQTT topic level and the meter tag")
    energy: str = Field(description="energy category code 01..13 (导则)")
    subitem: str = Field(description="5-character category/sub-item code, e.g. 01A10; <cc>000 for a whole category")
    unit: str = Field(
        description="register unit, fixed by the energy category: "
        + ", ".join(f"{code} {unit}" for code, (_, unit) in ENERGY_CATEGORIES.items())
    )
    cumulative: bool = Field(True, description="the register counts up; false for a meter reporting interval amounts")
    multiplier: float = Field(1.0, gt=0, description="CT/PT ratio applied to the raw register")
    rollover: float = Field(99_999_999.0, gt=0, description="raw register value at which the register wraps to 0")
    rated_power_kw: float | None = Field(None, gt=0, description="rated power of the metered circuit, kW")

    _check_codes = field_validator("energy", "subitem", mode="before")(require_quoted_code)

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


class IeqSensor(Entry):
    """An indoor environment sensor serving one zone (usually a floor)."""

    id: Identifier = Field(description="device id, unique within the building: the MQTT topic level and the sensor tag")
    zone: Identifier = Field(description="zone the sensor serves, e.g. 3F: the zone tag of its readings")
    floor: int | None = Field(None, description="floor of the zone, 1..floors; the simulator puts the top floor under the roof")
    quantities: list[IeqQuantity] = Field(min_length=1, description="what the sensor measures: fields of its readings")


class WeatherQuantity(StrEnum):
    """Outdoor weather quantities and the units their readings carry."""

    TEMPERATURE = "temperature"  # °C
    HUMIDITY = "humidity"  # % RH


class WeatherSensor(Entry):
    """An outdoor weather sensor on the building."""

    id: Identifier = Field(description="device id, unique within the building: the MQTT topic level")
    quantities: list[WeatherQuantity] = Field(
        default_factory=lambda: [WeatherQuantity.TEMPERATURE, WeatherQuantity.HUMIDITY],
        min_length=1,
        description="what the sensor measures: fields of its readings",
    )


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
    """Kinds of maintained equipment; the type decides the reading fields and the default system."""

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


class Equipment(Entry):
    """A maintained piece of equipment. Its vendor is explicit here or follows from ``coverage``."""

    id: Identifier = Field(description="device id, unique within the building: the MQTT topic level and the equipment tag")
    type: EquipmentType = Field(description="kind of equipment: decides its reading fields and its default system")
    system: System | None = Field(None, description="defaults from the type, e.g. chiller -> hvac")
    vendor: Identifier | None = Field(None, description="overrides the vendor that coverage assigns")
    rated_power_kw: float | None = Field(None, gt=0, description="rated electrical power, kW (optional)")
    meter: Identifier | None = Field(None, description="id of the meter measuring this equipment, if any")

    @property
    def maintained_system(self) -> System:
        return self.system or DEFAULT_SYSTEM[self.type]


class BuildingUse(StrEnum):
    """A building's main use (主要用途). GB/T 51161's office values apply to offices only; the other
    uses have no national benchmark in facmon and are compared with nothing."""

    OFFICE = "office"  # 办公
    CANTEEN = "canteen"  # 食堂
    DATA_CENTRE = "data_centre"  # 数据中心, 机房楼
    CONFERENCE = "conference"  # 会议中心
    ARCHIVE = "archive"  # 档案馆
    OTHER = "other"


class Building(Entry):
    """A building of the institution (an office building by default) with its meters, sensors and equipment."""

    code: str = Field(description="10-character building code per the 导则, e.g. 320125A001")
    name: str = Field(min_length=1, description="name shown on dashboards and reports")
    floor_area_m2: float = Field(gt=0, description="建筑面积, m²")
    energy_users: int = Field(gt=0, description="用能人数, persons")
    floors: int = Field(1, ge=1, le=200, description="number of floors")
    use: BuildingUse = Field(
        BuildingUse.OFFICE,
        description="main use: office, canteen, data_centre, conference, archive or other; "
        "only offices are compared with GB/T 51161's office values",
    )
    office_class: OfficeHvacClass = Field(
        description="HVAC class in GB/T 51161's terms: A (split or room AC, windows open) or B (central HVAC); "
        "for an office it picks the benchmark row, for every building the simulator's HVAC"
    )
    office_use: OfficeUse | None = Field(
        None, description="offices only, and required for them: GB/T 51161 党政机关 (government) or 商业办公 (commercial)"
    )
    working_hours: WorkingHours = Field(
        default_factory=WorkingHours,
        description="office hours on working days: occupied hours, after-hours use, comfort judgement",
    )
    canteen: bool = Field(False, description="serves meals (kitchen loads, gas, water); true for a building whose use is canteen")
    meters: list[Meter] = Field(default_factory=list, description="energy and water meters")
    ieq_sensors: list[IeqSensor] = Field(default_factory=list, description="indoor environment sensors")
    weather_sensors: list[WeatherSensor] = Field(
        default_factory=list, max_length=1, description="at most one: weather points are tagged by building only"
    )
    equipment: list[Equipment] = Field(default_factory=list, description="maintained equipment reporting its state")

    _check_code = field_validator("code", mode="before")(require_quoted_code)
    _devices: dict[str, Meter | IeqSensor | WeatherSensor | Equipment] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _a_canteen_serves_meals(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("use") == BuildingUse.CANTEEN.value and "canteen" not in values:
            return {**values, "canteen": True}
        return values

    @model_validator(mode="after")
    def _office_use_for_offices(self) -> Building:
        if self.use is BuildingUse.OFFICE and self.office_use is None:
            raise ValueError(
                "office_use is required for an office building: government (党政机关) or commercial (商业办公), GB/T 51161's row"
            )
        if self.use is not BuildingUse.OFFICE and self.office_use is not None:
            raise ValueError(f"office_use applies to office buildings only; this building's use is {self.use.value}")
        if self.use is BuildingUse.CANTEEN and not self.canteen:
            raise ValueError("a building whose use is canteen serves meals: canteen cannot be false")
        return self

    @property
    def is_office(self) -> bool:
        """Whether GB/T 51161's office values apply to this building."""
        return self.use is BuildingUse.OFFICE

    @field_validator("code")
    @classmethod
    def _code_format(cls, code: str) -> str:
        if not BUILDING_CODE.match(code):
            raise ValueError(f"building code {code!r} must be 6 digits of the division code + type letter A-H + 3 digits, e.g. 320125A001")
        return code

    def model_post_init(self, __context: Any) -> None:
        # built locally and set once: each access to a private attribute goes through pydantic's __getattr__,
        # which for a province's registry (hundreds of thousands of devices) cost seconds
        devices: dict[str, Meter | IeqSensor | WeatherSensor | Equipment] = {}
        for device in self.all_devices():
            devices.setdefault(device.id, device)
        self._devices = devices

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
