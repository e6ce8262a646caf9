"""``/satusehat``: staff see their own puskesmas's SATUSEHAT items by state, the refused, held and waiting ones
with name, what and why, and send the refused ones again (audited); another puskesmas's never."""
from __future__ import annotations

from sqlalchemy import select

from db.models import AuditLog, SatusehatItem
from tests.handlers.test_report import staff_chat
from tests.helpers import ChatDriver, kader_of, queue_satusehat_dose

PRINGSEWU = "18.10.01.2011"  # a posyandu of the other demo puskesmas


async def _queue(db) -> dict[str, int]:
    return {
        "refused": await queue_satusehat_dose(db, child="Putu Adi", reason="Patient.identifier tidak sesuai organisasi"),
        "held": await queue_satusehat_dose(db, child="Kadek Ayu", state="held", problem="no_kfa_product", reason=None,
                                           code="OPV1"),
        "waiting": await queue_satusehat_dose(db, child="Komang Budi", state="waiting", problem="no_nik", reason=None,
                                              nik=None),
        "sent": await queue_satusehat_dose(db, child="Wayan Sari", state="sent", problem=None, reason=None),
        "other": await queue_satusehat_dose(db, child="Rini Lampung", village_code=PRINGSEWU,
                                            reason="Pringsewu's own refusal"),
    }


async def test_staff_see_counts_and_reasons_of_their_own_puskesmas_only(engine, demo_db):
    await _queue(demo_db)
    chat = await staff_chat(engine, demo_db, "id")
    await chat.say("/satusehat")
    text = chat.text
    assert "Pengiriman ke SATUSEHAT:" in text
    assert "Ditolak 1, Ditahan 1, Menunggu data 1, Akan dikirim 0, Terkirim 1" in text
    assert "Putu Adi, imunisasi BCG 12 Mar 2026: Patient.identifier tidak sesuai organisasi" in text
    assert "Kadek Ayu, imunisasi Polio tetes 1 12 Mar 2026" in text and "Kode produk vaksin KFA" in text
    assert "Komang Budi, imunisasi BCG 12 Mar 2026: Belum ada NIK" in text
    assert "Rini Lampung" not in text and "Pringsewu" not in text
    assert "Wayan Sari" not in text  # sent items are counted, not listed
    chat.button("Kirim ulang yang ditolak (1)")


async def test_retrying_sends_only_own_refused_items_again_and_is_audited(engine, demo_db):
    items = await _queue(demo_db)
    chat = await staff_chat(engine, demo_db, "id")
    await chat.say("/satusehat")
    await chat.press("Kirim ulang yang ditolak (1)")
    assert "1 data yang ditolak akan dikirim lagi ke SATUSEHAT" in chat.text
    async with demo_db.read() as session:
        states = dict((await session.execute(select(SatusehatItem.id, SatusehatItem.state))).all())
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "satusehat.retry"))).one()
    assert states[items["refused"]] == "pending" and states[items["other"]] == "refused"
    assert states[items["held"]] == "held" and states[items["waiting"]] == "waiting"
    assert audit.target_type == "puskesmas" and audit.detail["items"] == 1 and audit.detail["by"] == "chat"
    await chat.say("/satusehat")
    assert "Ditolak 0" in chat.text
    assert "Kirim ulang" not in " ".join(c.label for r in chat.replies for c in r.choices)


async def test_nothing_queued_says_so_and_that_sending_is_off(engine, demo_db):
    chat = await staff_chat(engine, demo_db, "id")
    await chat.say("/satusehat")
    assert "Belum ada data yang diantrekan untuk SATUSEHAT." in chat.text
    assert "belum diaktifkan" in chat.text


async def test_in_english(engine, demo_db):
    await _queue(demo_db)
    chat: ChatDriver = await staff_chat(engine, demo_db, "en")
    await chat.say("/satusehat")
    assert "Putu Adi" in chat.text


async def test_a_kader_is_refused(engine, demo_db):
    kader = await kader_of(engine, demo_db)
    await kader.say("/satusehat")
    assert "Perintah ini untuk petugas puskesmas." in kader.text
