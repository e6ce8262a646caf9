"""Fast entry: a kader's visit in one line, e.g. ``catat K-7QX2MA anak2 bb 8,2 tb 71 l imun dpt2 pcv2 opv3``.

A pure parser: no database, no clock. :func:`parse_fast_entry` returns a :class:`FastEntry`; the
caller (``handlers.visit``) finds the family and the member, reads the dates, checks that the
services fit the person and that the values are plausible (``care.plausibility``).

Grammar (case-insensitive; words are separated by spaces; a trailing ``,`` ``;`` or ``.`` on a
word is ignored; a keyword may carry its value glued on, ``bb8,2`` ``bb:8,2`` ``bb=8,2``)::

    line      = command family part+
    command   = "catat" | "/catat" | "/catat@<bot>"
    family    = "K-" 6 letters/digits          K-7QX2MA, k-7qx2ma, k7qx2ma, "K- 7QX2MA"
    part      = member | measure | length | bp | count | iron | imun | vita | service | skilas | note
              | danger                                                   (any order)

    member    = "anak" N | "anakN" | "anak ke-N" | "anak kedua" ...   N-th child (1 = oldest)
              | "ibu" | "bumil"                                     the mother
              | "nama:" NAME | "nama" NAME                          a member's first name
              | NAME                                                a bare word that is no keyword
    measure   = ("bb" kg | "lk" cm | "lila" cm | "lp" cm | "gd" mg/dl | "gds" mg/dl) [unit]
    length    = ("tb" | "pb") cm [unit] [position]
                position = "l" | "berbaring" | "baring" (lying) | "h" | "berdiri" (standing);
                without one ``pb`` means lying and ``tb`` standing; ``71l`` works too
    bp        = "td" SYS ("/" | "-") DIA ["mmhg"]    120/80, 120 / 80, 120/80mmHg, 120-80
    count     = "ttd" N ["tablet" | "tab" | "butir"]   iron tablets given
              | "anc" N | "anc ke-N" | "anc kN"          ANC contact number (K1-K6)
    iron      = "ttd"                                  iron tablets given, how many not said
                                                       (before another keyword or at the end)
    imun      = ("imun" | "imunisasi") DOSES         doses up to the next keyword
    vita      = "vita" | "vit a" | "vit.a" | "vitamin a" | "vitamina"   vitamin A given
    service   = "oc" | "cacing" | "obat cacing" | "obatcacing" | "albendazol"   deworming
              | "sdidtk" | "kpsp"                    development screening
              | "kn1" | "kn2" | "kn3" | "kn 2"       newborn visit (KN)
              | "kf1" ... "kf4" | "kf 3"             postpartum visit (KF)
    skilas    = "skilas" ("normal" | "negatif" | "positif")   the older person's screening result
    note      = "catatan" TEXT                       the rest of the line, as typed
    danger    = "bahaya" TEXT                        a danger sign seen: the rest of the line, as
                                                     typed (at most 200 characters)

``note`` and ``danger`` both take the rest of the line: the first of them ends the line.

Numbers take a decimal comma or point (``8,2`` = ``8.2``) and must be greater than 0; counts and
blood pressure are whole numbers. Units may be glued on (``8,2kg``, ``71cm``). Whether a value is
plausible is not checked here.

DOSES: dose words of the one dose vocabulary (``care.vocabulary``: ``dpt2``, ``penta 2``,
``bopv1``, ``rota1``, ``hepb0``, ``bcg``, ``campak``, ``mr lanjutan`` ...), each group of them
optionally followed by when they were given (:func:`dose_entries`)::

    DOSES = group+            group = DOSE+ [WHEN]       groups may be separated by , or ;
    WHEN  = a date (12-10-2026, 12/10/26, 12 Okt 2026, 2026-10-12, hari ini, kemarin)
          | a month (okt 2026, 10/2026) | "sudah" / "tidak ingat" / "lupa" (given, date unknown)

``imun dpt1 pcv1 12-10-2026 bcg sudah mr1``: DPT-HB-Hib 1 and PCV 1 on 12 October 2026, BCG on
a day not remembered, MR 1 today. A series word without a number (``pcv``, ``campak``) is the
next dose of that series not yet recorded: :class:`FastEntry` keeps it as a placeholder
(``PCV*``) for the caller to resolve (``care.vocabulary.resolve``), and keeps the WHEN as typed
(the caller reads it with ``handlers.parsing.parse_when`` and today's date). Two words depend
on the person and are resolved by the caller too: ``vita`` (:attr:`FastEntry.vitamin_a`: the blue
or red capsule of a child, a mother's capsule in nifas) and a bare ``ttd`` (``TTD*`` in
:attr:`FastEntry.services`: a pregnant woman's or a girl's iron tablets).

A bare NAME is a single word of letters (``' - .`` allowed) that is not followed by a number; it
is taken only while no member is chosen. The words of this grammar are keywords, so a member
called e.g. Lila is given as ``nama Lila`` / ``nama:Lila`` (the word after ``nama`` is always the
name). Inside ``imun`` every word up to the next keyword must be a dose or when it was given, so
a bare name belongs before ``imun``. The family code always comes first: a 7-letter word there
(``kartika``) is read as the code ``K-ARTIKA``.

Error codes (:class:`FastEntryError`; ``part`` is the text as typed, ``""`` when nothing was typed):

=================  ====================================================  ====================
code               meaning                                               part
=================  ====================================================  ====================
``command``        the line does not start with ``catat``                the first word / ""
``family_code``    no family code after ``catat``, or a malformed one    "" / the code typed
``missing_value``  a keyword without its value                           the keyword: ``tb``
``number``         not a number greater than 0                           ``bb 8,2,1``
``whole_number``   not a whole number greater than 0 (ttd, anc, anak)    ``ttd 2,5``
``bp``             blood pressure not written SYS/DIA                    ``td 120``
``dose``           a word after ``imun`` that is no known dose           ``dtx2``
``dose_date``      a date after dose words that cannot be read           ``31-02-2026``
``name``           ``nama`` followed by something that is not a name     ``nama 123``
``duplicate``      the same value given twice (also two members)         the second: ``bb 9``
``too_long``       a danger sign longer than 200 characters              ``bahaya``
``unknown``        a word that is not understood                         the word
``member``         no member chosen                                      ""
``empty``          nothing to record                                     ""
=================  ====================================================  ====================

A bare name followed later by ``anak2``/``ibu``/``nama:`` is reported as ``unknown`` (the bare word
was a slip, not a name). ``kn4`` and ``kf5`` (no such visit) are ``unknown`` too.

:func:`read_services` reads the same service words (and ``vita``, ``ttd``) for the guided visit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from care.labels import SERVICE_LABELS
from care.vocabulary import DoseWordError, read_doses
from content.family_codes import FAMILY_CODE_LENGTH, OLD_FAMILY_CODE_LENGTH, read_family_code
from handlers.parsing import DoseTextError, dose_entries

MemberKind = Literal["child_index", "mother", "name"]


@dataclass(frozen=True, slots=True)
class MemberRef:
    """Who the visit is for: the n-th child (``int``), the mother (``None``) or a first name (``str``)."""

    kind: MemberKind
    value: int | str | None = None


@dataclass(frozen=True, slots=True)
class FastEntry:
    """A parsed fast-entry line; None / empty / False for what was not given."""

    family_code: str
    member: MemberRef
    weight_kg: float | None = None
    length_cm: float | None = None
    measured: Literal["l", "h"] | None = None
    head_cm: float | None = None
    muac_cm: float | None = None
    bp: tuple[int, int] | None = None
    glucose: float | None = None
    waist_cm: float | None = None
    doses: tuple[str, ...] = ()
    dose_dates: tuple[tuple[str, str], ...] = ()  # (dose of ``doses``, when as typed) for doses not given today
    vitamin_a: bool = False
    iron_tablets: int | None = None
    anc_contact: int | None = None
    services: tuple[str, ...] = ()  # service codes; IRON for a bare ``ttd``
    skilas_positive: bool | None = None  # the SKILAS result, when screened
    note: str | None = None
    danger: str | None = None


class FastEntryError(ValueError):
    """A part of the line was not understood: ``part`` as typed, ``code`` says why (module docstring)."""

    def __init__(self, part: str, code: str) -> None:
        super().__init__(f"{code}: {part!r}")
        self.part = part
        self.code = code


# --------------------------------------------------------------------------- words

_MEASURES: dict[str, tuple[str, tuple[str, ...]]] = {  # keyword -> (field, units)
    "bb": ("weight_kg", ("kg",)),
    "lk": ("head_cm", ("cm",)),
    "lila": ("muac_cm", ("cm",)),
    "lp": ("waist_cm", ("cm",)),
    "gd": ("glucose", ("mg/dl", "mgdl", "mg")),
    "gds": ("glucose", ("mg/dl", "mgdl", "mg")),
}
_LENGTHS: dict[str, str] = {"tb": "h", "pb": "l"}  # keyword -> position when none is typed
_POSITIONS: dict[str, str] = {"l": "l", "berbaring": "l", "baring": "l", "h": "h", "berdiri": "h"}
_COUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ttd": ("iron_tablets", ("tablet", "tab", "butir")),
    "anc": ("anc_contact", ()),
}
_VITA_WORDS = {"vita", "vit.a", "vit-a", "vitamina", "vitamin-a", "vitamin.a"}
_VIT_PREFIXES = {"vit", "vitamin"}  # followed by "a"
_MOTHER_WORDS = {"ibu", "bumil"}
_IMUN_WORDS = {"imun", "imunisasi"}
_VISIT_SERIES = {"kn": "KN", "kf": "KF"}  # followed by the visit's number
DANGER_MAX = 200

#: Placeholders of services that depend on the person (resolved by the caller).
VITAMIN_A = "VITA*"  # the blue or red capsule of a child, or a mother's capsule in nifas
IRON = "TTD*"  # iron tablets: a pregnant woman's (TTD_HAMIL) or a girl's weekly one (TTD_REMAJA)

#: Service words: the one vocabulary of ``catat`` and the guided visit's services question.
SERVICE_WORDS: dict[str, str] = {
    "oc": "OBAT_CACING", "cacing": "OBAT_CACING", "obatcacing": "OBAT_CACING",
    "albendazol": "OBAT_CACING", "albendazole": "OBAT_CACING",
    "sdidtk": "SDIDTK", "kpsp": "SDIDTK",
    **{f"kn{n}": f"KN{n}" for n in range(1, 4)},
    **{f"kf{n}": f"KF{n}" for n in range(1, 5)},
    "vita": VITAMIN_A, "ttd": IRON,
}
_SERVICE_KEYWORDS = {"oc", "cacing", "obatcacing", "albendazol", "albendazole", "sdidtk", "kpsp"}
_KEYWORDS = (set(_MEASURES) | set(_LENGTHS) | set(_COUNTS) | _VITA_WORDS | _VIT_PREFIXES | _MOTHER_WORDS
             | _IMUN_WORDS | _SERVICE_KEYWORDS | set(_VISIT_SERIES)
             | {"td", "catatan", "anak", "nama", "obat", "bahaya", "skilas"})
_SKILAS_RESULTS = {"normal": False, "negatif": False, "positif": True}

_GLUED = re.compile(r"^(bb|tb|pb|lk|lila|td|gds|gd|lp|ttd|anc|kn|kf)[:=]?(\d.*)$")
_VISIT_GLUED = re.compile(r"^(kn|kf)-(\d+)$")
_GLUED_ANY = re.compile(r"^([a-z]+)[:=](.+)$")
_CHILD_GLUED = re.compile(r"^anak-?((?:ke-?)?\d+)$")
_ORDINALS = {
    "pertama": 1, "sulung": 1, "kesatu": 1, "kedua": 2, "ketiga": 3, "keempat": 4, "kelima": 5,
    "keenam": 6, "ketujuh": 7, "kedelapan": 8, "kesembilan": 9, "kesepuluh": 10,
}

_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)?)([a-z/]*)$")
_WHOLE = re.compile(r"^(?:ke-?|k)?(\d+)([a-z]*)$")
_BP = re.compile(r"^(\d+)[/-](\d+)(?:mmhg)?$")
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|['.\-])+$")
_FAMILY = re.compile(r"^k[-\u2013]?([a-z0-9]+)$")


# --------------------------------------------------------------------------- services


class ServiceWordError(ValueError):
    """A word that names no service; ``word`` as typed (shortened)."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word[:20]


