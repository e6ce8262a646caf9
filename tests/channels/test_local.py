"""The local chat (channels/local.py): typed lines in, replies printed with numbered choices, images
and documents saved where the person can open them; /keluar ends it."""
from __future__ import annotations

import io

import pytest

from channels import local
from channels.local import LocalChat, render
from channels.messages import Choice, Incoming, Reply


@pytest.fixture(autouse=True)
def _var(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "IMAGE_DIR", tmp_path / "images")
    return tmp_path


def test_choices_are_numbered_with_their_full_labels():
    reply = Reply("Jenis kelamin?", (Choice("Laki-laki", "sex.m"), Choice("Perempuan", "sex.f")))
    assert render([reply, Reply("Selesai.")]) == "Jenis kelamin?\n  1) Laki-laki\n  2) Perempuan\n\nSelesai."


def test_an_image_and_a_document_are_saved_and_their_paths_shown(_var):
    text = render([Reply("Grafik", image=b"\x89PNG fake", files=(("laporan.csv", b"a,b\n"),))])
    image = next((_var / "images").iterdir())
    assert image.read_bytes() == b"\x89PNG fake" and f"[gambar / image: {image}]" in text
    assert (_var / "exports" / "laporan.csv").read_bytes() == b"a,b\n"
    assert f"[berkas / file: {_var / 'exports' / 'laporan.csv'}]" in text


async def test_a_session_starts_with_start_skips_empty_lines_and_ends_at_keluar():
    seen: list[Incoming] = []

    async def handle(incoming: Incoming) -> list[Reply]:
        seen.append(incoming)
        return [Reply(f"jawab: {incoming.text}")]

    out = io.StringIO()
    await LocalChat(handle, address="kader-1").run(io.StringIO("halo\n\n/keluar\nnever\n"), out)
    assert [m.text for m in seen] == ["/start", "halo"]
    assert all(m.channel == "local" and m.address == "kader-1" for m in seen)
    assert "jawab: /start" in out.getvalue() and "jawab: halo" in out.getvalue()


async def test_outbox_messages_are_printed_with_their_own_ids(capsys):
    chat = LocalChat(None)
    assert [await chat.deliver("terminal", Reply("Pengingat")), await chat.deliver("terminal", Reply("Lagi"))] == ["local-1", "local-2"]
    assert "Pengingat" in capsys.readouterr().out
