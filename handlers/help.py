"""What the bot says about itself: help for where a person is and the commands of the roles they hold
(family, kader, puskesmas staff; a kader with a family of their own gets both), the ``catat`` cheat sheet
for kaders (``bantuan catat``), what cancelling means, and the command menu a channel shows (Telegram's "/"
menu), by role and in the current language."""
from __future__ import annotations

from content.i18n import N_, _
from handlers.flow import REGISTRY, Ctx, for_role

#: Commands of a channel's command menu that open no flow: (command, description msgid), after the
#: flows' own lines (``Flow.help_line``) of the role.
EXTRA_MENU: dict[str, tuple[tuple[str, str], ...]] = {
    "family": (("bahasa", N_("Ganti bahasa")), ("bantuan", N_("Bantuan"))),
    "kader": (("urung", N_("Batalkan catatan terakhir (30 menit)")),),
    "staff": (),
}
#: The roles with work of their own (their commands come before the family's).
WORK_ROLES = ("kader", "staff")
#: The order of the command menu where it is not the flow table's (the main menu's): flow names; a flow
#: not named here follows those named, in the table's order.
COMMAND_ORDER = ("visit", "targets", "report", "export", "register_import", "referrals", "schedule", "immunization", "history", "family")


def _menu_of(role: str) -> tuple[tuple[str, str], ...]:
    """(command, description msgid) of one role's part of the command menu: the flows' help lines, then the
    commands that open no flow."""
    lines = []
    ranked = sorted(REGISTRY.values(), key=lambda f: COMMAND_ORDER.index(f.name) if f.name in COMMAND_ORDER else len(COMMAND_ORDER))
    for flow in ranked:
        own = ("family" in flow.roles) if role == "family" else (role in flow.roles and "family" not in flow.roles)
        line = for_role(flow.help_line, role)
        if own and line and flow.commands:
            lines.append((flow.commands[0], line))
    return (*lines, *EXTRA_MENU.get(role, ()))


def command_menu(role: str = "family") -> tuple[tuple[str, str], ...]:
    """(command, description) of a channel's command menu for a person of ``role`` (family, kader: the
    kader's and the family's, staff: the staff's and the family's), in the current language."""
    work = _menu_of(role) if role in WORK_ROLES else ()
    return tuple((command, _(description)) for command, description in (*work, *_menu_of("family")))


def roles_of(ctx: Ctx) -> tuple[str, ...]:
    """The roles whose commands the person has: family (a family of their own, or no other role), kader, staff."""
    identity = ctx.identity
    work = (identity.role,) if identity.role in WORK_ROLES else ()
    return (*(("family",) if identity.family_id is not None or not work else ()), *work)


def _family_text() -> str:
    return _(
        "Untuk keluarga:\n"
        "/jadwal - jadwal posyandu dan layanan\n"
        "/imunisasi - imunisasi anak\n"
        "/riwayat - catat yang sudah diterima (Buku KIA)\n"
        "/keluarga - anggota keluarga\n"
        "/pengingat - pengingat: contoh dan jam kirim\n"
        "/lahir - catat kelahiran\n"
        "/grafik - grafik pertumbuhan anak\n"
        "/berhenti - hentikan pengingat, /mulai - aktifkan lagi\n"
        "/hapus - hapus semua data"
    )


def _kader_text() -> str:
    return _(
        "Untuk kader:\n"
        "/kunjungan - catat kunjungan, langkah demi langkah\n"
        "catat K-XXXXXX ... - kunjungan dalam satu baris (contoh: bantuan catat)\n"
        "/sasaran - sasaran kunjungan rumah\n"
        "/rujukan - rujukan yang perlu ditindaklanjuti\n"
        "/riwayat K-XXXXXX - riwayat Buku KIA satu keluarga\n"
        "/keluarga K-XXXXXX - anggota satu keluarga\n"
        "/daftarkan - daftarkan keluarga lain\n"
        "/urung - batalkan catatan terakhir (30 menit)"
    )


