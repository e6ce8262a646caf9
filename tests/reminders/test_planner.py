"""The daily plan: right local date, one message per family naming every member, nothing twice."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from db.models import Identity, CareRecord, Outbox, ReminderItem
from reminders.planner import Planner
from tests.helpers import DEFAULT_NOW, make_family

BABY_BIRTH = date(2026, 10, 1)  # two months old on 1 December 2026


async def _family(db, *, village="51.08.06.2014", address="628300", members=None, language="id"):
    family = await make_family(
        db, village_code=village, identity_address=address,
        members=members or (("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", BABY_BIRTH)),
    )
    if language != "id":
        async with db.write() as session:
            identity = (await session.scalars(select(Identity).where(Identity.address == address))).one()
            identity.language = language
    return family


async def _outbox(db) -> list[Outbox]:
    async with db.read() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.id)))


async def test_a_two_month_old_gets_one_message_naming_the_posyandu_day_and_doses(demo_db, settings, clock):
    await _family(demo_db)
    planner = Planner(demo_db, settings, clock=clock)
    result = await planner.plan_day(date(2026, 12, 4))  # Posyandu Mawar meets on the 5th
    rows = await _outbox(demo_db)
    assert result.messages == 1 and len(rows) == 1
    text = rows[0].body["text"]
    assert text.startswith("Pengingat untuk keluarga Komang Ariawan:")
    assert "Besok (Sabtu, 5 Desember) hari posyandu di Posyandu Mawar" in text
    assert "Kadek Bayu: imunisasi" in text and "DPT-HB-Hib 1" in text and "PCV 1" in text
    # delivered in the morning slot, 07:00 WITA = 23:00 UTC the day before; expires at 20:00 WITA
    assert rows[0].not_before == datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
    assert rows[0].expires_at == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert rows[0].timezone == "Asia/Makassar" and rows[0].state == "pending"


async def test_planning_twice_adds_nothing(demo_db, settings, clock):
    await _family(demo_db)
    planner = Planner(demo_db, settings, clock=clock)
    first = await planner.plan_day(date(2026, 12, 4))
    async with demo_db.read() as session:
        items = await session.scalar(select(func.count()).select_from(ReminderItem))
    second = await planner.plan_day(date(2026, 12, 4))
    assert first.messages == 1 and second.messages == 0
    assert len(await _outbox(demo_db)) == 1
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ReminderItem)) == items
        assert await session.scalar(select(func.max(ReminderItem.times))) == 1


async def test_overdue_items_repeat_every_n_days_at_most_m_times(demo_db, settings, clock):
    await _family(demo_db, members=(("Kadek Bayu", "M", date(2026, 4, 1)),))  # 8 months, nothing given
    planner = Planner(demo_db, settings, clock=clock)
    sent_days = []
    for offset in range(0, 40):
        day = date(2026, 12, 6).fromordinal(date(2026, 12, 6).toordinal() + offset)
        if (await planner.plan_day(day)).messages:
            sent_days.append(day)
    # the DPT-HB-Hib 1 catch-up item: every 7 days, 3 times in all
    async with demo_db.read() as session:
        item = (await session.scalars(select(ReminderItem).where(ReminderItem.subject == "DPT_HB_HIB1"))).one()
    assert (item.times, item.last_planned_on) == (3, date(2026, 12, 20))
    assert sent_days[:3] == [date(2026, 12, 6), date(2026, 12, 13), date(2026, 12, 20)]
    # nothing else until new items fall due (MR1 at 9 months, on 1 January 2027)
    assert date(2026, 12, 27) not in sent_days and date(2027, 1, 1) in sent_days


async def test_each_zone_plans_its_own_local_day(demo_db, settings, clock):
    await _family(demo_db, address="bali")  # WITA
    await _family(demo_db, village="18.10.01.2011", address="lampung")  # WIB, meets on the 10th
    planner = Planner(demo_db, settings, clock=clock)
    wita = await planner.plan_day(date(2026, 12, 9), zones=["Asia/Makassar"])
    wib = await planner.plan_day(date(2026, 12, 9), zones=["Asia/Jakarta"])
    rows = {row.address: row for row in await _outbox(demo_db)}
    assert wita.messages == 1 and wib.messages == 1
    assert "Besok (Kamis, 10 Desember) hari posyandu di Posyandu Anggrek" in rows["lampung"].body["text"]
    assert "hari posyandu" not in rows["bali"].body["text"]
    assert rows["lampung"].not_before == datetime(2026, 12, 9, 0, 0, tzinfo=UTC)  # 07:00 WIB


async def test_no_message_without_consent_or_after_opt_out_or_when_unreachable(demo_db, settings, clock):
    await _family(demo_db, address="a")
    await _family(demo_db, address="b")
    await _family(demo_db, address="c")
    async with demo_db.write() as session:
        for address, field in (("a", "opted_out_at"), ("b", "unreachable_at")):
            identity = (await session.scalars(select(Identity).where(Identity.address == address))).one()
            setattr(identity, field, DEFAULT_NOW)
    result = await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))
    assert [row.address for row in await _outbox(demo_db)] == ["c"] and result.messages == 1


async def test_given_doses_are_not_reminded_and_english_families_read_english(demo_db, settings, clock):
    family = await _family(demo_db, language="en")
    async with demo_db.write() as session:
        from db.models import Person

        baby = (await session.scalars(select(Person).where(Person.family_id == family.id, Person.name == "Kadek Bayu"))).one()
        for dose in ("HB0", "BCG", "OPV1", "DPT_HB_HIB1", "PCV1", "RV1"):
            session.add(CareRecord(person_id=baby.id, code=dose, done_on=date(2026, 12, 1), source="kader", created_at=DEFAULT_NOW))
    await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))
    text = (await _outbox(demo_db))[0].body["text"]
    assert text.startswith("Reminder for the Komang Ariawan family:")
    assert "Tomorrow (Saturday, 5 December)" in text
    assert "DPT-HB-Hib 1" not in text and "Kadek Bayu" not in text


async def test_dry_run_writes_nothing(demo_db, settings, clock):
    await _family(demo_db)
    result = await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4), dry_run=True)
    assert result.messages == 1 and result.samples and await _outbox(demo_db) == []


async def test_worker_processes_plan_the_same_as_in_process(demo_db, settings, clock):
    for n in range(5):
        await _family(demo_db, address=f"w{n}")
    in_process = await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4), dry_run=True)
    pooled = await Planner(demo_db, settings, clock=clock, workers=2).plan_day(date(2026, 12, 4), chunk=2)
    assert (pooled.messages, pooled.items) == (in_process.messages, in_process.items) == (5, in_process.items)
    rows = await _outbox(demo_db)
    assert len(rows) == 5 and all("Besok (Sabtu, 5 Desember)" in r.body["text"] for r in rows)
    assert rows[0].not_before == datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
    again = await Planner(demo_db, settings, clock=clock, workers=2).plan_day(date(2026, 12, 4), chunk=2)
    assert again.messages == 0
