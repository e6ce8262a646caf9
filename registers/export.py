"""A puskesmas's register written in the template's own columns, so that export, edit in Excel and import
again round-trips with no change (``registers.importer`` finds every row unchanged).

:func:`export_rows` yields the register as the reader would read it back (``registers.model``: a
``Sheet`` per kind, then the rows); :func:`export_register` writes them as an XLSX, one sheet per kind.
Only registered families are written. Doses are a date, a month ("Maret 2025") or "sudah" as the record
knows them; ANC contacts by number (K1..K6); measurements one row per person and day.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import bindparam, select

from care.history import DAY, MONTH
from care.labels import DOSE_LABELS
from content.i18n import format_date, use_locale
from db.models import CareRecord, Family, Measurement, Person, Posyandu, Visit
from registers.columns import COLUMNS as TEMPLATE_COLUMNS
from registers.columns import DOSE_HEADERS, Column
from registers.importer import read_precision
from registers.model import DoseRow, MeasureRow, PersonRef, PersonRow, PregnancyRow, Row, Sheet, Where

#: families read per query
FAMILY_BATCH = 2000

#: The fields export fills per kind (a dose column by its dose code, a K1..K6 column as ``K<n>``); the
#: columns, their headers and their order are the template's (``registers.columns``).
_FIELDS: dict[str, frozenset[str]] = {
    "anggota": frozenset({"no_kk", "nik", "name", "birth_date", "sex", "relation", "family_name", "birth_weight_g",
                          "village_code", "village_name", "dusun", "rt", "rw", "posyandu", "phone", "hpht"}),
    "imunisasi": frozenset({"no_kk", "nik", "name", "birth_date", *DOSE_HEADERS}),
    "pengukuran": frozenset({"no_kk", "nik", "name", "birth_date", "on", "weight_kg", "height_cm", "head_cm", "muac_cm",
                             "position"}),
    "kehamilan": frozenset({"no_kk", "nik", "name", "birth_date", "hpht", "due_date", *(f"K{n}" for n in range(1, 7)),
                            "delivered_on"}),
}


def _field(column: Column) -> str:
    return column.dose or (f"K{column.anc}" if column.anc else column.key)


#: The columns of each kind, as the template writes them: (field, header).
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    kind: tuple((_field(c), c.header) for c in TEMPLATE_COLUMNS[kind] if _field(c) in _FIELDS[kind]) for kind in _FIELDS
}

SEX = {"M": "L", "F": "P"}
POSITION = {"l": "berbaring", "h": "berdiri"}


def _cell_text(value) -> str:
    return "" if value is None else value.isoformat() if isinstance(value, date) else str(value)


class _Sheets:
    """Row numbers and the ``Where`` of each row, per kind."""

    def __init__(self) -> None:
        self.next = {kind: 2 for kind in COLUMNS}

    def where(self, kind: str, cells: list) -> Where:
        row = self.next[kind]
        self.next[kind] += 1
        return Where(kind, row, tuple(_cell_text(c) for c in cells))


def _cells(kind: str, values: dict) -> list:
    return [values.get(name) for name, _header in COLUMNS[kind]]


async def export_rows(db, puskesmas_id: int, posyandu_id: int | None = None) -> AsyncIterator[Sheet | Row]:
    """The register of a puskesmas (or of one of its posyandu) as model rows: the four ``Sheet`` first, then
    per batch of families their persons, doses, measurements and pregnancies. Each row's ``Where.cells`` are
    its cells as written. Each batch is read in a read transaction of its own."""
    async for item in register_rows(db.read, puskesmas_id, posyandu_id):
        yield item


async def register_rows(open_read: Callable[[], AbstractAsyncContextManager], puskesmas_id: int,
                        posyandu_id: int | None = None) -> AsyncIterator[Sheet | Row]:
    """:func:`export_rows` through ``open_read``, which opens a session (``Database.read``, or a chat turn's
    own session in a ``nullcontext``)."""
    for kind, columns in COLUMNS.items():
        yield Sheet(kind, kind, tuple(header for _name, header in columns))
    sheets = _Sheets()
    async with open_read() as session:
        query = select(Posyandu).where(Posyandu.puskesmas_id == puskesmas_id)
        if posyandu_id is not None:
            query = query.where(Posyandu.id == posyandu_id)
        posyandu = {p.id: p for p in await session.scalars(query)}
        family_ids = list(await session.scalars(
            select(Family.id).where(Family.posyandu_id.in_(list(posyandu) or [0]), Family.registered_at.is_not(None)).order_by(Family.id)))
    for start in range(0, len(family_ids), FAMILY_BATCH):
        async with open_read() as session:
            rows = await _batch(session, family_ids[start:start + FAMILY_BATCH], posyandu, sheets)
        for row in rows:
            yield row


async def _batch(session, family_ids: list[int], posyandu: dict, sheets: _Sheets) -> list[Row]:
    ids = bindparam("ids", expanding=True)
    families = {f.id: f for f in await session.scalars(select(Family).where(Family.id.in_(ids)), {"ids": family_ids})}
    people = list(await session.scalars(select(Person).where(Person.family_id.in_(ids)).order_by(Person.family_id, Person.id),
                                        {"ids": family_ids}))
    person_ids = [p.id for p in people]
    records: dict[int, list] = defaultdict(list)
    for pid, code, on, precision in (await session.execute(
            select(CareRecord.person_id, CareRecord.code, CareRecord.done_on, CareRecord.precision)
            .where(CareRecord.person_id.in_(ids)).order_by(CareRecord.done_on, CareRecord.id), {"ids": person_ids})).all():
        records[pid].append((code, on, precision))
    measured: dict[int, dict[date, dict]] = defaultdict(lambda: defaultdict(dict))
    for pid, on, kind, value, detail in (await session.execute(
            select(Visit.person_id, Visit.visited_on, Measurement.kind, Measurement.value, Measurement.detail)
            .join(Measurement, Measurement.visit_id == Visit.id)
            .where(Visit.person_id.in_(ids), Measurement.kind.in_(("weight_kg", "length_cm", "head_cm", "muac_cm")))
            .order_by(Visit.visited_on, Measurement.id), {"ids": person_ids})).all():
        values = measured[pid][on]
        values["height_cm" if kind == "length_cm" else kind] = value
        if kind == "length_cm" and detail:
            values["position"] = detail
    out: list[Row] = []
    doses, measures, pregnancies = [], [], []
    for p in people:
        family = families[p.family_id]
        post = posyandu[family.posyandu_id]
        who = {"no_kk": family.no_kk, "nik": p.nik, "name": p.name, "birth_date": p.birth_date}
        ref = PersonRef(nik=p.nik, name=p.name, birth_date=p.birth_date, no_kk=family.no_kk)
        values = {**who, "sex": SEX.get(p.sex), "family_name": family.name, "birth_weight_g": p.birth_weight_g,
                  "village_code": post.village_code, "village_name": post.village_name, "dusun": family.dusun, "rt": family.rt,
                  "rw": family.rw, "posyandu": post.code, "phone": family.phone, "hpht": p.hpht}
        out.append(PersonRow(
            where=sheets.where("anggota", _cells("anggota", values)), no_kk=family.no_kk, nik=p.nik, name=p.name,
            birth_date=p.birth_date, birth_precision=read_precision(p.birth_precision) if p.birth_date else None, sex=p.sex,
            family_name=family.name, birth_weight_g=p.birth_weight_g, village_code=post.village_code,
            village_name=post.village_name, dusun=family.dusun, rt=family.rt, rw=family.rw, posyandu=post.code,
            phone=family.phone, hpht=p.hpht))
        latest = {code: (on, precision) for code, on, precision in records[p.id] if code in DOSE_LABELS}
        if latest:
            cells = {**who, **{code: _dose_cell(on, precision) for code, (on, precision) in latest.items()}}
            where = sheets.where("imunisasi", _cells("imunisasi", cells))
            doses.extend(DoseRow(where=where, person=ref, code=code, on=None if precision not in (DAY, MONTH) else on,
                                 precision=precision, column=DOSE_HEADERS[code]) for code, (on, precision) in latest.items())
        for on, values in measured[p.id].items():
            cells = {**who, "on": on, **values, "position": POSITION.get(values.get("position"))}
            measures.append(MeasureRow(where=sheets.where("pengukuran", _cells("pengukuran", cells)), person=ref, on=on,
                                       weight_kg=values.get("weight_kg"), height_cm=values.get("height_cm"),
                                       head_cm=values.get("head_cm"), muac_cm=values.get("muac_cm"), position=values.get("position")))
        anc = tuple((int(code[3:]), on) for code, on, _precision in records[p.id] if code[:3] == "ANC" and code[3:].isdigit())
        if p.hpht or anc or p.delivered_on:
            cells = {**who, "hpht": p.hpht, "due_date": p.due_date, "delivered_on": p.delivered_on,
                     **{f"K{n}": on for n, on in anc}}
            pregnancies.append(PregnancyRow(where=sheets.where("kehamilan", _cells("kehamilan", cells)), person=ref, hpht=p.hpht,
                                            due_date=p.due_date, anc=anc, delivered_on=p.delivered_on))
    return out + doses + measures + pregnancies


def _dose_cell(on: date, precision: str):
    """A dose's cell: its date, its month ("Maret 2025") or "sudah"."""
    if precision == DAY:
        return on
    if precision == MONTH:
        with use_locale("id"):
            return format_date(on, "MMMM y")
    return "sudah"


