"""The template's vocabulary: loose header matching, dose headers and the kind a header row says."""
from __future__ import annotations

import pytest

from care.labels import DOSE_LABELS
from registers.columns import COLUMNS, DOSE_HEADERS, column_of, dose_of_header, header_key, recognise


@pytest.mark.parametrize("header", ["Tanggal Lahir", "Tgl Lahir", "TGL_LAHIR", "Tgl. Lahir", "tanggal  lahir",
                                    "TANGGAL-LAHIR"])
def test_birth_date_headers(header):
    assert header_key(header) == "tgllahir"
    assert column_of("anggota", header).key == "birth_date"


@pytest.mark.parametrize(("kind", "header", "key"), [
    ("anggota", "No KK", "no_kk"), ("anggota", "Nomor Kartu Keluarga", "no_kk"), ("anggota", "no_kk", "no_kk"),
    ("anggota", "NIK anak", "nik"), ("anggota", "Nama", "name"), ("anggota", "nama anak", "name"),
    ("anggota", "Jenis Kelamin", "sex"), ("anggota", "Jenis Kelamin (L/P)", "sex"), ("anggota", "JK", "sex"),
    ("anggota", "Anak ke", "birth_order"), ("anggota", "Berat Lahir", "birth_weight_g"),
    ("anggota", "BB Lahir (kg)", "birth_weight_g"), ("anggota", "Panjang Lahir", "birth_length_cm"),
    ("anggota", "NIK Ibu", "mother_nik"), ("anggota", "Nama Ibu", "mother_name"), ("anggota", "NIK Ayah", "father_nik"),
    ("anggota", "Nama Ayah", "father_name"), ("anggota", "Alamat", "address"), ("anggota", "RT/RW", "rt_rw"),
    ("anggota", "No. HP", "phone"),
    ("pengukuran", "NIK", "nik"), ("pengukuran", "Bulan", "month"), ("pengukuran", "Tanggal Ukur", "on"),
    ("pengukuran", "Tanggal Pengukuran", "on"), ("pengukuran", "BB", "weight_kg"), ("pengukuran", "TB/PB", "height_cm"),
    ("pengukuran", "PB", "lying_cm"), ("pengukuran", "TB", "standing_cm"), ("pengukuran", "LK", "head_cm"),
    ("pengukuran", "LiLA", "muac_cm"), ("pengukuran", "BB (kg)", "weight_kg"),
    ("kehamilan", "NIK Ibu", "nik"), ("kehamilan", "Nama Ibu", "name"), ("kehamilan", "HPHT", "hpht"),
    ("kehamilan", "HPL", "due_date"), ("kehamilan", "Taksiran Persalinan", "due_date"), ("kehamilan", "K1", "anc:1"),
    ("kehamilan", "K6", "anc:6"), ("kehamilan", "Tgl K4", "anc:4"),
    ("imunisasi", "NIK Ibu", "mother_nik"),
])
def test_headers_by_kind(kind, header, key):
    assert column_of(kind, header).key == key


@pytest.mark.parametrize(("header", "dose"), [
    ("HB0", "HB0"), ("HB 0", "HB0"), ("BCG", "BCG"), ("Polio 1", "OPV1"), ("Polio 4", "OPV4"),
    ("DPT-HB-Hib 1", "DPT_HB_HIB1"), ("DPT-HB-Hib 3", "DPT_HB_HIB3"), ("DPT_HB_HIB_4", "DPT_HB_HIB4"),
    ("PCV 2", "PCV2"), ("MR 1", "MR1"), ("Campak Rubela Lanjutan", "MR2"), ("IPV 2", "IPV2"), ("RV 3", "RV3"),
    ("Tgl HB0", "HB0"), ("Tanggal BCG", "BCG"), ("Imunisasi Polio 2", "OPV2"), ("IPV", "IPV1"), ("JE", "JE"),
])
def test_dose_headers(header, dose):
    assert dose_of_header(header) == dose
    assert column_of("imunisasi", header).dose == dose


@pytest.mark.parametrize("header", ["Nama", "BB", "Tgl Lahir", "Keterangan", "No"])
def test_not_dose_headers(header):
    assert dose_of_header(header) is None


def test_every_dose_has_one_template_column_named_by_its_header():
    assert set(DOSE_HEADERS) == set(DOSE_LABELS)
    for code, header in DOSE_HEADERS.items():
        assert dose_of_header(header) == code


def test_every_template_header_names_its_own_column():
    for kind, columns in COLUMNS.items():
        keys = [c.key for c in columns]
        assert len(keys) == len(set(keys)), kind
        for column in columns:
            assert column_of(kind, column.header) is column
            for alias in column.aliases:
                assert column_of(kind, alias) is column, (kind, alias)


@pytest.mark.parametrize(("headers", "name", "kind"), [
    (["No", "No KK", "NIK", "Nama Anak", "Tgl Lahir", "JK", "Anak Ke", "BB Lahir", "PB Lahir", "NIK Ibu", "Nama Ibu",
      "Alamat"], "Data Dasar", "anggota"),
    (["NIK", "Nama", "Bulan", "Tanggal Pengukuran", "BB", "TB/PB", "LK", "LiLA"], "Pemantauan", "pengukuran"),
    (["NIK", "Nama", "Tgl Lahir", "HB0", "BCG", "Polio 1", "DPT-HB-Hib 1"], "Sheet1", "imunisasi"),
    (["NIK Ibu", "Nama Ibu", "HPHT", "HPL", "K1", "K2", "K3", "K4"], "Sheet1", "kehamilan"),
    (["NIK", "Nama", "Tanggal Lahir", "Jenis Kelamin"], "data.csv", "anggota"),
    # the kind comes from the headers, not the sheet's name
    (["NIK", "Nama", "Tanggal Ukur", "BB", "TB"], "Data Dasar", "pengukuran"),
])
def test_recognise_the_kind_from_the_headers(headers, name, kind):
    assert recognise(headers, name).kind == kind


@pytest.mark.parametrize("headers", [["Laporan Bulanan Posyandu"], ["No", "Keterangan", "Jumlah"], ["BB", "TB"], []])
def test_no_kind(headers):
    assert recognise(headers) is None


def test_unknown_headers_are_listed_as_ignored():
    found = recognise(["NIK", "Nama", "Tgl Lahir", "Z-Score BB/U", "Keterangan"])
    assert found.ignored == ("Z-Score BB/U", "Keterangan")
