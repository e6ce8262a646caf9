"""Tests of the fake WhatsApp Cloud API (Graph API) server, over plain aiohttp HTTP calls."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientSession, FormData, web

from config import GRAPH_VERSION

from . import whatsapp_api as wa
from .whatsapp_api import FakeGraph, WaitTimeout, load_fixture

WA = "6281234567890"
OTHER = "6285712345678"
NOW = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
TEMPLATES = {("pengingat_imunisasi", "id"): 2, ("jadwal_posyandu", "id"): 0}
JSON = dict[str, Any]


def key_paths(obj: Any, prefix: str = "") -> set[str]:
    """All key paths of a JSON object (list items share the path of their list)."""
    if isinstance(obj, dict):
        paths = set()
        for key, value in obj.items():
            paths.add(prefix + key)
            paths |= key_paths(value, f"{prefix}{key}.")
        return paths
    if isinstance(obj, list):
        return set().union(*(key_paths(item, prefix) for item in obj)) if obj else set()
    return set()


@dataclass
class Receiver:
    """A stand-in for the bot's webhook endpoint on 127.0.0.1."""

    url: str = ""
    verify_token: str = "posyandu-verify"
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answer: int = 200

    def payloads(self) -> list[JSON]:
        """Decoded bodies of every POST received."""
        return [json.loads(raw) for _, raw in self.posts]

    def statuses(self) -> list[JSON]:
        """Every status item received, in order."""
        return [s for p in self.payloads() for e in p["entry"] for c in e["changes"]
                for s in c["value"].get("statuses", [])]


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    """A running fake at a fixed clock; teardown fails on unexpected or rejected requests."""
    async with FakeGraph(templates=TEMPLATES, clock=lambda: NOW) as server:
        server.set_last_inbound(WA, NOW - timedelta(minutes=5))
        yield server


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    """A plain aiohttp client."""
    async with ClientSession() as session:
        yield session


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook endpoint that records raw bodies and headers and answers the hub challenge."""
    state = Receiver()

    async def post(request: web.Request) -> web.Response:
        state.posts.append((dict(request.headers), await request.read()))
        return web.Response(status=state.answer, text="EVENT_RECEIVED")

    async def get(request: web.Request) -> web.Response:
        query = request.query
        if query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == \
                state.verify_token:
            return web.Response(text=query["hub.challenge"])
        return web.Response(status=403, text="Forbidden")

    app = web.Application()
    app.router.add_post("/webhook", post)
    app.router.add_get("/webhook", get)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
    yield state
    await runner.cleanup()


def auth(graph: FakeGraph) -> dict[str, str]:
    """The bearer header the bot sends."""
    return {"Authorization": f"Bearer {graph.token}"}


async def send(http: ClientSession, graph: FakeGraph, payload: JSON,
               headers: dict[str, str] | None = None) -> tuple[int, JSON]:
    """POST /{phone_number_id}/messages; return (status, decoded body)."""
    url = f"{graph.base_url}/{graph.phone_number_id}/messages"
    async with http.post(url, json=payload, headers=auth(graph) if headers is None else headers) \
            as response:
        return response.status, await response.json()


def text(to: str, body: str) -> JSON:
    """A text message payload."""
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "text", "text": {"preview_url": False, "body": body}}


def buttons(*titles: str, body: str = "Pilih layanan:") -> JSON:
    """A reply-button message payload."""
    return {"messaging_product": "whatsapp", "to": WA, "type": "interactive", "interactive": {
        "type": "button", "body": {"text": body}, "footer": {"text": "Posyandu Melati"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": f"b{i}", "title": t}}
                               for i, t in enumerate(titles)]}}}


def list_message(rows_per_section: list[int], *, body: str = "Pilih desa:") -> JSON:
    """A list message payload with titled sections."""
    sections = [{"title": f"Kecamatan {s}", "rows": [
        {"id": f"desa:{s}-{r}", "title": f"Desa {s}-{r}", "description": "Posyandu Melati"}
        for r in range(count)]} for s, count in enumerate(rows_per_section)]
    return {"messaging_product": "whatsapp", "to": WA, "type": "interactive", "interactive": {
        "type": "list", "header": {"type": "text", "text": "Posyandu"}, "body": {"text": body},
        "action": {"button": "Lihat desa", "sections": sections}}}


def template(name: str, *params: str, code: str = "id", to: str = WA) -> JSON:
    """A template message payload with body parameters."""
    components = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
    return {"messaging_product": "whatsapp", "to": to, "type": "template", "template": {
        "name": name, "language": {"code": code}, "components": components}}


# ---------------------------------------------------------------------- accepted sends


async def test_text_is_accepted_with_meta_send_response(graph: FakeGraph, http: ClientSession):
    """A valid text gets Meta's send response; the fake records it with its wamid."""
    status, body = await send(http, graph, text(WA, "Halo Ibu Made"))
    assert status == 200
    assert key_paths(body) == key_paths(load_fixture("send_response"))
    assert body["contacts"] == [{"input": WA, "wa_id": WA}]
    assert body["messages"][0]["id"].startswith("wamid.")
    assert graph.sent[0]["_wamid"] == body["messages"][0]["id"]
    assert graph.texts_to(WA) == ["Halo Ibu Made"]
    status, body = await send(http, graph, text(f"+{WA}", "Dengan plus"))
    assert body["contacts"] == [{"input": f"+{WA}", "wa_id": WA}]
    assert len(graph.messages_to(WA)) == 2