async def export_register(db, puskesmas_id: int, path: Path | str | BinaryIO, posyandu_id: int | None = None) -> dict[str, int]:
    """Writes the register of a puskesmas (or of one posyandu) to ``path`` (XLSX, a sheet per kind with the
    template's headers); returns the rows written per sheet."""
    return await write_register(export_rows(db, puskesmas_id, posyandu_id), path)


async def write_register(items: AsyncIterator[Sheet | Row], path: Path | str | BinaryIO) -> dict[str, int]:
    """Writes :func:`register_rows`' items as an XLSX to a path or a binary file; the rows per sheet."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheets, counts, last = {}, dict.fromkeys(COLUMNS, 0), None
    async for item in items:
        if isinstance(item, Sheet):
            sheets[item.name] = book.create_sheet(item.name)
            sheets[item.name].append(list(item.headers))
            continue
        key = (item.where.sheet, item.where.row)
        if key == last:
            continue  # a person's doses share one row
        last = key
        sheets[item.where.sheet].append(_typed(item))
        counts[item.where.sheet] += 1
    book.save(path)
    return counts


def _typed(item: Row) -> list:
    """The row's cells with dates as dates and numbers as numbers (Where.cells holds them as text)."""
    kind = item.where.sheet
    out = []
    for (name, _header), text in zip(COLUMNS[kind], item.where.cells):
        if text == "":
            out.append(None)
        elif name in ("birth_date", "hpht", "due_date", "delivered_on", "on") or (name in DOSE_HEADERS and text[:1].isdigit()) \
                or (name.startswith("K") and name[1:].isdigit()):
            out.append(date.fromisoformat(text))
        elif name in ("weight_kg", "height_cm", "head_cm", "muac_cm", "birth_weight_g"):
            out.append(float(text) if "." in text else int(text))
        else:
            out.append(text)
    return out
