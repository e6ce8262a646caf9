"""After ``/hapus`` nothing in the database names or describes the family: every table is read.

A family with two chats (one here, one on Telegram), a pregnant mother with a NIK and a child, the
kader's visits (measurements, referrals, their notices), care records, reminders already sent and
still pending, audit rows, a conversation of the other chat and a kader's visit under way. After the
first chat erases, every row of every table in ``db.models`` is searched (ids in the columns that can
hold them, names, phone, NIK and the family code in every text and JSON value); only the anonymous
``ErasureTally`` stays. The other chat is told, by name of no one, and gets nothing else.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, func, select, update

from channels.messages import Incoming, Reply
from channels.telegram import TelegramChannel
from config import TelegramConfig
from db.models import AuditLog, Base, ErasureTally, Family, Identity, Outbox, Person, Posyandu, Referral, Visit
from handlers.engine import Engine
from reminders.dispatcher import Dispatcher
from reminders.planner import Planner
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import DEFAULT_NOW, ChatDriver, invited_chat, make_family, record_care

CHAT_B = 7_700_515
HEAD, MOTHER, CHILD = "Gusti Ngurah Teja", "Ni Kadek Erawati", "Made Wiradana"
PHONE, NIK = "6281999888777", "5108064101950001"


async def _no_handler(incoming: Incoming) -> list[Reply]:
    return []


async def _family(db) -> tuple[Family, dict[str, int]]:
    """The family (registered two days ago) with its first chat ``hp-satu`` and a Telegram chat."""
    then = DEFAULT_NOW - timedelta(days=2)
    family = await make_family(db, name=HEAD, identity_address="hp-satu", now=then,
                               members=((MOTHER, "F", date(1996, 3, 12)), (CHILD, "M", date(2025, 12, 20))))
    async with db.write() as session:
        row = await session.get(Family, family.id)
        row.phone = PHONE
        people = {p.name: p for p in await session.scalars(select(Person).where(Person.family_id == family.id))}
        people[MOTHER].nik = NIK
        people[MOTHER].hpht = date(2026, 7, 1)  # 20 weeks
        session.add(Identity(channel="telegram", address=str(CHAT_B), language="id", role="family", family_id=family.id,
                             consent="given", consent_version="2026-11", consent_at=then, created_at=then))
        return row, {name: p.id for name, p in people.items()}


def _words(value: Any) -> str:
    """A value as searchable text (JSON written out)."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _json_ids(value: Any, keys: frozenset[str]) -> list[int]:
    """The integers stored under ``keys`` anywhere in a JSON value."""
    found: list[int] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in keys and isinstance(inner, int):
                found.append(inner)
            found += _json_ids(inner, keys)
    elif isinstance(value, list):
        for inner in value:
            found += _json_ids(inner, keys)
    return found


async def _leftovers(db, *, family_id: int, person_ids: set[int], visit_ids: set[int], referral_ids: set[int],
                     secrets: list[str]) -> list[str]:
    """Every place in every table that still holds the family: ``table.column = value`` lines."""
    refers = {"family": {family_id}, "person": person_ids, "visit": visit_ids, "referral": referral_ids}
    found: list[str] = []
    async with db.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == ErasureTally.__tablename__:
                continue
            for row in (await session.execute(select(table))).mappings():
                for column in table.columns:
                    value = row[column.key]
                    where = f"{table.name}.{column.key} = {value!r}"
                    targets = {fk.column.table.name for fk in column.foreign_keys}
                    if isinstance(column.type, Integer) and any(value in refers.get(t, ()) for t in targets):
                        found.append(where)
                    if table.name == "audit_log" and column.key == "target_id" and value in refers.get(row["target_type"], ()):
                        found.append(where)
                    if isinstance(column.type, JSON):
                        if set(_json_ids(value, frozenset({"family", "family_id"}))) & {family_id} or \
                                set(_json_ids(value, frozenset({"person", "person_id", "pid", "mother_id"}))) & person_ids:
                            found.append(where)
                    if isinstance(column.type, String | Text | JSON):
                        text = _words(value).lower()
                        found += [f"{where} (holds {s!r})" for s in secrets if s.lower() in text]
    return found


