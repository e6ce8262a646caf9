"""The turn store: the start and the save of one chat turn, one implementation per database.

The engine (``handlers/engine.py``) holds no SQL; it asks this port, inside one transaction
(:meth:`TurnStore.transaction`):

* :meth:`TurnStore.begin`: the message recorded as seen (None when it was seen before: the turn is
  answered with nothing), then the sender's identity (created on first contact and locked for this
  turn), its conversation state and its puskesmas's code and time zone;
* :meth:`TurnStore.save`: the new conversation state and when the person last wrote.

:meth:`TurnStore.remember` records a message whose step failed as seen, in a transaction of its own.

SQLite (:class:`SqliteTurns`): the write transaction (``BEGIN IMMEDIATE``) already excludes every other
writer, so the message is recorded with an ``INSERT OR IGNORE`` and the rest read in one statement.
PostgreSQL (:class:`PostgresTurns`): the message recorded and, only when it is new, the sender's identity
row locked and touched (``last_inbound_at``) in one statement (:data:`_RECEIVE`, two data-modifying CTEs);
the state read after the lock, so a turn waiting for the same chat's previous one sees that turn's state.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, literal_column, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from db.database import Database, LoopSession
from db.models import ConversationState, Family, Identity, InboundMessage, Posyandu, Puskesmas
from db.queries import core_execute, insert_ignore

#: The session of one turn (``Ctx.session``): SQLite's :class:`LoopSession` or PostgreSQL's ``AsyncSession``,
#: awaited alike.
TurnSession = AsyncSession | LoopSession


@dataclass
class TurnState:
    """A conversation's state during one turn: read at its start, written once at its end."""

    flow: str | None
    step: str | None
    data: dict
    version: int
    new: bool = False  # no row yet (first contact, or after an erasure)
    touched: bool = False  # the identity's last_inbound_at is written already (PostgreSQL's locking UPDATE)


@dataclass(frozen=True)
class Sender:
    """Who sent the message and when; ``message_key`` is the stored form of its id (None: it has none)."""

    channel: str
    address: str
    at: datetime
    message_key: str | None


@dataclass
class TurnStart:
    """What a turn starts from: the locked identity, its state, and its puskesmas's code and time zone."""

    identity: Identity
    state: TurnState
    puskesmas_code: str | None
    puskesmas_zone: str | None


def _with_state(query):
    """``query`` plus the identity's conversation state and its puskesmas's code and time zone."""
    return (
        query.add_columns(
            ConversationState.flow, ConversationState.step, ConversationState.data, ConversationState.version,
            Puskesmas.code, Puskesmas.timezone,
        )
        .select_from(Identity)
        .outerjoin(ConversationState, ConversationState.identity_id == Identity.id)
        .outerjoin(Family, Family.id == Identity.family_id)
        .outerjoin(Posyandu, Posyandu.id == Family.posyandu_id)
        .outerjoin(Puskesmas, Puskesmas.id == Posyandu.puskesmas_id)
    )


#: The hot statements of a turn, built once (a reused statement keeps its memoized cache key).
_LOAD = _with_state(select(Identity)).where(Identity.channel == bindparam("channel"), Identity.address == bindparam("address"))
_LOAD_AFTER_LOCK = _with_state(select()).where(Identity.id == bindparam("identity_id"))
_STATE_TABLE = ConversationState.__table__
_STATE_INSERT = _STATE_TABLE.insert()
_STATE_UPDATE = _STATE_TABLE.update().where(_STATE_TABLE.c.identity_id == bindparam("state_of"))
_LAST_INBOUND = Identity.__table__.update().where(Identity.__table__.c.id == bindparam("identity_id"))
#: PostgreSQL: lock the sender's identity row and record the message time in one statement
_TOUCH = (
    update(Identity)
    .where(Identity.channel == bindparam("sender_channel"), Identity.address == bindparam("sender_address"))
    .values(last_inbound_at=bindparam("message_at"))
    .returning(Identity)
    .execution_options(synchronize_session=False)
)

#: PostgreSQL: the message recorded as seen and, only when it is new, the sender's identity locked and
#: touched as by ``_TOUCH``: one statement (two data-modifying CTEs) instead of two round trips.
_FRESH = (
    pg_insert(InboundMessage.__table__)
    .values(channel=bindparam("inbound_channel"), message_id=bindparam("inbound_id"), received_at=bindparam("inbound_at"))
    .on_conflict_do_nothing()
    .returning(InboundMessage.__table__.c.channel)
    .cte("fresh")
)
_TOUCHED = (
    Identity.__table__.update()
    .where(
        Identity.__table__.c.channel == bindparam("sender_channel"),
        Identity.__table__.c.address == bindparam("sender_address"),
        exists(select(_FRESH.c.channel)),
    )
    .values(last_inbound_at=bindparam("message_at"))
    .returning(*Identity.__table__.c)
    .cte("touched")
)
_ONE_ROW = select(literal_column("1").label("one")).subquery("one_row")
_RECEIVE = select(
    select(func.count()).select_from(_FRESH).scalar_subquery().label("fresh"),
    aliased(Identity, _TOUCHED, adapt_on_names=True),
).select_from(_ONE_ROW.outerjoin(_TOUCHED, true()))


