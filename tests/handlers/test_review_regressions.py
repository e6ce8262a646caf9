"""Inputs a review found mishandled; each stays answered correctly."""
from __future__ import annotations

import logging

from sqlalchemy import select, update

from channels.messages import Incoming
from db.models import Person, Posyandu
from tests.helpers import ChatDriver, add_member, consent, register_household


async def test_language_inside_language_keeps_the_question(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.say("/bahasa")
    await chat.say("/bahasa")
    assert "Pilih bahasa" in chat.text
    await chat.say("1")
    assert "Jenis kelamin Ni Made Sari" in chat.text


async def test_refusing_after_a_language_switch_does_not_ask_again(engine):
    chat = ChatDriver(engine)
    await chat.say("/start")
    await chat.say("/bahasa")
    await chat.press("English")
    await chat.press("No")
    assert "We store no data except this refusal" in chat.text
    assert "Do you agree" not in chat.text


async def test_buttons_from_before_an_erasure_do_not_work_after_it(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    old_menu = chat.replies
    await chat.say("/hapus")
    await chat.say("1")  # confirms by typing; the old keyboards stay on screen
    assert "sudah dihapus" in chat.text
    await register_household(chat)
    await add_member(chat, "Made", "Laki-laki", "1/2/2020")
    await chat.press("Hapus anggota", replies=old_menu)
    assert "tidak berlaku" in chat.text


async def test_control_characters_are_dropped(engine):
    chat = ChatDriver(engine)
    await consent(chat)
    await chat.say("Naga\x00sepaha")
    assert "Pilih posyandu" in chat.text
    await chat.press("Posyandu")
    await chat.say("Wayan")
    await chat.say("Banjar\x00Kaja")
    await chat.say("3/2")
    assert "Maaf" not in chat.text and "anggota keluarga pertama" in chat.text


async def test_forged_language_button_is_refused(engine):
    chat = ChatDriver(engine)
    await chat.say("/start")
    version = chat.button("Ya").split(".")[0]
    await chat.send(Incoming("local", chat.address, message_id="forged-lang", choice=f"{version}.lang_zz"))
    assert "Ya, saya setuju" in chat.text and "Maaf" not in chat.text


async def test_due_date_beyond_a_whole_pregnancy_is_refused(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Made Rai")
    await chat.press("Perempuan")
    await chat.say("1-1-1996")
    await chat.press("Ya")
    await chat.press("Perkiraan tanggal lahir")
    await chat.say("10-09-2027")
    assert "belum dimulai" in chat.text


async def test_pregnancy_is_not_offered_for_a_child_and_due_date_goes_after_birth(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Ni Made Sari", "Perempuan", "12-03-1996", pregnant="39 minggu")
    await chat.press("Tambah anggota")
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2024")
    await chat.press("Ubah anggota")
    await chat.press("Putu Ayu")
    assert "Kehamilan" not in chat.labels
    await chat.press("Nama")
    await chat.say("Putu Ayu")
    await chat.press("Selesai")
    await chat.say("/lahir")
    await chat.press("Hari ini")
    await chat.press("Satu")
    await chat.press("Perempuan")
    await chat.say("-")
    await chat.press("Tidak tahu")
    assert "perkiraan lahir" not in chat.text and "Ibu nifas" in chat.text


async def test_a_posyandu_without_a_day_says_so(engine, demo_db):
    async with demo_db.write() as session:
        await session.execute(update(Posyandu).values(schedule={}))
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.press("Selesai")
    assert "belum ditentukan" in chat.text
    await chat.say("/jadwal")
    assert "belum ditentukan" in chat.text and "Maaf" not in chat.text


async def test_like_wildcards_are_plain_letters(engine):
    chat = ChatDriver(engine)
    await consent(chat)
    await chat.say("%%%")
    assert "belum ada di daftar" in chat.text


def test_tracebacks_are_redacted_too(caplog):
    from logs import RedactingFilter

    logger = logging.getLogger("test.redact.exc")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.ERROR, logger="test.redact.exc"):
        try:
            raise ValueError("parameters: ('081234567890', '5108061234567890')")
        except ValueError:
            logger.exception("step failed")
    assert "081234567890" not in caplog.text and "5108061234567890" not in caplog.text
    assert "<phone>" in caplog.text


async def test_a_step_removed_by_a_release_falls_back_to_the_menu(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    from db.models import ConversationState

    async with demo_db.write() as session:
        await session.execute(update(ConversationState).values(flow="family", step="no_such_step"))
    await chat.say("halo")
    assert "gangguan" not in chat.text and chat.labels
    async with demo_db.read() as session:
        assert await session.scalar(select(Person.name)) == "Putu Ayu"
