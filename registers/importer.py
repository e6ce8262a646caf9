"""A register read into rows (``registers.model``) matched against the database: a report, and with
``apply`` the rows written.

Matching (issue 17):

* **Place.** A row's family goes to a posyandu of the importing puskesmas: by the posyandu column (its
  code or name), else by the village (Kemendagri code, else name). When a village has several posyandu
  and the row names none, the posyandu that already holds most families of the row's dusun (and RW) in
  that village is chosen; with no such family the row is a problem (``place_ambiguous``). A village or
  posyandu of another puskesmas, or unknown, is a problem. A family already known keeps its posyandu
  unless the row names another one of the same puskesmas.
* **Family.** By No KK. A row without No KK joins the family of its person when the person is known,
  else the family of the same head (``Nama Kepala Keluarga``) at the same place (dusun, RT, RW) met in
  this file, else a family of its own. A new family gets a new family code (``content.family_codes``)
  and is registered at once (``/sasaran`` and the planner see it). The phone of a row goes on the family
  (``Family.phone``, 62...), where ``handlers.register.family_of_phone`` links the number that writes.
* **Person.** By NIK; else by name (case and spaces do not matter) and birth date within the family of
  the No KK (or, for a child, of the mother's NIK). Never merged silently: the same NIK under another
  name, a NIK or No KK registered in another puskesmas, a person of another family, the same person
  twice in the file, and a person with the same name and birth date in another family of the puskesmas
  (one of the two without NIK) are problems, and those rows are left out.
* **What an import may overwrite.** A cell that is filled and differs from what is stored: of a family
  its name, dusun, RT, RW, phone, posyandu and No KK (a No KK only where none is stored); of a person
  sex, birth date and its precision, NIK (only where none is stored), birth weight, HPHT, HPL and
  delivery date. An empty cell never erases anything, and the name of a known person is kept.
* **Parents.** The mother and father a child's row names (NIK and name, as e-PPGBM's Data Dasar has them) join
  the child's family when neither their NIK nor their name is there yet, with the birth date their NIK says.
* **History.** Doses, ANC contacts and the weighing of a child under five (TIMBANG) go through
  ``db.history`` with source ``import``; measurements as a ``Visit`` (kader none, place posyandu) with
  its ``Measurement`` rows, one visit per person and day, as the chat's visits write them (growth
  readers compute z-scores from them). A dose already recorded on the same day (or month, for a month;
  any day, for "sudah") is unchanged; recorded on another day, it is moved when the import recorded it
  or only its month was known, else it is kept and the row is a problem (``dose_date_differs``).

Writing: rows are taken in batches (:data:`PERSON_BATCH` persons, :data:`RECORD_BATCH` other rows); with
``apply`` each batch is written in its own transaction, so a failure leaves whole batches and a second
run completes the rest (what is written is then unchanged). A fatal problem stops the import before
anything more is written (the reader raises its fatal problems before the first row). Lookups are one
query per batch; the puskesmas's families and persons are read once at the start.
"""
from __future__ import annotations

import asyncio
import gc
import io
import logging
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import make_url

from care.dates import age_months
from care.labels import DOSE_LABELS
from care.plausibility import impossible_size
from care.history import DAY, MONTH, UNKNOWN, anc_code, is_dose, month_date, unknown_dose_date
from care.stages import due_date_from_hpht
from content.family_codes import random_family_code
from content.i18n import N_, _, format_number, use_locale
from db.history import record_many, redate_many
from db.database import SQLITE_BUSY_TIMEOUT_MS
from db.queries import bulk_insert
from db.models import AuditLog, Family, Measurement, Person, Posyandu, Puskesmas, Visit
from metrics import METRICS
from registers.columns import PENGUKURAN_COLUMNS
from registers.nik import is_nik_shape, nik_parts
from registers.problems import message
from registers.model import DoseRow, MeasureRow, PersonRef, PersonRow, PregnancyRow, Problem, Row, Sheet, Where

log = logging.getLogger(__name__)

PERSON_BATCH = 1000
RECORD_BATCH = 5000
#: problems listed in :meth:`ImportReport.text`; the rest are counted
SHOWN_PROBLEMS = 10
SOURCE = "import"
#: a child is weighed for TIMBANG up to this age (months), as the chat's visits do
CHILD_MONTHS = 60
#: a length is lying ("l") below this age (months), standing ("h") from it, when the file does not say
LYING_MONTHS = 24

#: The importer's own problems (the reader's are worded by ``registers.problems``).
MESSAGES: dict[str, str] = {
    "sex_missing": N_("jenis kelamin kosong: isi L atau P"),
    "place_missing": N_("keluarga baru tanpa tempat: isi kolom posyandu atau kode/nama desa"),
    "place_unknown": N_("posyandu atau desa ini tidak ada di puskesmas ini"),
    "place_other_puskesmas": N_("desa atau posyandu ini milik {puskesmas}, bukan puskesmas ini"),
    "place_ambiguous": N_("desa ini punya beberapa posyandu ({names}): isi kolom posyandu"),
    "nik_other_name": N_("NIK ini sudah tercatat atas nama {name}"),
    "nik_elsewhere": N_("NIK ini sudah tercatat di puskesmas lain"),
    "kk_elsewhere": N_("No KK ini sudah tercatat di puskesmas lain"),
    "nik_conflict": N_("orang dengan nama dan tanggal lahir ini di KK yang sama sudah tercatat dengan NIK lain"),
    "duplicate_in_file": N_("orang yang sama sudah ada di baris {row}"),
    "maybe_duplicate": N_("mungkin orang yang sama dengan {name} di keluarga {family} (nama dan tanggal lahir sama): "
                          "tambahkan NIK, atau periksa dulu"),
    "other_family": N_("orang ini sudah tercatat di keluarga lain ({family})"),
    "person_not_found": N_("orang ini tidak ditemukan: isi NIK, atau nama, tanggal lahir dan No KK (atau NIK ibu)"),
    "no_birth_date": N_("tanggal lahir orang ini tidak diketahui: tulis tanggal dosisnya"),
    "date_future": N_("tanggal ini setelah hari ini"),
    "date_before_birth": N_("tanggal ini sebelum tanggal lahir"),
    "dose_date_differs": N_("dosis ini sudah tercatat tanggal {recorded}; tidak diubah"),
    "not_female": N_("kehamilan tercatat untuk orang yang bukan perempuan"),
    "size_slip": N_("tidak mungkin untuk umur anak ini (menurut standar WHO); mungkin maksudnya {suggestion}? Perbaiki lalu "
                    "impor lagi"),
    "size_impossible": N_("berat dan panjang/tinggi ini tidak mungkin untuk umur anak ini (menurut standar WHO): periksa "
                          "keduanya"),
}


def problem_text(problem: Problem) -> str:
    """What is wrong, in the current language: the importer's own codes here, the reader's through
    ``registers.problems.message``."""
    if problem.code in MESSAGES:
        return _(MESSAGES[problem.code], **{k: format_number(v) if isinstance(v, float) else v for k, v in problem.params.items()})
    return message(problem)


