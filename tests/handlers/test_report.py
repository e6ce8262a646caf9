"""/laporan and /ekspor count every dose and service from the one care record (db.history).

Each case writes a family of Posyandu Mawar (Nagasepaha) and its care records the way every entry
path does (``db.history.record``; a weighing or iron tablets through a visit), then staff read
November 2026 (the clock is 23 November 2026) in /laporan's text (the five headline indicators) and
in the /ekspor CSV and XLSX (every row, numbers as numbers), in Indonesian and in English.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from care.coverage import HEADLINE, SECTIONS, month_report, report_table
from care.labels import DOSE_LABELS
from content.i18n import _, use_locale
from db.history import record
from db.models import Measurement, Person, Posyandu, Puskesmas, Visit
from handlers.kader import create_invite
from handlers.report import CHART_BARS, HEADLINE_TEXT, LABELS, MEASURE_COLUMNS, SECTION_LABELS, SERVICE_ROWS, row_label
from tests.helpers import DEFAULT_NOW, ChatDriver, consent, make_family

D = date
MONTH = {"id": "November 2026", "en": "November 2026"}
#: CSV separator and decimal mark by language (registers.sheets.CSV_CONVENTIONS)
CSV_FORM = {"id": (";", ","), "en": (",", ".")}


# --------------------------------------------------------------------------- factories


@dataclass
class Member:
    """A family member with the care records to write for them."""

    name: str
    sex: str
    birth: date | None
    hpht: date | None = None
    delivered_on: date | None = None
    #: (code, date, precision)
    records: tuple[tuple[str, date, str], ...] = ()
    #: (date, weight kg) weighings at a visit (a measurement and the TIMBANG record, as a visit writes them)
    weighings: tuple[tuple[date, float], ...] = ()
    #: (date, tablets) iron tablets given at a visit (TTD_HAMIL with its detail)
    iron: tuple[tuple[date, int], ...] = ()
    #: (date, cm, "l"/"h") lengths measured at a visit
    lengths: tuple[tuple[date, float, str], ...] = ()


def rec(code: str, on: date, precision: str = "day") -> tuple[str, date, str]:
    return (code, on, precision)


async def family_with_records(db, members: list[Member], *, name: str = "Keluarga Laporan") -> None:
    """A family of Nagasepaha with ``members`` and their records written through the history port."""
    family = await make_family(db, name=name, members=tuple((m.name, m.sex, m.birth) for m in members))
    async with db.write() as session:
        posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == "51.08.06.2014"))
        for m in members:
            person = (await session.scalars(select(Person).where(Person.family_id == family.id, Person.name == m.name))).one()
            person.hpht, person.delivered_on = m.hpht, m.delivered_on
            for code, on, precision in m.records:
                await record(session, person_id=person.id, code=code, on=on, now=DEFAULT_NOW, source="kader", precision=precision)
            for on, kg in m.weighings:
                visit = await _visit(session, person.id, posyandu_id, on)
                session.add(Measurement(visit_id=visit.id, kind="weight_kg", value=kg))
                await record(session, person_id=person.id, code="TIMBANG", on=on, now=DEFAULT_NOW, source="kader", visit_id=visit.id)
            for on, cm, measured in m.lengths:
                visit = await _visit(session, person.id, posyandu_id, on)
                session.add(Measurement(visit_id=visit.id, kind="length_cm", value=cm, detail=measured))
            for on, tablets in m.iron:
                visit = await _visit(session, person.id, posyandu_id, on)
                await record(session, person_id=person.id, code="TTD_HAMIL", on=on, now=DEFAULT_NOW, source="kader",
                             visit_id=visit.id, detail={"tablets": tablets})


async def _visit(session, person_id: int, posyandu_id: int, on: date) -> Visit:
    visit = Visit(person_id=person_id, posyandu_id=posyandu_id, visited_on=on, place="posyandu", created_at=DEFAULT_NOW)
    session.add(visit)
    await session.flush()
    return visit


async def staff_chat(engine, db, language: str) -> ChatDriver:
    """Staff of Puskesmas Buleleng III speaking ``language``."""
    async with db.write() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
        invite = await create_invite(session, role="staff", puskesmas_id=puskesmas_id, now=DEFAULT_NOW)
    chat = ChatDriver(engine, address=f"staff-{language}")
    await consent(chat)
    await chat.say(f"/staf {invite.code}")
    if language != "id":
        await chat.say(f"/bahasa {language}")
    return chat


def number(text: str, language: str) -> int | float | None:
    """A CSV cell written with the language's decimal mark, as a number (None when empty)."""
    if text == "":
        return None
    value = float(text.replace(CSV_FORM[language][1], "."))
    return int(value) if "." not in text and "," not in text else value


