"""The sentence of each problem, in the current language (``content.i18n``; Indonesian is the source).

:data:`MESSAGES` maps a problem code to a function of the problem that returns its sentence; other
modules add their own codes (``MESSAGES.update(...)`` or :func:`register`), so one :func:`message`
words every problem of an import. A sentence says what is wrong and, where it helps, how to fix it;
where the problem is (sheet, row, column) is said by whoever lists the problems, not here.
"""
from __future__ import annotations

from collections.abc import Callable

from content.i18n import _
from registers.model import Problem

Wording = Callable[[Problem], str]


def _column(problem: Problem, default: str = "NIK") -> str:
    return problem.column or default


def _value(problem: Problem) -> str:
    return problem.value or ""


MESSAGES: dict[str, Wording] = {
    # the file
    "file_too_big": lambda p: _("File terlalu besar ({size} MB). Batasnya {limit} MB: bagi menjadi beberapa file.",
                                size=p.params.get("size_mb", ""), limit=p.params.get("limit_mb", "")),
    "file_empty": lambda p: _("File kosong."),
    "file_type": lambda p: _("File ini bukan CSV atau Excel (.xlsx). Simpan sebagai .xlsx atau .csv lalu kirim lagi."),
    "file_xls": lambda p: _("File ini format Excel lama (.xls). Buka di Excel, simpan sebagai .xlsx, lalu kirim lagi."),
    "file_encrypted": lambda p: _("File Excel ini dilindungi kata sandi. Buka, hapus kata sandinya, simpan, lalu kirim lagi."),
    "file_broken": lambda p: _("File rusak atau tidak bisa dibuka. Simpan ulang dari Excel lalu kirim lagi."),
    "file_formulas": lambda p: _("Sheet {sheet} berisi rumus tanpa nilai (mulai sel {cell}). Buka di Excel, simpan, "
                                 "lalu kirim lagi; atau salin lalu tempel sebagai nilai.",
                                 sheet=p.sheet or "", cell=p.params.get("cell", "")),
    "file_no_header": lambda p: _("Tidak ada baris judul kolom yang dikenali (misalnya NIK, Nama, Tanggal Lahir). "
                                  "Pakai judul kolom seperti di template impor."),
    # sheets and columns
    "sheet_ignored": lambda p: _("Sheet {sheet} dilewati: judul kolomnya tidak dikenali.", sheet=p.sheet or ""),
    "columns_ignored": lambda p: _("Kolom tidak dikenali, dilewati: {columns}.", columns=p.params.get("columns", "")),
    # cells
    "nik_length": lambda p: _("{column} harus 16 angka ({value}).", column=_column(p), value=_value(p)),
    "nik_number_lost": lambda p: _("{column} tersimpan sebagai angka oleh Excel ({value}): angka terakhirnya hilang. "
                                   "Format kolom {column} sebagai Teks lalu isi lagi.",
                                   column=_column(p), value=_value(p)),
    "nik_region": lambda p: _("{column} {value}: kode wilayah {district} tidak dikenal.",
                              column=_column(p), value=_value(p), district=p.params.get("district", "")),
    "nik_date": lambda p: _("{column} {value}: bagian tanggal lahirnya ({date}) bukan tanggal.",
                            column=_column(p), value=_value(p), date=p.params.get("nik_date", "")),
    "nik_birth_date": lambda p: _("{column} {value}: tanggal di NIK ({date}) tidak sama dengan tanggal lahir.",
                                  column=_column(p), value=_value(p), date=p.params.get("nik_date", "")),
    "nik_sex": lambda p: _("{column} {value}: jenis kelamin di NIK tidak sama dengan jenis kelamin.",
                           column=_column(p), value=_value(p)),
    "number_lost": lambda p: _("{column} tersimpan sebagai angka oleh Excel ({value}). Format kolomnya sebagai Teks "
                               "lalu isi lagi.", column=_column(p, ""), value=_value(p)),
    "date_format": lambda p: _("Tanggal tidak terbaca ({value}). Contoh: 12-05-2023.", value=_value(p)),
    "date_no_such_day": lambda p: _("Tanggal tidak ada di kalender ({value}).", value=_value(p)),
    "date_future": lambda p: _("Tanggal belum lewat ({value}).", value=_value(p)),
    "before_birth": lambda p: _("Tanggal sebelum tanggal lahir ({value}).", value=_value(p)),
    "number_format": lambda p: _("Angka tidak terbaca ({value}). Contoh: 7,2.", value=_value(p)),
    "number_range": lambda p: _("Angka di luar batas wajar {low} sampai {high} ({value}).", value=_value(p),
                                low=p.params.get("low", ""), high=p.params.get("high", "")),
    "birth_weight": lambda p: _("Berat lahir tidak terbaca ({value}). Contoh: 3200 (gram) atau 3,2 (kg).",
                                value=_value(p)),
    "sex": lambda p: _("Jenis kelamin tidak terbaca ({value}). Isi L atau P.", value=_value(p)),
    "phone": lambda p: _("Nomor HP tidak terbaca ({value}). Contoh: 081234567890.", value=_value(p)),
    "rt_rw": lambda p: _("RT/RW tidak terbaca ({value}). Contoh: 001/002.", value=_value(p)),
    "village_code": lambda p: _("Kode desa tidak terbaca ({value}). Contoh: 51.08.01.2001.", value=_value(p)),
    "position": lambda p: _("Cara ukur tidak terbaca ({value}). Isi L (berbaring) atau H (berdiri).", value=_value(p)),
    "name": lambda p: _("Nama tidak terbaca ({value}).", value=_value(p)),
    # rows
    "no_identity": lambda p: _("Baris tanpa NIK, dan tanpa nama dengan tanggal lahir: orangnya tidak bisa dikenali."),
    "name_missing": lambda p: _("Nama kosong."),
    "measure_date_missing": lambda p: _("Tanggal ukur kosong."),
}


def register(code: str, wording: Wording) -> None:
    """Adds the sentence of a problem code (another module's own codes); a code is worded once."""
    if code in MESSAGES and MESSAGES[code] is not wording:
        raise ValueError(f"problem code {code!r} already has a message")
    MESSAGES[code] = wording


def message(problem: Problem) -> str:
    """The sentence of ``problem`` in the current language; an unknown code gives a general sentence
    naming the code (never an exception)."""
    wording = MESSAGES.get(problem.code)
    if wording is None:
        return _("Masalah pada data ({code}).", code=problem.code)
    return wording(problem)
