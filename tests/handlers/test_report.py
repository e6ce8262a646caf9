"""/laporan and /ekspor count every dose and service from the one care record (db.history).

Each case writes a family of Posyandu Mawar (Nagasepaha) and its care records the way every entry
path does (``db.history.record``; a weighing or iron tablets through a visit), then staff read
November 2026 (the clock is 23 November 2026) in /laporan's text and in the /ekspor CSV and XLSX,
in Indonesian and in English.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from care.coverage import month_report, report_text_rows
from care.schedule import DOSE_LABELS
from content.i18n import use_locale
from db.history import record
from db.models import Measurement, Person, Posyandu, Puskesmas, Visit
from handlers.kader import create_invite
from handlers.report import LABELS, SERVICE_ROWS, row_label
from tests.helpers import DEFAULT_NOW, ChatDriver, consent, make_family

D = date
MONTH = {"id": "November 2026", "en": "November 2026"}


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


async def read_report(chat: ChatDriver, language: str) -> tuple[str, dict[str, str], dict[str, bytes]]:
    """/laporan's text, the /ekspor report CSV as label -> value, and the export files."""
    await chat.say("/laporan")
    await chat.press("Posyandu Mawar")
    await chat.press(MONTH[language])
    text = chat.text
    await chat.say("/ekspor")
    await chat.press("Posyandu Mawar")
    await chat.press(MONTH[language])
    files = dict(f for r in chat.replies for f in r.files)
    report = next(data for name, data in files.items() if name.startswith("laporan-") and name.endswith(".csv"))
    rows = list(csv.reader(io.StringIO(report.decode("utf-8-sig"))))
    return text, {label: value for label, value in rows[1:]}, files


def label_in(language: str, code: str) -> str:
    with use_locale(language):
        return row_label(code)


def pct(value: str, language: str) -> str:
    """A value written with the language's decimal mark."""
    return value.replace(".", ",") if language == "id" else value


# --------------------------------------------------------------------------- one case per service kind