# -- the report --------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import found (dry run) or did (``applied``): counts, problems and the sheets read."""

    applied: bool = False
    filename: str | None = None
    families_new: int = 0
    families_updated: int = 0
    families_unchanged: int = 0
    persons_new: int = 0
    persons_updated: int = 0
    persons_unchanged: int = 0
    doses_added: int = 0
    doses_updated: int = 0
    measurements_added: int = 0
    measurements_updated: int = 0
    anc_added: int = 0
    #: of ``persons_new``: mothers and fathers added from a child's row (its parents' NIK and name columns)
    parents_new: int = 0
    #: field -> how many families / persons it changed ("phone": 3)
    fields_updated: Counter = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    sheets: dict[str, Sheet] = field(default_factory=dict)
    #: batches written (apply)
    batches: int = 0

    @property
    def fatal(self) -> bool:
        """Whether a fatal problem stopped the import (nothing was written)."""
        return any(p.fatal for p in self.problems)

    def counts(self) -> dict[str, int]:
        """The counts, for the audit log and tests."""
        names = ("families_new", "families_updated", "families_unchanged", "persons_new", "persons_updated",
                 "persons_unchanged", "doses_added", "doses_updated", "measurements_added", "measurements_updated",
                 "anc_added")
        return {name: getattr(self, name) for name in names} | {"problems": len(self.problems)}

    @property
    def unchanged(self) -> bool:
        """Whether the import changes (or changed) nothing."""
        c = self.counts()
        return not any(c[k] for k in c if k not in ("families_unchanged", "persons_unchanged", "problems"))

    def text(self, lang: str = "id", shown: int = SHOWN_PROBLEMS, *, by_chat: bool = False) -> str:
        """The report in ``lang``: the counts and the first ``shown`` problems; a dry run says how to save it
        (``--apply`` on the command line, *Terapkan* in the chat)."""
        with use_locale(lang):
            return self._text(shown, by_chat)

    def _text(self, shown: int, by_chat: bool = False) -> str:
        name = self.filename or _("berkas")
        if self.fatal:
            head = _("Impor {file}: berkas tidak bisa dibaca, tidak ada yang disimpan.", file=name)
        elif self.applied:
            head = _("Impor {file}: disimpan.", file=name)
        else:
            head = (_("Impor {file}: diperiksa, belum ada yang disimpan (pilih Terapkan untuk menyimpan).", file=name) if by_chat
                    else _("Impor {file}: uji coba, belum ada yang disimpan (tambahkan --apply untuk menyimpan).", file=name))
        lines = [head]
        if not self.fatal:
            lines.append(_("Keluarga: {new} baru, {updated} diperbarui, {unchanged} tidak berubah.", new=self.families_new,
                           updated=self.families_updated, unchanged=self.families_unchanged))
            lines.append(_("Anggota: {new} baru, {updated} diperbarui, {unchanged} tidak berubah.", new=self.persons_new,
                           updated=self.persons_updated, unchanged=self.persons_unchanged))
            lines.append(_("Imunisasi: {added} ditambahkan, {updated} diperbaiki tanggalnya. Pengukuran: {measured} ditambahkan, "
                           "{remeasured} diubah. Pemeriksaan kehamilan: {anc} ditambahkan.", added=self.doses_added,
                           updated=self.doses_updated, measured=self.measurements_added,
                           remeasured=self.measurements_updated, anc=self.anc_added))
            if self.parents_new:
                lines.append(_("Di antaranya {count} ibu atau ayah yang tercatat di baris anaknya.", count=self.parents_new))
            if self.fields_updated:
                lines.append(_("Yang diperbarui: {fields}.", fields=", ".join(
                    f"{_(FIELD_NAMES.get(k, k))} {n}" for k, n in sorted(self.fields_updated.items()))))
            if self.unchanged:
                lines.append(_("Tidak ada yang berubah."))
        if self.problems:
            lines.append(_("Masalah ({count}):", count=len(self.problems)))
            lines.extend("- " + problem_line(p) for p in self.problems[:shown])
            if len(self.problems) > shown:
                lines.append(_("dan {count} masalah lain.", count=len(self.problems) - shown))
        return "\n".join(lines)

    def errors_xlsx(self) -> bytes | None:
        """An XLSX of the rows with problems, per sheet with its headers as read and a last column
        "Masalah" with the reasons, ready to fix and import again; None when no row has a problem."""
        rows: dict[str, dict[int, tuple[Where, list[str]]]] = defaultdict(dict)
        for problem in self.problems:
            where = problem.where
            if where is None:
                continue
            entry = rows[where.sheet].setdefault(where.row, (where, []))
            entry[1].append(problem_text(problem) + (f" ({problem.column})" if problem.column else ""))
        if not rows:
            return None
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        for sheet_name, found in rows.items():
            sheet = book.create_sheet(sheet_name[:31])
            read = self.sheets.get(sheet_name)
            headers = list(read.headers) if read else []
            width = max([len(headers)] + [len(w.cells) for w, _r in found.values()])
            sheet.append(headers + [""] * (width - len(headers)) + [_("Masalah")])
            for _row, (where, reasons) in sorted(found.items()):
                cells = list(where.cells) + [""] * (width - len(where.cells))
                sheet.append(cells + ["; ".join(dict.fromkeys(reasons))])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


#: Names of the fields an import may update, for the report.
FIELD_NAMES = {
    "family.name": N_("nama keluarga"), "family.dusun": N_("dusun"), "family.rt": N_("RT"), "family.rw": N_("RW"),
    "family.phone": N_("nomor HP"), "family.posyandu": N_("posyandu"), "family.no_kk": N_("No KK"),
    "person.sex": N_("jenis kelamin"), "person.birth_date": N_("tanggal lahir"), "person.nik": N_("NIK"),
    "person.birth_weight_g": N_("berat lahir"), "person.hpht": N_("HPHT"), "person.due_date": N_("HPL"),
    "person.delivered_on": N_("tanggal persalinan"),
}


def problem_line(problem: Problem) -> str:
    """"Sheet, baris R, kolom C: nilai — what is wrong", the parts known."""
    place = []
    if problem.sheet:
        place.append(problem.sheet)
    if problem.row is not None:
        place.append(_("baris {row}", row=problem.row))
    if problem.column:
        place.append(_("kolom {column}", column=problem.column))
    head = ", ".join(place)
    if problem.value not in (None, ""):
        head = f"{head}: {problem.value}" if head else str(problem.value)
    what = problem_text(problem)
    return f"{head} \u2014 {what}" if head else what


# -- what the run holds ------------------------------------------------------------------------------


class _Fam:
    """A family as the run knows it (id negative: not written yet)."""

    __slots__ = ("id", "no_kk", "posyandu_id", "code", "name", "dusun", "rt", "rw", "phone", "members", "new", "changed")

    def __init__(self, id, no_kk, posyandu_id, code, name, dusun, rt, rw, phone, new=False):
        self.id, self.no_kk, self.posyandu_id, self.code, self.name = id, no_kk, posyandu_id, code, name
        self.dusun, self.rt, self.rw, self.phone = dusun, rt, rw, phone
        self.members: list[_Per] = []
        self.new = new
        self.changed = False


class _Per:
    """A person as the run knows it."""

    __slots__ = ("id", "fam", "name", "norm", "sex", "birth", "precision", "nik", "weight_g", "hpht", "due", "delivered",
                 "new", "changed", "batched")

    def __init__(self, id, fam, name, sex, birth, precision, nik, weight_g, hpht, due, delivered, new=False):
        self.id, self.fam, self.name, self.norm, self.sex = id, fam, name, norm_name(name), sex
        self.birth, self.precision, self.nik, self.weight_g = birth, precision, nik, weight_g
        self.hpht, self.due, self.delivered = hpht, due, delivered
        self.new = new
        self.changed = False
        #: a person this run made and wrote no record of yet needs no reading of its records
        self.batched = False


def norm_name(name: str | None) -> str:
    """A name for matching: case and spaces do not matter."""
    return " ".join((name or "").casefold().split())