_SERVICE_PHRASES = (
    (re.compile(r"\bobat\s+cacing\b"), "obatcacing"),
    (re.compile(r"\bvit(?:amin)?[\s.\-]*a\b"), "vita"),
    (re.compile(r"\b(kn|kf)[\s\-]+(\d)\b"), r"\1\2"),
)


def service_code(word: str) -> str | None:
    """The service code of one word (``oc`` -> ``OBAT_CACING``, ``vita`` -> ``VITA*``), None if unknown."""
    plain = re.sub(r"[-_.]", "", word.lower())
    return SERVICE_WORDS.get("vita" if plain == "vitamina" else plain)


def read_services(text: str) -> list[str]:
    """Service codes in ``text`` (``"oc sdidtk"``, ``"obat cacing, kn 2"``); placeholders VITA* / TTD*.
    Raises :class:`ServiceWordError` naming a word it cannot read."""
    plain = text.lower()
    for pattern, replacement in _SERVICE_PHRASES:
        plain = pattern.sub(replacement, plain)
    out = []
    for word in re.split(r"[\s,;+]+", plain):
        if not word:
            continue
        code = service_code(word)
        if code is None:
            raise ServiceWordError(word)
        if code not in out:
            out.append(code)
    return out


def looks_like_fast_entry(text: str) -> bool:
    """Whether ``text`` starts with the fast-entry command (``catat`` or ``/catat``)."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return _is_command(first.lower())


def _is_command(word: str) -> bool:
    """``catat``, ``/catat`` or ``/catat@SomeBot``."""
    return word == "catat" or word.split("@", 1)[0] == "/catat"


def _keyword(word: str) -> tuple[str, str | None] | None:
    """(keyword, glued value or None) when ``word`` opens a part, else None."""
    bare = word.rstrip(":=")
    if bare in _KEYWORDS:
        return bare, None
    if m := _CHILD_GLUED.match(word):
        return "anak", m[1]
    if m := _VISIT_GLUED.match(word):
        return m[1], m[2]
    if m := _GLUED.match(word):
        return m[1], m[2]
    if (m := _GLUED_ANY.match(word)) and m[1] in _KEYWORDS:
        return m[1], m[2]
    return None


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class _Token:
    """One word of the line: as typed, lower-cased without trailing , ; . and where it ends."""

    text: str
    word: str
    end: int


def _tokens(line: str) -> list[_Token]:
    """The words of ``line`` (punctuation-only words dropped)."""
    found = []
    for m in re.finditer(r"\S+", line):
        word = m[0].lower().rstrip(",;.")
        if word:
            found.append(_Token(m[0], word, m.end()))
    return found


def _part(tokens: list[_Token]) -> str:
    """The typed text of some tokens, for an error."""
    return " ".join(t.text for t in tokens)


def _dose_typed(typed: list[str], code: str) -> str:
    """The last typed words that read as ``code`` alone (for a duplicate: ``penta 2``), else the code."""
    for end in range(len(typed), 0, -1):
        for size in (1, 2, 3):
            words = [w.rstrip(".,;") for w in typed[max(0, end - size):end]]
            try:
                if read_doses(" ".join(words)) == [code]:
                    return " ".join(words)
            except DoseWordError:
                continue
    return code


class _Reader:
    """Walks the tokens after the family code and fills the fields of a FastEntry."""

    def __init__(self, line: str, tokens: list[_Token]) -> None:
        """Start at the first token."""
        self.line = line
        self.tokens = tokens
        self.pos = 0
        self.fields: dict[str, object] = {}
        self.doses: list[str] = []
        self.dose_dates: list[tuple[str, str]] = []
        self.services: list[str] = []
        self.member: MemberRef | None = None
        self.bare_name: _Token | None = None

    # ---- cursor

    def peek(self) -> _Token | None:
        """The next token, not consumed."""
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        """Consume and return the next token."""
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def value(self, tok: _Token, glued: str | None) -> tuple[str, list[_Token]]:
        """The value of keyword ``tok``: glued on, or the next word unless that opens a part."""
        if glued is not None:
            return glued, [tok]
        nxt = self.peek()
        if nxt is None or _keyword(nxt.word) is not None:
            raise FastEntryError(tok.text, "missing_value")
        return self.take().word, [tok, nxt]

    def skip_unit(self, units: tuple[str, ...]) -> None:
        """Consume a unit written as its own word (``kg``, ``cm``, ...)."""
        nxt = self.peek()
        if nxt is not None and nxt.word in units:
            self.pos += 1

    def store(self, field: str, value: object, toks: list[_Token]) -> None:
        """Set a field once; a second value is a duplicate."""
        if field in self.fields:
            raise FastEntryError(_part(toks), "duplicate")
        self.fields[field] = value

    # ---- main loop

    def read(self) -> None:
        """Read every part up to the end of the line."""
        while (tok := self.peek()) is not None:
            self.pos += 1
            kw = _keyword(tok.word)
            if kw is None:
                self.bare_word(tok)
            else:
                self.part(tok, *kw)

    def part(self, tok: _Token, keyword: str, glued: str | None) -> None:
        """Dispatch one keyword."""
        if keyword in _MEASURES:
            self.measure(tok, keyword, glued)
        elif keyword in _LENGTHS:
            self.length(tok, keyword, glued)
        elif keyword in _COUNTS:
            self.count(tok, keyword, glued)
        elif keyword == "td":
            self.blood_pressure(tok, glued)
        elif keyword in _IMUN_WORDS:
            self.immunisations(tok, glued)
        elif keyword in _VITA_WORDS or keyword in _VIT_PREFIXES:
            self.vitamin_a(tok, keyword)
        elif keyword in _SERVICE_KEYWORDS:
            self.service(SERVICE_WORDS[keyword], [tok])
        elif keyword == "obat":
            self.deworming(tok)
        elif keyword in _VISIT_SERIES:
            self.numbered_visit(tok, keyword, glued)
        elif keyword == "catatan":
            self.note(tok, glued)
        elif keyword == "bahaya":
            self.danger(tok, glued)
        elif keyword == "skilas":
            self.skilas(tok, glued)
        elif keyword == "anak":
            self.child(tok, glued)
        elif keyword in _MOTHER_WORDS:
            self.choose(MemberRef("mother"), [tok])
        else:
            self.named(tok, glued)

    # ---- values

    def number(self, tok: _Token, glued: str | None, units: tuple[str, ...],
               suffixes: tuple[str, ...] = ("",)) -> tuple[float, str, list[_Token]]:
        """A number > 0 with an optional unit; also returns the suffix (``l``/``h``) glued after it."""
        raw, toks = self.value(tok, glued)
        m = _NUMBER.match(raw)
        tail = m[2] if m else ""
        suffix = next((s for s in suffixes if s and tail.endswith(s)), "")
        unit = tail[: len(tail) - len(suffix)]
        if not m or (unit and unit not in units) or float(m[1].replace(",", ".")) <= 0:
            raise FastEntryError(_part(toks), "number")
        if not tail:
            self.skip_unit(units)
        return float(m[1].replace(",", ".")), suffix, toks

    def measure(self, tok: _Token, keyword: str, glued: str | None) -> None:
        """``bb 8,2``, ``lk 44``, ``lila 14``, ``lp 80``, ``gd 110``."""
        field, units = _MEASURES[keyword]
        value, _, toks = self.number(tok, glued, units)
        self.store(field, value, toks)

    def length(self, tok: _Token, keyword: str, glued: str | None) -> None:
        """``tb 71 l``, ``pb 71``, ``tb 95 berdiri``, ``tb 71l``."""
        value, suffix, toks = self.number(tok, glued, ("cm",), suffixes=("l", "h"))
        position = suffix or None
        nxt = self.peek()
        if position is None and nxt is not None and nxt.word in _POSITIONS:
            position = _POSITIONS[self.take().word]
        self.store("length_cm", value, toks)
        self.fields["measured"] = position or _LENGTHS[keyword]

    def whole(self, tok: _Token, glued: str | None, units: tuple[str, ...] = ()) -> tuple[int, list[_Token]]:
        """A whole number > 0, also ``ke-3``, ``ke 3``, ``k3`` and ordinal words (``kedua``)."""
        raw, toks = self.value(tok, glued)
        nxt = self.peek()
        if raw in ("ke", "ke-") and nxt is not None and _keyword(nxt.word) is None:
            raw = raw + self.take().word
            toks = toks + [nxt]
        if raw in _ORDINALS:
            return _ORDINALS[raw], toks
        m = _WHOLE.match(raw)
        if not m or (m[2] and m[2] not in units) or int(m[1]) <= 0:
            raise FastEntryError(_part(toks), "whole_number")
        if not m[2]:
            self.skip_unit(units)
        return int(m[1]), toks

    def count(self, tok: _Token, keyword: str, glued: str | None) -> None:
        """``ttd 30``, ``anc 3``; a bare ``ttd`` (iron tablets, how many not said)."""
        nxt = self.peek()
        if keyword == "ttd" and glued is None and (nxt is None or _keyword(nxt.word) is not None):
            self.service(IRON, [tok])
            return
        field, units = _COUNTS[keyword]
        value, toks = self.whole(tok, glued, units)
        self.store(field, value, toks)

    def blood_pressure(self, tok: _Token, glued: str | None) -> None:
        """``td 120/80``, ``td 120 / 80``, ``td 120/80 mmhg``, ``td 120-80``."""
        raw, toks = self.value(tok, glued)
        while not _BP.match(raw) and (nxt := self.peek()) is not None and _keyword(nxt.word) is None \
                and (raw.endswith(("/", "-")) or nxt.word.startswith(("/", "-"))):
            raw += self.take().word
            toks = toks + [nxt]
        m = _BP.match(raw)
        if not m or int(m[1]) <= 0 or int(m[2]) <= 0:
            raise FastEntryError(_part(toks), "bp")
        self.skip_unit(("mmhg",))
        self.store("bp", (int(m[1]), int(m[2])), toks)

    def immunisations(self, tok: _Token, glued: str | None) -> None:
        """``imun dpt2 pcv2 opv3``, ``imun dpt1 12-10-2026 bcg sudah``: doses (and when they were
        given) up to the next keyword (:func:`dose_entries`)."""
        typed = [tok.text.split(":", 1)[-1].split("=", 1)[-1]] if glued is not None else []
        while (nxt := self.peek()) is not None and _keyword(nxt.word) is None:
            self.pos += 1
            typed.append(nxt.text)
        text = " ".join(typed).strip()
        if not text:
            raise FastEntryError(tok.text, "missing_value")
        try:
            groups = dose_entries(text)
        except DoseTextError as err:
            raise FastEntryError(err.part.rstrip(".,;"), err.code) from None
        for codes, when in groups:
            for code in codes:
                if code in self.doses:
                    raise FastEntryError(_dose_typed(typed, code), "duplicate")
                self.doses.append(code)
                if when:
                    self.dose_dates.append((code, when))

    def vitamin_a(self, tok: _Token, keyword: str) -> None:
        """``vita``, ``vit a``, ``vitamin a``."""
        toks = [tok]
        if keyword in _VIT_PREFIXES:
            nxt = self.peek()
            if nxt is None or nxt.word != "a":
                raise FastEntryError(tok.text, "unknown")
            toks.append(self.take())
        self.store("vitamin_a", True, toks)

    def service(self, code: str, toks: list[_Token]) -> None:
        """A service given (once)."""
        if code in self.services:
            raise FastEntryError(_part(toks), "duplicate")
        self.services.append(code)

    def deworming(self, tok: _Token) -> None:
        """``obat cacing``."""
        nxt = self.peek()
        if nxt is None or nxt.word != "cacing":
            raise FastEntryError(tok.text, "unknown")
        self.service("OBAT_CACING", [tok, self.take()])

    def numbered_visit(self, tok: _Token, keyword: str, glued: str | None) -> None:
        """``kn1``, ``kn 2``, ``kf-3``: a newborn or postpartum visit by its number."""
        number, toks = self.whole(tok, glued)
        code = f"{_VISIT_SERIES[keyword]}{number}"
        if code not in SERVICE_LABELS:
            raise FastEntryError(_part(toks), "unknown")
        self.service(code, toks)

    def skilas(self, tok: _Token, glued: str | None) -> None:
        """``skilas normal``, ``skilas positif``."""
        raw, toks = self.value(tok, glued)
        if raw not in _SKILAS_RESULTS:
            raise FastEntryError(_part(toks), "unknown")
        self.store("skilas_positive", _SKILAS_RESULTS[raw], toks)

    def danger(self, tok: _Token, glued: str | None) -> None:
        """``bahaya sesak napas``: the danger sign seen, the rest of the line as typed."""
        text = self.rest(tok, glued)
        if len(text) > DANGER_MAX:
            raise FastEntryError(tok.text, "too_long")
        self.fields["danger"] = text

    def rest(self, tok: _Token, glued: str | None) -> str:
        """The rest of the line after keyword ``tok`` (``catatan``, ``bahaya``); ends the line."""
        head = re.split(r"[:=]", tok.text, maxsplit=1)[1] if glued is not None else ""
        text = (head + self.line[tok.end:]).strip()
        if not text:
            raise FastEntryError(tok.text, "missing_value")
        self.pos = len(self.tokens)
        return text

    def note(self, tok: _Token, glued: str | None) -> None:
        """``catatan ...``: the rest of the line as typed."""
        self.fields["note"] = self.rest(tok, glued)

    # ---- member

    def choose(self, ref: MemberRef, toks: list[_Token]) -> None:
        """Set the member once; after a bare name the bare name was the slip."""
        if self.member is not None:
            if self.bare_name is not None:
                raise FastEntryError(self.bare_name.text, "unknown")
            raise FastEntryError(_part(toks), "duplicate")
        self.member = ref

    def child(self, tok: _Token, glued: str | None) -> None:
        """``anak2``, ``anak 2``, ``anak ke-2``, ``anak kedua``."""
        index, toks = self.whole(tok, glued)
        self.choose(MemberRef("child_index", index), toks)

    def named(self, tok: _Token, glued: str | None) -> None:
        """``nama:Putu``, ``nama: Putu``, ``nama Lila`` (the next word even if it is a keyword; as typed)."""
        if glued is not None:
            typed, toks = re.split(r"[:=]", tok.text, maxsplit=1)[1], [tok]
        else:
            nxt = self.peek()
            if nxt is None or (_keyword(nxt.word) is not None and not _NAME.match(nxt.word)):
                raise FastEntryError(tok.text, "missing_value")
            toks, typed = [tok, self.take()], nxt.text
        name = typed.rstrip(",;.")
        if not _NAME.match(name):
            raise FastEntryError(_part(toks), "name")
        self.choose(MemberRef("name", name), toks)

    def bare_word(self, tok: _Token) -> None:
        """A word that is no keyword: the member's name while none is chosen, else not understood."""
        nxt = self.peek()
        followed_by_number = nxt is not None and nxt.word[:1].isdecimal()
        if self.member is not None or followed_by_number or not _NAME.match(tok.word):
            raise FastEntryError(tok.text, "unknown")
        self.member = MemberRef("name", tok.text.rstrip(",;."))
        self.bare_name = tok


