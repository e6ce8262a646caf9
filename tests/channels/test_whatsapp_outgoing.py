"""Golden table: each Reply in tests/fixtures/outgoing/whatsapp.json and the exact Graph API requests the
WhatsApp channel sends for it (method, path and body as the fake Graph API on 127.0.0.1 received them),
inside the 24-hour window and outside it."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from channels.whatsapp import WhatsAppChannel
from config import WhatsAppConfig
from tests.channels.outgoing import JPEG, NOW, blob, compare, load, reply_of
from tests.fakes.whatsapp_api import FakeGraph

TO = "6281234500001"
CASES = load("whatsapp")
#: the templates of the table's configuration, each with one body parameter, in Indonesian and English
TEMPLATES = {"reminder": "ilp_pengingat", "broadcast": "ilp_pengumuman", "calendar": "ilp_jadwal_posyandu",
             "referral": "ilp_rujukan", "reply": "ilp_pesan_baru"}


def request_of(wire: dict[str, Any], graph: FakeGraph) -> dict[str, Any]:
    """One request as the table writes it: the version and our number id as placeholders in the path, the
    JSON body as sent, an upload's form fields and its file by name, type and blob."""
    path = wire["path"].replace(f"/{graph.version}/", "/<version>/").replace(graph.phone_number_id, "<phone-number-id>")
    if wire["method"] == "GET":  # media look-ups and downloads: the path is all there is
        return {"method": "GET", "path": path}
    request: dict[str, Any] = {"method": wire["method"], "path": path}
    if "json" in wire:
        request["json"] = wire["json"]
    if "form" in wire:
        request["form"] = wire["form"]
        request["files"] = {key: {"filename": name, "content_type": mime, "data": blob(data)}
                            for key, (name, mime, data) in wire["files"].items()}
    if wire["status"] != 200:
        request["status"] = wire["status"]
    return request


def test_the_table_names_each_case_once():
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)) and len(names) >= 15


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
async def test_a_reply_becomes_exactly_these_graph_requests(case):
    templates = {(name, language): 1 for name in TEMPLATES.values() for language in ("id", "en")}
    async with FakeGraph(templates=templates, clock=lambda: NOW) as graph:
        graph.wire = []
        if case.get("window", "open") == "open":  # the person wrote an hour ago, as far as Meta knows
            graph.set_last_inbound(TO, NOW - timedelta(hours=1))
        config = WhatsAppConfig(phone_number_id=graph.phone_number_id, access_token=graph.token,
                                graph_base_url=graph.base_url, rate=0.0, templates=dict(TEMPLATES))
        graph.add_inbound_media("1234567890123456", JPEG, "image/jpeg")  # a photo someone sent here
        channel = WhatsAppChannel(config, _no_handler, clock=lambda: NOW, media_sources={"telegram": _telegram_photo})
        try:
            await channel.send_one(TO, reply_of(case["reply"]))
            sent = [request_of(wire, graph) for wire in graph.wire]
        finally:
            await channel.close()
    compare(case["name"], sent, case["requests"])


async def _telegram_photo(file_id: str) -> tuple[bytes, str]:
    assert file_id == "AgACAgUAAxkBAAIBY2Zzfake"
    return JPEG, "image/jpeg"


async def _no_handler(incoming):
    raise AssertionError("no message is handled here")
