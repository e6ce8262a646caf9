"""Reading what people type: yes and no, dates in Indonesian and English, gestational age, RT/RW,
names, when something was done (the Buku KIA history), approximate birth dates and ages, counts,
birth weights, numbers with their units, and doses with when they were given (the one reader of
``dpt1 12-10-2026, bcg sudah``).

Dates, months, phone numbers and birth weights are read by ``content.reading`` (shared with
register imports) and offered here under their usual names."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from care.stages import add_months
from care.vocabulary import DoseWordError, is_dose_word, read_doses
from content.reading import DATE_PREFIX as _DATE_PREFIX
from content.reading import MONTHS, ParseError, normalize, parse_date, parse_month
# read here too, and by every flow through this module: the typed phone number and birth weight
from content.reading import parse_birth_weight as parse_birth_weight
from content.reading import parse_phone as parse_phone

_WEEK_UNITS = r"minggu|mgg|mg|mng|w|wk|wks|week|weeks"
_MONTH_UNITS = r"bulan|bln|bl|mo|month|months"
_GESTATION = re.compile(
    rf"^(\d{{1,2}})(?:[.,](\d))?\s*({_WEEK_UNITS}|{_MONTH_UNITS}|m)?"
    r"(?:\s*(?:\+|lebih|lbh|dan|and)?\s*(\d)\s*(?:hari|hr|h|d|days?)?)?$"
)
#: Words around a gestational age: "hamil 20 minggu", "usia kehamilan 5 bulan", "sekitar 20 minggu".
_GESTATION_WORDS = re.compile(
    r"\b(?:usia|umur|hamil|hamilnya|kehamilan|kehamilannya|kandungan|kandungannya|sekitar|kira|kira2|kurang lebih|"
    r"kurleb|sudah|sdh|udah|baru|jalan|masuk|about|around|pregnant)\b|[~±]|\+/-"
)
_RT_RW_PAIR = re.compile(r"^(?:rt\.?\s*)?(\d{1,3})\s*(?:[/\-. ]|\s*rw\.?)\s*(?:rw\.?\s*)?(\d{1,3})$")
_RT_ONLY = re.compile(r"^rt\.?\s*(\d{1,3})$")


_NOT_WORD = re.compile(r"[^0-9a-z]+")


def plain_words(text: str) -> list[str]:
    """The words of ``text`` without case, accents or punctuation: ``"Laki-laki!"`` -> ``["laki", "laki"]``."""
    return _NOT_WORD.sub(" ", normalize(text)).split()


# -- yes and no ---------------------------------------------------------------------------------

#: Words that say yes, in Indonesian, English and chat forms.
YES_WORDS = frozenset({
    "ya", "iya", "iyaa", "iyah", "y", "yes", "yess", "yup", "yep", "yeah", "ok", "oke", "okay", "okey", "okee", "okeh",
    "sip", "siap", "setuju", "benar", "betul", "bener", "boleh", "mau", "baik", "lanjut", "agree", "sure", "correct",
})
#: Words that say no.
NO_WORDS = frozenset({
    "tidak", "tdk", "tak", "gak", "ga", "gk", "ngga", "nggak", "enggak", "engga", "ndak", "nda", "no", "n", "nope",
    "bukan", "jangan",
})
#: Words said around an answer that carry no meaning of their own ("ya dong", "mawar saja").
FILLER_WORDS = frozenset({
    "yang", "yg", "saja", "aja", "sj", "deh", "dong", "kok", "kak", "bu", "pak", "ibu", "bapak", "mbak", "mas", "saya",
    "sy", "aku", "kami", "pilih", "terima", "kasih", "makasih", "trims", "thanks", "thank", "you", "please", "the", "i",
    "nya", "itu", "ini", "sudah", "sdh", "udah",
})


def yes_no(text: str) -> str | None:
    """``"yes"`` or ``"no"`` when ``text`` is only a yes or a no ("iya", "Ya!", "ok deh", "tidak setuju",
    "gak mau"); None otherwise (also for "tidak ada keluhan": more than a no)."""
    words = [w for w in plain_words(text) if w not in FILLER_WORDS or w in YES_WORDS or w in NO_WORDS]
    if not words:
        return None
    if words[0] in NO_WORDS and all(w in NO_WORDS or w in YES_WORDS for w in words[1:]):
        return "no"
    if all(w in YES_WORDS for w in words):
        return "yes"
    return None


def parse_gestation_days(text: str) -> int:
    """Gestational age in days, typed as ``20 minggu``, ``20 mgg``, ``20 weeks``, ``20+3`` / ``20 minggu 3
    hari`` (weeks and days), ``5 bulan``, ``5 months``, ``hamil 20 minggu`` or a bare number of weeks
    (``24``). ParseError("format"), or ("unit") for a bare number below 10 (``5``: weeks or months?).
    ``20 m`` is weeks (20 months cannot be), ``5 m`` months."""
    t = " ".join(_GESTATION_WORDS.sub(" ", normalize(text).replace("-", " ")).split()).strip(" .!")
    m = _GESTATION.match(t)
    if not m:
        raise ParseError("format")
    whole = int(m[1]) + (int(m[2]) / 10 if m[2] else 0)
    unit, extra = m[3], m[4]
    if unit is None and extra is None:
        if whole < 10:
            raise ParseError("unit")
        unit = "minggu"
    elif unit is None:
        unit = "minggu"  # 20+3: weeks and days
    if unit == "m":
        unit = "bulan" if whole <= 10 else "minggu"
    if re.fullmatch(_WEEK_UNITS, unit):
        return round(whole * 7) + (int(extra) if extra else 0)
    if extra:
        raise ParseError("format")
    return round(whole * 30.4375)


def parse_rt_rw(text: str) -> tuple[str | None, str | None]:
    """RT and RW from ``003/002``, ``3/2``, ``RT 3 RW 2``; ``-`` means none given."""
    t = normalize(text).strip(" .!")
    t = re.sub(r"^rt\s*/\s*rw\s*:?\s*", "", t)  # "RT/RW 3/2"
    if t in {"-", "tidak ada", "tidak tahu", "none", "no", "skip", "lewati"} or t in UNKNOWN_BIRTH_WORDS:
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


# -- when something was done (the Buku KIA history) --------------------------------------------

#: "done, but nobody remembers when"
UNKNOWN_WORDS = frozenset({
    "sudah", "sdh", "udah", "ya", "iya", "pernah", "tidak ingat", "tdk ingat", "gak ingat", "nggak ingat", "lupa",
    "sudah tidak ingat", "sudah lupa", "tidak tahu tanggalnya", "lupa tanggalnya", "tanggal tidak ingat",
    "sudah, tanggal tidak ingat", "done", "yes", "given", "don't remember", "dont remember", "not sure", "unknown",
})
TODAY_WORDS = {"hari ini": 0, "today": 0, "tadi": 0, "kemarin": 1, "yesterday": 1}


_AGO = re.compile(r"^(\d{1,2}|[a-z]+)\s*(hari|hr|minggu|mgg|pekan|bulan|bln|days?|weeks?|months?)\s*(?:yang|yg)?\s*(?:lalu|yl|ago|kemarin|kemaren)$")
_LAST = {"minggu lalu": ("day", 7), "seminggu lalu": ("day", 7), "pekan lalu": ("day", 7), "last week": ("day", 7),
         "bulan lalu": ("month", 1), "sebulan lalu": ("month", 1), "last month": ("month", 1),
         "bulan ini": ("month", 0), "this month": ("month", 0)}
_ONE = {"se": 1, "satu": 1, "a": 1, "an": 1, "one": 1}
#: Words around a month that change nothing: "bulan Maret", "awal Maret 2026", "Maret lalu".
_MONTH_WORDS = re.compile(r"^(?:(?:bulan|bln|awal|akhir|pertengahan|tengah|sekitar|kira kira|in|early|late|mid)\s+)+|"
                          r"\s+(?:lalu|yang lalu|yg lalu|kemarin|kemaren|kmrn|last|ini)$")
_DAY_MONTH = re.compile(r"^(\d{1,2})\s*[-/. ]\s*(\d{1,2}|[a-z]+)$")


def _latest(year_month_day: tuple[int, int, int], today: date) -> date:
    """The latest date with that month and day (the year left out) that is not after today."""
    _year, month, day = year_month_day
    for year in (today.year, today.year - 1):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found <= today:
            return found
    raise ParseError("no_such_day")


def parse_when(text: str, today: date) -> tuple[str, date | None]:
    """When something was done, as typed: ``("day", date)`` for a date (or ``hari ini``, ``kemarin``,
    ``3 hari lalu``, ``2 minggu lalu``, ``12 Maret`` without the year: the last one that has passed),
    ``("month", first day of the month)`` for a month (``Maret 2026``, ``Maret`` alone: the last
    March that has begun, ``bulan lalu``, ``2 bulan lalu``), ``("unknown", None)`` for ``sudah`` /
    ``tidak ingat``.

    The caller turns a month or an unknown date into the date the rules use (``care.history``) and
    refuses what lies before a birth or after today. ParseError("format") when nothing fits.
    """
    t = " ".join(normalize(text).strip(" .!").split())
    if t in UNKNOWN_WORDS:
        return "unknown", None
    if t in TODAY_WORDS:
        return "day", date.fromordinal(today.toordinal() - TODAY_WORDS[t])
    if t in _LAST:
        kind, count = _LAST[t]
        if kind == "day":
            return "day", today - timedelta(days=count)
        first = add_months(today.replace(day=1), -count)
        return "month", first
    if m := _AGO.match(t):
        count = int(m[1]) if m[1].isdecimal() else NUMBER_WORDS.get(m[1], _ONE.get(m[1]))
        if count is None:
            raise ParseError("format")
        unit = m[2]
        if unit.startswith(("bulan", "bln", "month")):
            return "month", add_months(today.replace(day=1), -count)
        days = count * (7 if unit.startswith(("minggu", "mgg", "pekan", "week")) else 1)
        return "day", today - timedelta(days=days)
    try:
        return "day", parse_date(t, today)
    except ParseError as exc:
        if exc.code == "no_such_day":
            raise
    bare = _MONTH_WORDS.sub("", _DATE_PREFIX.sub("", t)).strip()
    if m := _DAY_MONTH.match(bare):  # "12 Maret", "12/3": the last one that has passed
        month = int(m[2]) if m[2].isdecimal() else MONTHS.get(m[2])
        if month and 1 <= month <= 12 and 1 <= int(m[1]) <= 31:
            return "day", _latest((0, month, int(m[1])), today)
    if bare in MONTHS:  # "Maret": the last March that has begun
        month = MONTHS[bare]
        year = today.year if month <= today.month else today.year - 1
        return "month", date(year, month, 1)
    year, month = parse_month(bare, today)
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
_AGE = re.compile(r"^(\d{1,3})(\s*-?\s*an)?\s*(tahun|thn|th|t|years?|yrs?|y|bulan|bln|bl|months?|mo)?\.?(?:\s*an)?$")
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
    number too); ``70-an`` / ``70an`` is about 75; ``8 bulan`` is months. ParseError("format") otherwise."""
    t = _ABOUT.sub("", normalize(text).strip(" .!?")).strip()
    m = _AGE.match(t)
    if not m:
        raise ParseError("format")
    number, unit = int(m[1]), m[3] or "tahun"
    if (m[2] or t.endswith("an")) and number % 10 == 0 and unit in ("tahun", "thn", "th", "t", "year", "years", "yr", "yrs", "y"):
        number += 5  # "70-an": in the seventies, about 75
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
#: "none so far" for a count
NEVER_WORDS = frozenset({"belum", "belum pernah", "tidak pernah", "tdk pernah", "gak pernah", "ga pernah", "nggak pernah",
                         "never", "none", "0", "nol"})
