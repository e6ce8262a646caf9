"""The words of a family's daily reminder: one message that names every member's items."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from care.schedule import DOSE_LABELS, SERVICE_LABELS
from content.i18n import _, current_language, format_date, grouped, use_locale
from reminders.rules import Item


_LABELS: dict[tuple[str, str, str], str] = {}


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
        label = _(DOSE_LABELS.get(code, code))
        return _("{dose} (ulang)", dose=label) if item.subject.endswith(":again") else label
    return _(SERVICE_LABELS.get(code, code))


def _when(item: Item, today: date) -> str:
    """``terlambat`` or ``sampai 5 Jan`` for an item."""
    if item.overdue:
        return _("terlambat")
    if item.latest is not None:
        return _("sampai {end}", end=format_date(item.latest, "d MMM y" if item.latest.year != today.year else "d MMM"))
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
            (doses if item.kind == "dose" else services).append((_item_label(item), _when(item, today)))
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
