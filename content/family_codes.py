"""Family codes, the one place that knows them: ``K-`` and 10 characters, the last a check character.

The alphabet leaves out the characters people mistake for others (0 O 1 I L). A new code has 9 random
characters (31^9, about 2.6e13) and a check character, so that a slip of one character or a swap of two is
told apart from a code no family has. The 6-character codes made before (no check character) are still read;
``handlers.link`` gives such a family a new code at its next link. Pure: the database layer stores and looks
up codes (``db.queries.new_family_code``); the handlers read what people type with :func:`read_family_code`.
"""
from __future__ import annotations

import re
import secrets
from typing import Literal

FAMILY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: characters of a family code after ``K-``: 9 random ones and a check character
FAMILY_CODE_LENGTH = 10
#: the codes made before issue 15: 6 characters, no check character; each works for one more link
#: (``handlers.link``), after which its family gets a code of FAMILY_CODE_LENGTH
OLD_FAMILY_CODE_LENGTH = 6
#: lengths (after ``K``) that were meant as a new code with a character left out or one too many
_NEAR_LENGTHS = range(FAMILY_CODE_LENGTH - 2, FAMILY_CODE_LENGTH + 3)
#: what people put between the characters of a code: spaces, dashes of every kind, _ and .
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015_.]")

CodeKind = Literal["new", "old", "typo", "none"]


def family_check_char(body: str) -> str:
    """The check character of a family code's 9-character body: the characters' places in
    :data:`FAMILY_CODE_ALPHABET` weighted 1, 2, ... 9 and the check character's 10, summing to 0 modulo 31.

    31 is prime and the weights differ, so any one wrong character and any two characters swapped are
    caught (Luhn mod N's doubling is no permutation for an odd N and would miss some of them)."""
    n = len(FAMILY_CODE_ALPHABET)
    total = sum(weight * FAMILY_CODE_ALPHABET.index(char) for weight, char in enumerate(body, 1))
    last = len(body) + 1
    return FAMILY_CODE_ALPHABET[(-total * pow(last, -1, n)) % n]


def family_code_of(body: str) -> str:
    """``K-`` + ``body`` + its check character."""
    return f"K-{body}{family_check_char(body)}"


def random_family_code() -> str:
    """A new family code, e.g. ``K-7QX2MA4KPH``: 9 random characters and a check character (the database
    layer checks that no family has it yet)."""
    return family_code_of("".join(secrets.choice(FAMILY_CODE_ALPHABET) for _ in range(FAMILY_CODE_LENGTH - 1)))


def read_family_code(text: str) -> tuple[CodeKind, str | None]:
    """What a typed family code is: ``("new", "K-…")`` (10 characters whose check character fits),
    ``("old", "K-…")`` (6 characters of the alphabet, made before the check character), ``("typo", None)``
    (the length of a new code give or take two, with a wrong character or check character: a slip, not a
    guess) or ``("none", None)``. Lowercase, spaces, dashes and a missing ``K-`` are accepted."""
    plain = _SEPARATORS.sub("", text.upper())
    if plain.startswith("K") and len(plain) - 1 in (FAMILY_CODE_LENGTH, OLD_FAMILY_CODE_LENGTH):
        plain = plain[1:]
    elif len(plain) not in (FAMILY_CODE_LENGTH, OLD_FAMILY_CODE_LENGTH) and plain.startswith("K"):
        plain = plain[1:]
    known = all(c in FAMILY_CODE_ALPHABET for c in plain)
    if len(plain) == FAMILY_CODE_LENGTH and known and family_check_char(plain[:-1]) == plain[-1]:
        return "new", f"K-{plain}"
    if len(plain) == OLD_FAMILY_CODE_LENGTH and known:
        return "old", f"K-{plain}"
    if len(plain) in _NEAR_LENGTHS and sum(c.isalnum() for c in plain) == len(plain):
        return "typo", None
    return "none", None


def is_old_family_code(code: str) -> bool:
    """Whether a stored code (``K-…``) is one of the 6-character codes made before the check character."""
    return len(code) == OLD_FAMILY_CODE_LENGTH + 2
