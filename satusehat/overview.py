"""What staff see of the SATUSEHAT queue of their own puskesmas (``/satusehat`` in chat, the web's
``/satusehat`` page): the items counted by state, and the first items that are refused, held or wait, each
with the person's name, what it is (a visit, a measurement, a dose) with its date, and why (SATUSEHAT's own
words for a refusal, the problem's sentence otherwise). Names are shown to staff; no NIK or phone number is
read here, and nothing here is logged.

:func:`retry_refused` puts the puskesmas's refused items back to pending (the caller audits it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.history import label
from content.i18n import N_, _, format_date
from db.models import CareRecord, Measurement, Person, SatusehatItem, Visit
from satusehat.problems import message
from satusehat.queue import HELD, PENDING, REFUSED, SENT, WAITING
from satusehat.rules import Problem

#: the states in the order staff read them, with their names
STATE_LABELS = {
    REFUSED: N_("Ditolak"), HELD: N_("Ditahan"), WAITING: N_("Menunggu data"), PENDING: N_("Akan dikirim"),
    SENT: N_("Terkirim"),
}
#: the states whose items are listed with their reason
LISTED = (REFUSED, HELD, WAITING)
#: what each measurement is, in a sentence
MEASURE_NAMES = {
    "weight_kg": N_("berat badan"), "length_cm": N_("panjang/tinggi badan"), "head_cm": N_("lingkar kepala"),
    "muac_cm": N_("lingkar lengan atas"), "sbp": N_("tekanan darah sistolik"), "dbp": N_("tekanan darah diastolik"),
    "glucose": N_("gula darah"), "waist_cm": N_("lingkar perut"),
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One refused, held or waiting item, as staff read it."""

    item_id: int
    state: str
    resource_type: str
    name: str
    what: str  # "imunisasi BCG", "kunjungan", "berat badan" (in the current language)
    on: date | None
    reason: str  # in the current language, or SATUSEHAT's words

    def line(self) -> str:
        """``Putu Adi, imunisasi BCG 12 Mar 2026: <reason>``."""
        when = f" {format_date(self.on, 'short')}" if self.on else ""
        return _("{name}, {what}{when}: {reason}", name=self.name, what=self.what, when=when, reason=self.reason)


@dataclass(frozen=True, slots=True)
class Overview:
    """The puskesmas's items by state (every state, 0 when none) and the first listed ones of each state."""

    counts: dict[str, int]
    entries: dict[str, list[Entry]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def reason_of(state: str, problem: str | None, reason: str | None, key: str = "") -> str:
    """Why an item is not sent: SATUSEHAT's words for a refusal, else the sentence of its problem (and the
    reason kept beside it when that says more)."""
    if state == REFUSED or problem == "refused":
        return reason or message(Problem("refused", "", key))
    words = message(Problem(problem, "", key)) if problem else ""
    detail = reason if reason and reason != words else ""
    return "; ".join(part for part in (words, detail) if part) or _("Belum ada keterangan.")


async def overview(session: AsyncSession, puskesmas_id: int, *, limit: int = 5) -> Overview:
    """The counts and the first ``limit`` items of each listed state (the latest first) of one puskesmas."""
    counts = {state: 0 for state in STATE_LABELS}
    for state, n in (await session.execute(
            select(SatusehatItem.state, func.count()).where(SatusehatItem.puskesmas_id == puskesmas_id)
            .group_by(SatusehatItem.state))).all():
        counts[state] = n
    entries: dict[str, list[Entry]] = {state: [] for state in LISTED}
    for state in LISTED:
        if not counts[state]:
            continue
        rows = (await session.execute(
            select(SatusehatItem, Person.name).outerjoin(Person, Person.id == SatusehatItem.person_id)
            .where(SatusehatItem.puskesmas_id == puskesmas_id, SatusehatItem.state == state)
            .order_by(SatusehatItem.updated_at.desc(), SatusehatItem.id.desc()).limit(limit))).all()
        for item, name in rows:
            what, on = await _what(session, item)
            entries[state].append(Entry(item.id, state, item.resource_type, name or "?", what, on,
                                        reason_of(state, item.problem, item.reason, item.key)))
    return Overview(counts, entries)


async def _what(session: AsyncSession, item: SatusehatItem) -> tuple[str, date | None]:
    """What the item's row is, and its date (the row may be gone: then only its kind)."""
    if item.resource_type == "Immunization":
        record = await session.get(CareRecord, item.row_id)
        if record is None:
            return _("imunisasi"), None
        return _("imunisasi {dose}", dose=_(label(record.code))), record.done_on
    if item.resource_type == "Observation":
        row = (await session.execute(select(Measurement.kind, Visit.visited_on).join(Visit, Visit.id == Measurement.visit_id)
                                     .where(Measurement.id == item.row_id))).one_or_none()
        if row is None:
            return _("pengukuran"), None
        kind, on = row
        return (_(MEASURE_NAMES[kind]) if kind in MEASURE_NAMES else kind), on
    visit = await session.get(Visit, item.row_id)
    return _("kunjungan"), visit.visited_on if visit is not None else None


async def retry_refused(session: AsyncSession, puskesmas_id: int, now: datetime) -> int:
    """The puskesmas's refused items go again at the next pass (after their cause was fixed); how many."""
    result = await session.execute(update(SatusehatItem).where(
        SatusehatItem.puskesmas_id == puskesmas_id, SatusehatItem.state == REFUSED).values(
        state=PENDING, not_before=now, updated_at=now))
    return result.rowcount or 0
