"""The template: one sheet per kind with a bold header and an example row, NIK columns as text, a
"Petunjuk" sheet; read back, it gives its example rows and no problem."""
from __future__ import annotations

from datetime import date

from openpyxl import load_workbook

from registers.columns import COLUMNS, SHEET_OF_KIND
from registers.model import DoseRow, MeasureRow, PersonRow, PregnancyRow, Problem, Sheet
from registers.read import read_register
from registers.template import PETUNJUK, write_template


def test_the_template_sheets(tmp_path):
    path = tmp_path / "template.xlsx"
    write_template(path)
    book = load_workbook(path)
    assert book.sheetnames == [*SHEET_OF_KIND.values(), PETUNJUK]
    for kind, columns in COLUMNS.items():
        sheet = book[SHEET_OF_KIND[kind]]
        headers = [cell.value for cell in sheet[1]]
        assert headers == [column.header for column in columns]
        assert all(cell.font.bold for cell in sheet[1])
        for index, column in enumerate(columns, start=1):
            if column.text:
                assert sheet.cell(row=2, column=index).number_format == "@"
                assert sheet.cell(row=50, column=index).number_format == "@"
                value = sheet.cell(row=2, column=index).value
                assert value is None or isinstance(value, str)
    guide = book[PETUNJUK]
    described = {(row[0], row[1]) for row in guide.iter_rows(min_row=2, values_only=True) if row[1]}
    assert {(SHEET_OF_KIND[kind], c.header) for kind, cols in COLUMNS.items() for c in cols} <= described
    texts = [row[3] for row in guide.iter_rows(min_row=2, values_only=True) if row[1] == "Tanggal Lahir"]
    assert texts and "14-03-2025" in texts[0]


def test_reading_the_template_back_gives_its_examples_without_problems(tmp_path):
    path = tmp_path / "template.xlsx"
    write_template(path)
    items = list(read_register(path, path.name, today=date(2026, 11, 23)))
    assert not [item for item in items if isinstance(item, Problem)]
    assert [(s.name, s.kind) for s in items if isinstance(s, Sheet)] == [
        (SHEET_OF_KIND[kind], kind) for kind in COLUMNS]
    person, mother = [i for i in items if isinstance(i, PersonRow)]
    assert (mother.nik, mother.no_kk, mother.sex, mother.name, mother.mother_nik) == (
        "5108014207950001", "5108010101250003", "F", "Ni Luh Sari", None)
    assert (person.nik, person.no_kk, person.sex, person.birth_date, person.rt, person.rw, person.phone,
            person.village_code, person.birth_weight_g) == (
        "5108015403250002", "5108010101250003", "F", date(2025, 3, 14), "001", "002", "6281234567890",
        "51.08.01.2001", 3200)
    doses = {(d.code, d.on, d.precision) for d in items if isinstance(d, DoseRow)}
    assert doses == {("HB0", date(2025, 3, 14), "day"), ("BCG", date(2025, 4, 10), "day"),
                     ("OPV1", date(2025, 4, 10), "day"), ("OPV2", date(2025, 5, 1), "month"),
                     ("DPT_HB_HIB1", date(2025, 5, 16), "day"), ("PCV1", None, "unknown")}
    [measure] = [i for i in items if isinstance(i, MeasureRow)]
    assert (measure.on, measure.weight_kg, measure.height_cm, measure.position) == (date(2025, 9, 12), 7.2, 65.5, "l")
    [pregnancy] = [i for i in items if isinstance(i, PregnancyRow)]
    assert (pregnancy.hpht, pregnancy.due_date, len(pregnancy.anc)) == (date(2025, 6, 20), date(2026, 3, 27), 2)
