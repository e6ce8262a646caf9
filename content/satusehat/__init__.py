"""SATUSEHAT's code tables as data: dose -> vaccine codes, measurement -> observation code and unit.

``vaccines.csv`` and ``measurements.csv`` beside this file; ``SOURCES.md`` says where each code comes from
and which are unconfirmed (``status``). Read once, frozen. Pure: only the standard library.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

from content import CONTENT_DIR

TABLE_DIR = CONTENT_DIR / "satusehat"
KFA = "http://sys-ids.kemkes.go.id/kfa"
CVX = "http://hl7.org/fhir/sid/cvx"
CONFIRMED = "confirmed"
UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True, slots=True)
class Vaccine:
    """The codes of one dose: KFA product (may be empty), KFA vaccine group, CVX, the immunisation reason."""

    dose: str
    kfa_code: str
    kfa_display: str
    vg_code: str
    vg_display: str
    cvx_code: str
    cvx_display: str
    reason: str
    status: str
    note: str


@dataclass(frozen=True, slots=True)
class MeasureCode:
    """The code, UCUM unit and category of one measurement kind (and detail)."""

    kind: str
    detail: str
    system: str
    code: str
    display: str
    ucum: str
    unit: str
    category: str
    status: str
    note: str


def _rows(name: str) -> list[dict[str, str]]:
    with (TABLE_DIR / name).open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


@lru_cache(maxsize=1)
def vaccines() -> Mapping[str, Vaccine]:
    """Dose code -> its vaccine codes."""
    return MappingProxyType({row["dose"]: Vaccine(**row) for row in _rows("vaccines.csv")})


@lru_cache(maxsize=1)
def measure_codes() -> Mapping[tuple[str, str], MeasureCode]:
    """(kind, detail) -> its code; detail "" is the row for a kind whatever its detail (or none)."""
    return MappingProxyType({(row["kind"], row["detail"]): MeasureCode(**row) for row in _rows("measurements.csv")})


def measure_code(kind: str, detail: str | None) -> MeasureCode | None:
    """The code of a measurement: its (kind, detail) row, else the kind's general row, else None."""
    table = measure_codes()
    return table.get((kind, detail or "")) or table.get((kind, ""))
