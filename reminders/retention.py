"""How long message texts are kept: ``privacy.retention_days`` after a message was queued, the text of a
finished outbox row (sent, failed, expired, cancelled, blocked) is replaced by counts.

The row itself stays with its state and times, so that ``/status`` and ``/laporan`` still count it;
only what it said goes: the text, the buttons, the photo and the items (names and health items) become
``{"pruned": true, "lang": ..., "chars": n, "items": {"dose": 2, ...}}``. Rows still to be sent keep
their text until they are finished. :func:`due` is the rule; :func:`prune_texts` is the job, run
once a day by the scheduler, in batches, each committed on its own (a restart goes on where it stopped).

**Growth kept in bounds** (``privacy.outbox_keep_days``, 400 by default, at least ``retention_days``): the
same daily job then deletes what is past that period, so that a district's outbox holds about a year of
rows, not every message ever sent (250,000 families write tens of millions a year):

* an outbox row in a final state (sent, failed, expired, cancelled, blocked; delivered and read are sent
  rows' ``delivery``) queued more than ``outbox_keep_days`` ago (:func:`outbox_gone`). Rows still to be sent
  stay whatever their age. Nothing plans a row again because it was deleted: the planner's outbox key is
  ``daily:<identity>:<date>`` and it only plans today; a broadcast's rows are queued once when it is sent.
  The daily reminders a report counts (``/laporan``, the web's coverage: sent and delivered) are added to
  ``reminder_tally`` (per posyandu and day) in the transaction that deletes them, and the reports read both,
  so a month counts the same before and after. A broadcast older than the period shows no rows any more
  in ``/status`` and the web (400 days: a year of broadcasts stays whole). Early delivery statuses
  (``delivery_status``) are deleted by :func:`reminders.delivery.reconcile` after a few days already.
* a reminder item (``reminder_item``) whose reminder can never be planned again, and only then: the
  planner's dedupe is the item key (family, person, kind, subject, due date) with ``times`` and
  ``last_planned_on``, and an item deleted while the rules can still give it would be sent again as new.
  So (:func:`item_gone`, all with ``due_on`` more than ``outbox_keep_days`` past):

  - a posyandu-day item: the rules give it only in the days before its session (``due_on``), never after;
  - a dose item: its key counts from the child's birth (``due_on``) and doses are reminded only up to
    ``DOSE_AGE_LIMIT_MONTHS``: deleted once that age, and then the period, have passed;
  - a service item: its window only moves on (a later record, the next round, the next stage), and a
    moved window is a new key; deleted when it was last planned more than the period ago *and* a later
    item of the same person and service exists (an interval service never done, say a PTM screening, keeps
    its one item for good: it is still overdue and must not be sent again as new). The one way back is a
    record undone that moves a window back to a key deleted long ago; a visit is undone within days.

Deletions go in batches of ``BATCH`` rows, each its own short write transaction, so that chat turns
between them are answered (SQLite has one writer); a second run deletes nothing more.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Date, and_, bindparam, case, delete, exists, or_, select, true, tuple_, update
from sqlalchemy.orm import aliased

from care.dates import add_months
from db.coverage import tally_outbox
from db.models import Outbox, ReminderItem
from db.types import UTCDateTime
from reminders.rules import DOSE_AGE_LIMIT_MONTHS

log = logging.getLogger(__name__)

#: the outbox states after which a row is never sent again (reminders.dispatcher.FINAL_STATES)
FINISHED = ("sent", "failed", "expired", "cancelled", "blocked")
BATCH = 1000

_OUT = Outbox.__table__
_PRUNE = (
    update(_OUT)
    .where(_OUT.c.id == bindparam("o_id"), _OUT.c.pruned_at.is_(None))
    .values(body=bindparam("o_body", type_=JSON()), pruned_at=bindparam("o_at", type_=UTCDateTime()))
)


def cutoff(now: datetime, days: int) -> datetime:
    """Rows queued before this moment have outlived the retention period."""
    return now - timedelta(days=days)


def due(state: str, created_at: datetime, pruned_at: datetime | None, now: datetime, days: int) -> bool:
    """Whether a row's text is to be replaced by counts now: finished, older than ``days``, not pruned yet."""
    return pruned_at is None and state in FINISHED and created_at < cutoff(now, days)


