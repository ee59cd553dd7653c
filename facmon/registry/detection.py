"""Fault detection (registry section ``detection``): thresholds and persistence of the rule-based
fault detectors of analytics/fault_detectors.py, and per-site severities of the fault kinds."""

from __future__ import annotations

from datetime import time

from pydantic import Field, field_validator

from facmon.fault_kinds import FaultKind
from facmon.registry.buildings import EquipmentType
from facmon.registry.common import Entry
from facmon.standards import (
    GBT18883_CO2_MAX_PPM,
    GBT18883_CO2_MEAN_WINDOW_S,
    GBT18883_TEMPERATURE_SUMMER_C,
    GBT18883_TEMPERATURE_WINTER_C,
    Severity,
)


class Detection(Entry):
    """Thresholds and persistence of the rule-based fault detectors (analytics/fault_detectors.py).

    Engineering defaults (L) unless a source is named; every one can be set in the registry's
    ``detection:`` section. Persistence counts consecutive readings (or intervals) that must show a
    fault before it is raised, so one odd reading never pages anyone."""

    severity: dict[str, Severity] = Field(
        default_factory=dict, description="fault kind (FaultKind) -> severity, overriding facmon.fault_kinds.DEFAULT_SEVERITY"
    )
    offline_missed_readings: float = Field(
        2.5, gt=1, description="a device is offline after this many reporting intervals without a reading"
    )
    common_cause_min_devices: int = Field(
        3,
        ge=2,
        description="devices of one building going offline, resetting or jumping together that make one fault of its data gateway "
        "(target gateway, naming them) instead of one per device; every building at once makes one of facmon's collection path",
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
    not_running_persistence: int = Field(
        1, ge=1, description="readings with running 0 in a row before equipment that should run around the clock is down"
    )
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
    co2_max_ppm: float = Field(
        GBT18883_CO2_MAX_PPM, gt=0, description="GB/T 18883-2022, 1-hour mean (docs/standards.md#indoor-environment, M)"
    )
    temperature_summer_c: tuple[float, float] = Field(
        GBT18883_TEMPERATURE_SUMMER_C, description="GB/T 18883-2022 summer band (docs/standards.md#indoor-environment, H)"
    )
    temperature_winter_c: tuple[float, float] = Field(
        GBT18883_TEMPERATURE_WINTER_C, description="GB/T 18883-2022 winter band (docs/standards.md#indoor-environment, H)"
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
        unknown = sorted(set(severity) - {k.value for k in FaultKind})
        if unknown:
            raise ValueError(f"unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(k.value for k in FaultKind)}")
        return severity