_COUNT = re.compile(r"^(\d{1,2}|[a-z]+)\s*(?:x|kali|times?)?\.?$")


def parse_count(text: str) -> int:
    """How many times: ``3``, ``3x``, ``3 kali``, ``tiga``, ``tiga kali``, ``sekali``, ``sudah 3 kali periksa``;
    ``belum pernah`` is 0. ParseError otherwise."""
    t = normalize(text).strip(" .!")
    if t in NEVER_WORDS:
        return 0
    t = re.sub(r"^(?:sudah|sdh|udah|baru|ada|sebanyak)\s+", "", t)
    t = re.sub(r"\s+(?:periksa|pemeriksaan|kunjungan|ke bidan|ke puskesmas|ke dokter)$", "", t)
    m = _COUNT.match(t)
    if not m:
        raise ParseError("format")
    word = m[1]
    if word.isdecimal():
        return int(word)
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    raise ParseError("format")


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


# -- numbers with their units (a visit's measurements) -------------------------------------------

#: "not measured" for an optional measurement
SKIP_WORDS = frozenset({
    "-", "--", "x", "tidak", "tdk", "tidak diukur", "tdk diukur", "belum diukur", "tidak ada", "tdk ada", "gak ada",
    "ga ada", "tidak diperiksa", "skip", "lewati", "lewat", "none", "no", "n/a", "na", "not measured",
})


