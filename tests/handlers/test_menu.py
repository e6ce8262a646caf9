"""The main menu (handlers.menu) by role: within a WhatsApp list's 10 rows for everyone, in every state
(a pregnancy adds a choice, a view just shown swaps one), labels short and distinct."""
from __future__ import annotations

from datetime import date

import pytest

from content.i18n import _, use_locale
from tests.helpers import KINDS, ChatDriver, chat_as, make_family, make_pregnant

WHATSAPP_ROWS = 10
#: What the person did just before the menu: nothing, /jadwal (offers "Tandai sudah"), /imunisasi.
BEFORE = ("/menu", "/jadwal", "/imunisasi")


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("pregnant", [False, True])
@pytest.mark.parametrize("kind", KINDS)
async def test_the_menu_fits_a_whatsapp_list_for_every_role(engine, demo_db, kind, pregnant, lang):
    chat = await chat_as(engine, demo_db, kind, f"{kind}-menu")
    if pregnant and kind.endswith("family"):
        await make_pregnant(demo_db, "Ibu", 20)
    await chat.say(f"/bahasa {lang}")
    for before in BEFORE:
        await chat.say("batal")
        await chat.say(before)
        if "Apa yang ingin Bapak/Ibu lakukan?" not in chat.text and "What would you like to do?" not in chat.text:
            continue  # a family command without a family: the registration, not the menu
        labels = chat.labels
        assert 3 <= len(labels) <= WHATSAPP_ROWS, f"{kind} {before}: {labels}"
        assert all(len(label) <= 20 for label in labels), labels
        assert len({label[:20] for label in labels}) == len(labels), labels


@pytest.mark.parametrize("kind, has, lacks", [
    ("family", ("Jadwal", "Riwayat Buku KIA"), ("Catat kunjungan", "Laporan")),
    ("kader", ("Catat kunjungan", "Tambah keluarga", "Keluarga saya"), ("Jadwal", "Laporan", "Daftarkan keluarga")),
    ("kader_family", ("Catat kunjungan", "Tambah keluarga", "Jadwal", "Keluarga saya"), ("Daftarkan keluarga", "Laporan")),
    ("staff", ("Laporan", "Undang kader", "Daftarkan keluarga"), ("Keluarga saya", "Catat kunjungan")),
    ("staff_family", ("Laporan", "Keluarga saya"), ("Daftarkan keluarga", "Catat kunjungan")),
])
async def test_the_menu_offers_the_work_and_the_family_of_each_role(engine, demo_db, kind, has, lacks):
    chat = await chat_as(engine, demo_db, kind, f"{kind}-m")
    await chat.say("/menu")
    with use_locale("id"):
        assert {_(label) for label in has} <= set(chat.labels), chat.labels
        assert not {_(label) for label in lacks} & set(chat.labels), chat.labels


async def test_staff_open_their_own_family_from_the_menu(engine, demo_db):
    chat = await chat_as(engine, demo_db, "staff_family", "staff-own")
    await chat.say("/menu")
    await chat.press("Keluarga saya")
    assert "Ibu" in chat.text and "Bayi" in chat.text


@pytest.mark.parametrize("members, shown", [
    ((("Ni Luh Sari", "F", date(1995, 4, 2)), ("Putu Adi", "M", date(2025, 9, 14))), True),
    ((("Ni Luh Sari", "F", date(1995, 4, 2)), ("Made Wira", "M", date(1990, 1, 5))), False),
    ((("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Ayu", "F", date(2015, 6, 1))), False),
])
async def test_child_immunisation_is_offered_only_to_a_household_with_a_young_child(engine, demo_db, members, shown):
    await make_family(demo_db, members=members, identity_address="no-child-menu")
    chat = ChatDriver(engine, address="no-child-menu")
    await chat.say("/menu")
    assert "Jadwal" in chat.labels, chat.labels
    assert ("Imunisasi anak" in chat.labels) is shown, chat.labels
