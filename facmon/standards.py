"""Codes and numbers taken from standards, each with its source.

This is the one place where a standard-derived code or number lives (docs/architecture.md#conventions).
Sources and confidence levels are listed in docs/standards.md.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NamedTuple

# Building code, 10 characters (MOHURD 2008 分项能耗数据采集技术导则, docs/standards.md#metering-data-model, confidence H):
# 6-digit administrative division code (GB/T 2260) + building type letter + 3-digit number.
BUILDING_CODE = re.compile(r"^(?P<division>\d{6})(?P<type>[A-H])(?P<number>\d{3})$")
BUILDING_TYPES = {
    "A": "办公 office",
    "B": "商场 shopping",
    "C": "宾馆饭店 hotel",
    "D": "文化教育 culture/education",
    "E": "医疗卫生 health",
    "F": "体育 sports",
    "G": "综合 mixed",
    "H": "其他 other",
}

# Energy categories 分类 (导则, docs/standards.md#metering-data-model, confidence M) with the unit their registers count in.
ENERGY_CATEGORIES: dict[str, tuple[str, str]] = {
    "01": ("electricity", "kWh"),
    "02": ("water", "m3"),
    "03": ("gas", "m3"),
    "04": ("district heat", "GJ"),
    "05": ("district cooling", "GJ"),
    "06": ("other", "other"),
    "07": ("coal", "kg"),
    "08": ("LPG", "kg"),
    "09": ("manufactured gas", "m3"),
    "10": ("petrol", "kg"),
    "11": ("kerosene", "kg"),
    "12": ("diesel", "kg"),
    "13": ("renewables", "kWh"),
}

# Electricity sub-items 分项 (导则, docs/standards.md#metering-data-model, confidence M). "01000" is the building's main
# incoming electricity meter (total), the other categories are not split and use "<cc>000".
ELECTRICITY_SUBITEMS: dict[str, str] = {
    "01000": "总用电 total electricity",
    "01A00": "照明插座 lighting & sockets",
    "01A10": "室内照明与插座 room lighting & sockets",
    "01A20": "走廊与应急照明 corridor & emergency lighting",
    "01A30": "室外景观照明 outdoor landscape lighting",
    "01B00": "空调 HVAC",
    "01B10": "冷热站 cooling/heating plant",
    "01B20": "空调末端 terminal units",
    "01C00": "动力 power",
    "01C10": "电梯 elevators",
    "01C20": "水泵 water pumps",
    "01C30": "通风机 ventilation fans",
    "01D00": "特殊用电 special",
    "01D10": "信息中心 IT/data centre",
    "01D20": "洗衣房 laundry",
    "01D30": "厨房餐厅 kitchen/canteen",
    "01D40": "游泳池 pool",
    "01D50": "健身房 gym",
    "01D60": "其他 other",
}


def subitem_codes(energy: str) -> set[str]:
    """Sub-item codes allowed for an energy category code."""
    if energy == "01":
        return set(ELECTRICITY_SUBITEMS)
    return {f"{energy}000"}


class ClimateZone(StrEnum):
    """Building climate zones of GB 50176 as used by GB/T 51161-2016 Table 5.2.1."""

    SEVERE_COLD_COLD = "severe_cold_cold"  # 严寒寒冷
    HOT_SUMMER_COLD_WINTER = "hot_summer_cold_winter"  # 夏热冬冷
    HOT_SUMMER_WARM_WINTER = "hot_summer_warm_winter"  # 夏热冬暖
    MILD = "mild"  # 温和


class OfficeHvacClass(StrEnum):
    """GB/T 51161-2016 office class: A = natural ventilation with split/local AC, B = sealed, central HVAC."""

    A = "A"
    B = "B"


class OfficeUse(StrEnum):
    """GB/T 51161-2016 office use: 党政机关 (party and government) or 商业办公 (commercial)."""

    GOVERNMENT = "government"
    COMMERCIAL = "commercial"


class Severity(StrEnum):
    """Fault severity levels that SLAs are written against."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


