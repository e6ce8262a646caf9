"""Reading register files: XLSX and CSV, title rows, merged and empty rows, e-PPGBM's two sheets, and
every file that cannot be imported (one fatal problem, raised before the first row)."""
from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from registers.model import DoseRow, MeasureRow, PersonRow, PregnancyRow, Problem, Sheet
from registers.problems import message
from registers.read import MAX_BYTES, BadFile, read_register

TODAY = date(2026, 11, 23)
CHILD = "5108015403250002"  # a girl born 14-03-2025 in 51.08.01
MOTHER = "5108014207950001"  # born 02-07-1995
KK = "5108010101250003"


def xlsx(*sheets: tuple[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read(data: bytes, filename: str = "register.xlsx") -> list:
    return list(read_register(data, filename, today=TODAY))


def of(items, kind):
    return [item for item in items if isinstance(item, kind)]


def bad(data: bytes, filename: str = "register.xlsx") -> Problem:
    items = read_register(data, filename, today=TODAY)
    with pytest.raises(BadFile) as err:
        next(items)
    assert err.value.problem.fatal
    return err.value.problem


# -- e-PPGBM and the kinds --------------------------------------------------------------------------


def test_an_eppgbm_export_with_data_dasar_and_pemantauan():
    data = xlsx(
        ("Data Dasar", [
            ["No", "No KK", "NIK", "Nama Anak", "Tgl Lahir", "JK", "Anak Ke", "BB Lahir", "PB Lahir", "NIK Ibu",
             "Nama Ibu", "NIK Ayah", "Nama Ayah", "Alamat"],
            [1, KK, CHILD, "Komang Ayu", datetime(2025, 3, 14), "P", 2, 3.2, "49,5", MOTHER, "Ni Luh Sari",
             "5108010505920004", "I Made Wirawan", "Banjar Kaja"],
        ]),
        ("Pemantauan", [
            ["NIK", "Nama", "Bulan", "Tanggal Pengukuran", "BB", "TB/PB", "LK", "LiLA"],
            [CHILD, "Komang Ayu", "September 2025", "12/09/2025", "7,2", "65,5", "42", "14"],
            [CHILD, "Komang Ayu", "Oktober 2025", None, 7.6, 67.0, None, None],
        ]),
    )
    items = read(data)
    sheets = of(items, Sheet)
    assert [(s.name, s.kind, s.header_row) for s in sheets] == [("Data Dasar", "anggota", 1),
                                                                 ("Pemantauan", "pengukuran", 1)]
    [person] = of(items, PersonRow)
    assert (person.nik, person.no_kk, person.name, person.birth_date, person.birth_precision, person.sex) == (
        CHILD, KK, "Komang Ayu", date(2025, 3, 14), "day", "F")
    assert (person.birth_order, person.birth_weight_g, person.birth_length_cm) == (2, 3200, 49.5)
    assert (person.mother_nik, person.mother_name, person.father_name, person.address) == (
        MOTHER, "Ni Luh Sari", "I Made Wirawan", "Banjar Kaja")
    assert person.where.sheet == "Data Dasar" and person.where.row == 2 and person.where.cells[3] == "Komang Ayu"
    first, second = of(items, MeasureRow)
    assert (first.on, first.precision, first.weight_kg, first.height_cm, first.head_cm, first.muac_cm) == (
        date(2025, 9, 12), "day", 7.2, 65.5, 42.0, 14.0)
    assert (second.on, second.precision, second.weight_kg, second.person.nik) == (date(2025, 10, 1), "month", 7.6, CHILD)
    assert [p.code for p in of(items, Problem)] == ["columns_ignored"]  # the "No" column


def test_an_immunisation_register_gives_one_dose_row_per_filled_dose_column():
    data = xlsx(("Kohort Bayi", [
        ["NIK", "Nama", "Tgl Lahir", "HB0", "BCG", "Polio 1", "DPT-HB-Hib 1", "PCV 2", "MR 1",
         "Campak Rubela Lanjutan"],
        [CHILD, "Komang Ayu", "14-03-2025", datetime(2025, 3, 14), "10/4/25", "v", "Mei 2025", "-", None, "✓"],
    ]))
    items = read(data)
    doses = {(d.code, d.on, d.precision, d.column) for d in of(items, DoseRow)}
    assert doses == {
        ("HB0", date(2025, 3, 14), "day", "HB0"), ("BCG", date(2025, 4, 10), "day", "BCG"),
        ("OPV1", None, "unknown", "Polio 1"), ("DPT_HB_HIB1", date(2025, 5, 1), "month", "DPT-HB-Hib 1"),
        ("MR2", None, "unknown", "Campak Rubela Lanjutan"),
    }
    assert not of(items, Problem)


def test_a_pregnancy_register():
    data = xlsx(("Kohort Ibu", [
        ["NIK Ibu", "Nama Ibu", "Tgl Lahir", "HPHT", "Taksiran Persalinan", "K1", "K2", "K3"],
        [MOTHER, "Ni Luh Sari", "02-07-1995", "20-06-2026", "27/3/27", "01-08-2026", "03-10-2026", None],
    ]))
    [row] = of(read(data), PregnancyRow)
    assert (row.person.nik, row.hpht, row.due_date) == (MOTHER, date(2026, 6, 20), date(2027, 3, 27))
    assert row.anc == ((1, date(2026, 8, 1)), (2, date(2026, 10, 3)))


# -- rows and cells ----------------------------------------------------------------------------------


def test_title_rows_empty_rows_and_merged_cells():
    book = Workbook()
    sheet = book.active
    sheet.title = "Sasaran"
    sheet.append(["DATA SASARAN BALITA POSYANDU MAWAR"])
    sheet.append(["Desa Kalibukbuk, Tahun 2026"])
    sheet.append([])
    sheet.append(["No KK", "NIK", "Nama", "Tanggal Lahir", "Jenis Kelamin"])
    sheet.append([KK, MOTHER, "Ni Luh Sari", "02-07-1995", "P"])
    sheet.append([None, CHILD, "Komang Ayu", "14-03-2025", "P"])
    sheet.append([])
    sheet.append([None, None, None, None, None])
    sheet.append(["5108010101250099", "5108010505920004", "I Made Wirawan", "05-05-1992", "L"])
    sheet.merge_cells("A1:E1")
    sheet.merge_cells("A5:A6")  # one No KK for the family's two rows
    out = io.BytesIO()
    book.save(out)
    items = read(out.getvalue())
    [found] = of(items, Sheet)
    assert found.header_row == 4 and found.kind == "anggota"
    people = of(items, PersonRow)
    assert [(p.where.row, p.no_kk, p.name) for p in people] == [
        (5, KK, "Ni Luh Sari"), (6, KK, "Komang Ayu"), (9, "5108010101250099", "I Made Wirawan")]
    assert not of(items, Problem)


def test_a_cell_that_cannot_be_read_is_a_problem_and_the_rest_of_the_row_counts():
    data = xlsx(("Anggota", [
        ["NIK", "Nama", "Tanggal Lahir", "Jenis Kelamin", "Berat Lahir", "No HP"],
        [3.51e15, "Komang Ayu", "14-03-2025", "P", "tiga kilo", "0812-3456-7890"],
    ]))
    items = read(data)
    [person] = of(items, PersonRow)
    assert (person.nik, person.name, person.birth_weight_g, person.phone) == (None, "Komang Ayu", None, "6281234567890")
    problems = of(items, Problem)
    assert [(p.code, p.row, p.column) for p in problems] == [("nik_number_lost", 2, "NIK"),
                                                             ("birth_weight", 2, "Berat Lahir")]
    assert problems[0].where.row == 2 and problems[0].where.cells[1] == "Komang Ayu"
    assert "angka terakhirnya hilang" in message(problems[0])
    assert "NIK" in message(problems[0])


def test_nik_checks_are_problems_and_the_nik_is_kept():
    data = xlsx(("Anggota", [
        ["NIK", "Nama", "Tanggal Lahir", "Jenis Kelamin"],
        [CHILD, "Komang Ayu", "15-03-2025", "P"],  # the NIK says 14-03-25
        ["9999015403250002", "Kadek Sari", "14-03-2025", "P"],
        [CHILD, "Komang Ayu", "14-03-2025", "L"],
    ]))
    items = read(data)
    assert [p.nik for p in of(items, PersonRow)] == [CHILD, "9999015403250002", CHILD]
    assert [(p.code, p.row) for p in of(items, Problem)] == [("nik_birth_date", 2), ("nik_region", 3), ("nik_sex", 4)]


def test_a_row_without_a_way_to_identify_its_person_is_a_problem():
    data = xlsx(("Anggota", [
        ["NIK", "Nama", "Tanggal Lahir", "Jenis Kelamin"],
        [None, "Komang Ayu", None, "P"],
        [None, "Kadek Sari", "12-05-2023", "P"],
        [CHILD, None, None, "P"],
    ]))
    items = read(data)
    assert [p.name for p in of(items, PersonRow)] == ["Kadek Sari"]
    assert [(p.code, p.row) for p in of(items, Problem)] == [("no_identity", 2), ("name_missing", 4)]


def test_dates_in_the_future_or_before_birth():
    data = xlsx(("Imunisasi", [
        ["NIK", "Nama", "Tanggal Lahir", "HB0", "BCG", "Polio 1"],
        [CHILD, "Komang Ayu", "14-03-2025", "01-03-2025", "10-04-2030", "10-04-2025"],
    ]))
    items = read(data)
    assert [d.code for d in of(items, DoseRow)] == ["OPV1"]
    assert [(p.code, p.column) for p in of(items, Problem)] == [("before_birth", "HB0"), ("date_future", "BCG")]


def test_a_measurement_without_a_date_is_a_problem():
    data = xlsx(("Pengukuran", [
        ["NIK", "Tanggal Ukur", "BB", "PB"],
        [CHILD, None, "7,2", "65"],
        [CHILD, "12-09-2025", None, None],  # not measured: skipped without a word
        [CHILD, "12-10-2025", None, "66,5"],
    ]))
    items = read(data)
    [row] = of(items, MeasureRow)
    assert (row.on, row.height_cm, row.position) == (date(2025, 10, 12), 66.5, "l")
    assert [(p.code, p.row) for p in of(items, Problem)] == [("measure_date_missing", 2)]


# -- CSV ------------------------------------------------------------------------------------------------


def test_csv_with_semicolons_in_windows_1252():
    text = ("NIK;Nama;Tgl Lahir;JK;Alamat\r\n"
            f"{CHILD};Komang Ayu;14/03/2025;P;Jl. Pantai, Lovina\r\n"
            f"{MOTHER};Ni Luh Sari;02-07-1995;P;Desa Pemuteran – dekat pura\r\n")
    items = read(text.encode("cp1252"), "sasaran.csv")
    assert [(s.name, s.kind) for s in of(items, Sheet)] == [("sasaran", "anggota")]
    people = of(items, PersonRow)
    assert [(p.nik, p.birth_date, p.address) for p in people] == [
        (CHILD, date(2025, 3, 14), "Jl. Pantai, Lovina"), (MOTHER, date(1995, 7, 2), "Desa Pemuteran – dekat pura")]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_csv_encodings_and_separators(encoding, separator):
    rows = [["Laporan sasaran"], [], ["NIK", "Nama", "Tanggal Lahir", "Jenis Kelamin"],
            [CHILD, "Komang Ayu Pérez", "14 Mei 2025", "P"]]
    text = "\n".join(separator.join(row) for row in rows) + "\n"
    items = read(text.encode(encoding), "data.csv")
    [found] = of(items, Sheet)
    assert found.header_row == 3
    [person] = of(items, PersonRow)
    assert (person.name, person.birth_date) == ("Komang Ayu Pérez", date(2025, 5, 14))


def test_csv_quoted_cells_and_a_nik_saved_by_excel():
    text = 'NIK,Nama,Tanggal Lahir\n3.51E+15,"Ayu, Komang",14-03-2025\n'
    items = read(text.encode(), "data.csv")
    [person] = of(items, PersonRow)
    assert (person.nik, person.name) == (None, "Ayu, Komang")
    assert [p.code for p in of(items, Problem)] == ["nik_number_lost"]


# -- bad files ------------------------------------------------------------------------------------------


def test_not_a_register_file():
    assert bad(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "register.csv").code == "file_type"
    assert bad(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "register.xlsx").code == "file_type"


def test_a_zip_that_is_no_workbook():
    out = io.BytesIO()
    import zipfile
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert bad(out.getvalue(), "register.xlsx").code == "file_type"


def test_a_broken_zip():
    assert bad(b"PK\x03\x04" + b"\x00" * 200).code == "file_broken"


def _rewritten(data: bytes, part: str, change) -> bytes:
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            target.writestr(item, change(content) if item.filename == part else content)
    return out.getvalue()


@pytest.mark.parametrize(("change", "why"), [
    (lambda xml: b'<!DOCTYPE b [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>' + xml.split(b"?>", 1)[-1],
     "an entity bomb's document type"),
    (lambda xml: xml.replace(b"</sheetData>", b"<row r=\"9\"><c r=\"A9\"><v>1</c></row></sheetData>"),
     "a row that is not well formed after the rows that are"),
    (lambda xml: xml[: len(xml) // 2], "a sheet cut short"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_a_sheet_that_is_not_well_formed_xml(change, why):
    rows = [["NIK", "Nama", "Tanggal Lahir"]] + [[CHILD, f"Anak {n}", "14-03-2025"] for n in range(200)]
    data = _rewritten(xlsx(("Anggota", rows)), "xl/worksheets/sheet1.xml", change)
    assert bad(data).code == "file_broken", why


def test_a_password_protected_xlsx():
    # Office writes an encrypted workbook as a CFB (OLE2) container with an EncryptionInfo stream
    sector = bytearray(512)
    name = "EncryptionInfo".encode("utf-16-le")
    sector[: len(name)] = name
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + bytes(sector) + bytes(1024)
    problem = bad(data)
    assert problem.code == "file_encrypted"
    assert "kata sandi" in message(problem)


def test_an_old_xls_file():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Workbook".encode("utf-16-le") + bytes(1024)
    assert bad(data, "register.xls").code == "file_xls"


def test_over_the_size_limit(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        handle.seek(MAX_BYTES)
        handle.write(b"\n")
    items = read_register(path, "big.csv", today=TODAY)
    with pytest.raises(BadFile) as err:
        next(items)
    assert err.value.problem.code == "file_too_big"
    assert "50 MB" in message(err.value.problem)


def test_an_empty_file():
    assert bad(b"", "x.csv").code == "file_empty"


def test_formulas_without_stored_values():
    data = xlsx(("Pengukuran", [
        ["NIK", "Tanggal Ukur", "BB", "PB"],
        [CHILD, "12-09-2025", "=7.2", "=60+5"],
    ]))
    problem = bad(data)
    assert (problem.code, problem.sheet, problem.params["cell"], problem.params["count"]) == (
        "file_formulas", "Pengukuran", "C2", "2")
    assert "rumus" in message(problem)


def test_formulas_in_a_sheet_not_imported_do_not_matter():
    data = xlsx(("Anggota", [["NIK", "Nama", "Tanggal Lahir"], [CHILD, "Komang Ayu", "14-03-2025"]]),
                ("Rekap", [["Jumlah"], ["=COUNTA(Anggota!A:A)"]]))
    items = read(data)
    assert len(of(items, PersonRow)) == 1
    assert [(p.code, p.sheet) for p in of(items, Problem)] == [("sheet_ignored", "Rekap")]


def test_no_sheet_with_a_recognisable_header():
    data = xlsx(("Sheet1", [["Laporan"], ["Jumlah balita", 12], ["Jumlah ibu hamil", 3]]))
    assert bad(data).code == "file_no_header"
    assert bad(b"a,b,c\n1,2,3\n", "x.csv").code == "file_no_header"


def test_nothing_is_yielded_before_a_fatal_problem():
    data = xlsx(("Anggota", [["NIK", "Nama", "Tanggal Lahir"], [CHILD, "Komang Ayu", "14-03-2025"]]),
                ("Pengukuran", [["NIK", "Tanggal Ukur", "BB"], [CHILD, "12-09-2025", "=7.2"]]))
    assert bad(data).code == "file_formulas"


def test_a_file_on_disk_is_read_like_bytes(tmp_path):
    data = xlsx(("Anggota", [["NIK", "Nama", "Tanggal Lahir"], [CHILD, "Komang Ayu", "14-03-2025"]]))
    path = tmp_path / "renamed.csv"  # the content decides, not the name
    path.write_bytes(data)
    assert [p.nik for p in of(list(read_register(path, path.name, today=TODAY)), PersonRow)] == [CHILD]
