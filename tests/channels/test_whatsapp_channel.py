"""The WhatsApp translation layer: Meta's payloads -> Incoming/Status, Reply -> Graph bodies, errors."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from channels.errors import PermanentFailure, RateLimited, TemporaryFailure, Unreachable
from channels.messages import Choice, Reply
from channels.whatsapp import (
    WINDOW_MARGIN, WhatsAppChannel, WindowClosed, choice_payload, graph_error, one_line, parse_webhook,
    split_text, text_payloads, verify_signature,
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


def test_long_labels_are_cut_to_the_limits_and_clashing_titles_fall_back_to_a_list():
    reply = Reply("Pilih:", (Choice("Ni Luh Putu Sari Dewi Anggraeni (Perempuan)", "1.a"), Choice("Ni Luh Putu Sari Dewi Anggraeni (Laki)", "1.b")))
    payloads, form = choice_payload("628123", reply.text, reply)
    assert form == "list"  # two buttons would both read "Ni Luh Putu Sari De…"
    rows = payloads[-1]["interactive"]["action"]["sections"][0]["rows"]
    assert all(len(r["title"]) <= 24 and len(r["description"]) <= 72 for r in rows)


def test_text_too_long_for_a_button_body_goes_first_as_text():
    long = "\n".join(f"Baris {i} " + "x" * 60 for i in range(40))
    payloads = text_payloads("628123", Reply(long, (Choice("Ya", "1.y"), Choice("Tidak", "1.n"))))
    assert [p["type"] for p in payloads][-1] == "interactive" and payloads[0]["type"] == "text"
    assert len(payloads[-1]["interactive"]["body"]["text"]) <= 1024
    assert all(len(p["text"]["body"]) <= 4096 for p in payloads if p["type"] == "text")


def test_split_and_one_line():
    assert split_text("a\nb", 4096) == ["a\nb"]
    pieces = split_text("x" * 5000)
    assert [len(p) for p in pieces] == [4096, 904]
    flat = one_line("Pengingat:\n\u2022 Putu Adi: imunisasi\n\n\tIbu:   ANC     K4")
    assert "\n" not in flat and "\t" not in flat and "     " not in flat
    assert flat == "Pengingat: \u00b7 Putu Adi: imunisasi \u00b7 Ibu: ANC K4"
    assert len(one_line("y" * 5000)) == 900


@pytest.mark.parametrize(
    ("code", "status", "cls", "retryable"),
    [
        (131047, 400, WindowClosed, False),
        (130429, 400, RateLimited, True),
        (131056, 400, RateLimited, True),
        (131026, 400, Unreachable, False),
        (131000, 500, TemporaryFailure, True),
        (190, 401, TemporaryFailure, True),
        (100, 400, PermanentFailure, False),
        (132001, 404, PermanentFailure, False),
        (None, 502, TemporaryFailure, True),
    ],
)
def test_graph_errors_map_to_the_shared_classes(code, status, cls, retryable):
    body = {"error": {"code": code, "message": "x", "type": "OAuthException"}} if code else {}
    exc = graph_error(status, body)
    assert type(exc) is cls and exc.retryable is retryable
    if code == 131056:
        assert exc.per_chat and exc.retry_after > 0
    if code == 130429:
        assert not exc.per_chat


def test_error_fixtures_map_by_their_code():
    for name, cls in (("error_131047", WindowClosed), ("error_130429", RateLimited), ("error_131056", RateLimited),
                      ("error_131026", Unreachable), ("error_190", TemporaryFailure)):
        assert type(graph_error(400, load_fixture(name))) is cls, name


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
