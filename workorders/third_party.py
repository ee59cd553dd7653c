"""The import of a third-party assessor's scores (第三方评价) from CSV or XLSX (docs/assessment.md has the
template): one row per vendor and period. A file with any problem is refused as a whole, every problem
named by row and column; nothing is half-imported."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import transaction

from facmon.errors import InputError
from facmon.periods import PeriodError, parse_period
from facmon.registry import Site
from facmon.workorders.closures import closure_containing, lock_assessment_records
from facmon.workorders.import_template import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from facmon.workorders.lifecycle import Role
from facmon.workorders.models import Amendment, ThirdPartyScore
from facmon.workorders.orders import Actor, RequestInvalid

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
        rows = [[_cell_text(cell) for cell in row] for row in sheet.iter_rows()]
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
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as error:
        raise InputError(f"{path}: not a readable CSV file ({error})") from None


def _cell_text(cell: Any) -> str:
    """A workbook cell as the text a person typed: a date Excel made of "2026-11" back to 2026-11 (the first
    of a month), a number formatted as a percent as "88%" (refused by the score check, not read as 0.88)."""
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return f"{value:%Y-%m}" if value.day == 1 else f"{value:%Y-%m-%d}"
    if isinstance(value, int | float) and "%" in str(getattr(cell, "number_format", "")):
        return f"{value * 100:g}%"
    return str(value).strip()


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
        row_problems = [Problem(number, name, "contains a NUL character") for name, text in value.items() if "\x00" in text]
        if row_problems:
            problems += row_problems
            continue
        if vendor not in vendors:
            row_problems.append(Problem(number, "vendor", f"{vendor!r} is not a vendor of the registry ({', '.join(sorted(vendors))})"))
        try:
            period = parse_period(label)
            if period.kind not in ("month", "quarter", "year"):
                raise PeriodError(f"period {label!r} must be a month, a quarter or a year")
            closure = closure_containing(period)
            if closure is not None:
                row_problems.append(Problem(number, "period", f"period {closure.period} is closed; its scores are no longer imported"))
            label = period.label
        except PeriodError as error:
            row_problems.append(Problem(number, "period", str(error)))
        score = math.nan
        if value["score"].endswith("%"):
            row_problems.append(Problem(number, "score", f"{value['score']!r} is a percent; write the score as a number from 0 to 100"))
        else:
            try:
                score = float(value["score"])
                if not math.isfinite(score) or not 0 <= score <= 100:
                    raise ValueError
            except ValueError:
                row_problems.append(Problem(number, "score", f"{value['score']!r} is not a score from 0 to 100"))
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
    table = read_table(path)
    with transaction.atomic():
        lock_assessment_records()
        rows, problems = parse_rows(table, site)
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


def amend_score(actor: Actor, vendor: str, period: str, score: float, *, reason: str, at: datetime) -> ThirdPartyScore:
    """Correct an imported score (a typo, the assessor's revision): always with a ``reason``, kept as an
    :class:`~.models.Amendment` with the score before and after, whether or not the period is closed."""
    if actor.role != Role.OFFICER:
        raise PermissionError("only officers correct third-party scores")
    if not math.isfinite(score) or not 0 <= score <= 100:
        raise RequestInvalid("score", f"{score:g} is not a score from 0 to 100")
    if not reason.strip():
        raise RequestInvalid("reason", "a correction of an imported score needs a reason, kept as an amendment")
    with transaction.atomic():
        lock_assessment_records()
        row = ThirdPartyScore.objects.select_for_update().filter(vendor=vendor, period=period).first()
        if row is None:
            raise RequestInvalid("period", f"no third-party score of {vendor} for {period} was imported")
        Amendment.objects.create(
            at=at,
            by=actor.name,
            reason=reason.strip(),
            record=f"third-party score of {vendor} for {period} ({row.source})",
            period=period,
            vendor=vendor,
            before={"score": row.score},
            after={"score": score},
        )
        row.score = score
        row.save(update_fields=["score"])
    return row