def pruned_body(body: Mapping[str, Any] | None) -> dict[str, Any]:
    """What remains of an outbox body once its text goes: its language, length and counts, no content."""
    body = body or {}
    if body.get("pruned"):
        return dict(body)
    out: dict[str, Any] = {"pruned": True, "chars": len(str(body.get("text") or ""))}
    if body.get("lang"):
        out["lang"] = body["lang"]
    kinds = Counter(str(item[0]) for item in body.get("items") or () if isinstance(item, list | tuple) and item)
    if kinds:
        out["items"] = dict(sorted(kinds.items()))
    if body.get("choices"):
        out["choices"] = len(body["choices"])
    if body.get("photo"):
        out["photo"] = True
    if body.get("template"):
        out["template"] = True
    return out


async def prune_rows(session, rows: Iterable[tuple[int, Any]], now: datetime) -> int:
    """Replaces the bodies of the outbox rows ``(id, body)`` by counts, in ``session``; returns how many."""
    params = [{"o_id": row_id, "o_body": pruned_body(body), "o_at": now} for row_id, body in rows]
    if params:
        await session.execute(_PRUNE, params)
    return len(params)


async def prune_texts(db, now: datetime, days: int, *, batch: int = BATCH) -> int:
    """Replaces by counts the text of every finished row queued more than ``days`` ago; returns how many."""
    before = cutoff(now, days)
    query = (
        select(Outbox.id, Outbox.body)
        .where(Outbox.pruned_at.is_(None), Outbox.created_at < before, Outbox.state.in_(FINISHED))
        .order_by(Outbox.created_at, Outbox.id)
        .limit(batch)
    )
    total = 0
    while True:
        async with db.write() as session:
            rows = (await session.execute(query)).all()
            total += await prune_rows(session, rows, now)
        if len(rows) < batch:
            break
    if total:
        log.info("retention: the texts of %d outbox rows older than %d days were replaced by counts", total, days)
    return total


# -- deleting what is past outbox_keep_days ----------------------------------------------------------

def item_cutoff(now: datetime, keep_days: int) -> date:
    """Items due before this day are past the period (a day more than :func:`cutoff`: local dates)."""
    return (now - timedelta(days=keep_days + 1)).date()


def dose_cutoff(now: datetime, keep_days: int) -> date:
    """Dose items counting from a birth before this day are past the dose ages and then the period."""
    return add_months(item_cutoff(now, keep_days), -(DOSE_AGE_LIMIT_MONTHS + 1))


def outbox_gone(state: str, created_at: datetime, now: datetime, keep_days: int) -> bool:
    """Whether an outbox row is deleted now: finished and queued more than ``keep_days`` ago."""
    return state in FINISHED and created_at < cutoff(now, keep_days)


def item_gone(kind: str, due_on: date, last_planned_on: date | None, later: bool, now: datetime, keep_days: int) -> bool:
    """Whether a reminder item is deleted now (the module doc's rule); ``later``: a later item of the same
    person and subject exists (services only)."""
    day = item_cutoff(now, keep_days)
    if kind == "posyandu":
        return due_on < day
    if kind == "dose":
        return due_on < dose_cutoff(now, keep_days)
    return due_on < day and (last_planned_on is None or last_planned_on < day) and later


def _later_item():
    """The SQL of ``later`` in :func:`item_gone`: an item of the same family, person, kind and subject due later.

    Read through the family's items (``ix_reminder_item_family_id``, a few dozen). SQLite would rather take
    ``ix_reminder_item_kind_due`` (the kind and a range of days: every later service item of the district,
    for each item checked, minutes a day in a district): the kind is compared as ``kind || ''``, which no
    index serves, so that the family's index is the one left."""
    newer = aliased(ReminderItem)
    return exists().where(
        newer.family_id == ReminderItem.family_id, newer.person_id == ReminderItem.person_id,
        newer.kind.concat("") == ReminderItem.kind, newer.subject == ReminderItem.subject, newer.due_on > ReminderItem.due_on,
    )