async def test_buttons_list_template_image_and_location_are_accepted(
        graph: FakeGraph, http: ClientSession):
    """Each supported type at its documented limits is accepted and rendered by texts_to."""
    media_id = "1226485329139712"
    graph.add_inbound_media(media_id, b"\xff\xd8jpeg", "image/jpeg")
    payloads = [
        buttons("Jadwal posyandu", "Imunisasi", "x" * 20, body="b" * 1024),
        list_message([4, 3, 3], body="l" * 4096),
        template("pengingat_imunisasi", "Budi", "Selasa 7 Januari"),
        template("jadwal_posyandu"),
        {"messaging_product": "whatsapp", "to": WA, "type": "image",
         "image": {"id": media_id, "caption": "Grafik berat badan"}},
        {"messaging_product": "whatsapp", "to": WA, "type": "document",
         "document": {"link": "https://example.org/kms.pdf", "filename": "kms.pdf"}},
        {"messaging_product": "whatsapp", "to": WA, "type": "location",
         "location": {"latitude": -8.6385, "longitude": 115.2068, "name": "Posyandu Melati"}},
    ]
    for payload in payloads:
        status, body = await send(http, graph, payload)
        assert status == 200, body
    single = list_message([1])
    del single["interactive"]["action"]["sections"][0]["title"]  # optional with one section
    assert (await send(http, graph, single))[0] == 200
    assert graph.texts_to(WA) == [
        "b" * 1024, "l" * 4096, "template:pengingat_imunisasi:Budi|Selasa 7 Januari",
        "template:jadwal_posyandu:", "Grafik berat badan", "<document>", "<location>",
        "Pilih desa:"]


async def test_template_send_response_has_message_status(graph: FakeGraph, http: ClientSession):
    """Template sends answer messages[].message_status "accepted", like Meta."""
    _, body = await send(http, graph, template("pengingat_imunisasi", "Budi", "Selasa"))
    assert body["messages"][0]["message_status"] == "accepted"


async def test_mark_as_read(graph: FakeGraph, http: ClientSession):
    """The read receipt call on /messages answers success and is not a sent message."""
    status, body = await send(http, graph, {"messaging_product": "whatsapp", "status": "read",
                                            "message_id": "wamid.ABC"})
    assert (status, body) == (200, {"success": True})
    assert graph.read_marks == ["wamid.ABC"] and graph.sent == []


