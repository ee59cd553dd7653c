"""Indoor environment of each IEQ sensor's zone.

Temperature and CO₂ are first-order systems carried from tick to tick (the only indoor state):
- temperature relaxes towards the set point while the HVAC conditions the zone (cooling set point
  ≥ 26 °C, heating ≤ 20 °C, 国办发〔2007〕42号) and towards a free-floating value driven by the
  outdoor temperature and occupants otherwise, with a slower time constant;
- CO₂ relaxes towards outdoor + generation / ventilation: occupants exhale 0.0187 m³/h each, fresh
  air is 30 m³/h per person while a B-class HVAC runs, A-class buildings rely on infiltration and
  windows opened in mild weather.
Water vapour is the third carried state (outdoor vapour buffered by the building, plus occupants,
dried by cooling coils); relative humidity is that vapour at the zone temperature, PM2.5 from
outdoor PM2.5 through the envelope and filters, TVOC and formaldehyde from ventilation. Each step
with inputs held over the tick is solved exactly: x ← x + k (target − x), k = 1 − exp(−Δt/τ).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facmon.registry import Building, IeqSensor
from facmon.simulators.loads import HvacState
from facmon.simulators.parameters import IndoorParameters
from facmon.simulators.weather import OutdoorWeather
from facmon.standards import OfficeHvacClass


@dataclass(frozen=True)
class Zone:
    """One IEQ sensor's zone (built once from the registry)."""

    building_index: int
    sensor: IeqSensor
    area_m2: float
    volume_m3: float
    person_share: float  # share of the building's occupants in this zone
    setpoint_offset_c: float  # how far above the cooling / below the heating set point the zone settles
    free_offset_c: float  # warmer or cooler than the building when free-floating (sun, roof)


def layout_zones(building_index: int, building: Building, rng: np.random.Generator, params: IndoorParameters) -> list[Zone]:
    """Zones of a building, one per IEQ sensor, floor area shared equally."""
    sensors = building.ieq_sensors
    if not sensors:
        return []
    area = building.floor_area_m2 / len(sensors)
    weights = rng.uniform(0.75, 1.25, len(sensors))
    weights = weights / weights.sum()
    zones = []
    for sensor, weight in zip(sensors, weights):
        roof = 0.8 if sensor.floor is not None and sensor.floor == building.floors and building.floors > 1 else 0.0
        zones.append(
            Zone(
                building_index=building_index,
                sensor=sensor,
                area_m2=area,
                volume_m3=area * params.ceiling_height_m,
                person_share=float(weight),
                setpoint_offset_c=float(rng.uniform(0.0, 1.0)),
                free_offset_c=float(rng.uniform(-0.6, 0.6) + roof),
            )
        )
    return zones


@dataclass(frozen=True)
class ZoneDrivers:
    """Per tick × zone inputs of one building's zones."""

    temp_target_c: np.ndarray
    temp_gain: np.ndarray  # k of the temperature step, 0..1
    co2_target_ppm: np.ndarray
    co2_gain: np.ndarray
    vapour_target_hpa: np.ndarray  # indoor water vapour pressure the zone tends to, hPa
    vapour_gain: np.ndarray
    pm25_ugm3: np.ndarray
    air_changes_h: np.ndarray  # ventilation, 1/h
    occupancy: np.ndarray  # occupant share of the building at this tick (for sources)


def saturation_vapour_hpa(temp_c: np.ndarray) -> np.ndarray:
    """Magnus formula, hPa."""
    return 6.112 * np.exp(17.62 * temp_c / (243.12 + temp_c))


