"""Security: verified webhooks, button data that cannot reach another family, user text echoed as plain
text, and phone numbers and NIK kept out of the logs.

1. The Telegram webhook refuses a missing, wrong or differently-cased secret, refuses everything when no
   secret is configured, and turns away oversized and non-JSON bodies, storing nothing (no identity, no
   message id, nothing sent). (The WhatsApp webhook has its own tests.)
2. Forged button presses: with the chat's *current* state version, so that only the value is forged, a
   family, a kader and a staff member press the ids of another family's members, another posyandu's
   family, another puskesmas's posyandu or broadcast at every step whose buttons carry record ids. The
   other family's rows stay as they were, none of its names is shown, and the presser gets the hint and
   the question again.
3. Text a person typed comes back exactly as typed, as plain text: the real TelegramChannel sends every
   message to the fake Bot API without parse_mode and without entities.
4. The project's logging set-up redacts phone numbers and NIK, also inside tracebacks (the session-wide
   scan of every log line is ``tests/log_scan.py``).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from channels.messages import Incoming, Reply
from channels.telegram import TelegramChannel
from config import TelegramConfig
from db.models import (
    Broadcast, Family, Identity, CareRecord, InboundMessage, Invite, Measurement, Outbox, Person, Posyandu,
    PosyanduException, Puskesmas, Visit,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import DEFAULT_NOW, ChatDriver, consent, guided_child_visit, invited_chat, make_family
from web.app import MAX_BODY, build_app

TODAY = date(2026, 11, 23)
MAWAR, MELATI, ANGGREK = "51.08.06.2014", "51.08.06.2016", "18.10.01.2011"


# -- 1. webhooks ----------------------------------------------------------------------------------------

SECRET = "s3cret-Token_for-tests"
UPDATE = {"update_id": 900001, "message": {"message_id": 1, "date": 1795000000, "chat": {"id": 770001, "type": "private"},
                                            "from": {"id": 770001, "is_bot": False, "first_name": "Ibu"}, "text": "/start"}}
WEBHOOK_CASES = [
    # (case, configured secret, header sent (None: no header), body, expected status)
    ("missing header", SECRET, None, UPDATE, 403),
    ("empty header", SECRET, "", UPDATE, 403),
    ("wrong secret", SECRET, "wrong-secret", UPDATE, 403),
    ("secret in other case", SECRET, SECRET.swapcase(), UPDATE, 403),
    ("secret in upper case", SECRET, SECRET.upper(), UPDATE, 403),
    ("prefix of the secret", SECRET, SECRET[:-1], UPDATE, 403),
    ("secret and more", SECRET, SECRET + "x", UPDATE, 403),
    ("no secret configured, none sent", "", None, UPDATE, 403),
    ("no secret configured, empty sent", "", "", UPDATE, 403),
    ("no secret configured, one sent", "", SECRET, UPDATE, 403),
    ("oversized body, wrong secret", SECRET, "wrong", b"{" + b" " * (MAX_BODY + 10) + b"}", 403),
    ("oversized body", SECRET, SECRET, json.dumps({**UPDATE, "pad": "x" * (MAX_BODY + 10)}).encode(), 413),
    ("not JSON", SECRET, SECRET, b"update_id=1&text=/start", 400),
    ("not UTF-8", SECRET, SECRET, b"\xff\xfe\x00{", 400),
    ("empty body", SECRET, SECRET, b"", 400),
    ("a JSON list", SECRET, SECRET, b"[1, 2, 3]", 400),
    ("a JSON string", SECRET, SECRET, b'"update_id"', 400),
    ("JSON without update_id", SECRET, SECRET, json.dumps({"message": UPDATE["message"]}).encode(), 400),
]


async def _stored(db) -> tuple[int, int]:
    async with db.read() as session:
        return (await session.scalar(select(func.count()).select_from(Identity)),
                await session.scalar(select(func.count()).select_from(InboundMessage)))


async def _post(engine, db, secret: str, header: str | None, body) -> tuple[int, FakeTelegram]:
    """POSTs one body to the webhook of an app wired like bot.py (TelegramChannel -> engine)."""
    async with FakeTelegram() as fake:
        config = TelegramConfig(token=fake.token, mode="webhook", base_url=fake.base_url, base_file_url=fake.base_file_url,
                                webhook_url="https://bot.example.org/telegram/webhook", webhook_secret=secret)
        channel = TelegramChannel(config, engine.handle_durably)
        await channel.initialize()
        client = TestClient(TestServer(build_app(db=db, telegram=channel, telegram_config=config)))
        await client.start_server()
        try:
            headers = {"Content-Type": "application/json"}
            if header is not None:
                headers["X-Telegram-Bot-Api-Secret-Token"] = header
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            async with client.post("/telegram/webhook", data=data, headers=headers) as response:
                await response.read()
                return response.status, fake
        finally:
            await client.close()
            await channel.stop()


@pytest.mark.parametrize(("case", "secret", "header", "body", "status"), WEBHOOK_CASES, ids=[c[0] for c in WEBHOOK_CASES])
async def test_the_webhook_refuses_what_telegram_did_not_send(engine, demo_db, case, secret, header, body, status):
    got, fake = await _post(engine, demo_db, secret, header, body)
    assert got == status, case
    assert await _stored(demo_db) == (0, 0), f"{case}: something was stored"
    assert [c.method for c in fake.sent] == [], f"{case}: the bot answered"


async def test_the_webhook_with_the_right_secret_is_handled(engine, demo_db):
    """The control case: the same update with the right secret is answered and stored."""
    got, fake = await _post(engine, demo_db, SECRET, SECRET, UPDATE)
    assert got == 200
    assert await _stored(demo_db) == (1, 1)
    assert any("Apakah Bapak/Ibu setuju" in (c.text or "") for c in fake.sent)


# -- 2. forged button data ------------------------------------------------------------------------------

OTHER = "Bimasakti"  # every name of family B (posyandu Melati, same puskesmas as A)
FAR = "Citrawati"  # every name of family C (posyandu Anggrek, puskesmas Pringsewu)


@dataclass
class Families:
    engine: object
    db: object
    a_code: str
    b_family: int
    b_code: str
    b_people: list[int]
    b_pregnant: list[int]
    b_children: list[int]
    c_family: int
    c_people: list[int]
    far_posyandu: list[int]  # Pringsewu's posyandu
    melati: int
    c_broadcast: int


async def _pregnant(db, family_id: int, names: tuple[str, ...], weeks: int = 30) -> None:
    async with db.write() as session:
        await session.execute(update(Person).where(Person.family_id == family_id, Person.name.in_(names))
                              .values(hpht=TODAY - timedelta(weeks=weeks), due_date=TODAY + timedelta(weeks=40 - weeks)))


@pytest.fixture
async def families(engine, demo_db) -> Families:
    db = demo_db
    a = await make_family(db, village_code=MAWAR, name="Ayu Wijaya", identity_address="fam-a", members=(
        ("Ayu Satu", "F", date(1995, 1, 1)), ("Ayu Dua", "F", date(1999, 2, 2)), ("Ayu Anak", "M", date(2025, 6, 1)),
        ("Ayu Bayi", "F", date(2026, 8, 1))))
    await _pregnant(db, a.id, ("Ayu Satu", "Ayu Dua"))
    await make_family(db, village_code=MAWAR, name="Ayu Lestari", members=(("Ayu Lestari Anak", "M", date(2025, 1, 1)),))
    b = await make_family(db, village_code=MELATI, name=f"{OTHER} Keluarga", identity_address="fam-b", members=(
        (f"{OTHER} Ibu", "F", date(1994, 3, 3)), (f"{OTHER} Istri", "F", date(2000, 4, 4)), (f"{OTHER} Anak", "M", date(2025, 5, 1)),
        (f"{OTHER} Bayi", "F", date(2026, 7, 1))))
    await _pregnant(db, b.id, (f"{OTHER} Ibu", f"{OTHER} Istri"))
    c = await make_family(db, village_code=ANGGREK, name=f"{FAR} Keluarga", identity_address="fam-c", members=(
        (f"{FAR} Ibu", "F", date(1990, 5, 5)), (f"{FAR} Anak", "F", date(2025, 2, 2))))
    async with db.read() as session:
        melati = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == MELATI))
        pringsewu = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P1810010101"))
        far = list(await session.scalars(select(Posyandu.id).where(Posyandu.puskesmas_id == pringsewu)))
        b_people = list(await session.scalars(select(Person).where(Person.family_id == b.id).order_by(Person.id)))
        c_people = list(await session.scalars(select(Person.id).where(Person.family_id == c.id)))
        c_identity = await session.scalar(select(Identity.id).where(Identity.address == "fam-c"))
    # kader B logs a visit of B's child (measurements and doses); a Pringsewu broadcast is still pending
    kader_b = await invited_chat(engine, db, role="kader", address="kader-b", posyandu_id=melati)
    await guided_child_visit(kader_b, b.code, f"{OTHER} Anak", size="10,9 81")
    assert "Tersimpan" in kader_b.text, kader_b.text
    async with db.write() as session:
        broadcast = Broadcast(puskesmas_id=pringsewu, author_id=None, audience={"kind": "all", "posyandu_ids": []},
                              text=f"Pengumuman {FAR}", state="queued", created_at=DEFAULT_NOW)
        session.add(broadcast)
        await session.flush()
        session.add(Outbox(key=f"broadcast:{broadcast.id}:{c_identity}", identity_id=c_identity, channel="local", address="fam-c",
                           kind="broadcast", body={"text": f"Pengumuman {FAR}", "lang": "id"}, timezone="Asia/Jakarta",
                           state="pending", not_before=DEFAULT_NOW, expires_at=DEFAULT_NOW + timedelta(days=3), attempts=0,
                           broadcast_id=broadcast.id, created_at=DEFAULT_NOW))
    return Families(
        engine=engine, db=db, a_code=a.code, b_family=b.id, b_code=b.code, b_people=[p.id for p in b_people],
        b_pregnant=[p.id for p in b_people if p.hpht], b_children=[p.id for p in b_people if p.birth_date.year >= 2025],
        c_family=c.id, c_people=c_people, far_posyandu=far, melati=melati, c_broadcast=broadcast.id,
    )


async def snapshot(db, f: Families) -> dict:
    """Every row of families B and C and of what belongs to posyandu Melati and puskesmas Pringsewu."""
    def rows(objs) -> list[tuple]:
        return sorted(tuple(getattr(o, c.key) for c in o.__table__.columns) for o in objs)

    people = f.b_people + f.c_people
    posyandu = [f.melati, *f.far_posyandu]
    async with db.read() as session:
        visits = list(await session.scalars(select(Visit).where(Visit.person_id.in_(people))))
        return {
            "family": rows(await session.scalars(select(Family).where(Family.id.in_([f.b_family, f.c_family])))),
            "person": rows(await session.scalars(select(Person).where(Person.family_id.in_([f.b_family, f.c_family])))),
            "visit": rows(visits),
            "measurement": rows(await session.scalars(select(Measurement).where(Measurement.visit_id.in_([v.id for v in visits])))),
            "care_record": rows(await session.scalars(select(CareRecord).where(CareRecord.person_id.in_(people)))),
            "identity": rows(await session.scalars(select(Identity).where(Identity.address.in_(["fam-b", "fam-c", "kader-b"])))),
            "broadcast": rows(await session.scalars(select(Broadcast).where(Broadcast.id == f.c_broadcast))),
            "outbox": rows(await session.scalars(select(Outbox).where(Outbox.broadcast_id == f.c_broadcast))),
            "invite": rows(await session.scalars(select(Invite).where(Invite.posyandu_id.in_(posyandu), Invite.used_at.is_(None)))),
            "posyandu_exception": rows(await session.scalars(select(PosyanduException).where(PosyanduException.posyandu_id.in_(posyandu)))),
        }


async def _family_a(f: Families) -> ChatDriver:
    return ChatDriver(f.engine, address="fam-a")


async def _kader_a(f: Families) -> ChatDriver:
    async with f.db.read() as session:
        mawar = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == MAWAR))
    chat = await invited_chat(f.engine, f.db, role="kader", address="kader-a", posyandu_id=mawar)
    assert "Bapak/Ibu sekarang kader" in chat.text
    return chat


async def _staff_a(f: Families) -> ChatDriver:
    async with f.db.read() as session:
        buleleng = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
    chat = await invited_chat(f.engine, f.db, role="staff", address="staff-a", puskesmas_id=buleleng)
    assert "petugas Puskesmas" in chat.text
    return chat


def _steps(*actions):
    """Drives a chat to a step: ``"text"`` is typed, ``("press", label)`` pressed."""
    async def go(chat: ChatDriver, f: Families) -> None:
        for action in actions:
            if isinstance(action, tuple):
                await chat.press(action[1])
            else:
                await chat.say(action.format(a_code=f.a_code))
    return go


#: (case, who, how to reach the step, its question, the forged values, the hint expected)
FORGERIES = [
    ("family: edit a member", _family_a, _steps("/keluarga", ("press", "Ubah anggota")), "Anggota mana yang ingin diubah",
     lambda f: f.b_people + f.c_people, "Pilih nama dari daftar"),
    ("family: remove a member", _family_a, _steps("/keluarga", ("press", "Hapus anggota")), "Anggota mana yang ingin dihapus",
     lambda f: f.b_people + f.c_people, "Pilih nama dari daftar"),
    ("family: who gave birth", _family_a, _steps("/lahir"), "Siapa yang melahirkan",
     lambda f: f.b_pregnant, "Pilih nama dari daftar"),
    ("family: growth chart of a child", _family_a, _steps("/grafik"), "Grafik anak yang mana",
     lambda f: f.b_children + f.c_people, "Pilih nama anak dari daftar"),
    ("kader: family of the visit", _kader_a, _steps("/kunjungan"), "Keluarga mana",
     lambda f: [f.b_family, f.c_family], "Pilih keluarga dari daftar"),
    ("kader: family among name matches", _kader_a, _steps("/kunjungan", "Ayu"), "Pilih keluarga:",
     lambda f: [f.b_family, f.c_family], "Pilih keluarga dari daftar"),
    ("kader: member visited", _kader_a, _steps("/kunjungan", "{a_code}"), "Siapa yang dikunjungi",
     lambda f: f.b_people + f.c_people, "Pilih anggota dari daftar"),
    ("staff: posyandu of a kader invite", _staff_a, _steps("/undang"), "Undang kader untuk posyandu mana",
     lambda f: f.far_posyandu, "Pilih posyandu dari daftar"),
    ("staff: broadcast audience", _staff_a, _steps("/umumkan", ("press", "Semua keluarga")), "Di mana?",
     lambda f: f.far_posyandu, "Pilih posyandu dari daftar"),
    ("staff: cancel a broadcast", _staff_a, _steps("/status"), "pengumuman",
     lambda f: [f"cancel:{f.c_broadcast}"], "Pilih dari daftar"),
    ("staff: posyandu of a schedule change", _staff_a, _steps("/jadwalposyandu", ("press", "Pindahkan")), "Posyandu mana",
     lambda f: f.far_posyandu, "Pilih posyandu dari daftar"),
    ("staff: posyandu of a report", _staff_a, _steps("/laporan"), "Laporan posyandu mana",
     lambda f: f.far_posyandu, "Pilih posyandu dari daftar"),
    ("staff: posyandu of an export", _staff_a, _steps("/ekspor"), "Laporan posyandu mana",
     lambda f: f.far_posyandu, "Pilih posyandu dari daftar"),
]


async def _new_family(f: Families) -> ChatDriver:
    chat = ChatDriver(f.engine, address="new-family")
    await consent(chat)
    return chat


FORGERIES.append(("new family: posyandu of the village", _new_family, _steps("Nagasepaha"), "Pilih posyandu Bapak/Ibu",
                  lambda f: [f.melati, *f.far_posyandu], "Mohon pilih posyandu dari daftar"))


def _forms(value) -> list[str]:
    """The ways a forged value can be written: as is and, for an id, with a leading zero."""
    return [str(value), f"0{value}"] if isinstance(value, int) else [str(value)]


@pytest.mark.parametrize(("case", "who", "reach", "question", "values", "hint"), FORGERIES, ids=[c[0] for c in FORGERIES])
async def test_forged_button_data_cannot_reach_another_familys_records(families, case, who, reach, question, values, hint):
    f = families
    chat = await who(f)
    await reach(chat, f)
    assert question.lower() in chat.text.lower(), f"{case}: the step was not reached: {chat.text[:300]}"
    before = await snapshot(f.db, f)
    for value in values(f):
        for form in _forms(value):
            version = (chat.button("") if any(r.choices for r in chat.replies) else "").split(".")[0]
            assert version, f"{case}: the question has no buttons to take the version from"
            await chat.send(Incoming("local", chat.address, message_id=f"forged-{case}-{form}", choice=f"{version}.{form}"))
            shown = chat.text + " ".join(chat.labels)
            assert hint in chat.text and question.lower() in chat.text.lower(), f"{case} {form}: {chat.text[:300]}"
            assert OTHER not in shown and FAR not in shown, f"{case} {form}: another family shows: {chat.text[:300]}"
            assert "Maaf, terjadi gangguan" not in chat.text
    assert await snapshot(f.db, f) == before, f"{case}: another family's rows changed"


async def test_a_kader_cannot_reach_another_posyandus_family_by_typing(families):
    """Not a button, the same promise: a code of another posyandu is refused as if it did not exist."""
    f = families
    chat = await _kader_a(f)
    before = await snapshot(f.db, f)
    await chat.say(f"catat {f.b_code} anak1 bb 8,2 tb 71")
    assert "Tidak ada keluarga dengan kode" in chat.text
    await chat.say("/kunjungan")
    await chat.say(f.b_code)
    assert "Tidak ada keluarga dengan kode itu di posyandu Bapak/Ibu" in chat.text
    await chat.say(OTHER)
    assert "Tidak ada keluarga bernama" in chat.text
    await chat.say("batal")
    await chat.say("/urung")  # kader B's visit was logged minutes ago: not kader A's to undo
    assert "Tidak ada kunjungan" in chat.text
    assert await snapshot(f.db, f) == before


@pytest.mark.parametrize("digits", ["\u00b2", "\u2460", "\u1369"], ids=["superscript two", "circled one", "ethiopic one"])
async def test_forged_non_decimal_digits_get_a_hint(families, digits):
    chat = await _family_a(families)
    await chat.say("/keluarga")
    await chat.press("Ubah anggota")
    version = chat.button("Ayu").split(".")[0]
    await chat.send(Incoming("local", chat.address, message_id=f"digits-{digits}", choice=f"{version}.{digits}"))
    assert "Pilih nama dari daftar" in chat.text


# -- 3. user text echoed as plain text ------------------------------------------------------------------

MARKUP = "<b>Budi</b> *_[x](http://evil)"
CHAT, KADER_CHAT, STAFF_CHAT = 4401, 4402, 4403


class TelegramChat:
    """One Telegram chat through the real TelegramChannel against the fake Bot API."""

    def __init__(self, channel: TelegramChannel, fake: FakeTelegram, chat_id: int) -> None:
        self.channel, self.fake, self.chat_id = channel, fake, chat_id

    async def say(self, text: str) -> str:
        await self.channel.process(self.fake.text_update(self.chat_id, text))
        return self.last

    async def press(self, label: str) -> str:
        rows = (self.fake.last_message(self.chat_id) or {}).get("reply_markup", {}).get("inline_keyboard", [])
        data = next(b["callback_data"] for row in rows for b in row if b["text"].lower().startswith(label.lower()))
        await self.channel.process(self.fake.callback_update(self.chat_id, data))
        return self.last

    @property
    def last(self) -> str:
        return (self.fake.last_message(self.chat_id) or {}).get("text") or ""


async def test_typed_markup_comes_back_verbatim_as_plain_text(engine, demo_db):
    async with demo_db.read() as session:
        mawar = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == MAWAR))
        buleleng = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
    async with FakeTelegram() as fake:
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channel = TelegramChannel(config, engine.handle_durably)
        await channel.initialize()
        try:
            family = TelegramChat(channel, fake, CHAT)
            await family.say("/start")
            await family.press("Ya")
            await family.press("Bahasa Indonesia")
            assert f"Desa \u201c{MARKUP[:40]}\u201d belum ada" in await family.say(MARKUP)  # the village hint echoes it
            await family.say("Nagasepaha")
            await family.press("Posyandu Mawar")
            assert "Ketik nama dengan huruf" in await family.say(MARKUP)  # no markup in a name: letters only
            await family.say("Budi O'Neil-Putra")
            await family.say(MARKUP)  # the dusun takes any text with a letter in it
            await family.say("003/002")
            await family.say("Budi Kecil")
            await family.press("Laki-laki")
            await family.say("1/2/2025")
            await family.press("Nanti saja")  # the Buku KIA history is left for later
            await family.press("Selesai")
            assert "Pendaftaran selesai" in family.last and "Budi O'Neil-Putra" in family.last
            assert f"/{MARKUP[1:].split()[0].split('@')[0].lower()[:30]} tidak dikenal" in await family.say("/" + MARKUP[1:])

            async with demo_db.write() as session:
                from handlers.kader import create_invite

                kader_code = (await create_invite(session, role="kader", posyandu_id=mawar, now=DEFAULT_NOW)).code
                staff_code = (await create_invite(session, role="staff", puskesmas_id=buleleng, now=DEFAULT_NOW)).code
            kader = TelegramChat(channel, fake, KADER_CHAT)
            await kader.say("/start")
            await kader.press("Ya")
            await kader.press("Bahasa Indonesia")
            await kader.say(f"/kader {kader_code}")
            assert f"[{MARKUP}, RT 003]" in await kader.say("/sasaran")  # the dusun, exactly as typed
            await kader.say("batal")
            await kader.say("/kunjungan")
            assert f"bernama \u201c{MARKUP[:40]}\u201d" in await kader.say(MARKUP)

            staff = TelegramChat(channel, fake, STAFF_CHAT)
            await staff.say("/start")
            await staff.press("Ya")
            await staff.press("Bahasa Indonesia")
            await staff.say(f"/staf {staff_code}")
            await staff.say("/umumkan")
            await staff.press("Semua keluarga")
            await staff.press("Seluruh puskesmas")
            announcement = f"Posyandu besok {MARKUP} & <i>jam 8</i>"
            assert announcement in await staff.say(announcement)
            # the outbox sends the announcement through the lean sender: plain text as well
            await channel.send_one(str(CHAT), Reply(f"Pengumuman:\n{announcement}"))
            assert fake.texts_to(CHAT)[-1] == f"Pengumuman:\n{announcement}"
        finally:
            await channel.stop()
    texts = [call for call in fake.sent if call.method in ("sendMessage", "sendPhoto", "editMessageText")]
    assert len(texts) > 20
    for call in texts:
        assert call.parse_mode is None, f"{call.method} with parse_mode {call.parse_mode}: {call.text[:100]!r}"
        assert not call.params.get("entities") and not call.params.get("caption_entities"), call.params
    echoed = [call.text for call in texts if MARKUP in (call.text or "") or MARKUP[:40] in (call.text or "")]
    assert len(echoed) >= 4, echoed
    # what the fake shows the person (parsed as Telegram would) is exactly what the bot sent
    for chat_id in (CHAT, KADER_CHAT, STAFF_CHAT):
        for call in fake.messages_to(chat_id):
            if call.method == "sendMessage":
                assert fake.bot_message(chat_id, call.message_id)["text"] == call.text


# -- 4. logs --------------------------------------------------------------------------------------------

def test_the_logging_setup_redacts_phone_numbers_and_nik_also_in_tracebacks(capsys):
    """Through ``logs.setup_logging`` (what bot.py uses), not just the filter on its own (tests/test_logs.py)."""
    from logs import setup_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "apscheduler", "aiohttp.access")}
    try:
        setup_logging("DEBUG")
        log = logging.getLogger("handlers.security_probe")
        log.info("from %s about %s", "+6281234567890", "5108061203960001")
        log.warning("chat 081234567890 wrote 628123456789")
        try:
            raise ValueError("parameters: ('081234567890', '5108061203960001')")
        except ValueError:
            log.exception("step failed for %s", "6281234567890")
        for handler in root.handlers:
            handler.flush()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
    err = capsys.readouterr().err
    assert "step failed" in err and "ValueError" in err and "Traceback" in err
    for secret in ("6281234567890", "081234567890", "628123456789", "5108061203960001", "81234567890"):
        assert secret not in err, err
    assert err.count("<phone>") >= 5 and err.count("<nik>") >= 2, err


def test_the_log_scan_is_active():
    """tests/log_scan.py is registered by conftest and sees this session's log records."""
    from tests import log_scan

    assert log_scan.active_handler() is not None
    logging.getLogger("handlers.security_probe").warning("log scan probe %s", "K-7QX2MA")
    assert "log scan probe K-7QX2MA" in log_scan.active_handler().path.read_text(encoding="utf-8")


