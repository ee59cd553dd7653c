"""Equipment readings: running state, fault code, power and each type's own values.

Equipment on a meter takes its share of that meter's load (its rated power over the larger of the
meter's rating and the summed rating of everything on the meter), so equipment power and meter
registers agree. Equipment without a meter runs on the activity of the system it belongs to.
``fault_code`` is always 0 here; faults are layered on later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facmon.registry import Building, Equipment, EquipmentType, System
from facmon.schema import EQUIPMENT_COMMON_FIELDS, EQUIPMENT_TYPE_FIELDS
from facmon.simulators.clock import DayGrid
from facmon.simulators.loads import HVAC_PLANT, IT, BuildingLoads
from facmon.simulators.occupancy import Occupancy
from facmon.simulators.parameters import LoadParameters, hour_of
from facmon.simulators.weather import OutdoorWeather

_COMMON_ORDER = ("running", "fault_code", "power")
_ALWAYS_IN_SERVICE = (EquipmentType.ELEVATOR, EquipmentType.TRANSFORMER, EquipmentType.UPS)
_PLANT = (EquipmentType.CHILLER, EquipmentType.BOILER, EquipmentType.COOLING_TOWER)
_TERMINALS = (EquipmentType.AHU, EquipmentType.FRESH_AIR_UNIT, EquipmentType.FAN_COIL)


@dataclass(frozen=True)
class EquipmentSpec:
    """One piece of equipment and where its power comes from (built once from the registry)."""

    building_index: int
    equipment: Equipment
    field_names: tuple[str, ...]  # in reporting order: running, fault_code, power, then the type's fields
    meter_column: int | None
    meter_share: float  # of the meter's load
    rated_kw: float
    may_omit: bool  # some fields are absent at some ticks (NaN in the value array)


def equipment_spec(building_index: int, building: Building, equipment: Equipment, columns: dict[str, int]) -> EquipmentSpec:
    assert EQUIPMENT_COMMON_FIELDS == frozenset(_COMMON_ORDER)
    names = (*_COMMON_ORDER, *sorted(EQUIPMENT_TYPE_FIELDS[equipment.type]))
    rated = equipment.rated_power_kw
    column = columns.get(equipment.meter) if equipment.meter else None
    share = 0.0
    if equipment.meter is not None and column is not None:
        meter = building.device(equipment.meter)
        siblings = [e for e in building.equipment if e.meter == equipment.meter]
        if rated is None or any(e.rated_power_kw is None for e in siblings):
            share = 1.0 / len(siblings)
        else:
            meter_rated = getattr(meter, "rated_power_kw", None) or 0.0
            share = rated / max(meter_rated, sum(e.rated_power_kw or 0.0 for e in siblings))
    if rated is None:
        rated = _default_rated_kw(equipment.type, building)
    return EquipmentSpec(building_index, equipment, names, column, share, rated, equipment.type == EquipmentType.CHILLER)


def _default_rated_kw(kind: EquipmentType, building: Building) -> float:
    per_m2 = {EquipmentType.TRANSFORMER: 0.1, EquipmentType.CHILLER: 0.02, EquipmentType.AHU: 0.004}
    return max(1.0, per_m2.get(kind, 0.001) * building.floor_area_m2)


@dataclass(frozen=True)
class BuildingActivity:
    """What drives a building's equipment at each tick (dimensionless shares unless stated)."""

    grid: DayGrid
    weather: OutdoorWeather
    occupancy: Occupancy
    loads: BuildingLoads
    meter_rates: np.ndarray  # ticks × site meter columns (kW for electricity)
    main_kw: np.ndarray  # the building's total electric load, kW
    interval_s: int  # equipment reporting interval


