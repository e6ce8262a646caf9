"""Pengumuman on the web: compose, the preview with the count of recipients and the exact message, the
queuing through the chat's own function, progress per channel from the outbox, cancel; another
puskesmas's announcements and posyandu refused; CSRF on every form; bad input answered on the page."""
from __future__ import annotations

import struct
import zlib
from datetime import date

from aiohttp import FormData
from sqlalchemy import func, select, update

from db.models import AuditLog, Broadcast, BroadcastPhoto, Identity, Outbox, Posyandu, Puskesmas
from reminders.announcements import PHOTO_MAX_BYTES, broadcast_recipients, store_photo
from tests.helpers import DEFAULT_NOW, make_family
from tests.web.browser import needs_browser, shot
from tests.web.site import HOME, csrf_of, sign_in, staff_member

TEXT = "Posyandu besok dimulai jam 08.00, bawa buku KIA."
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _families(db) -> None:
    """Two families with a chat at Posyandu Mawar, one at Posyandu Melati, one at Pringsewu (another puskesmas)."""
    await make_family(db, identity_address="fam-mawar-1")
    await make_family(db, identity_address="fam-mawar-2", members=(("Nenek", "F", date(1950, 1, 1)),))
    await make_family(db, village_code="51.08.06.2016", identity_address="fam-melati")
    await make_family(db, village_code="18.10.01.2011", identity_address="fam-other")


async def _place(db, name: str) -> int:
    async with db.read() as session:
        return await session.scalar(select(Posyandu.id).where(Posyandu.name == name))


async def _signed_in(client, engine, db) -> str:
    html = await sign_in(client, db, await staff_member(engine, db))
    return csrf_of(html)


async def test_compose_preview_send_follow_and_cancel_an_announcement(client, engine, demo_db):
    await _families(demo_db)
    csrf = await _signed_in(client, engine, demo_db)
    page = await client.get("/pengumuman")
    html = await page.text()
    assert page.status == 200 and 'name="audience" value="toddler"' in html and "Posyandu Mawar" in html
    assert "Posyandu Anggrek" not in html  # another puskesmas's posyandu are not offered
    mawar = await _place(demo_db, "Posyandu Mawar")
    form = {"csrf": csrf, "audience": "all", "posyandu": str(mawar), "text": TEXT}

    preview = await client.post("/pengumuman/pratinjau", data=form)
    html = await preview.text()
    assert preview.status == 200
    assert "Akan dikirim ke 2 penerima." in html
    assert "Pengumuman Puskesmas Buleleng III:" in html and TEXT in html
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0  # nothing stored by a preview

    sent = await client.post("/pengumuman/kirim", data=form, allow_redirects=False)
    assert sent.status == 303
    async with demo_db.read() as session:
        broadcast = (await session.scalars(select(Broadcast))).one()
        rows = list(await session.scalars(select(Outbox).where(Outbox.broadcast_id == broadcast.id)))
        pid = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == HOME))
        expected = await broadcast_recipients(session, pid, {"kind": "all", "posyandu_ids": [mawar]}, DEFAULT_NOW.date())
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "broadcast.queued"))).one()
    assert sent.headers["Location"] == f"/pengumuman/{broadcast.id}"
    assert sorted(r.identity_id for r in rows) == sorted(e[0] for e in expected) and len(rows) == 2
    assert all(r.state == "pending" and r.body["text"] == "Pengumuman Puskesmas Buleleng III:\n" + TEXT for r in rows)
    assert broadcast.author_id is not None and audit.detail["via"] == "web" and audit.detail["recipients"] == 2

    # one message arrived and was read (WhatsApp), one still waits
    async with demo_db.write() as session:
        await session.execute(update(Outbox).where(Outbox.id == rows[0].id).values(state="sent", channel="whatsapp", delivery="read"))
    shown = await client.get(f"/pengumuman/{broadcast.id}")
    html = await shown.text()
    assert shown.status == 200 and "WhatsApp" in html and "Batalkan 1 pesan yang menunggu" in html

    cancelled = await client.post(f"/pengumuman/{broadcast.id}/batal", data={"csrf": csrf}, allow_redirects=False)
    assert cancelled.status == 303
    async with demo_db.read() as session:
        states = dict((await session.execute(select(Outbox.id, Outbox.state).where(Outbox.broadcast_id == broadcast.id))).all())
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "broadcast.cancelled"))).one()
        assert (await session.get(Broadcast, broadcast.id)).state == "cancelled"
    assert states == {rows[0].id: "sent", rows[1].id: "cancelled"}
    assert audit.detail["rows"] == 1 and audit.target_id == broadcast.id
    html = await (await client.get(f"/pengumuman/{broadcast.id}")).text()
    assert "Dibatalkan" in html and "pesan yang menunggu" not in html


