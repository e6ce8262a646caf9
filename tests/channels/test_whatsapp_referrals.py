"""The family's referral notice over WhatsApp: free text inside the 24-hour window, the ``referral``
template (``ilp_rujukan``) outside it, in the family's language, sent by the dispatcher."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import select, update

from config import DEFAULT_TEMPLATES, load_settings
from db.models import Family, Identity, Outbox, Person
from handlers.flow import Ctx
from handlers.referrals import open_referrals
from reminders.dispatcher import Dispatcher
from tests.channels.whatsapp_world import whatsapp_bot
from tests.helpers import DEFAULT_NOW, make_family

INSIDE, OUTSIDE, ENGLISH = "6281234500041", "6281234500042", "6281234500043"


def test_the_referral_kind_has_its_own_template():
    assert DEFAULT_TEMPLATES["referral"] == "ilp_rujukan"
    assert load_settings(env={}).whatsapp.templates["referral"] == "ilp_rujukan"  # config.yaml says the same


async def _family(db, address: str, *, wrote_hours_ago: float, child: str, language: str = "id") -> None:
    await make_family(db, identity_address=address, name=f"Keluarga {child}",
                      members=(("Ibu " + child, "F", date(1995, 4, 2)), (child, "M", date(2025, 9, 14))))
    async with db.write() as session:
        await session.execute(update(Identity).where(Identity.address == address).values(
            channel="whatsapp", phone=address, language=language, last_inbound_at=DEFAULT_NOW - timedelta(hours=wrote_hours_ago)))


async def _refer(db, settings, child: str) -> None:
    """A kader of the child's posyandu refers the child (2T) today."""
    async with db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == child))).one()
        family = await session.get(Family, person.family_id)
        kader = Identity(channel="local", address=f"kader-{child}", language="id", role="kader", consent="given",
                         posyandu_id=family.posyandu_id, created_at=DEFAULT_NOW)
        session.add(kader)
        await session.flush()
        ctx = Ctx(session=session, identity=kader, state=None, now=DEFAULT_NOW, today=DEFAULT_NOW.date(), settings=settings, data={})
        new, told = await open_referrals(ctx, person, [("2T", {"weight_kg": 8.2})])
        assert len(new) == 1 and told == 1


async def test_the_notice_goes_as_text_inside_the_window_and_as_the_referral_template_outside(demo_db, settings, clock):
    await _family(demo_db, INSIDE, wrote_hours_ago=3, child="Putu Dalam")
    await _family(demo_db, OUTSIDE, wrote_hours_ago=30, child="Putu Luar")
    await _family(demo_db, ENGLISH, wrote_hours_ago=30, child="Putu English", language="en")
    for child in ("Putu Dalam", "Putu Luar", "Putu English"):
        await _refer(demo_db, settings, child)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        for address, hours in ((INSIDE, 3), (OUTSIDE, 30), (ENGLISH, 30)):
            bot.graph.set_last_inbound(address, DEFAULT_NOW - timedelta(hours=hours))
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        assert (await dispatcher.run_once()).sent == 3
        (text,) = bot.graph.messages_to(INSIDE)
        (template,) = bot.graph.messages_to(OUTSIDE)
        (english,) = bot.graph.messages_to(ENGLISH)
        assert not bot.graph.rejected
    assert text["type"] == "text" and "Putu Dalam" in text["text"]["body"] and "Puskesmas Buleleng III" in text["text"]["body"]
    assert template["type"] == "template" and template["template"]["name"] == "ilp_rujukan"
    assert template["template"]["language"] == {"code": "id"}
    (parameter,) = template["template"]["components"][0]["parameters"]
    assert "Putu Luar" in parameter["text"] and "Puskesmas Buleleng III" in parameter["text"] and "\n" not in parameter["text"]
    assert english["template"]["name"] == "ilp_rujukan" and english["template"]["language"] == {"code": "en"}
    async with demo_db.read() as session:
        rows = (await session.execute(select(Outbox.kind, Outbox.state))).all()
    assert sorted(rows) == [("referral", "sent")] * 3


async def test_without_a_referral_template_the_notice_goes_as_the_reply_template(demo_db, settings, clock):
    templates = {kind: name for kind, name in DEFAULT_TEMPLATES.items() if kind != "referral"}
    settings = replace(settings, whatsapp=replace(settings.whatsapp, templates=templates))
    await _family(demo_db, OUTSIDE, wrote_hours_ago=30, child="Putu Luar")
    await _refer(demo_db, settings, "Putu Luar")
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        bot.graph.set_last_inbound(OUTSIDE, DEFAULT_NOW - timedelta(hours=30))
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        assert (await dispatcher.run_once()).sent == 1
        (template,) = bot.graph.messages_to(OUTSIDE)
    assert template["template"]["name"] == DEFAULT_TEMPLATES["reply"]