async def test_erasure_leaves_nothing_of_the_family_in_any_table(demo_db, settings, clock):
    clock.now = DEFAULT_NOW - timedelta(days=1)  # yesterday, 10:00 in Bali
    engine = Engine(demo_db, settings, clock=clock)
    family, ids = await _family(demo_db)
    await record_care(demo_db, ids[CHILD], ("BCG", date(2025, 12, 21)), ("OPV1", date(2025, 12, 21)))
    planner = Planner(demo_db, settings, clock=clock)
    await planner.plan_day(clock.now.date())
    async with FakeTelegram() as fake:
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channel = TelegramChannel(config, _no_handler)
        local: list[tuple[str, Reply]] = []

        async def send_local(address: str, reply: Reply) -> str:
            local.append((address, reply))
            return f"local-{len(local)}"

        try:
            dispatcher = Dispatcher(demo_db, {"telegram": channel.send_one, "local": send_local}, clock=clock,
                                    rates={"telegram": None, "local": None}, per_chat_interval=0)
            assert (await dispatcher.run_once()).sent == 2  # yesterday's reminder, to both chats
            yesterday = fake.texts_to(CHAT_B)
            assert len(yesterday) == 1 and CHILD in yesterday[0]

            clock.now = DEFAULT_NOW
            # the kader's visits: the mother flagged (two referrals, their notices to both chats), the child weighed
            async with demo_db.read() as session:
                posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == "51.08.06.2014"))
            kader = await invited_chat(engine, demo_db, role="kader", address="kader-erase", posyandu_id=posyandu_id)
            await kader.say(f"catat {family.code} ibu bb 52 td 160/110 lila 22")
            assert "Rujukan dibuka" in kader.text
            await kader.say(f"catat {family.code} anak1 bb 7 pb 68")
            await kader.say("/kunjungan")
            await kader.say(family.code)
            await kader.press(MOTHER)  # a visit under way, left open
            assert kader.labels
            await planner.plan_day(clock.now.date())  # today's reminders: pending for both chats

            phone_a, phone_b = ChatDriver(engine, address="hp-satu"), ChatDriver(engine, channel="telegram", address=str(CHAT_B))
            await phone_b.say("/keluarga")  # the other chat's conversation
            assert MOTHER in phone_b.text
            async with demo_db.read() as session:
                visit_ids = set(await session.scalars(select(Visit.id)))
                referral_ids = set(await session.scalars(select(Referral.id)))
                pending = await session.scalar(select(func.count()).select_from(Outbox).where(Outbox.state == "pending"))
                audits = await session.scalar(select(func.count()).select_from(AuditLog))
            assert visit_ids and referral_ids and pending >= 4 and audits >= 4  # the daily and referral rows, both chats

            await phone_a.say("/hapus")
            await phone_a.press("Ya, hapus")
            assert "sudah dihapus" in phone_a.text

            secrets = [HEAD, MOTHER, CHILD, PHONE, NIK, family.code]
            leftovers = await _leftovers(demo_db, family_id=family.id, person_ids=set(ids.values()), visit_ids=visit_ids,
                                         referral_ids=referral_ids, secrets=secrets)
            assert leftovers == []
            async with demo_db.read() as session:
                tally = (await session.scalars(select(ErasureTally))).one()
                rows = (await session.execute(select(Outbox.kind, Outbox.state, Identity.address)
                                              .join(Identity, Identity.id == Outbox.identity_id))).all()
                kept = (await session.scalars(select(AuditLog).where(AuditLog.actor_id == (
                    select(Identity.id).where(Identity.address == "kader-erase").scalar_subquery())))).all()
                other = (await session.scalars(select(Identity).where(Identity.address == str(CHAT_B)))).one()
            assert (tally.members, tally.stages) == (2, {"ibu_hamil": 1, "dewasa": 1, "bayi": 1})
            # the kader's visits went with the family, the audit rows still prove them, without whom
            assert {a.action for a in kept} >= {"visit.logged", "referral.opened"}
            assert all(a.detail == {} and a.target_id is None for a in kept if a.target_type in ("family", "person", "visit", "referral"))
            assert other.family_id is None
            # the other chat: yesterday's text is counts now, today's reminder and notices are gone, the notice waits
            assert sorted(r[:2] for r in rows if r.address == str(CHAT_B)) == [("daily", "sent"), ("notice", "pending")]

            local.clear()
            assert (await dispatcher.run_once()).sent == 1
            notice = fake.texts_to(CHAT_B)[1:]
        finally:
            await channel.stop()
    assert local == [] and len(notice) == 1
    assert "sudah dihapus" in notice[0] and not any(s in notice[0] for s in secrets)
    await phone_b.say("/keluarga")  # unlinked: the chat is asked to register again
    assert MOTHER not in phone_b.text