def equipment_values(
    spec: EquipmentSpec, building: Building, activity: BuildingActivity, noise: np.ndarray, trips: np.ndarray, params: LoadParameters
) -> np.ndarray:
    """Values (ticks × len(spec.field_names)) of one piece of equipment; NaN marks an absent field.

    ``noise`` is ticks × 3 standard normals, ``trips`` ticks of Poisson draws (elevators)."""
    kind = spec.equipment.type
    loads, weather, occ = activity.loads, activity.weather, activity.occupancy
    hvac = loads.hvac
    area_kw = building.floor_area_m2 / 1000.0
    n = activity.grid.size
    plant_design_kw = max(area_kw * params.cooling_plant_design_w_m2, 1e-9)
    cooling_mode = loads.cooling_plant_kw >= loads.heating_plant_kw
    demand = np.maximum(hvac.cooling_demand, hvac.heating_demand)

    if spec.meter_column is not None:
        power = activity.meter_rates[:, spec.meter_column] * spec.meter_share
    else:
        if (
            kind in _PLANT
            or (kind == EquipmentType.HEAT_PUMP and HVAC_PLANT in loads.subitem_kw)
            or (kind == EquipmentType.PUMP and spec.equipment.maintained_system == System.HVAC)
        ):
            ratio = (loads.cooling_plant_kw + loads.heating_plant_kw) / plant_design_kw
            if kind == EquipmentType.COOLING_TOWER:
                ratio = loads.cooling_plant_kw / plant_design_kw
        elif kind in _TERMINALS:
            ratio = hvac.running * (0.5 + 0.4 * demand)
        elif kind in (EquipmentType.SPLIT_AC, EquipmentType.HEAT_PUMP):
            ratio = (loads.cooling_plant_kw + loads.heating_plant_kw) / max(area_kw * params.split_ac_design_w_m2, 1e-9)
        elif kind in (EquipmentType.ELEVATOR, EquipmentType.ESCALATOR):
            ratio = (
                params.elevator_standby_share
                + params.elevator_occupied_share * occ.fraction
                + params.elevator_traffic_share * occ.change_per_h
            )
        elif kind == EquipmentType.PUMP:
            ratio = params.water_pump_base_share + params.water_pump_flow_share * np.minimum(loads.water_m3_h / loads.water_peak_m3_h, 1.0)
        elif kind == EquipmentType.VENTILATION_FAN:
            ratio = (
                0.1 + 0.85 * loads.kitchen_activity
                if building.canteen
                else np.where(occ.working_hours, params.fan_working_share, params.fan_off_share)
            )
        elif kind == EquipmentType.LIGHTING_CIRCUIT:
            hour = activity.grid.local_hour
            ratio = np.where(
                weather.dark & (hour >= 12.0) & (hour < hour_of(params.outdoor_lighting_off)), params.outdoor_lighting_share, 0.0
            )
        elif kind == EquipmentType.WATER_HEATER:
            ratio = np.minimum(1.0, 0.1 + (loads.kitchen_activity if building.canteen else occ.fraction))
        elif kind == EquipmentType.TRANSFORMER:
            ratio = activity.main_kw / spec.rated_kw
        elif kind == EquipmentType.UPS:
            ratio = loads.subitem_kw.get(IT, np.full(n, 0.3 * spec.rated_kw)) / spec.rated_kw
        elif kind == EquipmentType.KITCHEN_APPLIANCE:
            ratio = 0.35 + 0.4 * loads.kitchen_activity
        else:
            ratio = 0.5 * occ.fraction
        power = spec.rated_kw * np.clip(ratio, 0.0, 1.0)
        if kind == EquipmentType.TRANSFORMER:  # a transformer's "power" is its throughput
            power = np.minimum(activity.main_kw, spec.rated_kw * 1.2)

    if kind in _ALWAYS_IN_SERVICE:
        running = np.ones(n)
    elif kind == EquipmentType.ESCALATOR:
        running = occ.working_hours.astype(float)
    else:
        running = (power > 0.03 * spec.rated_kw).astype(float)
    on = running > 0
    load_ratio = np.clip(power / spec.rated_kw, 0.0, 1.5)
    outdoor = weather.temp_c
    values: dict[str, np.ndarray] = {"running": running, "fault_code": np.zeros(n), "power": power}
    if kind == EquipmentType.CHILLER:
        values["load_ratio"] = load_ratio
        idle = np.clip(0.4 * outdoor + 0.6 * 22.0, 8.0, 29.0)
        chilled = 7.0 + 0.25 * noise[:, 0] + 0.8 * np.maximum(load_ratio - 0.9, 0.0)
        # A chiller running as a heat pump in winter has no chilled-water temperature to report.
        values["chw_supply_temp"] = np.where(on, np.where(cooling_mode, chilled, np.nan), idle)
    elif kind == EquipmentType.HEAT_PUMP:
        values["load_ratio"] = load_ratio
        supply = np.where(cooling_mode, 7.5 + 0.3 * noise[:, 0], 45.0 + 0.6 * noise[:, 0])
        values["supply_temp"] = np.where(on, supply, np.clip(0.3 * outdoor + 0.7 * 20.0, 5.0, 35.0))
    elif kind == EquipmentType.BOILER:
        values["load_ratio"] = load_ratio
        values["supply_temp"] = np.where(on, 65.0 + 1.0 * noise[:, 0], np.clip(0.5 * outdoor + 12.0, 5.0, 40.0))
    elif kind == EquipmentType.COOLING_TOWER:
        values["fan_speed_pct"] = np.where(on, np.clip(35.0 + 60.0 * loads.cooling_plant_kw / plant_design_kw, 0.0, 100.0), 0.0)
    elif kind in (EquipmentType.AHU, EquipmentType.FRESH_AIR_UNIT):
        conditioned = np.where(
            hvac.cooling_demand >= params.plant_min_demand,
            15.0 + 0.4 * noise[:, 0],
            np.where(
                hvac.heating_demand >= params.plant_min_demand, 30.0 + 0.8 * noise[:, 0], np.clip(0.35 * outdoor + 0.65 * 21.0, 12.0, 28.0)
            ),
        )
        values["supply_air_temp"] = np.where(on, conditioned, np.clip(0.5 * outdoor + 10.0, -10.0, 45.0))
        values["fan_speed_pct"] = np.where(on, np.clip(55.0 + 35.0 * demand + 2.0 * noise[:, 1], 0.0, 100.0), 0.0)
    elif kind == EquipmentType.FAN_COIL:
        values["fan_speed_pct"] = np.where(on, np.clip(40.0 + 50.0 * demand + 3.0 * noise[:, 1], 0.0, 100.0), 0.0)
    elif kind == EquipmentType.SPLIT_AC:
        supply = np.where(cooling_mode, 13.0 + 0.5 * noise[:, 0], 38.0 + 1.0 * noise[:, 0])
        values["supply_air_temp"] = np.where(on, supply, np.clip(0.4 * outdoor + 0.6 * 21.0, -10.0, 45.0))
    elif kind in (EquipmentType.PUMP, EquipmentType.VENTILATION_FAN):
        values["frequency_hz"] = np.where(on, np.clip(30.0 + 20.0 * load_ratio + 0.3 * noise[:, 1], 0.0, 50.0), 0.0)
    elif kind == EquipmentType.ELEVATOR:
        values["trips"] = trips
    elif kind == EquipmentType.WATER_HEATER:
        values["water_temp"] = np.where(on, 55.0 + 1.5 * noise[:, 0], 48.0 + 1.0 * noise[:, 0])
    elif kind == EquipmentType.TRANSFORMER:
        values["load_ratio"] = np.clip(activity.main_kw / spec.rated_kw, 0.0, 1.5)
    elif kind == EquipmentType.UPS:
        values["load_ratio"] = load_ratio
    elif kind == EquipmentType.KITCHEN_APPLIANCE:
        values["cabinet_temp"] = np.clip(3.0 + 1.5 * loads.kitchen_activity + 0.3 * noise[:, 0], -5.0, 12.0)
    return np.column_stack([values[name] for name in spec.field_names])


def elevator_trip_rate(occ: Occupancy, interval_s: int) -> np.ndarray:
    """Expected trips of one elevator per reporting interval: a few an hour at night, ~12 per
    5 min at the morning peak (L)."""
    per_5min = 0.2 + 7.0 * occ.fraction + 10.0 * occ.change_per_h
    return per_5min * interval_s / 300.0
