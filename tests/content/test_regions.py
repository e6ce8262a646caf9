"""Kemendagri codes: all provinces, regencies and kecamatan of Indonesia, villages of the districts served."""
from __future__ import annotations

from content.regions import districts, region_name, regions


def test_levels_one_to_three_of_all_indonesia_and_villages_of_the_districts_served():
    codes = regions()
    assert sum(1 for code in codes if "." not in code) == 38
    assert sum(1 for code in codes if code.count(".") == 1) == 514
    assert len(districts()) == 7285
    assert region_name("11") == "Aceh"
    assert region_name("51.08") == "Kabupaten Buleleng"
    assert all(code.startswith(("51.08.", "18.10.")) for code in codes if code.count(".") == 3)
    assert region_name("51.08.06.2014")
