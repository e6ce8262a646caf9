"""Checking a NIK (Nomor Induk Kependudukan) against what it encodes.

A NIK is 16 digits: ``PPKKCC DDMMYY SSSS``: the kecamatan where it was issued (provinsi, kabupaten/kota,
kecamatan: a code of ``content.regions.districts``), the birth date (day + 40 for a woman) and a serial
number. The checks give problem codes, never exceptions; the reader turns them into ``Problem`` rows:

* ``nik_length``: not 16 digits;
* ``nik_region``: digits 1-6 name no kecamatan of the Kemendagri codes (a NIK issued in a kecamatan
  since split keeps its old code: the problem is a warning, the NIK is kept);
* ``nik_date``: digits 7-12 are no date (day 32-40 or above 71, month 13, ...);
* ``nik_birth_date``: the date part differs from the birth date given (day and month, and the year's
  last two digits; only month and year when the birth date is known to the month);
* ``nik_sex``: the day says a man (1-31) for a woman or a woman (41-71) for a man.

Pure: only ``content.regions`` is read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from content.regions import districts

NIK_LENGTH = 16
WOMAN_DAY_OFFSET = 40


@dataclass(frozen=True)
class NikParts:
    """What a 16-digit NIK says: the kecamatan code (dotted, ``51.08.01``), the day, month and two-digit
    year of birth, and the sex (``M``/``F``) its day gives."""

    district: str
    day: int
    month: int
    year2: int
    sex: str


def is_nik_shape(text: str) -> bool:
    """Whether ``text`` is 16 ASCII digits."""
    return len(text) == NIK_LENGTH and text.isascii() and text.isdecimal()


def nik_parts(nik: str) -> NikParts:
    """The parts of a 16-digit NIK (ValueError if it is not 16 digits)."""
    if not is_nik_shape(nik):
        raise ValueError("a NIK is 16 digits")
    day = int(nik[6:8])
    sex = "F" if day > WOMAN_DAY_OFFSET else "M"
    return NikParts(f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}", day - WOMAN_DAY_OFFSET if sex == "F" else day,
                    int(nik[8:10]), int(nik[10:12]), sex)


def _valid_day(parts: NikParts) -> bool:
    if not 1 <= parts.month <= 12 or parts.day < 1:
        return False
    try:  # a leap year stands in for the unknown century: 29 February is a day
        date(2000 + parts.year2 if parts.year2 % 4 == 0 else 2001, parts.month, parts.day)
    except ValueError:
        return False
    return True


def nik_problems(nik: str, *, birth_date: date | None = None, birth_precision: str | None = "day",
                 sex: str | None = None) -> list[tuple[str, dict[str, str]]]:
    """The problems of ``nik`` as ``(code, params)`` pairs (empty when it is sound): its shape, its
    region, its date part and, when given, agreement with ``birth_date`` (at ``birth_precision``:
    ``day``, ``month``, ``unknown``) and ``sex`` (``M``/``F``). Params: ``district`` for ``nik_region``,
    ``nik_date`` (``DD-MM-YY`` as the NIK says) for the date problems."""
    if not is_nik_shape(nik):
        return [("nik_length", {"digits": str(sum(ch.isdigit() for ch in nik))})]
    parts = nik_parts(nik)
    problems: list[tuple[str, dict[str, str]]] = []
    if parts.district not in districts():
        problems.append(("nik_region", {"district": parts.district}))
    said = f"{parts.day:02d}-{parts.month:02d}-{parts.year2:02d}"
    if not _valid_day(parts):
        problems.append(("nik_date", {"nik_date": said}))
        return problems
    if sex in ("M", "F") and sex != parts.sex:
        problems.append(("nik_sex", {"nik_date": said}))
    if birth_date is not None and birth_precision in ("day", "month", None):
        same_month = (parts.month, parts.year2) == (birth_date.month, birth_date.year % 100)
        same_day = parts.day == birth_date.day
        if not same_month or (birth_precision in ("day", None) and not same_day):
            problems.append(("nik_birth_date", {"nik_date": said}))
    return problems
