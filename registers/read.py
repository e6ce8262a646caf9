"""Reading a register file (CSV or XLSX) into typed rows and problems, streaming.

:func:`read_register` yields, per sheet it recognises, a :class:`~registers.model.Sheet`, then its
rows (``PersonRow``, ``DoseRow``, ``MeasureRow``, ``PregnancyRow``) and the :class:`Problem` of each
cell or row it cannot use, in file order. XLSX is read by :mod:`registers.xlsx` (the values openpyxl gives
with ``read_only=True, data_only=True``, read by calamine in slices of rows); CSV line by line. Memory
does not grow with the number of rows.

A file that cannot be imported at all raises :class:`BadFile` with one fatal Problem **before the
first item is yielded** (so a caller that writes as it reads has written nothing):

* ``file_too_big``: over :data:`MAX_BYTES`; ``file_empty``;
* ``file_type``: neither CSV nor XLSX, judged by the content, not the name (a PDF, a Word file, an
  OpenDocument sheet, binary data); ``file_xls``: the old Excel format (.xls);
* ``file_encrypted``: a password-protected XLSX (Office stores it as an OLE2/CFB container with an
  ``EncryptionInfo`` stream instead of a zip);
* ``file_broken``: a zip or workbook that cannot be opened, or a sheet whose XML is not well formed
  (each sheet read is parsed whole before its first row is used) or declares a document type (an XML
  bomb's way in); the one exception to "before the first item": a cell that names a shared string the
  workbook does not have, found when its row is read;
* ``file_formulas``: a recognised sheet holds formulas without a stored value (a file written by a
  program that does not calculate; Excel stores the values). Found by scanning the sheet's XML as
  a byte stream, which also yields its merged ranges;
* ``file_no_header``: no sheet has a header row this reader recognises (``registers.columns``).

Choices where a row is imperfect:

* the header row is the row, among the first :data:`HEADER_SEARCH_ROWS`, that names the most
  columns of one kind (title rows above it are skipped); a sheet without one gives ``sheet_ignored``
  (not for the template's "Petunjuk" sheet or an empty sheet); headers naming no column give one
  ``columns_ignored`` problem per sheet;
* empty rows are skipped; a cell inside a merged range takes the value of the range's top cell when
  it is in the same column (a No KK merged down a family's rows applies to each member; a range
  merged across columns fills only its first column);
* a cell that cannot be read gives a Problem (its code, the header as written, the value) and its
  field is left empty; the rest of the row still counts: a person without a readable birth date is
  still a person, a dose column that cannot be read drops that dose only, a K-column that cannot be
  read drops that contact only. A row is dropped (with its problem) only when what it is cannot be
  known: no NIK and no name with birth date (``no_identity``), a person without a name
  (``name_missing``), a measurement without a date (``measure_date_missing``);
* a NIK whose region or date part disagrees (``registers.nik``) is kept and reported; a NIK that is
  not 16 digits, or whose digits Excel dropped, is reported and left empty;
* a date after today (``date_future``, except an expected date of delivery) or, within the same row,
  before the birth date (``before_birth``) is reported and left empty;
* a measurement row whose value cells are all empty is skipped without a problem (not measured).
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from itertools import takewhile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from registers.columns import KEHAMILAN, PENGUKURAN, Column, Layout, header_key, recognise
from registers.model import DoseRow, MeasureRow, PersonRef, PersonRow, PregnancyRow, Problem, Row, Sheet, Where
from registers.nik import nik_problems
from registers.values import (
    DAY,
    CellError,
    cell_text,
    is_empty,
    read_birth_weight_g,
    read_cm,
    read_date,
    read_dose_cell,
    read_int,
    read_name,
    read_nik,
    read_phone,
    read_rt_rw,
    read_sex,
    read_text,
    read_weight_kg,
)
from registers.xlsx import Scan, Workbook, XlsxError

#: The largest file read (bytes).
MAX_BYTES = 50 * 1024 * 1024
#: How many rows from the top of a sheet may hold its header.
HEADER_SEARCH_ROWS = 10
#: Sheets the reader passes over without a word (the template's explanation).
SKIPPED_SHEETS = frozenset({"petunjuk", "instructions", "keterangan"})
_CHUNK = 1 << 20
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")
_VALUE_TEXT = 60  # the longest cell value carried in a problem
#: readings whose values rarely repeat (not memoized by _RowReader)
_UNIQUE = frozenset({"name", "phone"})
_MEMO_MAX = 100_000
_MISSING = object()


class BadFile(Exception):
    """The file cannot be imported at all; ``problem`` (fatal) says why in one sentence."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def _bad(code: str, **params: Any) -> BadFile:
    sheet = params.pop("sheet", None)
    return BadFile(Problem(code, sheet=sheet, params=params, fatal=True))