# Indoor environment of public buildings (docs/standards.md#indoor-environment, confidence H).
AC_COOLING_SETPOINT_MIN_C = 26.0  # 国办发〔2007〕42号: cooling set points not below 26 °C
AC_HEATING_SETPOINT_MAX_C = 20.0  # 国办发〔2007〕42号: heating set points not above 20 °C
FRESH_AIR_MIN_M3_H_PERSON = 30.0  # GB/T 18883-2022: fresh air at least 30 m³/(h·person)


# ---------------------------------------------------------------------------------------------
# Office energy benchmarks and plan targets (docs/standards.md#energy-indicators-and-plan-targets, §2)
#
# The registry's `energy_targets` section (facmon/registry/energy_targets.py) takes its defaults from here and may
# override every number marked M or L; analytics/benchmarks.py applies them.

# GB/T 51161-2016《民用建筑能耗标准》Table 5.2.1, office buildings: non-heating electricity-equivalent
# energy-use intensity, kWh/(m²·a), as (约束值 constraint, 引导值 guide). Confidence L (docs/standards.md#office-energy-benchmarks:
# verify before relying). Heating in severe-cold and cold zones is assessed separately (Chapter 6).
GBT51161_SOURCE = "GB/T 51161-2016 Table 5.2.1 (docs/standards.md#office-energy-benchmarks, confidence L)"
GBT51161_OFFICE_EUI_KWH_M2: dict[tuple[OfficeHvacClass, OfficeUse, ClimateZone], tuple[float, float]] = {
    (OfficeHvacClass.A, OfficeUse.GOVERNMENT, ClimateZone.SEVERE_COLD_COLD): (55.0, 45.0),
    (OfficeHvacClass.A, OfficeUse.GOVERNMENT, ClimateZone.HOT_SUMMER_COLD_WINTER): (70.0, 55.0),
    (OfficeHvacClass.A, OfficeUse.GOVERNMENT, ClimateZone.HOT_SUMMER_WARM_WINTER): (65.0, 50.0),
    (OfficeHvacClass.A, OfficeUse.GOVERNMENT, ClimateZone.MILD): (50.0, 40.0),
    (OfficeHvacClass.A, OfficeUse.COMMERCIAL, ClimateZone.SEVERE_COLD_COLD): (65.0, 55.0),
    (OfficeHvacClass.A, OfficeUse.COMMERCIAL, ClimateZone.HOT_SUMMER_COLD_WINTER): (85.0, 70.0),
    (OfficeHvacClass.A, OfficeUse.COMMERCIAL, ClimateZone.HOT_SUMMER_WARM_WINTER): (80.0, 65.0),
    (OfficeHvacClass.A, OfficeUse.COMMERCIAL, ClimateZone.MILD): (65.0, 50.0),
    (OfficeHvacClass.B, OfficeUse.GOVERNMENT, ClimateZone.SEVERE_COLD_COLD): (70.0, 50.0),
    (OfficeHvacClass.B, OfficeUse.GOVERNMENT, ClimateZone.HOT_SUMMER_COLD_WINTER): (90.0, 65.0),
    (OfficeHvacClass.B, OfficeUse.GOVERNMENT, ClimateZone.HOT_SUMMER_WARM_WINTER): (80.0, 60.0),
    (OfficeHvacClass.B, OfficeUse.GOVERNMENT, ClimateZone.MILD): (60.0, 45.0),
    (OfficeHvacClass.B, OfficeUse.COMMERCIAL, ClimateZone.SEVERE_COLD_COLD): (80.0, 60.0),
    (OfficeHvacClass.B, OfficeUse.COMMERCIAL, ClimateZone.HOT_SUMMER_COLD_WINTER): (110.0, 80.0),
    (OfficeHvacClass.B, OfficeUse.COMMERCIAL, ClimateZone.HOT_SUMMER_WARM_WINTER): (100.0, 75.0),
    (OfficeHvacClass.B, OfficeUse.COMMERCIAL, ClimateZone.MILD): (70.0, 55.0),
}

