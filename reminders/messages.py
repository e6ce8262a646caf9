"""The words of a family's daily reminder: one message that names every member's items.

Each item is its plain name and when, after a dash (``DPT-HB-Hib 1 – sampai 5 Jan``): a dose to
repeat says "perlu diulang", a late dose "terlambat, masih bisa dikejar" (with the last day it can be
given), a late service "terlambat"."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from care.labels import DOSE_LABELS, SERVICE_LABELS
from content.i18n import _, current_language, format_date, grouped, use_locale
from reminders.rules import Item


_LABELS: dict[tuple[str, str, str], str] = {}
#: (language, today, kind, subject, overdue, latest) -> (label, when): a district's items repeat a few
#: thousand of these, and the words of one (Babel's dates, the catalogue) cost more than a message's rest
_WORDS: dict[tuple, tuple[str, str]] = {}
_WORDS_LIMIT = 50_000
#: (language, date, with the year) -> the date in words: the last days of a district's windows span
#: years of births, more dates than ``format_date``'s own cache keeps
_ENDS: dict[tuple[str, date, bool], str] = {}


def _item_label(item: Item) -> str:
    """The dose or service name of an item in the current language (remembered per language)."""
    key = (current_language(), item.kind, item.subject)
    label = _LABELS.get(key)
    if label is None:
        label = _LABELS[key] = _make_label(item)
    return label


def _make_label(item: Item) -> str:
    """The dose or service name of an item, translated now."""
    code = item.subject.split(":", 1)[0]
    if item.kind == "dose":
        return _(DOSE_LABELS.get(code, code))
    return _(SERVICE_LABELS.get(code, code))


def _words(item: Item, today: date, lang: str) -> tuple[str, str]:
    """An item's label and when, in the current language ``lang`` (remembered: see ``_WORDS``)."""
    key = (lang, today, item.kind, item.subject, item.overdue, item.latest)
    words = _WORDS.get(key)
    if words is None:
        if len(_WORDS) >= _WORDS_LIMIT:
            _WORDS.clear()
        words = _WORDS[key] = (_item_label(item), _when(item, today))
    return words


def _when(item: Item, today: date) -> str:
    """When an item is due, in words: ``sampai 5 Jan``, ``terlambat``, ``perlu diulang, sampai 5 Jan``,
    ``terlambat, masih bisa dikejar sampai 5 Jan``."""
    end = None
    if item.latest is not None:
        key = (current_language(), item.latest, item.latest.year != today.year)
        end = _ENDS.get(key)
        if end is None:
            if len(_ENDS) >= _WORDS_LIMIT:
                _ENDS.clear()
            end = _ENDS[key] = format_date(item.latest, "d MMM y" if key[2] else "d MMM")
    if item.kind == "dose" and item.subject.endswith(":again"):  # given too early or too soon: give it again
        return _("perlu diulang, sampai {end}", end=end) if end else _("perlu diulang")
    if item.overdue and item.kind == "dose":  # a catch-up dose: late, still worth giving
        return _("terlambat, masih bisa dikejar sampai {end}", end=end) if end else _("terlambat, masih bisa dikejar")
    if item.overdue:
        return _("terlambat")
    if end is not None:
        return _("sampai {end}", end=end)
    return _("sekarang")


def daily_text(family_name: str, posyandu_name: str, items: Sequence[Item], today: date, lang: str) -> str:
    """The daily reminder for a family in ``lang``: the posyandu day, then each member's items."""
    with use_locale(lang):
        lines = [_("Pengingat untuk keluarga {name}:", name=family_name)]
        members: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}
        for item in items:
            if item.kind == "posyandu":
                if item.due_on == today:
                    lines.append("\u2022 " + _("Hari ini hari posyandu di {posyandu}. Bawa buku KIA.", posyandu=posyandu_name))
                else:
                    lines.append("\u2022 " + _("{day} hari posyandu di {posyandu}. Bawa buku KIA.", day=_day_words(item.due_on, today), posyandu=posyandu_name))
                continue
            doses, services = members.setdefault(item.person_name or "", ([], []))
            (doses if item.kind == "dose" else services).append(_words(item, today, lang))
        for name, (doses, services) in members.items():
            parts = [_("imunisasi {doses}", doses=grouped(doses))] if doses else []
            parts += [grouped(services)] if services else []
            lines.append(f"\u2022 {name}: " + "; ".join(parts))
        lines.append(_("Detail: /jadwal. Berhenti menerima pengingat: /berhenti."))
        return "\n".join(lines)


def _day_words(day: date, today: date) -> str:
    """``Besok (Sabtu, 5 Desember)`` or the date itself."""
    if (day - today).days == 1:
        return _("Besok ({date})", date=format_date(day, "EEEE, d MMMM"))
    return format_date(day, "EEEE, d MMMM y")
