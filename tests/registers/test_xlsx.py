"""registers.xlsx reads what openpyxl reads with ``read_only=True, data_only=True``: each workbook below
is read by both and must give the same rows. Workbooks written by openpyxl for every cell type a register
meets; hand-written parts for what openpyxl never writes (shared strings with rich text, cells and rows
without ``r``, other writers' attribute orders, a namespace prefix); and what must be refused."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import Workbook as OpenpyxlBook
from openpyxl import load_workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

import registers.xlsx
from registers.xlsx import Workbook, XlsxError

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def openpyxl_rows(data: bytes) -> dict[str, dict[int, tuple]]:
    """Sheet name -> {row number: values} as openpyxl reads them (rows without a cell left out)."""
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        out = {}
        for sheet in book.worksheets:
            sheet.reset_dimensions()
            rows = enumerate(sheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1)
            out[sheet.title] = {number: tuple(cells) for number, cells in rows if cells}
        return out
    finally:
        book.close()


def accepted(rows: dict[str, dict[int, tuple]]) -> dict[str, dict[int, tuple]]:
    """openpyxl's rows with the differences a register does not see: an empty text is no value, a whole
    number is an ``int`` (openpyxl keeps ``1E3`` a float), and empty cells at the end of a row are not
    given (rows left with no value are left out)."""
    def value(v):
        if v == "":
            return None
        if type(v) is float and v.is_integer() and abs(v) < 2 ** 53:
            return int(v)
        return v

    out = {}
    for name, sheet in rows.items():
        kept = {}
        for number, cells in sheet.items():
            cells = [value(v) for v in cells]
            while cells and cells[-1] is None:
                cells.pop()
            if cells:
                kept[number] = tuple(cells)
        out[name] = kept
    return out


def our_rows(data: bytes) -> dict[str, dict[int, tuple]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        book = Workbook(archive)
        return {name: {number: tuple(cells) for number, cells in book.rows(path) if cells}
                for name, path in book.sheets}


def written(*rows: list, formats: dict[str, str] | None = None, epoch=None, at: dict[str, object] | None = None) -> bytes:
    """A workbook written by openpyxl: ``rows`` appended, then the cells ``at`` set, then the number
    ``formats`` of some cells."""
    book = OpenpyxlBook()
    sheet = book.active
    sheet.title = "Data"
    if epoch is not None:
        book.epoch = epoch
    for row in rows:
        sheet.append(row)
    for ref, value in (at or {}).items():
        sheet[ref] = value
    for ref, code in (formats or {}).items():
        sheet[ref].number_format = code
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- written by openpyxl ------------------------------------------------------------------------------

WRITTEN = {
    "text and unicode": written(
        ["Ni Luh Sari", "Ñandú", "尼古拉", "bayi 👶", "  spasi  ", "baris\nbaru", "tab\there", "x"],
    ),
    "entities in text": written(["a & b", "<tag>", "\"kutip\" 'tunggal'", "&amp; as typed", "1 < 2 > 0"]),
    "numbers": written([1, -3, 0, 3.5, 1e20, 1.5e-7, 2 ** 40, 7.0, -0.25, 3200]),
    "numbers stored as text": written(["5108015403250002", "007", "3.51E+15", "7,2", "12-05-2023"]),
    "booleans and errors": written([True, False, "#N/A", "#DIV/0!", "#VALUE!", "#REF!"]),
    "dates with their default formats": written(
        [datetime(2025, 3, 14), date(2025, 3, 14), datetime(2025, 3, 14, 10, 30, 15), time(10, 30),
         datetime(1900, 1, 1), datetime(1900, 3, 1), timedelta(days=1, hours=2)],
    ),
    "serial numbers under builtin and custom date formats": written(
        [45000, 45000, 45000.5, 45000, 45000, 45000, 45000, 0.75, 1.5, 45000, 45000, 45000],
        formats={"A1": "mm-dd-yy", "B1": "d-mmm-yy", "C1": "m/d/yy h:mm", "D1": "dd/mm/yyyy",
                 "E1": "[$-421]dd mmmm yyyy", "F1": "yyyy-mm-dd;@", "G1": "mmmm yyyy", "H1": "h:mm",
                 "I1": "[h]:mm:ss", "J1": '0.0 "kg"', "K1": "[Red]0.00", "L1": "#,##0"},
    ),
    "the 1904 date system": written([datetime(2025, 3, 14), date(1904, 1, 2), 45000],
                                    formats={"C1": "dd/mm/yyyy"}, epoch=CALENDAR_MAC_1904),
    "sparse cells and skipped rows": written(
        ["No KK", "NIK", "Nama"], [], ["a", None, "c"],
        at={"B6": "only B", "D6": 4, "A9": "alone", "F12": "far", "AB13": "column AB"},
    ),
}


@pytest.mark.parametrize("data", WRITTEN.values(), ids=WRITTEN.keys())
def test_a_workbook_written_by_openpyxl_reads_as_openpyxl_reads_it(data):
    theirs = openpyxl_rows(data)
    assert any(theirs.values())
    assert our_rows(data) == accepted(theirs)


def test_the_values_are_those_a_register_expects():
    [rows] = our_rows(WRITTEN["serial numbers under builtin and custom date formats"]).values()
    first = rows[1]
    assert first[:3] == (datetime(2023, 3, 15), datetime(2023, 3, 15), datetime(2023, 3, 15, 12))
    assert first[3:7] == (datetime(2023, 3, 15),) * 4
    assert (first[7], first[8]) == (time(18), timedelta(days=1, hours=12))
    assert first[9:] == (45000, 45000, 45000)
    [rows] = our_rows(WRITTEN["sparse cells and skipped rows"]).values()
    assert sorted(rows) == [1, 3, 6, 9, 12, 13]
    assert rows[6] == (None, "only B", None, 4) and rows[12] == (None,) * 5 + ("far",)
    assert rows[13][27] == "column AB" and len(rows[13]) == 28
    [rows] = our_rows(WRITTEN["numbers"]).values()
    assert [type(v) for v in rows[1]] == [int, int, int, float, float, float, int, int, float, int]
    [rows] = our_rows(WRITTEN["the 1904 date system"]).values()
    assert rows[1] == (datetime(2025, 3, 14), datetime(1904, 1, 2), datetime(2027, 3, 16))


# -- hand-written parts -------------------------------------------------------------------------------


def package(sheets: dict[str, str], *, strings: str | None = None, styles: str | None = None,
            workbook_pr: str = "") -> bytes:
    """A workbook from its parts as another writer would write them: ``sheets`` maps a name to the
    whole XML of its sheet; ``strings`` and ``styles`` are the XML of those parts."""
    overrides = [('/xl/workbook.xml', "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")]
    rels = []
    entries = []
    parts = {}
    for number, (name, xml) in enumerate(sheets.items(), start=1):
        parts[f"xl/worksheets/sheet{number}.xml"] = xml
        overrides.append((f"/xl/worksheets/sheet{number}.xml",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"))
        rels.append(f'<Relationship Id="rId{number}" Target="worksheets/sheet{number}.xml" '
                    f'Type="{REL}/worksheet"/>')
        entries.append(f'<sheet name="{name}" sheetId="{number}" r:id="rId{number}"/>')
    if strings is not None:
        parts["xl/sharedStrings.xml"] = strings
        overrides.append(("/xl/sharedStrings.xml",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"))
        rels.append(f'<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>')
    if styles is not None:
        parts["xl/styles.xml"] = styles
        overrides.append(("/xl/styles.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"))
        rels.append(f'<Relationship Id="rIdT" Type="{REL}/styles" Target="/xl/styles.xml"/>')
    parts["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides) + "</Types>")
    parts["_rels/.rels"] = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    parts["xl/_rels/workbook.xml.rels"] = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(rels) + "</Relationships>")
    parts["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">{workbook_pr}'
        f'<sheets>{"".join(entries)}</sheets></workbook>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, xml in parts.items():
            archive.writestr(path, xml)
    return out.getvalue()


def sheet(rows: str, *, root: str = f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}">', end: str = "</worksheet>",
          data: str = "sheetData") -> str:
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{root}<{data}>{rows}</{data}>{end}'


SHARED = (
    f'<sst xmlns="{MAIN}" count="7" uniqueCount="7">'
    "<si><t>Ni Luh Sari</t></si>"
    '<si><r><t xml:space="preserve">Komang </t></r><r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve">Ayu </t></r>'
    "<r><t>Lestari</t></r></si>"
    "<si><t>Tanaka</t><rPh sb=\"0\" eb=\"2\"><t>タナカ</t></rPh></si>"
    "<si><t>a &amp; b &lt;c&gt; &#10;&#x1F476;</t></si>"
    "<si><t/></si>"
    "<si><t>_x005F_x000D_ kept as openpyxl keeps it</t></si>"
    "<si><t>5108015403250002</t></si>"
    "</sst>"
)
STYLES = (
    f'<styleSheet xmlns="{MAIN}"><numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
    '<numFmt numFmtId="165" formatCode="&quot;No.&quot; 0"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="165"/>'
    '<xf numFmtId="14"/><xf numFmtId="22"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)

HAND_WRITTEN = {
    "Excel: shared strings, rich text and phonetic runs, entities": (
        package({"Data Dasar": sheet(
            '<row r="1" spans="1:7"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
            '<c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c>'
            '<c r="F1" t="s"><v>5</v></c><c r="G1" s="0" t="s"><v>6</v></c></row>')}, strings=SHARED),
        {"Data Dasar": {1: ("Ni Luh Sari", "Komang Ayu Lestari", "Tanaka", "a & b <c> \n👶", "",
                            "_x000D_ kept as openpyxl keeps it", "5108015403250002")}},
    ),
    "Excel: styles with a custom date format, the other types, formulas with values": (
        package({"Kohort": sheet(
            '<row r="2"><c r="A2" s="1"><v>45000</v></c><c r="B2" s="2"><v>7</v></c><c r="C2" s="3"><v>45000</v></c>'
            '<c r="D2" s="4"><v>45000.25</v></c><c r="E2" t="b"><v>1</v></c><c r="F2" t="e"><v>#N/A</v></c>'
            '<c r="G2" t="str"><f>A1&amp;"x"</f><v>Ayu x</v></c><c r="H2"><f>1+1</f><v>2</v></c>'
            '<c r="I2" t="d"><v>2025-03-14T00:00:00</v></c><c r="J2" t="str"><f>""</f><v></v></c>'
            '<c r="K2" t="n"><v>1E3</v></c><c r="L2" s="1"/></row>')}, styles=STYLES),
        {"Kohort": {2: (datetime(2023, 3, 15), 7, datetime(2023, 3, 15), datetime(2023, 3, 15, 6), True, "#N/A",
                        "Ayu x", 2, datetime(2025, 3, 14), None, 1000.0, None)}},
    ),
    "cells and rows without r, other attribute orders, pretty-printed": (
        package({"Sasaran": sheet(
            '\n  <row>\n    <c t="s"><v>0</v></c>\n    <c><v>5</v></c>\n    <c t="inlineStr"><is><t>Ayu</t></is></c>\n  </row>'
            '\n  <row spans="1:4" r="4">\n    <c t="s" s="0" r="B4"><v>6</v></c>\n    <c s="1" t="n" r="D4">'
            '<v>45000</v></c>\n    <c><v>9</v></c>\n  </row>\n  <row/>\n  <row ht="15" r="7" customHeight="1">'
            '<c r="C7" t="inlineStr"><is><r><t xml:space="preserve">Wayan </t></r><r><rPr><i/></rPr><t>Sudi</t></r></is></c></row>\n')},
            strings=SHARED, styles=STYLES),
        {"Sasaran": {1: ("Ni Luh Sari", 5, "Ayu"), 4: (None, "5108015403250002", None, datetime(2023, 3, 15), 9),
                     7: (None, None, "Wayan Sudi")}},
    ),
    "a namespace prefix (the .NET Open XML SDK) and the 1904 system": (
        package({"Pengukuran": sheet(
            '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Tanggal</x:t></x:is></x:c>'
            '<x:c r="B1" s="1"><x:v>44000</x:v></x:c><x:c r="C1" t="s"><x:v>0</x:v></x:c></x:row>',
            root=f'<x:worksheet xmlns:x="{MAIN}">', end="</x:worksheet>", data="x:sheetData")},
            strings=SHARED.replace("<sst", "<s:sst").replace(f'xmlns="{MAIN}"', f'xmlns:s="{MAIN}"')
            .replace("<si>", "<s:si>").replace("</si>", "</s:si>").replace("<t>", "<s:t>").replace("</t>", "</s:t>")
            .replace("<t/>", "<s:t/>").replace("<r>", "<s:r>").replace("</r>", "</s:r>")
            .replace("<t xml", "<s:t xml").replace("<rPh", "<s:rPh").replace("</rPh>", "</s:rPh>")
            .replace("</sst>", "</s:sst>"),
            styles=STYLES, workbook_pr='<workbookPr date1904="1"/>'),
        {"Pengukuran": {1: ("Tanggal", datetime(2024, 6, 19), "Ni Luh Sari")}},
    ),
    "sheets in the workbook's order, not the order of their parts": (
        package({"Kedua": sheet('<row r="1"><c r="A1"><v>2</v></c></row>'),
                 "Pertama": sheet('<row r="1"><c r="A1"><v>1</v></c></row>')}),
        {"Kedua": {1: (2,)}, "Pertama": {1: (1,)}},
    ),
}


@pytest.mark.parametrize(("data", "expected"), HAND_WRITTEN.values(), ids=HAND_WRITTEN.keys())
def test_parts_another_writer_wrote_read_as_openpyxl_reads_them(data, expected):
    assert our_rows(data) == accepted(expected)
    assert accepted(openpyxl_rows(data)) == accepted(expected)


def test_sheet_names_and_the_order_of_the_workbook():
    with zipfile.ZipFile(io.BytesIO(HAND_WRITTEN["sheets in the workbook's order, not the order of their parts"][0])) as archive:
        assert [name for name, _path in Workbook(archive).sheets] == ["Kedua", "Pertama"]


def test_a_number_cell_holding_text_reads_as_its_text():
    """A number cell whose value is a word (a broken writer) gives its text, which the register reports
    as the column's problem, rather than refusing the whole file."""
    assert our_rows(package({"Data": sheet('<row r="1"><c r="A1"><v>satu</v></c></row>')})) == {"Data": {1: ("satu",)}}


