"""The quarterly and annual statistics return (公共机构能源资源消费统计): the forms' rows filled from facmon's
figures where it measures them, left blank and marked for the officer where it does not, never guessed.

The forms' fields, codes and their confirmation status are data (``statistics_forms.yaml``, sources in
docs/standards.md), not code: the 2025 revision's own forms were not found, so a code is printed as
unconfirmed and a unit is facmon's measured unit, stated on the row. The figures are those of the energy
report (the site's totals of `facmon score energy` for the period), with the days they rest on; a total
that rests on fewer days than the period has, or scales a building measured on fewer days, says so on its
row. A site here is one reporting institution (the registry has no grouping of buildings by institution);
each building's figures follow on their own sheet for the officer's reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from facmon.errors import InputError
from facmon.reports.document import Masthead, facmon_version, write_document
from facmon.reports.energy_report import scaled
from facmon.reports.labels import text
from facmon.standards import ENERGY_CATEGORIES

FORMS = Path(__file__).resolve().parent / "statistics_forms.yaml"
UNITS_ZH = {"kWh": "千瓦时", "m3": "立方米", "GJ": "吉焦", "kg": "千克"}
OFFICER = "officer"
UNCONFIRMED_NOTE = (
    "代码为 2020 版统计平台的行代码，未能与 2025 年修订后的正式表式核对，标注“待核”；计量单位为 facmon 的计量单位，"
    "当地系统要求其他单位（如万千瓦时）时请换算。黄色单元格由填报人填写，facmon 不猜测。详见 docs/standards.md。"
)


@cache
def forms() -> dict[str, Any]:
    """The forms' definition (statistics_forms.yaml)."""
    found: dict[str, Any] = yaml.safe_load(FORMS.read_text(encoding="utf-8"))
    return found


@dataclass(frozen=True)
class ReturnRow:
    """One row of a form: ``value`` None when facmon cannot fill it (``by_officer``) or has no such meter."""

    field: str
    code: str
    unit: str
    value: float | str | None
    by_officer: bool
    note: str

    @property
    def marked_note(self) -> str:
        """The note, led by 待填报 on a row the officer fills (the value cell stays empty for them)."""
        return "待填报" + (f"：{self.note}" if self.note else "") if self.by_officer else self.note

    @property
    def numeric(self) -> bool:
        return isinstance(self.value, (int, float))

    @property
    def shown(self) -> str:
        if self.value is None:
            return ""
        if isinstance(self.value, str):
            return self.value
        return f"{self.value:,}" if isinstance(self.value, int) else f"{self.value:,.2f}"


def _coverage_note(figures: dict[str, Any]) -> str:
    """Why the site's totals are not the whole period's measured sum, or ""."""
    site = figures["site_indicators"]["totals"]["days_with_data"]
    days = figures["period_days"]
    notes = []
    if figures.get("period_elapsed_days", days) < days:
        notes.append(f"报告期尚未结束（已过 {figures['period_elapsed_days']} 天）")
    if site < days:
        notes.append(f"数据覆盖 {site}/{days} 天，请与账单核对")
    if scaled(figures, figures["site_indicators"]):
        notes.append(f"有数据天数较少的建筑按日均值折算到 {site} 天（非实测合计）")
    return "；".join(notes)


def form_rows(figures: dict[str, Any], form: str, indicators: dict[str, Any] | None = None) -> list[ReturnRow]:
    """The rows of ``form`` (basic or consumption) for the site, or for one building's ``indicators``."""
    institution = figures["institution"]
    found = indicators or figures["site_indicators"]
    totals = found["totals"]
    coverage = _coverage_note(figures) if indicators is None else ""
    rows = []
    for entry in forms()[form]["rows"]:
        fill = entry["fill"]
        unit, value, note, officer = entry.get("unit", ""), None, entry.get("note", ""), fill == OFFICER
        if fill.startswith("registry:"):
            key = fill.split(":", 1)[1]
            value = {  # the registry's: every building's area and users, not only those with data in the period
                "site.name": found["name"] if indicators is not None else figures["site"],
                "site.division_code": institution["division_code"],
                "floor_area_m2": found["floor_area_m2"] if indicators is not None else institution["floor_area_m2"],
                "energy_users": found["energy_users"] if indicators is not None else institution["energy_users"],
            }[key]
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # an area or a head count from the registry, as entered
            note = note or "facmon 登记表"
        elif fill.startswith("metered:"):
            category = fill.split(":", 1)[1]
            unit = UNITS_ZH.get(ENERGY_CATEGORIES[category][1], ENERGY_CATEGORIES[category][1])
            metered = institution["metered_energy"] if indicators is None else institution["metered_energy_by_building"][found["building"]]
            if category in metered:
                value = totals["consumption_by_energy"].get(category)
                if value is None:  # a meter, but no data of this energy in the period: blank, never 0
                    note = "facmon 计量：本期无该品种数据"
                else:
                    note = f"facmon 计量（{totals['days_with_data']} 天）" + (f"；{coverage}" if coverage else "")
            else:
                officer = True
                note = "facmon 无此类计量表"
        code = entry.get("code", "")
        if isinstance(value, float):
            value = round(value, 2)  # the return's precision: the workbook, the PDF and the JSON say the same
        rows.append(ReturnRow(entry["field"], f"{code}（待核）" if code else "", unit, value, officer, note))
    return rows