# ---------------------------------------------------------------------- limits


def _mutate(base: JSON, change: Callable[[JSON], None]) -> JSON:
    payload = copy.deepcopy(base)
    change(payload)
    return payload


def _set(path: str, value: Any) -> Callable[[JSON], None]:
    def change(payload: JSON) -> None:
        *keys, last = path.split(".")
        target: Any = payload
        for key in keys:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
    return change


LIST = list_message([2, 2])
BUTTONS = buttons("Ya", "Tidak")
IMAGE = {"messaging_product": "whatsapp", "to": WA, "type": "image",
         "image": {"link": "https://example.org/kms.jpg"}}
ROW = "interactive.action.sections.0.rows.0"
INVALID = {
    "text too long": (text(WA, "x" * 4097), 100),
    "text empty": (text(WA, ""), 131008),
    "no messaging_product": (_mutate(text(WA, "a"), lambda p: p.pop("messaging_product")), 100),
    "to not digits": (text("0812-3456-7890", "a"), 100),
    "unknown type": (_mutate(text(WA, "a"), _set("type", "sticker")), 100),
    "unexpected key": (_mutate(text(WA, "a"), _set("text.bold", True)), 100),
    "four buttons": (buttons("a", "b", "c", "d"), 131009),
    "no buttons": (_mutate(BUTTONS, _set("interactive.action.buttons", [])), 131009),
    "button title 21": (buttons("x" * 21), 131009),
    "button title empty": (buttons(""), 131008),
    "button id 257": (_mutate(BUTTONS, _set("interactive.action.buttons.0.reply.id", "i" * 257)),
                      131009),
    "duplicate titles": (buttons("Ya", "Ya"), 131009),
    "button body 1025": (buttons("Ya", body="b" * 1025), 131009),
    "footer 61": (_mutate(BUTTONS, _set("interactive.footer.text", "f" * 61)), 131009),
    "button type": (_mutate(BUTTONS, _set("interactive.action.buttons.0.type", "url")), 131009),
    "list body 4097": (list_message([1], body="l" * 4097), 131009),
    "list button 21": (_mutate(LIST, _set("interactive.action.button", "x" * 21)), 131009),
    "eleven sections": (list_message([1] * 11), 131009),
    "eleven rows": (list_message([5, 6]), 131009),
    "row id 201": (_mutate(LIST, _set(f"{ROW}.id", "r" * 201)), 131009),
    "row title 25": (_mutate(LIST, _set(f"{ROW}.title", "t" * 25)), 131009),
    "row description 73": (_mutate(LIST, _set(f"{ROW}.description", "d" * 73)), 131009),
    "duplicate row ids": (_mutate(LIST, _set(f"{ROW}.id", "desa:0-1")), 131009),
    "section title missing": (_mutate(LIST, lambda p: p["interactive"]["action"]["sections"][1]
                                      .pop("title")), 100),
    "section title 25": (_mutate(LIST, _set("interactive.action.sections.0.title", "s" * 25)),
                         131009),
    "list header image": (_mutate(LIST, _set("interactive.header", {"type": "image"})), 131009),
    "image id and link": (_mutate(IMAGE, _set("image.id", "1226485329139712")), 100),
    "image unknown id": (_mutate(IMAGE, lambda p: p.__setitem__("image", {"id": "999999999"})),
                         131009),
    "caption 1025": (_mutate(IMAGE, _set("image.caption", "c" * 1025)), 100),
    "unknown template": (template("tidak_ada", "a"), 132001),
    "template wrong language": (template("pengingat_imunisasi", "a", "b", code="en"), 132001),
    "template param count": (template("pengingat_imunisasi", "Budi"), 132000),
    "template newline": (template("pengingat_imunisasi", "Budi", "Selasa\n7 Januari"), 132018),
    "template tab": (template("pengingat_imunisasi", "Budi", "Selasa\t7"), 132018),
    "template five spaces": (template("pengingat_imunisasi", "Budi", "Selasa     7"), 132018),
    "template empty param": (template("pengingat_imunisasi", "Budi", ""), 131008),
}


