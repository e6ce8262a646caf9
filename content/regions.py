"""Kemendagri region names by code: every provinsi, kabupaten/kota and kecamatan of Indonesia
(``content/wilayah/kecamatan.csv``) and the desa/kelurahan of the districts served
(``content/wilayah/wilayah.csv``); see ``content/wilayah/SOURCE.md``."""
from __future__ import annotations

import csv
from functools import lru_cache

from content import CONTENT_DIR

KECAMATAN_CSV = CONTENT_DIR / "wilayah" / "kecamatan.csv"
WILAYAH_CSV = CONTENT_DIR / "wilayah" / "wilayah.csv"


def _read(path) -> dict[str, str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["kode"]: row["nama"] for row in csv.DictReader(handle)}


@lru_cache(maxsize=1)
def regions() -> dict[str, str]:
    """Code -> name for every region the project ships (levels 1-3 of Indonesia, level 4 of the
    districts served)."""
    return {**_read(KECAMATAN_CSV), **_read(WILAYAH_CSV)}


@lru_cache(maxsize=1)
def districts() -> frozenset[str]:
    """The codes of every kecamatan of Indonesia (``51.08.01``): the region part of a NIK."""
    return frozenset(code for code in _read(KECAMATAN_CSV) if code.count(".") == 2)


def region_name(code: str) -> str:
    """The name of the region with ``code``; KeyError names the unknown code."""
    try:
        return regions()[code]
    except KeyError:
        raise KeyError(f"unknown Kemendagri code {code!r} (add it to {WILAYAH_CSV.name})") from None
