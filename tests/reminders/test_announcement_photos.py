"""Photos of announcements composed on the web (reminders.announcements): JPEG or PNG by their first bytes;
held photos pruned after PHOTO_DAYS; an announcement takes only its puskesmas's photo, young enough to outlive
every message of it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db.models import BroadcastPhoto, Puskesmas
from reminders.announcements import BROADCAST_DAYS, PHOTO_DAYS, photo_mime, photo_of, store_photo, usable_photo
from tests.helpers import DEFAULT_NOW

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00"


@pytest.mark.parametrize(("data", "mime"), [
    (JPEG, "image/jpeg"),
    (PNG, "image/png"),
    (b"GIF89a", None),
    (b"%PDF-1.4", None),
    (b"\x89PNG", None),  # cut short
    (b"", None),
])
def test_a_photo_is_known_by_its_first_bytes(data, mime):
    assert photo_mime(data) == mime


async def test_held_photos_are_scoped_pruned_and_taken_only_while_they_outlive_the_messages(demo_db):
    async with demo_db.write() as session:
        home, other = (await session.scalars(select(Puskesmas.id).order_by(Puskesmas.id).limit(2))).all()
        old = await store_photo(session, puskesmas_id=home, data=JPEG, mime="image/jpeg", now=DEFAULT_NOW)
    later = DEFAULT_NOW + timedelta(days=PHOTO_DAYS - BROADCAST_DAYS)
    async with demo_db.write() as session:
        assert await usable_photo(session, old, home, DEFAULT_NOW + timedelta(days=1))
        assert not await usable_photo(session, old, other, DEFAULT_NOW)
        assert not await usable_photo(session, old, home, later)  # it would be pruned before its messages expired
        assert await photo_of(session, old, other) is None and await photo_of(session, old) == (JPEG, "image/jpeg")
        new = await store_photo(session, puskesmas_id=home, data=PNG, mime="image/png",
                                now=DEFAULT_NOW + timedelta(days=PHOTO_DAYS, seconds=1))
        assert await session.scalar(select(func.count()).select_from(BroadcastPhoto)) == 1  # the old one pruned
        assert await photo_of(session, new, home) == (PNG, "image/png")
