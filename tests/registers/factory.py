"""Rows as a reader yields them (``registers.model``), with realistic defaults: the importer's tests feed
these straight to ``registers.importer.run_import``."""
from __future__ import annotations

import itertools
from datetime import date

from registers.model import DoseRow, MeasureRow, PersonRef, PersonRow, PregnancyRow, Sheet, Where

SHEETS = {
    "anggota": ("No KK", "NIK", "Nama", "Tanggal Lahir", "Jenis Kelamin", "Desa", "Dusun", "RT", "RW", "No HP"),
    "imunisasi": ("NIK", "Nama", "Tanggal Lahir", "No KK", "Imunisasi", "Tanggal"),
    "pengukuran": ("NIK", "Nama", "Tanggal Lahir", "No KK", "Tanggal Ukur", "Berat (kg)", "Tinggi (cm)"),
    "kehamilan": ("NIK", "Nama", "Tanggal Lahir", "No KK", "HPHT", "K1", "K2"),
}
_rows: dict[str, itertools.count] = {}


def sheet(kind: str, name: str | None = None) -> Sheet:
    """The Sheet a reader yields before the rows of a sheet of ``kind``."""
    _rows[name or kind] = itertools.count(2)
    return Sheet(name or kind, kind, SHEETS[kind])


def where(sheet_name: str, *cells: object) -> Where:
    counter = _rows.setdefault(sheet_name, itertools.count(2))
    return Where(sheet_name, next(counter), tuple("" if c is None else str(c) for c in cells))


def person(name: str, sex: str, birth: date | None, *, no_kk: str | None = "5108060101000001", nik: str | None = None,
           village_code: str | None = "51.08.06.2014", sheet_name: str = "anggota", **more) -> PersonRow:
    """A row of ``anggota``: by default a member of the No KK 5108060101000001 in Nagasepaha (Posyandu Mawar)."""
    cells = (no_kk, nik, name, birth.isoformat() if birth else "", {"M": "L", "F": "P"}.get(sex or ""), more.get("village_name"),
             more.get("dusun"), more.get("rt"), more.get("rw"), more.get("phone"))
    return PersonRow(where=where(sheet_name, *cells), no_kk=no_kk, nik=nik, name=name, birth_date=birth,
                     birth_precision="day" if birth else None, sex=sex, village_code=village_code, **more)


def ref(row: PersonRow) -> PersonRef:
    """How rows of the other kinds name the person of ``row``."""
    return PersonRef(nik=row.nik, name=row.name, birth_date=row.birth_date, no_kk=row.no_kk, mother_nik=row.mother_nik)


def dose(of: PersonRow | PersonRef, code: str, on: date | None, precision: str = "day", *, sheet_name: str = "imunisasi") -> DoseRow:
    who = ref(of) if isinstance(of, PersonRow) else of
    cells = (who.nik, who.name, who.birth_date, who.no_kk, code, on.isoformat() if on else "sudah")
    return DoseRow(where=where(sheet_name, *cells), person=who, code=code, on=on, precision=precision, column=code)


def measure(of: PersonRow | PersonRef, on: date, weight_kg: float | None = None, height_cm: float | None = None, *,
            sheet_name: str = "pengukuran", **more) -> MeasureRow:
    who = ref(of) if isinstance(of, PersonRow) else of
    cells = (who.nik, who.name, who.birth_date, who.no_kk, on.isoformat(), weight_kg, height_cm)
    return MeasureRow(where=where(sheet_name, *cells), person=who, on=on, weight_kg=weight_kg, height_cm=height_cm, **more)


def pregnancy(of: PersonRow | PersonRef, hpht: date, anc: tuple[tuple[int, date], ...] = (), *,
              sheet_name: str = "kehamilan", **more) -> PregnancyRow:
    who = ref(of) if isinstance(of, PersonRow) else of
    cells = (who.nik, who.name, who.birth_date, who.no_kk, hpht.isoformat(), *(on.isoformat() for _n, on in anc))
    return PregnancyRow(where=where(sheet_name, *cells), person=who, hpht=hpht, anc=anc, **more)
