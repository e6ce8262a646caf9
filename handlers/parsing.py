"""Reading what people type: dates in Indonesian and English, gestational age, RT/RW, names, when
something was done (the Buku KIA history), approximate birth dates and ages, counts, birth weights,
and doses with when they were given (the one reader of ``dpt1 12-10-2026, bcg sudah``)."""
from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from care.stages import add_months
from care.vocabulary import DoseWordError, is_dose_word, read_doses

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


# -- when something was done (the Buku KIA history) --------------------------------------------

_MONTH_NUMERIC = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{4})$")
_MONTH_ISO = re.compile(r"^(\d{4})\s*-\s*(\d{1,2})$")
_MONTH_NAMED = re.compile(r"^([a-z]+)\.?\s*[-/.,]?\s*(\d{2}|\d{4})$")
#: "done, but nobody remembers when"
UNKNOWN_WORDS = frozenset({
    "sudah", "sdh", "udah", "ya", "iya", "pernah", "tidak ingat", "tdk ingat", "gak ingat", "nggak ingat", "lupa",
    "sudah tidak ingat", "sudah lupa", "tidak tahu tanggalnya", "lupa tanggalnya", "tanggal tidak ingat",
    "sudah, tanggal tidak ingat", "done", "yes", "given", "don't remember", "dont remember", "not sure", "unknown",
})
TODAY_WORDS = {"hari ini": 0, "today": 0, "tadi": 0, "kemarin": 1, "yesterday": 1}


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


def parse_when(text: str, today: date) -> tuple[str, date | None]:
    """When something was done, as typed: ``("day", date)`` for a date (or ``hari ini``, ``kemarin``),
    ``("month", first day of the month)`` for a month, ``("unknown", None)`` for ``sudah`` / ``tidak ingat``.

    The caller turns a month or an unknown date into the date the rules use (``care.history``) and
    refuses what lies before a birth or after today. ParseError("format") when nothing fits.
    """
    t = normalize(text).strip(" .!")
    if t in UNKNOWN_WORDS:
        return "unknown", None
    if t in TODAY_WORDS:
        return "day", date.fromordinal(today.toordinal() - TODAY_WORDS[t])
    try:
        return "day", parse_date(t, today)
    except ParseError as exc:
        if exc.code == "no_such_day":
            raise
    year, month = parse_month(t, today)
    return "month", date(year, month, 1)



# -- approximate birth dates and ages -----------------------------------------------------------

#: How well a birth date is known (db.models.Person.birth_precision): None is the day itself.
BIRTH_MONTH = "month"
BIRTH_YEAR = "year"
BIRTH_AGE = "age"
BIRTH_PRECISIONS = (BIRTH_MONTH, BIRTH_YEAR, BIRTH_AGE)

