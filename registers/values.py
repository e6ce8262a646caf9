"""Reading the cells of a register: one pure function per kind of value.

A cell comes as openpyxl gives it (``str``, ``int``, ``float``, ``datetime``, ``date``, ``bool``) or as
CSV text. Each reader returns the value or raises :class:`CellError` with a problem code
(``registers.problems`` words it) and its params; an empty cell is None before any reader is called
(:func:`is_empty`).

Dates (:func:`read_date`): Excel dates, Excel serial numbers (``45059``), text ``12-05-2023``,
``12/5/23``, ``12 Mei 2023``, ``12 Mei 23``, ``2023-05-12``, ``12052023``; a month alone (``Mei 2023``,
``05/2023``) is the first of the month with precision ``month``. The typed forms are read by
``content.reading`` (the same reader as the chat's).
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta

from content.reading import ParseError, normalize, parse_birth_weight, parse_date, parse_month, parse_phone

DAY = "day"
MONTH = "month"
UNKNOWN = "unknown"

#: Excel's day zero (serial 1 is 1900-01-01; the 1900 leap-year bug is behind every date used here).
EXCEL_EPOCH = date(1899, 12, 30)
#: Serial numbers taken as dates: 1 January 1920 to 31 December 2099.
_SERIAL_RANGE = (7306, 73050)

#: A dose cell that says the dose was given without its date.
DONE_MARKS = frozenset({
    "sudah", "sdh", "udah", "ya", "iya", "y", "v", "vv", "ok", "done", "yes", "+", "1", "true",
    "✓", "✔", "√", "☑", "✅",
})
#: A dose cell that says not given (the same as an empty cell).
NOT_DONE_MARKS = frozenset({"-", "--", "belum", "blm", "tidak", "tdk", "no", "0", "false", "n", "t"})


class CellError(ValueError):
    """A cell that cannot be read: ``code`` names the problem, ``params`` fill its message."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def is_empty(value: object) -> bool:
    """Whether a cell holds nothing (None, or only spaces)."""
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: object) -> str:
    """A cell as text, as a person would see it: dates ``12-05-2023``, whole numbers without ``.0``,
    ``""`` for an empty cell."""
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value) if abs(value) >= 1e15 else f"{value:g}"
    return str(value).strip()


def _text(value: object) -> str:
    return normalize(cell_text(value)).strip(" .")


# -- dates -----------------------------------------------------------------------------------------


def serial_date(number: float) -> date:
    """The date of an Excel serial number (the day part; a time of day is dropped)."""
    if not _SERIAL_RANGE[0] <= number <= _SERIAL_RANGE[1]:
        raise CellError("date_format")
    return EXCEL_EPOCH + timedelta(days=int(number))


def read_date(value: object, today: date, *, prefer_future: bool = False) -> tuple[date, str]:
    """A date and its precision (``day`` or ``month``; a month alone is its first day). Two-digit
    years take the century that is not in the future (``prefer_future``: the one that is not long
    past, for an expected date of delivery). Raises CellError ``date_format`` or ``date_no_such_day``."""
    if isinstance(value, datetime):
        return value.date(), DAY
    if isinstance(value, date):
        return value, DAY
    if isinstance(value, bool):
        raise CellError("date_format")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise CellError("date_format")
        if value == int(value) and 10_000_000 <= value <= 99_999_999:  # 12052023 typed as a number
            return read_date(str(int(value)), today, prefer_future=prefer_future)
        return serial_date(value), DAY
    text = cell_text(value)
    if re.fullmatch(r"\d{5}(?:[.,]\d+)?", text):  # a serial number kept as text (CSV from Excel)
        return serial_date(float(text.replace(",", "."))), DAY
    text = re.sub(r"\s+\d{1,2}:\d{2}(?::\d{2})?$", "", text)  # "2023-05-12 00:00:00"
    try:
        return parse_date(text, today, prefer_future=prefer_future), DAY
    except ParseError as exc:
        if exc.code == "no_such_day":
            raise CellError("date_no_such_day") from None
    try:
        year, month = parse_month(text, today)
    except ParseError:
        raise CellError("date_format") from None
    if not 1900 <= year <= 2099:
        raise CellError("date_format")
    return date(year, month, 1), MONTH


