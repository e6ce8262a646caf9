"""The message catalogues: complete English, consistent placeholders, and a template that matches the code.

Indonesian is the source language: the msgids are the Indonesian text, so the ``id`` catalogue needs no
translations, and every msgid of ``content/locales/messages.pot`` must be translated in ``en``.
"""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "content" / "locales"
TEMPLATE = LOCALES / "messages.pot"
LANGUAGES = sorted(p.parent.parent.name for p in LOCALES.glob("*/LC_MESSAGES/messages.po"))



def _extract_paths() -> tuple[str, ...]:
    """The paths ``make extract`` scans, read from the Makefile (the one place they are written)."""
    recipe = re.search(r"^extract:.*?\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    command = recipe.split("\n\t$(BIN)/pybabel update")[0].replace("\\\n", " ")
    return tuple(command.split("messages.pot")[1].split())


#: What ``make extract`` scans, and the keywords it passes (pybabel adds its default keywords too).
SOURCE_DIRS = tuple(p for p in _extract_paths() if not p.endswith(".py"))
SOURCE_FILES = tuple(p for p in _extract_paths() if p.endswith(".py"))
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "n_": (1, 2), "N_": None}
#: how each file is read: babel.cfg's sections (Python, and the web's Jinja2 templates), as ``make extract`` reads them
METHOD_MAP = [(pattern, method) for method, pattern in re.findall(r"^\[(\w+):\s*(\S+)\]", (ROOT / "babel.cfg").read_text(), re.M)]

#: A command typed with a slash (``/keluarga``), not a slash between words (``RT/RW``, ``desa/dusun``).
COMMAND = re.compile(r"(?<![\w/])/[a-z]+")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


@pytest.fixture(scope="module")
def template() -> Catalog:
    return _read(TEMPLATE)


@pytest.fixture(scope="module")
def catalogues() -> dict[str, Catalog]:
    return {lang: _read(LOCALES / lang / "LC_MESSAGES" / "messages.po", lang) for lang in LANGUAGES}


def _messages(catalog: Catalog) -> dict[tuple[str, str | None], object]:
    """``(singular msgid, context) -> full id`` (a tuple for plurals) of every real entry."""
    return {(m.id[0] if m.pluralizable else m.id, m.context): m.id for m in catalog if m.id}


