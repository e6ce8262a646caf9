"""Referrals as stored: their reasons and states, the referrals of an area, and recording an outcome.

One place for the chat's ``/rujukan`` (``handlers.referrals``), the kader's home-visit list
(``reminders.targets``) and the puskesmas web's ``/rujukan`` (``web.referrals``): the same states, the
same query of an area's followed referrals, and :func:`record_outcome`, the one way an outcome is written.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from content.i18n import N_, _
from db.models import Family, Person, Posyandu, Referral

#: A referral still open after this many days goes on the kader's home-visit list.
FOLLOW_UP_DAYS = 7

#: reason -> (short label for kaders and staff, plain words for the family)
REASONS: dict[str, tuple[str, str]] = {
    "stunting": (N_("Stunting (pendek)"), N_("tinggi badannya kurang untuk umurnya (pendek)")),
    "wasting": (N_("Gizi kurang/buruk (wasting)"), N_("berat badannya kurang untuk tinggi badannya (gizi kurang)")),
    "underweight": (N_("Berat badan kurang"), N_("berat badannya kurang untuk umurnya")),
    "2T": (N_("2T (tidak naik dua kali)"), N_("berat badannya tidak naik dua bulan berturut-turut")),
    "kek": (N_("KEK (LILA < 23,5 cm)"), N_("lingkar lengan atasnya kecil, tanda kurang energi kronis (KEK)")),
    "hypertension": (N_("Tekanan darah tinggi"), N_("tekanan darahnya tinggi")),
    "skilas": (N_("SKILAS positif"), N_("ada hasil skrining lansia yang perlu diperiksa lebih lanjut")),
    "danger": (N_("Tanda bahaya"), N_("ada tanda bahaya yang perlu segera diperiksa")),
    "lbw": (N_("BBLR (berat lahir < 2.500 g)"), N_("berat lahirnya di bawah 2.500 gram (BBLR)")),
}
#: Reasons that cannot wait a week.
URGENT = frozenset({"danger"})

OPEN = "open"
NOT_FOUND = "not_found"
OUTCOMES = ("came", "treated", "referred_on", NOT_FOUND)
#: Outcomes after which the referral needs nothing more (not_found still needs the kader).
CLOSED = frozenset({"came", "treated", "referred_on"})
#: The states a referral is followed in: listed by /rujukan, on the kader's home-visit list.
FOLLOWED = (OPEN, NOT_FOUND)
#: outcome -> its label (a button: at most 20 characters)
OUTCOME_LABELS = {
    "came": N_("Datang"), "treated": N_("Ditangani"), "referred_on": N_("Dirujuk lanjut"), NOT_FOUND: N_("Tidak ditemukan"),
}
#: The longest note an outcome may carry (the column's size).
MAX_NOTE = 200


def reason_label(reason: str) -> str:
    """The short label of a reason, translated."""
    return _(REASONS[reason][0]) if reason in REASONS else reason


def days_open(referral: Referral, today: date) -> int:
    """Whole days since the referral was opened."""
    return max(0, (today - referral.opened_on).days)


# -- an area's referrals ----------------------------------------------------------------------------

def of_puskesmas(puskesmas_id: int):
    """The condition of a puskesmas's area (its posyandu's families)."""
    return Posyandu.puskesmas_id == puskesmas_id


def of_posyandu(posyandu_id: int):
    """The condition of a posyandu's area (its families)."""
    return Family.posyandu_id == posyandu_id


def in_area(where):
    """Referrals with their person, family and posyandu, in an area (the family's own posyandu)."""
    return (select(Referral, Person, Family, Posyandu)
            .join(Person, Person.id == Referral.person_id)
            .join(Family, Family.id == Person.family_id)
            .join(Posyandu, Posyandu.id == Family.posyandu_id)
            .where(where))


async def count_followed(session, where) -> int:
    """How many referrals are followed in an area."""
    query = in_area(where).where(Referral.status.in_(FOLLOWED)).with_only_columns(Referral.id)
    return await session.scalar(select(func.count()).select_from(query.subquery())) or 0


async def followed(session, where, *, offset: int = 0, limit: int | None = None) -> list[tuple[Referral, Person, Family, Posyandu]]:
    """The followed referrals of an area, oldest first (``offset``/``limit``: one page)."""
    query = in_area(where).where(Referral.status.in_(FOLLOWED)).order_by(Referral.opened_on, Referral.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [tuple(row) for row in (await session.execute(query)).all()]


async def one_in(session, where, referral_id: Any, *, lock: bool = False) -> tuple[Referral, Person, Family, Posyandu] | None:
    """A referral of an area by id (whatever its status), or None: no hint that another exists."""
    if not isinstance(referral_id, int) or isinstance(referral_id, bool):
        return None
    query = in_area(where).where(Referral.id == referral_id)
    if lock:
        query = query.with_for_update(of=Referral)
    row = (await session.execute(query)).first()
    return tuple(row) if row else None


# -- the outcome ------------------------------------------------------------------------------------

class NoteTooLong(ValueError):
    """A note longer than :data:`MAX_NOTE` (``count``: its length)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"note of {count} characters")
        self.count = count


def clean_note(text: str | None) -> str | None:
    """A note as it is stored: its words with single spaces, None when empty; raises :class:`NoteTooLong`."""
    note = " ".join((text or "").split())
    if len(note) > MAX_NOTE:
        raise NoteTooLong(len(note))
    return note or None


def record_outcome(referral: Referral, outcome: str, note: str | None, by: int | None, now: datetime, today: date) -> dict[str, Any]:
    """Writes an outcome on a followed referral (``note`` as :func:`clean_note` gives it; ``by`` the
    identity who recorded it); returns the audit row's detail. Raises ValueError for an outcome that is
    not one of :data:`OUTCOMES` or a referral that is no longer followed (its outcome was recorded)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"{outcome!r}: not a referral outcome")
    if referral.status not in FOLLOWED:
        raise ValueError(f"referral {referral.id} is {referral.status}")
    referral.status, referral.outcome_at, referral.outcome_by, referral.outcome_note = outcome, now, by, note
    return {"outcome": outcome, "reason": referral.reason, "days": days_open(referral, today), "note": note is not None}