# --------------------------------------------------------------------------- entry point


def _family_code(tokens: list[_Token]) -> tuple[str, int]:
    """The normalised family code at the start of ``tokens`` and how many tokens it took."""
    first = tokens[0] if tokens else None
    if first is None:
        raise FastEntryError("", "family_code")
    word, used, typed = first.word, 1, first.text
    if word in ("k", "k-", "k\u2013") and len(tokens) > 1 and _keyword(tokens[1].word) is None:
        word, used, typed = "k-" + tokens[1].word, 2, _part(tokens[:2])
    m = _FAMILY.match(word)
    # the characters after K, of a code's length, read as a code (new codes must carry their check character)
    kind, code = read_family_code(m[1]) if m and len(m[1]) in (FAMILY_CODE_LENGTH, OLD_FAMILY_CODE_LENGTH) else ("none", None)
    if code is not None and kind in ("new", "old"):
        return code, used
    attempted = word.startswith(("k-", "k\u2013")) or bool(m and any(c.isdecimal() for c in m[1]))
    raise FastEntryError(typed if attempted else "", "family_code")


def parse_fast_entry(line: str) -> FastEntry:
    """Parse one fast-entry line; FastEntryError names the part that was not understood."""
    tokens = _tokens(line)
    if not tokens or not _is_command(tokens[0].word):
        raise FastEntryError(tokens[0].text if tokens else "", "command")
    code, used = _family_code(tokens[1:])
    reader = _Reader(line, tokens[1 + used:])
    reader.read()
    if reader.member is None:
        raise FastEntryError("", "member")
    if not reader.fields and not reader.doses and not reader.services:
        raise FastEntryError("", "empty")
    return FastEntry(family_code=code, member=reader.member, doses=tuple(reader.doses),
                     dose_dates=tuple(reader.dose_dates), services=tuple(reader.services), **reader.fields)