def indicator_rows(figures: dict[str, Any]) -> list[ReturnRow]:
    """综合能耗 and the per-area and per-person indicators of the period (over its days with data)."""
    site = figures["site_indicators"]
    has_data = site["totals"]["days_with_data"] > 0
    values = {"tce": site["totals"]["kgce"] / 1000 if has_data else None, **(site["period_values"] if has_data else {})}
    if "02" not in site["totals"]["consumption_by_energy"]:
        values["water_m3_per_person"] = None  # no water measured: not 0 m³ per person
    basis = f"本期 {site['totals']['days_with_data']}/{figures['period_days']} 天；折标系数 {figures['energy_factors']}（当量值）"
    rows = []
    for e in forms()["indicators"]:
        value = values.get(e["value"])
        rows.append(ReturnRow(e["field"], "", e["unit"], None if value is None else round(value, 2), False, basis))
    return rows


def check_period(figures: dict[str, Any]) -> None:
    """The return is quarterly or annual."""
    months = (
        (int(figures["period_end"][:4]) - int(figures["period_start"][:4])) * 12
        + int(figures["period_end"][5:7])
        - int(figures["period_start"][5:7])
    )
    if months not in (3, 12):
        raise InputError(f"--period {figures['period']}: the statistics return is for a quarter (2026-Q3) or a year (2026)")


def write_statistics_return(figures: dict[str, Any], out: Path, fmt: str, generated_at: Any) -> Path:
    """The return of ``figures`` (the energy report's JSON) to ``out``: xlsx laid out like the forms, or pdf/html."""
    check_period(figures)
    sheets = {
        "basic": form_rows(figures, "basic"),
        "consumption": form_rows(figures, "consumption"),
    }
    indicators = indicator_rows(figures)
    if fmt == "xlsx":
        return write_return_workbook(figures, sheets, indicators, out)
    masthead = Masthead(figures["site"], text("statistics_return", "zh"), figures["period"], generated_at, "zh")
    context = {
        "t": lambda key, **fields: text(key, "zh", **fields),
        "figures": figures,
        "forms": forms(),
        "sheets": sheets,
        "indicators": indicators,
        "buildings": [(b, form_rows(figures, "consumption", b["indicators"])) for b in figures["buildings"]],
    }
    return write_document("statistics.html", masthead, context, out, fmt)


def write_return_workbook(figures: dict[str, Any], sheets: dict[str, list[ReturnRow]], indicators: list[ReturnRow], out: Path) -> Path:
    """One sheet per form as the forms lay them out (指标名称, 代码, 计量单位, 本期, 说明), the officer's cells
    shaded and marked; the indicators, each building and the sources on their own sheets."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    if out.suffix.lower() != ".xlsx":
        raise InputError(f"--out {out}: a workbook is written to a .xlsx file")
    officer_fill = PatternFill("solid", fgColor="FFF2CC")
    bold = Font(bold=True)
    workbook = Workbook()
    workbook.remove(workbook.active)
    period = f"报告期：{figures['period']}（{figures['period_start']} 至 {figures['period_end']}，不含末日）"

    def sheet(title: str, heading: str, rows: list[ReturnRow]) -> None:
        ws = workbook.create_sheet(title)
        ws.append([heading])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([f"填报单位：{figures['site']}", "", "", period])
        ws.append(["指标名称", "代码", "计量单位", "本期", "说明"])
        for cell in ws[3]:
            cell.font = bold
        for row in rows:
            ws.append([row.field, row.code, row.unit, row.value, row.marked_note])
            if row.by_officer:
                ws.cell(ws.max_row, 4).fill = officer_fill
            if isinstance(row.value, float):
                ws.cell(ws.max_row, 4).number_format = "#,##0.00"
        ws.append([])
        ws.append(["单位负责人：", "", "填表人：", "联系电话：", "报出日期："])
        for column, width in zip("ABCDE", (26, 14, 12, 18, 60), strict=True):
            ws.column_dimensions[column].width = width
        for cells in ws.iter_rows(min_row=4):
            cells[4].alignment = Alignment(wrap_text=True, vertical="top")

    sheet("基本信息", forms()["basic"]["title"], sheets["basic"])
    sheet("能源资源消费", forms()["consumption"]["title"], sheets["consumption"])
    sheet("指标", "主要指标（由上表计算，非表内指标）", indicators)
    for b in figures["buildings"]:
        sheet(b["building"], f"{b['name']}（参考：本建筑的计量数据）", form_rows(figures, "consumption", b["indicators"]))
    sources = workbook.create_sheet("依据")
    sources.append(["表式依据", forms()["revision"]])
    sources.append(["说明", UNCONFIRMED_NOTE])
    sources.append(["数据", f"facmon 计量数据（energy_daily），折标系数 {figures['energy_factors']}，facmon {facmon_version()}"])
    sources.column_dimensions["B"].width = 120
    workbook.save(out)
    return out