def _forms(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _placeholders(text: str) -> set[str]:
    """The ``{named}`` fields of a str.format text (a malformed brace raises ValueError)."""
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


def _show(msgid: object) -> str:
    return repr(msgid[0] if isinstance(msgid, tuple) else msgid)


# -- (a) English is complete ------------------------------------------------------------------

def test_languages_present() -> None:
    assert {"id", "en"} <= set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_has_exactly_the_template_msgids(template: Catalog, catalogues: dict[str, Catalog], lang: str) -> None:
    """Each .po carries the template's msgids (a forgotten ``pybabel update`` shows here)."""
    expected, got = _messages(template), _messages(catalogues[lang])
    missing = sorted(k[0] for k in expected.keys() - got.keys())
    extra = sorted(k[0] for k in got.keys() - expected.keys())
    assert not missing and not extra, (
        f"{lang}/messages.po differs from messages.pot; run `make extract`.\n"
        f"missing: {missing}\nnot in the template: {extra}"
    )
    changed = sorted(k[0] for k in expected.keys() & got.keys() if expected[k] != got[k])
    assert not changed, f"{lang}: singular/plural msgids differ from the template; run `make extract`: {changed}"


def test_english_translates_every_template_msgid(template: Catalog, catalogues: dict[str, Catalog]) -> None:
    en = catalogues["en"]
    problems = []
    for message in template:
        if not message.id:
            continue
        entry = en.get(message.id, message.context)
        if entry is None:
            problems.append(f"{_show(message.id)}: missing")
            continue
        if entry.fuzzy:
            problems.append(f"{_show(message.id)}: fuzzy")
        forms = _forms(entry.string)
        if message.pluralizable and len(forms) != en.num_plurals:
            problems.append(f"{_show(message.id)}: {len(forms)} plural forms, expected {en.num_plurals}")
        if not all(form.strip() for form in forms):
            problems.append(f"{_show(message.id)}: empty translation")
    assert not problems, "en/messages.po is incomplete:\n" + "\n".join(problems)


# -- (b) placeholders, lines and commands survive translation --------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_placeholders(catalogues: dict[str, Catalog], lang: str) -> None:
    problems = []
    for message in catalogues[lang]:
        if not message.id:
            continue
        sources = _forms(message.id)
        wanted = set().union(*(_placeholders(s) for s in sources))
        for s in sources:
            assert _placeholders(s) == wanted, f"singular and plural msgid differ in placeholders: {sources}"
        for form in _forms(message.string):
            if not form:
                continue
            try:
                got = _placeholders(form)
            except ValueError as exc:
                problems.append(f"{_show(message.id)} -> {form!r}: {exc}")
                continue
            if got != wanted:
                problems.append(f"{_show(message.id)} -> {form!r}: {sorted(got)} != {sorted(wanted)}")
    assert not problems, f"{lang}: placeholders changed:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_lines_and_commands(catalogues: dict[str, Catalog], lang: str) -> None:
    """Same number of lines, and the same ``/commands`` (they work in every language)."""
    problems = []
    for message in catalogues[lang]:
        if not message.id:
            continue
        source = _forms(message.id)[0]
        for form in _forms(message.string):
            if not form:
                continue
            if form.count("\n") != source.count("\n"):
                problems.append(f"{_show(message.id)} -> {form!r}: line breaks differ")
            if sorted(COMMAND.findall(form)) != sorted(COMMAND.findall(source)):
                problems.append(f"{_show(message.id)} -> {form!r}: commands differ")
    assert not problems, f"{lang}:\n" + "\n".join(problems)


# -- (c) plural forms -----------------------------------------------------------------------------

def test_plural_forms_headers(catalogues: dict[str, Catalog]) -> None:
    raw = {lang: (LOCALES / lang / "LC_MESSAGES" / "messages.po").read_text("utf-8") for lang in ("id", "en")}
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in raw["id"]
    assert catalogues["id"].num_plurals == 1 and catalogues["id"].plural_expr == "0"
    assert re.search(r'"Plural-Forms: nplurals=2; plural=\(n != 1\);\\n"', raw["en"])
    assert catalogues["en"].num_plurals == 2


# -- (d) the compiled catalogue works through content.i18n ---------------------------------------

@pytest.fixture
def compiled_locales(tmp_path: Path, catalogues: dict[str, Catalog], monkeypatch: pytest.MonkeyPatch):
    """The .po files compiled into a temporary directory that content.i18n then reads."""
    import content.i18n as i18n

    for lang, catalog in catalogues.items():
        target = tmp_path / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        with (target / "messages.mo").open("wb") as f:
            write_mo(f, catalog)
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield i18n
    i18n.translations.cache_clear()


def test_compiled_english_loads(compiled_locales) -> None:
    i18n = compiled_locales
    assert i18n.translations("en").gettext("Tidak") == "No"
    with i18n.use_locale("en"):
        assert i18n._("Ya, saya setuju") == "Yes, I agree"
        assert i18n._("Bahasa diganti ke {language}.", language="English") == "Language changed to English."
        assert i18n.n_("{n} hari", "{n} hari", 1) == "1 day"
        assert i18n.n_("{n} hari", "{n} hari", 3) == "3 days"
    with i18n.use_locale("id"):
        assert i18n._("Tidak") == "Tidak"
        assert i18n.n_("{n} hari", "{n} hari", 3) == "3 hari"


def test_growth_labels_match_their_english_reference(catalogues: dict[str, Catalog]) -> None:
    """care/growth.py keeps English reference texts of its labels; the catalogue must agree."""
    from care.growth import ADULT_BMI_LABELS, ADULT_BMI_LABELS_EN, CATEGORY_LABELS, CATEGORY_LABELS_EN

    en = catalogues["en"]
    for labels, reference in ((CATEGORY_LABELS, CATEGORY_LABELS_EN), (ADULT_BMI_LABELS, ADULT_BMI_LABELS_EN)):
        for code, msgid in labels.items():
            entry = en.get(msgid)
            assert entry is not None and entry.string == reference[code], (code, msgid)


# -- (e) the template is what the code extracts ----------------------------------------------------

def _extract_code() -> dict[tuple[str, str | None], object]:
    """What ``make extract`` would put in the template: ``(msgid, context) -> full id``."""
    found: dict[tuple[str, str | None], object] = {}

    def add(message: object, context: str | None) -> None:
        key = (message[0] if isinstance(message, tuple) else message, context)
        found.setdefault(key, message)

    for name in SOURCE_DIRS:
        path = ROOT / name
        if path.is_dir():
            for _file, _line, message, _comments, context in extract_from_dir(
                path, METHOD_MAP, keywords=KEYWORDS, comment_tags=()
            ):
                add(message, context)
    for name in SOURCE_FILES:
        for _line, message, _comments, context in extract_from_file(
            "python", ROOT / name, keywords=KEYWORDS, comment_tags=()
        ):
            add(message, context)
    return found


def test_template_matches_the_code(template: Catalog) -> None:
    """Every msgid of the pot is used in the code, and every marked string in the code is in the pot."""
    in_code, in_pot = _extract_code(), _messages(template)
    stale = sorted(k[0] for k in in_pot.keys() - in_code.keys())
    new = sorted(k[0] for k in in_code.keys() - in_pot.keys())
    changed = sorted(k[0] for k in in_code.keys() & in_pot.keys() if tuple(_forms(in_code[k])) != tuple(_forms(in_pot[k])))
    assert not (stale or new or changed), (
        "content/locales/messages.pot is out of date with the code: run `make extract`, "
        "then translate the new entries in content/locales/en/LC_MESSAGES/messages.po.\n"
        f"in the pot but no longer in the code: {stale}\n"
        f"in the code but not in the pot: {new}\n"
        f"plural msgid changed: {changed}"
    )
