"""A fast reader of the sheets of an XLSX workbook, with bounded memory: the values openpyxl gives with
``read_only=True, data_only=True``, at a fraction of its cost.

:class:`Workbook` reads the workbook's sheet names and order and :meth:`Workbook.rows` yields each row of
a sheet that holds a value as ``(row number, [cell values])``. The sheet's XML is cut, as bytes, into slices
of whole rows (:data:`_SLICE_BYTES`, the first one small); each slice is read by calamine (Rust, the
``python-calamine`` package) as a small workbook of its own with this workbook's styles and shared strings,
so memory is bounded by one slice however long the sheet, and the Python work per cell is one small
conversion. Reading a 43 MB register this way costs about a tenth of parsing it with expat callbacks
(``bench/RESULTS.md``). The values, as openpyxl gives them:

* shared and inline strings: the text of the plain part and of the rich text runs, joined (phonetic runs
  left out); formula string results as text; an empty text is no value (``None``);
* numbers: a whole number (below 2**53, which a float holds exactly) is an ``int``, else a ``float``; a
  number whose cell style has a date or time format becomes a ``datetime`` (a ``time`` below 1, a
  ``timedelta`` for an elapsed-time format) in the workbook's date system; booleans as ``bool``; errors
  (``t="e"``, which calamine gives as empty) as their text ("#N/A"), taken from the slice's XML;
  ISO dates (``t="d"``) parsed; a number cell holding a word gives the word;
* a cell missing between two cells of a row is ``None``; empty cells at the end of a row are not given;
  a cell without ``r`` follows the one before it, a row without ``r`` the row before it (a slice is cut
  only before a row that carries its number); rows without a value are not yielded.

One difference from openpyxl that a register may meet: the leading and trailing spaces of a text written
without ``xml:space="preserve"`` are dropped (Excel and LibreOffice write that attribute where they matter).

Formulas are ignored (their stored values are read). Anything that is not a well-formed workbook raises
:class:`XlsxError`: :meth:`Workbook.scan` parses each sheet whole with expat before any row is used, and
refuses a document type declaration outright, so no entity is ever expanded; a sheet that ends before its
rows do raises from :meth:`Workbook.rows` too.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from python_calamine import CalamineError, CalamineWorkbook

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CHUNK = 1 << 16


_SLICE_BYTES = 4 << 20
_FIRST_SLICE_BYTES = 256 << 10
_READ_BYTES = 256 << 10
_SHEET_DATA = re.compile(rb"<((?:\w+:)?)sheetData\b[^>]*?(/?)>")
_ROOT = re.compile(rb"<((?:\w+:)?worksheet)\b")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*/>")
_NUMBERED_ROW = re.compile(rb"\s*<(?:\w+:)?row\b[^>]*?\sr=\"\d")
_ROW_OPEN = re.compile(rb"\s*<(?:\w+:)?row\b[^>]*>")
_EXACT = 2 ** 53  # a whole number below this is held exactly by a float
_EMPTY_SHEET = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}"><sheetData/></worksheet>').encode()


def _slices(handle: Any, size: int) -> Iterator[bytes]:
    """The sheet XML read from ``handle`` as whole sheets of about ``size`` bytes each: the part before
    its rows (without its ``dimension``), whole rows, and the closing tags. A cut is made only before
    a row that carries its number (a row without one follows the row before it)."""
    buf = b""
    head = close = row_end = None
    pieces: list[bytes] = []
    held = 0
    limit = min(size, _FIRST_SLICE_BYTES)  # the first slice small: the header row is looked for in it
    while True:
        block = handle.read(_READ_BYTES)
        buf += block
        if head is None:
            found = _SHEET_DATA.search(buf)
            if found is None:
                if not block:
                    return
                continue
            root = _ROOT.search(buf, 0, found.start())
            if root is None or found[2]:
                return  # not a worksheet, or a sheet without rows
            head = _DIMENSION.sub(b"", buf[:found.end()])
            close = b"</" + found[1] + b"sheetData></" + root[1] + b">"
            row_end = b"</" + found[1] + b"row>"
            buf = buf[found.end():]
        if held >= limit and _ROW_OPEN.match(buf) and _NUMBERED_ROW.match(buf):
            yield head + b"".join(pieces) + close
            pieces, held, limit = [], 0, size
        cut = buf.rfind(row_end)
        if cut >= 0:
            cut += len(row_end)
            pieces.append(buf[:cut])
            held += cut
            buf = buf[cut:]
        if not block:
            if not buf.lstrip().startswith(close[:close.index(b">") + 1]):
                raise XlsxError("the sheet ends before its rows do")
            if pieces:
                yield head + b"".join(pieces) + close
            return


_ERROR_CELL = re.compile(rb"<(?:\w+:)?c\b(?=[^>]*\bt=\"e\")[^>]*?\br=\"([A-Z]{1,3})(\d+)\"[^>]*>\s*"
                         rb"(?:<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)\s*)?<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")


def _error_cells(xml: bytes) -> dict[int, list[tuple[int, str]]]:
    """Row number -> [(column number, text)] of the error cells (``t="e"``: "#N/A", "#REF!") of a slice:
    calamine gives them as empty, openpyxl as their text, which the register reports."""
    found: dict[int, list[tuple[int, str]]] = {}
    for m in _ERROR_CELL.finditer(xml):
        found.setdefault(int(m[2]), []).append((column_number(m[1]), m[3].decode()))
    return found


class XlsxError(Exception):
    """The workbook cannot be read: a broken zip, a missing part, XML that is not well formed or
    declares a document type, a value that contradicts its type."""


def _refuse_doctype(*_args: Any) -> None:
    raise XlsxError("document type declaration")


def _parser(namespaces: bool = True) -> Any:
    """An expat parser that refuses any document type declaration, hence any entity declaration. With
    ``namespaces`` it gives names as ``uri}name`` (ElementTree's spelling without its brace); without,
    as written (``c``, ``x:c``), which is a quarter faster (see :func:`_main_prefix`)."""
    parser = expat.ParserCreate(namespace_separator="}") if namespaces else expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.buffer_text = True
    parser.buffer_size = _CHUNK
    return parser


def _name(tag: str) -> str:
    return "{" + tag if "}" in tag else tag


def _tree(data: bytes) -> Element:
    """A small part (the workbook, its relationships, the styles) as an ElementTree element."""
    builder = TreeBuilder()
    parser = _parser()
    parser.StartElementHandler = lambda tag, attrs: builder.start(
        _name(tag), {_name(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda tag: builder.end(_name(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as err:
        raise XlsxError(str(err)) from None
    return builder.close()


def _resolve(base: str, target: str) -> str:
    """The path in the archive of a relationship's target, relative to the folder ``base``."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base, target))


@dataclass
class Scan:
    """What a sheet holds besides its values, found by scanning its XML as bytes: formulas without a
    stored value (the first cell and how many) and the ranges merged down more than one row (min
    column, min row, max row; 1-based, by min row)."""

    formula_cell: str | None = None
    formulas: int = 0
    merges: list[tuple[int, int, int]] = field(default_factory=list)


_FORMULA_CELL = re.compile(
    rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)\s*"
    rb"(<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)\"")
