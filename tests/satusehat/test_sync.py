"""The sync against the fake SATUSEHAT: sent once, corrections as updates, faults kept with their reason."""
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select

from care.rules_file import load_schedule
from db.demo import load_demo
from db.models import CareRecord, Measurement, Person, Posyandu, Puskesmas, SatusehatItem, Visit
from satusehat.client import Client
from satusehat.queue import collect, status
from satusehat.sync import sync_once
from tests.helpers import make_family
from tests.satusehat.common import LOCATION, ORG
from tests.satusehat.fake_server import CLIENT_ID, CLIENT_SECRET

IMM = load_schedule().immunization
AT = datetime(2026, 11, 5, 2, 15, tzinfo=UTC)  # 10:15 WITA
NOW = AT + timedelta(hours=1)
PUTU_NIK = "5108061409250001"


async def _records(db):
    """A demo puskesmas; Putu (with a NIK) and Kadek (without) weighed and measured at a visit; Putu's
    DPT-HB-Hib 1 given there (lot and expiry) and a BCG from his Buku KIA."""
    await load_demo(db)
    family = await make_family(db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Putu Adi", "M", date(2025, 9, 14)),
                                            ("Kadek", "F", date(2025, 1, 3))))
    async with db.write() as session:
        posyandu = await session.get(Posyandu, family.posyandu_id)
        people = {p.name: p for p in (await session.scalars(select(Person).where(Person.family_id == family.id))).all()}
        people["Putu Adi"].nik = PUTU_NIK
        visits = []
        for name in ("Putu Adi", "Kadek"):
            visit = Visit(person_id=people[name].id, posyandu_id=posyandu.id, visited_on=date(2026, 11, 5),
                          place="posyandu", created_at=AT)
            session.add(visit)
            await session.flush()
            session.add(Measurement(visit_id=visit.id, kind="weight_kg", value=6.9, detail=None))
            session.add(Measurement(visit_id=visit.id, kind="length_cm", value=64.0, detail="l"))
            visits.append(visit)
        session.add(CareRecord(person_id=people["Putu Adi"].id, code="DPT_HB_HIB1", done_on=date(2026, 11, 5), source="kader",
                               visit_id=visits[0].id, detail={"lot": "B123", "expiry": "2027-06-30"}, created_at=AT))
        session.add(CareRecord(person_id=people["Putu Adi"].id, code="BCG", done_on=date(2025, 9, 20), source="import",
                               created_at=AT))
        puskesmas_id = posyandu.puskesmas_id
        return puskesmas_id, posyandu.code, people


@pytest.fixture
async def world(db, settings, fake):
    puskesmas_id, code, people = await _records(db)
    fake.add_patient("P100", nik=PUTU_NIK, birth_date="2025-09-14")
    s = replace(settings, satusehat=replace(settings.satusehat, enabled=True, organization_id=ORG, locations={code: LOCATION}))
    async with db.write() as session:
        await collect(session, puskesmas_id, AT - timedelta(days=1), NOW)
    return s, puskesmas_id, people


async def states(db):
    async with db.read() as session:
        return {(kind, state): n for kind, state, n in await status(session)}


async def test_a_pass_sends_each_resource_once_and_waits_for_a_nik(db, world, client, fake):
    settings, _pid, _people = world
    done = await sync_once(db, client, settings, IMM, NOW)
    assert done.stopped is None
    assert done.outcomes == {"sent": 5, "waiting": 3, "held": 0, "refused": 0}
    assert await states(db) == {("Encounter", "sent"): 1, ("Encounter", "waiting"): 1, ("Observation", "sent"): 2,
                                ("Observation", "waiting"): 2, ("Immunization", "sent"): 2}
    [encounter] = fake.stored["Encounter"].values()
    assert encounter["subject"] == {"reference": "Patient/P100"}
    for resource in fake.stored["Observation"].values():
        assert resource["encounter"] == {"reference": f"Encounter/{encounter['id']}"}
    async with db.read() as session:
        waiting = (await session.scalars(select(SatusehatItem).where(SatusehatItem.state == "waiting"))).all()
    assert {w.problem for w in waiting} == {"no_nik"}
    # the next pass, even much later, sends nothing again
    again = await sync_once(db, client, settings, IMM, NOW + timedelta(days=2))
    assert again.outcomes["sent"] == 0 and fake.duplicates == 0
    assert len(fake.stored["Observation"]) == 2


