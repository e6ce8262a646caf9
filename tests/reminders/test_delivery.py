"""What happens to an outbox message after the send (reminders/delivery.py): statuses move it forward
only, in any order; a status before its message id waits for :func:`reconcile`; 131047 sends it again
as a template, once; replies that could not go now are queued."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from channels.messages import Choice, Reply
from db.models import DeliveryStatus, Identity, Outbox
from reminders.delivery import WINDOW_CLOSED, apply_statuses, enqueue_replies, reconcile
from tests.helpers import DEFAULT_NOW, make_family

NOW = DEFAULT_NOW
ADDRESS = "6281234500001"


async def _sent_row(db, wamid: str = "wamid.A") -> int:
    await make_family(db, identity_address=ADDRESS)
    async with db.write() as session:
        identity = (await session.scalars(select(Identity).where(Identity.address == ADDRESS))).one()
        row = Outbox(key="daily:1", identity_id=identity.id, channel="whatsapp", address=ADDRESS, kind="daily",
                     body={"text": "Pengingat posyandu besok."}, timezone="Asia/Makassar", state="sent",
                     not_before=NOW, attempts=1, created_at=NOW, sent_at=NOW, provider_message_id=wamid)
        session.add(row)
        await session.flush()
        return row.id


def _status(status: str, *, wamid: str = "wamid.A", minutes: int = 0, code: int | None = None):
    return SimpleNamespace(message_id=wamid, status=status, at=NOW + timedelta(minutes=minutes), error_code=code)


async def _row(db, row_id: int) -> Outbox:
    async with db.read() as session:
        return await session.get(Outbox, row_id)


async def test_statuses_in_any_order_end_at_the_furthest(demo_db):
    row_id = await _sent_row(demo_db)
    counts = await apply_statuses(demo_db, "whatsapp", [_status("read", minutes=2), _status("delivered", minutes=1), _status("sent")], NOW)
    assert counts["applied"] == 1 and counts["older"] == 2
    assert (await _row(demo_db, row_id)).delivery == "read"


async def test_a_status_before_its_message_id_waits_and_is_applied_later(demo_db):
    await apply_statuses(demo_db, "whatsapp", [_status("delivered", wamid="wamid.LATE")], NOW)
    async with demo_db.read() as session:
        assert (await session.get(DeliveryStatus, "wamid.LATE")).status == "delivered"
    row_id = await _sent_row(demo_db, wamid="wamid.LATE")
    assert await reconcile(demo_db, NOW) == 1
    assert (await _row(demo_db, row_id)).delivery == "delivered"
    async with demo_db.read() as session:
        assert await session.get(DeliveryStatus, "wamid.LATE") is None


async def test_a_closed_window_sends_it_again_as_a_template_once(demo_db):
    row_id = await _sent_row(demo_db)
    counts = await apply_statuses(demo_db, "whatsapp", [_status("failed", code=WINDOW_CLOSED)], NOW)
    assert counts["resent"] == 1
    row = await _row(demo_db, row_id)
    assert (row.state, row.body["template"], row.provider_message_id) == ("pending", True, None)
    async with demo_db.write() as session:  # sent again (as a template) and refused again
        again = await session.get(Outbox, row_id)
        again.state, again.provider_message_id, again.delivery = "sent", "wamid.B", "sent"
    counts = await apply_statuses(demo_db, "whatsapp", [_status("failed", wamid="wamid.B", code=WINDOW_CLOSED)], NOW)
    assert counts["resent"] == 0 and counts["applied"] == 1
    assert (await _row(demo_db, row_id)).delivery == "failed"


async def test_replies_that_could_not_go_are_queued_with_their_choices(demo_db):
    await make_family(demo_db, identity_address=ADDRESS)
    async with demo_db.write() as session:
        (await session.scalars(select(Identity).where(Identity.address == ADDRESS))).one().channel = "whatsapp"
    replies = [Reply("Anak yang mana?", (Choice("Putu Adi", "1"),)), Reply("  ")]
    assert await enqueue_replies(demo_db, "whatsapp", ADDRESS, replies, NOW, default_zone="Asia/Jakarta") == 1
    assert await enqueue_replies(demo_db, "whatsapp", "6289999999999", replies, NOW, default_zone="Asia/Jakarta") == 0
    async with demo_db.read() as session:
        (row,) = (await session.scalars(select(Outbox))).all()
    assert (row.kind, row.state, row.body["choices"]) == ("reply", "pending", [["Putu Adi", "1"]])
    assert row.expires_at == NOW + timedelta(hours=23)
