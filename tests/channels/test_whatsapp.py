"""The WhatsApp translation layer: Meta's payloads -> Incoming/Status, Reply -> Graph bodies, errors."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from channels.errors import ChannelDown, PermanentFailure, RateLimited, TemplateRejected, TemporaryFailure, Unreachable
from channels.messages import Choice, Reply
from channels.whatsapp import (
    WINDOW_MARGIN, WhatsAppChannel, WindowClosed, choice_payload, graph_error, one_line, parse_webhook, read_webhook,
    split_text, template_text, text_payloads, verify_signature,
)
from config import load_settings
from tests.fakes.whatsapp_api import PHONE_NUMBER_ID, load_fixture

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("webhook_text", {"text": True}),
        ("webhook_button_reply", {"choice": True}),
        ("webhook_list_reply", {"choice": True}),
        ("webhook_template_button", {"text": True}),
        ("webhook_location", {"location": True, "media": "location"}),
        ("webhook_image", {"media": "photo", "media_ref": True}),
        ("webhook_document", {"media": "document", "media_ref": "1317426589023457",
                              "media_name": "sasaran Nagasepaha 2026.xlsx", "text": "Data sasaran Nagasepaha"}),
        ("webhook_sticker", {"media": "sticker"}),
        ("webhook_unsupported", {"media": "other"}),
    ],
)
def test_every_inbound_fixture_becomes_one_incoming_with_the_senders_number(fixture, expected):
    payload = load_fixture(fixture)
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    (incoming,), statuses = parse_webhook(payload, PHONE_NUMBER_ID)
    assert statuses == []
    assert incoming.channel == "whatsapp" and incoming.address == message["from"] == incoming.phone
    assert incoming.message_id == message["id"]
    assert incoming.at == datetime.fromtimestamp(int(message["timestamp"]), UTC)
    for key, value in expected.items():
        got = getattr(incoming, key)
        assert (got is not None and got != "") if value is True else got == value, key
    if fixture == "webhook_button_reply":
        assert incoming.choice == message["interactive"]["button_reply"]["id"]
    if fixture == "webhook_template_button":
        assert incoming.text == message["button"]["payload"]


@pytest.mark.parametrize("fixture", ["webhook_status_sent", "webhook_status_delivered", "webhook_status_read", "webhook_status_failed_131047"])
def test_status_fixtures_become_statuses(fixture):
    payload = load_fixture(fixture)
    raw = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    messages, (status,) = parse_webhook(payload, PHONE_NUMBER_ID)
    assert messages == [] and status.message_id == raw["id"] and status.status == raw["status"]
    assert status.error_code == (131047 if raw["status"] == "failed" else None)


def test_changes_for_another_number_or_object_are_ignored():
    payload = load_fixture("webhook_text")
    assert parse_webhook(payload, "999")[0] == []
    assert parse_webhook({**payload, "object": "page"}, PHONE_NUMBER_ID) == ([], [])
    assert parse_webhook({"entry": "nonsense"}, PHONE_NUMBER_ID) == ([], [])


def test_the_signature_is_hmac_sha256_of_the_raw_body():
    raw = b'{"object":"whatsapp_business_account"}'
    good = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert verify_signature("s3cret", raw, good)
    assert not verify_signature("s3cret", raw + b" ", good)
    assert not verify_signature("other", raw, good)
    assert not verify_signature("", raw, good)
    assert not verify_signature("s3cret", raw, None)
    assert not verify_signature("s3cret", raw, good.replace("sha256=", "sha1="))


def _choices(n: int, label: str = "Pilihan") -> Reply:
    return Reply("Pilih satu:", tuple(Choice(f"{label} {i}", f"7.v{i}") for i in range(1, n + 1)), language="id")


@pytest.mark.parametrize(("count", "form"), [(1, "buttons"), (3, "buttons"), (4, "list"), (10, "list"), (11, "numbered"), (25, "numbered")])
def test_choices_become_buttons_then_a_list_then_numbers(count, form):
    payloads, got = choice_payload("628123", "Pilih satu:", _choices(count))
    assert got == form
    last = payloads[-1]
    if form == "buttons":
        assert [b["reply"]["id"] for b in last["interactive"]["action"]["buttons"]] == [f"7.v{i}" for i in range(1, count + 1)]
    elif form == "list":
        assert len(last["interactive"]["action"]["sections"][0]["rows"]) == count
    else:
        assert last["type"] == "text" and f"{count}. Pilihan {count}" in last["text"]["body"]


@pytest.mark.parametrize(
    ("labels", "titles"),
    [
        (("Hari pertama haid terakhir (HPHT)", "Perkiraan tanggal lahir (HPL)", "Usia kehamilan"), ("HPHT", "HPL", "Usia kehamilan")),
        (("Ni Luh Putu Sari Dewi Anggraeni (Perempuan)", "Ni Luh Putu Sari Dewi Anggraeni (Laki)"), ("Ni Luh Putu Sari 1", "Ni Luh Putu Sari 2")),
        (("Ya, saya setuju", "Tidak", "English"), ("Ya, saya setuju", "Tidak", "English")),
    ],
)
def test_long_button_labels_get_short_distinct_titles_and_the_full_labels_go_in_the_text(labels, titles):
    reply = Reply("Pilih:", tuple(Choice(label, f"1.{i}") for i, label in enumerate(labels)))
    payloads, form = choice_payload("628123", reply.text, reply)
    assert form == "buttons"
    message = payloads[-1]["interactive"]
    assert tuple(b["reply"]["title"] for b in message["action"]["buttons"]) == titles
    body = message["body"]["text"]
    for label, title in zip(labels, titles):
        if title != label:  # what was shortened is written out under the question
            assert f"{title}: " in body and label.split(" (")[0] in body
    if titles == labels:
        assert body == "Pilih:"


def test_long_row_titles_keep_their_full_label_as_the_description():
    labels = [f"Posyandu Mawar Sari Kelurahan Nomor {i} (Nagasepaha)" for i in range(1, 6)]
    reply = Reply("Posyandu mana?", tuple(Choice(label, str(i)) for i, label in enumerate(labels)))
    payloads, form = choice_payload("628123", reply.text, reply)
    assert form == "list"
    rows = payloads[-1]["interactive"]["action"]["sections"][0]["rows"]
    assert all(len(r["title"]) <= 24 for r in rows) and len({r["title"] for r in rows}) == len(rows)
    assert [r["description"] for r in rows] == labels


def test_text_too_long_for_a_button_body_goes_first_as_text():
    long = "\n".join(f"Baris {i} " + "x" * 60 for i in range(40))
    payloads = text_payloads("628123", Reply(long, (Choice("Ya", "1.y"), Choice("Tidak", "1.n"))))
    assert [p["type"] for p in payloads][-1] == "interactive" and payloads[0]["type"] == "text"
    assert len(payloads[-1]["interactive"]["body"]["text"]) <= 1024
    assert all(len(p["text"]["body"]) <= 4096 for p in payloads if p["type"] == "text")


def test_split_and_template_text():
    assert split_text("a\nb", 4096) == ["a\nb"]
    pieces = split_text("x" * 5000)
    assert [len(p) for p in pieces] == [4096, 904]
    words = split_text(" ".join(["kata"] * 2000))  # one long line: cut between words, never inside one
    assert all(len(p) <= 4096 for p in words) and all(w == "kata" for p in words for w in p.split(" "))
    flat = one_line("Pengingat:\n\u2022 Putu Adi: imunisasi\n\n\tIbu:   ANC     K4")
    assert "\n" not in flat and "\t" not in flat and "     " not in flat
    assert flat == "Pengingat: \u00b7 Putu Adi: imunisasi \u00b7 Ibu: ANC K4"
    assert len(one_line("y" * 5000)) == 900


def test_a_long_template_parameter_keeps_its_first_and_last_lines():
    lines = ["Pengingat untuk keluarga Komang Ariawan:"] + [f"\u2022 Anak ke-{i}: imunisasi DPT-HB-Hib 3, Polio 4, PCV 3 (sampai 5 Jan)" for i in range(1, 30)]
    lines.append("Detail: /jadwal. Berhenti menerima pengingat: /berhenti.")
    text = template_text("\n".join(lines), 900, "\u2026 (selengkapnya: /jadwal)")
    assert len(text) <= 900 and "\n" not in text
    assert text.startswith("Pengingat untuk keluarga Komang Ariawan:")
    assert text.endswith("\u2026 (selengkapnya: /jadwal) \u00b7 Detail: /jadwal. Berhenti menerima pengingat: /berhenti.")
    assert "Anak ke-1:" in text and "Anak ke-29:" not in text  # the middle is shortened from its end


@pytest.mark.parametrize(
    ("code", "status", "cls", "retryable"),
    [
        (131047, 400, WindowClosed, False),
        (130429, 400, RateLimited, True),
        (131056, 400, RateLimited, True),
        (80007, 400, RateLimited, True),
        (131048, 400, RateLimited, True),
        (131026, 400, Unreachable, False),
        (131000, 500, TemporaryFailure, True),
        (2, 503, TemporaryFailure, True),
        # the configuration or the account: the channel stops, nobody is marked unreachable
        (0, 401, ChannelDown, True),
        (3, 500, ChannelDown, True),
        (10, 403, ChannelDown, True),
        (190, 401, ChannelDown, True),
        (200, 403, ChannelDown, True),
        (299, 403, ChannelDown, True),
        (368, 403, ChannelDown, True),
        (131031, 403, ChannelDown, True),
        (133010, 400, ChannelDown, True),
        # templates: the message fails with the reason kept for /status
        (132000, 400, TemplateRejected, False),
        (132001, 404, TemplateRejected, False),
        (132005, 400, TemplateRejected, False),
        (132007, 400, TemplateRejected, False),
        (132012, 400, TemplateRejected, False),
        (132015, 400, TemplateRejected, False),
        (132016, 400, TemplateRejected, False),
        (100, 400, PermanentFailure, False),
        (None, 502, TemporaryFailure, True),
        (None, 429, RateLimited, True),
        (None, 401, ChannelDown, True),
    ],
)
def test_graph_errors_map_to_the_shared_classes(code, status, cls, retryable):
    body = {"error": {"code": code, "message": "x", "type": "OAuthException"}} if code is not None else {}
    exc = graph_error(status, body)
    assert type(exc) is cls and exc.retryable is retryable and exc.code == code
    if code == 131056:
        assert exc.per_chat and exc.retry_after > 0
    if code == 130429:
        assert not exc.per_chat
    if cls is ChannelDown:
        assert exc.retry_after > 0 and (str(code) in exc.problem or str(status) in exc.problem)
    if cls is TemplateRejected:
        assert exc.reason == f"template ? rejected ({code})"


def test_an_unknown_phone_number_id_stops_the_channel_but_an_unknown_media_does_not():
    body = {"error": {"code": 100, "error_subcode": 33, "type": "GraphMethodException", "message": "Unsupported post request."}}
    assert type(graph_error(400, body)) is ChannelDown
    assert type(graph_error(400, body, sending=False)) is PermanentFailure


def test_error_fixtures_map_by_their_code():
    for name, cls in (("error_131047", WindowClosed), ("error_130429", RateLimited), ("error_131056", RateLimited),
                      ("error_131026", Unreachable), ("error_190", ChannelDown)):
        assert type(graph_error(400, load_fixture(name))) is cls, name


def test_webhook_errors_are_read_from_every_place_meta_puts_them():
    from tests.fakes import whatsapp_api as meta

    payload = meta.batch(meta.webhook_errors(131031), meta.status("wamid.X", "failed", "6281234500001", errors=[132015]),
                         meta.unsupported("6281234500001"))
    messages, statuses, errors = read_webhook(payload, PHONE_NUMBER_ID)
    assert [(e.code, e.where) for e in errors] == [(131031, "value"), (131051, "message"), (132015, "status")]
    assert statuses[0].error_code == 132015 and statuses[0].error_title == "Template is Paused"
    assert all("6281234500001" not in e.title for e in errors) and len(messages) == 1


@pytest.mark.parametrize(
    ("wrote", "template_only", "open_"),
    [
        (NOW - timedelta(hours=1), False, True),
        (NOW - timedelta(hours=23, minutes=49), False, True),
        (NOW - timedelta(hours=24) + WINDOW_MARGIN, False, False),  # too close to the end: a template
        (NOW - timedelta(hours=30), False, False),
        (None, False, False),
        (NOW - timedelta(hours=1), True, False),
    ],
)
def test_the_window_is_24_hours_from_the_last_message(wrote, template_only, open_):
    config = replace(load_settings(env={}).whatsapp, phone_number_id="1", access_token="t", app_secret="s")
    channel = WhatsAppChannel(config, handle=None, clock=lambda: NOW)
    assert channel.window_open(Reply("x", kind="daily", last_inbound_at=wrote, template_only=template_only)) is open_