async def test_queuing_twice_adds_nothing_and_a_correction_is_an_update(db, world, client, fake):
    settings, pid, _people = world
    await sync_once(db, client, settings, IMM, NOW)
    async with db.write() as session:
        assert await collect(session, pid, AT - timedelta(days=1), NOW) == {"new": 0, "changed": 0}
        weight = (await session.scalars(select(Measurement).where(Measurement.kind == "weight_kg", Measurement.value == 6.9))).first()
        weight.value = 7.1
        assert await collect(session, pid, AT - timedelta(days=1), NOW) == {"new": 0, "changed": 1}
    done = await sync_once(db, client, settings, IMM, NOW)
    assert done.outcomes["sent"] == 1
    assert ("PUT", f"/fhir-r4/v1/Observation/{next(k for k, v in fake.stored['Observation'].items() if v['valueQuantity']['value'] == 7.1)}") in fake.calls
    assert len(fake.stored["Observation"]) == 2 and fake.duplicates == 0


async def test_429_stops_the_pass_and_the_rest_goes_after_the_wait(db, world, client, fake):
    settings, _pid, _people = world
    fake.fail("/fhir-r4/v1/Observation", 429)
    done = await sync_once(db, client, settings, IMM, NOW)
    assert done.stopped == "busy: retry after 2 s"
    early = await sync_once(db, client, settings, IMM, NOW + timedelta(seconds=1))
    assert early.outcomes["sent"] == 3  # the other Observation and the doses; the one that met 429 waits its 2 s
    later = await sync_once(db, client, settings, IMM, NOW + timedelta(seconds=3))
    assert later.stopped is None
    assert await states(db) == {("Encounter", "sent"): 1, ("Encounter", "waiting"): 1, ("Observation", "sent"): 2,
                                ("Observation", "waiting"): 2, ("Immunization", "sent"): 2}
    assert fake.duplicates == 0


async def test_the_server_down_an_hour_loses_nothing(db, world, client, fake):
    settings, _pid, _people = world
    fake.fail("/fhir-r4/v1/", 503, times=1000)
    for minute in range(0, 60, 5):
        assert (await sync_once(db, client, settings, IMM, NOW + timedelta(minutes=minute))).stopped.startswith("busy")
    fake.faults.clear()
    await sync_once(db, client, settings, IMM, NOW + timedelta(hours=2))
    assert (await states(db))[("Immunization", "sent")] == 2 and fake.duplicates == 0


async def test_an_answer_lost_after_the_server_stored_it_is_not_sent_twice(db, world, client, fake):
    settings, _pid, _people = world
    await sync_once(db, client, settings, IMM, NOW)
    async with db.write() as session:  # as if the process died after the POST, before recording it
        item = (await session.scalars(select(SatusehatItem).where(SatusehatItem.resource_type == "Immunization"))).first()
        item.state, item.server_id = "pending", None
    done = await sync_once(db, client, settings, IMM, NOW + timedelta(minutes=1))
    assert done.outcomes["sent"] == 1 and fake.duplicates == 0 and len(fake.stored["Immunization"]) == 2


async def test_an_expired_token_is_renewed(db, world, client, fake):
    settings, _pid, _people = world
    fake.fail("/fhir-r4/v1/Observation", 429)
    await sync_once(db, client, settings, IMM, NOW)
    fake.expire_tokens()
    await sync_once(db, client, settings, IMM, NOW + timedelta(seconds=5))
    assert fake.token_calls == 2 and (await states(db))[("Observation", "sent")] == 2


async def test_a_refusal_is_kept_with_the_servers_words(db, world, client, fake):
    settings, _pid, _people = world
    fake.organization_id = "99999999"  # the credentials belong to another organization
    done = await sync_once(db, client, settings, IMM, NOW)
    assert done.outcomes["refused"] == 2  # the Encounter and the BCG; what points at the Encounter waits for it
    async with db.read() as session:
        refused = (await session.scalars(select(SatusehatItem).where(SatusehatItem.state == "refused"))).all()
    assert {r.resource_type for r in refused} == {"Encounter", "Immunization"}
    assert all("identifier_system" in r.reason for r in refused)


async def test_a_nik_satusehat_does_not_know_waits(db, world, client, fake):
    settings, _pid, _people = world
    fake.patients.clear()
    done = await sync_once(db, client, settings, IMM, NOW)
    assert done.outcomes == {"sent": 0, "waiting": 8, "held": 0, "refused": 0}
    async with db.read() as session:
        problems = set((await session.scalars(select(SatusehatItem.problem))).all())
    assert problems == {"patient_unknown", "no_nik"}


async def test_a_posyandu_without_a_location_is_held_with_its_reason(db, world, client, fake):
    settings, _pid, _people = world
    settings = replace(settings, satusehat=replace(settings.satusehat, locations={}))
    done = await sync_once(db, client, settings, IMM, NOW)
    assert done.outcomes["held"] == 1 and done.outcomes["sent"] == 1  # the BCG from the Buku KIA still goes
    async with db.read() as session:
        held = (await session.scalars(select(SatusehatItem).where(SatusehatItem.state == "held"))).one()
    assert held.problem == "no_location" and "Location" in held.reason


