"""Family codes (db.queries): 10 characters with a check character that catches every slip of one character
and every swap of two; the 6-character codes made before are still read; what people type is accepted."""
from __future__ import annotations

import random

from db.queries import FAMILY_CODE_ALPHABET, family_check_char, family_code_of, new_family_code, read_family_code


def test_every_one_character_slip_and_every_swap_is_caught():
    rng = random.Random(15)
    for _ in range(200):
        code = family_code_of("".join(rng.choice(FAMILY_CODE_ALPHABET) for _ in range(9)))
        body = code[2:]
        assert read_family_code(code) == ("new", code)
        for i in range(10):
            for char in FAMILY_CODE_ALPHABET.replace(body[i], ""):
                assert read_family_code(body[:i] + char + body[i + 1:]) == ("typo", None)
            for j in range(i + 1, 10):
                swapped = list(body)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                if swapped != list(body):
                    assert read_family_code("".join(swapped)) == ("typo", None)


def test_a_code_is_read_as_people_type_it():
    code = family_code_of("7QX2MA4KP")
    assert code == "K-7QX2MA4KP" + family_check_char("7QX2MA4KP") and len(code) == 12
    for typed in (code, code.lower(), code[2:], "k 7qx2 ma4k " + code[-2:].lower(), "K\u20137QX2-MA4K-" + code[-2:], f" {code} "):
        assert read_family_code(typed) == ("new", code), typed


def test_old_codes_missing_characters_and_other_words():
    assert read_family_code("K-7QX2MA") == ("old", "K-7QX2MA")
    assert read_family_code("k7qx2ma") == ("old", "K-7QX2MA")
    assert read_family_code("K-7QX2MA4K") == ("typo", None)  # two characters left out of a new code
    assert read_family_code("K-7QX2MA4KP0Q") == ("typo", None)  # one too many, and a 0 (no 0 in codes)
    assert read_family_code("halo") == ("none", None)
    assert read_family_code("") == ("none", None)


async def test_new_codes_are_long_and_carry_their_check_character(db):
    async with db.write() as session:
        codes = {await new_family_code(session) for _ in range(50)}
    assert len(codes) == 50
    assert all(len(c) == 12 and read_family_code(c) == ("new", c) for c in codes)