async def test_progress_counts_per_channel_from_the_outbox_rows(client, engine, demo_db):
    from web.broadcasts import progress

    await _families(demo_db)
    csrf = await _signed_in(client, engine, demo_db)
    await client.post("/pengumuman/kirim", data={"csrf": csrf, "audience": "all", "text": TEXT})
    async with demo_db.write() as session:
        broadcast = (await session.scalars(select(Broadcast))).one()
        ids = list(await session.scalars(select(Outbox.id).where(Outbox.broadcast_id == broadcast.id).order_by(Outbox.id)))
        assert len(ids) == 3  # the three families of Buleleng III, not Pringsewu's
        await session.execute(update(Outbox).where(Outbox.id == ids[0]).values(state="sent", channel="whatsapp", delivery="delivered"))
        await session.execute(update(Outbox).where(Outbox.id == ids[1]).values(state="failed", channel="whatsapp"))
        await session.execute(update(Outbox).where(Outbox.id == ids[2]).values(state="sent", channel="telegram"))
    async with demo_db.read() as session:
        found = await progress(session, broadcast.puskesmas_id, broadcast.id)
    assert found.counts["whatsapp"] == {"queued": 0, "sent": 0, "delivered": 1, "read": 0, "failed": 1, "cancelled": 0}
    assert found.counts["telegram"]["sent"] == 1 and found.waiting == 0
    html = await (await client.get(f"/pengumuman/{broadcast.id}")).text()
    assert "Telegram" in html and "pesan yang menunggu" not in html


async def test_the_toddler_audience_counts_only_families_with_a_small_child(client, engine, demo_db):
    await _families(demo_db)
    csrf = await _signed_in(client, engine, demo_db)
    html = await (await client.post("/pengumuman/pratinjau", data={"csrf": csrf, "audience": "toddler", "text": TEXT})).text()
    assert "Akan dikirim ke 2 penerima." in html  # Mawar 1 and Melati have a baby; Mawar 2 only a grandmother


async def test_another_puskesmass_announcement_and_posyandu_are_refused(client, engine, demo_db):
    await _families(demo_db)
    csrf = await _signed_in(client, engine, demo_db)
    async with demo_db.write() as session:
        other = await session.scalar(select(Puskesmas.id).where(Puskesmas.code != HOME))
        theirs = Broadcast(puskesmas_id=other, author_id=None, audience={"kind": "all", "posyandu_ids": []},
                           text="Rahasia Pringsewu", state="queued", created_at=DEFAULT_NOW)
        session.add(theirs)
        await session.flush()
        fam = await session.scalar(select(Identity.id).where(Identity.address == "fam-other"))
        session.add(Outbox(key=f"broadcast:{theirs.id}:{fam}", identity_id=fam, channel="local", address="fam-other",
                           kind="broadcast", body={"text": "x", "lang": "id"}, timezone="Asia/Jakarta", state="pending",
                           not_before=DEFAULT_NOW, expires_at=DEFAULT_NOW, attempts=0, broadcast_id=theirs.id, created_at=DEFAULT_NOW))
    shown = await client.get(f"/pengumuman/{theirs.id}")
    assert shown.status == 404 and "Rahasia" not in await shown.text()
    assert (await client.post(f"/pengumuman/{theirs.id}/batal", data={"csrf": csrf})).status == 404
    assert (await client.get("/pengumuman/abc")).status == 404
    anggrek = await _place(demo_db, "Posyandu Anggrek")
    refused = await client.post("/pengumuman/kirim", data={"csrf": csrf, "audience": "all", "posyandu": str(anggrek), "text": TEXT})
    assert refused.status == 400 and "Pilih posyandu dari daftar." in await refused.text()
    async with demo_db.read() as session:
        assert await session.scalar(select(Outbox.state).where(Outbox.broadcast_id == theirs.id)) == "pending"
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 1


