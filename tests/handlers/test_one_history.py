"""One history: a dose or service a kader records by chat closes its item everywhere at once.

For every service kind of issue [1/8] (ANC contact, KN, KF, vitamin A, weighing, iron tablets,
deworming, PTM, SKILAS, SDIDTK) and for every dose of the schedule, a kader records it in one line
(``catat``) and then: the family's ``/jadwal`` no longer lists it as due now, the kader's ``/sasaran``
no longer names it, the next day's plan (a dry run of the planner, read as the planner reads) has no
item for it, and the staff's report (``/ekspor``, every row of ``/laporan``) counts it. Before the record, each of those that lists
the item at all lists it (weighing and the weekly iron tablet of a girl are no reminder of their own:
the posyandu day and the school are; a girl's weekly tablet is no home visit).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from care.history import unknown_dose_date
from care.labels import DOSE_LABELS, SERVICE_LABELS
from care.rules_file import load_schedule
from content.i18n import _, format_date, use_locale
from db.history import record
from db.models import Person, Posyandu, Puskesmas
from handlers.kader import create_invite
from handlers.care_views import brief_label
from handlers.report import row_label
from reminders.planner import Planner
from tests.helpers import DEFAULT_NOW, ChatDriver, FixedClock, consent, invited_chat, make_family

TODAY = DEFAULT_NOW.date()  # Monday 23 November 2026
MAWAR = "51.08.06.2014"


@dataclass(frozen=True)
class Case:
    """One service kind: the member it is due for, the line that records it, where it shows."""

    name: str
    member: tuple  # (name, sex, birth) plus optional {field: value}
    line: str  # after "catat <family code> "
    label: str  # the item's name in /jadwal, /sasaran and the plan (a msgid)
    row: str  # the /laporan row that counts it
    in_plan: bool = True
    in_targets: bool = True
    targets_text: str | None = None  # what /sasaran says, when it is not the label
    report_on: date | None = None  # the day staff read the report (the month a window closes)
    extra: dict = field(default_factory=dict)


SERVICES = [
    Case("weighing", ("Putu Adi", "M", date(2025, 9, 14)), "anak1 bb 9,6 tb 77", SERVICE_LABELS["TIMBANG"], "D",
         in_plan=False, targets_text="belum ditimbang bulan ini"),
    Case("vitamin A", ("Kadek Bayu", "M", date(2026, 2, 10)), "anak1 vita", SERVICE_LABELS["VITA_BIRU"], "VITA_BIRU"),
    Case("deworming", ("Komang Ayu", "F", date(2024, 6, 1)), "anak1 oc", SERVICE_LABELS["OBAT_CACING"], "OBAT_CACING"),
    Case("SDIDTK", ("Ketut Arya", "M", date(2025, 5, 10)), "anak1 sdidtk", SERVICE_LABELS["SDIDTK"], "SDIDTK"),
    Case("ANC contact", ("Ni Luh Sari", "F", date(1995, 4, 2), {"hpht": TODAY - timedelta(weeks=20)}), "ibu anc 2",
         SERVICE_LABELS["ANC2"], "K1"),
    Case("KN", ("Bayi Wayan", "M", TODAY - timedelta(days=1)), "anak1 kn1", SERVICE_LABELS["KN1"], "KN1",
         report_on=date(2026, 12, 21)),
    Case("KF", ("Ni Made Rai", "F", date(1996, 1, 5), {"hpht": date(2026, 2, 15), "delivered_on": TODAY - timedelta(days=1)}),
         "ibu kf1", SERVICE_LABELS["KF1"], "KF1", report_on=date(2027, 1, 4)),
    Case("iron tablets", ("Ayu Lestari", "F", date(2012, 3, 3)), "nama Ayu ttd 1", SERVICE_LABELS["TTD_REMAJA"], "TTD_REMAJA",
         in_plan=False, in_targets=False),
    Case("PTM", ("Made Wirawan", "M", date(1990, 6, 6)), "nama Made td 120/80 gd 100", SERVICE_LABELS["SKRINING_PTM"],
         "SKRINING_PTM"),
    Case("SKILAS", ("Nenek Rai", "F", date(1950, 2, 2)), "nama Nenek skilas normal", SERVICE_LABELS["SKILAS"], "SKILAS"),
]

DOSE_WORDS = {
    "HB0": "hb0", "BCG": "bcg", "OPV1": "opv1", "OPV2": "bopv2", "OPV3": "polio3", "OPV4": "opv4",
    "DPT_HB_HIB1": "dpt1", "DPT_HB_HIB2": "penta2", "DPT_HB_HIB3": "dpthbhib3", "DPT_HB_HIB4": "dpt4",
    "PCV1": "pcv1", "PCV2": "pcv2", "PCV3": "pcv3", "RV1": "rota1", "RV2": "rv2", "RV3": "rotavirus3",
    "IPV1": "ipv1", "IPV2": "ipv2", "MR1": "mr1", "MR2": "campak2", "JE": "je",
}


def dose_case(code: str) -> tuple[Case, list[str]]:
    """A child at the recommended age of dose ``code``, with every earlier dose of the book given on time."""
    rules = load_schedule().immunization
    rule = rules.by_code[code]
    birth = TODAY - timedelta(days=3)
    while rule.recommended.after(birth) > TODAY - timedelta(days=2):
        birth -= timedelta(days=1)
    earlier = [r.code for r in rules.doses if r.code != code and r.recommended.after(birth) < rule.recommended.after(birth)
               and (r.switch is None or code == "JE" or r.code != "JE")]
    case = Case(f"dose {code}", ("Anak Dosis", "M", birth), f"anak1 imun {DOSE_WORDS[code]}", DOSE_LABELS[code], code)
    return case, earlier


# -- reading the four places ------------------------------------------------------------------------

def now_line(text: str, name: str) -> str:
    """A member's line in /jadwal's summary of what is due now (empty when nothing is due now)."""
    return next((line for line in text.splitlines() if line.startswith(f"\u2022 {name}: ")), "")


def report_value(report: str, code: str) -> int:
    """The count of a row of the exported report (CSV text): a dose's doses given this month, a
    rate's count, or the number."""
    label = row_label(code)
    for _section, name, count, _total, _percent, given in csv.reader(io.StringIO(report), delimiter=";"):
        if name == label:
            return int(given if code in DOSE_LABELS else count)
    raise AssertionError(f"no row {label!r} in {report}")