@pytest.mark.parametrize("case", list(INVALID))
async def test_documented_limits_are_refused_and_recorded(case: str, http: ClientSession):
    """Each payload Meta refuses gets a Graph error and lands in ``rejected``, not ``sent``."""
    payload, code = INVALID[case]
    async with FakeGraph(templates=TEMPLATES) as graph:
        graph.expect_problems = True
        graph.set_last_inbound(WA, datetime.now(UTC))
        status, body = await send(http, graph, payload)
        assert body["error"]["code"] == code, body
        assert status == (404 if code == 132001 else 400)
        assert key_paths(body) == key_paths(load_fixture("error_131047"))
        assert graph.sent == [] and graph.refused == []
        [record] = graph.rejected
        assert (record["code"], record["payload"]) == (code, payload) and record["reason"]


async def test_rejections_fail_the_context_exit(http: ClientSession):
    """A rejected request makes ``__aexit__`` raise, listing it."""
    with pytest.raises(AssertionError, match=rf"rejected POST /{GRAPH_VERSION}/\d+/messages -> 131008"):
        async with FakeGraph() as graph:
            graph.set_last_inbound(WA, datetime.now(UTC))
            await send(http, graph, text(WA, ""))


# ---------------------------------------------------------------------- window


async def test_window_sync_refuses_free_form_but_not_templates(http: ClientSession):
    """Outside 24 h a free-form send answers 131047; a template still goes out."""
    clock = [NOW]
    async with FakeGraph(templates=TEMPLATES, clock=lambda: clock[0]) as graph:
        status, body = await send(http, graph, text(OTHER, "Halo"))
        assert (status, body["error"]["code"]) == (400, 131047)
        assert key_paths(body) == key_paths(load_fixture("error_131047"))
        assert body["error"]["error_data"]["details"] == \
            load_fixture("error_131047")["error"]["error_data"]["details"]
        assert (await send(http, graph, template("jadwal_posyandu", to=OTHER)))[0] == 200
        graph.set_last_inbound(OTHER, NOW - timedelta(hours=23))
        assert (await send(http, graph, text(OTHER, "Dalam jendela")))[0] == 200
        clock[0] = NOW + timedelta(hours=1, seconds=1)
        assert (await send(http, graph, text(OTHER, "Terlambat")))[0] == 400
        assert graph.texts_to(OTHER) == ["template:jadwal_posyandu:", "Dalam jendela"]
        assert [r["code"] for r in graph.refused] == [131047, 131047]
        assert graph.rejected == []


async def test_inbound_webhook_opens_the_window(http: ClientSession, receiver: Receiver):
    """Posting a customer's message through the fake opens that customer's window."""
    async with FakeGraph(clock=lambda: NOW) as graph:
        assert not graph.in_window(OTHER)
        await graph.post_webhook(receiver.url, wa.text_message(OTHER, "Halo", timestamp=NOW))
        assert graph.in_window(OTHER)
        assert (await send(http, graph, text(OTHER, "Halo juga")))[0] == 200


async def test_window_async_accepts_then_posts_failed_status(http: ClientSession,
                                                             receiver: Receiver):
    """In async mode the send gets a wamid and the failure arrives as a signed status webhook."""
    async with FakeGraph(clock=lambda: NOW, window_mode="async") as graph:
        graph.webhook_url = receiver.url
        status, body = await send(http, graph, text(OTHER, "Halo"))
        assert status == 200
        wamid = body["messages"][0]["id"]
        await graph.drain()
        [failed] = receiver.statuses()
        assert (failed["id"], failed["status"], failed["recipient_id"]) == (wamid, "failed", OTHER)
        assert failed["errors"] == load_fixture(
            "webhook_status_failed_131047")["entry"][0]["changes"][0]["value"]["statuses"][0][
            "errors"]
        headers, raw = receiver.posts[0]
        assert headers["X-Hub-Signature-256"] == wa.sign(raw, graph.app_secret)
        assert graph.messages_to(OTHER) == []
        assert [m["_wamid"] for m in graph.messages_to(OTHER, include_failed=True)] == [wamid]
        assert graph.refused[0]["code"] == 131047