@pytest.mark.parametrize("line", [
    "from 081234567890 at 10:00", "wa +62 812-3456-7890.", "+6281234567890", "628123456789 wrote", "hp 0812 3456 7890",
    "hp 0812-3456-789", "('6281234567890',)", "address=628100000001", "nik 5108061203960001", "NIK 5108 0612 0396 0001",
    "nik=3171014501900003", "510806.120396.0001",
])
def test_the_log_scan_finds_phone_numbers_and_nik(line):
    from tests.log_scan import findings

    assert findings(line), line


@pytest.mark.parametrize("line", [
    "2026-11-24 01:54:39,530 INFO bot: channels telegram; web on 127.0.0.1:43643", "2026-08-12 08:30:00,081 WARNING x",
    "update_id 815196401", "chat 880001", "chat_id=5000000001", "chat -1001234567890", "cb:4382100000000000001",
    "user 6281234567", "elapsed 0.0812345678901 s", "ts 1795000000000000", "epoch 1795012345", "file AgACAgUAAxk0812345678",
    "uuid 08123456-7890-4abc-8def-0123456789ab", "outbox row 081 of 5108", "K-7QX2MA", "ns 1795000000123456789",
])
def test_the_log_scan_ignores_ids_and_timestamps(line):
    from tests.log_scan import findings

    assert not findings(line), line


@pytest.mark.parametrize("number", ["0812 3456 7890", "+62 812-3456-7890", "0812-3456-7890", "5108 0612 0396 0001"])
def test_formatted_numbers_are_redacted_too(number):
    from logs import redact
    from tests.log_scan import findings

    assert not findings(redact(f"a person typed {number}"))
