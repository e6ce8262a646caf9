"""Switching language (``/bahasa``) from anywhere; the interrupted step continues after it. A kader's or
staff member's own command menu (set with their role) is set again in the new language."""
from __future__ import annotations

from content.i18n import LANGUAGES, N_, _, set_language
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.help import command_menu
from handlers.parsing import normalize

_ALIASES = {
    "id": "id", "indonesia": "id", "bahasa indonesia": "id", "indonesian": "id", "ind": "id", "indo": "id",
    "bhs indonesia": "id", "b indonesia": "id", "bahasa": "id", "indonesian language": "id",
    "en": "en", "english": "en", "inggris": "en", "bahasa inggris": "en", "eng": "en", "bhs inggris": "en",
    "b inggris": "en", "inggeris": "en", "english language": "en",
}


def language_choices(available: tuple[str, ...] = tuple(LANGUAGES)) -> tuple[tuple[str, str], ...]:
    """One choice per available language, each named in its own language."""
    return tuple((name, code) for code, name in LANGUAGES.items() if code in available)


def language_from_text(text: str, available: tuple[str, ...]) -> str | None:
    """The language code a typed word names (``en``, ``English``, ``indonesia``), if available."""
    code = _ALIASES.get(" ".join(normalize(text).replace(".", " ").split()).strip(" !"))
    return code if code in available else None


def switch_language(ctx: Ctx, code: str) -> None:
    """Makes ``code`` the person's language for this turn and after; a kader or staff member whose
    language changes gets their chat's command menu again in it (a family's menu is the default one of
    each language: nothing to set)."""
    changed = code != ctx.identity.language
    ctx.identity.language = code
    set_language(code)
    if changed and ctx.identity.role in ("kader", "staff"):
        ctx.commands = command_menu(ctx.identity.role)


async def ask_pick(ctx: Ctx) -> Question:
    return Question(_("Pilih bahasa:"), language_choices(ctx.settings.locale.available))


async def on_pick(ctx: Ctx, answer: Answer) -> Next:
    """Stores the chosen language; returns to where the person was."""
    code = answer.choice or language_from_text(answer.text, ctx.settings.locale.available)
    if code not in LANGUAGES or code not in ctx.settings.locale.available:
        raise Invalid(_("Mohon pilih salah satu bahasa."))
    switch_language(ctx, code)
    ctx.note(_("Bahasa diganti ke {language}.", language=LANGUAGES[code]))
    return END


#: ``/bahasa`` and ``/language`` are the engine's own (``handlers.words``): they switch at once with a language named.
LANGUAGE = Flow(name="language", first="pick", steps={"pick": Step(ask_pick, on_pick)}, menu_label=N_("Ganti bahasa"))