# ---------------------------------------------------------------------- faults and auth


async def test_fail_next_serves_graph_errors_in_order(graph: FakeGraph, http: ClientSession):
    """Injected errors use Meta's shapes and statuses, once each, optionally per recipient."""
    graph.set_last_inbound(OTHER, NOW)
    graph.fail_next(130429)
    graph.fail_next(131056, to=OTHER, times=2)
    status, body = await send(http, graph, text(OTHER, "1"))
    assert (status, body["error"]["code"]) == (400, 130429)
    assert key_paths(body) == key_paths(load_fixture("error_130429"))
    assert body["error"]["message"] == load_fixture("error_130429")["error"]["message"]
    assert (await send(http, graph, text(WA, "2")))[0] == 200
    for _ in range(2):
        status, body = await send(http, graph, text(OTHER, "3"))
        assert body["error"]["message"] == load_fixture("error_131056")["error"]["message"]
    assert (await send(http, graph, text(OTHER, "4")))[0] == 200
    graph.fail_next(190)
    status, body = await send(http, graph, text(WA, "5"))
    assert status == 401 and key_paths(body) == key_paths(load_fixture("error_190"))
    graph.fail_next(131000)
    graph.fail_next(131026, http_status=400, message="(#131026) Message undeliverable")
    assert (await send(http, graph, text(WA, "6")))[0] == 500
    status, body = await send(http, graph, text(WA, "7"))
    assert key_paths(body) == key_paths(load_fixture("error_131026"))
    assert [r["code"] for r in graph.refused] == [130429, 131056, 131056, 190, 131000, 131026]
    assert graph.texts_to(OTHER) == ["4"] and graph.texts_to(WA) == ["2"]


@pytest.mark.parametrize(("code", "status"), [(0, 401), (10, 403), (200, 403), (368, 403), (131031, 403), (133010, 400)])
async def test_an_account_error_answers_every_send_until_repaired(graph: FakeGraph, http: ClientSession, code: int, status: int):
    """Account and configuration errors (Meta's authorization, integrity and registration errors) hold for every send."""
    graph.set_last_inbound(WA, NOW)
    graph.break_account(code)
    for body_text in ("1", "2"):
        answer_status, body = await send(http, graph, text(WA, body_text))
        assert (answer_status, body["error"]["code"]) == (status, code)
        assert body["error"]["error_data"]["details"] == wa.ERRORS[code][1]
    graph.repair_account()
    assert (await send(http, graph, text(WA, "3")))[0] == 200
    assert [r["code"] for r in graph.refused] == [code, code] and graph.texts_to(WA) == ["3"]


async def test_an_unknown_object_error_has_the_graph_shape(graph: FakeGraph, http: ClientSession):
    graph.set_last_inbound(WA, NOW)
    graph.fail_next(100, subcode=33)
    status, body = await send(http, graph, text(WA, "1"))
    assert status == 400 and body["error"]["code"] == 100 and body["error"]["error_subcode"] == 33
    assert body["error"]["type"] == "GraphMethodException" and "error_data" not in body["error"]


@pytest.mark.parametrize(("state", "code"), [("PAUSED", 132015), ("DISABLED", 132016)])
async def test_a_paused_or_disabled_template_is_refused(graph: FakeGraph, http: ClientSession, state: str, code: int):
    graph.templates[("ilp_pengumuman", "id")] = 1
    graph.template_status[("ilp_pengumuman", "id")] = state
    status, body = await send(http, graph, template("ilp_pengumuman", "Posyandu pindah"))
    assert (status, body["error"]["code"]) == (400, code) and graph.refused[-1]["code"] == code
    assert not graph.rejected  # a deliberate refusal, not a wrong request