async def test_every_form_needs_the_sessions_token(client, engine, demo_db):
    await _families(demo_db)
    csrf = await _signed_in(client, engine, demo_db)
    form = {"audience": "all", "text": TEXT}
    for path in ("/pengumuman/pratinjau", "/pengumuman/ubah", "/pengumuman/kirim"):
        assert (await client.post(path, data=form)).status == 403
        assert (await client.post(path, data={**form, "csrf": "wrong"})).status == 403
    await client.post("/pengumuman/kirim", data={**form, "csrf": csrf})
    async with demo_db.read() as session:
        broadcast = (await session.scalars(select(Broadcast))).one()
    assert (await client.post(f"/pengumuman/{broadcast.id}/batal", data={})).status == 403
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Outbox).where(Outbox.state == "cancelled")) == 0


async def test_bad_input_is_answered_on_the_form(client, engine, demo_db):
    csrf = await _signed_in(client, engine, demo_db)
    short = await client.post("/pengumuman/pratinjau", data={"csrf": csrf, "audience": "all", "text": "hi"})
    assert short.status == 400 and "Pengumuman terlalu pendek." in await short.text()
    long = await client.post("/pengumuman/pratinjau", data={"csrf": csrf, "audience": "all", "text": "x" * 1001})
    assert long.status == 400 and "Pengumuman terlalu panjang (1001 huruf, paling banyak 1000)." in await long.text()
    odd = await client.post("/pengumuman/pratinjau", data={"csrf": csrf, "audience": "everyone", "text": TEXT})
    assert odd.status == 400 and "Pilih penerima dari daftar." in await odd.text()
    back = await client.post("/pengumuman/ubah", data={"csrf": csrf, "audience": "elderly", "text": TEXT})
    html = await back.text()
    assert back.status == 200 and TEXT in html and 'value="elderly" checked' in html


