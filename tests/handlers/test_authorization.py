"""The authorization matrix: every command, every role, own area and another; no unauthorized success."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from db.models import Identity, Posyandu, Puskesmas
from tests.helpers import DEFAULT_NOW, ChatDriver, make_family

REFUSALS = ("untuk petugas puskesmas", "Hanya kader", "hanya untuk kader", "Perintah ini untuk kader",
            "Anda belum mendaftarkan keluarga", "Apakah Anda setuju", "Hanya kader yang dapat mendaftarkan")
#: command -> the roles allowed to use it (anon = no consent yet)
MATRIX = {
    "/kunjungan": {"kader"},
    "/sasaran": {"kader"},
    "/daftarkan": {"kader"},
    "/urung": {"kader"},
    "/umumkan": {"staff"},
    "/status": {"staff"},
    "/undang": {"staff"},
    "/jadwalposyandu": {"staff"},
    "/laporan": {"staff"},
    "/ekspor": {"staff"},
    "/keluarga": {"family", "kader"},
    "/jadwal": {"family", "kader"},
    "/imunisasi": {"family", "kader"},
    "/grafik": {"family", "kader"},
    "/pengingat": {"family", "kader"},
}
ROLES = ("anon", "family", "kader", "staff")


async def _identity(db, role: str, address: str) -> None:
    """An identity of ``role`` in Buleleng III (a kader also has a family of their own)."""
    if role == "anon":
        return
    family = await make_family(db, identity_address=address, members=(("Ibu", "F", date(1990, 1, 1)), ("Bayi", "M", date(2026, 9, 1))))
    async with db.write() as session:
        identity = (await session.scalars(select(Identity).where(Identity.address == address))).one()
        if role == "kader":
            identity.role = "kader"
            identity.posyandu_id = family.posyandu_id
        elif role == "staff":
            identity.role, identity.family_id = "staff", None
            identity.puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))


@pytest.mark.parametrize("role", ROLES)
async def test_every_command_for_every_role(engine, demo_db, role):
    await make_family(demo_db, village_code="18.10.01.2011", name="Lampung", identity_address="other-area")
    address = f"{role}-1"
    await _identity(demo_db, role, address)
    chat = ChatDriver(engine, address=address)
    for command, allowed in MATRIX.items():
        await chat.say("batal")
        await chat.say(command)
        refused = any(marker in chat.text for marker in REFUSALS)
        assert refused != (role in allowed), f"{role} {command}: {chat.text[:200]}"
        assert "Maaf, terjadi gangguan" not in chat.text
        # nothing of the other puskesmas (Pringsewu, Lampung) is ever offered or shown
        assert "Anggrek" not in chat.text and "Lampung" not in chat.text
        assert not any("Anggrek" in label or "Dahlia" in label for label in chat.labels)


async def test_staff_of_another_puskesmas_sees_only_its_own_posyandu(engine, demo_db):
    async with demo_db.write() as session:
        pringsewu = (await session.scalars(select(Puskesmas).where(Puskesmas.code == "P1810010101"))).one()
        session.add(Identity(channel="local", address="staff-b", language="id", role="staff", puskesmas_id=pringsewu.id,
                             consent="given", consent_version="2026-11", consent_at=DEFAULT_NOW, created_at=DEFAULT_NOW))
    chat = ChatDriver(engine, address="staff-b")
    await chat.say("/undang")
    async with demo_db.read() as session:
        theirs = set(await session.scalars(select(Posyandu.name).where(Posyandu.puskesmas_id == pringsewu.id)))
    assert {label.split(" (")[0] for label in chat.labels} == theirs
