"""The numbers of the overview page (``/``), computed from the database for one puskesmas, apart from the
handler that draws them (``web.pages``), so that the PWS overview (coverage against target per posyandu
and village, ``care.coverage``) grows here and is tested here.

Every function takes the staff member's ``puskesmas_id`` and reads nothing of another puskesmas.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from db.models import Family, Identity, Posyandu, Puskesmas
from db.queries import posyandu_of


@dataclass(frozen=True)
class PosyanduRow:
    """One posyandu of the puskesmas and its counts."""

    id: int
    name: str
    village_name: str
    families: int  # registered families
    kaders: int


@dataclass(frozen=True)
class Overview:
    """The puskesmas and its posyandu, by name."""

    puskesmas_name: str
    posyandu: tuple[PosyanduRow, ...]

    @property
    def families(self) -> int:
        return sum(row.families for row in self.posyandu)


async def _counts(session, posyandu_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """(registered families, kaders) per posyandu, one grouped query each."""
    if not posyandu_ids:
        return {}, {}
    families = dict((await session.execute(
        select(Family.posyandu_id, func.count()).where(Family.posyandu_id.in_(posyandu_ids), Family.registered_at.is_not(None))
        .group_by(Family.posyandu_id))).all())
    kaders = dict((await session.execute(
        select(Identity.posyandu_id, func.count()).where(Identity.posyandu_id.in_(posyandu_ids), Identity.role == "kader")
        .group_by(Identity.posyandu_id))).all())
    return families, kaders


async def overview(session, puskesmas_id: int) -> Overview:
    """The puskesmas's name and its posyandu with their counts."""
    puskesmas = await session.get(Puskesmas, puskesmas_id)
    places = await posyandu_of(session, puskesmas_id)
    families, kaders = await _counts(session, [p.id for p in places])
    return Overview(puskesmas.name, tuple(
        PosyanduRow(p.id, p.name, p.village_name, families.get(p.id, 0), kaders.get(p.id, 0)) for p in places))


async def own_posyandu(session, puskesmas_id: int, posyandu_id: int) -> PosyanduRow | None:
    """One posyandu of the puskesmas with its counts; None when it is not one of the puskesmas's."""
    place = await session.get(Posyandu, posyandu_id)
    if place is None or place.puskesmas_id != puskesmas_id:
        return None
    families, kaders = await _counts(session, [place.id])
    return PosyanduRow(place.id, place.name, place.village_name, families.get(place.id, 0), kaders.get(place.id, 0))