async def staff_chat(engine, db) -> ChatDriver:
    async with db.write() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
        invite = await create_invite(session, role="staff", puskesmas_id=puskesmas_id, now=DEFAULT_NOW)
    chat = ChatDriver(engine, address="staff-one-history")
    await consent(chat)
    await chat.say(f"/staf {invite.code}")
    return chat


async def report_text(chat: ChatDriver, on: date) -> str:
    """The report of the month of ``on`` as /ekspor's CSV (Indonesian: ``;`` between cells)."""
    await chat.say("/ekspor")
    await chat.press("Posyandu Mawar")
    await chat.press(format_date(on, "MMMM y"))
    return last_report(chat)


def last_report(chat: ChatDriver) -> str:
    """The report CSV of the last /ekspor."""
    files = dict(f for r in chat.replies for f in r.files)
    return next(data for name, data in files.items() if name.startswith("laporan-") and name.endswith(".csv")).decode("utf-8-sig")


async def plan_text(db, settings, family_name: str, day: date) -> str:
    """The family's message in a dry run of the plan of ``day`` (empty when it gets none)."""
    planner = Planner(db, settings, clock=lambda: DEFAULT_NOW, workers=0)
    result = await planner.plan_day(day, dry_run=True)
    return next((s for s in result.samples if family_name in s), "")


@dataclass
class World:
    engine: object
    db: object
    settings: object
    clock: FixedClock
    family: object
    person_id: int
    family_chat: ChatDriver
    kader: ChatDriver
    staff: ChatDriver


async def world_for(engine, demo_db, settings, clock, case: Case, earlier: list[str] = ()) -> World:
    member = case.member
    family = await make_family(demo_db, name="Keluarga Riwayat", members=(member[:3],), identity_address="fam-one-history")
    async with demo_db.write() as session:
        person = (await session.scalars(select(Person).where(Person.family_id == family.id))).one()
        for key, value in (member[3] if len(member) > 3 else {}).items():
            setattr(person, key, value)
        rules = load_schedule().immunization
        for code in earlier:
            await record(session, person_id=person.id, code=code, on=rules.by_code[code].recommended.after(person.birth_date),
                         now=DEFAULT_NOW, source="kader")
        person_id = person.id
    async with demo_db.read() as session:
        posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == MAWAR))
    kader = await invited_chat(engine, demo_db, role="kader", address="kader-one-history", posyandu_id=posyandu_id)
    staff = await staff_chat(engine, demo_db)
    return World(engine, demo_db, settings, clock, family, person_id, ChatDriver(engine, address="fam-one-history"), kader, staff)


