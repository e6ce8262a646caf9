"""The authorization matrix: every command, every role (and a family held with a work role), own area and
another; no unauthorized success."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import Identity, Posyandu, Puskesmas
from tests.helpers import DEFAULT_NOW, ChatDriver, chat_as, make_family

REFUSALS = ("untuk petugas puskesmas", "Hanya kader", "hanya untuk kader", "Perintah ini untuk kader",
            "Bapak/Ibu belum mendaftarkan keluarga", "Apakah Bapak/Ibu setuju", "Hanya kader yang dapat mendaftarkan",
            "Daftar rujukan hanya untuk")
KADERS = {"kader", "kader_only"}
STAFF = {"staff", "staff_family"}
FAMILIES = {"family", "kader", "staff_family"}
#: command -> the roles allowed to use it (anon = no consent yet; kader has a family of their own, kader_only
#: and staff have none, staff_family has one)
MATRIX = {
    "/kunjungan": KADERS,
    "/sasaran": KADERS,
    "/daftarkan": KADERS,
    "/urung": KADERS,
    "/umumkan": STAFF,
    "/status": STAFF,
    "/undang": STAFF,
    "/jadwalposyandu": STAFF,
    "/laporan": STAFF,
    "/ekspor": STAFF,
    "/impor": STAFF,
    "/rujukan": KADERS | STAFF,
    "/keluarga": FAMILIES,
    "/jadwal": FAMILIES,
    "/imunisasi": FAMILIES,
    "/grafik": FAMILIES,
    "/pengingat": FAMILIES,
}
ROLES = ("anon", "family", "kader", "staff", "kader_only", "staff_family")
#: role -> the person tests.helpers.chat_as makes (all in Buleleng III)
KIND = {"family": "family", "kader": "kader_family", "staff": "staff", "kader_only": "kader", "staff_family": "staff_family"}


@pytest.mark.parametrize("role", ROLES)
async def test_every_command_for_every_role(engine, demo_db, role):
    await make_family(demo_db, village_code="18.10.01.2011", name="Lampung", identity_address="other-area")
    address = f"{role}-1"
    chat = ChatDriver(engine, address=address) if role == "anon" else await chat_as(engine, demo_db, KIND[role], address)
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
