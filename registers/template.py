"""The import template: one sheet per kind with its header row (Indonesian, bold), an example row and
NIK-like columns formatted as text, and a "Petunjuk" sheet explaining every column and its accepted
forms (in the current language, through ``content.i18n``). Everything comes from ``registers.columns``,
so the template and the reader cannot disagree; reading the template back gives its example rows
without a problem (``tests/registers/test_template.py``)."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from care.labels import DOSE_LABELS
from content.i18n import _
from registers.columns import COLUMNS, SHEET_OF_KIND, Column

PETUNJUK = "Petunjuk"
TEXT_FORMAT = "@"
DATE_FORMAT = "DD-MM-YYYY"


def _about(column: Column) -> str:
    if column.dose:
        return _(column.about, dose=_(DOSE_LABELS[column.dose]))
    if column.anc:
        return _(column.about, n=column.anc)
    return _(column.about)


#: The members sheet's second example: the child's mother, so that the pregnancy sheet's example names
#: someone the file brings (its other cells as in the child's row: the same family and place).
MOTHER_EXAMPLE = {"nik": "5108014207950001", "name": "Ni Luh Sari", "birth_date": date(1995, 7, 2), "sex": "P",
                  "relation": "Istri", "birth_order": None, "birth_weight_g": None, "birth_length_cm": None,
                  "mother_nik": None, "mother_name": None, "father_nik": None, "father_name": None}


def template_bytes() -> bytes:
    """The template as XLSX bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for kind, columns in COLUMNS.items():
        sheet = book.create_sheet(SHEET_OF_KIND[kind])
        for index, column in enumerate(columns, start=1):
            header = sheet.cell(row=1, column=index, value=column.header)
            header.font = bold
            examples = [sheet.cell(row=2, column=index, value=column.example)]
            if kind == "anggota":
                examples.append(sheet.cell(row=3, column=index, value=MOTHER_EXAMPLE.get(column.key, column.example)))
            for example in examples:
                if column.text:
                    example.number_format = TEXT_FORMAT
                    if example.value is not None:
                        example.value = str(example.value)
                elif isinstance(example.value, date):
                    example.number_format = DATE_FORMAT
            if column.text:
                for row in range(len(examples) + 2, 1001):  # the rows a puskesmas fills keep NIK and No KK as text
                    sheet.cell(row=row, column=index).number_format = TEXT_FORMAT
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = max(10, min(28, len(column.header) + 4))
        sheet.freeze_panes = "A2"
    guide = book.create_sheet(PETUNJUK)
    guide.append([_("Sheet"), _("Kolom"), _("Isi"), _("Bentuk yang diterima"), _("Wajib")])
    for cell in guide[1]:
        cell.font = bold
    for kind, columns in COLUMNS.items():
        for column in columns:
            guide.append([SHEET_OF_KIND[kind], column.header, _about(column), _(column.forms),
                          _("ya") if column.required else ""])
    guide.append([])
    for line in (
        _("Satu baris satu orang (Anggota, Imunisasi), satu pengukuran (Pengukuran) atau satu kehamilan (Kehamilan)."),
        _("Orang dikenali dari NIK; bila NIK kosong, dari nama dan tanggal lahir (dengan No KK atau NIK ibu)."),
        _("Judul kolom boleh ditulis lain (Tgl Lahir, TGL_LAHIR); kolom yang tidak dikenali dilewati."),
        _("Kolom NIK dan No KK harus berformat Teks: bila tersimpan sebagai angka, Excel menghapus angka terakhirnya."),
    ):
        guide.append([line])
    for letter, width in zip("ABCDE", (14, 26, 50, 60, 8), strict=True):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_template(path: str | Path) -> None:
    """Writes the template to ``path`` (XLSX)."""
    Path(path).write_bytes(template_bytes())