# GB/T 51161-2016 correction of the measured value (docs/standards.md#office-energy-benchmarks, confidence M):
#   E_c = E × γ₁ × γ₂,  γ₁ = a₁ + b₁·T₀/T (annual use hours T),  γ₂ = a₂ + b₂·S/S₀ (floor area per person S).
GBT51161_CORRECTION_SOURCE = "GB/T 51161-2016 §5.2 correction (docs/standards.md#office-energy-benchmarks, confidence M)"
GBT51161_GAMMA1_COEFFICIENTS = (0.3, 0.7)  # (a₁, b₁)
GBT51161_GAMMA2_COEFFICIENTS = (0.7, 0.3)  # (a₂, b₂)
GBT51161_REFERENCE_USE_HOURS_H = 2500.0  # T₀, h/a (M; configurable: energy_targets.gbt51161)
GBT51161_REFERENCE_AREA_PER_PERSON_M2 = 10.0  # S₀, m²/person (M; configurable: energy_targets.gbt51161)

# 14th Five-Year plan for public institutions,《"十四五"公共机构节约能源资源工作规划》(2021),
# docs/standards.md#energy-indicators-and-plan-targets, confidence H: the national 2020 baseline and the
# 2025 reductions against it. Indicator names are those of analytics/indicators.py. There is no national
# CO₂ baseline: its base value is always measured.
FYP14_SOURCE = '《"十四五"公共机构节约能源资源工作规划》 (2021), docs/standards.md#energy-indicators-and-plan-targets, confidence H'
FYP14_NAME = "十四五 (14th Five-Year plan, public institutions)"
FYP14_BASE_YEAR = 2020
FYP14_TARGET_YEAR = 2025
FYP14_NATIONAL_BASE_VALUES: dict[str, float] = {
    "kgce_per_m2": 18.48,  # kgce/(m²·a)
    "kgce_per_person": 329.56,  # kgce/(person·a)
    "water_m3_per_person": 21.53,  # m³/(person·a)
}
FYP14_REDUCTIONS: dict[str, float] = {  # fraction below the base-year value by the target year
    "kgce_per_m2": 0.05,
    "kgce_per_person": 0.06,
    "water_m3_per_person": 0.06,
    "co2_kg_per_m2": 0.07,
}


# -- Measurement and verification (docs/standards.md#measurement-and-verification) ----------------------------------------------------
# IPMVP Option C (whole building), ASHRAE Guideline 14 statistics, CalTRACK 2.0 methods. These are
# defaults: every analytics function that uses one takes it as a parameter. "CalTRACK 2.0 §x" numbers
# were read from the CalTRACK methods text (confidence M, not yet listed in docs/standards.md#measurement-and-verification).

# Baseline data sufficiency (docs/standards.md#measurement-and-verification: 365 days, ≥ 90 % valid days; CalTRACK 2.0 §2.2).
MV_BASELINE_MIN_DAYS = 365
MV_BASELINE_MIN_VALID_FRACTION = 0.90

# Acceptance of a baseline fit (docs/standards.md#measurement-and-verification, confidence M: "check the edition" of Guideline 14).
MV_DAILY_CVRMSE_MAX = 0.25
MV_DAILY_NMBE_MAX = 0.005
MV_HOURLY_CVRMSE_MAX = 0.30
MV_HOURLY_NMBE_MAX = 0.10

# Fractional savings uncertainty, ASHRAE G14 Annex B (docs/standards.md#measurement-and-verification): savings are "inconclusive" when
# FSU exceeds 50 % at 68 % confidence; K = 1.26 for hourly data (docs/standards.md#measurement-and-verification, M).
MV_FSU_INCONCLUSIVE_ABOVE = 0.50
MV_FSU_CONFIDENCE = 0.68
MV_FSU_K_HOURLY = 1.26
# Sun & Baltazar (2013) correction for daily data, K = a·M² + b·M + d with M the months of the
# reporting period (CalTRACK 2.0 §4.3.1.4.6, M).
MV_FSU_SUN_BALTAZAR_DAILY = (-0.00024, 0.03535, 1.00286)

# Daily change-point model search (CalTRACK 2.0 §3.2, M): balance points 30–90 °F, here in °C on a
# 0.5 K grid; a slope counts only if positive with p < 0.10 and backed by ≥ 10 days with non-zero
# degree days and ≥ 20 °F·day (11.1 K·day) of them in total.
MV_BALANCE_POINT_MIN_C = -1.0  # 30 °F
MV_BALANCE_POINT_MAX_C = 32.0  # 90 °F
MV_BALANCE_POINT_STEP_K = 0.5
MV_SLOPE_P_VALUE_MAX = 0.10
MV_MIN_NONZERO_DEGREE_DAYS = 10
MV_MIN_TOTAL_DEGREE_DAYS_K_DAY = 20 / 1.8