def zone_drivers(
    zones: list[Zone],
    building: Building,
    step_s: int,
    weather: OutdoorWeather,
    hvac: HvacState,
    occupancy_fraction: np.ndarray,
    persons: np.ndarray,
    kitchen_activity: np.ndarray,
    params: IndoorParameters,
) -> ZoneDrivers:
    """Targets and gains of every zone of ``building`` at each tick."""
    step_h = step_s / 3600.0
    frac = occupancy_fraction[:, None]
    share = np.array([z.person_share for z in zones])[None, :]
    volume = np.array([z.volume_m3 for z in zones])[None, :]
    setpoint_offset = np.array([z.setpoint_offset_c for z in zones])[None, :]
    free_offset = np.array([z.free_offset_c for z in zones])[None, :]
    outdoor = weather.temp_c[:, None]
    lagged_outdoor = (0.5 * weather.temp_c + 0.5 * weather.daily_mean_c)[:, None]

    free_c = (
        params.free_outdoor_weight * lagged_outdoor
        + (1 - params.free_outdoor_weight) * params.free_neutral_c
        + params.free_gain_c * frac
        + free_offset
    )
    conditioned = hvac.running[:, None]
    cooling = conditioned & (free_c > params.cooling_setpoint_c)
    heating = conditioned & (free_c < params.heating_setpoint_c)
    target = np.where(
        cooling, params.cooling_setpoint_c + setpoint_offset, np.where(heating, params.heating_setpoint_c - 1.5 * setpoint_offset, free_c)
    )
    b_class = building.office_class == OfficeHvacClass.B
    tau_on = params.hvac_time_constant_h if b_class else params.split_time_constant_h
    tau = np.where(cooling | heating, tau_on, params.free_time_constant_h)
    temp_gain = 1.0 - np.exp(-step_h / tau)

    zone_persons = persons[:, None] * share
    if building.canteen:
        active = (kitchen_activity > 0.05)[:, None]
        ach = np.where(active, params.canteen_ach, params.infiltration_ach_leaky) * np.ones_like(share)
        penetration = np.full(ach.shape, params.pm25_penetration_closed)
    elif b_class:
        fresh_air = conditioned * params.fresh_air_m3_h_person * building.energy_users * share
        ach = params.infiltration_ach_sealed + fresh_air / volume
        penetration = np.where(conditioned, params.pm25_penetration_filtered, params.pm25_penetration_closed)
    else:
        mild = (outdoor >= 16.0) & (outdoor <= 27.0)
        windows = np.where(mild & (frac >= 0.2), 1.0, np.where(mild, 0.25, 0.05))
        ach = params.infiltration_ach_leaky + params.window_ach * windows * np.ones_like(share)
        penetration = params.pm25_penetration_closed + (params.pm25_penetration_open - params.pm25_penetration_closed) * windows
    airflow_m3_h = ach * volume
    co2_target = weather.co2_ppm + 1e6 * params.co2_per_person_m3_h * zone_persons / airflow_m3_h
    co2_gain = 1.0 - np.exp(-ach * step_h)

    # Vapour: outdoor air mixed with what walls, furniture and people buffer (≈ 55 % RH at the zone's
    # temperature), plus occupants; cooling coils dry the air down to ``dehumidified_rh_pct``.
    outdoor_vapour = (weather.humidity_pct / 100.0 * saturation_vapour_hpa(weather.temp_c))[:, None]
    buffered = 0.55 * saturation_vapour_hpa(target)
    vapour = (
        0.6 * outdoor_vapour + 0.4 * buffered + params.occupant_vapour_hpa * np.minimum(zone_persons / (building.energy_users * share), 3.0)
    )
    vapour = np.where(cooling, np.minimum(vapour, params.dehumidified_rh_pct / 100.0 * saturation_vapour_hpa(target)), vapour)
    vapour_gain = 1.0 - np.exp(-step_h / np.where(conditioned, params.vapour_time_constant_on_h, params.vapour_time_constant_off_h))
    pm25 = weather.pm25_ugm3[:, None] * penetration + params.pm25_occupant_ugm3 * frac
    return ZoneDrivers(
        temp_target_c=target,
        temp_gain=temp_gain,
        co2_target_ppm=co2_target,
        co2_gain=co2_gain,
        vapour_target_hpa=vapour,
        vapour_gain=vapour_gain * np.ones_like(share),
        pm25_ugm3=pm25 * np.ones_like(share),
        air_changes_h=ach * np.ones_like(share),
        occupancy=np.broadcast_to(frac, target.shape).copy(),
    )


def step_first_order(state: np.ndarray, target: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """States at each tick boundary: row 0 is ``state``, row i+1 = row i + gain[i] (target[i] − row i)."""
    out = np.empty((len(target) + 1, len(state)))
    out[0] = state
    current = state.copy()
    for i in range(len(target)):
        current = current + gain[i] * (target[i] - current)
        out[i + 1] = current
    return out


def indoor_quantities(
    temp_c: np.ndarray,
    co2_ppm: np.ndarray,
    vapour_hpa: np.ndarray,
    pm25_ugm3: np.ndarray,
    air_changes_h: np.ndarray,
    occupancy: np.ndarray,
    noise: np.ndarray,
    params: IndoorParameters,
) -> dict[str, np.ndarray]:
    """Every IEQ quantity (ticks × zones) from the zone states and drivers, with sensor noise
    (``noise``: ticks × zones × 4 standard normals), kept inside facmon.schema.FIELD_RANGES."""
    humidity = 100.0 * vapour_hpa / saturation_vapour_hpa(temp_c)
    pm25 = np.clip(pm25_ugm3 * np.exp(0.08 * noise[..., 3]), 1.0, 900.0)
    ventilation = 1.0 / (1.0 + 2.0 * air_changes_h)
    return {
        "temperature": np.clip(temp_c + 0.1 * noise[..., 0], -15.0, 55.0),
        "humidity": np.clip(humidity + 1.0 * noise[..., 1], 10.0, 98.0),
        "co2": np.clip(co2_ppm + 8.0 * noise[..., 2], 350.0, 9000.0),
        "pm25": pm25,
        "pm10": np.clip(pm25 * 1.6 + 4.0, 1.0, 1900.0),
        "tvoc": np.clip(0.06 + 0.3 * ventilation + 0.05 * occupancy, 0.01, 10.0),
        "hcho": np.clip((0.012 + 0.06 * ventilation) * (1.0 + 0.04 * (temp_c - 20.0)), 0.002, 1.0),
    }
