"""The sentence of each SATUSEHAT problem (:class:`satusehat.rules.Problem`), in the current language
(``content.i18n``; Indonesian is the source). Staff read them: the export's list, later ``/satusehat``."""
from __future__ import annotations

from collections.abc import Callable

from content.i18n import _
from satusehat.rules import Problem

MESSAGES: dict[str, Callable[[Problem], str]] = {
    "no_nik": lambda p: _("Belum ada NIK: tidak bisa dicari di SATUSEHAT. Catat NIK-nya dulu."),
    "nik_not_16_digits": lambda p: _("NIK tidak 16 angka: perbaiki NIK-nya."),
    "no_location": lambda p: _("Posyandu {posyandu} belum punya ID Location SATUSEHAT (pengaturan satusehat.locations).",
                               posyandu=p.params.get("posyandu", "")),
    "no_code": lambda p: _("Jenis pengukuran {kind} belum punya kode (content/satusehat/measurements.csv).",
                           kind=p.params.get("kind", "")),
    "no_value": lambda p: _("Pengukuran {kind} tanpa nilai.", kind=p.params.get("kind", "")),
    "no_vaccine": lambda p: _("Dosis {dose} belum punya kode vaksin (content/satusehat/vaccines.csv).",
                              dose=p.params.get("dose", "")),
    "no_encounter": lambda p: _("Kunjungan {visit} tidak terkirim, jadi imunisasi yang diberikan saat itu juga tertahan.",
                                visit=p.params.get("visit", "")),
    "patient_unknown": lambda p: _("NIK ini belum dikenal SATUSEHAT: periksa NIK-nya; dicoba lagi besok."),
    "encounter_not_sent": lambda p: _("Menunggu kunjungannya terkirim dulu."),
    "deleted": lambda p: _("Catatannya sudah dihapus."),
    "refused": lambda p: _("Ditolak SATUSEHAT."),
    "busy": lambda p: _("SATUSEHAT sedang sibuk atau tidak terjangkau: dicoba lagi nanti."),
    "invalid_fhir": lambda p: _("Tidak sah menurut FHIR R4: {error}", error=p.params.get("error", "")),
    "no_identifier": lambda p: _("Tidak ada identifier."),
    "identifier_system": lambda p: _("Sistem identifier harus {wanted}, bukan {found}.",
                                     wanted=p.params.get("wanted", ""), found=p.params.get("found", "")),
    "time_format": lambda p: _("Waktu {element} tidak terbaca: {value}.", element=p.params.get("element", ""),
                               value=p.params.get("value", "")),
    "time_not_utc": lambda p: _("Waktu {element} harus UTC (+00:00): {value}.", element=p.params.get("element", ""),
                                value=p.params.get("value", "")),
    "date_too_early": lambda p: _("Tanggal {element} sebelum 3 Juni 2014 ditolak SATUSEHAT: {value}.",
                                  element=p.params.get("element", ""), value=p.params.get("value", "")),
    "missing": lambda p: _("{element} wajib diisi.", element=p.params.get("element", "")),
    "bad_patient": lambda p: _("Pasien harus Patient/<nomor IHS> atau NIK 16 angka."),
    "status_history": lambda p: _("Riwayat status kunjungan kurang: {missing}.", missing=p.params.get("missing", "")),
    "no_unit": lambda p: _("Nilai tanpa satuan UCUM."),
    "no_vaccine_group": lambda p: _("Kode kelompok vaksin (VG) dan kode CVX wajib ada."),
    "no_kfa_product": lambda p: _("Kode produk vaksin KFA (93xxxxxx) belum diketahui untuk dosis ini."),
    "no_report_origin": lambda p: _("Riwayat imunisasi perlu sumber laporan (reportOrigin)."),
    "no_lot": lambda p: _("Imunisasi yang diberikan petugas perlu nomor batch dan tanggal kedaluwarsa vaksin."),
    "no_reason": lambda p: _("Alasan imunisasi (immunization-reason) wajib ada."),
    "no_timing": lambda p: _("Imunisasi rutin perlu waktu pemberian (ideal atau kejar): tanggal lahir atau tanggal dosis belum diketahui."),
}


def message(problem: Problem) -> str:
    """The sentence of ``problem``; its code when no sentence is known (never an exception)."""
    wording = MESSAGES.get(problem.code)
    return wording(problem) if wording else problem.code
