"""First contact (handlers.start): the consent in the person's language, and the language asked only when
it is not known yet (never twice); the consent recorded with its version and language."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from channels.messages import Incoming
from content.i18n import _, use_locale
from db.models import ConsentRecord, Identity
from handlers.start import CONSENT_VERSION, hinted_language
from tests.helpers import DEFAULT_NOW, ChatDriver, identity_of

AVAILABLE = ("id", "en")
#: Said after the consent when the language is known (no language question).
THANKS = "Terima kasih! Bahasa bisa diganti kapan saja dengan /bahasa."
#: The language question.
ASK_LANGUAGE = "Terima kasih! Pilih bahasa:"
VILLAGE = "Di desa/kelurahan mana Bapak/Ibu tinggal? Ketik namanya, misalnya: Nagasepaha"


async def _records(db, address: str) -> list[tuple[str, str, str]]:
    identity = await identity_of(db, address)
    async with db.read() as session:
        rows = await session.execute(select(ConsentRecord.decision, ConsentRecord.version, ConsentRecord.language)
                                     .where(ConsentRecord.identity_id == identity.id))
        return [tuple(row) for row in rows]


@pytest.mark.parametrize("hint, expected", [
    ("en", "en"), ("en-US", "en"), ("EN_gb", "en"), ("id", "id"), ("in", "id"), ("id-ID", "id"),
    ("fr", None), ("", None), (None, None), ("  en ", "en"),
])
def test_a_client_language_names_an_available_language(hint, expected):
    assert hinted_language(hint, AVAILABLE) == expected


def test_a_client_language_not_available_is_none():
    assert hinted_language("en", ("id",)) is None


@pytest.mark.parametrize("screen, pick, lang, yes", [
    ("id", "English", "en", "Yes"),  # the Indonesian screen, English picked on it
    ("en", "Bahasa Indonesia", "id", "Ya"),  # an English screen (a client in English), Indonesian picked on it
])
async def test_a_language_picked_on_the_consent_screen_is_not_asked_again(engine, demo_db, screen, pick, lang, yes):
    async with demo_db.write() as session:
        session.add(Identity(channel="local", address="lang-1", language=screen, role="family", created_at=DEFAULT_NOW))
    chat = ChatDriver(engine, address="lang-1")
    await chat.say("/start")
    await chat.press(pick)
    await chat.press(yes)
    with use_locale(lang):
        assert _(THANKS) in chat.text and _(VILLAGE) in chat.text
        assert _(ASK_LANGUAGE) not in chat.text
        assert not any(label in ("English", "Bahasa Indonesia") for label in chat.labels)
    identity = await identity_of(demo_db, "lang-1")
    assert (identity.language, identity.consent, identity.consent_version) == (lang, "given", CONSENT_VERSION)
    assert await _records(demo_db, "lang-1") == [("given", CONSENT_VERSION, lang)]


async def test_a_chat_already_in_english_is_not_asked_the_language(engine, demo_db):
    """A new chat whose client is in English (its identity made in English, as the engine does from
    ``Incoming.language_hint``) reads the consent in English and is not asked the language after it."""
    async with demo_db.write() as session:
        session.add(Identity(channel="local", address="lang-2", language="en", role="family", created_at=DEFAULT_NOW))
    chat = ChatDriver(engine, address="lang-2")
    await chat.say("hello")
    with use_locale("en"):
        assert _("Ya, saya setuju") in chat.labels and "Bahasa Indonesia" in chat.labels
        await chat.press(_("Ya, saya setuju"))
        assert _(THANKS) in chat.text and _(VILLAGE) in chat.text and _(ASK_LANGUAGE) not in chat.text


async def test_a_client_language_hint_makes_the_first_contact_english(engine, demo_db):
    chat = ChatDriver(engine, address="lang-3")
    await chat.send(Incoming("local", "lang-3", message_id="h1", text="/start", language_hint="en-US"))
    with use_locale("en"):
        await chat.press(_("Ya, saya setuju"))
        assert _(VILLAGE) in chat.text and _(ASK_LANGUAGE) not in chat.text
    assert (await identity_of(demo_db, "lang-3")).language == "en"


async def test_the_language_is_asked_once_when_nothing_told_it(engine, demo_db):
    chat = ChatDriver(engine, address="lang-4")
    await chat.say("/start")
    await chat.press("Ya")
    with use_locale("id"):
        assert _(ASK_LANGUAGE) in chat.text
    await chat.press("English")
    with use_locale("en"):
        assert _(VILLAGE) in chat.text and _(ASK_LANGUAGE) not in chat.text
    assert await _records(demo_db, "lang-4") == [("given", CONSENT_VERSION, "id")]


async def test_typing_the_language_on_the_consent_screen_works_too(engine, demo_db):
    chat = ChatDriver(engine, address="lang-5")
    await chat.say("/start")
    await chat.say("english")
    with use_locale("en"):
        await chat.say("1")  # the first choice: yes
        assert _(VILLAGE) in chat.text and _(ASK_LANGUAGE) not in chat.text


async def test_a_refusal_in_english_stores_only_the_refusal(engine, demo_db):
    chat = ChatDriver(engine, address="lang-6")
    await chat.say("/start")
    await chat.press("English")
    with use_locale("en"):
        await chat.press(_("Tidak"))
        assert _("Baik. Kami tidak menyimpan data apa pun selain penolakan ini. Ketik /start kapan saja jika berubah pikiran.") in chat.text
    identity = await identity_of(demo_db, "lang-6")
    assert (identity.consent, identity.family_id) == ("refused", None)
    assert await _records(demo_db, "lang-6") == [("refused", CONSENT_VERSION, "en")]


async def test_the_consent_says_that_visit_data_goes_to_satusehat(engine):
    chat = ChatDriver(engine, address="satusehat-consent")
    await chat.say("halo")
    assert ("Data kunjungan, pengukuran, dan imunisasi yang dicatat untuk keluarga Bapak/Ibu juga dikirim ke SATUSEHAT, "
            "platform data kesehatan Kementerian Kesehatan, sebagaimana diwajibkan peraturan.") in chat.text
    assert chat.text.rstrip().endswith("Apakah Bapak/Ibu setuju?")
