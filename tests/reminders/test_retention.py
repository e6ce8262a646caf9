"""privacy.retention_days: the texts of finished outbox rows become counts after the retention period; the
rows, their states and times stay, so /laporan and /status count the same."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from channels.messages import Reply
from db.models import Broadcast, Identity, Outbox, Posyandu, Puskesmas
from handlers.flow import Ctx
from handlers.report import build_report
from reminders.dispatcher import Dispatcher
from reminders.planner import Planner
from reminders.retention import RetentionJob, cutoff, due, pruned_body, prune_texts
from reminders.scheduler import ReminderJobs
from tests.helpers import DEFAULT_NOW, chat_as, make_family

NOW = DEFAULT_NOW
DAILY = {"text": "Besok hari posyandu. Putu Adi: imunisasi DPT-HB-Hib 1", "lang": "id",
         "items": [["posyandu", "2026-11-24", None], ["dose", "DPT_HB_HIB1", "Putu Adi"], ["dose", "OPV2", "Putu Adi"]]}


# -- the rule -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "age_days", "pruned", "expected"), [
    ("sent", 31, False, True),
    ("sent", 30, False, False),  # exactly the period: kept until it has passed
    ("sent", 29, False, False),
    ("failed", 45, False, True),
    ("expired", 45, False, True),
    ("cancelled", 45, False, True),
    ("blocked", 45, False, True),
    ("pending", 45, False, False),  # still to be sent: its text is needed
    ("sending", 45, False, False),
    ("sent", 45, True, False),  # done already
])
def test_what_is_due_to_prune(state, age_days, pruned, expected):
    created = NOW - timedelta(days=age_days)
    assert due(state, created, NOW if pruned else None, NOW, 30) is expected
    assert cutoff(NOW, 30) == NOW - timedelta(days=30)


def test_a_pruned_body_keeps_counts_and_nothing_said():
    body = pruned_body({**DAILY, "choices": [["Sudah", "done"]], "photo": "AgAC-file-id", "template": True})
    assert body == {"pruned": True, "chars": len(DAILY["text"]), "lang": "id", "items": {"dose": 2, "posyandu": 1},
                    "choices": 1, "photo": True, "template": True}
    assert pruned_body(body) == body  # twice is once
    assert pruned_body(None) == {"pruned": True, "chars": 0}


# -- the job ------------------------------------------------------------------------------------------

async def _rows(db, specs: list[tuple[str, int]]) -> dict[str, int]:
    """Outbox rows (state, age in days) to one chat; returns their ids by key."""
    async with db.write() as session:
        identity = Identity(channel="local", address="ret-1", language="id", role="family", consent="given",
                            consent_version="2026-11", consent_at=NOW, created_at=NOW)
        session.add(identity)
        await session.flush()
        rows = {}
        for n, (state, age) in enumerate(specs):
            at = NOW - timedelta(days=age)
            row = Outbox(key=f"t:{n}", identity_id=identity.id, channel="local", address="ret-1", kind="daily", body=dict(DAILY),
                         timezone="Asia/Makassar", state=state, not_before=at, attempts=1, created_at=at,
                         sent_at=at if state == "sent" else None, delivery="read" if state == "sent" else None)
            session.add(row)
            await session.flush()
            rows[row.key] = row.id
        return rows


async def test_the_job_prunes_exactly_what_is_due_in_batches_and_only_once(db):
    specs = [("sent", 40), ("sent", 31), ("sent", 2), ("failed", 60), ("expired", 31), ("pending", 50), ("sending", 35),
             ("cancelled", 10), ("blocked", 90)]
    await _rows(db, specs)
    async with db.read() as session:
        before = {r.key: (r.state, r.created_at, r.sent_at, r.delivery, r.attempts) for r in await session.scalars(select(Outbox))}
    assert await prune_texts(db, NOW, 30, batch=2) == 5
    async with db.read() as session:
        after = list(await session.scalars(select(Outbox).order_by(Outbox.id)))
    for row, (state, age) in zip(after, specs, strict=True):
        expected = due(state, NOW - timedelta(days=age), None, NOW, 30)
        assert (row.pruned_at == NOW) is expected, row.key
        if expected:
            assert row.body == {"pruned": True, "chars": len(DAILY["text"]), "lang": "id", "items": {"dose": 2, "posyandu": 1}}
        else:
            assert row.body == DAILY
        assert (row.state, row.created_at, row.sent_at, row.delivery, row.attempts) == before[row.key]  # the rest stays
    assert await prune_texts(db, NOW, 30) == 0  # nothing twice
    assert await prune_texts(db, NOW + timedelta(days=29), 30) == 2  # the young ones, once they are old enough
    # the pending and sending rows stay whole until they are finished
    async with db.read() as session:
        unfinished = {r.state: r.body for r in await session.scalars(select(Outbox).where(Outbox.pruned_at.is_(None)))}
    assert unfinished == {"pending": DAILY, "sending": DAILY}


async def test_reports_and_status_count_the_same_after_pruning(demo_db, settings, clock, engine):
    """/laporan counts sent reminders and /status counts a broadcast's rows: neither needs the text."""
    await make_family(demo_db, identity_address="628111")
    await Planner(demo_db, settings, clock=clock).plan_day(NOW.date())
    async with demo_db.write() as session:
        puskesmas = (await session.scalars(select(Puskesmas).where(Puskesmas.code == "P5108060201"))).one()
        identity = (await session.scalars(select(Identity).where(Identity.address == "628111"))).one()
        broadcast = Broadcast(puskesmas_id=puskesmas.id, audience={"kind": "all"}, text="Posyandu pindah ke balai banjar",
                              state="queued", created_at=NOW)
        session.add(broadcast)
        await session.flush()
        session.add(Outbox(key=f"broadcast:{broadcast.id}:{identity.id}", identity_id=identity.id, channel="local",
                           address="628111", kind="broadcast", body={"text": "Pengumuman: Posyandu pindah", "lang": "id"},
                           timezone="Asia/Makassar", state="pending", not_before=NOW, attempts=0,
                           broadcast_id=broadcast.id, created_at=NOW))
    sent: list[tuple[str, Reply]] = []

    async def local(address: str, reply: Reply) -> str:
        sent.append((address, reply))
        return f"local-{len(sent)}"

    assert (await Dispatcher(demo_db, {"local": local}, clock=clock, rates={"local": None}, per_chat_interval=0).run_once()).sent == 2

    staff = await chat_as(engine, demo_db, "staff", "staf-ret")

    async def counts() -> tuple:
        async with demo_db.read() as session:
            posyandu = (await session.scalars(select(Posyandu).where(Posyandu.village_code == "51.08.06.2014"))).one()
            me = (await session.scalars(select(Identity).where(Identity.address == "staf-ret"))).one()
            ctx = Ctx(session=session, identity=me, state=None, now=clock.now, today=clock.now.date(), settings=settings, data={})
            report = await build_report(ctx, posyandu, 2026, 11)
        await staff.say("/status")
        return report.reminders, staff.text

    before = await counts()
    assert before[0].sent == 1 and "terkirim 1, menunggu 0" in before[1]
    clock.advance(days=31)
    assert (await RetentionJob(demo_db, settings, clock).run()).texts == 2
    async with demo_db.read() as session:
        bodies = [r.body for r in await session.scalars(select(Outbox))]
    assert all(b["pruned"] is True and "text" not in b for b in bodies)
    assert not any("Putu Adi" in str(b) or "Posyandu pindah" in str(b) for b in bodies)
    assert await counts() == before


