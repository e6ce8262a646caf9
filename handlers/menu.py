"""The main menu: where a person is when no other flow is running, by role (at most 10 choices, a WhatsApp
list's rows): a kader's work and, with a family of their own, the family's; staff's work and their family.
The buttons are the flows' own (``Flow.menu_label``, ``Flow.menu_when``), in the order of the flow table.

Right after ``/jadwal`` or ``/imunisasi`` it offers one more button in place of the view just shown:
*Tandai sudah* (mark an item as done) or *Isi/ubah imunisasi* (the Buku KIA doses).
"""
from __future__ import annotations

from content.i18n import _
from handlers.flow import REGISTRY, Answer, Ctx, Flow, Goto, Invalid, Next, Question, Step, for_role
from handlers.help import help_text
from handlers.history import open_immunization, open_mark


def _work(flow: Flow) -> bool:
    """A flow of a kader's or staff's work (not a family's)."""
    return "family" not in flow.roles


def _candidates(role: str) -> tuple[tuple[str, Flow], ...]:
    """The flows that may show in a ``role``'s menu, with their label's msgid, in the flow table's order
    (worked out once per role and flow table: the menu is asked on most turns)."""
    key = (role, len(REGISTRY))
    found = _CANDIDATES.get(key)
    if found is None:
        found = _CANDIDATES[key] = tuple(
            (label, flow) for flow in REGISTRY.values()
            if (label := for_role(flow.menu_label, role)) and flow.name != "language"
            and not (_work(flow) and role not in flow.roles)
        )
    return found


_CANDIDATES: dict[tuple[str, int], tuple[tuple[str, Flow], ...]] = {}


async def ask_main(ctx: Ctx) -> Question:
    """The buttons of the flows with a menu label, in the flow table's order: the work of the person's role,
    then their family's (as each flow's ``menu_when`` says), then the language and help."""
    role = ctx.identity.role
    choices = []
    for label, flow in _candidates(role):
        if flow.menu_when is None or await flow.menu_when(ctx):
            choices.append((_(label), flow.name))
    offer = ctx.data.get("offer")  # right after /jadwal or /imunisasi: act on what was just shown
    if role != "staff" and ctx.identity.family_id is not None:
        if offer == "mark":
            choices = [(_("Tandai sudah"), "mark"), *(c for c in choices if c[1] != "schedule")]
        elif offer == "immunization":
            choices = [(_("Isi/ubah imunisasi"), "immunization_edit"), *(c for c in choices if c[1] != "immunization")]
    choices += [(_("Ganti bahasa"), "language"), (_("Bantuan"), "help")]
    return Question(_("Apa yang ingin Bapak/Ibu lakukan?"), tuple(choices))


async def on_main(ctx: Ctx, answer: Answer) -> Next:
    """Stores nothing; opens the chosen flow."""
    if answer.choice == "mark" and ctx.data.get("offer") == "mark":
        return await open_mark(ctx)
    if answer.choice == "immunization_edit" and ctx.data.get("offer") == "immunization":
        return await open_immunization(ctx)
    if answer.choice == "help":
        ctx.note(help_text(ctx))
        return "main"
    chosen = REGISTRY.get(answer.choice or "")
    if chosen is not None and chosen.menu_label:
        return Goto(chosen.name)
    raise Invalid(_("Maaf, saya tidak mengerti. Pilih dari menu di bawah, atau ketik bantuan."))


MENU = Flow(name="menu", first="main", steps={"main": Step(ask_main, on_main)})
