"""The labels of the care codes: doses, BIAS and Td steps, services, records and states.

Each label is a message id of the catalogue (content/locales), marked with :func:`N_` and translated
at display time. Every code of content/care has one; :mod:`care.rules_file` refuses a code without.
"""
from __future__ import annotations


def N_(s: str) -> str:
    """Mark ``s`` as a message id for the catalogue; translation happens at display time."""
    return s


DOSE_LABELS: dict[str, str] = {
    "HB0": N_("Hepatitis B 0 (HB0)"),
    "BCG": N_("BCG"),
    "OPV1": N_("Polio tetes 1"),
    "OPV2": N_("Polio tetes 2"),
    "OPV3": N_("Polio tetes 3"),
    "OPV4": N_("Polio tetes 4"),
    "DPT_HB_HIB1": N_("DPT-HB-Hib 1"),
    "DPT_HB_HIB2": N_("DPT-HB-Hib 2"),
    "DPT_HB_HIB3": N_("DPT-HB-Hib 3"),
    "DPT_HB_HIB4": N_("DPT-HB-Hib 4 (lanjutan)"),
    "PCV1": N_("PCV 1 (pneumokokus)"),
    "PCV2": N_("PCV 2 (pneumokokus)"),
    "PCV3": N_("PCV 3 (pneumokokus)"),
    "RV1": N_("Rotavirus 1"),
    "RV2": N_("Rotavirus 2"),
    "RV3": N_("Rotavirus 3"),
    "IPV1": N_("Polio suntik 1 (IPV)"),
    "IPV2": N_("Polio suntik 2 (IPV)"),
    "MR1": N_("Campak-Rubela 1 (MR)"),
    "MR2": N_("Campak-Rubela 2 (MR lanjutan)"),
    "JE": N_("Japanese Encephalitis (JE)"),
}

BIAS_LABELS: dict[str, str] = {
    "BIAS_MR": N_("BIAS Campak-Rubela (MR) kelas 1"),
    "BIAS_DT": N_("BIAS DT kelas 1"),
    "BIAS_TD2": N_("BIAS Td kelas 2"),
    "BIAS_TD5": N_("BIAS Td kelas 5"),
    "BIAS_HPV1": N_("BIAS HPV kelas 5"),
    "BIAS_HPV2": N_("BIAS HPV kelas 6"),
    "HPV_KEJAR": N_("HPV kejar usia 15 tahun"),
}

TD_LABELS: dict[str, str] = {
    "T1": N_("Status T1"),
    "T2": N_("Status T2"),
    "T3": N_("Status T3"),
    "T4": N_("Status T4"),
    "T5": N_("Status T5"),
}

SERVICE_LABELS: dict[str, str] = {
    "ANC1": N_("Pemeriksaan kehamilan ke-1 (trimester 1, dokter dan USG)"),
    "ANC2": N_("Pemeriksaan kehamilan ke-2 (trimester 2)"),
    "ANC3": N_("Pemeriksaan kehamilan ke-3 (trimester 2)"),
    "ANC4": N_("Pemeriksaan kehamilan ke-4 (trimester 3)"),
    "ANC5": N_("Pemeriksaan kehamilan ke-5 (trimester 3, dokter dan USG)"),
    "ANC6": N_("Pemeriksaan kehamilan ke-6 (trimester 3)"),
    "KF1": N_("Kunjungan nifas 1 (6 jam-2 hari)"),
    "KF2": N_("Kunjungan nifas 2 (3-7 hari)"),
    "KF3": N_("Kunjungan nifas 3 (8-28 hari)"),
    "KF4": N_("Kunjungan nifas 4 (29-42 hari)"),
    "VITA_NIFAS1": N_("Vitamin A ibu nifas, kapsul merah pertama"),
    "VITA_NIFAS2": N_("Vitamin A ibu nifas, kapsul merah kedua"),
    "KN1": N_("Kunjungan neonatal 1 (6-48 jam)"),
    "KN2": N_("Kunjungan neonatal 2 (3-7 hari)"),
    "KN3": N_("Kunjungan neonatal 3 (8-28 hari)"),
    "TIMBANG": N_("Penimbangan dan pengukuran bulanan"),
    "VITA_BIRU": N_("Vitamin A kapsul biru (6-11 bulan)"),
    "VITA_MERAH": N_("Vitamin A kapsul merah (12-59 bulan)"),
    "OBAT_CACING": N_("Obat cacing"),
    "SDIDTK": N_("Skrining perkembangan (SDIDTK)"),
    "TTD_REMAJA": N_("Tablet tambah darah mingguan remaja putri"),
    "SKRINING_PTM": N_("Skrining penyakit tidak menular (PTM)"),
    "SKILAS": N_("Skrining lansia (SKILAS)"),
}

#: Records that are no rule of services.yaml (care.history.EXTRA_CODES).
RECORD_LABELS: dict[str, str] = {
    "ANC": N_("Pemeriksaan kehamilan"),
    "TTD_HAMIL": N_("Tablet tambah darah ibu hamil"),
}

DOSE_STATE_LABELS: dict[str, str] = {
    "upcoming": N_("akan datang"),
    "due": N_("waktunya"),
    "catch_up": N_("terlambat, masih bisa dikejar"),
    "missed": N_("terlewat"),
    "given": N_("sudah diberikan"),
    "invalid": N_("tidak sah, perlu diulang"),
}

SERVICE_STATE_LABELS: dict[str, str] = {
    "due": N_("waktunya"),
    "overdue": N_("terlambat"),
    "upcoming": N_("akan datang"),
}