def _staff_text() -> str:
    return _(
        "Untuk petugas puskesmas:\n"
        "/laporan - laporan cakupan\n"
        "/ekspor - ekspor data (CSV/XLSX)\n"
        "/rujukan - rujukan di wilayah puskesmas\n"
        "/umumkan - kirim pengumuman\n"
        "/status - status pengumuman\n"
        "/jadwalposyandu - ubah jadwal posyandu\n"
        "/undang - undang kader"
    ) + "\n" + _("/impor - impor data sasaran dari CSV/XLSX") + "\n" + _("/satusehat - pengiriman data ke SATUSEHAT")


_SECTIONS = {"family": _family_text, "kader": _kader_text, "staff": _staff_text}


def commands_text(ctx: Ctx | None = None) -> str:
    """The commands of the person's roles, a section per role (the family's alone without ``ctx``), then
    the commands everyone has."""
    roles = roles_of(ctx) if ctx is not None else ("family",)
    sections = [_SECTIONS[role]() for role in roles]
    if "family" not in roles:
        sections.append(_("/daftar - daftarkan keluarga Bapak/Ibu sendiri"))
    sections.append(_("/bahasa - ganti bahasa\nbatal - batalkan langkah ini"))
    return "\n\n".join(sections)


def catat_text() -> str:
    """The kader's cheat sheet of ``catat``: one visit in one line, and its keywords."""
    return _(
        "catat: satu kunjungan dalam satu baris.\n"
        "Contoh: catat K-7QX2MA anak1 bb 8,2 tb 71 imun dpt2 pcv2\n"
        "Siapa: anak1, anak2 (dari yang tertua), ibu, atau nama\n"
        "bb berat (kg) · tb tinggi / pb panjang badan (cm)\n"
        "lk lingkar kepala · lila lingkar lengan · lp lingkar perut (cm)\n"
        "td tekanan darah 120/80 · gd gula darah (mg/dl)\n"
        "imun dpt2 pcv2 (hari lain: imun dpt1 12-10-2026)\n"
        "vita vitamin A · oc obat cacing · sdidtk tumbuh kembang\n"
        "kn1-kn3 kunjungan neonatal · kf1-kf4 kunjungan nifas\n"
        "ttd 30 tablet tambah darah · anc 3 pemeriksaan hamil ke-3\n"
        "skilas normal / positif (skrining lansia)\n"
        "bahaya ... tanda bahaya · catatan ... (di akhir baris)\n"
        "Salah catat? /urung dalam 30 menit."
    )


def help_text(ctx: Ctx) -> str:
    """Help for where the person is now, then the commands of their roles."""
    if ctx.identity.consent != "given":
        return _("Saya asisten posyandu. Sebelum mulai, saya perlu persetujuan Bapak/Ibu untuk menyimpan data keluarga.") + "\n" + _(
            "Kader dan petugas puskesmas: kirim /kader atau /staf dengan kode undangan.")
    if ctx.state.flow not in (None, "menu"):
        return _("Jawab pertanyaan di bawah, atau ketik batal untuk kembali ke menu.") + "\n\n" + commands_text(ctx)
    return commands_text(ctx)


async def catat_help(ctx: Ctx, args: str = "") -> None:
    """``bantuan catat``: the cheat sheet for a kader; who may use ``catat`` for anyone else."""
    if ctx.identity.role == "kader":
        ctx.note(catat_text())
    else:
        ctx.note(_("Hanya kader yang dapat mencatat kunjungan. Kader bergabung dengan /kader <kode undangan>."))
    return None


def cancelled_text(ctx: Ctx) -> str:
    """What cancelling the current flow means for what was already typed."""
    if ctx.state.flow == "family" and ctx.data.get("mode") == "register":
        return _("Dibatalkan. Anggota yang sudah tersimpan tetap ada; lanjutkan kapan saja dengan /keluarga.")
    if ctx.state.flow == "register_import" and ctx.data.get("job"):
        return _("Kembali ke menu. File yang sudah dikirim tetap diproses dan laporannya dikirim ke sini; tanpa "
                 "Terapkan tidak ada data yang disimpan.")
    return _("Dibatalkan.")