@dataclass(frozen=True)
class Slot:
    """One value a step reads: its name, the words that may name it before the number (``bb``,
    ``lila``) and its units with their factors (``{"kg": 1, "gram": 0.001}``)."""

    name: str
    labels: frozenset[str] = frozenset()
    units: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Values:
    """What :func:`read_values` read: value by slot name (None: ``-``, not measured), the label or
    unit word that named each slot so named (``bb``, ``kg``), and the marks seen (``l``, ``h``)."""

    values: dict[str, float | None]
    named_by: dict[str, str]
    marks: tuple[str, ...]


_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[a-z]+|-")


def read_values(text: str, slots: tuple[Slot, ...], *, marks: dict[str, str] | None = None,
                fillers: frozenset[str] = frozenset()) -> Values:
    """Numbers typed with their labels or units, in any order, e.g. for (weight, length):
    ``8,9 72,5``, ``8,9 kg 72,5 cm``, ``72,5 cm 8,9 kg``, ``bb 8,9 tb 72,5``, ``8.9kg/72.5cm``, ``- 72``.

    A number goes to the slot its label before it or its unit after it names (a unit of several
    slots, such as ``cm`` of head and arm, names none), else to the first slot not yet filled, in order; ``-`` leaves a slot empty (None). ``marks`` maps words to a mark
    (``{"l": "l", "berbaring": "l"}``); ``fillers`` are words to pass over. ParseError("format") for
    a word not understood, ("duplicate") for a slot given twice, ("count") for more values than slots.
    """
    marks = marks or {}
    t = normalize(text).replace("/", " ").replace(";", " ").replace(":", " ").replace("=", " ")
    t = re.sub(r"(?<=[a-z])-(?=\s*\d)", " ", t)  # "ke-4"
    tokens = _TOKEN.findall(t)
    if not tokens:
        raise ParseError("format")
    by_label = {word: slot for slot in slots for word in slot.labels}
    units: dict[str, list[tuple[Slot, float]]] = {}
    for slot in slots:
        for unit, factor in slot.units:
            units.setdefault(unit, []).append((slot, factor))
    values: dict[str, float | None] = {}
    named: dict[str, str] = {}
    seen_marks: list[str] = []
    pending: list[tuple[float | None, Slot | None]] = []  # (value, slot named by a label before it)
    label: Slot | None = None
    label_word = ""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "-" or token[0].isdigit():
            value = None if token == "-" else float(token.replace(",", "."))
            slot, i = label, i + 1
            while i < len(tokens) and tokens[i] in units:  # "8,9 kg", "140 mg dl"
                owners = units[tokens[i]]
                if token != "-" and len(owners) == 1:  # a unit of one slot names it ("kg"); "cm" of two does not
                    unit_slot, factor = owners[0]
                    if slot is None or slot is unit_slot:
                        named.setdefault(unit_slot.name, tokens[i])
                        slot, value = unit_slot, value * factor
                i += 1
            if slot is not None and label is slot:
                named[slot.name] = label_word
            pending.append((value, slot))
            label = None
            continue
        if token in by_label and label is None:
            label, label_word = by_label[token], token
        elif token in marks:
            seen_marks.append(marks[token])
        elif token not in fillers and token not in units:
            raise ParseError("format")
        i += 1
    for value, slot in pending:
        if slot is not None:
            if slot.name in values:
                raise ParseError("duplicate")
            values[slot.name] = value
    for value, slot in pending:
        if slot is None:
            free = next((s for s in slots if s.name not in values), None)
            if free is None:
                raise ParseError("count")
            values[free.name] = value
    return Values(values, named, tuple(seen_marks))