def _norm_place(text: str | None) -> str:
    words = norm_name(text).replace(".", " ").split()
    if words and words[0] in ("posyandu", "desa", "kelurahan", "kel", "ds"):
        words = words[1:]
    return " ".join(words)


def _rtrw(value: str | None) -> str | None:
    """RT/RW as the chat stores them: three digits (``003``); other text as written."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    return f"{int(text):03d}" if text.isdigit() and len(text) <= 3 else text[:4]


def _village_code(code: str | None) -> str | None:
    if not code:
        return None
    digits = "".join(c for c in code if c.isdigit())
    if len(digits) == 10:
        return f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}.{digits[6:]}"
    return code.strip()


#: Person.birth_precision from the reader's precision (care.history's words)
_BIRTH_PRECISION = {DAY: None, MONTH: "month", UNKNOWN: "year", None: None}


def read_precision(stored: str | None) -> str:
    """The reader's word for a stored Person.birth_precision (None: the day; "year" and "age": unknown)."""
    return DAY if stored is None else MONTH if stored == MONTH else UNKNOWN


class _Run:
    """One import: the puskesmas's families and persons, what the file said so far, the counts."""

    def __init__(self, db, puskesmas: Puskesmas, posyandu: list[Posyandu], others: list[tuple], report: ImportReport,
                 *, apply: bool, now: datetime) -> None:
        self.db, self.puskesmas, self.report, self.apply, self.now = db, puskesmas, report, apply, now
        self.today = now.astimezone(ZoneInfo(puskesmas.timezone)).date()
        self.posyandu = {p.id: p for p in posyandu}
        self.by_code = {p.code.upper(): p for p in posyandu}
        self.by_name: dict[str, list[Posyandu]] = defaultdict(list)
        self.by_village: dict[str, list[Posyandu]] = defaultdict(list)
        self.by_village_name: dict[str, list[Posyandu]] = defaultdict(list)
        for p in posyandu:
            self.by_name[_norm_place(p.name)].append(p)
            self.by_village[p.village_code].append(p)
            self.by_village_name[_norm_place(p.village_name)].append(p)
        #: (code, name, village code, village name, puskesmas name) of the other puskesmas's posyandu
        self.others = others
        self.families: dict[int, _Fam] = {}
        self.by_kk: dict[str, _Fam] = {}
        self.by_head: dict[tuple, _Fam] = {}
        self.by_nik: dict[str, _Per] = {}
        self.by_name_birth: dict[tuple, list[_Per]] = defaultdict(list)
        self.file_nik: dict[str, int] = {}
        self.file_key: dict[tuple, int] = {}
        #: the families and persons the file named (id() -> object): what the counts count
        self.touched_families: dict[int, _Fam] = {}
        self.touched_persons: dict[int, _Per] = {}
        self._next_id = 0
        self.reads = _Reads(db)
        self.persons: list[PersonRow] = []
        self.records: list[Row] = []

    def placeholder(self) -> int:
        self._next_id -= 1
        return self._next_id

    def problem(self, code: str, where: Where, *, column: str | None = None, value: Any = None, **params) -> None:
        self.report.problems.append(Problem(code, sheet=where.sheet, row=where.row, column=column,
                                            value=None if value is None else str(value), params=params, where=where))

    # -- loading -------------------------------------------------------------------------------------

    async def load(self) -> None:
        """The puskesmas's families and persons, once."""
        place = f"JOIN posyandu y ON y.id = f.posyandu_id WHERE y.puskesmas_id = {int(self.puskesmas.id)}"
        families, persons = await self.reads.rows(
            f"SELECT f.id, f.no_kk, f.posyandu_id, f.code, f.name, f.dusun, f.rt, f.rw, f.phone FROM family f {place}",
            "SELECT p.id, p.family_id, p.name, p.sex, p.birth_date, p.birth_precision, p.nik, p.birth_weight_g, p.hpht, "
            f"p.due_date, p.delivered_on FROM person p JOIN family f ON f.id = p.family_id {place} ORDER BY p.id")
        for row in families:
            fam = _Fam(*row)
            self.families[fam.id] = fam
            if fam.no_kk:
                self.by_kk[fam.no_kk] = fam
        for pid, fid, name, sex, birth, precision, nik, weight, hpht, due, delivered in persons:
            self._index(_Per(pid, self.families[fid], name, sex, _date(birth), precision, nik, weight, _date(hpht), _date(due),
                             _date(delivered)))

    def _index(self, per: _Per) -> None:
        per.fam.members.append(per)
        if per.nik:
            self.by_nik[per.nik] = per
        if per.birth:
            self.by_name_birth[(per.norm, per.birth)].append(per)

    # -- places --------------------------------------------------------------------------------------

    def place_of(self, row: PersonRow) -> tuple[Posyandu | None, tuple[str, dict, str | None, str | None] | None]:
        """The posyandu a row names (or None when it names no place), or the problem: (code, params, column, value)."""
        if row.posyandu:
            found = self.by_code.get(row.posyandu.strip().upper()) or _one(self.by_name.get(_norm_place(row.posyandu)))
            if found:
                return found, None
            other = self._other(lambda o: o[0].upper() == row.posyandu.strip().upper() or _norm_place(o[1]) == _norm_place(row.posyandu))
            return None, other or ("place_unknown", {}, "posyandu", row.posyandu)
        candidates, column, value = None, None, None
        code = _village_code(row.village_code)
        if code:
            candidates, column, value = self.by_village.get(code), "village_code", row.village_code
            if not candidates:
                return None, self._other(lambda o: o[2] == code) or ("place_unknown", {}, column, value)
        elif row.village_name:
            candidates, column, value = self.by_village_name.get(_norm_place(row.village_name)), "village_name", row.village_name
            if not candidates:
                return None, self._other(lambda o: _norm_place(o[3]) == _norm_place(row.village_name)) or ("place_unknown", {}, column, value)
        if not candidates:
            return None, None
        if len(candidates) == 1:
            return candidates[0], None
        chosen = self._by_dusun(candidates, row)
        if chosen is not None:
            return chosen, None
        return None, ("place_ambiguous", {"names": ", ".join(sorted(p.name for p in candidates))}, column, value)

    def _other(self, test) -> tuple | None:
        for other in self.others:
            if test(other):
                return ("place_other_puskesmas", {"puskesmas": other[4]}, None, None)
        return None

    def _by_dusun(self, candidates: list[Posyandu], row: PersonRow) -> Posyandu | None:
        """Of a village's posyandu, the one holding most families of the row's dusun (and RW)."""
        if not row.dusun and not row.rw:
            return None
        ids = {p.id for p in candidates}
        dusun, rw = _norm_place(row.dusun), _rtrw(row.rw)
        votes: Counter = Counter()
        for fam in self.families.values():
            if fam.posyandu_id in ids and (not dusun or _norm_place(fam.dusun) == dusun) and (not rw or fam.rw == rw):
                votes[fam.posyandu_id] += 1
        if not votes:
            return None
        (best, n), *rest = votes.most_common(2) + [(None, 0)]
        return self.posyandu[best] if n > rest[0][1] else None