def tiny_png() -> bytes:
    """A real 1x1 PNG (a browser draws it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x0b\x5c\xad")) + chunk(b"IEND", b""))


def _with_photo(csrf: str | None, name: str, data: bytes, **fields) -> FormData:
    """The compose form as a browser posts it (multipart, the CSRF field first) with a photo."""
    form = FormData()
    for key, value in [*([("csrf", csrf)] if csrf is not None else []), *fields.items()]:
        form.add_field(key, value)
    form.add_field("foto", data, filename=name, content_type="application/octet-stream")
    return form


async def test_an_announcement_with_a_photo_queues_its_reference_for_every_channel(client, engine, demo_db):
    await _families(demo_db)
    csrf = await _signed_in(client, engine, demo_db)
    html = await (await client.get("/pengumuman")).text()
    assert 'enctype="multipart/form-data"' in html and 'name="foto"' in html
    preview = await client.post("/pengumuman/pratinjau", data=_with_photo(csrf, "poster.jpg", JPEG, audience="all", text=TEXT))
    html = await preview.text()
    async with demo_db.read() as session:
        photo = (await session.scalars(select(BroadcastPhoto))).one()
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0
    assert preview.status == 200 and photo.mime == "image/jpeg" and photo.data == JPEG
    assert f'<img src="/pengumuman/foto/{photo.id}"' in html and f'name="photo" value="{photo.id}"' in html
    shown = await client.get(f"/pengumuman/foto/{photo.id}")
    assert shown.status == 200 and shown.content_type == "image/jpeg" and await shown.read() == JPEG

    back = await client.post("/pengumuman/ubah", data={"csrf": csrf, "audience": "all", "text": TEXT, "photo": str(photo.id)})
    assert f'<img src="/pengumuman/foto/{photo.id}"' in await back.text()  # Ubah keeps the photo
    sent = await client.post("/pengumuman/kirim", data={"csrf": csrf, "audience": "all", "text": TEXT, "photo": str(photo.id)},
                             allow_redirects=False)
    assert sent.status == 303
    async with demo_db.read() as session:
        bodies = list(await session.scalars(select(Outbox.body).where(Outbox.kind == "broadcast")))
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "broadcast.queued"))).one()
    assert len(bodies) == 3 and all(b["photo"] == str(photo.id) and b["photo_channel"] == "web" for b in bodies)
    assert audit.detail["photo"] == photo.id


async def test_a_png_is_taken_and_tanpa_foto_drops_a_carried_photo(client, engine, demo_db):
    await _families(demo_db)
    csrf = await _signed_in(client, engine, demo_db)
    await client.post("/pengumuman/pratinjau", data=_with_photo(csrf, "poster.png", PNG, audience="all", text=TEXT))
    async with demo_db.read() as session:
        photo = (await session.scalars(select(BroadcastPhoto))).one()
    assert photo.mime == "image/png"
    await client.post("/pengumuman/kirim", data={"csrf": csrf, "audience": "all", "text": TEXT, "photo": str(photo.id),
                                                 "no_photo": "1"})
    async with demo_db.read() as session:
        bodies = list(await session.scalars(select(Outbox.body)))
    assert bodies and all("photo" not in b for b in bodies)


async def test_a_bad_photo_is_refused_in_one_sentence(client, engine, demo_db):
    csrf = await _signed_in(client, engine, demo_db)
    pdf = await client.post("/pengumuman/pratinjau", data=_with_photo(csrf, "poster.jpg", b"%PDF-1.4", audience="all", text=TEXT))
    assert pdf.status == 400 and "Foto harus berupa file JPEG atau PNG." in await pdf.text()
    big = await client.post("/pengumuman/pratinjau",
                            data=_with_photo(csrf, "besar.jpg", JPEG + b"\x00" * PHOTO_MAX_BYTES, audience="all", text=TEXT))
    assert big.status == 400 and "Foto terlalu besar (paling besar 5 MB)." in await big.text()
    refused = await client.post("/pengumuman/pratinjau", data=_with_photo(None, "poster.jpg", JPEG, audience="all", text=TEXT))
    assert refused.status == 403
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(BroadcastPhoto)) == 0


async def test_another_puskesmass_photo_is_neither_shown_nor_sent(client, engine, demo_db):
    await _families(demo_db)
    csrf = await _signed_in(client, engine, demo_db)
    async with demo_db.write() as session:
        other = await session.scalar(select(Puskesmas.id).where(Puskesmas.code != HOME))
        theirs = await store_photo(session, puskesmas_id=other, data=JPEG, mime="image/jpeg", now=DEFAULT_NOW)
    assert (await client.get(f"/pengumuman/foto/{theirs}")).status == 404
    refused = await client.post("/pengumuman/kirim", data={"csrf": csrf, "audience": "all", "text": TEXT, "photo": str(theirs)})
    assert refused.status == 400 and "Foto itu sudah tidak tersimpan. Pilih fotonya lagi." in await refused.text()
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 0


@needs_browser
async def test_in_a_browser_start_and_cancel_an_announcement(signed_in, live_web, request):
    page = signed_in
    await _families(live_web.db)
    await page.get_by_role("link", name="Pengumuman").first.click()
    await page.get_by_role("heading", level=1, name="Pengumuman").wait_for()
    await page.get_by_label("Keluarga dengan balita").check()
    await page.get_by_label("Posyandu Mawar").check()
    await page.get_by_label("Isi pengumuman").fill(TEXT)
    await page.get_by_label("Foto (boleh kosong").set_input_files(
        files=[{"name": "poster.png", "mimeType": "image/png", "buffer": tiny_png()}])
    await shot(page, request, "compose")
    await page.get_by_role("button", name="Pratinjau").click()
    await page.get_by_text("Akan dikirim ke 1 penerima.").wait_for()
    photo = page.get_by_role("img", name="Foto pengumuman")
    await photo.wait_for()
    assert await photo.evaluate("img => img.complete && img.naturalWidth") == 1  # served and drawn
    assert await page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    await shot(page, request, "preview")
    await page.get_by_role("button", name="Kirim").click()
    await page.get_by_role("heading", level=1, name="Pengumuman #").wait_for()
    cancel = page.get_by_role("button", name="Batalkan 1 pesan yang menunggu")
    await cancel.wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    await shot(page, request, "progress")
    await cancel.click()
    await page.get_by_text("Dibatalkan").first.wait_for()
    assert await cancel.count() == 0
    await shot(page, request, "cancelled")
    async with live_web.db.read() as session:
        assert (await session.scalars(select(Outbox.state))).all() == ["cancelled"]
        assert (await session.scalars(select(Outbox.body))).one()["photo_channel"] == "web"