def read_csv(data: bytes, language: str) -> list[list[str]]:
    """A CSV of the export: UTF-8 with a byte-order mark, the language's separator."""
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=CSV_FORM[language][0]))


@dataclass(frozen=True)
class Exported:
    """One indicator of the exported report: its numbers as read back."""

    count: int
    total: int | None = None
    percent: float | None = None
    given: int | None = None


async def read_report(chat: ChatDriver, language: str) -> tuple[str, dict[str, Exported], dict[str, bytes]]:
    """/laporan's text, the /ekspor report CSV as name -> numbers, and the export files."""
    await chat.say("/laporan")
    await chat.press("Posyandu Mawar")
    await chat.press(MONTH[language])
    text = chat.text
    await chat.say("/ekspor")
    await chat.press("Posyandu Mawar")
    await chat.press(MONTH[language])
    files = dict(f for r in chat.replies for f in r.files)
    report = next(data for name, data in files.items() if name.startswith("laporan-") and name.endswith(".csv"))
    rows = read_csv(report, language)
    exported = {name: Exported(*(number(cell, language) for cell in cells)) for _section, name, *cells in rows[1:]}
    return text, exported, files


def label_in(language: str, code: str) -> str:
    with use_locale(language):
        return row_label(code)


def headline_line(text: str, language: str, code: str) -> str:
    """The line of a headline indicator in /laporan's text."""
    with use_locale(language):
        shown = _(HEADLINE_TEXT[code][0])
    return next(line for line in text.splitlines() if line.startswith(f"\u2022 {shown} "))


# --------------------------------------------------------------------------- one case per service kind

