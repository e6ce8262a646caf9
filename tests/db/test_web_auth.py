"""The session of a page read in one query (db.web_auth.read_live): the session, its puskesmas's name, code
and time zone, and whether its staff member is still staff; what it answers when a write is needed."""
from __future__ import annotations

from sqlalchemy import event, select

from db.models import Identity, Puskesmas
from db.web_auth import TOUCH_EVERY, end_session, read_live, redeem_link, session_of
from tests.helpers import DEFAULT_NOW, chat_as
from tests.web.site import HOME, link_for


async def opened(db, identity_id):
    token = (await link_for(db, identity_id)).rsplit("/", 1)[1]
    async with db.write() as session:
        found, _link, problem = await redeem_link(session, token, DEFAULT_NOW, language="id")
        assert problem is None
        return found


def selects_on(db) -> list[str]:
    """The SELECT statements sent on the database's engine from now on."""
    sent: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: sent.append(statement) if statement.lstrip().upper().startswith("SELECT") else None)
    return sent


async def test_a_live_session_is_read_with_its_puskesmas_in_one_query(engine, demo_db):
    await chat_as(engine, demo_db, "staff", "staff-web")
    async with demo_db.read() as session:
        identity = await session.scalar(select(Identity.id).where(Identity.address == "staff-web"))
        home = (await session.scalars(select(Puskesmas).where(Puskesmas.code == HOME))).one()
    found = await opened(demo_db, identity)
    sent = selects_on(demo_db)
    async with demo_db.read() as session:
        live, write = await read_live(session, found.token, DEFAULT_NOW)
    assert len(sent) == 1 and not write
    assert (live.id, live.identity_id, live.puskesmas_id, live.csrf) == (found.session.id, identity, home.id, found.session.csrf)
    assert (live.puskesmas_name, live.puskesmas_code, live.timezone) == (home.name, HOME, home.timezone)


async def test_a_session_to_touch_or_end_asks_for_a_write_and_an_ended_or_unknown_one_is_none(engine, demo_db):
    await chat_as(engine, demo_db, "staff", "staff-web")
    async with demo_db.read() as session:
        identity = await session.scalar(select(Identity.id).where(Identity.address == "staff-web"))
    found = await opened(demo_db, identity)
    async with demo_db.read() as session:
        assert await read_live(session, found.token, DEFAULT_NOW + TOUCH_EVERY) == (None, True)  # last_seen_at to move
        assert await read_live(session, "not-a-token", DEFAULT_NOW) == (None, False)
    async with demo_db.write() as session:
        (await session.get(Identity, identity)).role = "family"
    async with demo_db.read() as session:
        assert await read_live(session, found.token, DEFAULT_NOW) == (None, True)  # no longer staff: to be ended
    async with demo_db.write() as session:
        assert await session_of(session, found.token, DEFAULT_NOW) is None
    async with demo_db.read() as session:
        assert await read_live(session, found.token, DEFAULT_NOW) == (None, False)


async def test_an_administrators_session_is_live_without_a_person(demo_db):
    found = await opened(demo_db, None)
    async with demo_db.read() as session:
        live, write = await read_live(session, found.token, DEFAULT_NOW)
    assert live.identity_id is None and live.puskesmas_code == HOME and not write
    async with demo_db.write() as session:
        await end_session(session, found.session, DEFAULT_NOW)
    async with demo_db.read() as session:
        assert await read_live(session, found.token, DEFAULT_NOW) == (None, False)