#: "I do not know the birth date"
UNKNOWN_BIRTH_WORDS = frozenset({
    "tidak tahu", "tdk tahu", "gak tahu", "nggak tahu", "ga tahu", "tidak tau", "tdk tau", "gak tau", "ga tau",
    "nggak tau", "gatau", "tidak ingat", "tdk ingat", "lupa", "tidak tahu tanggalnya", "tidak ada", "?", "-",
    "don't know", "dont know", "unknown", "not sure", "no idea",
})
_ABOUT = re.compile(
    r"^(?:(?:sekitar|kira[- ]?kira|kira2|kurang lebih|kurleb|kl|umur(?:nya)?|usia(?:nya)?|lahir|tahun|thn|th|"
    r"about|around|approx\.?|approximately|age|aged|born|in|\+/-|\+-|±|~|\+)\s*)+"
)
_AGE = re.compile(r"^(\d{1,3})\s*(tahun|thn|th|t|years?|yrs?|y|bulan|bln|bl|months?|mo)?\.?$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class BirthGuess:
    """A birth date as well as it is known: the date used, its precision (None: the day itself) and
    the latest day the person can have been born on (for "could this be a young child?")."""

    on: date
    precision: str | None
    latest: date


def parse_age(text: str) -> tuple[int, bool]:
    """An age as people write it: (completed months, whether it was said in years). ``67``,
    ``67 tahun``, ``umur 67``, ``sekitar 70``, ``± 70``, ``kira-kira 70 tahun`` are years (a bare
    number too); ``8 bulan`` is months. ParseError("format") otherwise."""
    t = _ABOUT.sub("", normalize(text).strip(" .!?")).strip()
    m = _AGE.match(t)
    if not m:
        raise ParseError("format")
    number, unit = int(m[1]), m[2] or "tahun"
    if unit in ("bulan", "bln", "bl", "month", "months", "mo"):
        return number, False
    return number * 12, True


def birth_from_age(months: int, in_years: bool, today: date) -> BirthGuess:
    """The birth date estimated from an age: today minus the age minus half a unit (someone "67" is
    on average 67 and a half; a baby "8 bulan" eight and a half months)."""
    latest = add_months(today, -months)
    on = add_months(latest, -6) if in_years else latest - timedelta(days=15)
    return BirthGuess(on, BIRTH_AGE, latest)


def parse_birth(text: str, today: date) -> BirthGuess:
    """A birth date as well as it is known.

    * a date (``12-03-1959``): that day, precision None;
    * a month (``Maret 1960``, ``03/1960``): the 15th (not after today), ``"month"``;
    * a year (``1959``, ``sekitar 1960``): 1 July (not after today), ``"year"``;
    * an age (``67 tahun``, ``umur 67``, ``sekitar 70``, ``± 70``, ``8 bulan``): today minus the age
      minus half a unit, ``"age"``.

    ParseError("unknown") for ``tidak tahu``; ("future") for a month or year still ahead;
    ("format") / ("no_such_day") otherwise.
    """
    t = normalize(text).strip(" .!")
    if t in UNKNOWN_BIRTH_WORDS:
        raise ParseError("unknown")
    try:
        day = parse_date(t, today)
        return BirthGuess(day, None, day)
    except ParseError as exc:
        if exc.code == "no_such_day":
            raise
    bare = _ABOUT.sub("", t).strip()
    try:
        year, month = parse_month(bare, today)
    except ParseError:
        pass
    else:
        if year < 1800:
            raise ParseError("format")
        if date(year, month, 1) > today:
            raise ParseError("future")
        last = date(year, month, calendar.monthrange(year, month)[1])
        return BirthGuess(min(date(year, month, 15), today), BIRTH_MONTH, min(last, today))
    if m := _YEAR.match(bare):
        year = int(m[1])
        if year < 1800:
            raise ParseError("format")
        if year > today.year:
            raise ParseError("future")
        return BirthGuess(min(date(year, 7, 1), today), BIRTH_YEAR, min(date(year, 12, 31), today))
    months, in_years = parse_age(t)
    return birth_from_age(months, in_years, today)


# -- counts and weights -------------------------------------------------------------------------

NUMBER_WORDS = {
    "nol": 0, "satu": 1, "sekali": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
    "delapan": 8, "sembilan": 9, "sepuluh": 10, "one": 1, "once": 1, "two": 2, "twice": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_COUNT = re.compile(r"^(\d{1,2}|[a-z]+)\s*(?:x|kali|times?)?\.?$")


def parse_count(text: str) -> int:
    """How many times: ``3``, ``3x``, ``3 kali``, ``tiga``, ``tiga kali``, ``sekali``. ParseError otherwise."""
    t = normalize(text).strip(" .!")
    t = re.sub(r"^(?:sudah|sdh|udah|baru)\s+", "", t)
    m = _COUNT.match(t)
    if not m:
        raise ParseError("format")
    word = m[1]
    if word.isdecimal():
        return int(word)
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    raise ParseError("format")


_WEIGHT = re.compile(r"^(\d{1,4})(?:[.,](\d{1,3}))?\s*(kg|kilo|kilogram|g|gr|gram|grams)?\.?$")


def parse_birth_weight(text: str) -> int:
    """A birth weight in grams from ``3,2 kg``, ``3.2``, ``3200``, ``3200 gram``, ``3.200`` (an
    Indonesian thousands point: the same 3,2 kg). A number without a unit below 10 is kilograms,
    from 200 on grams. ParseError("format"), or ("unit") for 10-199 without a unit (``32``: 3,2 kg?).
    """
    t = normalize(text).replace(" ", "")
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


# -- doses and when they were given ------------------------------------------------------------


class DoseTextError(ValueError):
    """Dose text not understood: ``part`` as typed, ``code`` ``dose`` (no dose) or ``dose_date``."""

    def __init__(self, part: str, code: str) -> None:
        super().__init__(f"{code}: {part!r}")
        self.part = part[:40]
        self.code = code


_WHEN_REFERENCE = date(2000, 1, 1)  # any day: only whether the words read as a date matters here
_WHEN_WORDS = 5  # the longest "when" tried, in words ("sudah, tanggal tidak ingat")
_PARTS = re.compile(r"[;\n]+|,(?!\s*\d{2,4}\b)")
_BARE_STEM = re.compile(r"^[^\W\d_]+$")
_BOOSTER = ("lanjutan", "booster", "ulangan")


def _when_length(words: list[str], i: int) -> int:
    """How many words from ``i`` read as when something was given (0: none)."""
    if is_dose_word(words[i]):
        return 0
    for size in range(min(_WHEN_WORDS, len(words) - i), 0, -1):
        try:
            parse_when(" ".join(words[i:i + size]), _WHEN_REFERENCE)
        except (ParseError, ValueError):
            continue
        return size
    return 0


def _dose_number(words: list[str], i: int) -> bool:
    """Whether the number ``words[i]`` is the number of the dose word before it (``dpt 2``), not the
    start of a date (``dpt 12 10 2026`` / ``dpt 1 Okt 2026`` is dose 1 in October)."""
    if not (i > 0 and re.fullmatch(r"\d{1,2}", words[i]) and is_dose_word(words[i - 1])
            and _BARE_STEM.match(re.sub(r"[-_./]", "", words[i - 1]))):
        return False
    after = i + 1
    return (after == len(words) or is_dose_word(words[after]) or words[after].lower() in _BOOSTER
            or _when_length(words, after) > 0)


def _looks_like_date(word: str) -> bool:
    """A word a person meant as (part of) a date: digits, or a month name."""
    plain = word.lower().strip(".,")
    return bool(re.fullmatch(r"[\d\-/.,]+", plain)) or plain in MONTHS


def dose_entries(text: str) -> list[tuple[tuple[str, ...], str]]:
    """The doses in ``text`` grouped by when they were given, as typed: ``"dpt1 pcv1 12-10-2026, bcg
    sudah mr1"`` -> ``[(("DPT_HB_HIB1", "PCV1"), "12-10-2026"), (("BCG",), "sudah"), (("MR1",), "")]``.

    Dose words are read by ``care.vocabulary.read_doses`` (placeholders such as ``PCV*`` for a series
    word without its number); ``""`` means today. Raises :class:`DoseTextError` naming the first
    word that is neither a dose nor part of a date (``dose_date`` when it looks like a date).
    """
    groups: list[tuple[tuple[str, ...], str]] = []
    for part in _PARTS.split(text):
        words = part.replace("+", " ").split()
        doses: list[str] = []
        i = 0
        while i < len(words):
            if not _dose_number(words, i) and (size := _when_length(words, i)):
                when = " ".join(words[i:i + size])
                if not doses:
                    raise DoseTextError(when, "dose")
                groups.append((_read(doses), when))
                doses = []
                i += size
                continue
            doses.append(words[i])
            i += 1
        if doses:
            groups.append((_read(doses), ""))
    if not groups:
        raise DoseTextError(text.strip(), "dose")
    return groups


def _read(words: list[str]) -> tuple[str, ...]:
    """The dose codes of some words; DoseTextError names the word not understood."""
    try:
        return tuple(read_doses(" ".join(words)))
    except DoseWordError as err:
        bad = next((w for w in words if not is_dose_word(w) and not re.fullmatch(r"\d{1,2}", w)
                    and w.lower() not in _BOOSTER), err.word)
        raise DoseTextError(bad if bad else err.word, "dose_date" if _looks_like_date(bad) else "dose") from None
