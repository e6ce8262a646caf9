"""The template's vocabulary as data: per kind of sheet, its columns, the headers they are known by
and the forms their cells may take.

Each :class:`Column` names the field of the model row it fills (``key``), the header the template
writes (``header``, Indonesian), the other headers it is known by in e-PPGBM exports and puskesmas
registers (``aliases``), how its cells are read (``reads``, a reader of ``registers.read``), an
explanation and the accepted forms for the template's "Petunjuk" sheet (message ids, translated when
shown) and an example cell.

Headers are matched loosely (:func:`header_key`): case, accents, spaces, punctuation and underscores
do not matter, ``tanggal``/``tgl``/``tg`` are one word, so are ``nomor``/``no``/``nmr``, and a part in
brackets may be left out: ``Tgl. Lahir``, ``TGL_LAHIR`` and ``Tanggal Lahir`` are the same header, and
``Jenis Kelamin (L/P)`` is also ``Jenis Kelamin``. An immunisation register has one column per dose
whose header is a dose name of the dose vocabulary (``care.vocabulary``: ``HB0``, ``Polio 1``,
``DPT-HB-Hib 1``, ``Campak Rubela Lanjutan``), also after ``Tgl``/``Imunisasi``.

A sheet's kind is recognised from its headers (:func:`recognise`), its name only breaking a tie.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from care.labels import DOSE_LABELS
from care.vocabulary import DoseWordError, read_doses, resolve
from content.i18n import N_

ANGGOTA, IMUNISASI, PENGUKURAN, KEHAMILAN = "anggota", "imunisasi", "pengukuran", "kehamilan"

#: Columns that name the person of a row (PersonRef); they do not tell the kinds apart.
IDENTITY_KEYS = frozenset({"nik", "name", "birth_date", "no_kk", "mother_nik"})


@dataclass(frozen=True)
class Column:
    """One column of a kind of sheet. ``reads`` names the cell reader (see ``registers.read``);
    ``dose`` is the dose code of a dose column, ``anc`` the contact number of a K1..K6 column."""

    key: str
    header: str
    reads: str
    about: str
    forms: str
    example: object = None
    aliases: tuple[str, ...] = ()
    required: bool = False
    text: bool = False  # written as text in the template (NIK, No KK, phone)
    dose: str | None = None
    anc: int | None = None


# -- headers ----------------------------------------------------------------------------------------

_SAME_WORD = {
    "tanggal": "tgl", "tgl": "tgl", "tg": "tgl", "tangal": "tgl", "tggl": "tgl",
    "nomor": "no", "nomer": "no", "nmr": "no", "no": "no", "num": "no",
}
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return [_SAME_WORD.get(w, w) for w in re.split(r"[^0-9a-z]+", text) if w]


def header_key(text: object) -> str:
    """The loose form of a header: ``"Tgl. Lahir"``, ``"TGL_LAHIR"``, ``"Tanggal  lahir"`` -> ``"tgllahir"``."""
    return "".join(_words(str(text)))


def header_keys(text: object) -> tuple[str, ...]:
    """The loose forms a header is tried under: as written, then without its bracketed parts."""
    full = header_key(text)
    bare = header_key(_BRACKETS.sub(" ", str(text)))
    return (full,) if bare == full or not bare else (full, bare)


# -- the columns ----------------------------------------------------------------------------------

_EX_BIRTH = date(2025, 3, 14)
_DATE_FORMS = N_("Tanggal Excel, atau teks 14-03-2025, 14/3/25, 14 Maret 2025, 2025-03-14; "
                 "bulan saja: Maret 2025 atau 03/2025")
_NIK_FORMS = N_("16 angka, kolom diformat sebagai Teks (bukan Angka)")


def _nik(header: str, about: str, example: str, aliases: tuple[str, ...], key: str = "nik",
         required: bool = False) -> Column:
    return Column(key, header, "nik", about, _NIK_FORMS, example, aliases, required, text=True)


def _ref_columns(person: str) -> tuple[Column, ...]:
    """The columns naming the person of a row in the sheets after ``anggota``; ``person`` is
    ``anak`` or ``ibu`` (the words of e-PPGBM's and the kohort's headers)."""
    nik_aliases = ("NIK Anak", "NIK Balita", "NIK Sasaran", "No NIK") if person == "anak" else (
        "NIK Ibu", "NIK Ibu Hamil", "NIK Bumil", "NIK Sasaran", "No NIK")
    name_aliases = ("Nama Anak", "Nama Balita", "Nama Bayi", "Nama Sasaran", "Nama Lengkap") if person == "anak" else (
        "Nama Ibu", "Nama Ibu Hamil", "Nama Bumil", "Nama Sasaran", "Nama Lengkap")
    example_nik = "5108015403250002" if person == "anak" else "5108014207950001"
    example_name = "Komang Ayu Lestari" if person == "anak" else "Ni Luh Sari"
    example_birth = _EX_BIRTH if person == "anak" else date(1995, 7, 2)
    columns = [
        _nik("NIK", N_("NIK orang ini (sama dengan di sheet anggota)"), example_nik, nik_aliases),
        Column("name", "Nama", "name", N_("Nama lengkap"), N_("Teks"), example_name, name_aliases, required=True),
        Column("birth_date", "Tanggal Lahir", "date", N_("Tanggal lahir (dipakai bila NIK kosong)"), _DATE_FORMS,
               example_birth, ("Tgl Lahir", "Date of Birth", "DOB")
               + (("Tanggal Lahir Anak", "Tanggal Lahir Balita") if person == "anak" else ("Tanggal Lahir Ibu",))),
        Column("no_kk", "No KK", "kk", N_("Nomor Kartu Keluarga (dipakai bila NIK kosong)"), _NIK_FORMS,
               "5108010101250003", ("Nomor Kartu Keluarga", "No Kartu Keluarga", "KK", "NKK"), text=True),
    ]
    if person == "anak":
        columns.append(_nik("NIK Ibu", N_("NIK ibu kandung (dipakai bila NIK anak kosong)"), "5108014207950001",
                            ("NIK Ibu Kandung",), key="mother_nik"))
    return tuple(columns)


ANGGOTA_COLUMNS: tuple[Column, ...] = (
    Column("no_kk", "No KK", "kk", N_("Nomor Kartu Keluarga: satu keluarga satu nomor"), _NIK_FORMS,
           "5108010101250003", ("Nomor Kartu Keluarga", "No Kartu Keluarga", "KK", "NKK"), text=True),
    _nik("NIK", N_("Nomor Induk Kependudukan orang ini"), "5108015403250002",
         ("NIK Anak", "NIK Balita", "NIK Sasaran", "No NIK", "Nomor Induk Kependudukan")),
    Column("name", "Nama", "name", N_("Nama lengkap"), N_("Teks"), "Komang Ayu Lestari",
           ("Nama Anak", "Nama Balita", "Nama Lengkap", "Nama Sasaran", "Nama Anggota", "Nama Anggota Keluarga"),
           required=True),
    Column("birth_date", "Tanggal Lahir", "date", N_("Tanggal lahir"), _DATE_FORMS, _EX_BIRTH,
           ("Tgl Lahir", "Tanggal Lahir Anak", "Tgl Lahir Anak", "Date of Birth", "DOB")),
    Column("sex", "Jenis Kelamin (L/P)", "sex", N_("Jenis kelamin"), N_("L atau P (juga Laki-laki, Perempuan)"), "P",
           ("Jenis Kelamin", "JK", "L/P", "Kelamin", "Sex", "Gender")),
    Column("family_name", "Nama Kepala Keluarga", "name", N_("Nama kepala keluarga"), N_("Teks"), "I Made Wirawan",
           ("Kepala Keluarga", "Nama KK", "Nama Kepala KK")),
    Column("relation", "Hubungan Keluarga", "text", N_("Hubungan dengan kepala keluarga"),
           N_("Kepala, Istri, Suami, Anak, Orang Tua, Lainnya"), "Anak",
           ("Hubungan dengan Kepala Keluarga", "Status Hubungan", "Status dalam Keluarga", "SHDK", "Hubungan")),
    Column("birth_order", "Anak Ke", "order", N_("Urutan kelahiran anak"), N_("Angka: 1, 2, 3"), 2,
           ("Anak Ke-", "Urutan Anak", "Urutan Kelahiran")),
    Column("birth_weight_g", "Berat Lahir (gram)", "birth_weight", N_("Berat badan lahir"),
           N_("Gram (3200) atau kg (3,2)"), 3200, ("Berat Lahir", "BB Lahir", "BBL", "Berat Badan Lahir")),
    Column("birth_length_cm", "Panjang Lahir (cm)", "birth_length", N_("Panjang badan lahir"),
           N_("Sentimeter, koma boleh: 49,5"), 49.5, ("Panjang Lahir", "PB Lahir", "PBL", "Panjang Badan Lahir",
                                                      "TB Lahir")),
    _nik("NIK Ibu", N_("NIK ibu kandung"), "5108014207950001", ("NIK Ibu Kandung",), key="mother_nik"),
    Column("mother_name", "Nama Ibu", "name", N_("Nama ibu kandung"), N_("Teks"), "Ni Luh Sari",
           ("Nama Ibu Kandung",)),
    _nik("NIK Ayah", N_("NIK ayah"), "5108010505920004", ("NIK Ayah Kandung",), key="father_nik"),
    Column("father_name", "Nama Ayah", "name", N_("Nama ayah"), N_("Teks"), "I Made Wirawan",
           ("Nama Ayah Kandung", "Nama Bapak")),
    Column("address", "Alamat", "text", N_("Alamat rumah"), N_("Teks"), "Jl. Pantai Lovina No. 5",
           ("Alamat Lengkap", "Alamat Rumah", "Alamat Domisili")),
    Column("village_code", "Kode Desa", "village_code", N_("Kode desa/kelurahan Kemendagri"),
           N_("51.08.01.2001 atau 5108012001"), "51.08.01.2001",
           ("Kode Desa/Kelurahan", "Kode Kelurahan", "Kode Wilayah", "Kode Kemendagri"), text=True),
    Column("village_name", "Desa/Kelurahan", "text", N_("Nama desa atau kelurahan"), N_("Teks"), "Kalibukbuk",
           ("Desa", "Kelurahan", "Nama Desa", "Desa Kelurahan", "Nama Desa/Kelurahan")),
    Column("dusun", "Dusun", "text", N_("Dusun, banjar atau lingkungan"), N_("Teks"), "Banjar Kaja",
           ("Banjar", "Lingkungan", "Dusun/Banjar", "Dusun/Lingkungan")),
    Column("rt_rw", "RT/RW", "rt_rw", N_("RT dan RW (atau dua kolom RT dan RW)"), N_("001/002, 1/2"), "001/002",
           ("RT RW",), text=True),
    Column("rt", "RT", "rt", N_("RT saja"), N_("Angka: 1 atau 001"), None, (), text=True),
    Column("rw", "RW", "rw", N_("RW saja"), N_("Angka: 2 atau 002"), None, (), text=True),
    Column("posyandu", "Posyandu", "text", N_("Posyandu tempat keluarga dilayani"), N_("Nama atau kode posyandu"),
           "Posyandu Mawar", ("Nama Posyandu", "Kode Posyandu")),
    Column("phone", "No HP", "phone", N_("Nomor HP/WhatsApp keluarga"), N_("0812 3456 7890 atau 62812..., sebagai Teks"),
           "081234567890", ("Nomor HP", "No HP/WA", "No WA", "Nomor WA", "Nomor WhatsApp", "No Telp", "No Telepon",
                            "Nomor Telepon", "Telepon", "HP", "No HP Ortu", "No HP Orang Tua"), text=True),
    Column("hpht", "HPHT", "date", N_("Hari pertama haid terakhir, bila sedang hamil"), _DATE_FORMS, None,
           ("Hari Pertama Haid Terakhir", "Tanggal HPHT")),
)

#: The dose columns of ``imunisasi``, one per dose of the vocabulary, in its order.
DOSE_HEADERS: dict[str, str] = {
    "HB0": "HB0", "BCG": "BCG",
    "OPV1": "Polio 1", "OPV2": "Polio 2", "OPV3": "Polio 3", "OPV4": "Polio 4",
    "DPT_HB_HIB1": "DPT-HB-Hib 1", "DPT_HB_HIB2": "DPT-HB-Hib 2", "DPT_HB_HIB3": "DPT-HB-Hib 3",
    "DPT_HB_HIB4": "DPT-HB-Hib 4",
    "PCV1": "PCV 1", "PCV2": "PCV 2", "PCV3": "PCV 3",
    "RV1": "RV 1", "RV2": "RV 2", "RV3": "RV 3",
    "IPV1": "IPV 1", "IPV2": "IPV 2",
    "MR1": "MR 1", "MR2": "MR 2", "JE": "JE",
}
_DOSE_EXAMPLES = {"HB0": _EX_BIRTH, "BCG": date(2025, 4, 10), "OPV1": date(2025, 4, 10), "OPV2": "Mei 2025",
                  "DPT_HB_HIB1": date(2025, 5, 16), "PCV1": "sudah"}
_DOSE_FORMS = N_("Tanggal diberikan; bulan saja (Mei 2025); atau sudah / v / ✓ bila tanggalnya tidak diketahui. "
                 "Kosong atau - : belum")

IMUNISASI_COLUMNS: tuple[Column, ...] = _ref_columns("anak") + tuple(
    Column(f"dose:{code}", header, "dose", N_("Imunisasi {dose}"), _DOSE_FORMS, _DOSE_EXAMPLES.get(code), dose=code)
    for code, header in DOSE_HEADERS.items()
)

PENGUKURAN_COLUMNS: tuple[Column, ...] = _ref_columns("anak") + (
    Column("on", "Tanggal Ukur", "date", N_("Tanggal penimbangan/pengukuran"), _DATE_FORMS, date(2025, 9, 12),
           ("Tgl Ukur", "Tanggal Pengukuran", "Tanggal Penimbangan", "Tanggal Timbang", "Tanggal Kunjungan",
            "Tgl Pemantauan", "Tanggal Pemantauan"), required=True),
    Column("month", "Bulan", "date", N_("Bulan pengukuran, bila tanggalnya tidak ada"), N_("Mei 2025 atau 05/2025"),
           None, ("Bulan Pengukuran", "Bulan Penimbangan", "Bulan Ukur", "Bulan Timbang", "Periode")),
    Column("weight_kg", "Berat Badan (kg)", "weight", N_("Berat badan"), N_("Kilogram, koma boleh: 7,2"), 7.2,
           ("Berat Badan", "BB", "Berat", "BB kg")),
    Column("height_cm", "Tinggi/Panjang Badan (cm)", "height", N_("Panjang badan (berbaring) atau tinggi badan (berdiri)"),
           N_("Sentimeter, koma boleh: 65,5"), 65.5, ("TB/PB", "PB/TB", "Tinggi/Panjang", "Panjang/Tinggi Badan")),
    Column("lying_cm", "Panjang Badan (cm)", "height", N_("Panjang badan, diukur berbaring"), N_("Sentimeter"), None,
           ("Panjang Badan", "PB")),
    Column("standing_cm", "Tinggi Badan (cm)", "height", N_("Tinggi badan, diukur berdiri"), N_("Sentimeter"), None,
           ("Tinggi Badan", "TB", "Tinggi")),
    Column("head_cm", "Lingkar Kepala (cm)", "head", N_("Lingkar kepala"), N_("Sentimeter, koma boleh"), 42.0,
           ("Lingkar Kepala", "LK", "LIKA")),
    Column("muac_cm", "LiLA (cm)", "muac", N_("Lingkar lengan atas"), N_("Sentimeter, koma boleh"), 14.0,
           ("LiLA", "LILA", "Lingkar Lengan Atas")),
    Column("position", "Cara Ukur (L/H)", "position", N_("Cara mengukur panjang/tinggi"),
           N_("L = berbaring (terlentang), H = berdiri"), "L", ("Cara Ukur", "Posisi", "Posisi Ukur", "Cara Pengukuran")),
)

KEHAMILAN_COLUMNS: tuple[Column, ...] = _ref_columns("ibu") + (
    Column("hpht", "HPHT", "date", N_("Hari pertama haid terakhir"), _DATE_FORMS, date(2025, 6, 20),
           ("Hari Pertama Haid Terakhir", "Tanggal HPHT")),
    Column("due_date", "HPL", "due_date", N_("Hari perkiraan lahir (taksiran persalinan)"), _DATE_FORMS,
           date(2026, 3, 27), ("Hari Perkiraan Lahir", "Taksiran Persalinan", "Tafsiran Persalinan", "Taksiran Partus",
                               "Perkiraan Persalinan", "HTP", "TP")),
) + tuple(
    Column(f"anc:{n}", f"K{n}", "anc", N_("Tanggal kunjungan pemeriksaan kehamilan ke-{n}"), _DATE_FORMS,
           {1: date(2025, 8, 1), 2: date(2025, 10, 3)}.get(n), (f"K-{n}", f"Tgl K{n}", f"ANC {n}", f"ANC K{n}",
                                                              f"Kunjungan K{n}", f"Kunjungan {n}"), anc=n)
    for n in range(1, 7)
) + (
    Column("delivered_on", "Tanggal Persalinan", "date", N_("Tanggal bersalin, bila sudah"), _DATE_FORMS, None,
           ("Tanggal Bersalin", "Tanggal Melahirkan", "Tgl Persalinan", "Tanggal Partus")),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    ANGGOTA: ANGGOTA_COLUMNS, IMUNISASI: IMUNISASI_COLUMNS, PENGUKURAN: PENGUKURAN_COLUMNS,
    KEHAMILAN: KEHAMILAN_COLUMNS,
}

#: Sheet names that say a kind (the template's own, e-PPGBM's); only a tie between kinds uses them.
SHEET_NAMES: dict[str, str] = {
    "anggota": ANGGOTA, "keluarga": ANGGOTA, "datadasar": ANGGOTA, "sasaran": ANGGOTA, "kohortbalita": IMUNISASI,
    "imunisasi": IMUNISASI, "kohortbayi": IMUNISASI, "pengukuran": PENGUKURAN, "pemantauan": PENGUKURAN,
    "penimbangan": PENGUKURAN, "kehamilan": KEHAMILAN, "kohortibu": KEHAMILAN, "bumil": KEHAMILAN,
}
#: The template's sheet per kind.
SHEET_OF_KIND: dict[str, str] = {ANGGOTA: "Anggota", IMUNISASI: "Imunisasi", PENGUKURAN: "Pengukuran",
                                  KEHAMILAN: "Kehamilan"}


def _index(columns: Iterable[Column]) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for column in columns:
        for name in (column.header, *column.aliases):
            for key in header_keys(name):
                if key in out and out[key] is not column:
                    raise ValueError(f"header {name!r} names two columns: {out[key].key} and {column.key}")
                out[key] = column
    return out


_INDEX: dict[str, dict[str, Column]] = {kind: _index(columns) for kind, columns in COLUMNS.items()}
_DOSE_COLUMNS = {column.dose: column for column in IMUNISASI_COLUMNS if column.dose}
_DOSE_PREFIX = re.compile(r"^(?:(?:tgl|tanggal|imunisasi|imun|vaksin|vaksinasi|pemberian)\b[\s.:]*)+")


def dose_of_header(text: object) -> str | None:
    """The dose code a header names (``Polio 1`` -> ``OPV1``, ``Tgl HB0`` -> ``HB0``, ``Campak Rubela
    Lanjutan`` -> ``MR2``); a series without its number is its first dose (``IPV`` -> ``IPV1``)."""
    words = " ".join(_words(str(text)))
    words = _DOSE_PREFIX.sub("", words).strip()
    if not words:
        return None
    try:
        codes = read_doses(words)
    except DoseWordError:
        return None
    if len(codes) != 1:
        return None
    code = resolve(codes)[0]
    return code if code in DOSE_LABELS else None


def column_of(kind: str, header: object) -> Column | None:
    """The column of ``kind`` a header names, None when it names none."""
    if header is None or not str(header).strip():
        return None
    index = _INDEX[kind]
    for key in header_keys(header):
        if key in index:
            return index[key]
    if kind == IMUNISASI and (code := dose_of_header(header)):
        return _DOSE_COLUMNS[code]
    return None


@dataclass(frozen=True)
class Layout:
    """A sheet's header read as one kind: the column of each position (a header that names no
    column, or a column named a second time, is in ``ignored``, as written)."""

    kind: str
    columns: dict[int, Column]
    ignored: tuple[str, ...]

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(column.key for column in self.columns.values())


def layout(kind: str, headers: Sequence[object]) -> Layout:
    """The columns of ``headers`` read as a sheet of ``kind``."""
    columns: dict[int, Column] = {}
    seen: set[str] = set()
    ignored: list[str] = []
    for i, header in enumerate(headers):
        column = column_of(kind, header)
        if column is None or column.key in seen:
            if header is not None and str(header).strip():
                ignored.append(str(header).strip())
            continue
        seen.add(column.key)
        columns[i] = column
    return Layout(kind, columns, tuple(ignored))


def _signature(found: Layout) -> int:
    """How strongly a layout is its kind: 0 when it is not (no way to name the person, or none of
    the kind's own columns); more columns of its own, more strength. ``anggota`` needs only a name."""
    keys = found.keys
    if not ({"nik", "name"} & keys):
        return 0
    own = len(keys - IDENTITY_KEYS)
    if found.kind == ANGGOTA:
        return 1 + own if "name" in keys else 0
    if found.kind == IMUNISASI:
        doses = sum(1 for k in keys if k.startswith("dose:"))
        return 2 + 2 * doses if doses else 0
    if found.kind == PENGUKURAN:
        values = keys & {"weight_kg", "height_cm", "lying_cm", "standing_cm", "head_cm", "muac_cm"}
        return 2 + 2 * own if values and keys & {"on", "month"} else 0
    if found.kind == KEHAMILAN:
        own_keys = keys & {"hpht", "due_date", "delivered_on"} | {k for k in keys if k.startswith("anc:")}
        return 2 + 2 * len(own_keys) if own_keys else 0
    return 0


def recognise(headers: Sequence[object], sheet_name: str = "") -> Layout | None:
    """The kind a header row says (the strongest, see :func:`_signature`; a tie goes to the kind the
    sheet's name says, then to the order of ``COLUMNS``); None when it says none."""
    hint = SHEET_NAMES.get(header_key(sheet_name))
    best: tuple[int, int, int] | None = None
    found: Layout | None = None
    for order, kind in enumerate(COLUMNS):
        candidate = layout(kind, headers)
        strength = _signature(candidate)
        if not strength:
            continue
        rank = (strength, 1 if kind == hint else 0, -order)
        if best is None or rank > best:
            best, found = rank, candidate
    return found