def test_rows_stream_before_the_end_of_the_sheet_is_read(monkeypatch):
    monkeypatch.setattr(registers.xlsx, "_SLICE_BYTES", 4096)
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 20_001))
    data = package({"Data": sheet(rows + "<row r=\"20001\"><c r=\"A1\"><v>broken</c>")})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        book = Workbook(archive)
        [(_name, path)] = book.sheets
        rows_read = book.rows(path)
        assert next(rows_read) == (1, [1])
        with pytest.raises(XlsxError):
            for _ in rows_read:
                pass
        with pytest.raises(XlsxError):
            book.scan(path)


# -- refused ------------------------------------------------------------------------------------------

BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>')
REFUSED = {
    "an entity bomb in a sheet": package({"Data": BOMB + sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is>'
                                                               "</c></row>").split("?>", 1)[1]}),
    "a document type in the shared strings": package(
        {"Data": sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')},
        strings=BOMB + f'<sst xmlns="{MAIN}"><si><t>&lol3;</t></si></sst>'),
    "an external entity": package({"Data": '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                           + sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&x;</t></is></c></row>')
                                           .split("?>", 1)[1]}),
    "a shared string that does not exist": package({"Data": sheet('<row r="1"><c r="A1" t="s"><v>3</v></c></row>')},
                                                   strings=f'<sst xmlns="{MAIN}"><si><t>a</t></si></sst>'),
    "a sheet cut short": package({"Data": sheet('<row r="1"><c r="A1"><v>1</v></c></row>')[:-30]}),
}


@pytest.mark.parametrize("data", REFUSED.values(), ids=REFUSED.keys())
def test_what_is_not_a_well_formed_workbook_is_refused(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        book = Workbook(archive)
        with pytest.raises(XlsxError):
            for _name, path in book.sheets:
                list(book.rows(path))


def test_a_document_type_in_the_workbook_part_is_refused():
    data = package({"Data": sheet("")})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            xml = source.read(item)
            if item.filename == "xl/workbook.xml":
                xml = BOMB.encode() + xml.split(b"?>", 1)[1]
            target.writestr(item, xml)
    with zipfile.ZipFile(out) as archive, pytest.raises(XlsxError):
        Workbook(archive)
