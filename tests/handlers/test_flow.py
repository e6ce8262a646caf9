"""The building blocks of a conversation (handlers/flow.py): what a step queues in one turn, and the
values a step's answer returns."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from handlers.flow import END, Goto, Invalid, Question
from handlers.flow import Ctx as _Ctx

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _ctx() -> _Ctx:
    return _Ctx(session=None, identity=None, state=None, now=NOW, today=date(2026, 11, 23), settings=None, data={})


def test_notes_go_in_front_of_the_next_message():
    ctx = _ctx()
    ctx.note("Tersimpan.")
    ctx.note("Putu Ayu ditambahkan.")
    ctx.say("Tambah anggota lagi?", (("Ya", "yes"), ("Tidak", "no")))
    assert ctx.outgoing == [("Tersimpan.\n\nPutu Ayu ditambahkan.\n\nTambah anggota lagi?", (("Ya", "yes"), ("Tidak", "no")), None, (), None)]
    assert ctx.notes == []


def test_an_image_and_documents_travel_with_their_message():
    ctx = _ctx()
    ctx.say("Grafik", image=b"png")
    ctx.say("Laporan", files=[("laporan.csv", b"a,b\n")])
    assert ctx.outgoing == [("Grafik", (), b"png", (), None), ("Laporan", (), None, (("laporan.csv", b"a,b\n"),), None)]


def test_notes_left_at_the_end_become_a_message_of_their_own():
    ctx = _ctx()
    ctx.say("Pertama")
    ctx.note("Catatan")
    ctx.flush_notes()
    ctx.flush_notes()  # nothing more to send
    assert ctx.outgoing == [("Pertama", (), None, (), None), ("Catatan", (), None, (), None)]


def test_invalid_carries_its_hint_and_goto_fresh_data():
    with pytest.raises(Invalid) as refused:
        raise Invalid("Pilih Pagi atau Sore.")
    assert refused.value.hint == "Pilih Pagi atau Sore." == str(refused.value)
    assert Goto("family") == Goto("family", None, {}) and Goto("family").data == {}
    assert repr(END) == "END"
    assert Question("Siapa?").choices == ()
