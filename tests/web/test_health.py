"""``/healthz``: the state of each part (database, disk space, channels, dispatcher lag), 200 while all
are well, 503 naming what is wrong, and an answer within two seconds even when a part hangs."""
from __future__ import annotations

import asyncio
from collections import namedtuple
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from db.models import Identity, Outbox
from tests.helpers import make_family
from web.app import DISK_MIN_FREE_BYTES, DISPATCH_LAG_MAX_S, build_app

Usage = namedtuple("Usage", "total used free")
ROOMY = Usage(100 * 2**30, 50 * 2**30, 50 * 2**30)


@dataclass
class StubChannel:
    problem: str | None = None


def roomy(_path: str) -> Usage:
    return ROOMY


async def _health(app) -> tuple[int, dict]:
    """GET /healthz; the 3 s guard fails the test when the answer does not come (promised: 2 s)."""
    async with TestClient(TestServer(app)) as client:
        async def get() -> tuple[int, dict]:
            response = await client.get("/healthz")
            return response.status, await response.json()

        return await asyncio.wait_for(get(), 3)


async def test_healthz_reports_every_part_while_all_are_well(db):
    channels = {"telegram": StubChannel(), "whatsapp": StubChannel(), "local": None}
    status, body = await _health(build_app(db=db, channels=channels, disk_usage=roomy))
    assert status == 200
    assert body == {
        "status": "ok", "database": "ok",
        "disk": {"status": "ok", "free_bytes": ROOMY.free, "min_free_bytes": DISK_MIN_FREE_BYTES},
        "channels": {"telegram": "ok", "whatsapp": "ok"},
        "dispatcher": {"status": "ok", "lag_s": 0, "max_lag_s": DISPATCH_LAG_MAX_S},
    }


async def test_healthz_measures_the_disk_of_the_sqlite_file(db):
    seen = []

    def usage(path: str) -> Usage:
        seen.append(path)
        return ROOMY

    await _health(build_app(db=db, disk_usage=usage))
    if db.is_sqlite:
        assert seen and db.url.endswith(seen[0] + "/test.sqlite3")
    else:
        assert len(seen) == 1


async def test_healthz_fails_naming_the_channel_that_stopped(db):
    problem = "WhatsApp error 133010: the business phone number is not registered with the Cloud API: register it"
    app = build_app(db=db, channels={"telegram": StubChannel(), "whatsapp": StubChannel(problem)}, disk_usage=roomy)
    status, body = await _health(app)
    assert status == 503 and body["status"] == "error"
    assert body["channels"] == {"telegram": "ok", "whatsapp": problem}
    assert body["database"] == "ok" and body["disk"]["status"] == "ok"


async def test_healthz_fails_when_the_database_does_not_answer(caplog):
    class Broken:
        url = "postgresql+asyncpg://nowhere/db"

        def read(self):
            raise ConnectionError("database down")

    status, body = await _health(build_app(db=Broken(), disk_usage=roomy))
    assert status == 503 and body["status"] == "error" and body["database"] == "unavailable"
    assert body["disk"]["status"] == "ok"
    assert not [r for r in caplog.records if r.exc_info], "one line, no traceback"


async def test_healthz_answers_within_two_seconds_when_the_database_hangs(caplog):
    """A server that accepts and never answers (see tests/db/test_timeouts.py for a real one)."""
    class Hanging:
        url = "postgresql+asyncpg://nowhere/db"

        @asynccontextmanager
        async def read(self):
            await asyncio.Event().wait()  # never set
            yield None

    status, body = await _health(build_app(db=Hanging(), disk_usage=roomy))
    assert status == 503 and body["database"] == "timeout" and body["dispatcher"] == "timeout"
    assert body["disk"]["status"] == "ok"
    assert not [r for r in caplog.records if r.exc_info]


async def test_healthz_does_not_wait_for_a_slow_cancellation(caplog):
    """Dropping a PostgreSQL connection that does not answer takes SQLAlchemy 2 s more after the
    cancel: the answer does not wait for that either."""
    class SlowToGiveUp:
        url = "postgresql+asyncpg://nowhere/db"

        @asynccontextmanager
        async def read(self):
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                await asyncio.sleep(5)
                raise
            yield None

    status, body = await _health(build_app(db=SlowToGiveUp(), disk_usage=roomy))
    assert status == 503 and body["database"] == "timeout"


async def test_healthz_fails_when_the_disk_is_nearly_full(db):
    full = Usage(100 * 2**30, 100 * 2**30 - 2**20, 2**20)  # 1 MB left
    status, body = await _health(build_app(db=db, disk_usage=lambda _path: full))
    assert status == 503 and body["status"] == "error"
    assert body["disk"] == {"status": "low", "free_bytes": 2**20, "min_free_bytes": DISK_MIN_FREE_BYTES}
    assert body["database"] == "ok"


async def test_healthz_answers_when_measuring_the_disk_hangs():
    """A stuck mount (NFS) must not stall the answer: the probe runs in a thread, bounded."""
    import threading

    release = threading.Event()

    def stuck(_path: str) -> Usage:
        release.wait(10)
        return ROOMY

    class Fine:
        url = "sqlite+aiosqlite:///:memory:"

        @asynccontextmanager
        async def read(self):
            class Session:
                async def execute(self, _statement):
                    return None

                async def scalar(self, _statement):
                    return None

            yield Session()

    try:
        status, body = await _health(build_app(db=Fine(), disk_usage=stuck))
    finally:
        release.set()
    assert status == 503 and body["disk"] == "timeout" and body["database"] == "ok"


async def _due_row(db, *, due: datetime, state: str = "pending", expires: datetime | None = None) -> None:
    family = await make_family(db, identity_address="lag-1")
    async with db.write() as session:
        identity_id = await session.scalar(select(Identity.id).where(Identity.family_id == family.id))
        session.add(Outbox(
            key=f"daily:{identity_id}:lag", identity_id=identity_id, channel="local", address="lag-1", kind="daily",
            body={"text": "Pengingat", "lang": "id"}, timezone="Asia/Makassar", state=state, not_before=due,
            expires_at=expires, attempts=0, created_at=due,
        ))


async def test_healthz_fails_when_the_dispatcher_lags(demo_db):
    await _due_row(demo_db, due=datetime.now(UTC) - timedelta(hours=1))
    status, body = await _health(build_app(db=demo_db, disk_usage=roomy))
    assert status == 503 and body["status"] == "error"
    assert body["dispatcher"]["status"] == "lagging" and 3590 <= body["dispatcher"]["lag_s"] <= 3700


async def test_a_row_due_a_moment_ago_is_no_lag(demo_db):
    await _due_row(demo_db, due=datetime.now(UTC) - timedelta(seconds=30))
    status, body = await _health(build_app(db=demo_db, disk_usage=roomy))
    assert status == 200 and body["dispatcher"]["status"] == "ok" and body["dispatcher"]["lag_s"] <= 120


async def test_sent_expired_and_future_rows_are_no_lag(demo_db):
    now = datetime.now(UTC)
    await _due_row(demo_db, due=now - timedelta(hours=3), expires=now - timedelta(hours=1))
    status, body = await _health(build_app(db=demo_db, disk_usage=roomy))
    assert status == 200 and body["dispatcher"]["lag_s"] == 0


async def test_the_lag_is_not_checked_when_reminders_are_off(demo_db):
    await _due_row(demo_db, due=datetime.now(UTC) - timedelta(hours=1))
    status, body = await _health(build_app(db=demo_db, disk_usage=roomy, dispatching=False))
    assert status == 200 and body["dispatcher"] == {"status": "off"}
