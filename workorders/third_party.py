"""The import of a third-party assessor's scores (第三方评价) from CSV or XLSX (docs/assessment.md has the
template): one row per vendor and period. A file with any problem is refused as a whole, every problem
named by row and column; nothing is half-imported."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from facmon.errors import InputError
from facmon.periods import PeriodError, parse_period
from facmon.registry import Site
from facmon.workorders.inspections import closure_over
from facmon.workorders.lifecycle import Role
from facmon.workorders.models import ThirdPartyScore
from facmon.workorders.orders import Actor

REQUIRED_COLUMNS = ("vendor", "period", "score", "assessor")
OPTIONAL_COLUMNS = ("note",)
MAX_ROWS = 10_000


@dataclass(frozen=True)
class Problem:
    """One problem of an import file: the row as a spreadsheet numbers it (header = 1), the column, what is wrong."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class ImportRefused(InputError):
    """The file was not imported; :attr:`problems` names each problem by row and column."""

    def __init__(self, source: str, problems: list[Problem]):
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{source}: nothing imported, {len(problems)} problem(s):\n{shown}{more}")
        self.source = source
        self.problems = problems


@dataclass(frozen=True)
class ThirdPartyRow:
    row: int
    vendor: str
    period: str
    score: float
    assessor: str
    note: str


def read_table(path: Path) -> list[list[str]]:
    """The file's cells as text, header first: CSV in UTF-8 (with or without BOM) or GB18030 (Excel's
    Chinese CSV), or the first sheet of an XLSX workbook."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a damaged file
            raise InputError(f"{path}: not a readable XLSX workbook ({error})") from None
        sheet = workbook.worksheets[0]
        rows = [["" if cell is None else str(cell).strip() for cell in row] for row in sheet.iter_rows(values_only=True)]
        workbook.close()
        return rows
    if path.suffix.lower() != ".csv":
        raise InputError(f"{path}: the import reads .csv or .xlsx files")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(f"{path}: neither UTF-8 nor GB18030 text")
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def parse_rows(table: list[list[str]], site: Site) -> tuple[list[ThirdPartyRow], list[Problem]]:
    """Check every cell of ``table`` (header first) and return the rows and every problem found."""
    problems: list[Problem] = []
    if not table or not any(table[0]):
        return [], [Problem(1, "", f"no header row; expected columns {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}")]
    header = [h.strip().lower() for h in table[0]]
    while header and header[-1] == "":
        header.pop()
    for i, name in enumerate(header):
        if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            expected = ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
            problems.append(Problem(1, name or f"#{i + 1}", f"unknown column; the template has {expected}"))
        elif header.index(name) != i:
            problems.append(Problem(1, name, "column given twice"))
    for name in REQUIRED_COLUMNS:
        if name not in header:
            problems.append(Problem(1, name, "required column missing"))
    if problems:
        return [], problems
    if len(table) - 1 > MAX_ROWS:
        return [], [Problem(MAX_ROWS + 2, "", f"more than {MAX_ROWS} rows")]
    vendors = {v.id for v in site.vendors}
    rows: list[ThirdPartyRow] = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        value = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}
        vendor, label, assessor = value["vendor"], value["period"], value["assessor"]
        row_problems = []
        if vendor not in vendors:
            row_problems.append(Problem(number, "vendor", f"{vendor!r} is not a vendor of the registry ({', '.join(sorted(vendors))})"))
        try:
            period = parse_period(label)
            if period.kind not in ("month", "quarter", "year"):
                raise PeriodError(f"period {label!r} must be a month, a quarter or a year")
            closure = closure_over(period)
            if closure is not None:
                row_problems.append(Problem(number, "period", f"period {closure.period} is closed; its scores are no longer imported"))
            label = period.label
        except PeriodError as error:
            row_problems.append(Problem(number, "period", str(error)))
        try:
            score = float(value["score"])
            if not math.isfinite(score) or not 0 <= score <= 100:
                raise ValueError
        except ValueError:
            row_problems.append(Problem(number, "score", f"{value['score']!r} is not a score from 0 to 100"))
            score = math.nan
        if not assessor:
            row_problems.append(Problem(number, "assessor", "empty; name the third-party assessor"))
        elif len(assessor) > 200:
            row_problems.append(Problem(number, "assessor", "longer than 200 characters"))
        key = (vendor, label)
        if key in seen:
            row_problems.append(Problem(number, "vendor", f"vendor {vendor} and period {label} already in row {seen[key]}"))
        seen.setdefault(key, number)
        if not row_problems and ThirdPartyScore.objects.filter(vendor=vendor, period=label).exists():
            row_problems.append(Problem(number, "period", f"a score of {vendor} for {label} was imported before; it is not replaced"))
        problems += row_problems
        if not row_problems:
            rows.append(ThirdPartyRow(number, vendor, label, score, assessor, value.get("note", "")[:2000]))
    if not rows and not problems:
        problems.append(Problem(2, "", "no data rows"))
    return rows, problems


def import_scores(site: Site, actor: Actor, path: Path, *, name: str | None = None) -> list[ThirdPartyScore]:
    """Import the file at ``path`` (shown as ``name``) whole, or raise :class:`ImportRefused` and import nothing."""
    if actor.role != Role.OFFICER:
        raise PermissionError("only officers import third-party scores")
    source = name or path.name
    with transaction.atomic():
        rows, problems = parse_rows(read_table(path), site)
        if problems:
            raise ImportRefused(source, problems)
        return [
            ThirdPartyScore.objects.create(
                vendor=r.vendor,
                period=r.period,
                score=r.score,
                assessor=r.assessor,
                note=r.note,
                source=f"{source} row {r.row}",
                imported_by=actor.name,
            )
            for r in rows
        ]
