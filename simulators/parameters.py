"""Every number the building model rests on, in one place, each with where it comes from.

Confidence as docs/standards.md grades it: **H** official text, **M** one secondary source,
**L** engineering assumption chosen so the simulated buildings land on the published benchmarks
(annual EUI of a 夏热冬冷 B-class government office ≈ 60-90 kWh/m²·a, GB/T 51161 constraint 90,
guide 65; water ≈ 21.5 m³/person·a, the 2020 national baseline). L numbers are parameters, not
truths: pass a modified :class:`ModelParameters` to :class:`facmon.simulators.SiteSimulator` to change them.

Numbers that come from standards and that other parts of facmon also need (set points, fresh air)
live in ``facmon/standards.py`` with their source and are only referenced here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from facmon.standards import AC_COOLING_SETPOINT_MIN_C, AC_HEATING_SETPOINT_MAX_C, FRESH_AIR_MIN_M3_H_PERSON, ClimateZone


@dataclass(frozen=True)
class ClimateNormals:
    """Outdoor climate of one GB 50176 climate zone, from rounded 1991-2020 normals of a representative
    city (confidence L: rounded from memory of published normals, good enough for demos)."""

    representative_city: str
    january_mean_c: float  # monthly mean air temperature, °C
    july_mean_c: float  # °C
    coldest_day_of_year: float  # day of year of the seasonal minimum (≈ 20 January)
    daily_range_c: float  # mean diurnal range (daily max - daily min), °C
    humidity_mean_pct: float  # annual mean relative humidity, % RH
    humidity_summer_extra_pct: float  # July mean minus annual mean, % RH
    pm25_winter_ugm3: float  # winter mean outdoor PM2.5, µg/m³
    pm25_summer_ugm3: float  # summer mean outdoor PM2.5, µg/m³
    cooling_design_c: float  # outdoor temperature at which the cooling plant runs at design load, °C
    heating_design_c: float  # outdoor temperature at which the heating plant runs at design load, °C

    @property
    def annual_mean_c(self) -> float:
        return (self.january_mean_c + self.july_mean_c) / 2

    @property
    def seasonal_amplitude_c(self) -> float:
        return (self.july_mean_c - self.january_mean_c) / 2


CLIMATES: dict[ClimateZone, ClimateNormals] = {
    ClimateZone.SEVERE_COLD_COLD: ClimateNormals("Beijing", -3.0, 27.0, 20.0, 10.5, 56.0, 18.0, 55.0, 30.0, 33.5, -7.5),
    ClimateZone.HOT_SUMMER_COLD_WINTER: ClimateNormals("Hefei/Nanjing", 3.0, 28.5, 20.0, 7.5, 75.0, 5.0, 65.0, 25.0, 35.0, -2.5),
    ClimateZone.HOT_SUMMER_WARM_WINTER: ClimateNormals("Guangzhou", 13.6, 29.0, 20.0, 7.0, 77.0, 6.0, 40.0, 20.0, 34.2, 8.0),
    ClimateZone.MILD: ClimateNormals("Kunming", 8.9, 20.0, 20.0, 11.0, 72.0, 10.0, 30.0, 18.0, 26.2, 3.6),
}


@dataclass(frozen=True)
class WeatherParameters:
    """Shape of the outdoor weather around the climate normals (L)."""

    coldest_hour: float = 5.0  # local clock hour of the daily minimum
    warmest_hour: float = 15.0  # local clock hour of the daily maximum
    daily_anomaly_c: float = 1.8  # std of the day-to-day anomaly knots, °C
    synoptic_anomaly_c: float = 1.8  # std of the 5-day (weather system) anomaly knots, °C
    synoptic_period_days: float = 5.0
    short_anomaly_c: float = 0.25  # 3-hourly wiggle, °C
    humidity_per_c: float = 2.5  # % RH lost per °C of daily-cycle warming
    cloud_humidity_pct: float = 14.0  # % RH added on an overcast day over a clear day
    co2_outdoor_ppm: float = 420.0  # outdoor CO₂ (M: NOAA global mean 2024 ≈ 423 ppm)


@dataclass(frozen=True)
class OccupancyParameters:
    """When people are in the building (L, typical Chinese government office routine)."""

    night_fraction: float = 0.01  # security, cleaners
    attendance_min: float = 0.85  # share of energy users present in core hours, drawn per day
    attendance_max: float = 0.95
    duty_fraction_min: float = 0.02  # weekends and holidays: duty staff in the day
    duty_fraction_max: float = 0.06
    lunch_start: time = time(12, 0)
    lunch_end: time = time(13, 30)
    lunch_dip: float = 0.6  # share of the core-hours level present during the lunch break
    overtime_fraction: float = 0.08  # share present 1.5 h after closing on working days
    tick_noise: float = 0.03  # relative std of the per-tick wobble
    lunch_share: float = 0.65  # share of the site's office users eating lunch in the canteen
    breakfast_per_lunch: float = 0.4  # breakfasts served per lunch
    dinner_per_lunch: float = 0.2  # dinners served per lunch
    canteen_weekend_activity: float = 0.1  # kitchen activity on days off relative to working days


@dataclass(frozen=True)
class LoadParameters:
    """Electric, water and gas loads of an office building (L unless stated)."""

    lighting_sockets_base_w_m2: float = 0.9  # standby of PCs, printers, chargers, night lights
    lighting_sockets_occupied_w_m2: float = 8.5  # added at full occupancy
    corridor_base_w_m2: float = 0.2  # emergency and night corridor lighting
    corridor_day_w_m2: float = 0.6  # added 07:00-20:00 on working days
    outdoor_lighting_share: float = 0.6  # of the outdoor lighting meters' rated power, dusk to switch-off
    outdoor_lighting_off: time = time(22, 30)
    cooling_balance_c: float = 22.0  # outdoor temperature above which offices need cooling
    heating_balance_c: float = 14.0  # outdoor temperature below which offices need heating
    cooling_plant_design_w_m2: float = 30.0  # electric, chillers + chilled-water pumps at design
    heating_plant_design_w_m2: float = 20.0  # electric, heat pumps at design
    plant_min_demand: float = 0.04  # below this the plant stays off
    hvac_prestart_h: float = 1.0  # HVAC starts this long before office hours (pull-down/warm-up)
    prestart_boost: float = 1.3  # demand multiplier during the pre-start hour
    terminal_base_w_m2: float = 1.2  # AHU / fresh-air fans whenever HVAC runs
    terminal_demand_w_m2: float = 2.2  # added at design cooling/heating demand
    split_ac_design_w_m2: float = 16.0  # A-class split/VRF units, electric at design demand
    district_heat_design_w_m2: float = 45.0  # thermal, when the building has 04 district-heat meters
    district_cooling_design_w_m2: float = 90.0  # thermal, when the building has 05 district-cooling meters
    elevator_standby_share: float = 0.04  # of rated power, 24 h
    elevator_occupied_share: float = 0.22  # added at full occupancy
    elevator_traffic_share: float = 0.6  # added per unit of occupancy change per hour
    water_pump_base_share: float = 0.05  # booster pumps, of rated power, 24 h
    water_pump_flow_share: float = 0.45  # added at the building's peak water flow
    fan_working_share: float = 0.65  # ventilation fans in working hours
    fan_off_share: float = 0.08
    it_base_w_m2: float = 0.85  # server room and network, 24 h
    it_occupied_w_m2: float = 0.3
    kitchen_base_share: float = 0.06  # refrigeration, of the kitchen meters' rated power
    kitchen_cooking_share: float = 0.6  # at peak cooking activity
    other_special_base_share: float = 0.25  # 01D20/01D40-01D60 meters, of rated power
    main_meter_losses: float = 1.02  # main meter = sum of sub-meters x this (cables, transformer)
    electric_noise: float = 0.03  # relative std per tick
    water_per_occupant_hour_m3: float = 0.0075  # toilets, tea, cleaning
    water_base_m3_h_per_m2: float = 0.008e-3  # leaks, cleaning, irrigation
    water_per_meal_m3: float = 0.012  # canteen cooking and dishwashing
    gas_per_meal_m3: float = 0.07  # canteen stoves and hot water
    gas_domestic_per_occupant_hour_m3: float = 0.002  # water heaters in an office building with gas
    water_noise: float = 0.35  # relative std per tick (flushes are bursty)
    water_submetered_share: float = 0.8  # with a MAIN water meter, the sub-meters together see this share


@dataclass(frozen=True)
class IndoorParameters:
    """Indoor environment (sources per line)."""

    cooling_setpoint_c: float = AC_COOLING_SETPOINT_MIN_C  # offices keep the 国办发〔2007〕42号 limits exactly
    heating_setpoint_c: float = AC_HEATING_SETPOINT_MAX_C
    fresh_air_m3_h_person: float = FRESH_AIR_MIN_M3_H_PERSON  # ventilation designed to the GB/T 18883 minimum
    co2_per_person_m3_h: float = 0.0187  # sedentary adult, 0.0052 L/s (M: ASHRAE 62.1 user's manual)
    ceiling_height_m: float = 3.0  # L
    infiltration_ach_sealed: float = 0.2  # B-class, air changes per hour (L)
    infiltration_ach_leaky: float = 0.35  # A-class with windows shut (L)
    window_ach: float = 1.6  # A-class, windows open in mild weather (L)
    hvac_time_constant_h: float = 0.6  # zone temperature lag while conditioned (L)
    split_time_constant_h: float = 1.0
    free_time_constant_h: float = 6.0  # zone temperature lag while free-floating (L)
    free_outdoor_weight: float = 0.55  # free-floating zone temperature = w·T_out + (1-w)·neutral + gains (L)
    free_neutral_c: float = 21.0
    free_gain_c: float = 2.5  # warming at full occupancy, °C
    dehumidified_rh_pct: float = 55.0  # cooling coils hold RH at or below this (L)
    vapour_time_constant_on_h: float = 1.0  # indoor vapour lag while the HVAC runs (L)
    vapour_time_constant_off_h: float = 3.0
    occupant_vapour_hpa: float = 1.5  # vapour pressure added at full occupancy (L)
    pm25_penetration_filtered: float = 0.35  # B-class with filters running (L)
    pm25_penetration_closed: float = 0.55
    pm25_penetration_open: float = 0.85
    pm25_occupant_ugm3: float = 4.0
    canteen_ach: float = 4.0  # dining halls with kitchen extract and AC (L)


@dataclass(frozen=True)
class ModelParameters:
    """All parameters of the building model."""

    weather: WeatherParameters = field(default_factory=WeatherParameters)
    occupancy: OccupancyParameters = field(default_factory=OccupancyParameters)
    loads: LoadParameters = field(default_factory=LoadParameters)
    indoor: IndoorParameters = field(default_factory=IndoorParameters)
    climates: dict[ClimateZone, ClimateNormals] = field(default_factory=lambda: dict(CLIMATES))


DEFAULT_PARAMETERS = ModelParameters()


def hour_of(t: time) -> float:
    """A clock time as decimal hours."""
    return t.hour + t.minute / 60 + t.second / 3600
