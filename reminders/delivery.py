"""What happens to an outbox message after the send: provider statuses, and replies sent later.

Statuses (WhatsApp: sent, delivered, read, failed) arrive in any order, sometimes before the
dispatcher has recorded the message id. They only move a message forward along
``sent < failed < delivered < read``, so the final state does not depend on their order; a status
for an id not recorded yet waits in ``delivery_status`` and is applied by :func:`reconcile`. A
``failed`` status with error 131047 (the 24-hour window had closed) puts the message back in the
outbox to go again as a template, once.

A reply the channel could not send at once (provider down, rate limited) is queued as an outbox
row of kind ``reply`` by :func:`enqueue_replies`, so the dispatcher delivers it later.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from channels.messages import Reply
from db.database import Database
from db.models import DeliveryStatus, Identity, Outbox
from db.queries import family_timezone, insert_ignore

log = logging.getLogger(__name__)

RANK = {"sent": 1, "failed": 2, "delivered": 3, "read": 4}
WINDOW_CLOSED = 131047
#: a status whose message id never shows up (a reply sent in the chat, not from the outbox) is dropped
EARLY_STATUS_KEEP = timedelta(minutes=30)
LATE_REPLY_KEEP = timedelta(hours=23)


def _rank(status: str | None) -> int:
    return RANK.get(status or "", 0)


async def _apply(session, row, status: str, at: datetime, error_code: int | None) -> str:
    """Moves one outbox row forward by one status; returns what was done."""
    if status == "failed" and error_code == WINDOW_CLOSED and _rank(row.delivery) < RANK["delivered"]:
        body = dict(row.body or {})
        if not body.get("template") and not body.get("pruned"):  # a pruned row has no text left to send
            body["template"] = True
            await session.execute(
                update(Outbox).where(Outbox.id == row.id).values(
                    state="pending", not_before=at, body=body, delivery=None, delivery_at=None, lease_until=None,
                    provider_message_id=None, error="WindowClosed: 131047, sent again as a template",
                )
            )
            return "resent"
    if _rank(status) <= _rank(row.delivery):
        return "older"
    values: dict[str, Any] = {"delivery": status, "delivery_at": at}
    if status == "failed":
        values["error"] = f"failed: {error_code}" if error_code else "failed"
    await session.execute(update(Outbox).where(Outbox.id == row.id).values(**values))
    return "applied"


async def apply_statuses(db: Database, channel: str, statuses: Iterable, now: datetime) -> dict[str, int]:
    """Records provider statuses (objects with message_id, status, at, error_code); returns counts."""
    counts = {"applied": 0, "older": 0, "resent": 0, "early": 0, "ignored": 0}
    statuses = [s for s in statuses if s.status in RANK]
    if not statuses:
        return counts
    async with db.write() as session:
        for status in statuses:
            query = select(Outbox.id, Outbox.delivery, Outbox.body).where(
                Outbox.channel == channel, Outbox.provider_message_id == status.message_id
            )
            if not db.is_sqlite:
                query = query.with_for_update()
            row = (await session.execute(query)).first()
            if row is not None:
                counts[await _apply(session, row, status.status, status.at, status.error_code)] += 1
                continue
            counts["early"] += 1
            early = await session.get(DeliveryStatus, status.message_id)
            if early is None:
                await insert_ignore(session, DeliveryStatus.__table__, {
                    "provider_message_id": status.message_id, "channel": channel, "status": status.status,
                    "error_code": status.error_code, "at": status.at, "received_at": now,
                })
            elif _rank(status.status) > _rank(early.status) or (status.status == "failed" and status.error_code == WINDOW_CLOSED):
                early.status, early.error_code, early.at = status.status, status.error_code, status.at
    return counts


async def reconcile(db: Database, now: datetime) -> int:
    """Applies statuses that came before their message id was recorded; drops the stale ones."""
    applied = 0
    async with db.write() as session:
        rows = (await session.execute(
            select(DeliveryStatus, Outbox.id, Outbox.delivery, Outbox.body)
            .join(Outbox, (Outbox.provider_message_id == DeliveryStatus.provider_message_id) & (Outbox.channel == DeliveryStatus.channel))
            .limit(1000)
        )).all()
        for early, outbox_id, delivery, body in rows:
            row = _Row(outbox_id, delivery, body)
            await _apply(session, row, early.status, early.at, early.error_code)
            await session.delete(early)
            applied += 1
        await session.execute(delete(DeliveryStatus).where(DeliveryStatus.received_at < now - EARLY_STATUS_KEEP))
    return applied


class _Row:
    __slots__ = ("id", "delivery", "body")

    def __init__(self, id: int, delivery: str | None, body: dict | None) -> None:  # noqa: A002
        self.id, self.delivery, self.body = id, delivery, body


async def enqueue_replies(db: Database, channel: str, address: str, replies: list[Reply], now: datetime, *, default_zone: str) -> int:
    """Queues replies that could not be sent now as outbox rows of kind ``reply``; returns how many."""
    queued = 0
    async with db.write() as session:
        identity = (await session.scalars(
            select(Identity).where(Identity.channel == channel, Identity.address == address)
        )).one_or_none()
        if identity is None:
            return 0
        zone = default_zone
        if identity.family_id is not None:
            found = await family_timezone(session, identity.family_id)
            if found:
                zone = found[1]
        for reply in replies:
            if not reply.text.strip():
                continue
            body: dict[str, Any] = {"text": reply.text, "lang": reply.language or identity.language}
            if reply.choices:
                body["choices"] = [[c.label, c.data] for c in reply.choices]
            session.add(Outbox(
                key=f"reply:{uuid.uuid4().hex}", identity_id=identity.id, channel=channel, address=address, kind="reply",
                body=body, timezone=zone, state="pending", not_before=now, expires_at=now + LATE_REPLY_KEEP,
                attempts=0, created_at=now,
            ))
            queued += 1
    if queued:
        log.warning("%s: %d replies queued to send later", channel, queued)
    return queued
