"""The sync inside the bot: a visit recorded by chat reaches the fake SATUSEHAT through the scheduled pass,
one pass at a time, started and stopped with the bot's timers."""
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from db.models import Person, Posyandu, SatusehatItem
from satusehat.jobs import SyncJob
from tests.handlers.test_visit import MAWAR, child_visit, family_with, kader
from tests.helpers import DEFAULT_NOW
from tests.satusehat.common import LOCATION, ORG
from tests.satusehat.fake_server import CLIENT_ID, CLIENT_SECRET

NIK = "5108061409250001"


@pytest.fixture
async def enabled(demo_db, settings, fake):
    """SATUSEHAT switched on for the demo posyandu of the kader, pointed at the fake."""
    async with demo_db.read() as session:
        code = await session.scalar(select(Posyandu.code).where(Posyandu.village_code == MAWAR))
    return replace(settings, satusehat=replace(
        settings.satusehat, enabled=True, organization_id=ORG, locations={code: LOCATION}, every_minutes=3,
        auth_url=f"{fake.url}/oauth2/v1", base_url=f"{fake.url}/fhir-r4/v1", client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET))


async def _visit_by_chat(engine, db, fake) -> None:
    """A kader weighs Putu (who has a NIK SATUSEHAT knows) at the posyandu through /kunjungan."""
    chat = await kader(engine, db)
    family, _people = await family_with(db, ("Putu Adi", "M", DEFAULT_NOW.date() - timedelta(days=70), {"nik": NIK}))
    fake.add_patient("P100", nik=NIK, birth_date=(DEFAULT_NOW.date() - timedelta(days=70)).isoformat())
    await child_visit(chat, family.code, "Putu Adi")


async def test_a_visit_recorded_by_chat_reaches_satusehat_at_the_next_pass(engine, demo_db, enabled, fake):
    await _visit_by_chat(engine, demo_db, fake)
    async with aiohttp.ClientSession() as http:
        job = SyncJob(demo_db, enabled, http=http, clock=lambda: DEFAULT_NOW + timedelta(minutes=5))
        done = await job.run()
        # the Encounter first, then the weight and length that point at it
        assert done is not None and done.outcomes == {"sent": 3, "waiting": 0, "held": 0, "refused": 0}
        (encounter,) = fake.stored["Encounter"].values()
        assert encounter["subject"] == {"reference": "Patient/P100"}
        assert {o["encounter"]["reference"] for o in fake.stored["Observation"].values()} == {f"Encounter/{encounter['id']}"}
        # the next pass (queuing the same visit again) sends nothing twice
        job.clock = lambda: DEFAULT_NOW + timedelta(minutes=20)
        again = await job.run()
        assert again.outcomes["sent"] == 0 and fake.duplicates == 0 and len(fake.stored["Observation"]) == 2
    async with demo_db.read() as session:
        assert set((await session.scalars(select(SatusehatItem.state))).all()) == {"sent"}


async def test_a_stopped_job_starts_no_pass_and_a_failing_pass_does_not_end_the_schedule(demo_db, enabled, fake, caplog):
    broken = replace(enabled, satusehat=replace(enabled.satusehat, base_url="https://127.0.0.1:1/fhir-r4/v1"))
    job = SyncJob(demo_db, broken, clock=lambda: DEFAULT_NOW)
    async with demo_db.write() as session:
        (await session.scalars(select(Person))).first()  # the database is reachable
    job.db = None  # a database that fails: logged, not raised into the scheduler
    assert await job.run() is None
    assert "the pass failed (AttributeError)" in caplog.text
    job.stop()
    assert await job.run() is None
    await job.close()


async def test_the_bot_runs_the_sync_on_its_scheduler_one_pass_at_a_time(engine, demo_db, enabled, fake):
    import asyncio

    from bot import start_timers

    await _visit_by_chat(engine, demo_db, fake)
    settings = replace(enabled, reminders=replace(enabled.reminders, enabled=False))
    async with aiohttp.ClientSession() as http:
        job = SyncJob(demo_db, settings, http=http, clock=lambda: DEFAULT_NOW + timedelta(minutes=5))
        timers = await start_timers(settings, demo_db, engine, {}, sync=job)
        try:
            assert timers.jobs is None and timers.sync is job
            scheduled = timers.scheduler.get_job("satusehat")
            assert scheduled.max_instances == 1 and scheduled.coalesce
            assert scheduled.trigger.interval == timedelta(minutes=3)
            for _ in range(400):  # the first pass runs at the start
                if job.passes:
                    break
                await asyncio.sleep(0.05)
            assert job.passes == 1 and len(fake.stored["Encounter"]) == 1
        finally:
            await timers.stop(grace=5.0)
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down in the loop's next turn
        assert not timers.scheduler.running
        assert await job.run() is None  # stopped with the bot


