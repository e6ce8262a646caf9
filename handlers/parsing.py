"""Reading what people type: dates in Indonesian and English, gestational age, RT/RW, names."""
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
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\s*[-/.]?\s*([a-z]+)\.?\s*[-/.,]?\s*(\d{2}|\d{4})$")
_MONTH_DAY_YEAR = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_GESTATION = re.compile(
    r"^(\d{1,2})(?:[.,](\d))?\s*(minggu|mgg|mg|w|wk|wks|week|weeks|bulan|bln|bl|m|mo|month|months)?$"
)
_RT_RW_PAIR = re.compile(r"^(?:rt\.?\s*)?(\d{1,3})\s*(?:[/\-. ]|\s*rw\.?)\s*(?:rw\.?\s*)?(\d{1,3})$")
_RT_ONLY = re.compile(r"^rt\.?\s*(\d{1,3})$")


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
    """A date typed as ``12-03-2024``, ``12/3/24``, ``12 Maret 2024``, ``12 March 2024``, ``2024-03-12``."""
    t = normalize(text).replace(",", " ").strip()
    t = " ".join(t.split())
    if m := _ISO.match(t):
        return _build(int(m[3]), int(m[2]), int(m[1]))
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


def parse_gestation_days(text: str) -> int:
    """Gestational age typed as ``20 minggu``, ``20 weeks``, ``5 bulan`` or ``5 months``, in days."""
    t = normalize(text)
    m = _GESTATION.match(t)
    if not m or m[3] is None:
        raise ParseError("format")
    whole = int(m[1]) + (int(m[2]) / 10 if m[2] else 0)
    unit = m[3]
    if unit in {"minggu", "mgg", "mg", "w", "wk", "wks", "week", "weeks"}:
        return round(whole * 7)
    return round(whole * 30.4375)


def parse_rt_rw(text: str) -> tuple[str | None, str | None]:
    """RT and RW from ``003/002``, ``3/2``, ``RT 3 RW 2``; ``-`` means none given."""
    t = normalize(text)
    if t in {"-", "tidak ada", "tidak tahu", "none", "no", "skip", "lewati"}:
        return None, None
    if m := _RT_RW_PAIR.match(t):
        return f"{int(m[1]):03d}", f"{int(m[2]):03d}"
    if m := _RT_ONLY.match(t):
        return f"{int(m[1]):03d}", None
    raise ParseError("format")


_NAME_OK = re.compile(r"^[^\W\d_](?:[^\W_]|[ .,'\-])*$")


def clean_name(text: str, *, max_len: int = 60) -> str:
    """A person's or household's name: letters, spaces and . , ' - ; ParseError otherwise."""
    name = " ".join(text.split())
    if len(name) < 2:
        raise ParseError("too_short")
    if len(name) > max_len:
        raise ParseError("too_long")
    if not _NAME_OK.match(name):
        raise ParseError("format")
    return name


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