async def test_refused_credentials_stop_the_pass_and_change_nothing(db, world, fake, time_):
    settings, _pid, _people = world
    async with aiohttp.ClientSession() as http:
        bad = Client(http, auth_url=f"{fake.url}/oauth2/v1", base_url=f"{fake.url}/fhir-r4/v1", client_id=CLIENT_ID,
                     client_secret=CLIENT_SECRET + "x", clock=time_.clock, sleep=time_.sleep)
        done = await sync_once(db, bad, settings, IMM, NOW)
    assert done.stopped.startswith("credentials refused")
    assert set(await states(db)) == {("Encounter", "pending"), ("Observation", "pending"), ("Immunization", "pending")}


async def test_erasing_a_family_drops_its_items(db, world):
    _settings, _pid, people = world
    async with db.write() as session:
        await session.delete(await session.get(Person, people["Kadek"].id))
    assert sum(n for (_k, _s), n in (await states(db)).items()) == 5
    async with db.read() as session:
        assert await session.scalar(select(Puskesmas.id)) is not None


async def test_the_status_command_counts_by_state_and_gives_the_reasons(db, world, client, fake, capsys):
    from satusehat.commands import status_command

    settings, _pid, _people = world
    await sync_once(db, client, settings, IMM, NOW)
    assert await status_command(db) == 0
    out = capsys.readouterr().out
    assert "Observation   sent             2" in out and "Observation   waiting          2" in out
    assert "Belum ada NIK" in out and PUTU_NIK not in out


async def test_the_sync_command_queues_and_sends_a_pass(db, world, fake, capsys):
    from satusehat.commands import sync_command

    settings, _pid, _people = world
    settings = replace(settings, satusehat=replace(settings.satusehat, auth_url=f"{fake.url}/oauth2/v1",
                                                   base_url=f"{fake.url}/fhir-r4/v1", client_id=CLIENT_ID,
                                                   client_secret=CLIENT_SECRET))
    async with aiohttp.ClientSession() as http:
        assert await sync_command(db, settings, now=NOW, http=http) == 0
    out = capsys.readouterr().out
    assert "queued: 0 new, 0 changed" in out and "sent 5, waiting 3, held 0, refused 0" in out
    off = replace(settings, satusehat=replace(settings.satusehat, enabled=False))
    assert await sync_command(db, off, now=NOW) == 2


def test_the_cli_parses_satusehat_commands():
    from bot import parser

    assert parser().parse_args(["satusehat", "status"]).satusehat_command == "status"
    assert parser().parse_args(["satusehat", "sync", "--days", "7"]).days == 7


async def test_a_baby_without_a_nik_is_found_by_the_mothers(db, world, client, fake):
    settings, _pid, people = world
    async with db.write() as session:
        (await session.get(Person, people["Ni Luh Sari"].id)).nik = "5108064204950002"
    fake.add_patient("P200", mother_nik="5108064204950002", birth_date="2025-01-03")  # Kadek
    fake.add_patient("P201", mother_nik="5108064204950002", birth_date="2023-05-01")  # an older sibling
    done = await sync_once(db, client, settings, IMM, NOW)
    assert done.outcomes["sent"] == 8 and done.outcomes["waiting"] == 0
    subjects = {r["subject"]["reference"] for r in fake.stored["Encounter"].values()}
    assert subjects == {"Patient/P100", "Patient/P200"}
    assert ("GET", "/fhir-r4/v1/Patient?identifier=https://fhir.kemkes.go.id/id/nik-ibu%7C5108064204950002") in fake.calls


async def test_refused_items_go_again_after_retry(db, world, client, fake, capsys):
    from satusehat.commands import retry_command

    settings, _pid, _people = world
    fake.organization_id = "99999999"
    await sync_once(db, client, settings, IMM, NOW)
    fake.organization_id = ORG  # the credentials fixed
    assert (await sync_once(db, client, settings, IMM, NOW + timedelta(minutes=1))).outcomes["sent"] == 0
    assert await retry_command(db, ["refused"], now=NOW + timedelta(minutes=2)) == 0
    assert "2 items" in capsys.readouterr().out
    done = await sync_once(db, client, settings, IMM, NOW + timedelta(minutes=2))
    assert done.outcomes["sent"] == 2 and fake.duplicates == 0
    later = await sync_once(db, client, settings, IMM, NOW + timedelta(minutes=15))
    assert later.outcomes["sent"] == 3  # the Observations and the dose that waited for the Encounter
