"""What a register file becomes once read: typed rows, each knowing where it came from, and problems.

The reader (``registers.read``) turns a CSV or XLSX into these; the importer (``registers.importer``)
matches them against the database. Nothing here touches a file or the database.

Kinds of sheet (the template has one sheet per kind; e-PPGBM's "Data Dasar" is ``anggota`` and its
"Pemantauan" is ``pengukuran``):

- ``anggota``: one row per person, with the family (No KK), the place and the person;
- ``imunisasi``: one row per person, one column per dose (a date, a month, or "sudah");
- ``pengukuran``: one row per person and date of measurement;
- ``kehamilan``: one row per pregnancy (HPHT, HPL, ANC contacts by number).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

KINDS = ("anggota", "imunisasi", "pengukuran", "kehamilan")


class Where:
    """A row of a sheet: the sheet's name as in the file, the row number as a spreadsheet shows it
    (1-based, the header row included), and the row's cells as read (text), for the errors file.

    A reader may give the raw cells and a function that writes one as text (:meth:`lazy`): most rows of a
    large file never need their text (only rows with a problem, and the export's round trip, read it), so
    it is made on first use. Equal when sheet, row and the cells' text are."""

    __slots__ = ("sheet", "row", "_cells", "_raw", "_width", "_text")

    def __init__(self, sheet: str, row: int, cells: tuple[str, ...] = ()) -> None:
        self.sheet, self.row, self._cells = sheet, row, cells
        self._raw = self._width = self._text = None

    @classmethod
    def lazy(cls, sheet: str, row: int, raw: Sequence[Any], width: int, text: Callable[[Any], str]) -> Where:
        """A row whose cells (the first ``width`` of ``raw``, padded with "") are written by ``text`` when read."""
        where = cls(sheet, row)
        where._cells, where._raw, where._width, where._text = None, raw, width, text
        return where

    @property
    def cells(self) -> tuple[str, ...]:
        if self._cells is None:
            raw, width, text = self._raw, self._width, self._text
            self._cells = tuple(text(c) for c in raw[:width]) + ("",) * (width - len(raw))
            self._raw = self._text = None
        return self._cells

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Where):
            return NotImplemented
        return (self.sheet, self.row, self.cells) == (other.sheet, other.row, other.cells)

    def __hash__(self) -> int:
        return hash((self.sheet, self.row))

    def __repr__(self) -> str:
        return f"Where({self.sheet!r}, {self.row!r}, {self.cells!r})"


@dataclass(frozen=True)
class Problem:
    """Something wrong with a file, a row or a cell. ``code`` names it (``registers.problems`` words it,
    in Indonesian or English); ``column`` is the header as written in the file; ``value`` the cell as
    read. A problem with ``row`` None is about the whole file or sheet; ``fatal`` stops the import
    (nothing is written)."""

    code: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    fatal: bool = False
    where: Where | None = None  # the row it belongs to, for the errors file


@dataclass(frozen=True)
class PersonRef:
    """How a row of another kind names its person: by NIK, else by name and birth date within the
    family (No KK) or, for a child, with the mother's NIK."""

    nik: str | None = None
    name: str | None = None
    birth_date: date | None = None
    no_kk: str | None = None
    mother_nik: str | None = None


@dataclass(frozen=True)
class PersonRow:
    """A row of ``anggota`` (or e-PPGBM's Data Dasar). Values are parsed; empty cells are None.
    ``birth_precision`` is ``day`` / ``month`` / ``unknown`` as in ``care.history``; ``sex`` is
    ``M``/``F``; ``phone`` is digits in international form (``62812...``)."""

    where: Where
    no_kk: str | None
    nik: str | None
    name: str
    birth_date: date | None
    birth_precision: str | None
    sex: str | None
    family_name: str | None = None  # nama kepala keluarga
    relation: str | None = None  # kepala | istri | anak | ... as written, lower case
    birth_order: int | None = None
    birth_weight_g: int | None = None
    birth_length_cm: float | None = None
    mother_nik: str | None = None
    mother_name: str | None = None
    father_nik: str | None = None
    father_name: str | None = None
    address: str | None = None
    village_code: str | None = None  # Kemendagri desa code, dotted: 51.08.01.2001
    village_name: str | None = None
    dusun: str | None = None
    rt: str | None = None
    rw: str | None = None
    posyandu: str | None = None  # code or name as written
    phone: str | None = None
    hpht: date | None = None


@dataclass(frozen=True)
class DoseRow:
    """One dose from ``imunisasi``: ``code`` from the dose vocabulary (``care.vocabulary``);
    ``precision`` ``day`` / ``month`` / ``unknown`` (a cell saying only "sudah": ``on`` is then None)."""

    where: Where
    person: PersonRef
    code: str
    on: date | None
    precision: str
    column: str  # the header of its column, for problems


@dataclass(frozen=True)
class MeasureRow:
    """One date of measurement from ``pengukuran``. ``position`` is ``l`` (lying, length) or ``h``
    (standing, height) when the file says so (a column headed PB/Panjang Badan says ``l``, TB/Tinggi
    Badan ``h``). ``precision`` is ``day``, or ``month`` when the file gives only the month
    (e-PPGBM's "Bulan"): ``on`` is then the first of that month."""

    where: Where
    person: PersonRef
    on: date
    weight_kg: float | None = None
    height_cm: float | None = None
    head_cm: float | None = None
    muac_cm: float | None = None
    position: str | None = None
    precision: str = "day"


@dataclass(frozen=True)
class PregnancyRow:
    """One pregnancy from ``kehamilan``: ``anc`` is (contact number, date) pairs (K1..K6)."""

    where: Where
    person: PersonRef
    hpht: date | None = None
    due_date: date | None = None
    anc: tuple[tuple[int, date], ...] = ()
    delivered_on: date | None = None


Row = PersonRow | DoseRow | MeasureRow | PregnancyRow


@dataclass(frozen=True)
class Sheet:
    """Yielded by the reader before the rows of each sheet it reads: its name, its kind and its
    header cells as written (for the errors file, which repeats them with a last column of reasons)."""

    name: str
    kind: str
    headers: tuple[str, ...]
    header_row: int = 1