# November 2026: 1-30 November. Ages are on 30 November 2026.
CASES = {
    "weighing": ([Member("Bayi Timbang", "M", D(2026, 5, 10), weighings=((D(2026, 11, 12), 7.6),))],
                 {"D": "1", "S": "1"}),
    "anc": ([Member("Ibu Hamil", "F", D(1996, 2, 2), hpht=D(2026, 3, 1),
                    records=(rec("ANC1", D(2026, 4, 20)), rec("ANC6", D(2026, 11, 20))))],
            {"K1": "1/1 (100.0%)", "K4": "1/1 (100.0%)", "K6": "1/1 (100.0%)"}),
    "iron tablets in pregnancy": ([Member("Ibu TTD", "F", D(1998, 8, 8), hpht=D(2026, 6, 1),
                                          iron=((D(2026, 11, 9), 30),))],
                                  {"TTD_HAMIL": "1/1 (100.0%)", "TTD_HAMIL_TABLETS": "30"}),
    "kf": ([Member("Ibu Nifas", "F", D(1994, 1, 1), delivered_on=D(2026, 10, 10),
                   records=(rec("KF1", D(2026, 10, 11)), rec("KF2", D(2026, 10, 15)), rec("KF3", D(2026, 10, 30)),
                            rec("KF4", D(2026, 11, 15))))],
           {"KF1": "1/1 (100.0%)", "KF_COMPLETE": "1/1 (100.0%)"}),
    "kn": ([Member("Bayi Baru", "F", D(2026, 11, 1),
                   records=(rec("KN1", D(2026, 11, 2)), rec("KN2", D(2026, 11, 5)), rec("KN3", D(2026, 11, 20))))],
           {"KN1": "1/1 (100.0%)", "KN_COMPLETE": "1/1 (100.0%)"}),
    "vitamin a blue": ([Member("Bayi Biru", "M", D(2026, 4, 15), records=(rec("VITA_BIRU", D(2026, 11, 10)),))],
                       {"VITA_BIRU": "1/1 (100.0%)", "VITA_MERAH": "0/0 (-)"}),
    "vitamin a red": ([Member("Balita Merah", "F", D(2024, 5, 5), records=(rec("VITA_MERAH", D(2026, 11, 10)),))],
                      {"VITA_MERAH": "1/1 (100.0%)"}),
    "deworming": ([Member("Balita Cacing", "M", D(2024, 5, 5), records=(rec("OBAT_CACING", D(2026, 11, 10)),))],
                  {"OBAT_CACING": "1/1 (100.0%)"}),
    "sdidtk": ([Member("Bayi SDIDTK", "F", D(2026, 8, 10), records=(rec("SDIDTK", D(2026, 11, 12)),))],
               {"SDIDTK": "1/1 (100.0%)"}),
    "iron tablets for girls": ([Member("Remaja Putri", "F", D(2012, 3, 3), records=(rec("TTD_REMAJA", D(2026, 11, 4)),))],
                               {"TTD_REMAJA": "1/1 (100.0%)"}),
    "ptm screening": ([Member("Bapak Dewasa", "M", D(1980, 7, 7), records=(rec("SKRINING_PTM", D(2026, 3, 3), "month"),))],
                      {"SKRINING_PTM": "1/1 (100.0%)", "SKILAS": "0/0 (-)"}),
    "skilas": ([Member("Nenek Lansia", "F", D(1955, 1, 1), records=(rec("SKILAS", D(2026, 11, 18)),))],
               {"SKILAS": "1/1 (100.0%)", "SKRINING_PTM": "0/0 (-)"}),
    # Doses: born 1 September 2026 (2 months on 30 November). DPT-HB-Hib 1 on 2 November is valid and given
    # in the month; BCG told as "September 2026" is covered but not given in November; PCV1 on
    # 6 October (5 weeks of age, before 6 weeks) is invalid.
    "doses": ([Member("Bayi Imunisasi", "M", D(2026, 9, 1),
                      records=(rec("HB0", D(2026, 9, 1)), rec("BCG", D(2026, 9, 15), "month"), rec("PCV1", D(2026, 10, 6)),
                               rec("DPT_HB_HIB1", D(2026, 11, 2))))],
              {"HB0": "1/1 (100.0%) +0", "BCG": "1/1 (100.0%) +0", "DPT_HB_HIB1": "1/1 (100.0%) +1",
               "PCV1": "0/1 (0.0%) +0"}),
}


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("kind", list(CASES))
async def test_each_service_kind_is_counted_in_laporan_and_ekspor(engine, demo_db, kind, language):
    members, expected = CASES[kind]
    await family_with_records(demo_db, members)
    chat = await staff_chat(engine, demo_db, language)
    text, exported, _files = await read_report(chat, language)
    assert f"{label_in(language, 'S')}: " in text and ("children under five" in text) == (language == "en")
    for code, value in expected.items():
        line = f"{label_in(language, code)}: {pct(value, language)}"
        assert line in text.splitlines(), (kind, line)
        assert exported[label_in(language, code)] == pct(value, language), (kind, code)


async def test_an_empty_posyandu_reports_zero_services(engine, demo_db):
    chat = await staff_chat(engine, demo_db, "id")
    text, exported, _files = await read_report(chat, "id")
    for code in ("TTD_HAMIL", "KF1", "VITA_BIRU", "OBAT_CACING", "SDIDTK", "TTD_REMAJA", "SKRINING_PTM", "SKILAS"):
        assert f"{label_in('id', code)}: 0/0 (-)" in text.splitlines()
        assert exported[label_in("id", code)] == "0/0 (-)"


