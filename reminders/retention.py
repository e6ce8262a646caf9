"""How long message texts are kept: ``privacy.retention_days`` after a message was queued, the text of a
finished outbox row (sent, failed, expired, cancelled, blocked) is replaced by counts.

The row itself stays with its state and times, so that ``/status`` and ``/laporan`` still count it;
only what it said goes: the text, the buttons, the photo and the items (names and health items) become
``{"pruned": true, "lang": ..., "chars": n, "items": {"dose": 2, ...}}``. Rows still to be sent keep
their text until they are finished. :func:`due` is the rule; :func:`prune_texts` is the job, run
once a day by the scheduler, in batches, each committed on its own (a restart goes on where it stopped).
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, bindparam, select, update

from db.models import Outbox
from db.types import UTCDateTime

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


class RetentionJob:
    """The scheduler's daily call: prunes with the configured ``privacy.retention_days``."""

    def __init__(self, db, settings, clock) -> None:
        self.db = db
        self.days = settings.privacy.retention_days
        self.clock = clock

    async def run(self) -> int:
        return await prune_texts(self.db, self.clock(), self.days)