_BP = re.compile(r"^(\d{2,3})\s*(?:/|-|per|\s)\s*(\d{2,3})$")


def parse_blood_pressure(text: str) -> tuple[int, int]:
    """Systolic and diastolic from ``120/80``, ``120 / 80 mmHg``, ``td 120/80``, ``120-80``, ``120 per 80``,
    ``120 80``. ParseError("format") otherwise."""
    t = normalize(text).strip(" .!")
    t = re.sub(r"^(?:td|tensi|tekanan darah|tekanan|bp|blood pressure)\s*:?\s*", "", t)
    t = re.sub(r"\s*(?:mm\s*hg|mmhg|mm)\.?$", "", t)
    m = _BP.match(t)
    if not m:
        raise ParseError("format")
    return int(m[1]), int(m[2])


# -- a vaccine's lot number and expiry (a dose given at a visit, for SATUSEHAT) --------------------

_LOT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9./-]{0,39}$")


def parse_lot(text: str, today: date) -> tuple[str, date]:
    """(lot number, expiry) from ``B1234 30-06-2027``, ``B1234 06-2027``, ``B1234 jun 2027``, ``no B1234 exp
    2027-06``: the lot is the first word (after ``no``/``lot``/``batch``), the expiry the rest (a month means its
    last day). ParseError: ("lot") no lot number, ("expiry") no expiry read, ("expired") an expiry before ``today``."""
    words = [w for w in text.strip().split() if normalize(w).strip(".:") not in ("no", "nomor", "lot", "batch", "exp", "ed", "kedaluwarsa")]
    if len(words) < 2:
        raise ParseError("expiry" if words and _LOT.match(words[0]) else "lot")
    lot, rest = words[0].strip(",;"), " ".join(words[1:])
    if not _LOT.match(lot):
        raise ParseError("lot")
    try:
        expiry = parse_date(rest, today, prefer_future=True)
    except ParseError:
        try:
            year, month = parse_month(rest.replace("/", "-"), today)
        except ParseError:
            raise ParseError("expiry") from None
        if year < 100:
            year += today.year // 100 * 100
        expiry = date(year, month, calendar.monthrange(year, month)[1])
    if expiry < today:
        raise ParseError("expired")
    return lot, expiry