def _start(identity: Identity, extra, *, touched: bool) -> TurnStart:
    """The turn's start from the identity and the row of :func:`_with_state`'s added columns."""
    flow, step, data, version, code, stored_zone = extra
    if version is None:
        state = TurnState(None, None, {}, secrets.randbelow(1 << 30), new=True, touched=touched)
    else:
        state = TurnState(flow, step, data if isinstance(data, dict) else {}, version, touched=touched)
    return TurnStart(identity, state, code, stored_zone)


class TurnStore:
    """The port of a chat turn; :func:`turn_store` picks the implementation for the database."""

    #: whether the identity read on first contact is locked (``SELECT ... FOR UPDATE``)
    lock_identity = False

    def __init__(self, db: Database) -> None:
        self.db = db

    def transaction(self) -> AbstractAsyncContextManager[TurnSession]:
        """The turn's one transaction: committed on success, rolled back on error (:meth:`Database.turn`)."""
        return self.db.turn()

    async def begin(self, session: TurnSession, sender: Sender, new_identity: Callable[[], dict[str, Any]],
                    ) -> TurnStart | None:
        """Records the message as seen and reads what the turn starts from; None for a message seen before.

        ``new_identity``: the columns of the sender's identity on first contact (besides channel and address).
        """
        raise NotImplementedError

    async def save(self, session: TurnSession, identity: Identity, state: TurnState, at: datetime, now: datetime) -> None:
        """Writes the turn's conversation state in one statement and when the person last wrote (``at``;
        flushed with the identity's other changes when it has any)."""
        values = {"flow": state.flow, "step": state.step, "data": state.data, "version": state.version, "updated_at": now}
        changed = identity in session.dirty
        if changed:
            identity.last_inbound_at = at  # flushed with the turn's other changes to the identity
        if state.new:
            await core_execute(session, _STATE_INSERT, {"identity_id": identity.id, **values})
        else:
            await core_execute(session, _STATE_UPDATE, {"state_of": identity.id, **values})
        if not changed and not state.touched:  # one plain UPDATE instead of a unit-of-work flush
            await core_execute(session, _LAST_INBOUND, {"identity_id": identity.id, "last_inbound_at": at})
            set_committed_value(identity, "last_inbound_at", at)

    async def remember(self, channel: str, message_key: str, at: datetime) -> None:
        """Records a message as seen, in a transaction of its own (a message whose step failed)."""
        async with self.db.turn() as session:
            await self._record(session, channel, message_key, at)

    @staticmethod
    async def _record(session: TurnSession, channel: str, message_key: str, at: datetime) -> bool:
        """Records a message as seen in the session's transaction: True when it is new."""
        return await insert_ignore(
            session, InboundMessage.__table__, {"channel": channel, "message_id": message_key, "received_at": at},
        )

    async def _identity(self, session: TurnSession, sender: Sender, new_identity: Callable[[], dict[str, Any]]) -> Identity:
        """The identity of the sender, created on first contact and locked for this turn."""
        query = select(Identity).where(Identity.channel == sender.channel, Identity.address == sender.address)
        if self.lock_identity:
            query = query.with_for_update()
        identity = (await session.scalars(query)).one_or_none()
        if identity is not None:
            return identity
        await insert_ignore(session, Identity.__table__, {"channel": sender.channel, "address": sender.address, **new_identity()})
        return (await session.scalars(query)).one()


class SqliteTurns(TurnStore):
    """SQLite: the write transaction already excludes every other writer; the rest is read in one statement."""

    async def begin(self, session: TurnSession, sender: Sender, new_identity: Callable[[], dict[str, Any]],
                    ) -> TurnStart | None:
        if sender.message_key is not None and not await self._record(session, sender.channel, sender.message_key, sender.at):
            return None
        who = {"channel": sender.channel, "address": sender.address}
        row = (await session.execute(_LOAD, who)).first()
        if row is None:
            await self._identity(session, sender, new_identity)
            row = (await session.execute(_LOAD, who)).one()
        return _start(row[0], row[1:], touched=False)


class PostgresTurns(TurnStore):
    """PostgreSQL: the identity row is locked first, by the UPDATE that records when the person last
    wrote (with the message recorded, in :data:`_RECEIVE`), and the rest read after the lock."""

    lock_identity = True

    async def begin(self, session: TurnSession, sender: Sender, new_identity: Callable[[], dict[str, Any]],
                    ) -> TurnStart | None:
        touch = {"sender_channel": sender.channel, "sender_address": sender.address, "message_at": sender.at}
        if sender.message_key is not None:
            row = (await session.execute(_RECEIVE, {
                "inbound_channel": sender.channel, "inbound_id": sender.message_key, "inbound_at": sender.at, **touch,
            })).one()
            if not row[0]:
                return None
            identity = row[1]
        else:  # no message id: not locked and touched by _RECEIVE
            identity = (await session.scalars(_TOUCH, touch)).one_or_none()
        touched = identity is not None
        if identity is None:
            identity = await self._identity(session, sender, new_identity)
        extra = (await session.execute(_LOAD_AFTER_LOCK, {"identity_id": identity.id})).one()
        return _start(identity, extra, touched=touched)


def turn_store(db: Database) -> TurnStore:
    """The turn store of ``db``'s kind."""
    return SqliteTurns(db) if db.is_sqlite else PostgresTurns(db)
