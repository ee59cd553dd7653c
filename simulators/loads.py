"""Building loads: electricity by sub-item (分项), water, gas and district heat/cooling, and how they
reach the building's meters.

A building's load per electricity sub-item is computed in kW from weather, occupancy and schedules,
then split across the meters of that sub-item in proportion to their ``rated_power_kw`` and never
above it. A sub-item without a meter of its own goes to its parent's meter (01A10 → 01A00), HVAC
plant and terminals stand in for each other (an A-class building's split/VRF units on 01B20 carry
all HVAC), and a sub-item with nowhere to go is not simulated, so that the main meter (01000) is
exactly the sum of the sub-meters × ``main_meter_losses``. A building with only a main meter gets
the standard set of loads on it.

Water (02) and gas (03) meters: a meter whose id contains ``MAIN`` carries the building total; the
other meters of the category are sub-meters that share ``water_submetered_share`` of it equally (the
rest is cleaning, irrigation and unmetered taps). Without a MAIN meter the meters share the whole
total equally. District heat (04) and district cooling (05) meters take the building's heating or
cooling demand in GJ (the electric plant then does not heat or cool). Other categories (06-13) are
not modelled: their registers stay constant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from facmon.registry import Building, EquipmentType, Meter
from facmon.simulators.clock import DayGrid
from facmon.simulators.occupancy import KITCHEN_ACTIVITY_HOURS_PER_DAY, Occupancy
from facmon.simulators.parameters import ClimateNormals, LoadParameters, hour_of
from facmon.simulators.weather import OutdoorWeather
from facmon.standards import OfficeHvacClass

MAIN = "01000"
LIGHTING_SOCKETS = "01A10"
CORRIDOR = "01A20"
OUTDOOR_LIGHTING = "01A30"
HVAC_PLANT = "01B10"
HVAC_TERMINALS = "01B20"
ELEVATORS = "01C10"
WATER_PUMPS = "01C20"
FANS = "01C30"
IT = "01D10"
KITCHEN = "01D30"
OTHER_SPECIAL = ("01D20", "01D40", "01D50", "01D60")
STANDARD_SUBITEMS = (LIGHTING_SOCKETS, CORRIDOR, OUTDOOR_LIGHTING, HVAC_PLANT, HVAC_TERMINALS, ELEVATORS, WATER_PUMPS, FANS, IT, KITCHEN)

# Capacity of a rated-power-driven sub-item when no meter states it: kW per m² of floor area.
_DEFAULT_CAPACITY_KW_M2 = {OUTDOOR_LIGHTING: 0.001, ELEVATORS: 0.003, WATER_PUMPS: 0.001, FANS: 0.0015, KITCHEN: 0.03}
_CAPACITY_EQUIPMENT = {
    OUTDOOR_LIGHTING: (EquipmentType.LIGHTING_CIRCUIT,),
    ELEVATORS: (EquipmentType.ELEVATOR, EquipmentType.ESCALATOR),
    WATER_PUMPS: (EquipmentType.PUMP,),
    FANS: (EquipmentType.VENTILATION_FAN,),
    KITCHEN: (EquipmentType.KITCHEN_APPLIANCE,),
}
KJ_PER_KWH = 3600.0
GAS_KWH_PER_M3 = 9.5  # natural gas, net calorific value × boiler efficiency (L)


def _has_main_tag(meter: Meter) -> bool:
    return "MAIN" in meter.id.upper()


@dataclass(frozen=True)
class MeterShare:
    """One meter's part of a pool: its column in the site's meter arrays, its share and its rated power."""

    column: int
    share: float
    rated_kw: float  # +inf when the meter has no rated power


@dataclass
class MeterAllocation:
    """Where each computed load of a building goes; built once from the registry."""

    electric_pools: dict[str, list[MeterShare]] = field(default_factory=dict)  # pool sub-item -> meters
    pool_members: dict[str, list[str]] = field(default_factory=dict)  # pool sub-item -> computed sub-items it carries
    main: list[MeterShare] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)  # electricity sub-items simulated
    unmetered_main_only: bool = False  # no electricity sub-meters: the main meter carries the standard set
    water: list[MeterShare] = field(default_factory=list)
    gas: list[MeterShare] = field(default_factory=list)
    district_heat: list[MeterShare] = field(default_factory=list)
    district_cooling: list[MeterShare] = field(default_factory=list)
    capacity_kw: dict[str, float] = field(default_factory=dict)  # rated-power-driven sub-items


def _shares(meters: list[tuple[int, Meter]]) -> list[MeterShare]:
    rated = [m.rated_power_kw or 0.0 for _, m in meters]
    total = sum(rated)
    result = []
    for (column, meter), kw in zip(meters, rated):
        share = kw / total if total > 0 else 1.0 / len(meters)
        result.append(MeterShare(column, share, meter.rated_power_kw or float("inf")))
    return result


def _category_shares(meters: list[tuple[int, Meter]], submetered_share: float) -> list[MeterShare]:
    """Water/gas: MAIN meters carry the total, the others share ``submetered_share`` of it (all of it without a MAIN)."""
    mains = [(c, m) for c, m in meters if _has_main_tag(m)]
    subs = [(c, m) for c, m in meters if not _has_main_tag(m)]
    result = [MeterShare(c, 1.0 / len(mains), float("inf")) for c, _ in mains]
    sub_total = submetered_share if mains else 1.0
    result += [MeterShare(c, sub_total / len(subs), float("inf")) for c, _ in subs]
    return result


def allocate(building: Building, columns: dict[str, int], params: LoadParameters) -> MeterAllocation:
    """How the loads of ``building`` reach its meters; ``columns`` maps meter id -> column in the site arrays."""
    allocation = MeterAllocation()
    by_subitem: dict[str, list[tuple[int, Meter]]] = defaultdict(list)
    by_energy: dict[str, list[tuple[int, Meter]]] = defaultdict(list)
    for meter in building.meters:
        entry = (columns[meter.id], meter)
        if meter.energy == "01":
            by_subitem[meter.subitem].append(entry)
        else:
            by_energy[meter.energy].append(entry)
    allocation.main = _shares(by_subitem.pop(MAIN, []))
    wanted = [s for s in STANDARD_SUBITEMS if s != KITCHEN or building.canteen]
    if not by_subitem:
        allocation.unmetered_main_only = True
        allocation.computed = [s for s in wanted if s != ELEVATORS or building.floors >= 4 or _count(building, ELEVATORS)]
    else:
        members: dict[str, list[str]] = defaultdict(list)
        for subitem in (*STANDARD_SUBITEMS, *OTHER_SPECIAL):
            if subitem == KITCHEN and not building.canteen and subitem not in by_subitem:
                continue
            if subitem in OTHER_SPECIAL and subitem not in by_subitem:
                continue  # laundry, pool, gym: only where the registry says they exist
            pool = _pool_for(subitem, by_subitem)
            if pool is not None:
                members[pool].append(subitem)
        allocation.pool_members = dict(members)
        allocation.electric_pools = {pool: _shares(by_subitem[pool]) for pool in members}
        allocation.computed = [s for pool in members for s in members[pool]]
    for subitem in (OUTDOOR_LIGHTING, ELEVATORS, WATER_PUMPS, FANS, KITCHEN, *OTHER_SPECIAL):
        meters = by_subitem.get(subitem)
        if meters and all(m.rated_power_kw for _, m in meters):
            allocation.capacity_kw[subitem] = sum(m.rated_power_kw or 0.0 for _, m in meters)
        elif subitem in _CAPACITY_EQUIPMENT and _count(building, subitem):
            allocation.capacity_kw[subitem] = _count(building, subitem)
        else:
            allocation.capacity_kw[subitem] = _DEFAULT_CAPACITY_KW_M2.get(subitem, 0.002) * building.floor_area_m2
    if "02" in by_energy:
        allocation.water = _category_shares(by_energy["02"], params.water_submetered_share)
    if "03" in by_energy:
        allocation.gas = _category_shares(by_energy["03"], params.water_submetered_share)
    if "04" in by_energy:
        allocation.district_heat = _category_shares(by_energy["04"], 1.0)
    if "05" in by_energy:
        allocation.district_cooling = _category_shares(by_energy["05"], 1.0)
    return allocation


def _count(building: Building, subitem: str) -> float:
    """Rated power of the building's equipment that belongs to a sub-item, kW (0 when none)."""
    types = _CAPACITY_EQUIPMENT.get(subitem, ())
    return sum(e.rated_power_kw or 0.0 for e in building.equipment if e.type in types)