_REF = re.compile(rb"\br=\"([A-Z]{1,3}\d+)\"")
_SCAN_CHUNK = 1 << 20
_SCAN_OVERLAP = 8192


def column_number(letters: str | bytes) -> int:
    """"A" -> 1, "AB" -> 28."""
    number = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.upper().decode():
        number = number * 26 + ord(ch) - 64
    return number


class Workbook:
    """The sheets of an XLSX workbook in an open zip archive (which the caller closes)."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._archive = archive
        try:
            workbook = _tree(archive.read("xl/workbook.xml"))
            rels = _tree(archive.read("xl/_rels/workbook.xml.rels"))
        except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise XlsxError(str(err)) from None
        names = set(archive.namelist())
        targets: dict[str, tuple[str, str]] = {}  # relationship id -> (path, type)
        by_type: dict[str, str] = {}
        for rel in rels.iter(f"{{{_PACKAGE_REL}}}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            path = _resolve("xl", rel.get("Target", ""))
            kind = rel.get("Type", "").rpartition("/")[2]
            targets[rel.get("Id", "")] = (path, kind)
            by_type.setdefault(kind, path)
        #: (sheet name, path of its XML) in the workbook's order; chart sheets and sheets whose part is
        #: missing are left out.
        self.sheets: list[tuple[str, str]] = []
        for sheet in workbook.iter(f"{{{_MAIN}}}sheet"):
            path, kind = targets.get(sheet.get(f"{{{_REL}}}id", ""), ("", ""))
            if kind == "worksheet" and path in names:
                self.sheets.append((sheet.get("name", ""), path))
        self._strings_path = by_type.get("sharedStrings", "xl/sharedStrings.xml")
        self._styles_path = by_type.get("styles", "xl/styles.xml")
        self._names = {path: name for name, path in self.sheets}
        self._small: dict[str, bytes] | None = None

    def rows(self, path: str) -> Iterator[tuple[int, list[Any]]]:
        """``(row number, cell values)`` for each row of the sheet at ``path`` that holds a value, in
        file order: the sheet's XML cut into slices of whole rows (about :data:`_SLICE_BYTES` each), each
        slice read by calamine (Rust) as a small workbook of its own with this workbook's styles and shared
        strings, so that memory stays bounded by a slice whatever the sheet's length."""
        name = self._names[path]
        try:
            with self._archive.open(path) as handle:
                for xml in _slices(handle, _SLICE_BYTES):
                    yield from self._slice_rows(name, path, xml)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, CalamineError) as err:
            raise XlsxError(f"{path}: {err}") from None

    def _slice_rows(self, name: str, path: str, xml: bytes) -> Iterator[tuple[int, list[Any]]]:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
            for part, data in self._parts().items():
                archive.writestr(part, data)
            for _name, other in self.sheets:
                archive.writestr(other, xml if other == path else _EMPTY_SHEET)
        errors = _error_cells(xml) if b't="e"' in xml else {}
        del xml
        out.seek(0)
        sheet = CalamineWorkbook.from_filelike(out).get_sheet_by_name(name)
        start = sheet.start
        if start is None:
            return
        first, offset = start
        pad = [None] * offset
        exact = _EXACT
        for number, values in enumerate(sheet.to_python(skip_empty_area=True), start=first + 1):
            cells = pad + [None if v == "" else int(v) if type(v) is float and -exact < v < exact and v.is_integer()
                           else datetime(v.year, v.month, v.day) if type(v) is date else v for v in values]
            if errors and number in errors:
                for column, text in errors[number]:
                    cells.extend([None] * (column - len(cells)))
                    cells[column - 1] = text
            while cells and cells[-1] is None:
                cells.pop()
            if cells:
                yield number, cells

    def _parts(self) -> dict[str, bytes]:
        """The workbook's parts a slice needs besides its sheet (read once)."""
        if self._small is None:
            names = set(self._archive.namelist())
            wanted = ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                      self._strings_path, self._styles_path]
            self._small = {part: self._archive.read(part) for part in wanted if part in names}
        return self._small

    def scan(self, path: str) -> Scan:
        """Formulas without a stored value and merged ranges of the sheet at ``path``, from its bytes;
        the XML is checked to be well formed on the way (expat without handlers), so a sheet that
        passes its scan cannot fail later."""
        scan = Scan()
        seen: set[bytes] = set()
        merges: set[tuple[int, int, int]] = set()
        parser = _parser(namespaces=False)
        tail = b""
        try:
            with self._archive.open(path) as handle:
                while block := handle.read(_SCAN_CHUNK):
                    parser.Parse(block, False)
                    chunk = tail + block
                    tail = block[-_SCAN_OVERLAP:]
                    if b"<f" in chunk or b":f" in chunk:
                        for m in _FORMULA_CELL.finditer(chunk):
                            if m[2] is not None and b't="str"' in m[1]:
                                continue  # a formula whose stored value is the empty text
                            ref = _REF.search(m[1])
                            key = ref[1] if ref else str(m.start()).encode()
                            if key not in seen:
                                seen.add(key)
                                scan.formula_cell = scan.formula_cell or (ref[1].decode() if ref else None)
                    if b"mergeCell" in chunk:
                        for m in _MERGE.finditer(chunk):
                            first_row, last_row = int(m[2]), int(m[4])
                            if last_row > first_row:
                                merges.add((column_number(m[1]), first_row, last_row))
            parser.Parse(b"", True)
        except (expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as err:
            raise XlsxError(f"{path}: {err}") from None
        scan.formulas = len(seen)
        scan.merges = sorted(merges, key=lambda r: r[1])
        return scan
