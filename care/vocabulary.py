"""The one dose vocabulary: the words kaders and families write for a dose, read the same way by
the guided visit, the one-line ``catat``, the Buku KIA history and register imports.

Words (case, spaces and ``- _ . /`` inside a word do not matter; a number may be glued on or
follow as its own word, ``dpt2`` = ``dpt 2`` = ``DPT-2``):

=====================================================  =====================
words                                                  doses
=====================================================  =====================
hb0, hbo, hepb0, hb 0, hepatitis b 0, hep b            HB0
bcg                                                    BCG
opv, bopv, polio, polio tetes, tetes polio             OPV1-4
dpt, dpthbhib, dpt-hb-hib, dpthb, penta, pentavalen,   DPT_HB_HIB1-4
pentabio, dtp                                          (4 also: dpt lanjutan / booster)
pcv, pneumokokus, pneumo                               PCV1-3 (3 also: pcv lanjutan / booster)
ipv, polio suntik                                      IPV1-2
rv, rota, rotavirus                                    RV1-3
mr, campak, campak rubela, campak-rubela, measles      MR1-2 (2 also: mr lanjutan / booster)
je, japanese encephalitis                              JE
=====================================================  =====================

A series word without a number (``pcv``, ``campak``) means the next dose of that series not yet
recorded: :func:`read_doses` returns it as a placeholder (``PCV*``) and :func:`resolve` picks
the dose given what the person already has.

Pure: only ``care.labels`` is imported.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable

from care.labels import DOSE_LABELS

#: stem -> (code prefix, highest dose number)
SERIES: dict[str, tuple[str, int]] = {
    "dpt": ("DPT_HB_HIB", 4), "dpthbhib": ("DPT_HB_HIB", 4), "dpthb": ("DPT_HB_HIB", 4), "dtp": ("DPT_HB_HIB", 4),
    "penta": ("DPT_HB_HIB", 4), "pentavalen": ("DPT_HB_HIB", 4), "pentavalent": ("DPT_HB_HIB", 4),
    "pentabio": ("DPT_HB_HIB", 4),
    "pcv": ("PCV", 3), "pneumokokus": ("PCV", 3), "pneumo": ("PCV", 3), "pneumococcal": ("PCV", 3),
    "opv": ("OPV", 4), "polio": ("OPV", 4), "bopv": ("OPV", 4),
    "ipv": ("IPV", 2),
    "rv": ("RV", 3), "rota": ("RV", 3), "rotavirus": ("RV", 3),
    "mr": ("MR", 2), "campak": ("MR", 2), "measles": ("MR", 2),
}
#: stem -> (code, numbers that may follow it; None = no number)
SINGLE: dict[str, tuple[str, frozenset]] = {
    "bcg": ("BCG", frozenset({None, 1})),
    "je": ("JE", frozenset({None, 1})),
    "hb": ("HB0", frozenset({None, 0})),
    "hbo": ("HB0", frozenset({None})),
    "hepb": ("HB0", frozenset({None, 0})),
    "hepatitisb": ("HB0", frozenset({None, 0})),
}
#: the booster ("lanjutan") of a series
BOOSTER = {"DPT_HB_HIB": 4, "MR": 2, "PCV": 3}
BOOSTER_WORDS = ("lanjutan", "booster", "ulangan")

_PHRASES = (
    (re.compile(r"\bhepatitis\s*b\b"), "hepb"),
    (re.compile(r"\bhep\s*b\b"), "hepb"),
    (re.compile(r"\bcampak\s*[-/]?\s*rubel+a\b"), "mr"),
    (re.compile(r"\bpolio\s*suntik\b|\bsuntik\s*polio\b"), "ipv"),
    (re.compile(r"\bpolio\s*tetes\b|\btetes\s*polio\b"), "opv"),
    (re.compile(r"\bdpt\s*[-/]?\s*hb\s*[-/]?\s*hib\b"), "dpthbhib"),
    (re.compile(r"\bdpt\s*[-/]?\s*hb\b"), "dpthb"),
    (re.compile(r"\bjapanese\s*encephalitis\b"), "je"),
)
_WORD = re.compile(r"^([a-z]+)(\d{1,2})?$")
_NUMBER = re.compile(r"^\d{1,2}$")


class DoseWordError(ValueError):
    """A word that names no dose; ``word`` as typed (shortened)."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word[:20]


def _plain(text: str) -> str:
    """Lower case without accents; ``- _ . /`` between letters and digits of one word removed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    for pattern, word in _PHRASES:
        text = pattern.sub(word, text)
    return text


def dose_code(word: str) -> str | None:
    """The dose code of one word (``dpt2`` -> ``DPT_HB_HIB2``, ``pcv`` -> ``PCV*``), None if unknown."""
    m = _WORD.match(re.sub(r"[-_./]", "", _plain(word)))
    if not m:
        return None
    return _code(m[1], int(m[2]) if m[2] is not None else None)


def _code(stem: str, number: int | None, booster: bool = False) -> str | None:
    """The code for a stem and its number (``*``: the next of the series)."""
    if stem in SERIES:
        prefix, highest = SERIES[stem]
        if booster:
            number = BOOSTER.get(prefix)
            if number is None:
                return None
        if number is None:
            return f"{prefix}*"
        return f"{prefix}{number}" if 1 <= number <= highest and f"{prefix}{number}" in DOSE_LABELS else None
    if stem in SINGLE and not booster:
        code, numbers = SINGLE[stem]
        return code if number in numbers else None
    return None


def is_dose_word(word: str) -> bool:
    """Whether ``word`` starts a dose (a stem of the vocabulary, with or without its number)."""
    m = _WORD.match(re.sub(r"[-_./]", "", _plain(word)))
    return bool(m) and (m[1] in SERIES or m[1] in SINGLE)


def read_doses(text: str) -> list[str]:
    """The dose codes in ``text`` (words separated by spaces or commas), placeholders (``PCV*``)
    for series words without a number. Raises :class:`DoseWordError` naming a word it cannot read."""
    words = [w for w in re.split(r"[\s,;+]+", _plain(text)) if w]
    out: list[str] = []
    i = 0
    while i < len(words):
        raw = words[i]
        word = re.sub(r"[-_./]", "", raw)
        m = _WORD.match(word)
        if not m or (m[1] not in SERIES and m[1] not in SINGLE):
            raise DoseWordError(raw)
        stem, number = m[1], (int(m[2]) if m[2] is not None else None)
        i += 1
        booster = False
        if number is None and i < len(words) and _NUMBER.match(words[i]):
            number = int(words[i])
            i += 1
        elif number is None and i < len(words) and words[i] in BOOSTER_WORDS:
            booster = True
            i += 1
        code = _code(stem, number, booster)
        if code is None:
            raise DoseWordError(raw if number is None else f"{raw} {number}" if m[2] is None else raw)
        out.append(code)
    return out


def resolve(codes: Iterable[str], taken: Collection[str] = ()) -> list[str]:
    """Codes with each placeholder (``PCV*``) replaced by the first dose of its series that is
    neither in ``taken`` nor picked before it; a series already complete gives its last dose."""
    have = set(taken)
    out: list[str] = []
    for code in codes:
        if code.endswith("*"):
            prefix = code[:-1]
            numbers = [n for n in range(1, 5) if f"{prefix}{n}" in DOSE_LABELS]
            pick = next((f"{prefix}{n}" for n in numbers if f"{prefix}{n}" not in have), f"{prefix}{numbers[-1]}")
            code = pick
        if code not in out:
            out.append(code)
        have.add(code)
    return out
