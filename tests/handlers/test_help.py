"""Help by role (handlers.help): ``bantuan`` shows the commands of the roles a person holds, the ``catat``
cheat sheet for kaders, and a channel's command menu per role; every command named is a real one."""
from __future__ import annotations

import re

import pytest

from content.i18n import _, use_locale
from handlers import help as help_texts
from handlers.fast_entry import parse_fast_entry
from handlers.help import catat_text, command_menu
from handlers.words import COMMANDS, global_word, split_command
from tests.helpers import ChatDriver, chat_as

FAMILY_ONLY = ("/jadwal", "/imunisasi", "/pengingat", "/lahir", "/grafik", "/berhenti", "/mulai", "/hapus")
KADER_ONLY = ("/kunjungan", "catat K-XXXXXX", "bantuan catat", "/sasaran", "/riwayat K-XXXXXX", "/keluarga K-XXXXXX",
              "/daftarkan", "/urung")
STAFF_ONLY = ("/laporan", "/ekspor", "/umumkan", "/status", "/satusehat", "/jadwalposyandu", "/undang", "/impor")
EVERYONE = ("/bahasa", "batal")
#: Every keyword of a kader's one-line entry (handlers.fast_entry).
CATAT_KEYWORDS = ("bb", "tb", "pb", "lk", "lila", "td", "gd", "lp", "imun", "vita", "oc", "sdidtk", "kn", "kf", "ttd",
                  "anc", "skilas", "bahaya", "catatan", "anak1", "ibu")
#: Telegram's rules for a command menu (setMyCommands).
COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


def _names(command: str, text: str) -> bool:
    """Whether ``text`` names ``command`` (``/jadwal`` is not named by ``/jadwalposyandu``)."""
    return re.search(re.escape(command) + r"(?!\w)", text) is not None


@pytest.mark.parametrize("kind, shown, hidden", [
    ("family", FAMILY_ONLY, KADER_ONLY + STAFF_ONLY + ("/daftar ",)),
    ("kader", KADER_ONLY + ("/daftar ",), FAMILY_ONLY + STAFF_ONLY),
    ("kader_family", FAMILY_ONLY + KADER_ONLY, STAFF_ONLY + ("/daftar ",)),
    ("staff", STAFF_ONLY + ("/daftar ",), FAMILY_ONLY + KADER_ONLY),
    ("staff_family", FAMILY_ONLY + STAFF_ONLY, KADER_ONLY + ("/daftar ",)),
])
async def test_help_shows_the_commands_of_the_roles_held(engine, demo_db, kind, shown, hidden):
    chat = await chat_as(engine, demo_db, kind, f"{kind}-1")
    await chat.say("bantuan")
    for command in (*shown, *EVERYONE):
        assert _names(command, chat.text), f"{kind}: {command} missing"
    for command in hidden:
        assert not _names(command, chat.text), f"{kind}: {command} shown"
    assert "Apa yang ingin Bapak/Ibu lakukan?" in chat.text  # and the menu again


async def test_help_in_english_is_the_translation(engine, demo_db):
    chat = await chat_as(engine, demo_db, "kader_family", "en-1")
    await chat.say("/bahasa en")
    await chat.say("help")
    with use_locale("en"):
        for text in (help_texts._family_text(), help_texts._kader_text(), _("/bahasa - ganti bahasa\nbatal - batalkan langkah ini")):
            assert text in chat.text


async def test_help_inside_a_flow_says_how_to_leave_it(engine, demo_db):
    chat = await chat_as(engine, demo_db, "kader", "k-flow")
    await chat.say("/kunjungan")
    await chat.say("bantuan")
    assert "ketik batal untuk kembali ke menu" in chat.text and "/kunjungan" in chat.text


async def test_help_before_consent_tells_volunteers_how_to_join(engine):
    chat = ChatDriver(engine, address="anon-1")
    await chat.say("bantuan")
    assert "/kader atau /staf dengan kode undangan" in chat.text and "Apakah Bapak/Ibu setuju" in chat.text


@pytest.mark.parametrize("typed", ["bantuan catat", "Bantuan  catat", "/bantuan catat", "/help catat", "help catat?"])
async def test_a_kader_gets_the_catat_cheat_sheet(engine, demo_db, typed):
    chat = await chat_as(engine, demo_db, "kader", "k-sheet")
    await chat.say(typed)
    with use_locale("id"):
        assert catat_text() in chat.text
    assert "Apa yang ingin Bapak/Ibu lakukan?" in chat.text


