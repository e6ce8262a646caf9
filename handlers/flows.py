"""The table of every flow, and the texts shared by the global words."""
from __future__ import annotations

from content.i18n import _
from handlers.birth import BIRTH
from handlers.care_views import IMMUNIZATION, SCHEDULE
from handlers.chart_view import CHART
from handlers.kader import join_as_kader, join_family
from handlers.reminder_settings import REMINDER_SETTINGS
from handlers.visit import VISIT, undo_last_visit
from handlers.erase import ERASE
from handlers.family import FAMILY
from handlers.flow import Ctx, Flow
from handlers.history import HISTORY
from handlers.language import LANGUAGE, LANGUAGE_NAMES, language_from_text
from handlers.menu import MENU
from handlers.posyandu_days import POSYANDU_DAYS
from handlers.referrals import REFERRALS
from handlers.register import REGISTER, REGISTER_OTHER
from handlers.report import EXPORT, REPORT
from handlers.staff import BROADCAST, INVITE, STATUS, join_as_staff
from handlers.start import START
from handlers.targets import TARGETS

FLOWS: dict[str, Flow] = {
    flow.name: flow for flow in (START, MENU, REGISTER, FAMILY, BIRTH, ERASE, LANGUAGE, SCHEDULE, IMMUNIZATION, REMINDER_SETTINGS, VISIT, REGISTER_OTHER, TARGETS, CHART, INVITE, BROADCAST, STATUS, POSYANDU_DAYS, REPORT, EXPORT, HISTORY, REFERRALS)
}

#: Commands that act at once and then return to the question the person was at.
INSTANT = {"kader_join": join_as_kader, "staff_join": join_as_staff, "family_join": join_family, "undo": undo_last_visit}

__all__ = ["FLOWS", "LANGUAGE_NAMES", "language_from_text", "help_text", "commands_text", "cancelled_text"]


def commands_text() -> str:
    """The list of commands, one per line."""
    return _(
        "Perintah:\n"
        "/jadwal - jadwal posyandu dan layanan\n"
        "/imunisasi - imunisasi anak\n"
        "/riwayat - catat yang sudah diterima (Buku KIA)\n"
        "/keluarga - anggota keluarga\n"
        "/pengingat - pengingat: contoh dan jam kirim\n"
        "/lahir - catat kelahiran\n"
        "/bahasa - ganti bahasa\n"
        "/berhenti - hentikan pengingat, /mulai - aktifkan lagi\n"
        "/hapus - hapus semua data\n"
        "batal - batalkan langkah ini"
    )


def help_text(ctx: Ctx) -> str:
    """Help for where the person is now, then the commands."""
    if ctx.identity.consent != "given":
        return _("Saya asisten posyandu. Sebelum mulai, saya perlu persetujuan Anda untuk menyimpan data keluarga.")
    if ctx.state.flow not in (None, "menu"):
        return _("Jawab pertanyaan di bawah, atau ketik batal untuk kembali ke menu.") + "\n\n" + commands_text()
    return commands_text()


def cancelled_text(ctx: Ctx) -> str:
    """What cancelling the current flow means for what was already typed."""
    if ctx.state.flow == "family" and ctx.data.get("mode") == "register":
        return _("Dibatalkan. Anggota yang sudah tersimpan tetap ada; lanjutkan kapan saja dengan /keluarga.")
    return _("Dibatalkan.")
