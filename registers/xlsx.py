"""A small, fast, streaming reader of the sheets of an XLSX workbook: the values openpyxl gives with
``read_only=True, data_only=True``, at a fraction of its cost.

:class:`Workbook` reads the workbook's parts (sheet names and order, the 1904 date system, the number
formats of the cell styles, the shared strings) and :meth:`Workbook.rows` yields each row of a sheet as
``(row number, [cell values])``, parsing the sheet's XML with expat in chunks: memory does not grow with
the number of rows (the shared strings are held as a list). The values, as openpyxl gives them:

* shared strings (``t="s"``) and inline strings (``t="inlineStr"``): the text of the plain part and of
  the rich text runs, joined (phonetic runs left out); formula string results (``t="str"``) as text;
* numbers: ``int`` when the text has no point and no exponent, else ``float``; a number whose cell style
  has a date or time format (builtin or custom, judged by openpyxl's ``is_date_format``) becomes a
  ``datetime`` (a ``time`` below 1, a ``timedelta`` for an elapsed-time format) in the workbook's date
  system; booleans as ``bool``, errors (``t="e"``) as their text ("#N/A"), ISO dates (``t="d"``) parsed;
* a cell missing between two cells of a row is ``None``; a cell without ``r`` follows the one before it;
  a row without ``r`` follows the row before it; rows absent from the XML are not yielded (the caller
  numbers rows by the number given).

Formulas are ignored (their stored values are read). Anything that is not a well-formed workbook raises
:class:`XlsxError`; a document type declaration is refused outright, so no entity is ever expanded (the
defence against XML bombs that defusedxml gives openpyxl).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CHUNK = 1 << 16
_DIGITS = "0123456789"
_DATES_KEPT = 50_000  # distinct serial numbers remembered per sheet


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


def _main_prefix(root: str, attrs: dict[str, str]) -> str | None:
    """The prefix ("" or "x:") that names the elements of SpreadsheetML's main namespace in a part
    whose root element is ``root``, or None when the root is not in that namespace (openpyxl then finds
    nothing either). The big parts are parsed without namespace processing, by this prefix."""
    prefix, _, _ = root.rpartition(":")
    declared = attrs.get(f"xmlns:{prefix}" if prefix else "xmlns")
    return f"{prefix}:" if prefix and declared == _MAIN else "" if declared == _MAIN else None


def _date(text: str, epoch: datetime, elapsed: bool) -> Any:
    """The date, time or timedelta of a serial number under a date format, as openpyxl gives it."""
    number = float(text) if "." in text or "E" in text or "e" in text else int(text)
    try:
        return from_excel(number, epoch, timedelta=elapsed)
    except (OverflowError, ValueError):
        return "#VALUE!"  # as openpyxl: a date out of range is an error


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
        properties = workbook.find(f"{{{_MAIN}}}workbookPr")
        date1904 = properties.get("date1904") if properties is not None else None
        self.epoch: datetime = MAC_EPOCH if date1904 not in (None, "false", "f", "0") else WINDOWS_EPOCH
        self._strings_path = by_type.get("sharedStrings", "xl/sharedStrings.xml")
        self._strings: list[str] | None = None
        styles = by_type.get("styles", "xl/styles.xml")
        self._dates, self._timedeltas = self._date_styles(styles) if styles in names else (set(), set())

    def _date_styles(self, path: str) -> tuple[set[str], set[str]]:
        """The cell style indices (as written in ``s``) whose number format is a date, a time or an
        elapsed time, as openpyxl's stylesheet decides them."""
        try:
            root = _tree(self._archive.read(path))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise XlsxError(str(err)) from None
        custom = {}
        for fmt in root.iter(f"{{{_MAIN}}}numFmt"):
            try:
                custom[int(fmt.get("numFmtId", ""))] = fmt.get("formatCode")
            except ValueError:
                raise XlsxError("numFmtId") from None
        dates: set[str] = set()
        timedeltas: set[str] = set()
        xfs = root.find(f"{{{_MAIN}}}cellXfs")
        for index, xf in enumerate(xfs.iter(f"{{{_MAIN}}}xf") if xfs is not None else ()):
            try:
                number = int(xf.get("numFmtId", "0"))
            except ValueError:
                raise XlsxError("numFmtId") from None
            code = custom[number] if number in custom else builtin_format_code(number)
            if is_date_format(code):
                dates.add(str(index))
            if is_timedelta_format(code):
                timedeltas.add(str(index))
        return dates, timedeltas

    @property
    def strings(self) -> list[str]:
        """The shared strings (read once, when first needed)."""
        if self._strings is None:
            self._strings = self._read_strings()
        return self._strings

    def _read_strings(self) -> list[str]:
        if self._strings_path not in self._archive.namelist():
            return []
        strings: list[str] = []
        parts: list[str] = []
        want = False
        phonetic = 0
        si_tag = t_tag = rph_tag = None  # set from the root element's prefix

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal want, phonetic, si_tag, t_tag, rph_tag
            if tag == t_tag:
                want = not phonetic
            elif tag == si_tag:
                parts.clear()
            elif tag == rph_tag:
                phonetic += 1
            elif si_tag is None:
                prefix = _main_prefix(tag, attrs)
                if prefix is not None:
                    si_tag, t_tag, rph_tag = f"{prefix}si", f"{prefix}t", f"{prefix}rPh"

        def end(tag: str) -> None:
            nonlocal want, phonetic
            if tag == t_tag:
                want = False
            elif tag == si_tag:
                text = "".join(parts)
                strings.append(text.replace("x005F_", "") if "x005F_" in text else text)  # as openpyxl
            elif tag == rph_tag:
                phonetic -= 1

        def data(text: str) -> None:
            if want:
                parts.append(text)

        for _ in self._parse(self._strings_path, start, end, data, lambda: iter(())):
            pass
        return strings

    def _parse(self, path: str, start: Callable, end: Callable, data: Callable,
               drain: Callable[[], Iterator[Any]]) -> Iterator[Any]:
        """Feeds the part at ``path`` to an expat parser (without namespace processing) in chunks,
        yielding what ``drain`` gives after each; errors of the zip, the XML or the values become
        :class:`XlsxError`."""
        parser = _parser(namespaces=False)
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = data
        try:
            with self._archive.open(path) as handle:
                while chunk := handle.read(_CHUNK):
                    parser.Parse(chunk, False)
                    yield from drain()
            parser.Parse(b"", True)
            yield from drain()
        except (expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError,
                ValueError, IndexError, OverflowError) as err:
            raise XlsxError(f"{path}: {err}") from None

    def rows(self, path: str) -> Iterator[tuple[int, list[Any]]]:
        """``(row number, cell values)`` for each row of the sheet at ``path``, in file order."""
        # The handlers run once per element of the sheet (millions): they are closures over local
        # variables and test the most frequent tags first.
        strings = self.strings
        dates, timedeltas, epoch = self._dates, self._timedeltas, self.epoch
        out: list[tuple[int, list[Any]]] = []
        columns: dict[str, int] = {}
        moments: dict[str, Any] = {}  # serial number -> datetime (a register repeats its dates)
        elapsed: dict[str, Any] = {}  # serial number -> timedelta
        cells: list[Any] = []
        text: str | None = None
        row_number = column = phonetic = 0
        kind = "n"
        style: str | None = None
        want = inline = False
        c_tag = v_tag = t_tag = is_tag = row_tag = rph_tag = None  # set from the root element's prefix

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal row_number, column, kind, style, want, inline, text, cells, phonetic
            if tag == c_tag:
                kind = attrs.get("t", "n")
                style = attrs.get("s")
                ref = attrs.get("r")
                if ref:
                    letters = ref.rstrip(_DIGITS)
                    found = columns.get(letters)
                    if found is None:
                        found = columns[letters] = column_number(letters)
                    column = found
                else:
                    column += 1
                text = None
                inline = False
            elif tag == v_tag:
                want = kind != "inlineStr"
            elif tag == t_tag:
                want = inline and not phonetic
            elif tag == is_tag:
                inline = True
                text = ""
            elif tag == row_tag:
                number = attrs.get("r")
                if number:
                    try:
                        row_number = int(number)
                    except ValueError:
                        row_number = int(float(number))
                else:
                    row_number += 1
                column = 0
                cells = []
            elif tag == rph_tag:
                phonetic += 1
            elif c_tag is None:
                root(tag, attrs)

        def root(tag: str, attrs: dict[str, str]) -> None:
            nonlocal c_tag, v_tag, t_tag, is_tag, row_tag, rph_tag
            prefix = _main_prefix(tag, attrs)
            if prefix is not None:
                c_tag, v_tag, t_tag, is_tag, row_tag, rph_tag = (
                    f"{prefix}{name}" for name in ("c", "v", "t", "is", "row", "rPh"))
            else:
                c_tag = ""  # not a SpreadsheetML sheet: no rows (as openpyxl)

        def end(tag: str) -> None:
            nonlocal want, phonetic
            if tag == c_tag:
                value: Any = text
                if not text:
                    pass  # None, or "" for an empty inline string
                elif kind == "n":
                    if style is not None and style in dates:
                        value = (elapsed if style in timedeltas else moments).get(text)
                        if value is None:
                            value = _date(text, epoch, style in timedeltas)
                            if len(moments) + len(elapsed) > _DATES_KEPT:
                                moments.clear()
                                elapsed.clear()
                            (elapsed if style in timedeltas else moments)[text] = value
                    else:
                        value = float(text) if "." in text or "E" in text or "e" in text else int(text)
                elif kind == "s":
                    value = strings[int(text)]
                elif kind == "b":
                    value = bool(int(text))
                elif kind == "d":
                    value = from_ISO8601(text)
                # "inlineStr", "str", "e" and any other type: the text
                count = len(cells)
                if column == count + 1:
                    cells.append(value)
                elif column > count:
                    cells.extend([None] * (column - count - 1))
                    cells.append(value)
                elif column >= 1:
                    cells[column - 1] = value
            elif tag == v_tag or tag == t_tag:
                want = False
            elif tag == row_tag:
                out.append((row_number, cells))
            elif tag == rph_tag:
                phonetic -= 1

        def data(chars: str) -> None:
            nonlocal text
            if want:
                text = chars if not text else text + chars

        def drain() -> Iterator[tuple[int, list[Any]]]:
            if out:
                yield from out
                out.clear()

        yield from self._parse(path, start, end, data, drain)

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