async def places(w: World, case: Case) -> dict[str, bool]:
    """Whether /jadwal (due now), /sasaran and tomorrow's plan name the item."""
    label = _(case.label)
    code = next(c for c, msgid in {**DOSE_LABELS, **SERVICE_LABELS}.items() if msgid == case.label)
    await w.family_chat.say("/jadwal")
    jadwal = brief_label(code, label) in now_line(w.family_chat.text, case.member[0])
    await w.family_chat.say("batal")  # back to the main menu
    await w.kader.say("/sasaran")
    targets = (case.targets_text or label) in w.kader.text
    plan = label in await plan_text(w.db, w.settings, w.family.name, TODAY + timedelta(days=1))
    return {"jadwal": jadwal, "sasaran": targets, "plan": plan}


async def check(w: World, case: Case) -> None:
    with use_locale("id"):
        before = await places(w, case)
        assert before == {"jadwal": True, "sasaran": case.in_targets, "plan": case.in_plan}, (case.name, w.family_chat.text)
        report_day = case.report_on or TODAY
        await w.kader.say(f"catat {w.family.code} {case.line}")
        assert "Tersimpan" in w.kader.text, w.kader.text
        after = await places(w, case)
        assert after == {"jadwal": False, "sasaran": False, "plan": False}, (case.name, w.family_chat.text, w.kader.text)
        if report_day != TODAY:
            w.clock.now = datetime.combine(report_day, DEFAULT_NOW.timetz())
        counted = report_value(await report_text(w.staff, report_day), case.row)
        assert counted >= 1, (case.name, w.staff.text)


@pytest.mark.parametrize("case", SERVICES, ids=[c.name for c in SERVICES])
async def test_a_service_recorded_by_chat_is_closed_everywhere_and_counted(engine, demo_db, settings, clock, case):
    w = await world_for(engine, demo_db, settings, clock, case)
    await check(w, case)


@pytest.mark.parametrize("code", [c for c in DOSE_LABELS if c != "JE"])
async def test_each_dose_recorded_by_chat_is_closed_everywhere_and_counted(engine, demo_db, settings, clock, code):
    case, earlier = dose_case(code)
    w = await world_for(engine, demo_db, settings, clock, case, earlier)
    before = report_value(await report_text(w.staff, TODAY), code)
    await check(w, case)
    assert report_value(last_report(w.staff), code) == before + 1


async def test_je_where_the_district_gives_it(engine, demo_db, settings, clock):
    from handlers.engine import Engine

    je = replace(settings, care=replace(settings.care, je=True))
    case, earlier = dose_case("JE")
    engine = Engine(demo_db, je, clock=clock)
    w = await world_for(engine, demo_db, je, clock, case, earlier)
    await check(w, case)


async def test_a_complete_book_without_dates_leaves_nothing_to_remind(engine, demo_db, settings, clock):
    """The Buku KIA entered as 'sudah, tanggal tidak ingat': no dose shows as due or missed anywhere."""
    birth = date(2024, 11, 1)
    case = Case("book", ("Anak Buku", "F", birth), "", "", "")
    w = await world_for(engine, demo_db, settings, clock, case)
    async with demo_db.write() as session:
        for code in DOSE_LABELS:
            if code != "JE":
                await record(session, person_id=w.person_id, code=code, on=unknown_dose_date(code, birth, TODAY),
                             now=DEFAULT_NOW, source="family", precision="unknown")
    await w.family_chat.say("/imunisasi")
    card = w.family_chat.text
    for mark in ("\u2717 Terlewat: {doses}", "\u25cf Waktunya sekarang: {doses}", "\u25cb Terlambat, masih bisa dikejar: {doses}",
                 "! Perlu diulang: {doses}"):
        assert _(mark, doses="").strip() not in card, card
    text = await plan_text(demo_db, settings, w.family.name, TODAY + timedelta(days=1))
    assert not any(_(label) in text for label in DOSE_LABELS.values())
