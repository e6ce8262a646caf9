"""New family codes (db.queries.new_family_code): long, unused, and read back as new codes."""
from __future__ import annotations

from content.family_codes import read_family_code
from db.queries import new_family_code


async def test_new_codes_are_long_and_carry_their_check_character(db):
    async with db.write() as session:
        codes = {await new_family_code(session) for _ in range(50)}
    assert len(codes) == 50
    assert all(len(c) == 12 and read_family_code(c) == ("new", c) for c in codes)
