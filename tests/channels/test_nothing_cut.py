"""Nothing cut, per channel: the longest real replies (a 6-person family's /jadwal, /laporan with its
chart, a 1,000-character announcement) reach the person whole over Telegram, WhatsApp and the local
chat: every line the engine wrote arrives, in order, against the fakes."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

import channels.local as local_module
from channels.local import LocalChat, render
from channels.messages import Incoming, Reply
from channels.telegram import TelegramChannel
from config import TelegramConfig
from db.models import Family, Identity, Posyandu
from handlers.engine import Engine
from handlers.staff import MAX_BROADCAST
from reminders.dispatcher import Dispatcher
from tests.channels.whatsapp_world import WaChat, whatsapp_bot
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import DEFAULT_NOW, make_family, make_pregnant

SIX = (
    ("Ni Luh Sari Dewi", "F", date(1995, 4, 2)),
    ("Komang Ariawan", "M", date(1990, 1, 10)),
    ("Putu Adi Pratama", "M", date(2025, 9, 14)),
    ("Kadek Bayu Wirawan", "M", date(2026, 7, 1)),
    ("Nyoman Ayu Lestari", "F", date(2021, 3, 3)),
    ("Nenek Made Rai", "F", date(1959, 5, 23)),
)


def announcement() -> str:
    """A staff announcement of exactly the longest length allowed, on several lines."""
    lines = [
        "Posyandu bulan Desember pindah ke balai banjar Kaja karena balai desa sedang diperbaiki.",
        "Jadwal: Sabtu, 5 Desember 2026, pukul 08.00 sampai 12.00 WITA.",
        "Bawa buku KIA, kartu BPJS dan KMS setiap anak. Ibu hamil membawa hasil pemeriksaan terakhir.",
        "Ada imunisasi kejar untuk anak yang tertinggal, pemberian vitamin A, obat cacing, dan pemeriksaan tekanan darah untuk lansia.",
        "Kader akan mengukur berat badan, tinggi badan dan lingkar kepala anak, serta lingkar lengan ibu hamil.",
        "Bila anak sakit, demam atau batuk, mohon tetap datang agar bisa diperiksa bidan desa.",
    ]
    text = "\n".join(lines) + "\n"
    words = "Terima kasih atas perhatian Bapak dan Ibu, sampai jumpa di posyandu, salam sehat dari puskesmas.".split()
    i = 0
    while len(text) + 1 + len(words[i % len(words)]) < MAX_BROADCAST:
        text += ("" if text.endswith("\n") else " ") + words[i % len(words)]
        i += 1
    return text + "!" * (MAX_BROADCAST - len(text))


def lines_of(replies: list[Reply]) -> list[str]:
    return [line.strip() for reply in replies for line in reply.text.splitlines() if line.strip()]


def assert_every_line_arrived(expected: list[str], received: str) -> None:
    """Each expected line is in what arrived, in order."""
    at = 0
    for line in expected:
        found = received.find(line, at)
        assert found >= 0, f"line lost or out of order: {line!r}\n--- received ---\n{received}"
        at = found + len(line)


async def _six_person_family(db, channel: str, address: str) -> Family:
    family = await make_family(db, identity_address=address, members=SIX)
    await make_pregnant(db, "Ni Luh Sari Dewi", 20)
    async with db.write() as session:
        await session.execute(update(Identity).where(Identity.address == address).values(
            channel=channel, phone=address if channel == "whatsapp" else None, last_inbound_at=DEFAULT_NOW))
    return family


async def _staff(db, channel: str, address: str) -> None:
    """A puskesmas staff member of the demo puskesmas, on ``channel``."""
    async with db.write() as session:
        posyandu = (await session.scalars(select(Posyandu).where(Posyandu.village_code == "51.08.06.2014"))).one()
        session.add(Identity(channel=channel, address=address, phone=address if channel == "whatsapp" else None, language="id",
                             role="staff", puskesmas_id=posyandu.puskesmas_id, consent="given", consent_version="2026-11",
                             consent_at=DEFAULT_NOW, last_inbound_at=DEFAULT_NOW, created_at=DEFAULT_NOW))


# ------------------------------------------------------------------ Telegram


class Recorder:
    """The engine's durable entry point, keeping the replies it gave for each message."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.replies: list[Reply] = []

    async def __call__(self, incoming: Incoming) -> list[Reply]:
        replies = await self.engine.handle_durably(incoming)
        self.replies = replies
        return replies


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_telegram_delivers_the_longest_replies_whole(demo_db, settings, clock):
    family_chat, staff_chat = 6060601, 6060602
    await _six_person_family(demo_db, "telegram", str(family_chat))
    await _staff(demo_db, "telegram", str(staff_chat))
    engine = Engine(demo_db, settings, clock=clock)
    recorder = Recorder(engine)
    async with FakeTelegram() as fake:
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channel = TelegramChannel(config, recorder, freeze_gc=False)
        await channel.initialize()
        try:
            async def say(chat: int, text: str) -> str:
                before = len(fake.messages_to(chat))
                await channel.process(fake.text_update(chat, text))
                return "\n".join(m.text or "" for m in fake.messages_to(chat)[before:])

            received = await say(family_chat, "/jadwal")
            assert len(lines_of(recorder.replies)) >= 6
            assert_every_line_arrived(lines_of(recorder.replies), received)

            await say(staff_chat, "/laporan")
            await say(staff_chat, "1")
            received = await say(staff_chat, "1")
            assert any(r.image is not None for r in recorder.replies), "the report comes with its chart"
            calls = fake.messages_to(staff_chat)
            assert any(c.method == "sendPhoto" for c in calls[-3:])
            assert_every_line_arrived(lines_of(recorder.replies), received)

            text = announcement()
            assert len(text) == MAX_BROADCAST
            await say(staff_chat, "/umumkan")
            await say(staff_chat, "1")  # every family
            await say(staff_chat, "1")  # the whole puskesmas
            await say(staff_chat, text)
            await say(staff_chat, "1")  # send
            dispatcher = Dispatcher(demo_db, {"telegram": channel.send_one}, clock=clock, rates={"telegram": None}, per_chat_interval=0)
            before = len(fake.messages_to(family_chat))
            assert (await dispatcher.run_once()).sent >= 1
            received = "\n".join(m.text or "" for m in fake.messages_to(family_chat)[before:])
            assert_every_line_arrived([line for line in text.splitlines() if line.strip()], received)
            assert not fake.rejected and not fake.unexpected
        finally:
            await channel.stop()