async def test_a_template_parameter_longer_than_the_body_is_refused(http: ClientSession):
    async with FakeGraph(templates={("ilp_pengingat", "id"): 1}) as graph:
        graph.expect_problems = True
        status, body = await send(http, graph, template("ilp_pengingat", "x" * 1025))
        assert (status, body["error"]["code"]) == (400, 132005)
        assert (await send(http, graph, template("ilp_pengingat", "x" * 1024)))[0] == 200


def test_webhook_errors_builder_puts_errors_in_value():
    envelope = wa.webhook_errors(131031, 131000)
    value = envelope["entry"][0]["changes"][0]["value"]
    assert [e["code"] for e in value["errors"]] == [131031, 131000] and "statuses" not in value
    assert value["errors"][0]["title"] == "Account has been locked"


async def test_bearer_token_is_required(http: ClientSession):
    """Missing or wrong tokens answer 401 with code 190, on every route."""
    async with FakeGraph() as graph:
        graph.expect_problems = True
        graph.set_last_inbound(WA, datetime.now(UTC))
        status, body = await send(http, graph, text(WA, "a"), headers={})
        assert (status, body["error"]["code"], body["error"]["type"]) == (401, 190,
                                                                           "OAuthException")
        wrong = {"Authorization": "Bearer EAAG-other"}
        assert (await send(http, graph, text(WA, "a"), headers=wrong))[0] == 401
        graph.add_inbound_media("1226485329139712", b"x", "image/jpeg")
        async with http.get(graph.media_url("1226485329139712")) as response:
            assert response.status == 401
        assert [r["code"] for r in graph.rejected] == [190, 190, 190]
        assert graph.sent == []


async def test_unexpected_route_is_recorded_and_fails_exit(http: ClientSession):
    """Unknown routes answer 404 Graph-style and make ``__aexit__`` raise."""
    with pytest.raises(AssertionError, match=f"unexpected POST /{GRAPH_VERSION}/109876543210987/contacts"):
        async with FakeGraph() as graph:
            url = f"{graph.base_url}/{graph.phone_number_id}/contacts"
            async with http.post(url, json={}, headers=auth(graph)) as response:
                assert response.status == 404
                assert (await response.json())["error"]["code"] == 100
            async with http.get(f"{graph.url}/v20.0/me", headers=auth(graph)) as response:
                assert response.status == 404
            assert graph.unexpected == [f"POST /{GRAPH_VERSION}/109876543210987/contacts", "GET /v20.0/me"]


async def test_expect_problems_silences_the_exit(http: ClientSession):
    """With ``expect_problems`` the exit does not raise."""
    async with FakeGraph() as graph:
        graph.expect_problems = True
        async with http.get(f"{graph.url}/nope") as response:
            assert response.status == 404
    assert graph.unexpected == ["GET /nope"]


# ---------------------------------------------------------------------- media


async def test_media_upload_lookup_download_and_send(graph: FakeGraph, http: ClientSession):
    """Upload (multipart), GET /{media-id}, download with the bearer token, then send by id."""
    form = FormData()
    form.add_field("messaging_product", "whatsapp")
    form.add_field("type", "application/pdf")
    form.add_field("file", b"%PDF-1.4 laporan", filename="laporan.pdf",
                   content_type="application/pdf")
    async with http.post(f"{graph.base_url}/{graph.phone_number_id}/media", data=form,
                         headers=auth(graph)) as response:
        assert response.status == 200
        upload = await response.json()
    assert key_paths(upload) == key_paths(load_fixture("media_upload_response"))
    media_id = upload["id"]
    assert graph.uploads[media_id] == (b"%PDF-1.4 laporan", "application/pdf", "laporan.pdf")
    async with http.get(f"{graph.base_url}/{media_id}", headers=auth(graph)) as response:
        info = await response.json()
    assert key_paths(info) == key_paths(load_fixture("media_url_response"))
    assert info["sha256"] == hashlib.sha256(b"%PDF-1.4 laporan").hexdigest()
    assert (info["file_size"], info["mime_type"]) == (16, "application/pdf")
    async with http.get(info["url"], headers=auth(graph)) as response:
        assert await response.read() == b"%PDF-1.4 laporan"
    status, _ = await send(http, graph, {"messaging_product": "whatsapp", "to": WA,
                                         "type": "document", "document": {
                                             "id": media_id, "filename": "laporan.pdf"}})
    assert status == 200 and graph.texts_to(WA) == ["<document>"]


