"""Codes and numbers taken from standards, each with its source.

This is the one place where a standard-derived code or number lives (DESIGN.md, Conventions).
Sources and confidence levels are those of ``shared/domain/FACTS.md``.
"""

from __future__ import annotations

import re
from enum import StrEnum

# Building code, 10 characters (MOHURD 2008 分项能耗数据采集技术导则, FACTS §4, confidence H):
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

# Energy categories 分类 (导则, FACTS §4, confidence M) with the unit their registers count in.
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

# Electricity sub-items 分项 (导则, FACTS §4, confidence M). "01000" is the building's main
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


# Indoor environment of public buildings (FACTS §5, confidence H).
AC_COOLING_SETPOINT_MIN_C = 26.0  # 国办发〔2007〕42号: cooling set points not below 26 °C
AC_HEATING_SETPOINT_MAX_C = 20.0  # 国办发〔2007〕42号: heating set points not above 20 °C
FRESH_AIR_MIN_M3_H_PERSON = 30.0  # GB/T 18883-2022: fresh air at least 30 m³/(h·person)