def read_dose_cell(value: object, today: date) -> tuple[date | None, str] | None:
    """A cell of a dose column: None when it says not given (empty, ``-``, ``belum``); ``(None,
    "unknown")`` when it only says given (``sudah``, ``v``, ``✓``, ``ya``); else the date and its
    precision as :func:`read_date` reads it."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        return (None, UNKNOWN) if value else None
    text = _text(value) if isinstance(value, str) else ""
    if text in NOT_DONE_MARKS:
        return None
    if text in DONE_MARKS or cell_text(value).strip() in DONE_MARKS:
        return None, UNKNOWN
    if isinstance(value, int) and value in (0, 1):
        return (None, UNKNOWN) if value else None
    return read_date(value, today)


# -- numbers ---------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([a-z]*)\.?$")


def read_number(value: object, units: dict[str, float] | None = None, *, low: float, high: float) -> float:
    """A number from ``7,2``, ``7.2``, ``7,2 kg`` (a unit of ``units``, each with its factor to the
    unit returned) or a number cell, within ``[low, high]``. CellError ``number_format`` or
    ``number_range`` (params ``low``, ``high``)."""
    if isinstance(value, bool):
        raise CellError("number_format")
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise CellError("number_format")
    else:
        m = _NUMBER.match(_text(value))
        if not m or (m[2] and m[2] not in (units or {})):
            raise CellError("number_format")
        number = float(m[1].replace(",", ".")) * (units or {}).get(m[2], 1.0)
    if not low <= number <= high:
        raise CellError("number_range", low=f"{low:g}", high=f"{high:g}")
    return number


KG = {"kg": 1.0, "kilo": 1.0, "g": 0.001, "gr": 0.001, "gram": 0.001}
CM = {"cm": 1.0, "mm": 0.1}


def read_weight_kg(value: object) -> float:
    """A body weight in kilograms (``7,2``, ``7,2 kg``, ``7200 g``), 0.5-250 kg."""
    return round(read_number(value, KG, low=0.5, high=250), 2)


def read_cm(value: object, *, low: float = 5, high: float = 250) -> float:
    """A length in centimetres (``72,5``, ``72,5 cm``)."""
    return round(read_number(value, CM, low=low, high=high), 1)


def read_birth_weight_g(value: object) -> int:
    """A birth weight in grams: ``3200``, ``3200 g``, ``3,2``, ``3,2 kg`` (a number below 10 is
    kilograms), 300-7000 g. CellError ``birth_weight`` otherwise."""
    if isinstance(value, bool):
        raise CellError("birth_weight")
    text = cell_text(value) if isinstance(value, int | float) else str(value)
    if isinstance(value, float) and value < 10:
        text = str(value).replace(".", ",")
    try:
        grams = parse_birth_weight(text)
    except ParseError:
        raise CellError("birth_weight") from None
    if not 300 <= grams <= 7000:
        raise CellError("birth_weight")
    return grams


def read_int(value: object, *, low: int, high: int) -> int:
    """A whole number (``2``, ``2.0``, ``ke-2``) within ``[low, high]``."""
    if isinstance(value, float) and value == int(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        m = re.fullmatch(r"(?:ke\s*-?\s*)?(\d{1,3})", _text(value))
        if not m:
            raise CellError("number_format")
        number = int(m[1])
    if not low <= number <= high:
        raise CellError("number_range", low=str(low), high=str(high))
    return number


# -- people ----------------------------------------------------------------------------------------

SEX_WORDS = {
    "l": "M", "lk": "M", "laki": "M", "laki laki": "M", "lakilaki": "M", "pria": "M", "m": "M", "male": "M",
    "p": "F", "pr": "F", "perempuan": "F", "wanita": "F", "w": "F", "f": "F", "female": "F",
}


def read_sex(value: object) -> str:
    """``M`` or ``F`` from ``L``/``P``, ``Laki-laki``/``Perempuan``, ``M``/``F``. CellError ``sex``."""
    text = re.sub(r"[-_/.]", " ", _text(value))
    sex = SEX_WORDS.get(" ".join(text.split()))
    if sex is None:
        raise CellError("sex")
    return sex


def read_phone(value: object) -> str:
    """An Indonesian mobile number in international digits (``08123...`` -> ``628123...``); a number
    cell that lost its leading 0 (``8123...``) is read the same. CellError ``phone``."""
    text = cell_text(value).lstrip("'")
    try:
        return parse_phone(text)
    except ParseError:
        raise CellError("phone") from None


_RT_RW = re.compile(r"^(?:rt\.?\s*)?(\d{1,3})(?:\s*(?:[/\-.]|\s)\s*(?:rw\.?\s*)?(\d{1,3}))?$")


def read_rt_rw(value: object) -> tuple[str, str | None]:
    """RT and RW as three digits from ``001/002``, ``1/2``, ``RT 1 RW 2`` or one number (``1``: the RT,
    or the RW in a column of its own). CellError ``rt_rw``."""
    m = _RT_RW.match(_text(value))
    if not m:
        raise CellError("rt_rw")
    return f"{int(m[1]):03d}", (f"{int(m[2]):03d}" if m[2] else None)


def read_code_text(value: object) -> str:
    """A code kept as text (No KK, a village code): digits and dots as written, a leading ``'`` dropped.
    A number cell too long for Excel to keep exactly raises ``number_lost``."""
    if isinstance(value, float) or (isinstance(value, int) and len(str(abs(value))) >= 16):
        raise CellError("number_lost")
    return cell_text(value).lstrip("'").replace(" ", "")


_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?e\+?\d{1,2}$")


def read_nik(value: object) -> str:
    """A NIK (or No KK: 16 digits) as text. Excel keeps only 15 significant digits of a number, so a
    NIK typed into a number cell loses its last digit: a float cell, a number ending in 0 and text such
    as ``3.51E+15`` raise CellError ``nik_number_lost`` (nothing is guessed). A whole number of 16
    digits not ending in 0 cannot have lost one (it came from a program that keeps them) and is read.
    Spaces, dots and a leading ``'`` are dropped; other shapes raise ``nik_length``."""
    if isinstance(value, bool):
        raise CellError("nik_length", digits="0")
    if isinstance(value, float):
        raise CellError("nik_number_lost")
    if isinstance(value, int):
        text = str(value)
        if len(text) >= 15 and text.endswith("0"):
            raise CellError("nik_number_lost")
    else:
        text = str(value).strip().lstrip("'").strip()
        if _SCIENTIFIC.match(text.lower().replace(" ", "")):
            raise CellError("nik_number_lost")
        text = re.sub(r"[\s.\-]", "", text)
    if not (len(text) == 16 and text.isascii() and text.isdecimal()):
        raise CellError("nik_length", digits=str(sum(ch.isdigit() for ch in text)))
    return text


def read_name(value: object) -> str:
    """A name: the cell's text with runs of spaces folded (at most 100 characters). CellError ``name``
    for a cell without a letter."""
    name = " ".join(cell_text(value).split())
    if not any(ch.isalpha() for ch in name) or len(name) > 100:
        raise CellError("name")
    return name


def read_text(value: object) -> str:
    """Free text (an address, a dusun): spaces folded."""
    return " ".join(cell_text(value).split())
