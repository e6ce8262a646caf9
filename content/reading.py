"""Reading typed dates, months, phone numbers and birth weights: the one reader shared by the chat
(``handlers.parsing``, which builds answers on it) and register imports (``registers.values``).

Pure: the standard library only.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

MONTHS = {
    "januari": 1, "january": 1, "jan": 1,
    "februari": 2, "pebruari": 2, "february": 2, "feb": 2, "peb": 2,
    "maret": 3, "march": 3, "mar": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6,
    "juli": 7, "july": 7, "jul": 7,
    "agustus": 8, "august": 8, "agu": 8, "agt": 8, "ags": 8, "aug": 8, "agust": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "october": 10, "okt": 10, "oct": 10,
    "november": 11, "nopember": 11, "nov": 11, "nop": 11,
    "desember": 12, "december": 12, "des": 12, "dec": 12,
}


_NUMERIC = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})$")
_EIGHT_DIGITS = re.compile(r"^(\d{2})(\d{2})(\d{4})$")
#: Words before a date that say nothing more: "tgl 12-03-2024", "lahir tanggal 12 Maret 2024".
DATE_PREFIX = re.compile(r"^(?:(?:tanggal|tgl|tg|lahir|pada|on|date|hari|hr)\.?\s*:?\s*)+")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\s*[-/.]?\s*([a-z]+)\.?\s*[-/.,]?\s*(\d{2}|\d{4})$")
_MONTH_DAY_YEAR = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")


class ParseError(ValueError):
    """The text could not be read; ``code`` says why (``format`` or ``no_such_day``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalize(text: str) -> str:
    """Lower-case, accents removed, runs of white space folded."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.lower().split())


def _year(raw: str, today: date, prefer_future: bool) -> int:
    """A four-digit year from two or four digits; two digits pick the century that fits."""
    year = int(raw)
    if len(raw) == 4:
        return year
    century = today.year // 100 * 100
    candidate = century + year
    if prefer_future:
        return candidate if candidate >= today.year - 1 else candidate + 100
    return candidate if candidate <= today.year else candidate - 100


def _build(day: int, month: int, year: int) -> date:
    """The date, or ParseError('no_such_day') for 31 February and the like."""
    if not 1 <= month <= 12:
        raise ParseError("format")
    try:
        return date(year, month, day)
    except ValueError:
        raise ParseError("no_such_day") from None


def parse_date(text: str, today: date, *, prefer_future: bool = False) -> date:
    """A date typed as ``12-03-2024``, ``12/3/24``, ``12 Maret 2024``, ``12 March 2024``, ``2024-03-12``,
    ``12032024``, also after ``tgl`` / ``tanggal`` / ``lahir``."""
    t = normalize(text).replace(",", " ").strip(" .!")
    t = DATE_PREFIX.sub("", " ".join(t.split()))
    if m := _ISO.match(t):
        return _build(int(m[3]), int(m[2]), int(m[1]))
    if m := _EIGHT_DIGITS.match(t):  # 12032024
        return _build(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC.match(t):
        return _build(int(m[1]), int(m[2]), _year(m[3], today, prefer_future))
    if m := _DAY_MONTH_YEAR.match(t):
        month = MONTHS.get(m[2])
        if month is None:
            raise ParseError("format")
        return _build(int(m[1]), month, _year(m[3], today, prefer_future))
    if m := _MONTH_DAY_YEAR.match(t):
        month = MONTHS.get(m[1])
        if month is None:
            raise ParseError("format")
        return _build(int(m[2]), month, int(m[3]))
    raise ParseError("format")


_PHONE_SEPARATORS = re.compile(r"[\s().-]")


def parse_phone(text: str) -> str:
    """An Indonesian mobile number (08..., +62 8..., 628...) as WhatsApp writes it: 628... digits."""
    raw = _PHONE_SEPARATORS.sub("", text.strip())
    if raw.startswith("+"):
        raw = raw[1:]
    if not (raw.isascii() and raw.isdecimal()):
        raise ParseError("phone")
    if raw.startswith("0"):
        raw = "62" + raw[1:]
    elif raw.startswith("8"):
        raw = "62" + raw
    if not raw.startswith("628") or not 11 <= len(raw) <= 14:
        raise ParseError("phone")
    return raw


_MONTH_NUMERIC = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{4})$")
_MONTH_ISO = re.compile(r"^(\d{4})\s*-\s*(\d{1,2})$")
_MONTH_NAMED = re.compile(r"^([a-z]+)\.?\s*[-/.,]?\s*(\d{2}|\d{4})$")


def parse_month(text: str, today: date) -> tuple[int, int]:
    """(year, month) from ``Maret 2025``, ``mar 25``, ``03/2025``, ``3-2025``, ``2025-03``; ParseError otherwise."""
    t = normalize(text).replace(",", " ")
    t = " ".join(t.split())
    if m := _MONTH_NUMERIC.match(t):
        month, year = int(m[1]), int(m[2])
    elif m := _MONTH_ISO.match(t):
        year, month = int(m[1]), int(m[2])
    elif m := _MONTH_NAMED.match(t):
        month = MONTHS.get(m[1])
        if month is None:
            raise ParseError("format")
        year = _year(m[2], today, False)
    else:
        raise ParseError("format")
    if not 1 <= month <= 12:
        raise ParseError("format")
    return year, month


_KG_AND_GRAMS = re.compile(r"^(\d)(?:kg|kilo)(\d{1,3})(?:g|gr|gram|grams)?\.?$")
_WEIGHT = re.compile(r"^(\d{1,4})(?:[.,](\d{1,3}))?\s*(kg|kilo|kilogram|g|gr|gram|grams)?\.?$")


def parse_birth_weight(text: str) -> int:
    """A birth weight in grams from ``3,2 kg``, ``3.2``, ``3200``, ``3200 gram``, ``3 kg 200 gram``, ``bb 3,2 kg``, ``3.200`` (an
    Indonesian thousands point: the same 3,2 kg). A number without a unit below 10 is kilograms,
    from 200 on grams. ParseError("format"), or ("unit") for 10-199 without a unit (``32``: 3,2 kg?).
    """
    t = re.sub(r"^(?:berat\s*(?:badan\s*)?(?:lahir(?:nya)?\s*)?|bbl|bb|beratnya)\s*:?\s*", "", normalize(text))
    t = t.replace(" ", "")
    if m := _KG_AND_GRAMS.match(t):  # "3 kg 200 gram"
        return int(m[1]) * 1000 + int(m[2])
    m = _WEIGHT.match(t)
    if not m:
        raise ParseError("format")
    whole, frac, unit = m[1], m[2], m[3]
    value = float(f"{whole}.{frac}") if frac else float(whole)
    if unit in ("kg", "kilo", "kilogram"):
        return round(value * 1000)
    if unit in ("g", "gr", "gram", "grams"):
        if frac and len(frac) == 3:  # "3.200 gram"
            return int(whole + frac)
        return round(value * 1000) if value < 10 else round(value)
    if value < 10:
        return round(value * 1000)
    if frac is None and value >= 200:
        return int(value)
    raise ParseError("unit")
