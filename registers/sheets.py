"""Spreadsheets written for people: rows as CSV or XLSX in the reader's conventions.

Used by the chat's ``/ekspor`` (``handlers.report``) and the puskesmas web's downloads (``web.targets``):
a CSV opens in a spreadsheet of the reader's language (Indonesian: ``;`` between cells and a decimal
comma), an XLSX keeps numbers as numbers and dates as dates.
"""
from __future__ import annotations

import csv
import io
from datetime import date

from content.i18n import current_language

#: XLSX number formats of dates, by language (ISO for the others).
DATE_FORMATS = {"id": "DD-MM-YYYY"}
#: CSV cell separator and decimal mark by language (the default: English's).
CSV_CONVENTIONS = {"id": (";", ",")}


def _csv_cell(value, decimal_mark: str) -> str:
    """A cell as text: numbers with the decimal mark and no thousands separator, ISO dates, empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.10g}".replace(".", decimal_mark)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_bytes(rows, language: str | None = None) -> bytes:
    """Rows as UTF-8 CSV with a byte-order mark, written with the conventions of ``language`` (the
    current one by default; :data:`CSV_CONVENTIONS`)."""
    separator, decimal_mark = CSV_CONVENTIONS.get(language or current_language(), (",", "."))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator).writerows([_csv_cell(v, decimal_mark) for v in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(sheets: dict[str, list[list]], language: str | None = None) -> bytes:
    """An XLSX workbook with one sheet per entry: numbers as numbers (one decimal), dates as dates, the
    header row bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    date_format = DATE_FORMATS.get(language or current_language(), "YYYY-MM-DD")
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name[:31])
        for row in rows:
            sheet.append(list(row))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column in sheet.iter_cols(min_row=2):
            for cell in column:
                if isinstance(cell.value, date):
                    cell.number_format = date_format
                elif isinstance(cell.value, float):
                    cell.number_format = "0.0##"
        for column in sheet.columns:
            width = max((len(str(c.value)) for c in column if c.value is not None), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 10), 60)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