# Hourly time-of-week-and-temperature model (CalTRACK 2.0 §3.8, M): temperature knots 30, 45, 55, 65,
# 75, 90 °F in °C; an hour of the week is "occupied" when the load sits above a regression on
# heating and cooling degree hours (balance points 50 °F and 65 °F) in more than 65 % of its hours.
MV_TOWT_TEMPERATURE_KNOTS_C = (-1.1, 7.2, 12.8, 18.3, 23.9, 32.2)
MV_TOWT_OCCUPANCY_THRESHOLD = 0.65
MV_TOWT_OCCUPANCY_BALANCE_C = (10.0, 18.3)


# -- Conversion factors (docs/standards.md#conversion-factors) -------------------------------------------------------------
# Energy to standard coal (kgce) and to CO₂, versioned by data year. The registry's
# `energy_factors` section (facmon/registry/energy_factors.py) picks the grid region and data year and may override
# any factor; analytics/daily.py records on every energy_daily point which version it used.


class ConversionFactor(NamedTuple):
    """One conversion factor: ``value`` in ``unit``, where it comes from, and how sure we are (H/M/L)."""

    value: float
    unit: str
    source: str
    confidence: str
    data_year: int | None = None


# Standard coal equivalent per unit of the energy category's register unit (ENERGY_CATEGORIES).
# Water (02) has none; categories without an entry get no kgce (the analysis reports them).
KGCE_PER_UNIT: dict[str, ConversionFactor] = {
    # Public-institution statistics use the 当量值 (calorific equivalent) of electricity.
    "01": ConversionFactor(0.1229, "kgce/kWh", "electricity 当量值 (docs/standards.md#conversion-factors)", "H"),
    "03": ConversionFactor(1.2143, "kgce/m3", "natural gas, gas field (docs/standards.md#conversion-factors)", "M"),
    "04": ConversionFactor(34.12, "kgce/GJ", "heat 0.03412 kgce/MJ (docs/standards.md#conversion-factors)", "M"),
    "08": ConversionFactor(1.7143, "kgce/kg", "LPG (docs/standards.md#conversion-factors)", "M"),
    "10": ConversionFactor(1.4714, "kgce/kg", "petrol (docs/standards.md#conversion-factors)", "M"),
    "12": ConversionFactor(1.4571, "kgce/kg", "diesel (docs/standards.md#conversion-factors)", "M"),
}
# The 等价值 of electricity (≈0.30 kgce/kWh, changes yearly, docs/standards.md#conversion-factors confidence L) is not used by
# public-institution statistics; a site that needs it sets energy_factors.kgce_per_unit['01'].