class _Reads:
    """The run's reads as plain SQL. SQLite: the standard driver on a read-only connection of its own, in
    a thread (SQLAlchemy's result layer and aiosqlite's hops cost four times the query: a re-import reads
    every record of every person of the file); it sees what the run's batches committed. PostgreSQL: the
    database handle."""

    def __init__(self, db) -> None:
        self.db = db
        self.path = make_url(db.url).database if db.is_sqlite else None
        self.conn: sqlite3.Connection | None = None

    async def rows(self, *sqls: str) -> list[list[tuple]]:
        """The rows of each query."""
        return await self._all(sqls, list)

    async def sets(self, *sqls: str) -> list[set[tuple]]:
        """The rows of each query as a set (built by the driver's side, in the thread on SQLite)."""
        return await self._all(sqls, set)

    async def _all(self, sqls, shape) -> list:
        if self.path is None:
            async with self.db.read() as session:
                conn = await session.connection()
                return [shape(tuple(r) for r in (await conn.exec_driver_sql(sql)).all()) for sql in sqls]
        return await asyncio.to_thread(self._sqlite, sqls, shape)

    def _sqlite(self, sqls, shape) -> list:
        if self.conn is None:
            self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self.conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        self.conn.execute("BEGIN")  # the queries of one call see one state
        try:
            return [shape(self.conn.execute(sql)) for sql in sqls]
        finally:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _date(value, _known: dict = {}) -> date | None:  # noqa: B006 - the memo of the dates read
    """A date from the driver (SQLite gives text)."""
    if not isinstance(value, str):
        return value
    found = _known.get(value)
    if found is None:
        found = _known[value] = date.fromisoformat(value[:10])
    return found


_DOSE_CODES = ", ".join(f"'{code}'" for code in sorted(DOSE_LABELS))
_ANC_CODES = ", ".join(f"'{code}'" for code in ("ANC", *(anc_code(n) for n in range(1, 7))))


def _one(found: list | None):
    return found[0] if found and len(found) == 1 else None


# -- the entry -----------------------------------------------------------------------------------------


class UnknownPuskesmas(LookupError):
    """No puskesmas with that id or code."""


async def find_puskesmas(db, wanted: str | int) -> Puskesmas:
    """The puskesmas with id or code ``wanted``; :class:`UnknownPuskesmas` otherwise."""
    async with db.read() as session:
        text = str(wanted).strip()
        found = await session.scalar(select(Puskesmas).where(Puskesmas.code == text))
        if found is None and text.isdigit():
            found = await session.get(Puskesmas, int(text))
    if found is None:
        raise UnknownPuskesmas(text)
    return found


async def run_import(db, items: Iterable[Sheet | Row | Problem], *, puskesmas_id: int, apply: bool, actor: str,
                     filename: str | None = None, actor_id: int | None = None, now: datetime | None = None) -> ImportReport:
    """Matches the items a reader yields against the database: the report of what it finds (``apply``
    False: nothing written) or did (``apply``: written in batches, each its own transaction, then an
    audit row with who, the file's name, when and the counts). A reader's ``BadFile`` (its ``problem``)
    or any fatal problem stops it: nothing more is written."""
    now = now or datetime.now(UTC)
    report = ImportReport(applied=apply, filename=filename)
    async with db.read() as session:
        puskesmas = await session.get(Puskesmas, puskesmas_id)
        if puskesmas is None:
            raise UnknownPuskesmas(str(puskesmas_id))
        posyandu = list(await session.scalars(select(Posyandu).where(Posyandu.puskesmas_id == puskesmas_id)))
        others = [tuple(r) for r in (await session.execute(
            select(Posyandu.code, Posyandu.name, Posyandu.village_code, Posyandu.village_name, Puskesmas.name)
            .join(Puskesmas, Puskesmas.id == Posyandu.puskesmas_id).where(Posyandu.puskesmas_id != puskesmas_id))).all()]
    run = _Run(db, puskesmas, posyandu, others, report, apply=apply, now=now)
    # The run holds a few million small objects (the file's rows, the persons, the records read); the
    # cyclic collector would walk them again and again in its full collections (half the time of a large
    # import) and finds almost nothing to free. Each batch begins by moving what lives into the collector's
    # permanent generation (gc.freeze), so the collector keeps working for the rest of the process (the
    # bot's chat turns) and its full collections skip the run's objects; they are given back at the end.
    outcome = "failed"
    try:
        done = await _run(run, items, actor, actor_id, filename, puskesmas_id)
        outcome = "failed" if done.fatal else "applied" if apply else "dry_run"
        return done
    finally:
        METRICS.imports.labels(outcome).inc()
        run.reads.close()
        gc.unfreeze()


async def _run(run: _Run, items, actor: str, actor_id: int | None, filename: str | None, puskesmas_id: int) -> ImportReport:
    db, report, apply, now = run.db, run.report, run.apply, run.now
    stream = iter(items)
    try:
        first = next(stream, None)
    except Exception as error:  # the reader's BadFile: its fatal problem, nothing read
        problem = getattr(error, "problem", None)
        if problem is None:
            raise
        report.problems.append(problem)
        report.applied = False
        return report
    if first is None:
        return _finish(run)
    await run.load()
    try:
        for item in _chain(first, stream):
            if isinstance(item, Problem):
                report.problems.append(item)
                if item.fatal:
                    report.applied = report.batches > 0
                    return report
            elif isinstance(item, Sheet):
                report.sheets[item.name] = item
            elif isinstance(item, PersonRow):
                if run.records:
                    await _records(run)
                run.persons.append(item)
                if len(run.persons) >= PERSON_BATCH:
                    await _persons(run)
            else:
                if run.persons:
                    await _persons(run)
                run.records.append(item)
                if len(run.records) >= RECORD_BATCH:
                    await _records(run)
    except Exception as error:
        problem = getattr(error, "problem", None)
        if problem is None:
            raise
        report.problems.append(problem)
        report.applied = report.batches > 0
        return report
    if run.persons:
        await _persons(run)
    if run.records:
        await _records(run)
    report = _finish(run)
    if apply:
        async with db.write() as session:
            session.add(AuditLog(at=now, actor_id=actor_id, action="register.imported", target_type="puskesmas",
                                 target_id=puskesmas_id, detail={"by": actor, "file": filename, **report.counts()}))
    return report