def _pool_for(subitem: str, by_subitem: dict[str, list[tuple[int, Meter]]]) -> str | None:
    """The metered sub-item that carries ``subitem``'s load, or None."""
    if subitem in by_subitem:
        return subitem
    parent = subitem[:3] + "00"
    if parent in by_subitem:
        return parent
    if subitem == HVAC_PLANT and HVAC_TERMINALS in by_subitem:
        return HVAC_TERMINALS
    if subitem == HVAC_TERMINALS and HVAC_PLANT in by_subitem:
        return HVAC_PLANT
    return None


@dataclass(frozen=True)
class HvacState:
    """What the building's HVAC does at each tick."""

    cooling_demand: np.ndarray  # 0 (none) .. 1 (design) .. 1.2, from outdoor temperature
    heating_demand: np.ndarray
    running: np.ndarray  # bool: HVAC scheduled on (B) or switched on by occupants (A)
    prestart: np.ndarray  # bool: in the pull-down/warm-up hour before opening


def hvac_state(
    grid: DayGrid, building: Building, weather: OutdoorWeather, occupancy: Occupancy, climate: ClimateNormals, params: LoadParameters
) -> HvacState:
    effective_c = 0.6 * weather.temp_c + 0.4 * weather.daily_mean_c  # the building's mass lags the air
    cooling = np.clip((effective_c - params.cooling_balance_c) / (climate.cooling_design_c - params.cooling_balance_c), 0.0, 1.2)
    heating = np.clip((params.heating_balance_c - effective_c) / (params.heating_balance_c - climate.heating_design_c), 0.0, 1.2)
    start, end = hour_of(building.working_hours.start), hour_of(building.working_hours.end)
    prestart = grid.working & (grid.local_hour >= start - params.hvac_prestart_h) & (grid.local_hour < start)
    if building.office_class == OfficeHvacClass.B:
        running = grid.working & (grid.local_hour >= start - params.hvac_prestart_h) & (grid.local_hour < end)
    else:
        running = (occupancy.fraction >= 0.3) & (np.maximum(cooling, heating) >= params.plant_min_demand)
    return HvacState(cooling, heating, running, prestart)