async def test_records_of_another_month_or_posyandu_are_not_counted(engine, demo_db):
    # October's vitamin A does not count in November; a family of Alasangker (Posyandu of another
    # village) is not in Mawar's report.
    await family_with_records(demo_db, [Member("Bayi Oktober", "M", D(2026, 4, 15), records=(rec("VITA_BIRU", D(2026, 10, 31)),))])
    other = await make_family(demo_db, village_code="51.08.06.2016", members=(("Bayi Alas", "F", D(2026, 4, 1)),))
    async with demo_db.write() as session:
        person = (await session.scalars(select(Person).where(Person.family_id == other.id))).one()
        await record(session, person_id=person.id, code="VITA_BIRU", on=D(2026, 11, 10), now=DEFAULT_NOW, source="kader")
    chat = await staff_chat(engine, demo_db, "id")
    text, exported, _files = await read_report(chat, "id")
    assert exported[label_in("id", "VITA_BIRU")] == "0/1 (0,0%)"
    assert f"{label_in('id', 'VITA_BIRU')}: 0/1 (0,0%)" in text.splitlines()


async def test_a_dose_given_too_soon_is_not_counted_until_repeated(engine, demo_db):
    # Born 1 September 2026: DPT-HB-Hib 1 at 2 weeks (before 6 weeks: too early) and DPT-HB-Hib 2 ten days
    # later (too soon) are invalid: not covered. Repeated on 2 November and 30 November (4 weeks apart)
    # they count, and as given in November: the latest record of a dose wins.
    baby = Member("Bayi Ulang", "F", D(2026, 9, 1), records=(rec("DPT_HB_HIB1", D(2026, 9, 15)), rec("DPT_HB_HIB2", D(2026, 9, 25))))
    await family_with_records(demo_db, [baby])
    chat = await staff_chat(engine, demo_db, "id")
    _text, exported, _files = await read_report(chat, "id")
    assert exported[label_in("id", "DPT_HB_HIB1")] == "0/1 (0,0%) +0"  # 2 weeks old: too early
    assert exported[label_in("id", "DPT_HB_HIB2")] == "0/1 (0,0%) +0"
    async with demo_db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == "Bayi Ulang"))).one()
        for code, on in (("DPT_HB_HIB1", D(2026, 11, 2)), ("DPT_HB_HIB2", D(2026, 11, 30))):
            await record(session, person_id=person.id, code=code, on=on, now=DEFAULT_NOW, source="kader")
    _text, exported, _files = await read_report(chat, "id")
    assert exported[label_in("id", "DPT_HB_HIB1")] == "1/1 (100,0%) +1"
    assert exported[label_in("id", "DPT_HB_HIB2")] == "1/1 (100,0%) +1"


@pytest.mark.parametrize("language", ["id", "en"])
async def test_the_workbook_and_register_carry_the_services(engine, demo_db, language):
    mother = Member("Ibu TTD", "F", D(1998, 8, 8), hpht=D(2026, 6, 1), iron=((D(2026, 11, 9), 30),))
    await family_with_records(demo_db, [mother])
    chat = await staff_chat(engine, demo_db, language)
    _text, exported, files = await read_report(chat, language)
    book = load_workbook(io.BytesIO(next(data for name, data in files.items() if name.endswith(".xlsx"))))
    report_sheet, register_sheet = book.worksheets
    sheet = {row[0]: row[1] for row in report_sheet.iter_rows(min_row=2, values_only=True)}
    assert sheet[label_in(language, "TTD_HAMIL_TABLETS")] == "30" == exported[label_in(language, "TTD_HAMIL_TABLETS")]
    register = next(data for name, data in files.items() if name.startswith("register-")).decode("utf-8-sig")
    assert [row for row in csv.reader(io.StringIO(register))][1][-1] == "TTD_HAMIL"


def test_every_report_row_has_a_label():
    codes = [code for code, _value in report_text_rows(month_report(2026, 11, je=True))]
    assert [c for c in codes if c not in LABELS and c not in DOSE_LABELS and c not in SERVICE_ROWS] == []