async def test_erasure_drops_a_kaders_queued_reply_naming_the_family(demo_db, settings, clock):
    """A kader's answer that could not be sent at once (queued as a reply) and names a member goes too;
    a sent one is reduced to counts; replies naming no one stay."""
    engine = Engine(demo_db, settings, clock=clock)
    family, ids = await _family(demo_db)
    async with demo_db.write() as session:
        kader = Identity(channel="local", address="kader-q", language="id", role="kader", consent="given",
                         consent_version="2026-11", consent_at=DEFAULT_NOW, created_at=DEFAULT_NOW)
        session.add(kader)
        await session.flush()
        for n, (text, state) in enumerate([(f"Kunjungan {MOTHER} tercatat.", "pending"), (f"{CHILD}: BB 7 kg", "sent"),
                                           ("Kunjungan Ni Luh Sari tercatat.", "pending")]):
            session.add(Outbox(key=f"reply:q{n}", identity_id=kader.id, channel="local", address="kader-q", kind="reply",
                               body={"text": text, "lang": "id"}, timezone="Asia/Makassar", state=state,
                               not_before=DEFAULT_NOW, attempts=0, created_at=DEFAULT_NOW))
    phone_a = ChatDriver(engine, address="hp-satu")
    await phone_a.say("/hapus")
    await phone_a.press("Ya, hapus")
    async with demo_db.read() as session:
        left = {r.key: r for r in await session.scalars(select(Outbox).where(Outbox.identity_id == kader.id))}
    assert set(left) == {"reply:q1", "reply:q2"}
    assert left["reply:q1"].body == {"pruned": True, "chars": len(f"{CHILD}: BB 7 kg"), "lang": "id"}
    assert left["reply:q1"].state == "sent" and left["reply:q1"].pruned_at == DEFAULT_NOW
    assert left["reply:q2"].body["text"] == "Kunjungan Ni Luh Sari tercatat."


async def test_audit_rows_of_other_families_keep_their_details(demo_db, settings, clock):
    engine = Engine(demo_db, settings, clock=clock)
    family, ids = await _family(demo_db)
    stranger = await make_family(demo_db, name="Keluarga Lain")
    async with demo_db.write() as session:
        session.add_all([
            AuditLog(at=DEFAULT_NOW, actor_id=None, action="person.updated", target_type="person", target_id=ids[CHILD],
                     detail={"family": family.id}),
            AuditLog(at=DEFAULT_NOW, actor_id=None, action="visit.undone", target_type="visit", target_id=999,
                     detail={"person": ids[MOTHER], "referrals": 1}),
            AuditLog(at=DEFAULT_NOW, actor_id=None, action="person.removed", target_type="person", target_id=777,
                     detail={"family": family.id}),  # a member removed before the erasure
            AuditLog(at=DEFAULT_NOW, actor_id=None, action="history.recorded", target_type="person", target_id=777,
                     detail={"codes": ["BCG"]}),
            AuditLog(at=DEFAULT_NOW, actor_id=None, action="family.opened", target_type="family", target_id=stranger.id,
                     detail={"via": "code"}),
            AuditLog(at=DEFAULT_NOW, actor_id=None, action="report.monthly", target_type="posyandu", target_id=ids[CHILD],
                     detail={"month": "2026-11"}),
        ])
    phone_a = ChatDriver(engine, address="hp-satu")
    await phone_a.say("/hapus")
    await phone_a.press("Ya, hapus")
    async with demo_db.read() as session:
        rows = {a.action: a for a in await session.scalars(select(AuditLog))}
    assert (rows["person.updated"].target_id, rows["person.updated"].detail) == (None, {})
    assert (rows["visit.undone"].target_id, rows["visit.undone"].detail) == (None, {})
    assert all((rows[a].target_id, rows[a].detail) == (None, {}) for a in ("person.removed", "history.recorded"))
    assert (rows["family.opened"].target_id, rows["family.opened"].detail) == (stranger.id, {"via": "code"})
    # a posyandu whose id happens to equal a member's is another thing
    assert (rows["report.monthly"].target_id, rows["report.monthly"].detail) == (ids[CHILD], {"month": "2026-11"})
    assert rows["family.erased"].target_id is None


async def test_a_claimed_row_is_not_left_behind(demo_db, settings, clock):
    """A row a dispatcher has claimed (``sending``) is removed like a pending one."""
    engine = Engine(demo_db, settings, clock=clock)
    family, ids = await _family(demo_db)
    await Planner(demo_db, settings, clock=clock).plan_day(DEFAULT_NOW.date())
    async with demo_db.write() as session:
        await session.execute(update(Outbox).values(state="sending", lease_until=DEFAULT_NOW + timedelta(seconds=60)))
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 2
    phone_a = ChatDriver(engine, address="hp-satu")
    await phone_a.say("/hapus")
    await phone_a.press("Ya, hapus")
    async with demo_db.read() as session:
        assert [(r.kind, r.state) for r in await session.scalars(select(Outbox))] == [("notice", "pending")]