@dataclass(frozen=True)
class BuildingLoads:
    """Loads of one building at each tick (engineering units, before meter multipliers)."""

    subitem_kw: dict[str, np.ndarray]  # electricity by sub-item, kW
    hvac: HvacState
    cooling_plant_kw: np.ndarray  # electric share of HVAC_PLANT (or split units) that is cooling, kW
    heating_plant_kw: np.ndarray
    water_m3_h: np.ndarray  # building total, m³/h
    gas_m3_h: np.ndarray
    district_heat_kw: np.ndarray  # thermal, kW
    district_cooling_kw: np.ndarray
    kitchen_activity: np.ndarray  # 0..1
    water_peak_m3_h: float  # the building's design peak flow, m³/h


def building_loads(
    grid: DayGrid,
    building: Building,
    allocation: MeterAllocation,
    weather: OutdoorWeather,
    occupancy: Occupancy,
    *,
    kitchen_activity: np.ndarray,
    meals_per_working_day: np.ndarray,
    climate: ClimateNormals,
    params: LoadParameters,
) -> BuildingLoads:
    """Every computed load of ``building`` at the ticks of ``grid``."""
    area = building.floor_area_m2
    frac = occupancy.fraction
    hour = grid.local_hour
    start, end = hour_of(building.working_hours.start), hour_of(building.working_hours.end)
    hvac = hvac_state(grid, building, weather, occupancy, climate, params)
    has_district_heat = bool(allocation.district_heat)
    has_district_cooling = bool(allocation.district_cooling)
    has_boiler = any(e.type == EquipmentType.BOILER for e in building.equipment)
    cooling = hvac.cooling_demand * (not has_district_cooling)
    heating = hvac.heating_demand * (not (has_district_heat or has_boiler))
    boost = np.where(hvac.prestart, params.prestart_boost, 1.0)
    zero = np.zeros(grid.size)

    if building.office_class == OfficeHvacClass.B:
        plant_on = hvac.running & (np.maximum(cooling, heating) >= params.plant_min_demand)
        scale = area / 1000.0 * plant_on * boost * (0.75 + 0.25 * frac)
        cooling_kw = params.cooling_plant_design_w_m2 * cooling * scale
        heating_kw = params.heating_plant_design_w_m2 * heating * scale
        terminals_kw = (
            area
            / 1000.0
            * hvac.running
            * (params.terminal_base_w_m2 + params.terminal_demand_w_m2 * np.maximum(hvac.cooling_demand, hvac.heating_demand))
        )
    else:
        use = np.minimum(1.0, frac * 1.1) * (np.maximum(cooling, heating) >= params.plant_min_demand)
        cooling_kw = area / 1000.0 * params.split_ac_design_w_m2 * cooling * use
        heating_kw = area / 1000.0 * params.split_ac_design_w_m2 * heating * use
        terminals_kw = zero

    office_persons = frac * building.energy_users
    meals_today = meals_per_working_day if building.canteen else zero
    meal_rate = meals_today * kitchen_activity / KITCHEN_ACTIVITY_HOURS_PER_DAY  # meals per hour
    water = office_persons * params.water_per_occupant_hour_m3 + area * params.water_base_m3_h_per_m2 + meal_rate * params.water_per_meal_m3
    water_peak = building.energy_users * params.water_per_occupant_hour_m3 * 1.5 + area * params.water_base_m3_h_per_m2
    if building.canteen:
        water_peak += float(np.max(meals_per_working_day, initial=0.0)) * params.water_per_meal_m3 / KITCHEN_ACTIVITY_HOURS_PER_DAY
    gas = meal_rate * params.gas_per_meal_m3
    if not building.canteen:
        gas = office_persons * params.gas_domestic_per_occupant_hour_m3
    heating_thermal_kw = area / 1000.0 * params.district_heat_design_w_m2 * hvac.heating_demand
    if has_district_heat:
        night_setback = np.where(hvac.running, 1.0, 0.6)
        district_heat_kw = heating_thermal_kw * night_setback
    else:
        district_heat_kw = zero
    if has_boiler and not has_district_heat:
        gas = gas + heating_thermal_kw * hvac.running * boost / GAS_KWH_PER_M3
    district_cooling_kw = (
        area / 1000.0 * params.district_cooling_design_w_m2 * hvac.cooling_demand * hvac.running if has_district_cooling else zero
    )

    capacity = allocation.capacity_kw
    working_day_hours = grid.working & (hour >= 7.0) & (hour < 20.0)
    fans_on = grid.working & (hour >= start - 0.5) & (hour < end + 0.5)
    off_hour = hour_of(params.outdoor_lighting_off)
    outdoor_on = weather.dark & ((hour >= 12.0) & (hour < off_hour))
    loads: dict[str, np.ndarray] = {}
    for subitem in allocation.computed:
        if subitem == LIGHTING_SOCKETS:
            kw = area / 1000.0 * (params.lighting_sockets_base_w_m2 + params.lighting_sockets_occupied_w_m2 * frac)
        elif subitem == CORRIDOR:
            kw = area / 1000.0 * (params.corridor_base_w_m2 + params.corridor_day_w_m2 * working_day_hours)
        elif subitem == OUTDOOR_LIGHTING:
            kw = capacity[subitem] * params.outdoor_lighting_share * outdoor_on
        elif subitem == HVAC_PLANT:
            kw = cooling_kw + heating_kw if building.office_class == OfficeHvacClass.B else zero
        elif subitem == HVAC_TERMINALS:
            kw = terminals_kw if building.office_class == OfficeHvacClass.B else cooling_kw + heating_kw
        elif subitem == ELEVATORS:
            kw = capacity[subitem] * (
                params.elevator_standby_share
                + params.elevator_occupied_share * frac
                + params.elevator_traffic_share * occupancy.change_per_h
            )
        elif subitem == WATER_PUMPS:
            kw = capacity[subitem] * (params.water_pump_base_share + params.water_pump_flow_share * np.minimum(water / water_peak, 1.0))
        elif subitem == FANS:
            if building.canteen:
                kw = capacity[subitem] * (0.1 + 0.85 * kitchen_activity)
            else:
                kw = capacity[subitem] * np.where(fans_on, params.fan_working_share, params.fan_off_share)
        elif subitem == IT:
            kw = area / 1000.0 * (params.it_base_w_m2 + params.it_occupied_w_m2 * frac)
        elif subitem == KITCHEN:
            kw = capacity[subitem] * (params.kitchen_base_share + params.kitchen_cooking_share * kitchen_activity)
        else:  # 01D20, 01D40-01D60: laundry, pool, gym, other
            kw = capacity[subitem] * (params.other_special_base_share + 0.3 * frac)
        loads[subitem] = kw
    # A-class buildings whose HVAC went nowhere keep the split-unit load off the books (not computed);
    # B-class plant and terminals were merged by the allocation when one of them has no meter.
    return BuildingLoads(
        subitem_kw=loads,
        hvac=hvac,
        cooling_plant_kw=cooling_kw,
        heating_plant_kw=heating_kw,
        water_m3_h=water,
        gas_m3_h=gas,
        district_heat_kw=district_heat_kw,
        district_cooling_kw=district_cooling_kw,
        kitchen_activity=kitchen_activity,
        water_peak_m3_h=water_peak,
    )