# November 2026: 1-30 November. Ages are on 30 November 2026.
CASES = {
    "weighing": ([Member("Bayi Timbang", "M", D(2026, 5, 10), weighings=((D(2026, 11, 12), 7.6),))],
                 {"D": Exported(1), "S": Exported(1), "D/S": Exported(1, 1, 100.0)}),
    "anc": ([Member("Ibu Hamil", "F", D(1996, 2, 2), hpht=D(2026, 3, 1),
                    records=(rec("ANC1", D(2026, 4, 20)), rec("ANC6", D(2026, 11, 20))))],
            {"K1": Exported(1, 1, 100.0), "K4": Exported(1, 1, 100.0), "K6": Exported(1, 1, 100.0)}),
    "iron tablets in pregnancy": ([Member("Ibu TTD", "F", D(1998, 8, 8), hpht=D(2026, 6, 1),
                                          iron=((D(2026, 11, 9), 30),))],
                                  {"TTD_HAMIL": Exported(1, 1, 100.0), "TTD_HAMIL_TABLETS": Exported(30)}),
    "kf": ([Member("Ibu Nifas", "F", D(1994, 1, 1), delivered_on=D(2026, 10, 10),
                   records=(rec("KF1", D(2026, 10, 11)), rec("KF2", D(2026, 10, 15)), rec("KF3", D(2026, 10, 30)),
                            rec("KF4", D(2026, 11, 15))))],
           {"KF1": Exported(1, 1, 100.0), "KF_COMPLETE": Exported(1, 1, 100.0)}),
    "kn": ([Member("Bayi Baru", "F", D(2026, 11, 1),
                   records=(rec("KN1", D(2026, 11, 2)), rec("KN2", D(2026, 11, 5)), rec("KN3", D(2026, 11, 20))))],
           {"KN1": Exported(1, 1, 100.0), "KN_COMPLETE": Exported(1, 1, 100.0)}),
    "vitamin a blue": ([Member("Bayi Biru", "M", D(2026, 4, 15), records=(rec("VITA_BIRU", D(2026, 11, 10)),))],
                       {"VITA_BIRU": Exported(1, 1, 100.0), "VITA_MERAH": Exported(0, 0, None)}),
    "vitamin a red": ([Member("Balita Merah", "F", D(2024, 5, 5), records=(rec("VITA_MERAH", D(2026, 11, 10)),))],
                      {"VITA_MERAH": Exported(1, 1, 100.0)}),
    "deworming": ([Member("Balita Cacing", "M", D(2024, 5, 5), records=(rec("OBAT_CACING", D(2026, 11, 10)),))],
                  {"OBAT_CACING": Exported(1, 1, 100.0)}),
    "sdidtk": ([Member("Bayi SDIDTK", "F", D(2026, 8, 10), records=(rec("SDIDTK", D(2026, 11, 12)),))],
               {"SDIDTK": Exported(1, 1, 100.0)}),
    "iron tablets for girls": ([Member("Remaja Putri", "F", D(2012, 3, 3), records=(rec("TTD_REMAJA", D(2026, 11, 4)),))],
                               {"TTD_REMAJA": Exported(1, 1, 100.0)}),
    "ptm screening": ([Member("Bapak Dewasa", "M", D(1980, 7, 7), records=(rec("SKRINING_PTM", D(2026, 3, 3), "month"),))],
                      {"SKRINING_PTM": Exported(1, 1, 100.0), "SKILAS": Exported(0, 0, None)}),
    "skilas": ([Member("Nenek Lansia", "F", D(1955, 1, 1), records=(rec("SKILAS", D(2026, 11, 18)),))],
               {"SKILAS": Exported(1, 1, 100.0), "SKRINING_PTM": Exported(0, 0, None)}),
    # Doses: born 1 September 2026 (2 months on 30 November). DPT-HB-Hib 1 on 2 November is valid and given
    # in the month; BCG told as "September 2026" is covered but not given in November; PCV1 on
    # 6 October (5 weeks of age, before 6 weeks) is invalid.
    "doses": ([Member("Bayi Imunisasi", "M", D(2026, 9, 1),
                      records=(rec("HB0", D(2026, 9, 1)), rec("BCG", D(2026, 9, 15), "month"), rec("PCV1", D(2026, 10, 6)),
                               rec("DPT_HB_HIB1", D(2026, 11, 2))))],
              {"HB0": Exported(1, 1, 100.0, 0), "BCG": Exported(1, 1, 100.0, 0), "DPT_HB_HIB1": Exported(1, 1, 100.0, 1),
               "PCV1": Exported(0, 1, 0.0, 0)}),
    # Stunting: a boy of 24 months at 80 cm (length-for-age z below -2) and one at 88 cm.
    "stunting": ([Member("Anak Pendek", "M", D(2024, 11, 1), lengths=((D(2026, 11, 10), 80.0, "h"),)),
                  Member("Anak Tinggi", "M", D(2024, 11, 2), lengths=((D(2026, 11, 10), 88.0, "h"),))],
                 {"STUNTED": Exported(1, 2, 50.0)}),
}


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("kind", list(CASES))
async def test_each_service_kind_is_counted_in_ekspor_with_numbers(engine, demo_db, kind, language):
    members, expected = CASES[kind]
    await family_with_records(demo_db, members)
    chat = await staff_chat(engine, demo_db, language)
    _text, exported, files = await read_report(chat, language)
    book = load_workbook(io.BytesIO(next(data for name, data in files.items() if name.endswith(".xlsx"))))
    sheet = {row[1]: row[2:] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    for code, value in expected.items():
        name = label_in(language, code)
        assert exported[name] == value, (kind, code)
        assert sheet[name] == (value.count, value.total, value.percent, value.given), (kind, code)
        assert all(v is None or isinstance(v, (int, float)) for v in sheet[name])


@pytest.mark.parametrize("language", ["id", "en"])
async def test_laporan_leads_with_the_five_headline_indicators_explained(engine, demo_db, language):
    # Two children: one weighed in November (and measured short), one not; a pregnancy with six contacts.
    await family_with_records(demo_db, [
        Member("Anak Pendek", "M", D(2024, 11, 1), weighings=((D(2026, 11, 10), 10.5),), lengths=((D(2026, 11, 10), 80.0, "h"),)),
        Member("Anak Lain", "F", D(2025, 2, 2)),
        Member("Ibu Hamil", "F", D(1996, 2, 2), hpht=D(2026, 3, 1), records=(rec("ANC1", D(2026, 4, 20)), rec("ANC6", D(2026, 11, 20)))),
    ])
    chat = await staff_chat(engine, demo_db, language)
    _text, exported, _files = await read_report(chat, language)
    [reply] = [r for r in chat.history if r.image]
    assert reply.image.startswith(b"\x89PNG") and len(reply.text) <= 1024  # a Telegram caption, whole
    bullets = [line for line in reply.text.splitlines() if line.startswith("\u2022 ")]
    assert len(bullets) == len(HEADLINE) == 5
    decimal = CSV_FORM[language][1]
    expected = {"D/S": f"50{decimal}0% (1/2)", "N/D": f"0{decimal}0% (0/1)", "IDL": "0/0", "K6": f"100{decimal}0% (1/1)", "STUNTED": f"100{decimal}0% (1/1)"}
    for code, numbers in expected.items():
        line = headline_line(reply.text, language, code)
        with use_locale(language):
            meaning = _(HEADLINE_TEXT[code][1])
        assert line.endswith(f" {numbers}: {meaning}"), line
    # the numbers are the export's: one computation
    assert exported[label_in(language, "D/S")] == Exported(1, 2, 50.0)
    assert exported[label_in(language, "STUNTED")] == Exported(1, 1, 100.0)
    # no bare codes, no "+0"
    for bare in ("+0", "K: punya KMS", "(kejar)", "S: balita terdaftar:"):
        assert bare not in reply.text


async def test_an_empty_posyandu_reports_zero_services(engine, demo_db):
    chat = await staff_chat(engine, demo_db, "id")
    text, exported, _files = await read_report(chat, "id")
    for code in ("TTD_HAMIL", "KF1", "VITA_BIRU", "OBAT_CACING", "SDIDTK", "TTD_REMAJA", "SKRINING_PTM", "SKILAS"):
        assert exported[label_in("id", code)] == Exported(0, 0, None)
    assert headline_line(text, "id", "IDL").startswith("\u2022 IDL 0/0: ")


async def test_records_of_another_month_or_posyandu_are_not_counted(engine, demo_db):
    # October's vitamin A does not count in November; a family of Alasangker (Posyandu of another
    # village) is not in Mawar's report.
    await family_with_records(demo_db, [Member("Bayi Oktober", "M", D(2026, 4, 15), records=(rec("VITA_BIRU", D(2026, 10, 31)),))])
    other = await make_family(demo_db, village_code="51.08.06.2016", members=(("Bayi Alas", "F", D(2026, 4, 1)),))
    async with demo_db.write() as session:
        person = (await session.scalars(select(Person).where(Person.family_id == other.id))).one()
        await record(session, person_id=person.id, code="VITA_BIRU", on=D(2026, 11, 10), now=DEFAULT_NOW, source="kader")
    chat = await staff_chat(engine, demo_db, "id")
    _text, exported, _files = await read_report(chat, "id")
    assert exported[label_in("id", "VITA_BIRU")] == Exported(0, 1, 0.0)


async def test_a_dose_given_too_soon_is_not_counted_until_repeated(engine, demo_db):
    # Born 1 September 2026: DPT-HB-Hib 1 at 2 weeks (before 6 weeks: too early) and DPT-HB-Hib 2 ten days
    # later (too soon) are invalid: not covered. Repeated on 2 November and 30 November (4 weeks apart)
    # they count, and as given in November: the latest record of a dose wins.
    baby = Member("Bayi Ulang", "F", D(2026, 9, 1), records=(rec("DPT_HB_HIB1", D(2026, 9, 15)), rec("DPT_HB_HIB2", D(2026, 9, 25))))
    await family_with_records(demo_db, [baby])
    chat = await staff_chat(engine, demo_db, "id")
    _text, exported, _files = await read_report(chat, "id")
    assert exported[label_in("id", "DPT_HB_HIB1")] == Exported(0, 1, 0.0, 0)  # 2 weeks old: too early
    assert exported[label_in("id", "DPT_HB_HIB2")] == Exported(0, 1, 0.0, 0)
    async with demo_db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == "Bayi Ulang"))).one()
        for code, on in (("DPT_HB_HIB1", D(2026, 11, 2)), ("DPT_HB_HIB2", D(2026, 11, 30))):
            await record(session, person_id=person.id, code=code, on=on, now=DEFAULT_NOW, source="kader")
    _text, exported, _files = await read_report(chat, "id")
    assert exported[label_in("id", "DPT_HB_HIB1")] == Exported(1, 1, 100.0, 1)
    assert exported[label_in("id", "DPT_HB_HIB2")] == Exported(1, 1, 100.0, 1)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_the_csv_follows_the_language_and_keeps_numbers_apart(engine, demo_db, language):
    # 1 of 3 under-fives weighed: 33.3 %
    await family_with_records(demo_db, [Member("Bayi Timbang", "M", D(2026, 5, 10), weighings=((D(2026, 11, 12), 7.6),)),
                                        Member("Bayi Dua", "F", D(2026, 1, 10)), Member("Bayi Tiga", "M", D(2025, 1, 10))])
    chat = await staff_chat(engine, demo_db, language)
    _text, _exported, files = await read_report(chat, language)
    rows = read_csv(next(data for name, data in files.items() if name.startswith("laporan-") and name.endswith(".csv")), language)
    with use_locale(language):
        assert rows[0] == [_("Kelompok"), _("Indikator"), _("Jumlah"), _("Dari"), _("Persen (%)"), _("Diberikan bulan ini")]
        line = next(row for row in rows if row[1] == row_label("D/S"))
        assert line == [_(SECTION_LABELS["skdn"]), row_label("D/S"), "1", "3", f"33{CSV_FORM[language][1]}3", ""]
        assert {row[0] for row in rows[1:]} == {_(SECTION_LABELS[s]) for s in SECTIONS}
    assert all(len(row) == 6 for row in rows)
    for row in rows[1:]:
        for cell in row[2:]:
            assert cell == "" or number(cell, language) is not None  # every cell a number: no "0/1 (0,0%) +1"


