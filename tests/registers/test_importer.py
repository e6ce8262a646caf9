"""The importer: rows (as a reader yields them) matched against the database, reported, and written."""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from care.immunization import child_summary
from care.rules_file import load_schedule
from db.history import histories
from db.models import AuditLog, Base, CareRecord, Family, Measurement, Person, Posyandu, Puskesmas, Visit
from content.family_codes import read_family_code
from registers import importer
from registers.importer import run_import
from registers.model import Problem
from reminders.rules import ReminderPolicy, family_items, member_of
from tests.helpers import DEFAULT_NOW, ChatDriver, consent, identity_of, make_family
from tests.registers.factory import dose, measure, person, pregnancy, sheet

TODAY = DEFAULT_NOW.date()
KK = "5108060101000001"
MOTHER_NIK = "5108064504950001"
CHILD_NIK = "5108061411250002"


async def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table, in key order."""
    out = {}
    async with db.read() as session:
        for table in Base.metadata.sorted_tables:
            keys = [c for c in table.primary_key.columns]
            out[table.name] = [tuple(r) for r in (await session.execute(select(table).order_by(*keys))).all()]
    return out


async def puskesmas_id(db, code: str = "P5108060201") -> int:
    async with db.read() as session:
        return await session.scalar(select(Puskesmas.id).where(Puskesmas.code == code))


async def imported(db, items, *, apply: bool = True, **kw):
    return await run_import(db, list(items), puskesmas_id=await puskesmas_id(db), apply=apply, actor="Bidan Sari",
                            filename="register.xlsx", now=DEFAULT_NOW, **kw)


def household(phone: str | None = "6281234567890"):
    """A mother and her child (born 14 Nov 2025) of the No KK ``KK`` in Nagasepaha, with a phone."""
    mother = person("Ni Luh Sari", "F", date(1995, 4, 5), nik=MOTHER_NIK, family_name="Komang Ariawan", relation="istri",
                    phone=phone, dusun="Banjar Kaja", rt="3", rw="2")
    child = person("Putu Adi", "M", date(2025, 11, 14), nik=CHILD_NIK, mother_nik=MOTHER_NIK, family_name="Komang Ariawan",
                   relation="anak")
    return mother, child


def full_register():
    mother, child = household()
    return [
        sheet("anggota"), mother, child,
        sheet("imunisasi"), dose(child, "HB0", date(2025, 11, 14)), dose(child, "BCG", date(2025, 12, 14)),
        dose(child, "OPV1", None, "unknown"),
        sheet("pengukuran"), measure(child, date(2026, 10, 5), 8.9, 73.5), measure(child, date(2026, 11, 5), 9.1, 74.2),
        sheet("kehamilan"), pregnancy(mother, date(2026, 8, 1), ((1, date(2026, 9, 20)),)),
    ]


# -- a new household ---------------------------------------------------------------------------------


async def test_a_dry_run_reports_everything_new_and_writes_nothing(demo_db):
    before = await snapshot(demo_db)
    report = await imported(demo_db, full_register(), apply=False)
    assert await snapshot(demo_db) == before
    assert (report.families_new, report.persons_new, report.doses_added, report.measurements_added, report.anc_added) == (1, 2, 3, 4, 1)
    assert not report.problems and not report.applied
    assert not report.fields_updated  # a new mother's HPHT and HPL are part of her being new, not updates
    assert "uji coba, belum ada yang disimpan" in report.text()


async def test_apply_writes_the_family_its_people_and_their_history(demo_db):
    report = await imported(demo_db, full_register())
    assert (report.families_new, report.persons_new, report.doses_added, report.measurements_added, report.anc_added) == (1, 2, 3, 4, 1)
    async with demo_db.read() as session:
        family = (await session.scalars(select(Family))).one()
        posyandu = await session.get(Posyandu, family.posyandu_id)
        people = {p.name: p for p in await session.scalars(select(Person))}
        records = (await session.execute(select(CareRecord.person_id, CareRecord.code, CareRecord.done_on, CareRecord.precision,
                                                CareRecord.source, CareRecord.visit_id))).all()
        visits = list(await session.scalars(select(Visit).order_by(Visit.visited_on)))
        measures = (await session.execute(select(Measurement.visit_id, Measurement.kind, Measurement.value, Measurement.detail))).all()
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "register.imported"))).one()
    assert posyandu.code == "PY-5108062014" and family.no_kk == KK and family.phone == "6281234567890"
    assert family.name == "Komang Ariawan" and (family.dusun, family.rt, family.rw) == ("Banjar Kaja", "003", "002")
    assert read_family_code(family.code)[0] == "new" and family.registered_at is not None
    child, mother = people["Putu Adi"], people["Ni Luh Sari"]
    assert (child.nik, child.sex, child.birth_date) == (CHILD_NIK, "M", date(2025, 11, 14))
    assert (mother.hpht, mother.due_date) == (date(2026, 8, 1), date(2027, 5, 8))
    assert {r.source for r in records} == {"import"}
    codes = {(r.person_id, r.code): r for r in records}
    assert codes[(child.id, "OPV1")].precision == "unknown" and codes[(child.id, "HB0")].done_on == date(2025, 11, 14)
    assert codes[(mother.id, "ANC1")].done_on == date(2026, 9, 20)
    # measurements as the chat's visits write them: a visit per day, lying length under two, TIMBANG for the weighing
    assert [(v.person_id, v.visited_on, v.place, v.posyandu_id) for v in visits] == [
        (child.id, date(2026, 10, 5), "posyandu", posyandu.id), (child.id, date(2026, 11, 5), "posyandu", posyandu.id)]
    assert sorted((m.kind, m.value, m.detail) for m in measures if m.visit_id == visits[1].id) == [
        ("length_cm", 74.2, "l"), ("weight_kg", 9.1, None)]
    assert codes[(child.id, "TIMBANG")].visit_id in {v.id for v in visits}
    assert audit.detail["by"] == "Bidan Sari" and audit.detail["file"] == "register.xlsx"
    assert audit.detail["persons_new"] == 2 and audit.detail["doses_added"] == 3 and audit.at == DEFAULT_NOW


async def test_importing_twice_changes_nothing_and_says_so(demo_db):
    await imported(demo_db, full_register())
    before = await snapshot(demo_db)
    again = await imported(demo_db, full_register())
    after = await snapshot(demo_db)
    after["audit_log"] = after["audit_log"][:-1]  # the second import's own audit row
    before_audit = before.pop("audit_log")
    assert after.pop("audit_log") == before_audit
    assert after == before
    assert again.unchanged and (again.families_unchanged, again.persons_unchanged) == (1, 2)
    assert "Tidak ada yang berubah." in again.text()
    dry = await imported(demo_db, full_register(), apply=False)
    assert dry.unchanged and not dry.problems


async def test_an_updated_file_changes_only_what_changed_and_says_what(demo_db):
    await imported(demo_db, full_register())
    mother, child = household(phone="6281299990000")
    report = await imported(demo_db, [sheet("anggota"), mother, child, sheet("imunisasi"),
                                      dose(child, "HB0", date(2025, 11, 14)), dose(child, "OPV1", date(2025, 12, 14)),
                                      dose(child, "DPT_HB_HIB1", date(2026, 1, 14))])
    assert (report.families_updated, report.persons_unchanged, report.doses_added, report.doses_updated) == (1, 2, 1, 1)
    assert report.fields_updated == {"family.phone": 1}
    assert "nomor HP 1" in report.text()
    async with demo_db.read() as session:
        assert (await session.scalars(select(Family.phone))).one() == "6281299990000"
        opv = (await session.scalars(select(CareRecord).where(CareRecord.code == "OPV1"))).one()
    assert (opv.done_on, opv.precision) == (date(2025, 12, 14), "day")  # "sudah" given its day


async def test_a_dose_the_chat_recorded_on_another_day_is_kept_and_reported(demo_db):
    await imported(demo_db, full_register())
    async with demo_db.write() as session:
        await session.execute(text("UPDATE care_record SET source = 'kader' WHERE code = 'BCG'"))
    _mother, child = household()
    report = await imported(demo_db, [sheet("imunisasi"), dose(child, "BCG", date(2025, 12, 20))])
    assert [p.code for p in report.problems] == ["dose_date_differs"] and report.doses_updated == 0
    assert "sudah tercatat tanggal 2025-12-14" in report.text()


# -- history counts everywhere ---------------------------------------------------------------------


async def test_a_child_imported_with_a_complete_record_misses_nothing(demo_db):
    birth = date(2025, 11, 14)
    schedule = load_schedule()
    _mother, child = household()
    due = [rule for rule in schedule.immunization.doses
           if rule.code != "JE" and max(rule.recommended.after(birth), rule.earliest.after(birth)) <= TODAY]
    assert len(due) > 10
    rows = [sheet("anggota"), child, sheet("imunisasi")]
    rows += [dose(child, rule.code, max(rule.recommended.after(birth), rule.earliest.after(birth))) for rule in due]
    report = await imported(demo_db, rows)
    assert report.doses_added == len(due) and not report.problems
    async with demo_db.read() as session:
        person = (await session.scalars(select(Person))).one()
        history = (await histories(session, [person.id]))[person.id]
    summary = child_summary(person.birth_date, history.given, TODAY, schedule=schedule, approximate=history.approximate)
    assert not (summary.due or summary.catch_up or summary.invalid or summary.missed), summary
    items = family_items(TODAY, person.family_id, [member_of(person, history)], None, {}, ReminderPolicy(), schedule)
    assert not [i for i in items if i.kind == "dose"], items


async def test_an_imported_family_is_on_the_kaders_list_at_once(demo_db):
    await imported(demo_db, full_register())
    async with demo_db.read() as session:
        family = (await session.scalars(select(Family))).one()
        mawar = await session.scalar(select(Posyandu.id).where(Posyandu.code == "PY-5108062014"))
    assert family.posyandu_id == mawar and family.registered_at is not None  # what /sasaran and the planner read


async def test_the_imported_phone_links_the_number_that_writes_on_whatsapp(engine, demo_db):
    await imported(demo_db, full_register())
    async with demo_db.read() as session:
        family = (await session.scalars(select(Family))).one()
    chat = ChatDriver(engine, address="6281234567890", channel="whatsapp", phone="6281234567890")
    await consent(chat)
    assert "Kader posyandu sudah mendaftarkan keluarga Komang Ariawan dengan nomor ini" in chat.text
    assert (await identity_of(demo_db, "6281234567890", "whatsapp")).family_id == family.id


# -- matching --------------------------------------------------------------------------------------


async def test_a_known_person_is_found_by_name_birth_and_no_kk_and_gets_the_nik(demo_db):
    await imported(demo_db, [sheet("anggota"), person("Ni Luh Sari", "F", date(1995, 4, 5))])
    report = await imported(demo_db, [sheet("anggota"), person("NI LUH  SARI", "F", date(1995, 4, 5), nik=MOTHER_NIK)])
    assert (report.persons_new, report.persons_updated, report.families_unchanged) == (0, 1, 1)
    assert report.fields_updated == {"person.nik": 1}
    async with demo_db.read() as session:
        assert (await session.scalars(select(Person.nik))).all() == [MOTHER_NIK]


async def test_a_child_is_found_through_the_mothers_nik(demo_db):
    mother, child = household()
    await imported(demo_db, [sheet("anggota"), mother, child])
    baby = person("Putu Adi", "M", date(2025, 11, 14), no_kk=None, mother_nik=MOTHER_NIK)
    report = await imported(demo_db, [sheet("anggota"), baby, sheet("pengukuran"), measure(baby, date(2026, 11, 5), 9.1)])
    assert (report.persons_new, report.persons_unchanged, report.measurements_added) == (0, 1, 1)


async def test_duplicates_and_near_duplicates_are_reported_never_merged(demo_db):
    mother, child = household()
    await imported(demo_db, [sheet("anggota"), mother, child])
    rows = [
        sheet("anggota"),
        person("Made Wira", "M", date(1990, 1, 1), no_kk="5108060101000002", nik="5108060101900003"),
        person("Made Wira", "M", date(1990, 1, 1), no_kk="5108060101000002", nik="5108060101900003"),  # twice in the file
        person("Kadek Lain", "F", date(1995, 4, 5), no_kk="5108060101000003", nik=MOTHER_NIK),  # her NIK, another name
        person("Ni Luh Sari", "F", date(1995, 4, 5), no_kk="5108060101000004"),  # same name and birth, another family
    ]
    before = await snapshot(demo_db)
    report = await imported(demo_db, rows, apply=False)
    assert await snapshot(demo_db) == before
    assert [(p.code, p.row) for p in report.problems] == [("duplicate_in_file", 3), ("nik_other_name", 4), ("maybe_duplicate", 5)]
    assert report.persons_new == 1
    text_ = report.text()
    assert "anggota, baris 3" in text_ and "orang yang sama sudah ada di baris 2" in text_
    assert "NIK ini sudah tercatat atas nama Ni Luh Sari" in text_


async def test_a_nik_of_another_puskesmas_is_a_problem(demo_db):
    await make_family(demo_db, village_code="18.10.01.2011", members=(("Siti", "F", date(1990, 1, 1)),))
    async with demo_db.write() as session:
        await session.execute(text(f"UPDATE person SET nik = '{MOTHER_NIK}'"))
    report = await imported(demo_db, [sheet("anggota"), person("Siti", "F", date(1990, 1, 1), nik=MOTHER_NIK)], apply=False)
    assert [p.code for p in report.problems] == ["nik_elsewhere"]


# -- places ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("place", [
    {"posyandu": "PY-5108062016"}, {"posyandu": "posyandu melati"}, {"village_code": "5108062016"},
    {"village_name": "Desa Panji"},
])
async def test_a_family_is_placed_by_posyandu_or_village(demo_db, place):
    async with demo_db.read() as session:
        melati = (await session.scalars(select(Posyandu).where(Posyandu.code == "PY-5108062016"))).one()
    if "village_name" in place:
        place = {"village_name": f"Desa {melati.village_name}"}
    row = person("Wayan", "M", date(1980, 1, 1), **{"village_code": None, **place})
    await imported(demo_db, [sheet("anggota"), row])
    async with demo_db.read() as session:
        assert (await session.scalars(select(Family.posyandu_id))).one() == melati.id


async def test_rows_of_another_puskesmas_or_of_nowhere_are_problems(demo_db):
    rows = [sheet("anggota"), person("Siti", "F", date(1990, 1, 1), village_code="18.10.01.2011"),
            person("Ani", "F", date(1991, 1, 1), no_kk="5108060101000009", village_code="99.99.99.9999"),
            person("Budi", "M", date(1992, 1, 1), no_kk="5108060101000008", village_code=None)]
    report = await imported(demo_db, rows)
    assert [p.code for p in report.problems] == ["place_other_puskesmas", "place_unknown", "place_missing"]
    assert "milik Puskesmas Pringsewu" in report.text()
    assert report.persons_new == 0


async def test_a_village_with_two_posyandu_takes_the_one_of_the_dusun(demo_db):
    await make_family(demo_db)  # in Posyandu Mawar, dusun Banjar Kelod
    async with demo_db.write() as session:
        mawar = (await session.scalars(select(Posyandu).where(Posyandu.code == "PY-5108062014"))).one()
        session.add(Posyandu(puskesmas_id=mawar.puskesmas_id, code="PY-5108062014B", name="Posyandu Mawar II",
                             village_code=mawar.village_code, village_name=mawar.village_name, schedule={"monthly_day": 7},
                             created_at=DEFAULT_NOW))
    report = await imported(demo_db, [sheet("anggota"), person("Wayan", "M", date(1980, 1, 1), dusun="Banjar Kelod"),
                                      person("Nyoman", "M", date(1981, 1, 1), no_kk="5108060101000002", dusun="Banjar Kaja")])
    assert [p.code for p in report.problems] == ["place_ambiguous"]
    assert "Posyandu Mawar, Posyandu Mawar II" in report.text()
    async with demo_db.read() as session:
        placed = (await session.scalars(select(Family.posyandu_id).where(Family.no_kk == KK))).one()
    assert placed == mawar.id


# -- the report and the errors file ----------------------------------------------------------------


async def test_the_report_lists_the_first_problems_and_counts_the_rest(demo_db):
    rows = [sheet("pengukuran")] + [measure(person(f"Anak {i}", "M", date(2025, 1, 1), nik=f"51080601012500{i:02d}"),
                                            date(2026, 1, 1), 8.0) for i in range(13)]
    report = await imported(demo_db, rows, apply=False)
    assert len(report.problems) == 13
    lines = report.text().splitlines()
    assert lines[-1] == "dan 3 masalah lain."
    assert "- pengukuran, baris 2: 5108060101250000 \u2014 orang ini tidak ditemukan" in report.text()


async def test_the_errors_file_holds_the_rows_with_their_reasons(demo_db):
    rows = [sheet("anggota"), person("Siti", "F", date(1990, 1, 1), village_code="18.10.01.2011"),
            person("Budi", "M", date(1992, 1, 1), no_kk="5108060101000008")]
    report = await imported(demo_db, rows, apply=False)
    book = load_workbook(io.BytesIO(report.errors_xlsx()))
    (name,) = book.sheetnames
    table = [[c.value for c in r] for r in book[name].iter_rows()]
    assert table[0][:3] == ["No KK", "NIK", "Nama"] and table[0][-1] == "Masalah"
    assert len(table) == 2 and table[1][2] == "Siti" and "milik Puskesmas Pringsewu" in table[1][-1]
    clean = await imported(demo_db, [sheet("anggota"), person("Budi", "M", date(1992, 1, 1))], apply=False)
    assert clean.errors_xlsx() is None


# -- safety ------------------------------------------------------------------------------------------


class BadFile(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


async def test_a_fatal_problem_writes_nothing(demo_db):
    before = await snapshot(demo_db)
    fatal = Problem("no_header", sheet="anggota", fatal=True)
    report = await imported(demo_db, [fatal, *full_register()])
    assert report.fatal and not report.applied and await snapshot(demo_db) == before

    def bad_file():
        raise BadFile(Problem("not_a_register", fatal=True))
        yield  # a generator, as the reader is

    report = await run_import(demo_db, bad_file(), puskesmas_id=await puskesmas_id(demo_db), apply=True, actor="x")
    assert report.fatal and await snapshot(demo_db) == before
    assert "tidak ada yang disimpan" in report.text()


async def test_a_failure_leaves_whole_batches_and_a_second_run_completes(demo_db, monkeypatch):
    monkeypatch.setattr(importer, "PERSON_BATCH", 3)
    rows = [sheet("anggota")] + [person(f"Warga {i}", "F", date(1990, 1, 1 + i), no_kk=f"51080601010000{i:02d}") for i in range(8)]

    def failing():
        for n, row in enumerate(rows):
            if n == 8:
                raise OSError("disk went away")
            yield row

    with pytest.raises(OSError):
        await run_import(demo_db, failing(), puskesmas_id=await puskesmas_id(demo_db), apply=True, actor="x", now=DEFAULT_NOW)
    async with demo_db.read() as session:
        assert len((await session.scalars(select(Person))).all()) == 6  # two whole batches
    report = await imported(demo_db, rows)
    assert (report.persons_new, report.persons_unchanged, report.families_new) == (2, 6, 2)


async def test_each_import_is_counted_by_outcome_for_the_operator(demo_db):
    from metrics import METRICS

    def count(outcome: str) -> float:
        return METRICS.imports.labels(outcome)._value.get()

    before = {outcome: count(outcome) for outcome in ("dry_run", "applied")}
    report = await imported(demo_db, full_register(), apply=False)
    assert "pilih Terapkan untuk menyimpan" in report.text(by_chat=True) and "--apply" not in report.text(by_chat=True)
    await imported(demo_db, full_register())
    assert count("dry_run") == before["dry_run"] + 1 and count("applied") == before["applied"] + 1


async def test_the_templates_examples_import_without_a_problem(demo_db):
    from registers.read import read_register
    from registers.template import template_bytes

    report = await imported(demo_db, read_register(template_bytes(), "template.xlsx"), apply=False)
    assert not report.problems, [p.code for p in report.problems]
    # the child's row comes first and names both parents: the mother's own row then finds her by NIK
    assert (report.families_new, report.persons_new, report.parents_new, report.anc_added) == (1, 3, 2, 2)


# -- parents named on a child's row (e-PPGBM's Data Dasar) -------------------------------------------------

FATHER_NIK = "5108060505920004"


def ppgbm_child(name: str, birth: date, nik: str, **more):
    """A Data Dasar row: the child with the NIK and name of the mother and father, who have no rows of their own."""
    return person(name, "M", birth, nik=nik, mother_nik=MOTHER_NIK, mother_name="Ni Luh Sari", father_nik=FATHER_NIK,
                  father_name="Komang Ariawan", relation="anak", **more)


async def members_of(db, no_kk: str = KK) -> dict[str, Person]:
    async with db.read() as session:
        family = await session.scalar(select(Family).where(Family.no_kk == no_kk))
        return {p.name: p for p in await session.scalars(select(Person).where(Person.family_id == family.id))}


async def test_the_parents_of_a_data_dasar_row_join_the_family_once(demo_db):
    rows = [sheet("anggota"), ppgbm_child("Putu Adi", date(2025, 11, 14), CHILD_NIK),
            ppgbm_child("Kadek Adi", date(2023, 6, 2), "5108060206230003")]
    dry = await imported(demo_db, rows, apply=False)
    assert (dry.persons_new, dry.parents_new) == (4, 2), dry.text()
    assert "2 ibu atau ayah" in dry.text()
    report = await imported(demo_db, rows)
    assert not report.problems and (report.families_new, report.persons_new, report.parents_new) == (1, 4, 2)
    members = await members_of(demo_db)
    mother, father = members["Ni Luh Sari"], members["Komang Ariawan"]
    assert (mother.sex, mother.nik, mother.birth_date) == ("F", MOTHER_NIK, date(1995, 4, 5))  # from the NIK: day - 40 for a woman
    assert (father.sex, father.nik, father.birth_date) == ("M", FATHER_NIK, date(1992, 5, 5))
    before = await snapshot(demo_db)
    again = await imported(demo_db, rows)
    assert again.unchanged and (again.persons_unchanged, again.parents_new) == (2, 0), again.text()
    after = await snapshot(demo_db)
    assert after.pop("audit_log")[:-1] == before.pop("audit_log") and after == before


async def test_a_parent_named_without_nik_is_matched_by_her_own_row_later(demo_db):
    child = person("Putu Adi", "M", date(2025, 11, 14), nik=CHILD_NIK, mother_name="Ni Luh Sari", relation="anak")
    mother = person("Ni Luh Sari", "F", date(1995, 4, 5), relation="istri")
    report = await imported(demo_db, [sheet("anggota"), child, mother])
    assert not report.problems and report.persons_new == 2, report.text()
    members = await members_of(demo_db)
    assert set(members) == {"Putu Adi", "Ni Luh Sari"} and members["Ni Luh Sari"].birth_date == date(1995, 4, 5)
    assert "Yang diperbarui" not in report.text()  # new persons are new, not updated


async def test_a_parent_already_in_the_file_or_another_puskesmas_is_not_added(demo_db):
    mother, child = household()
    named = person("Putu Adi", "M", date(2025, 11, 14), nik=CHILD_NIK, mother_nik=MOTHER_NIK, mother_name="Ni Luh Sari")
    report = await imported(demo_db, [sheet("anggota"), mother, named])
    assert report.persons_new == 2 and report.parents_new == 0
    other = await run_import(demo_db, [sheet("anggota"), person("Made Sukma", "M", date(2024, 1, 3), no_kk="1810010101000009",
                                                                 mother_nik=MOTHER_NIK, mother_name="Ni Luh Sari",
                                                                 village_code="18.10.01.2011")],
                             puskesmas_id=await puskesmas_id(demo_db, "P1810010101"), apply=False, actor="x", now=DEFAULT_NOW)
    assert other.parents_new == 0, other.text()


# -- a child's size that cannot be true (care.plausibility, as the chat's visit) -----------------------------


@pytest.mark.parametrize(("weight", "length", "expected"), [
    (82.0, 74.0, ("size_slip", "Berat Badan (kg)", "mungkin maksudnya 8,2?")),  # a decimal comma lost
    (8.2, 7.4, ("size_slip", "Tinggi/Panjang Badan (cm)", "mungkin maksudnya 74?")),
    (8.2, 74.0, None),  # plausible at 11 months
])
async def test_an_impossible_size_of_a_child_is_a_problem_not_a_measurement(demo_db, weight, length, expected):
    mother, child = household()  # the child was born 14 Nov 2025: 11 months old on 20 Oct 2026
    report = await imported(demo_db, [sheet("anggota"), mother, child, sheet("pengukuran"),
                                      measure(child, date(2026, 10, 20), weight, length)])
    if expected is None:
        assert not report.problems and report.measurements_added == 2
        return
    code, column, words = expected
    (problem,) = report.problems
    assert (problem.code, problem.column, problem.sheet) == (code, column, "pengukuran")
    assert words in report.text(), report.text()
    assert report.measurements_added == 0
    async with demo_db.read() as session:
        assert not list(await session.scalars(select(Measurement)))
