"""What the bot says about itself: help for where a person is, the commands, what cancelling means,
and the command menu a channel shows (Telegram's "/" menu), by role and in the current language."""
from __future__ import annotations

from content.i18n import N_, _
from handlers.flow import Ctx

#: The family's commands for a channel's command menu: (command, description msgid).
FAMILY_MENU: tuple[tuple[str, str], ...] = (
    ("jadwal", N_("Jadwal posyandu dan layanan")),
    ("imunisasi", N_("Imunisasi anak")),
    ("riwayat", N_("Catat yang sudah diterima (Buku KIA)")),
    ("keluarga", N_("Anggota keluarga")),
    ("pengingat", N_("Pengingat: contoh dan jam kirim")),
    ("lahir", N_("Catat kelahiran")),
    ("bahasa", N_("Ganti bahasa")),
    ("bantuan", N_("Bantuan")),
)


def command_menu(role: str = "family") -> tuple[tuple[str, str], ...]:
    """(command, description) of a channel's command menu for a person of ``role``, in the current language."""
    return tuple((command, _(description)) for command, description in FAMILY_MENU)


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