@pytest.mark.parametrize("language", ["id", "en"])
async def test_the_register_has_readable_names_one_column_per_measurement_and_dates(engine, demo_db, language):
    mother = Member("Ibu TTD", "F", D(1998, 8, 8), hpht=D(2026, 6, 1), iron=((D(2026, 11, 9), 30),))
    baby = Member("Bayi Timbang", "M", D(2026, 5, 10), weighings=((D(2026, 11, 12), 7.2),), lengths=((D(2026, 11, 13), 65.5, "l"),),
                  records=(rec("DPT_HB_HIB1", D(2026, 11, 12)),))
    await family_with_records(demo_db, [mother, baby])
    async with demo_db.write() as session:  # the dose given at the weighing visit
        from db.models import CareRecord

        visit = (await session.scalars(select(Visit).where(Visit.visited_on == D(2026, 11, 12)))).one()
        dose = (await session.scalars(select(CareRecord).where(CareRecord.code == "DPT_HB_HIB1"))).one()
        dose.visit_id = visit.id
        session.add(Measurement(visit_id=visit.id, kind="head_cm", value=42.5))
    chat = await staff_chat(engine, demo_db, language)
    _text, _exported, files = await read_report(chat, language)
    register = read_csv(next(data for name, data in files.items() if name.startswith("register-")), language)
    book = load_workbook(io.BytesIO(next(data for name, data in files.items() if name.endswith(".xlsx"))))
    sheet = [list(row) for row in book.worksheets[1].iter_rows(values_only=True)]
    with use_locale(language):
        header = register[0]
        assert sheet[0] == header
        for kind in ("weight_kg", "length_cm", "head_cm"):
            assert _(MEASURE_COLUMNS[kind]) in header
        assert not any("_" in cell for cell in header)
        column = {name: i for i, name in enumerate(header)}
        rows = {(row[column[_("Tanggal kunjungan")]], row[column[_("Nama")]]): row for row in register[1:]}
        weighed = rows[("2026-11-12", "Bayi Timbang")]
        assert weighed[column[_("Jenis kelamin")]] == _("Laki-laki") and weighed[column[_("Tanggal lahir")]] == "2026-05-10"
        assert number(weighed[column[_(MEASURE_COLUMNS["weight_kg"])]], language) == 7.2
        assert number(weighed[column[_(MEASURE_COLUMNS["head_cm"])]], language) == 42.5
        assert weighed[column[_("Imunisasi")]] == _(DOSE_LABELS["DPT_HB_HIB1"])
        measured = rows[("2026-11-13", "Bayi Timbang")]
        assert number(measured[column[_(MEASURE_COLUMNS["length_cm"])]], language) == 65.5
        assert measured[column[_("Cara ukur panjang/tinggi")]] == _("berbaring")
        iron = rows[("2026-11-09", "Ibu TTD")]
        assert iron[column[_("Tablet tambah darah (butir)")]] == "30" and iron[column[_("Jenis kelamin")]] == _("Perempuan")
        assert iron[column[_("Layanan")]] == _("Tablet tambah darah ibu hamil")
        cells = [cell for row in register for cell in row]
        assert not any(code in cells for code in ("M", "F", "DPT_HB_HIB1", "TTD_HAMIL", "TIMBANG"))
        assert not any("weight_kg" in cell or "=" in cell for cell in cells)
        # the workbook holds dates as dates and numbers as numbers
        xlsx = {(row[column[_("Tanggal kunjungan")]].date(), row[column[_("Nama")]]): row for row in sheet[1:]}
        first = xlsx[(D(2026, 11, 12), "Bayi Timbang")]
        assert isinstance(first[column[_("Tanggal kunjungan")]], datetime)
        assert isinstance(first[column[_("Tanggal lahir")]], datetime) and first[column[_("Tanggal lahir")]].date() == D(2026, 5, 10)
        assert first[column[_(MEASURE_COLUMNS["weight_kg"])]] == 7.2
        assert xlsx[(D(2026, 11, 9), "Ibu TTD")][column[_("Tablet tambah darah (butir)")]] == 30
    assert book.sheetnames == ([_("Laporan"), _("Register")] if language == "id" else book.sheetnames)