async def test_the_cheat_sheet_keeps_the_question_the_kader_was_at(engine, demo_db):
    chat = await chat_as(engine, demo_db, "kader", "k-sheet-2")
    await chat.say("/kunjungan")
    question = chat.replies[-1].text
    await chat.say("bantuan catat")
    assert catat_text() in chat.text and chat.replies[-1].text.endswith(question.split("\n\n")[-1])


async def test_a_family_asking_for_the_cheat_sheet_is_told_it_is_for_kaders(engine, demo_db):
    chat = await chat_as(engine, demo_db, "family", "f-sheet")
    await chat.say("bantuan catat")
    assert "Hanya kader yang dapat mencatat kunjungan" in chat.text and "bb berat" not in chat.text


@pytest.mark.parametrize("keyword", CATAT_KEYWORDS)
def test_the_cheat_sheet_names_every_keyword(keyword):
    for lang in ("id", "en"):
        with use_locale(lang):
            assert re.search(rf"(^|[\s(]){keyword}(\d|\b)", catat_text(), re.M), f"{lang}: {keyword}"


def test_the_cheat_sheet_example_is_a_real_entry():
    line = next(x for x in catat_text().splitlines() if "catat K-" in x)
    entry = parse_fast_entry(line[line.index("catat K-"):])
    assert entry.family_code == "K-7QX2MA" and entry.weight_kg == 8.2 and entry.length_cm == 71
    assert {d.rstrip("*") for d in entry.doses}  # the doses were read


@pytest.mark.parametrize("text, action", [
    ("bantuan catat", "help_catat"), ("HELP catat", "help_catat"), ("bantuan", "help"), ("batal?", "cancel"),
    ("catat bantuan", None),
])
def test_global_words(text, action):
    assert global_word(text) == action


@pytest.mark.parametrize("text, parsed", [
    ("/bantuan catat", ("help_catat", "")), ("/bantuan@IlpBot catat", ("help_catat", "")),
    ("/bantuan", ("help", "")), ("/bantuan apa", ("help", "apa")),
])
def test_help_commands(text, parsed):
    assert split_command(text) == parsed


def _named_commands(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w/])/([a-z]+)", text))


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_command_in_help_and_menus_is_a_real_command(lang):
    with use_locale(lang):
        texts = [help_texts._family_text(), help_texts._kader_text(), help_texts._staff_text(), catat_text(),
                 help_texts.commands_text()]
        named = set().union(*map(_named_commands, texts))
        named |= {command for role in ("family", "kader", "staff") for command, _d in command_menu(role)}
    assert named and not {c for c in named if c not in COMMANDS}, named - set(COMMANDS)


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("role, own", [("family", ()), ("kader", ("kunjungan", "sasaran", "rujukan", "daftarkan", "urung")),
                                       ("staff", ("laporan", "ekspor", "impor", "rujukan", "umumkan", "status", "satusehat", "jadwalposyandu", "undang", "web"))])
def test_the_command_menu_of_each_role_fits_telegram(lang, role, own):
    with use_locale(lang):
        menu = command_menu(role)
        family = command_menu("family")
    names = [name for name, _d in menu]
    assert len(menu) <= 100 and len(set(names)) == len(names)
    assert all(COMMAND_NAME.match(name) and 1 <= len(description) <= 256 for name, description in menu)
    assert names[:len(own)] == list(own) and menu[len(own):] == family  # the role's commands, then the family's
    assert "grafik" in names and "bantuan" in names


def test_the_command_menu_is_in_the_current_language():
    with use_locale("en"):
        assert command_menu("kader")[0] == ("kunjungan", _("Catat kunjungan, langkah demi langkah"))


async def test_an_unknown_command_shows_the_commands_of_the_roles_held(engine, demo_db):
    chat = await chat_as(engine, demo_db, "staff", "s-unknown")
    await chat.say("/terbang")
    assert "/terbang tidak dikenal" in chat.text and "/laporan" in chat.text


async def test_an_unknown_command_shows_a_family_its_commands(engine, demo_db):
    chat = await chat_as(engine, demo_db, "family", "f-unknown")
    await chat.say("/terbang")
    assert "/terbang tidak dikenal" in chat.text and "/jadwal" in chat.text and "/grafik" in chat.text
