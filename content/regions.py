"""Kemendagri region names by code, from the subset in ``content/wilayah/wilayah.csv``."""
from __future__ import annotations

import csv
from functools import lru_cache

from content import CONTENT_DIR

WILAYAH_CSV = CONTENT_DIR / "wilayah" / "wilayah.csv"


@lru_cache(maxsize=1)
def regions() -> dict[str, str]:
    """Code -> name for every region the project ships."""
    with WILAYAH_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["kode"]: row["nama"] for row in csv.DictReader(handle)}


def region_name(code: str) -> str:
    """The name of the region with ``code``; KeyError names the unknown code."""
    try:
        return regions()[code]
    except KeyError:
        raise KeyError(f"unknown Kemendagri code {code!r} (add it to {WILAYAH_CSV.name})") from None
