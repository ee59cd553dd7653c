"""The template of the third-party import (docs/assessment.md#third-party-scores-第三方评价): its columns and
a file to fill. No database here, so `facmon assess template` runs anywhere."""

from __future__ import annotations

import csv
from pathlib import Path

from facmon.errors import InputError

REQUIRED_COLUMNS = ("vendor", "period", "score", "assessor")
OPTIONAL_COLUMNS = ("note",)
EXAMPLE_ROW = ("property", "2026-11", "86.5", "某某工程咨询有限公司", "example row: replace it")


def write_template(path: Path) -> None:
    """Write the columns and the example row to ``path``: .csv (UTF-8 with BOM, which Excel opens as UTF-8)
    or .xlsx (the period column as text, so Excel does not turn 2026-11 into a date)."""
    header = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "third_party"
        sheet.append(header)
        sheet.append(list(EXAMPLE_ROW))
        for row in range(1, 1001):
            sheet.cell(row=row, column=header.index("period") + 1).number_format = "@"
        workbook.save(path)
    elif path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8-sig") as handle:
            csv.writer(handle).writerows([header, EXAMPLE_ROW])
    else:
        raise InputError(f"--out {path}: write a .csv or .xlsx file")
