"""Translation and locale formatting. Indonesian is the source language of every message.

Handlers call ``_("Halo {name}", name=...)``: the catalogue of the language active in the current
context (set by the engine per message with :func:`use_locale`) translates, then the named
placeholders are filled. Catalogues live in ``content/locales/<lang>/LC_MESSAGES/messages.mo``.
"""
from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.numbers import format_decimal as _babel_format_decimal
from babel.support import Translations

from content import CONTENT_DIR

LOCALES_DIR = CONTENT_DIR / "locales"
DOMAIN = "messages"
SOURCE_LANGUAGE = "id"
LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
#: Languages without Babel locale data format dates and numbers like these.
FORMAT_FALLBACK = {"ban": "id", "jv": "id", "su": "id"}

_current: ContextVar[str] = ContextVar("locale", default=SOURCE_LANGUAGE)


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (Indonesian needs none: its msgids are the text)."""
    return Translations.load(str(LOCALES_DIR), [lang], DOMAIN)


def current_language() -> str:
    """The language of the message being handled."""
    return _current.get()


@contextmanager
def use_locale(lang: str) -> Iterator[None]:
    """Makes ``lang`` the language of ``_()`` inside the block."""
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def _(msgid: str, **values: object) -> str:
    """``msgid`` translated into the current language, with ``{named}`` placeholders filled."""
    text = translations(_current.get()).gettext(msgid)
    return text.format(**values) if values else text


def n_(singular: str, plural: str, n: int, **values: object) -> str:
    """The plural-aware translation; ``{n}`` is available as a placeholder."""
    text = translations(_current.get()).ngettext(singular, plural, n)
    return text.format(n=n, **values)


def N_(msgid: str) -> str:
    """Marks a string for extraction without translating it now."""
    return msgid


def format_locale(lang: str | None = None) -> Locale:
    """The Babel locale used to format dates and numbers for ``lang``."""
    lang = lang or _current.get()
    return Locale.parse(FORMAT_FALLBACK.get(lang, lang))


def format_date(value: date, fmt: str = "long") -> str:
    """A date for the current language, e.g. ``12 Maret 2024`` / ``12 March 2024``."""
    return _format_date_cached(value, fmt, _current.get())


@lru_cache(maxsize=8192)
def _format_date_cached(value: date, fmt: str, lang: str) -> str:
    """Babel's date formatting is slow; a district's reminders repeat the same few hundred dates."""
    pattern = {"long": "d MMMM y", "short": "d MMM y", "day": "EEEE, d MMMM y"}.get(fmt, fmt)
    return _babel_format_date(value, pattern, locale=format_locale(lang))


def format_number(value: float, digits: int = 1, *, fixed: bool = False) -> str:
    """A number for the current language (``7,2`` in Indonesian, ``7.2`` in English); ``fixed`` keeps zeros (``1,00``)."""
    fraction = ("0" if fixed else "#") * digits
    return _babel_format_decimal(value, format=f"#,##0.{fraction}" if digits else "#,##0", locale=format_locale())


def set_language(lang: str) -> None:
    """Switches the language of ``_()`` for the rest of the current ``use_locale`` block."""
    _current.set(lang)


def grouped(items: list[tuple[str, str]]) -> str:
    """``A, B – when; C – other; D``: labels sharing a "when" are listed together, in order.

    The "when" follows a dash, not brackets: a label may carry its own (``PCV 1 (pneumokokus)``), and
    ``PCV 1 (pneumokokus) (sampai 6 Sep)`` reads badly."""
    order: dict[str, list[str]] = {}
    for label, when in items:
        order.setdefault(when, []).append(label)
    return "; ".join(f"{', '.join(labels)} \u2013 {when}" if when else ", ".join(labels) for when, labels in order.items())