def test_every_report_row_has_a_name_and_every_section_a_title():
    rows = report_table(month_report(2026, 11, je=True))
    assert [r.code for r in rows if r.code not in LABELS and r.code not in DOSE_LABELS and r.code not in SERVICE_ROWS] == []
    assert {r.section for r in rows} == set(SECTION_LABELS) == set(SECTIONS)
    assert set(HEADLINE_TEXT) == set(HEADLINE)
    assert {code for code, _words in CHART_BARS} <= {r.code for r in rows}


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_row_code_is_always_said_in_words(language):
    with use_locale(language):
        for code in ("S", "K", "D", "N", "D/S", "N/D", "N/S", "T", "2T", "O", "B", "IDL", "K1", "K4", "K6", "KF1", "KN1"):
            name = row_label(code)
            assert name.startswith(code + ":") and len(name) > len(code) + 5, name


@pytest.mark.parametrize("language", ["id", "en"])
async def test_ekspor_sends_the_register_in_the_import_columns_and_it_imports_unchanged(engine, demo_db, language):
    """/ekspor, a posyandu, "Register sasaran": the posyandu's register as the import template's XLSX, which
    imports back with nothing to change (issue 17's round trip, by chat)."""
    from registers.importer import run_import
    from registers.read import read_register

    await family_with_records(demo_db, [
        Member("Ni Kadek Rai", "F", D(1995, 4, 2)),
        Member("Putu Arya", "M", D(2026, 2, 10), records=(rec("HB0", D(2026, 2, 10)), rec("BCG", D(2026, 3, 1), "month")),
               weighings=((D(2026, 11, 9), 7.2),))])
    chat = await staff_chat(engine, demo_db, language)
    await chat.say("/ekspor")
    await chat.press("Posyandu Mawar")
    await chat.press({"id": "Register sasaran", "en": "Target register"}[language])
    ((name, data),) = [f for r in chat.replies for f in r.files]
    assert name.startswith("register-") and name.endswith(".xlsx")
    assert {"id": "1 baris pengukuran", "en": "measurement rows: 1"}[language] in chat.text
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["anggota", "imunisasi", "pengukuran", "kehamilan"]
    names = {row[2] for row in book["anggota"].iter_rows(min_row=2, values_only=True)}
    assert {"Ni Kadek Rai", "Putu Arya"} <= names
    async with demo_db.read() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
    report = await run_import(demo_db, read_register(data, name, today=DEFAULT_NOW.date()), puskesmas_id=puskesmas_id, apply=False, actor="test", now=DEFAULT_NOW)
    assert not report.problems, report.text()
    assert report.unchanged and report.persons_unchanged == len(names), report.text()