def _chain(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _finish(run: _Run) -> ImportReport:
    report = run.report
    for kind, touched in (("families", run.touched_families.values()), ("persons", run.touched_persons.values())):
        new = sum(1 for x in touched if x.new)
        updated = sum(1 for x in touched if x.changed and not x.new)
        setattr(report, f"{kind}_new", new)
        setattr(report, f"{kind}_updated", updated)
        setattr(report, f"{kind}_unchanged", len(touched) - new - updated)
    return report


# -- persons ---------------------------------------------------------------------------------------------


_PERSON_FIELDS = ("sex", "birth", "precision", "nik", "weight_g", "hpht", "due", "delivered")
_PERSON_COLUMNS = {"sex": "sex", "birth": "birth_date", "precision": "birth_precision", "nik": "nik",
                   "weight_g": "birth_weight_g", "hpht": "hpht", "due": "due_date", "delivered": "delivered_on"}
_FAMILY_FIELDS = ("name", "dusun", "rt", "rw", "phone", "posyandu_id", "no_kk")


async def _persons(run: _Run) -> None:
    """Matches a batch of person rows, then writes it (apply) in one transaction."""
    gc.freeze()
    rows, run.persons = run.persons, []
    elsewhere_nik, elsewhere_kk = await _elsewhere(run, rows)
    new_fams: list[_Fam] = []
    new_pers: list[_Per] = []
    changed_fams: dict[int, _Fam] = {}
    changed_pers: dict[int, _Per] = {}
    report = run.report
    for row in rows:
        where = row.where
        if row.nik and row.nik in elsewhere_nik:
            run.problem("nik_elsewhere", where, column="nik", value=row.nik)
            continue
        if row.no_kk and row.no_kk in elsewhere_kk:
            run.problem("kk_elsewhere", where, column="no_kk", value=row.no_kk)
            continue
        key = (norm_name(row.name), row.birth_date, row.no_kk or row.mother_nik)
        first = (run.file_nik.get(row.nik) if row.nik else None) or (run.file_key.get(key) if row.birth_date else None)
        if first is not None:
            run.problem("duplicate_in_file", where, row=first)
            continue
        per, trouble = _match_person(run, row)
        if trouble:
            run.problem(*trouble[:1], where, **trouble[1])
            continue
        fam = _family_of(run, row, per)
        place, wrong = run.place_of(row)
        if wrong is not None and not (fam is not None and wrong[0] == "place_ambiguous"):
            code, params, column, value = wrong
            run.problem(code, where, column=column, value=value, **params)
            continue
        if per is not None and fam is not None and per.fam is not fam:
            run.problem("other_family", where, family=per.fam.code)
            continue
        if per is None and row.sex is None:
            run.problem("sex_missing", where, column="sex")
            continue
        if fam is None:
            if place is None:
                run.problem("place_missing", where)
                continue
            fam = _Fam(run.placeholder(), row.no_kk, place.id, None, (row.family_name or row.name)[:80], row.dusun,
                       _rtrw(row.rt), _rtrw(row.rw), row.phone, new=True)
            new_fams.append(fam)
            run.families[fam.id] = fam
            if fam.no_kk:
                run.by_kk[fam.no_kk] = fam
            elif row.family_name:
                run.by_head[_head_key(row)] = fam
        else:
            for name, value in _family_changes(run, fam, row, place):
                setattr(fam, name, value)
                report.fields_updated[f"family.{'posyandu' if name == 'posyandu_id' else name}"] += 1
                fam.changed = fam.changed or not fam.new
                if fam.id > 0:  # written already (a family new in an earlier batch too)
                    changed_fams[id(fam)] = fam
        run.touched_families[id(fam)] = fam
        if row.nik:
            run.file_nik[row.nik] = where.row
        if row.birth_date:
            run.file_key[key] = where.row
        wanted = _person_values(row)
        if per is None:
            per = _Per(run.placeholder(), fam, row.name[:80], wanted["sex"], wanted["birth"], wanted["precision"],
                       wanted["nik"], wanted["weight_g"], wanted["hpht"], wanted["due"], None, new=True)
            run._index(per)
            new_pers.append(per)
        elif _update_person(run, per, wanted):
            changed_pers[id(per)] = per
        run.touched_persons[id(per)] = per
        for parent in _parents(run, row, fam, elsewhere_nik):
            new_pers.append(parent)
            run.touched_persons[id(parent)] = parent
            report.parents_new += 1
    if run.apply and (new_fams or new_pers or changed_fams or changed_pers):
        async with run.db.write() as session:
            await _write_families(run, session, new_fams, list(changed_fams.values()))
            await _write_persons(run, session, new_pers, list(changed_pers.values()))
        run.report.batches += 1


def _parents(run: _Run, row: PersonRow, fam: _Fam, elsewhere_nik: set[str]) -> list[_Per]:
    """The mother and father a child's row names (e-PPGBM's Data Dasar: NIK and name of each) who are not
    yet in the family: new members of it, with the sex their column gives and the birth date their NIK
    says. A parent known by NIK (here or, a problem of their own row, in another puskesmas), or a member of
    the family by that name, is not added again; a parent without a name is not added."""
    out = []
    for sex, nik, name in (("F", row.mother_nik, row.mother_name), ("M", row.father_nik, row.father_name)):
        if not name or not name.strip() or (nik and (nik in run.by_nik or nik in elsewhere_nik)):
            continue
        norm = norm_name(name)
        if any(member.norm == norm for member in fam.members):
            continue
        birth = _birth_from_nik(nik, run.now.date()) if nik else None
        parent = _Per(run.placeholder(), fam, name.strip()[:80], sex, birth, None, nik, None, None, None,
                      None, new=True)
        run._index(parent)
        out.append(parent)
    return out


def _birth_from_nik(nik: str, today: date) -> date | None:
    """The birth date a parent's NIK says (the century that makes them at least 10 years old), or None
    when the NIK is no valid 16 digits with a date."""
    if not is_nik_shape(nik):
        return None
    parts = nik_parts(nik)
    year = 2000 + parts.year2 if 2000 + parts.year2 <= today.year - 10 else 1900 + parts.year2
    try:
        return date(year, parts.month, parts.day)
    except ValueError:
        return None


def _update_person(run: _Run, per: _Per, wanted: dict[str, Any]) -> bool:
    """Sets on a known person the filled values that differ (see the module's documentation); whether any did."""
    changes = {}
    for name in ("sex", "birth", "nik", "weight_g", "hpht", "due"):
        value = wanted[name]
        if value is None or getattr(per, name) == value or (name == "nik" and per.nik):
            continue
        if name == "due" and per.due is not None and per.hpht == wanted["hpht"]:
            continue  # an HPL of its own (kehamilan) stays while the HPHT is the same
        changes[name] = value
    if wanted["birth"] is not None and wanted["read_precision"] != read_precision(per.precision):
        changes["precision"] = wanted["precision"]
    for name, value in changes.items():
        setattr(per, name, value)
        if name != "precision" and not per.new:
            run.report.fields_updated[f"person.{_PERSON_COLUMNS[name]}"] += 1
    if "nik" in changes:
        run.by_nik[per.nik] = per
    if changes and not per.new:
        per.changed = True
        return True
    return False


def _head_key(row: PersonRow) -> tuple:
    return (norm_name(row.family_name), _norm_place(row.village_code or row.village_name or row.posyandu),
            _norm_place(row.dusun), _rtrw(row.rt), _rtrw(row.rw))


def _person_values(row: PersonRow) -> dict[str, Any]:
    due = due_date_from_hpht(row.hpht) if row.hpht else None
    return {"sex": row.sex, "birth": row.birth_date, "precision": _BIRTH_PRECISION.get(row.birth_precision, row.birth_precision),
            "read_precision": row.birth_precision or DAY,
            "nik": row.nik, "weight_g": row.birth_weight_g, "hpht": row.hpht, "due": due}


def _family_changes(run: _Run, fam: _Fam, row: PersonRow, place: Posyandu | None) -> list[tuple[str, Any]]:
    """(field, value) of a known family the row changes: filled cells that differ."""
    wanted = {"name": row.family_name[:80] if row.family_name else None, "dusun": row.dusun, "rt": _rtrw(row.rt),
              "rw": _rtrw(row.rw), "phone": row.phone, "posyandu_id": place.id if place else None,
              "no_kk": row.no_kk if not fam.no_kk and row.no_kk not in run.by_kk else None}
    out = [(k, v) for k, v in wanted.items() if v is not None and getattr(fam, k) != v]
    if any(k == "no_kk" for k, _v in out):
        run.by_kk[row.no_kk] = fam
    return out


def _family_of(run: _Run, row: PersonRow, per: _Per | None) -> _Fam | None:
    if row.no_kk and row.no_kk in run.by_kk:
        return run.by_kk[row.no_kk]
    if per is not None:
        return per.fam
    if not row.no_kk and row.family_name:
        return run.by_head.get(_head_key(row))
    return None


def _match_person(run: _Run, row: PersonRow) -> tuple[_Per | None, tuple | None]:
    """The known person a row is, or None; or a problem (code, params)."""
    norm = norm_name(row.name)
    if row.nik and row.nik in run.by_nik:
        per = run.by_nik[row.nik]
        if per.norm != norm:
            return None, ("nik_other_name", {"name": per.name, "column": "nik", "value": row.nik})
        return per, None
    fam = run.by_kk.get(row.no_kk) if row.no_kk else None
    if fam is None and row.mother_nik and row.mother_nik in run.by_nik:
        fam = run.by_nik[row.mother_nik].fam
    if fam is not None and row.birth_date:
        for per in fam.members:
            if per.norm == norm and (per.birth == row.birth_date or per.birth is None):  # None: a parent added without NIK
                if per.nik and row.nik and per.nik != row.nik:
                    return None, ("nik_conflict", {"column": "nik", "value": row.nik})
                return per, None
    if row.birth_date:
        same = [p for p in run.by_name_birth.get((norm, row.birth_date), ()) if p.fam is not fam]
        if (fam is None and not row.no_kk and not row.mother_nik and len(same) == 1 and not same[0].fam.no_kk
                and not (same[0].nik and row.nik)):
            return same[0], None  # named by neither No KK nor NIK, the one person of that name and birth with none
        for per in same:
            if not per.nik or not row.nik:
                return None, ("maybe_duplicate", {"name": per.name, "family": per.fam.code or per.fam.name})
    return None, None


async def _elsewhere(run: _Run, rows: list[PersonRow]) -> tuple[set[str], set[str]]:
    """NIKs and No KKs of the batch registered in another puskesmas (one query each)."""
    niks = sorted({n for r in rows for n in (r.nik, r.mother_nik, r.father_nik) if n and n not in run.by_nik})
    kks = sorted({r.no_kk for r in rows if r.no_kk and r.no_kk not in run.by_kk})
    found_nik: set[str] = set()
    found_kk: set[str] = set()
    if not niks and not kks:
        return found_nik, found_kk
    f, p, y = Family.__table__.c, Person.__table__.c, Posyandu.__table__.c
    async with run.db.read() as session:
        conn = await session.connection()
        if niks:
            found_nik = set((await conn.execute(
                select(p.nik).join(Family.__table__, f.id == p.family_id).join(Posyandu.__table__, y.id == f.posyandu_id)
                .where(p.nik.in_(bindparam("n", expanding=True)), y.puskesmas_id != run.puskesmas.id), {"n": niks})).scalars())
        if kks:
            found_kk = set((await conn.execute(
                select(f.no_kk).join(Posyandu.__table__, y.id == f.posyandu_id)
                .where(f.no_kk.in_(bindparam("k", expanding=True)), y.puskesmas_id != run.puskesmas.id), {"k": kks})).scalars())
    return found_nik, found_kk


async def _write_families(run: _Run, session, new: list[_Fam], changed: list[_Fam]) -> None:
    table = Family.__table__
    conn = await session.connection()
    if new:
        codes = await _free_codes(conn, len(new))
        values = []
        for fam, code in zip(new, codes):
            fam.code = code
            values.append((fam.posyandu_id, code, fam.name, fam.dusun, fam.rt, fam.rw, fam.phone, fam.no_kk, run.now, run.now, run.now))
        ids = await bulk_insert(session, table, ("posyandu_id", "code", "name", "dusun", "rt", "rw", "phone", "no_kk",
                                                 "registered_at", "created_at", "updated_at"), values, ids=True)
        for fam, fid in zip(new, ids):
            del run.families[fam.id]
            fam.id = fid
            run.families[fid] = fam
            fam.new = True
    if changed:
        await conn.execute(
            update(table).where(table.c.id == bindparam("fid"))
            .values({**{name: bindparam(name) for name in _FAMILY_FIELDS}, "updated_at": bindparam("updated")}),
            [{"fid": f.id, **{name: getattr(f, name) for name in _FAMILY_FIELDS}, "updated": run.now} for f in changed])


async def _free_codes(conn, n: int) -> list[str]:
    """``n`` new family codes no family has (one query; a clash, about never, draws again)."""
    table = Family.__table__
    while True:
        codes = list(dict.fromkeys(random_family_code() for _ in range(n)))
        taken = set((await conn.execute(select(table.c.code).where(table.c.code.in_(bindparam("c", expanding=True))),
                                        {"c": codes})).scalars())
        if len(codes) == n and not taken:
            return codes


async def _write_persons(run: _Run, session, new: list[_Per], changed: list[_Per]) -> None:
    if new:
        values = [(p.fam.id, p.name, p.sex, p.birth, p.precision, p.nik, p.weight_g, p.hpht, p.due, p.delivered, run.now, run.now)
                  for p in new]
        ids = await bulk_insert(session, Person.__table__, (
            "family_id", "name", "sex", "birth_date", "birth_precision", "nik", "birth_weight_g", "hpht", "due_date",
            "delivered_on", "created_at", "updated_at"), values, ids=True)
        for per, pid in zip(new, ids):
            per.id = pid
    if changed:
        await _update_persons(run, await session.connection(), changed)


async def _update_persons(run: _Run, conn, changed: list[_Per]) -> None:
    table = Person.__table__
    await conn.execute(
        update(table).where(table.c.id == bindparam("pid"))
        .values({**{col: bindparam(col) for col in _PERSON_COLUMNS.values()}, "updated_at": bindparam("updated")}),
        [{"pid": p.id, **{col: getattr(p, name) for name, col in _PERSON_COLUMNS.items()}, "updated": run.now} for p in changed])


# -- doses, measurements, pregnancies ---------------------------------------------------------------------


def _resolve(run: _Run, ref: PersonRef) -> _Per | None:
    """The person a row of another kind names: by NIK, else by name and birth date in the family of the No
    KK (or of the mother's NIK)."""
    if ref.nik and ref.nik in run.by_nik:
        return run.by_nik[ref.nik]
    if not ref.name:
        return None
    fam = run.by_kk.get(ref.no_kk) if ref.no_kk else None
    if fam is None and ref.mother_nik and ref.mother_nik in run.by_nik:
        fam = run.by_nik[ref.mother_nik].fam
    norm = norm_name(ref.name)
    if fam is None:
        if ref.no_kk or ref.mother_nik or ref.birth_date is None:
            return None
        # named by neither No KK nor NIK: the one person of that name and birth date with neither (as in anggota)
        same = run.by_name_birth.get((norm, ref.birth_date), ())
        return same[0] if len(same) == 1 and not same[0].nik and not same[0].fam.no_kk else None
    found = [p for p in fam.members if p.norm == norm and (ref.birth_date is None or p.birth == ref.birth_date)]
    return found[0] if len(found) == 1 else None


async def _records(run: _Run) -> None:
    """Matches a batch of dose, measurement and pregnancy rows against the persons' records, then writes it."""
    gc.freeze()
    rows, run.records = run.records, []
    resolved: list[tuple[Row, _Per]] = []
    for row in rows:
        per = _resolve(run, row.person)
        if per is None:
            run.problem("person_not_found", row.where, value=row.person.nik or row.person.name)
            continue
        resolved.append((row, per))
    known = {per.id for _row, per in resolved if per.id > 0 and (per.batched or not per.new)}
    for _row, per in resolved:
        per.batched = True
    text_dates = run.reads.path is not None
    # First what is recorded already as it stands, as two sets built by the driver: (person, code, day) of
    # the records with an exact day, (person, day, kind, value) of the measurements. Most rows of a
    # re-import are found there and need nothing more.
    same_day: set[tuple] = set()
    measured: set[tuple] = set()
    if known:
        ids = ", ".join(str(int(i)) for i in sorted(known))  # integers: safe to write into the SQL
        wanted = {type(row) for row, _per in resolved}
        queries = [f"SELECT person_id, code, done_on FROM care_record WHERE person_id IN ({ids}) AND precision = 'day'"
                   f"{_codes_of(wanted)}"]
        if MeasureRow in wanted:
            queries.append("SELECT v.person_id, v.visited_on, m.kind, m.value FROM measurement m JOIN visit v ON v.id = m.visit_id "
                           f"WHERE v.person_id IN ({ids})")
        found = await run.reads.sets(*queries)
        same_day = found[0]
        measured = found[1] if MeasureRow in wanted else measured
    slow: list[tuple[Row, _Per]] = []
    for row, per in resolved:
        kind = type(row)
        if kind is DoseRow:
            if row.precision == DAY and row.on is not None \
                    and (per.id, row.code, row.on.isoformat() if text_dates else row.on) in same_day:
                continue  # recorded on that day already: unchanged
        elif kind is MeasureRow and per.id in known and _measured_already(row, per, same_day, measured, text_dates):
            continue
        slow.append((row, per))
    if not slow:
        return
    # The rest compared with the records, visits and measurements in full (of the persons with such rows).
    records: dict[int, dict[str, list[list]]] = {}
    visits: dict[int, dict[date, list]] = defaultdict(dict)
    raw_rows: list[tuple] = []  # the records read, made into ``records`` for the persons that need them
    again = sorted({per.id for _row, per in slow if per.id in known})
    if again:
        ids = ", ".join(str(int(i)) for i in again)
        wanted = {type(row) for row, _per in slow}
        queries = [f"SELECT id, person_id, code, done_on, precision, source FROM care_record WHERE person_id IN ({ids})"
                   f"{_codes_of(wanted)}"]
        if MeasureRow in wanted:
            queries += [f"SELECT id, person_id, visited_on FROM visit WHERE person_id IN ({ids}) ORDER BY id",
                        "SELECT m.id, m.visit_id, m.kind, m.value, m.detail FROM measurement m JOIN visit v ON v.id = m.visit_id "
                        f"WHERE v.person_id IN ({ids})"]
        found = await run.reads.rows(*queries)
        raw_rows = found[0]
        if MeasureRow in wanted:
            measures: dict[int, dict[str, list]] = defaultdict(dict)
            for mid, vid, kind, value, detail in found[2]:
                measures[vid][kind] = [mid, value, detail]
            for vid, pid, on in found[1]:
                visits[pid].setdefault(_date(on), [vid, measures.get(vid, {})])
    plan = _Plan()
    raw: dict[int, list[tuple]] | None = None

    def records_of(per: _Per) -> dict[str, list[list]]:
        nonlocal raw
        found = records.get(per.id)
        if found is None:
            if raw is None:
                raw = defaultdict(list)
                for record in raw_rows:
                    raw[record[1]].append(record)
            found = records[per.id] = defaultdict(list)
            for rid, _pid, code, on, precision, source in raw.get(per.id, ()):
                found[code].append([rid, _date(on), precision, source])
        return found

    for row, per in slow:
        kind = type(row)
        if kind is MeasureRow:
            weighed = (per.id, "TIMBANG", row.on.isoformat() if text_dates else row.on) in same_day
            _measure(run, plan, row, per, records_of, visits[per.id], weighed)
            continue
        pr = records_of(per)
        if kind is DoseRow:
            _dose(run, plan, row, per, pr)
        elif isinstance(row, PregnancyRow):
            _pregnancy(run, plan, row, per, pr)
    if run.apply and plan.any():
        async with run.db.write() as session:
            await _write_plan(run, session, plan)
        run.report.batches += 1


def _codes_of(kinds: set[type]) -> str:
    """The SQL condition on the record codes rows of ``kinds`` compare with: doses, TIMBANG, ANC."""
    codes = {DoseRow: _DOSE_CODES, MeasureRow: "'TIMBANG'", PregnancyRow: _ANC_CODES}
    return f" AND code IN ({', '.join(codes[kind] for kind in kinds)})"


def _measured_already(row: MeasureRow, per: _Per, same_day: set, measured: set, text_dates: bool) -> bool:
    """Whether every value of the row is recorded that day as it is (and the weighing of a child under five
    as TIMBANG); a row that says how a length was measured is compared in full."""
    on = row.on.isoformat() if text_dates else row.on
    found = False
    for attr, kind in _MEASURES:
        value = getattr(row, attr)
        if value is None:
            continue
        if (kind == "length_cm" and row.position) or (per.id, on, kind, float(value)) not in measured:
            return False
        found = True
    if row.weight_kg is not None and per.birth and 0 <= age_months(per.birth, row.on) < CHILD_MONTHS:
        return (per.id, "TIMBANG", on) in same_day
    return found


class _Plan:
    """What a batch of record rows writes."""

    def __init__(self) -> None:
        self.records: list[list] = []  # [person, code, day, precision, visit id]: record_many's rows, the person's id once written
        self.redates: list[tuple[int, date, str]] = []
        self.visits: list[list] = []  # [per, on, posyandu_id, {kind: (value, detail)}, records]
        self.add_measures: list[tuple[int, str, float, str | None]] = []
        self.set_measures: list[tuple[int, float, str | None]] = []
        self.persons: dict[int, _Per] = {}

    def any(self) -> bool:
        return bool(self.records or self.redates or self.visits or self.add_measures or self.set_measures or self.persons)


def _check_date(run: _Run, row: Row, per: _Per, on: date, column: str | None) -> bool:
    if on > run.today:
        run.problem("date_future", row.where, column=column, value=on.isoformat())
        return False
    if per.birth and on < per.birth:
        run.problem("date_before_birth", row.where, column=column, value=on.isoformat())
        return False
    return True


def _dose(run: _Run, plan: _Plan, row: DoseRow, per: _Per, pr: dict[str, list[list]]) -> None:
    """A dose: unchanged when recorded on that day (that month, for a month; at all, for "sudah"); a
    record of a month or "sudah" is given the exact day; a record the import made is moved to the new
    day; one made otherwise on another day is kept (a problem)."""
    existing = pr[row.code]  # [record id (None: planned), day, precision, source]
    if not existing and row.precision == DAY and row.on is not None:  # the usual new dose
        if _check_date(run, row, per, row.on, row.column):
            existing.append([None, row.on, DAY, SOURCE])
            plan.records.append([per, row.code, row.on, DAY, None])
            run.report.doses_added += 1
        return
    if row.precision == UNKNOWN or row.on is None:
        if existing:
            return
        if per.birth is None:
            run.problem("no_birth_date", row.where, column=row.column, value=_("sudah"))
            return
        try:
            on = unknown_dose_date(row.code, per.birth, run.today)
        except ValueError:
            on = run.today
        precision = UNKNOWN
    elif row.precision == MONTH:
        if any((r[1].year, r[1].month) == (row.on.year, row.on.month) for r in existing):
            return
        try:
            on = month_date(row.on.year, row.on.month, run.today, per.birth)
        except ValueError as error:
            run.problem("date_future" if str(error) == "future" else "date_before_birth", row.where, column=row.column,
                        value=f"{row.on:%m-%Y}")
            return
        precision = MONTH
    else:
        on, precision = row.on, DAY
        if not _check_date(run, row, per, on, row.column):
            return
        same = [r for r in existing if r[1] == on]
        vague = [r for r in existing if r[2] == UNKNOWN or (r[2] == MONTH and (r[1].year, r[1].month) == (on.year, on.month))]
        for old in same or vague:
            if old[2] != DAY or old[1] != on:
                if old[0] is None:
                    break
                plan.redates.append((old[0], on, DAY))
                old[1], old[2] = on, DAY
                run.report.doses_updated += 1
            return
    if existing and is_dose(row.code):
        old = existing[-1]
        if old[0] is not None and (old[3] == SOURCE or old[2] != DAY):
            plan.redates.append((old[0], on, precision))
            old[1], old[2] = on, precision
            run.report.doses_updated += 1
        else:
            run.problem("dose_date_differs", row.where, column=row.column, value=on.isoformat(), recorded=old[1].isoformat())
        return
    existing.append([None, on, precision, SOURCE])
    plan.records.append([per, row.code, on, precision, None])
    run.report.doses_added += 1


_MEASURES = (("weight_kg", "weight_kg"), ("height_cm", "length_cm"), ("head_cm", "head_cm"), ("muac_cm", "muac_cm"))


def _measure(run: _Run, plan: _Plan, row: MeasureRow, per: _Per, records_of, visits: dict[date, list], weighed: bool) -> None:
    """A day's measurements: a new visit, or what differs from the visit of that day; a child's weighing
    is its TIMBANG record (``weighed``: recorded already)."""
    if not _check_date(run, row, per, row.on, None):
        return
    months = age_months(per.birth, row.on) if per.birth else None
    values = {}
    for attr, kind in _MEASURES:
        value = getattr(row, attr)
        if value is not None:
            detail = None
            if kind == "length_cm":
                detail = row.position or ("l" if months is not None and months < LYING_MONTHS else "h")
            values[kind] = (float(value), detail)
    if not values:
        return
    if months is not None and 0 <= months < CHILD_MONTHS and per.sex in ("M", "F") and _impossible_size(run, row, per, values):
        return
    timbang = "weight_kg" in values and months is not None and 0 <= months < CHILD_MONTHS
    visit = visits.get(row.on)
    if visit is None:
        entry = [per, row.on, per.fam.posyandu_id, values, timbang]
        plan.visits.append(entry)
        visits[row.on] = [entry, {k: [None, v, d] for k, (v, d) in values.items()}]
        run.report.measurements_added += len(values)
        if timbang:
            records_of(per)["TIMBANG"].append([None, row.on, DAY, SOURCE])
        return
    vid, stored = visit  # vid: the stored visit's id, or the entry of one planned in this batch
    for kind, (value, detail) in values.items():
        old = stored.get(kind)
        if old is None:
            stored[kind] = [None, value, detail]
            if isinstance(vid, int):
                plan.add_measures.append((vid, kind, value, detail))
            else:
                vid[3][kind] = (value, detail)
            run.report.measurements_added += 1
        elif abs(old[1] - value) > 1e-9 or (kind == "length_cm" and row.position and old[2] != detail):
            old[1], old[2] = value, detail
            if old[0] is not None:
                plan.set_measures.append((old[0], value, detail))
            elif not isinstance(vid, int):
                vid[3][kind] = (value, detail)
            run.report.measurements_updated += 1
    if timbang and not weighed and not any(r[1] == row.on for r in records_of(per)["TIMBANG"]):
        records_of(per)["TIMBANG"].append([None, row.on, DAY, SOURCE])
        if isinstance(vid, int):
            plan.records.append([per, "TIMBANG", row.on, DAY, vid])
        else:
            vid[4] = True


#: the template's headers of a child's weight and length (a problem names its column)
_MEASURE_HEADERS = {c.key: c.header for c in PENGUKURAN_COLUMNS if c.key in ("weight_kg", "height_cm")}


def _impossible_size(run: _Run, row: MeasureRow, per: _Per, values: dict[str, tuple[float, str | None]]) -> bool:
    """Whether a child's weight or length cannot be true (``care.plausibility.impossible_size``, as the chat's
    visit refuses it): the row is then a problem, naming the likely slip (``82`` for ``8,2``) when there is one."""
    weight, length = values.get("weight_kg"), values.get("length_cm")
    if weight is None and length is None:
        return False
    refusal = impossible_size(1 if per.sex == "M" else 2, per.birth, row.on, weight_kg=weight[0] if weight else None,
                              length_cm=length[0] if length else None, measured=length[1] if length else None)
    if refusal is None:
        return False
    column = {"weight_kg": "weight_kg", "length_cm": "height_cm"}.get(refusal.measure or "")
    if refusal.suggestion is not None and column is not None:
        run.problem("size_slip", row.where, column=_MEASURE_HEADERS[column], value=refusal.value, suggestion=float(refusal.suggestion))
    else:
        run.problem("size_impossible", row.where)
    return True


def _pregnancy(run: _Run, plan: _Plan, row: PregnancyRow, per: _Per, pr: dict[str, list[list]]) -> None:
    if per.sex != "F":
        run.problem("not_female", row.where, value=per.name)
        return
    due = row.due_date or (due_date_from_hpht(row.hpht) if row.hpht else None)
    changes = {k: v for k, v in (("hpht", row.hpht), ("due", due), ("delivered", row.delivered_on))
               if v is not None and getattr(per, k) != v}
    for name, value in changes.items():
        setattr(per, name, value)
        if not per.new:  # a person the run creates is counted as new, not as updated
            run.report.fields_updated[f"person.{_PERSON_COLUMNS[name]}"] += 1
    if changes and per.id > 0:
        plan.persons[id(per)] = per
    per.changed = per.changed or bool(changes and not per.new)
    run.touched_persons[id(per)] = per
    for number, on in row.anc:
        code = anc_code(number)
        if on > run.today:
            run.problem("date_future", row.where, column=f"K{number}", value=on.isoformat())
            continue
        if any(r[1] == on for r in pr[code]):
            continue
        pr[code].append([None, on, DAY, SOURCE])
        plan.records.append([per, code, on, DAY, None])
        run.report.anc_added += 1


_MEASURE_COLUMNS = ("visit_id", "kind", "value", "detail")


async def _write_plan(run: _Run, session, plan: _Plan) -> None:
    conn = await session.connection()
    if plan.persons:
        await _update_persons(run, conn, list(plan.persons.values()))
    records = list(plan.records)
    if plan.visits:
        ids = await bulk_insert(session, Visit.__table__, ("person_id", "posyandu_id", "visited_on", "place", "created_at"), [
            (per.id, posyandu_id, on, "posyandu", run.now) for per, on, posyandu_id, _values, _timbang in plan.visits], ids=True)
        measures = []
        for (per, on, _posyandu, values, timbang), vid in zip(plan.visits, ids):
            measures.extend((vid, k, v, d) for k, (v, d) in values.items())
            if timbang:
                records.append([per, "TIMBANG", on, DAY, vid])
        await bulk_insert(session, Measurement.__table__, _MEASURE_COLUMNS, measures)
    await bulk_insert(session, Measurement.__table__, _MEASURE_COLUMNS, plan.add_measures)
    if plan.set_measures:
        table = Measurement.__table__
        await conn.execute(update(table).where(table.c.id == bindparam("mid")).values(value=bindparam("v"), detail=bindparam("d")),
                           [{"mid": mid, "v": v, "d": d} for mid, v, d in plan.set_measures])
    await record_many(session, ((per.id, code, on, precision, visit) for per, code, on, precision, visit in records),
                      source=SOURCE, now=run.now)
    await redate_many(session, plan.redates)