def meter_rates(
    loads: BuildingLoads,
    allocation: MeterAllocation,
    rates: np.ndarray,
    electric_noise: np.ndarray,
    water_noise: np.ndarray,
    params: LoadParameters,
) -> None:
    """Write the building's meter rates into ``rates`` (ticks × site meter columns): kW for
    electricity, m³/h for water and gas, GJ/h for district heat and cooling.

    ``electric_noise`` and ``water_noise`` are per-tick multiplicative factors (ticks × site meter
    columns and ticks, mean 1)."""
    submeter_total = None
    for pool, meters in allocation.electric_pools.items():
        pool_kw = sum(loads.subitem_kw[s] for s in allocation.pool_members[pool])
        for meter in meters:
            kw = np.clip(pool_kw * meter.share * electric_noise[:, meter.column], 0.0, meter.rated_kw)
            rates[:, meter.column] = kw
            submeter_total = kw if submeter_total is None else submeter_total + kw
    if allocation.unmetered_main_only:
        submeter_total = sum(loads.subitem_kw.values())
        if allocation.main:
            submeter_total = submeter_total * electric_noise[:, allocation.main[0].column]
    if submeter_total is not None:
        for meter in allocation.main:
            rates[:, meter.column] = np.clip(submeter_total * params.main_meter_losses * meter.share, 0.0, meter.rated_kw)
    water = loads.water_m3_h * water_noise
    for meter in allocation.water:
        rates[:, meter.column] = water * meter.share
    for meter in allocation.gas:
        rates[:, meter.column] = loads.gas_m3_h * meter.share
    for meter in allocation.district_heat:
        rates[:, meter.column] = loads.district_heat_kw * KJ_PER_KWH / 1e6 * meter.share
    for meter in allocation.district_cooling:
        rates[:, meter.column] = loads.district_cooling_kw * KJ_PER_KWH / 1e6 * meter.share