# ------------------------------------------------------------------ WhatsApp


async def test_whatsapp_delivers_the_longest_replies_whole(demo_db, settings, clock):
    mother, bidan = "6281234500090", "6281399900090"
    await _six_person_family(demo_db, "whatsapp", mother)
    await _staff(demo_db, "whatsapp", bidan)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        produced: list[Reply] = []
        inner = bot.channel.handle

        async def handle(incoming: Incoming) -> list[Reply]:
            replies = await inner(incoming)
            produced[:] = replies
            return replies

        bot.channel.handle = handle
        family, staff = WaChat(bot, mother, clock), WaChat(bot, bidan, clock, name="Bidan Ayu")

        await family.say("/jadwal")
        assert len(lines_of(produced)) >= 6
        assert_every_line_arrived(lines_of(produced), family.text)

        await staff.say("/laporan")
        await staff.say("1")
        await staff.say("1")
        assert any(r.image is not None for r in produced)
        (photo,) = [m for m in staff.messages if m["type"] == "image"]
        assert len(photo["image"].get("caption", "")) <= 1024
        assert_every_line_arrived(lines_of(produced), staff.text)

        text = announcement()
        await staff.say("/umumkan")
        await staff.say("1")
        await staff.say("1")
        await staff.say(text)
        await staff.say("1")
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        before = len(bot.graph.messages_to(mother))
        assert (await dispatcher.run_once()).sent >= 1
        family.messages = bot.graph.messages_to(mother)[before:]
        assert_every_line_arrived([line for line in text.splitlines() if line.strip()], family.text)
        assert not bot.graph.rejected and not bot.graph.unexpected


async def test_a_whatsapp_template_keeps_the_first_lines_and_the_opt_out_line(demo_db, settings, clock):
    from reminders.planner import Planner

    mother = "6281234500091"
    await _six_person_family(demo_db, "whatsapp", mother)
    async with demo_db.write() as session:  # the mother last wrote days ago: only a template may go
        await session.execute(update(Identity).where(Identity.address == mother).values(last_inbound_at=DEFAULT_NOW - timedelta(days=5)))
    await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))
    clock.now = datetime(2026, 12, 3, 23, 5, tzinfo=UTC)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        assert (await dispatcher.run_once()).sent == 1
        (message,) = bot.graph.messages_to(mother)
        assert message["type"] == "template" and message["template"]["name"] == "ilp_pengingat"
        (parameter,) = message["template"]["components"][0]["parameters"]
        assert len(parameter["text"]) <= 900
        assert parameter["text"].startswith("Pengingat untuk keluarga")
        assert parameter["text"].endswith("/berhenti.")  # the opt-out line is never dropped
        assert not bot.graph.rejected


# ------------------------------------------------------------------ the local chat


async def test_the_local_chat_prints_the_longest_replies_whole(demo_db, settings, clock, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(local_module, "IMAGE_DIR", tmp_path / "images")
    family, staff = "ibu-sari", "bidan-ayu"
    await _six_person_family(demo_db, "local", family)
    await _staff(demo_db, "local", staff)
    engine = Engine(demo_db, settings, clock=clock)
    mother, bidan = LocalChat(engine.handle, family), LocalChat(engine.handle, staff)

    replies = await mother.send("/jadwal")
    assert len(lines_of(replies)) >= 6
    assert_every_line_arrived(lines_of(replies), render(replies))

    await bidan.send("/laporan")
    await bidan.send("1")
    replies = await bidan.send("1")
    printed = render(replies)
    assert_every_line_arrived(lines_of(replies), printed)
    assert "[gambar / image:" in printed and list((tmp_path / "images").glob("*.png"))

    text = announcement()
    for line in ("/umumkan", "1", "1", text, "1"):
        await bidan.send(line)
    dispatcher = Dispatcher(demo_db, {"local": mother.deliver}, clock=clock, rates={"local": None}, per_chat_interval=0)
    capsys.readouterr()
    assert (await dispatcher.run_once()).sent == 1
    assert_every_line_arrived([line for line in text.splitlines() if line.strip()], capsys.readouterr().out)