# ---------------------------------------------------------------------- webhook side


async def test_signature_is_hmac_sha256_of_the_exact_raw_body(graph: FakeGraph,
                                                              receiver: Receiver):
    """The header is sha256=HMAC(app secret, raw bytes); Meta-style escaping is kept."""
    envelope = wa.text_message(WA, "Jadwal imunisasi 1/2 dosis, café ☕")
    status, reply = await graph.post_webhook(receiver.url, envelope)
    assert (status, reply) == (200, "EVENT_RECEIVED")
    headers, raw = receiver.posts[0]
    expected = hmac.new(graph.app_secret.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    assert graph.signature(raw) == wa.sign(raw, "fake-app-secret") == f"sha256={expected}"
    assert b"1\\/2" in raw and b"caf\\u00e9 \\u2615" in raw
    assert json.loads(raw) == envelope
    await graph.post_webhook(receiver.url, envelope, secret="other-secret")
    other = hmac.new(b"other-secret", receiver.posts[1][1], hashlib.sha256).hexdigest()
    assert receiver.posts[1][0]["X-Hub-Signature-256"] == f"sha256={other}"
    await graph.post_webhook(receiver.url, envelope, signature="sha256=" + "0" * 64)
    assert receiver.posts[2][0]["X-Hub-Signature-256"] == "sha256=" + "0" * 64
    assert [d["status"] for d in graph.webhook_deliveries] == [200, 200, 200]


async def test_verify_webhook_handshake(graph: FakeGraph, receiver: Receiver):
    """The GET hub.* handshake: the right token gets the challenge echoed back."""
    assert await graph.verify_webhook(receiver.url, "posyandu-verify") == (200, "1158201444")
    assert (await graph.verify_webhook(receiver.url, "salah"))[0] == 403


async def test_auto_status_posts_sent_delivered_read(graph: FakeGraph, http: ClientSession,
                                                     receiver: Receiver):
    """After each accepted send the statuses arrive in order, shaped like the fixtures."""
    graph.webhook_url = receiver.url
    graph.auto_status = ("sent", "delivered", "read")
    _, body = await send(http, graph, text(WA, "Halo"))
    wamid = body["messages"][0]["id"]
    await graph.wait_for(lambda: len(receiver.posts) == 3)
    statuses = receiver.statuses()
    assert [(s["id"], s["status"], s["recipient_id"]) for s in statuses] == [
        (wamid, "sent", WA), (wamid, "delivered", WA), (wamid, "read", WA)]
    for item, name in zip(receiver.payloads(), ("sent", "delivered", "read"), strict=True):
        assert key_paths(item) == key_paths(load_fixture(f"webhook_status_{name}"))
    assert statuses[0]["timestamp"] == str(int(NOW.timestamp()))
    assert statuses[0]["pricing"]["category"] == "service"
    for headers, raw in receiver.posts:
        assert headers["X-Hub-Signature-256"] == wa.sign(raw, graph.app_secret)


async def test_wait_for_messages_and_timeout(graph: FakeGraph, http: ClientSession):
    """wait_for_messages returns once enough arrived and explains a timeout."""
    waiter = asyncio.create_task(graph.wait_for_messages(WA, 2, timeout=5))
    await send(http, graph, text(WA, "satu"))
    await send(http, graph, text(WA, "dua"))
    assert [m["text"]["body"] for m in await waiter] == ["satu", "dua"]
    with pytest.raises(WaitTimeout, match="expected 3 messages to 6281234567890, got 2"):
        await graph.wait_for_messages(WA, 3, timeout=0.2)


# ---------------------------------------------------------------------- builders


BUILDERS: dict[str, Callable[[], JSON]] = {
    "webhook_text": lambda: wa.text_message(OTHER, "Halo"),
    "webhook_button_reply": lambda: wa.button_reply(OTHER, "menu:jadwal", "Jadwal"),
    "webhook_list_reply": lambda: wa.list_reply(OTHER, "desa:1", "Banjar", "Posyandu Melati"),
    "webhook_template_button": lambda: wa.template_button(OTHER, "imunisasi:hadir", "Ya"),
    "webhook_location": lambda: wa.location(OTHER, -8.6, 115.2, place_name="Posyandu",
                                            address="Jl. Gatot Subroto"),
    "webhook_image": lambda: wa.image(OTHER, "1226485329139712", "KIA", url="http://x/1"),
    "webhook_sticker": lambda: wa.sticker(OTHER, "1584279152357610"),
    "webhook_unsupported": lambda: wa.unsupported(OTHER),
    "webhook_status_sent": lambda: wa.status("wamid.X", "sent", OTHER),
    "webhook_status_delivered": lambda: wa.status("wamid.X", "delivered", OTHER),
    "webhook_status_read": lambda: wa.status("wamid.X", "read", OTHER),
    "webhook_status_failed_131047": lambda: wa.status("wamid.X", "failed", OTHER,
                                                      errors=[131047]),
}


@pytest.mark.parametrize("fixture", list(BUILDERS))
def test_builders_match_fixture_shapes(fixture: str):
    """Each builder yields the fixture's exact key structure with its own values."""
    built = BUILDERS[fixture]()
    assert key_paths(built) == key_paths(load_fixture(fixture))
    value = built["entry"][0]["changes"][0]["value"]
    if "messages" in value:
        assert value["messages"][0]["from"] == value["contacts"][0]["wa_id"] == OTHER
    else:
        assert value["statuses"][0]["recipient_id"] == OTHER
    if fixture == "webhook_status_failed_131047":
        assert value["statuses"][0]["errors"] == load_fixture(fixture)["entry"][0]["changes"][0][
            "value"]["statuses"][0]["errors"]


def test_builder_values_ids_and_batch():
    """Message ids are unique and well formed; batch merges messages and statuses into one POST."""
    first = wa.text_message(WA, "satu", timestamp=NOW)
    second = wa.button_reply(WA, "menu:jadwal", "Jadwal", context_id="wamid.CTX")
    third = wa.text_message(OTHER, "tiga", name="Pak Ketut")
    messages = [e["entry"][0]["changes"][0]["value"]["messages"][0]
                for e in (first, second, third)]
    assert len({m["id"] for m in messages}) == 3
    assert all(m["id"].startswith("wamid.HBg") for m in messages)
    assert messages[0]["timestamp"] == "1735722000" and messages[0]["text"]["body"] == "satu"
    assert messages[1]["context"] == {"from": "6281100001111", "id": "wamid.CTX"}
    merged = wa.batch(first, second, third, wa.status("wamid.X", "read", WA))
    value = merged["entry"][0]["changes"][0]["value"]
    assert [m["id"] for m in value["messages"]] == [m["id"] for m in messages]
    assert [c["wa_id"] for c in value["contacts"]] == [WA, OTHER]
    assert [s["status"] for s in value["statuses"]] == ["read"]
    assert wa.list_reply(WA, "a", "A")["entry"][0]["changes"][0]["value"]["messages"][0][
        "interactive"]["list_reply"] == {"id": "a", "title": "A"}
    assert "url" not in wa.image(WA, "1")["entry"][0]["changes"][0]["value"]["messages"][0][
        "image"]