async def test_nothing_is_scheduled_when_both_are_off(demo_db, engine, settings):
    from bot import start_timers

    off = replace(settings, reminders=replace(settings.reminders, enabled=False))
    assert await start_timers(off, demo_db, engine, {}) is None


def test_the_pass_interval_is_configured_once(tmp_path):
    from config import ConfigError, load_settings

    assert load_settings(env={}).satusehat.every_minutes == 5
    assert load_settings(env={"ILPBOT_SATUSEHAT_EVERY_MINUTES": "10"}).satusehat.every_minutes == 10
    with pytest.raises(ConfigError, match="satusehat.every_minutes: expected 1 to 1440"):
        load_settings(env={"ILPBOT_SATUSEHAT_EVERY_MINUTES": "0"})


async def _dose_visit(db, settings, clock, fake, *answers: str):
    """With SATUSEHAT on, a kader gives Putu DPT-HB-Hib 1 and PCV 1 at the posyandu and answers the lot
    questions with ``answers``; the chat."""
    from handlers.engine import Engine

    engine = Engine(db, settings, clock=clock)
    chat = await kader(engine, db)
    family, _people = await family_with(db, ("Putu Adi", "M", DEFAULT_NOW.date() - timedelta(days=70), {"nik": NIK}))
    fake.add_patient("P100", nik=NIK, birth_date=(DEFAULT_NOW.date() - timedelta(days=70)).isoformat())
    await chat.say("/kunjungan")
    await chat.say(family.code)
    await chat.press("Putu Adi")
    await chat.press("Posyandu")
    await chat.say("5,4 57")
    await chat.say("-")
    if "Layanan yang diberikan" in chat.text:
        await chat.press("Tidak ada")
    await chat.say("dpt1 pcv1")
    for answer in answers:
        await chat.say(answer)
    return chat


async def test_the_visit_asks_each_doses_lot_and_the_dose_goes_as_given_by_a_health_worker(demo_db, enabled, clock, fake):
    chat = await _dose_visit(demo_db, enabled, clock, fake)
    assert "Nomor batch dan tanggal kedaluwarsa vaksin DPT-HB-Hib 1?" in chat.text
    await chat.say("B1234")
    assert "Tanggal kedaluwarsa tidak terbaca" in chat.text
    await chat.say("B1234 01-2026")
    assert "sudah lewat" in chat.text
    await chat.say("B1234 06-2027")
    assert "Nomor batch dan tanggal kedaluwarsa vaksin PCV 1 (pneumokokus)?" in chat.text
    await chat.press("Lewati")
    await chat.press("Simpan")
    async with aiohttp.ClientSession() as http:
        done = await SyncJob(demo_db, enabled, http=http, clock=lambda: DEFAULT_NOW + timedelta(minutes=5)).run()
    (dose,) = fake.stored["Immunization"].values()
    assert dose["primarySource"] is True and dose["lotNumber"] == "B1234" and dose["expirationDate"] == "2027-06-30"
    assert done.outcomes["held"] == 1  # PCV 1 without its lot: held with the reason staff read on /satusehat
    async with demo_db.read() as session:
        held = (await session.scalars(select(SatusehatItem).where(SatusehatItem.state == "held"))).one()
    assert held.problem == "no_lot"


async def test_without_satusehat_the_visit_asks_no_lot(engine, demo_db, fake):
    chat = await kader(engine, demo_db)
    family, _people = await family_with(demo_db, ("Putu Adi", "M", DEFAULT_NOW.date() - timedelta(days=70)))
    await child_visit(chat, family.code, "Putu Adi")
    assert "Nomor batch" not in " ".join(r.text or "" for r in chat.replies)