def read_register(source: bytes | Path, filename: str, *, today: date | None = None) -> Iterator[Sheet | Row | Problem]:
    """The sheets, rows and problems of a register file (see the module's docstring). ``filename``
    is only used to name the sheet of a CSV; the content decides the format. ``today`` (default: the
    system date) decides two-digit years and what is in the future. Raises :class:`BadFile`."""
    today = today or date.today()
    size = len(source) if isinstance(source, bytes | bytearray) else Path(source).stat().st_size
    if size > MAX_BYTES:
        raise _bad("file_too_big", size_mb=f"{size / 1024 / 1024:.0f}", limit_mb=str(MAX_BYTES // 1024 // 1024))
    if size == 0:
        raise _bad("file_empty")
    with _open(source) as handle:
        head = handle.read(8)
        handle.seek(0)
        if head.startswith(_OLE2):
            raise _bad("file_encrypted") if _contains(handle, _ENCRYPTION_INFO) else _bad("file_xls")
        if head.startswith(b"PK\x03\x04"):
            yield from _read_xlsx(handle, today)
        else:
            yield from _read_csv(handle, Path(filename).stem or filename, today)


def _open(source: bytes | Path) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes | bytearray) else Path(source).open("rb")


def _chunks(handle: BinaryIO, overlap: int = 0) -> Iterator[bytes]:
    """The file in chunks, each starting with the last ``overlap`` bytes of the one before."""
    tail = b""
    while block := handle.read(_CHUNK):
        yield tail + block
        tail = block[-overlap:] if overlap else b""


def _contains(handle: BinaryIO, needle: bytes) -> bool:
    found = any(needle in chunk for chunk in _chunks(handle, len(needle)))
    handle.seek(0)
    return found


# -- rows into model rows -------------------------------------------------------------------------------


@dataclass
class _RowReader:
    """Turns the cells of one sheet's rows into model rows and problems."""

    sheet: str
    found: Layout
    headers: tuple[str, ...]
    today: date
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._headers = {column.key: self.headers[i] if i < len(self.headers) else column.header
                         for i, column in self.found.columns.items()}
        self._columns = tuple(self.found.columns.items())
        #: what each cell value read to (or the CellError it raised), per kind of reading: a register repeats
        #: its dates, dose cells, sexes and places on thousands of rows; emptied when it grows large
        self._memo: dict[tuple[str, type, Any], Any] = {}
        self._nik_memo: dict[tuple, list] = {}

    def rows(self, number: int, cells: Sequence[Any]) -> Iterator[Row | Problem]:
        width = len(self.headers)
        where = Where.lazy(self.sheet, number, cells, width, cell_text)
        self.problems = []
        values: dict[str, Any] = {}
        raw: dict[str, tuple[Column, Any]] = {}
        memo = self._memo
        count = len(cells)
        for i, column in self._columns:
            cell = cells[i] if i < count else None
            if cell is None or (type(cell) is str and not cell.strip()):
                continue
            raw[column.key] = (column, cell)
            if column.reads in _UNIQUE:  # a name, a phone: rarely repeated (a NIK or No KK is, on each row of a child's history)
                try:
                    values[column.key] = self._read(column, cell)
                except CellError as err:
                    self._problem(err.code, column, cell, where, err.params)
                continue
            key = (column.reads, type(cell), cell)
            found = memo.get(key, _MISSING)
            if found is _MISSING:
                try:
                    found = self._read(column, cell)
                except CellError as err:
                    found = err
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[key] = found
            if type(found) is CellError:
                self._problem(found.code, column, cell, where, found.params)
            else:
                values[column.key] = found
        kind = self.found.kind
        if kind == PENGUKURAN:
            out = self._measure(values, raw, where)
        elif kind == KEHAMILAN:
            out = self._pregnancy(values, raw, where)
        elif kind == "imunisasi":
            out = self._doses(values, raw, where)
        else:
            out = self._person(values, raw, where)
        yield from self.problems
        yield from out

    # cells

    def _read(self, column: Column, cell: Any) -> Any:
        reads = column.reads
        if reads in ("nik", "kk"):
            return read_nik(cell)
        if reads == "name":
            return read_name(cell)
        if reads in ("date", "anc"):
            return read_date(cell, self.today)
        if reads == "due_date":
            return read_date(cell, self.today, prefer_future=True)
        if reads == "dose":
            return read_dose_cell(cell, self.today)
        if reads == "sex":
            return read_sex(cell)
        if reads == "order":
            return read_int(cell, low=1, high=20)
        if reads == "birth_weight":
            return read_birth_weight_g(cell)
        if reads == "birth_length":
            return read_cm(cell, low=20, high=70)
        if reads == "weight":
            return read_weight_kg(cell)
        if reads == "height":
            return read_cm(cell, low=30, high=250)
        if reads == "head":
            return read_cm(cell, low=20, high=70)
        if reads == "muac":
            return read_cm(cell, low=5, high=60)
        if reads == "position":
            return _position(cell)
        if reads == "phone":
            return read_phone(cell)
        if reads in ("rt_rw", "rt", "rw"):
            return read_rt_rw(cell)
        if reads == "village_code":
            return _village_code(cell)
        return read_text(cell) or None

    def _problem(self, code: str, column: Column | None, cell: Any, where: Where, params: dict | None = None) -> None:
        header = self._header(column) if column is not None else None
        value = cell_text(cell)[:_VALUE_TEXT] if cell is not None else None
        self.problems.append(Problem(code, self.sheet, where.row, header, value, dict(params or {}), where=where))

    def _date(self, key: str, values: dict, raw: dict, where: Where, *, birth: date | None = None,
              future_ok: bool = False) -> tuple[date | None, str | None]:
        """A date field checked against today and the birth date of the row."""
        found = values.get(key)
        if found is None:
            return None, None
        on, precision = found
        column, cell = raw[key]
        if not future_ok and on > self.today:
            self._problem("date_future", column, cell, where)
            return None, None
        if birth is not None and on < birth.replace(day=1 if precision != DAY else birth.day):
            self._problem("before_birth", column, cell, where)
            return None, None
        return on, precision

    def _nik_checks(self, key: str, nik: str | None, raw: dict, where: Where, *, birth: date | None = None,
                    precision: str | None = None, sex: str | None = None) -> None:
        if nik is None:
            return
        memo = self._nik_memo
        found = memo.get((nik, birth, precision, sex))
        if found is None:  # a register repeats a child's NIK on each of its doses' and weighings' rows
            found = nik_problems(nik, birth_date=birth, birth_precision=precision, sex=sex)
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            memo[(nik, birth, precision, sex)] = found
        if found:
            column, cell = raw[key]
            for code, params in found:
                self._problem(code, column, cell, where, params)

    def _ref(self, values: dict, raw: dict, where: Where, *, sex: str | None = None) -> PersonRef | None:
        birth, precision = self._date("birth_date", values, raw, where)
        nik = values.get("nik")
        self._nik_checks("nik", nik, raw, where, birth=birth, precision=precision, sex=sex)
        self._nik_checks("mother_nik", values.get("mother_nik"), raw, where, sex="F")
        name = values.get("name")
        if not nik and not (name and birth):
            self._problem("no_identity", None, None, where)
            return None
        return PersonRef(nik=nik, name=name, birth_date=birth, no_kk=values.get("no_kk"),
                         mother_nik=values.get("mother_nik"))

    # kinds

    def _person(self, values: dict, raw: dict, where: Where) -> list[Row]:
        birth, precision = self._date("birth_date", values, raw, where)
        sex = values.get("sex")
        nik = values.get("nik")
        self._nik_checks("nik", nik, raw, where, birth=birth, precision=precision, sex=sex)
        self._nik_checks("mother_nik", values.get("mother_nik"), raw, where, sex="F")
        self._nik_checks("father_nik", values.get("father_nik"), raw, where, sex="M")
        name = values.get("name")
        if not name:
            self._problem("name_missing" if nik or birth else "no_identity", None, None, where)
            return []
        if not nik and not birth:
            self._problem("no_identity", None, None, where)
            return []
        rt = rw = None
        if "rt_rw" in values:
            rt, rw = values["rt_rw"]
        if "rt" in values:
            rt = values["rt"][0]
        if "rw" in values:
            rw = values["rw"][0]
        hpht, _ = self._date("hpht", values, raw, where)
        relation = values.get("relation")
        return [PersonRow(
            where=where, no_kk=values.get("no_kk"), nik=nik, name=name, birth_date=birth,
            birth_precision=precision, sex=sex, family_name=values.get("family_name"),
            relation=relation.lower() if relation else None, birth_order=values.get("birth_order"),
            birth_weight_g=values.get("birth_weight_g"), birth_length_cm=values.get("birth_length_cm"),
            mother_nik=values.get("mother_nik"), mother_name=values.get("mother_name"),
            father_nik=values.get("father_nik"), father_name=values.get("father_name"),
            address=values.get("address"), village_code=values.get("village_code"),
            village_name=values.get("village_name"), dusun=values.get("dusun"), rt=rt, rw=rw,
            posyandu=values.get("posyandu"), phone=values.get("phone"), hpht=hpht,
        )]

    def _doses(self, values: dict, raw: dict, where: Where) -> list[Row]:
        person = self._ref(values, raw, where)
        if person is None:
            return []
        out: list[Row] = []
        for key in [k for k in values if k.startswith("dose:")]:
            given = values[key]
            if given is None:
                continue
            column, cell = raw[key]
            on, precision = given
            if on is not None:
                on, precision = self._date(key, values, raw, where, birth=person.birth_date)
                if on is None:
                    continue
            out.append(DoseRow(where, person, column.dose, on, precision, self._header(column)))
        return out

    def _measure(self, values: dict, raw: dict, where: Where) -> list[Row]:
        measured = {k: values.get(k) for k in ("weight_kg", "height_cm", "lying_cm", "standing_cm", "head_cm",
                                               "muac_cm")}
        if not any(k in raw for k in measured):
            return []  # not measured that time
        person = self._ref(values, raw, where)
        if person is None:
            return []
        on, precision = self._date("on", values, raw, where, birth=person.birth_date)
        if on is None and "on" not in raw:
            on, precision = self._date("month", values, raw, where, birth=person.birth_date)
        if on is None:
            if "on" not in raw and "month" not in raw:
                self._problem("measure_date_missing", None, None, where)
            return []
        position = values.get("position")
        height = measured["height_cm"]
        if height is None and measured["lying_cm"] is not None:
            height, position = measured["lying_cm"], position or "l"
        elif height is None and measured["standing_cm"] is not None:
            height, position = measured["standing_cm"], position or "h"
        if all(v is None for v in (measured["weight_kg"], height, measured["head_cm"], measured["muac_cm"])):
            return []  # every value given was unreadable: its problems say so
        return [MeasureRow(where, person, on, weight_kg=measured["weight_kg"], height_cm=height,
                           head_cm=measured["head_cm"], muac_cm=measured["muac_cm"], position=position,
                           precision=precision or DAY)]

    def _pregnancy(self, values: dict, raw: dict, where: Where) -> list[Row]:
        person = self._ref(values, raw, where, sex="F")
        if person is None:
            return []
        hpht, _ = self._date("hpht", values, raw, where)
        due, _ = self._date("due_date", values, raw, where, future_ok=True)
        delivered, _ = self._date("delivered_on", values, raw, where)
        anc: list[tuple[int, date]] = []
        for key in sorted(k for k in values if k.startswith("anc:")):
            on, _ = self._date(key, values, raw, where)
            if on is not None:
                anc.append((raw[key][0].anc, on))
        return [PregnancyRow(where, person, hpht=hpht, due_date=due, anc=tuple(anc), delivered_on=delivered)]

    def _header(self, column: Column) -> str:
        """The header of ``column`` as written in the file."""
        return self._headers.get(column.key, column.header)


_POSITIONS = {"l": "l", "berbaring": "l", "terlentang": "l", "telentang": "l", "tidur": "l", "lying": "l",
              "h": "h", "berdiri": "h", "standing": "h", "b": "h"}


def _position(cell: Any) -> str:
    position = _POSITIONS.get(cell_text(cell).strip().lower().strip("."))
    if position is None:
        raise CellError("position")
    return position


def _village_code(cell: Any) -> str:
    text = re.sub(r"\s", "", cell_text(cell).lstrip("'"))
    if re.fullmatch(r"\d{10}", text):
        text = f"{text[0:2]}.{text[2:4]}.{text[4:6]}.{text[6:]}"
    if not re.fullmatch(r"\d{2}\.\d{2}\.\d{2}\.\d{4}", text):
        raise CellError("village_code")
    return text


# -- the header row --------------------------------------------------------------------------------------


def _find_header(rows: Iterable[tuple[int, Sequence[Any]]], sheet: str) -> tuple[int, Layout, tuple[str, ...]] | None:
    """Among the first rows, the one that names the most columns (at least two) of one kind: (its
    number, its layout, its cells as text)."""
    best: tuple[int, int, Layout, tuple[str, ...]] | None = None
    for number, cells in rows:
        found = recognise(cells, sheet)
        if found is None or len(found.columns) < 2:
            continue
        strength = len(found.columns)
        if best is None or strength > best[0]:
            best = (strength, number, found, tuple(cell_text(c) for c in cells))
    if best is None:
        return None
    headers = best[3]
    while headers and not headers[-1]:
        headers = headers[:-1]
    return best[1], best[2], headers


def _sheet_items(name: str, header_row: int, found: Layout, headers: tuple[str, ...]) -> Iterator[Sheet | Problem]:
    yield Sheet(name, found.kind, headers, header_row)
    if found.ignored:
        yield Problem("columns_ignored", sheet=name, row=header_row, params={"columns": ", ".join(found.ignored)})


def _is_empty_row(cells: Sequence[Any]) -> bool:
    return all(is_empty(c) for c in cells)


# -- XLSX -----------------------------------------------------------------------------------------------

def _filled(rows: Iterable[tuple[int, Sequence[Any]]], merges: list[tuple[int, int, int]]) -> Iterator[tuple[int, list[Any]]]:
    """Rows with each cell of a merged range below its top cell given the top cell's value (same column)."""
    pending = iter(merges)
    upcoming = next(pending, None)
    active: list[tuple[int, int, Any]] = []  # (column index, last row, value)
    for number, cells in rows:
        cells = list(cells)
        while upcoming is not None and upcoming[1] <= number:
            column, first, last = upcoming
            if first == number:
                active.append((column - 1, last, cells[column - 1] if column - 1 < len(cells) else None))
            upcoming = next(pending, None)
        if active:
            active = [a for a in active if a[1] >= number]
            for index, last, value in active:
                if index >= len(cells):
                    cells.extend([None] * (index + 1 - len(cells)))
                if cells[index] is None:
                    cells[index] = value
        yield number, cells


def _read_xlsx(handle: BinaryIO, today: date) -> Iterator[Sheet | Row | Problem]:
    try:
        archive = zipfile.ZipFile(handle)
        names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        raise _bad("file_broken") from None
    if "xl/workbook.xml" not in names:
        raise _bad("file_type")
    try:
        book = Workbook(archive)
        plan: list[tuple[str, str, int, Layout, tuple[str, ...], Scan]] = []
        skipped: list[Problem] = []
        for name, path in book.sheets:
            if header_key(name) in SKIPPED_SHEETS:
                continue
            rows = book.rows(path)
            top = list(takewhile(lambda row: row[0] <= HEADER_SEARCH_ROWS, rows))
            rows.close()
            header = _find_header(top, name)
            if header is None:
                if not all(_is_empty_row(c) for _n, c in top):
                    skipped.append(Problem("sheet_ignored", sheet=name))
                continue
            scan = book.scan(path)
            if scan.formulas:
                raise _bad("file_formulas", sheet=name, cell=scan.formula_cell or "", count=str(scan.formulas))
            plan.append((name, path, *header, scan))
        if not plan:
            raise _bad("file_no_header")
        yield from skipped
        for name, path, header_row, found, headers, scan in plan:
            yield from _sheet_items(name, header_row, found, headers)
            reader = _RowReader(name, found, headers, today)
            for number, cells in _filled(book.rows(path), scan.merges):
                if number <= header_row or _is_empty_row(cells):
                    continue
                yield from reader.rows(number, cells)
    except XlsxError:
        # Before the first item always: each sheet read is scanned whole first. A value that contradicts
        # its type (a shared string that does not exist) is found only when its row is read.
        raise _bad("file_broken") from None
    finally:
        archive.close()


# -- CSV ------------------------------------------------------------------------------------------------

_SEPARATORS = (",", ";", "\t")


def _encoding(handle: BinaryIO) -> str:
    """UTF-8 (with or without its BOM) when every byte decodes as UTF-8, else Windows-1252 when every
    byte is one of its characters, else Latin-1. Raises ``file_type`` for binary content."""
    start = handle.read(4)
    handle.seek(0)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    utf8_ok = cp1252_ok = True
    for chunk in _chunks(handle):
        if b"\x00" in chunk:
            raise _bad("file_type")
        if utf8_ok:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                utf8_ok = False
        if not utf8_ok and cp1252_ok:
            try:
                cp1252.decode(chunk)
            except UnicodeDecodeError:
                cp1252_ok = False
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    handle.seek(0)
    if utf8_ok:
        return "utf-8-sig" if start.startswith(codecs.BOM_UTF8) else "utf-8"
    return "cp1252" if cp1252_ok else "latin-1"


def _csv_rows(handle: BinaryIO, encoding: str, separator: str) -> Iterator[tuple[int, list[Any]]]:
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    try:
        for number, cells in enumerate(csv.reader(text, delimiter=separator), start=1):
            yield number, [cell if cell.strip() else None for cell in cells]
    finally:
        text.detach()


def _read_csv(handle: BinaryIO, name: str, today: date) -> Iterator[Sheet | Row | Problem]:
    if handle.read(5) == b"%PDF-":
        raise _bad("file_type")
    handle.seek(0)
    encoding = _encoding(handle)
    best: tuple[int, str, tuple[int, Layout, tuple[str, ...]]] | None = None
    for separator in _SEPARATORS:
        handle.seek(0)
        rows = _csv_rows(handle, encoding, separator)
        try:
            top = [row for row, _ in zip(rows, range(HEADER_SEARCH_ROWS))]
        except csv.Error:
            continue
        finally:
            rows.close()
        header = _find_header(top, name)
        if header is not None and (best is None or len(header[1].columns) > best[0]):
            best = (len(header[1].columns), separator, header)
    if best is None:
        raise _bad("file_no_header")
    _, separator, (header_row, found, headers) = best
    yield from _sheet_items(name, header_row, found, headers)
    reader = _RowReader(name, found, headers, today)
    handle.seek(0)
    try:
        for number, cells in _csv_rows(handle, encoding, separator):
            if number <= header_row or _is_empty_row(cells):
                continue
            yield from reader.rows(number, cells)
    except csv.Error:
        raise _bad("file_broken") from None
