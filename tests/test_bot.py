"""bot.py's wiring of register imports sent by chat: the runner fetches the file again through the channel's own
media download and sends the report through its one send path (Telegram against the fake Bot API, in process)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import bot
from channels.telegram import TelegramChannel
from config import TelegramConfig
from db.models import Identity, ImportJob, Puskesmas
from handlers.engine import Engine
from handlers.kader import ROLE_CONSENT_VERSIONS
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import DEFAULT_NOW, ImportWire

CHAT = 7720001
GOOD = b"nama;umur\nNi Luh Sari;31\nPutu Adi;1\nKomang;dua\n"


async def _staff_on_telegram(db) -> None:
    async with db.write() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
        session.add(Identity(channel="telegram", address=str(CHAT), language="id", role="staff", puskesmas_id=puskesmas_id,
                             consent="given", consent_version=ROLE_CONSENT_VERSIONS["staff"], consent_at=DEFAULT_NOW,
                             created_at=DEFAULT_NOW))


async def _state(db) -> str:
    async with db.read() as session:
        return (await session.scalars(select(ImportJob.state).order_by(ImportJob.id.desc()).limit(1))).one()


def _texts(fake: FakeTelegram) -> str:
    return "\n".join(text or "" for text in fake.texts_to(CHAT))


async def test_a_register_sent_on_telegram_is_fetched_checked_and_applied_through_the_channel(demo_db, settings, clock):
    await _staff_on_telegram(demo_db)
    wire = ImportWire()  # its check only: the file comes from the fake Bot API, the report goes back to it
    async with FakeTelegram() as fake:
        telegram = TelegramChannel(TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url),
                                   Engine(demo_db, settings, clock=clock).handle_durably)
        await telegram.initialize()
        runner = bot.start_imports(settings, demo_db, {"telegram": telegram.send_one}, {"telegram": telegram.fetch_media},
                                   check=wire.check)
        runner.idle_seconds = 0.05
        try:
            await telegram.process(fake.text_update(CHAT, "/impor"))
            assert "Di Telegram, bot hanya bisa mengunduh file sampai 20 MB" in _texts(fake)
            await telegram.process(fake.document_update(CHAT, "sasaran Mawar.csv", GOOD, mime_type="text/csv"))
            assert "File diterima, sedang diperiksa" in _texts(fake)
            await fake.wait_for(lambda: "2 baris bisa disimpan" in _texts(fake))
            assert wire.calls[0]["size"] == len(GOOD)  # the bytes came through getFile
            document = [c for c in fake.sent_to(CHAT) if c.method == "sendDocument"][-1]
            assert document.files["document"].filename == "masalah-sasaran_Mawar.xlsx"
            assert document.files["document"].data == b"Komang;dua;umur bukan angka"
            report = [c for c in fake.sent_to(CHAT) if c.method == "sendMessage"][-1]
            buttons = [b["callback_data"] for row in report.reply_markup["inline_keyboard"] for b in row]
            assert buttons == ["/terapkan 1", "/batalimpor 1"]
            await telegram.process(fake.callback_update(CHAT, "/terapkan 1"))
            assert "mulai disimpan" in _texts(fake)
            await fake.wait_for(lambda: "2 baris disimpan" in _texts(fake))
            assert await _state(demo_db) == "applied"

            # a document Telegram gives no size for, over the bot's 20 MB: getFile refuses it
            update = fake.document_update(CHAT, "besar.xlsx", b"\0" * (20 * 1024 * 1024 + 1))
            del update["message"]["document"]["file_size"]
            await telegram.process(update)
            await fake.wait_for(lambda: "tidak bisa diambil dari Telegram" in _texts(fake))
            assert await _state(demo_db) == "failed"
        finally:
            await runner.stopped(grace=1.0)
            await telegram.stop()
    assert runner.task.done() and not fake.unexpected


async def test_register_check_runs_the_real_reader_and_importer(demo_db):
    """The wiring of issue 17's reader and importer (merged from their own branches): a dry run of a small
    register of Nagasepaha, then its apply."""
    pytest.importorskip("registers.importer", reason="needs registers.importer (merged later)")
    pytest.importorskip("registers.read", reason="needs registers.read (merged later)")
    async with demo_db.read() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
    data = ("No KK;NIK;Nama;Tanggal Lahir;Jenis Kelamin;Kode Desa;Dusun;RT;RW\n"
            "5108060101000001;;Ni Luh Sari;02-04-1995;P;51.08.06.2014;Banjar Kaja;3;2\n"
            "5108060101000001;;Putu Adi;14-09-2025;L;51.08.06.2014;Banjar Kaja;3;2\n").encode()
    check = bot.register_check(demo_db)
    text, _errors, ok = await check(data, "anggota.csv", puskesmas_id=puskesmas_id, apply=False, actor="chat:1",
                                    actor_id=None, lang="id")
    assert ok and "2 baru" in text, text
    text, _errors, ok = await check(data, "anggota.csv", puskesmas_id=puskesmas_id, apply=True, actor="chat:1",
                                    actor_id=None, lang="id")
    assert ok, text
    text, _errors, ok = await check(data, "anggota.csv", puskesmas_id=puskesmas_id, apply=False, actor="chat:1",
                                    actor_id=None, lang="id")
    assert not ok and "Tidak ada yang berubah" in text, text  # the same file again: nothing to apply
    text, errors, ok = await check(b"%PDF-1.4 not a register", "surat.csv", puskesmas_id=puskesmas_id, apply=False,
                                   actor="chat:1", actor_id=None, lang="id")
    assert not ok and errors is None and text


def test_run_with_several_workers_refuses_a_port_in_use(monkeypatch, capsys):
    """``web.workers`` > 1: the workers would share a port with SO_REUSEPORT, so a bot already listening there
    is found first (exit 2, the key and the address named) and no worker starts."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        for name, value in {"ILPBOT_WEB_WORKERS": "2", "ILPBOT_WEB_PORT": str(port), "TELEGRAM_BOT_TOKEN": "1:a",
                            "ILPBOT_TELEGRAM_MODE": "webhook", "ILPBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret",
                            "ILPBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example/tg"}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(bot, "setup_logging", lambda: None)  # the test's logging stays as it is
        assert bot.main(["run"]) == 2
    assert f"web.port: 127.0.0.1:{port} is taken" in capsys.readouterr().err