async def test_retention_days_come_from_the_settings_and_the_job_is_scheduled(demo_db, settings, clock):
    await _rows(demo_db, [("sent", 10), ("sent", 3)])
    short = replace(settings, privacy=replace(settings.privacy, retention_days=7))
    assert (await RetentionJob(demo_db, short, clock).run()).texts == 1
    scheduler = AsyncIOScheduler()
    await ReminderJobs(demo_db, settings, planner=None, dispatcher=None, clock=clock).install(scheduler)
    job = scheduler.get_job("retention")
    assert job is not None and job.func.__self__.days == settings.privacy.retention_days == 30


async def test_a_late_window_closed_status_does_not_send_a_pruned_row_again(db):
    """WhatsApp may report 131047 long after the send: a row whose text is gone is not queued again as a
    template with nothing to say; its failure is recorded like any other."""
    from types import SimpleNamespace

    from reminders.delivery import WINDOW_CLOSED, apply_statuses

    rows = await _rows(db, [("sent", 40), ("sent", 40)])
    assert await prune_texts(db, NOW, 30) == 2
    async with db.write() as session:
        for key, row_id in rows.items():
            row = await session.get(Outbox, row_id)
            row.channel, row.provider_message_id, row.delivery = "whatsapp", f"wamid.{key}", "sent"
    async with db.write() as session:  # the second row kept its text (not pruned): it is sent again as a template
        row = await session.get(Outbox, rows["t:1"])
        row.body, row.pruned_at = dict(DAILY), None
    late = [SimpleNamespace(message_id=f"wamid.{key}", status="failed", at=NOW, error_code=WINDOW_CLOSED) for key in rows]
    counts = await apply_statuses(db, "whatsapp", late, NOW)
    assert (counts["resent"], counts["applied"]) == (1, 1)
    async with db.read() as session:
        pruned, kept = (await session.get(Outbox, rows["t:0"])), (await session.get(Outbox, rows["t:1"]))
    assert (pruned.state, pruned.delivery, pruned.body["pruned"]) == ("sent", "failed", True)
    assert (kept.state, kept.body["template"]) == ("pending", True)
