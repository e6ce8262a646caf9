"""Family codes (content.family_codes): 10 characters with a check character that catches every slip of one character
and every swap of two; the 6-character codes made before are still read; what people type is accepted."""
from __future__ import annotations

import random

import pytest

from content.family_codes import (
    FAMILY_CODE_ALPHABET,
    FAMILY_CODE_LENGTH,
    family_check_char,
    family_code_of,
    is_old_family_code,
    random_family_code,
    read_family_code,
)
from handlers.fast_entry import FastEntryError, parse_fast_entry

#: a new code whose check character fits: K-7QX2MA4KP + family_check_char("7QX2MA4KP")
NEW = family_code_of("7QX2MA4KP")


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


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        # valid: new codes as people type them, and the old 6-character codes
        (NEW, ("new", NEW)),
        (NEW.lower().replace("-", " "), ("new", NEW)),
        (NEW[2:], ("new", NEW)),
        ("K-7QX2MA", ("old", "K-7QX2MA")),
        ("k 7qx2ma", ("old", "K-7QX2MA")),
        ("K\u20137QX2MA", ("old", "K-7QX2MA")),
        ("K-ZZZZZZ", ("old", "K-ZZZZZZ")),
        # letters and digits never generated (0 O 1 I L) make no code, old or new
        ("K-7QX2ML", ("none", None)),
        ("K-7QX2M0", ("none", None)),
        ("K-7QX2MO", ("none", None)),
        ("K-7QX2M1", ("none", None)),
        ("K-7QX2MI", ("none", None)),
        ("K-" + NEW[2:-2] + "L" + NEW[-1], ("typo", None)),
        # typos of a new code: a wrong check character, one character left out, one too many
        (NEW[:-1] + ("2" if NEW[-1] != "2" else "3"), ("typo", None)),
        (NEW[:-1], ("typo", None)),
        (NEW + "Q", ("typo", None)),
        ("K-7QX2MA4K", ("typo", None)),
        # other words
        ("halo", ("none", None)),
        ("K-", ("none", None)),
        ("", ("none", None)),
        ("K-7QX2MA4KP!", ("none", None)),
    ],
)
def test_what_a_typed_code_is(typed, read):
    assert read_family_code(typed) == read


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("catat K-7QX2MA anak2 bb 8", "K-7QX2MA"),
        ("catat k7qx2ma anak2 bb 8", "K-7QX2MA"),
        ("catat K- 7QX2MA anak2 bb 8", "K-7QX2MA"),
        (f"catat {NEW.lower()} anak2 bb 8", NEW),
        ("catat K-7QX2ML anak2 bb 8", None),  # L is never generated: not read as a code
        (f"catat {NEW[:-1]}{'2' if NEW[-1] != '2' else '3'} anak2 bb 8", None),  # wrong check character
    ],
)
def test_fast_entry_reads_codes_the_same_way(line, code):
    if code is None:
        with pytest.raises(FastEntryError) as info:
            parse_fast_entry(line)
        assert info.value.code == "family_code"
    else:
        assert parse_fast_entry(line).family_code == code


def test_random_codes_are_new_codes_of_the_alphabet():
    for _ in range(200):
        code = random_family_code()
        assert len(code) == 2 + FAMILY_CODE_LENGTH and read_family_code(code) == ("new", code)
        assert not is_old_family_code(code)
    assert is_old_family_code("K-7QX2MA")