async def _delete_outbox(db, now: datetime, keep_days: int, batch: int) -> int:
    """Deletes the finished rows past the period, oldest first, a batch per short transaction."""
    query = (select(Outbox.id).where(Outbox.created_at < cutoff(now, keep_days), Outbox.state.in_(FINISHED))
             .order_by(Outbox.created_at).limit(batch))
    total = 0
    while True:
        async with db.write() as session:
            ids = list(await session.scalars(query))
            if ids:
                await tally_outbox(session, ids)
                await session.execute(delete(Outbox).where(Outbox.id.in_(ids)).execution_options(synchronize_session=False))
        total += len(ids)
        if len(ids) < batch:
            return total


async def _delete_items(db, kind: str, before: date, gone, batch: int) -> int:
    """Deletes the items of ``kind`` due before ``before`` for which ``gone`` holds (SQL), reading them once in
    (due_on, id) order a page at a time (``ix_reminder_item_kind_due``): the items that stay (a child's doses,
    a screening still overdue) are passed over once a run, not once a batch."""
    after = (date.min, 0)
    total = 0
    while True:
        query = (
            select(ReminderItem.id, ReminderItem.due_on, gone)
            .where(ReminderItem.kind == kind, ReminderItem.due_on < before,
                   tuple_(ReminderItem.due_on, ReminderItem.id) > tuple_(bindparam("a_due", after[0], type_=Date()), after[1]))
            .order_by(ReminderItem.due_on, ReminderItem.id).limit(batch)
        )
        async with db.write() as session:
            rows = (await session.execute(query)).all()
            ids = [row[0] for row in rows if row[2]]
            if ids:
                await session.execute(delete(ReminderItem).where(ReminderItem.id.in_(ids)).execution_options(synchronize_session=False))
        total += len(ids)
        if len(rows) < batch:
            return total
        after = (rows[-1][1], rows[-1][0])


@dataclass(frozen=True)
class Deleted:
    """What one run of :func:`delete_old` deleted."""

    outbox: int = 0
    items: int = 0


async def delete_old(db, now: datetime, keep_days: int, *, batch: int = BATCH) -> Deleted:
    """Deletes the finished outbox rows and the reminder items past ``keep_days`` (the module doc's rules)."""
    outbox = await _delete_outbox(db, now, keep_days, batch)
    day = item_cutoff(now, keep_days)
    planned_before = or_(ReminderItem.last_planned_on.is_(None), ReminderItem.last_planned_on < day)
    items = (await _delete_items(db, "posyandu", day, true(), batch)
             + await _delete_items(db, "dose", dose_cutoff(now, keep_days), true(), batch)
             + await _delete_items(db, "service", day, case((and_(planned_before, _later_item()), True), else_=False), batch))
    if outbox or items:
        log.info("retention: %d outbox rows and %d reminder items older than %d days were deleted", outbox, items, keep_days)
    return Deleted(outbox, items)


@dataclass(frozen=True)
class RetentionRun:
    """What one daily run did: texts replaced by counts, rows deleted."""

    texts: int
    deleted: Deleted


class RetentionJob:
    """The scheduler's daily call: prunes texts after ``privacy.retention_days``, then deletes what is past
    ``privacy.outbox_keep_days``."""

    def __init__(self, db, settings, clock, *, batch: int = BATCH) -> None:
        self.db = db
        self.days = settings.privacy.retention_days
        self.keep_days = settings.privacy.outbox_keep_days
        self.clock = clock
        self.batch = batch

    async def run(self) -> RetentionRun:
        now = self.clock()
        texts = await prune_texts(self.db, now, self.days, batch=self.batch)
        return RetentionRun(texts, await delete_old(self.db, now, self.keep_days, batch=self.batch))
