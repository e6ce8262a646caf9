"""The main menu: where a person is when no other flow is running, by role (at most 10 choices, a WhatsApp
list's rows): a kader's work and, with a family of their own, the family's; staff's work and their family.

Right after ``/jadwal`` or ``/imunisasi`` it offers one more button in place of the view just shown:
*Tandai sudah* (mark an item as done) or *Isi/ubah imunisasi* (the Buku KIA doses).
"""
from __future__ import annotations

from care.stages import is_pregnant
from content.i18n import _
from db.queries import family_members
from handlers.flow import Answer, Ctx, Flow, Goto, Invalid, Next, Question, Step
from handlers.help import help_text
from handlers.history import open_immunization, open_mark


async def _has_pregnancy(ctx: Ctx) -> bool:
    """Whether a member of the family is pregnant today."""
    if ctx.identity.family_id is None:
        return False
    members = await family_members(ctx.session, ctx.identity.family_id)
    return any(is_pregnant(m.hpht, ctx.today, m.delivered_on) for m in members)


async def ask_main(ctx: Ctx) -> Question:
    if ctx.identity.role == "staff":  # their own family (or registering it) is one choice; the rest by command
        family = (_("Keluarga saya"), "family") if ctx.identity.family_id is not None else (_("Daftarkan keluarga"), "register")
        return Question(
            _("Apa yang ingin Bapak/Ibu lakukan?"),
            ((_("Laporan"), "report"), (_("Rujukan"), "referrals"), (_("Ekspor"), "export"), (_("Umumkan"), "broadcast"),
             (_("Status pengumuman"), "status"),
             (_("Jadwal posyandu"), "posyandu_days"),
             (_("Undang kader"), "invite"),
             family,
             (_("Ganti bahasa"), "language"), (_("Bantuan"), "help")),
        )
    kader = [(_("Catat kunjungan"), "visit"), (_("Sasaran bulan ini"), "targets"), (_("Rujukan"), "referrals"),
             (_("Tambah keluarga"), "register_other")] if ctx.identity.role == "kader" else []
    if ctx.identity.family_id is None:  # a kader's own family is "Keluarga saya", apart from the families they add
        own = (_("Keluarga saya"), "register") if kader else (_("Daftarkan keluarga"), "register")
        return Question(
            _("Apa yang ingin Bapak/Ibu lakukan?"),
            (*kader, own, (_("Ganti bahasa"), "language"), (_("Bantuan"), "help")),
        )
    choices = [*kader, (_("Jadwal"), "schedule"), (_("Imunisasi anak"), "immunization"), (_("Keluarga saya"), "family")]
    if not kader:  # a kader has /riwayat (and /riwayat K-XXXXXX); their menu stays within a WhatsApp list's 10 rows
        choices.append((_("Riwayat Buku KIA"), "history"))
    if await _has_pregnancy(ctx):
        choices.append((_("Catat kelahiran"), "birth"))
    offer = ctx.data.get("offer")  # right after /jadwal or /imunisasi: act on what was just shown
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
    if answer.choice in ("register", "family", "birth", "language", "schedule", "immunization", "visit", "register_other", "targets", "broadcast", "status", "invite", "posyandu_days", "report", "export", "referrals", "history"):
        return Goto(answer.choice)
    raise Invalid(_("Maaf, saya tidak mengerti. Pilih dari menu di bawah, atau ketik bantuan."))


MENU = Flow(name="menu", first="main", steps={"main": Step(ask_main, on_main)})