# Grid regions of the published CO₂ factors: national average and the seven regional grids.
GRID_REGIONS: dict[str, str] = {
    "national": "全国 national average",
    "north": "华北 North China",
    "northeast": "东北 Northeast",
    "east": "华东 East China",
    "central": "华中 Central China",
    "northwest": "西北 Northwest",
    "south": "南方 China Southern",
    "southwest": "西南 Southwest",
}
_GRID_CO2_SOURCE = "电力二氧化碳排放因子, 生态环境部/国家统计局 (docs/standards.md#conversion-factors)"
# Grid electricity CO₂, kgCO₂/kWh, by (data year, region). Confidence H for every entry.
GRID_CO2_KG_PER_KWH: dict[tuple[int, str], ConversionFactor] = {
    (2021, "national"): ConversionFactor(0.5568, "kgCO2/kWh", _GRID_CO2_SOURCE, "H", 2021),
    (2022, "national"): ConversionFactor(0.5366, "kgCO2/kWh", _GRID_CO2_SOURCE, "H", 2022),
    (2023, "national"): ConversionFactor(0.5306, "kgCO2/kWh", _GRID_CO2_SOURCE + ", published 2026", "H", 2023),
    (2023, "north"): ConversionFactor(0.6361, "kgCO2/kWh", _GRID_CO2_SOURCE, "H", 2023),
    (2023, "northeast"): ConversionFactor(0.5122, "kgCO2/kWh", _GRID_CO2_SOURCE, "H", 2023),
    (2023, "east"): ConversionFactor(0.5500, "kgCO2/kWh", _GRID_CO2_SOURCE, "H", 2023),
    (2023, "central"): ConversionFactor(0.5271, "kgCO2/kWh", _GRID_CO2_SOURCE, "H", 2023),
    (2023, "northwest"): ConversionFactor(0.5543, "kgCO2/kWh", _GRID_CO2_SOURCE, "H", 2023),
    (2023, "south"): ConversionFactor(0.4042, "kgCO2/kWh", _GRID_CO2_SOURCE, "H", 2023),
    (2023, "southwest"): ConversionFactor(0.2472, "kgCO2/kWh", _GRID_CO2_SOURCE, "H", 2023),
}
DEFAULT_GRID_REGION = "national"
DEFAULT_FACTOR_DATA_YEAR = 2023
# docs/standards.md#conversion-factors gives CO₂ factors for grid electricity only: CO₂ of gas, heat and fuels is written only
# when the site sets energy_factors.co2_kg_per_unit for the category (with its source in the YAML).


# -- Vendor maintenance-quality score (docs/standards.md#indoor-environment, §6) ---------------------------------------------
# Defaults of the registry's `vendor_scoring` section (facmon/registry/scoring.py); analytics/vendor_score.py
# applies them. M/L numbers are configurable there.

# Outsourced property and maintenance services, common contract KPIs (docs/standards.md#outsourced-services, confidence M/L).
VENDOR_KPI_SOURCE = "common 物业服务 contract KPIs (docs/standards.md#outsourced-services, confidence M/L)"
EQUIPMENT_GOOD_ORDER_MIN_SHARE = 0.98  # 设备完好率 ≥ 98 % (M/L)
REPAIR_TIMELINESS_MIN_SHARE = 0.95  # 维修及时率 ≥ 95 % (M/L)
# 川机管发〔2015〕53号 (docs/standards.md#outsourced-services, H): urgent repairs on site within 30 min. Arrival is measured by the
# work orders (the vendor's on-site timeliness); SLA onsite_min terms should not be looser than this.
URGENT_REPAIR_ONSITE_MAX_MIN = 30.0
# Satisfaction ≥ 85–95 % (M/L): the share of return visits (回访) rated satisfied (4 or 5 of 5); the middle of the range.
SATISFACTION_MIN_SHARE = 0.90

# GB/T 18883-2022 indoor air quality (docs/standards.md#indoor-environment): comfort bands for the vendor's IEQ compliance.
GBT18883_SOURCE = "GB/T 18883-2022 (docs/standards.md#indoor-environment)"
GBT18883_TEMPERATURE_SUMMER_C = (22.0, 28.0)  # H
GBT18883_TEMPERATURE_WINTER_C = (16.0, 24.0)  # H
GBT18883_HUMIDITY_SUMMER_PCT = (40.0, 80.0)  # % RH, H
GBT18883_HUMIDITY_WINTER_PCT = (30.0, 60.0)  # % RH, H
GBT18883_CO2_MAX_PPM = 1000.0  # 0.10 %, 1-hour mean (M)
GBT18883_PM25_MAX_UG_M3 = 50.0  # 24-hour mean (M)
GBT18883_PM10_MAX_UG_M3 = 100.0  # 24-hour mean (M)
GBT18883_HCHO_MAX_MG_M3 = 0.08  # formaldehyde, 1-hour mean (H)
GBT18883_TVOC_MAX_MG_M3 = 0.60  # 8-hour mean (M)

# GB/T 18883-2022 (docs/standards.md#indoor-environment), further limits used by the fault detectors (analytics/fault_detectors.py).
GBT18883_CO2_MEAN_WINDOW_S = 3600  # the CO₂ limit is a 1-hour mean (M)
GBT18883_PM25_MAX_UG_M3 = 50.0  # 24-hour mean (M)
GBT18883_PM10_MAX_UG_M3 = 100.0  # 24-hour mean (M)
