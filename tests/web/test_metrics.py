"""``/metrics``: Prometheus text with the parts' counters and the outbox read at scrape time, to the
addresses of ``web.metrics_allow`` only."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

from db.models import Identity, Outbox
from metrics import Metrics
from tests.helpers import ChatDriver
from web.app import build_app
from web.monitoring import Scrape


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def _outbox(db, now, states: list[tuple[str, str]]) -> None:
    async with db.write() as session:
        person = Identity(channel="telegram", address="m-1", language="id", created_at=now)
        session.add(person)
        await session.flush()
        for i, (channel, state) in enumerate(states):
            session.add(Outbox(key=f"k{i}", identity_id=person.id, channel=channel, address="m-1", kind="reminder",
                               body={"text": "x"}, timezone="Asia/Makassar", state=state, not_before=now - timedelta(minutes=5),
                               attempts=0, created_at=now))


async def test_metrics_show_chat_turns_outbox_depth_and_dispatcher_lag(client, demo_db, settings, clock, metrics):
    engine_metrics = metrics  # the engine of this test counts into the app's metrics
    from handlers.engine import Engine

    chat = ChatDriver(Engine(demo_db, settings, clock=clock, metrics=engine_metrics), address="metrics-chat")
    await chat.say("halo")
    await chat.say("halo lagi")
    await _outbox(demo_db, clock.now, [("telegram", "pending"), ("telegram", "pending"), ("whatsapp", "sending"), ("telegram", "sent")])
    response = await client.get("/metrics")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
    samples = _samples(await response.text())
    assert samples[("ilpbot_chat_turns_total", (("channel", "local"), ("outcome", "ok")))] == 2
    assert samples[("ilpbot_chat_turn_seconds_count", (("channel", "local"),))] == 2
    assert samples[("ilpbot_outbox_depth", (("channel", "telegram"), ("state", "pending")))] == 2
    assert samples[("ilpbot_outbox_depth", (("channel", "whatsapp"), ("state", "sending")))] == 1
    assert not any(name == "ilpbot_outbox_depth" and ("state", "sent") in labels for name, labels in samples)
    assert samples[("ilpbot_dispatch_lag_seconds", ())] == 300  # the web app's dispatch_lag
    for name in ("ilpbot_sends", "ilpbot_rate_limited", "ilpbot_channel_pauses", "ilpbot_planner_runs", "ilpbot_imports",
                 "ilpbot_web_signins"):
        assert f"# TYPE {name}_total counter" in await response.text()


async def test_two_apps_have_registries_of_their_own(demo_db, settings, clock):
    first, second = Metrics(), Metrics()
    build_app(db=demo_db, settings=settings, metrics=first, clock=clock)
    app = build_app(db=demo_db, settings=settings, metrics=second, clock=clock)
    first.imports.labels("applied").inc()
    async with TestClient(TestServer(app)) as client:
        samples = _samples(await (await client.get("/metrics")).text())
    assert ("ilpbot_imports_total", (("outcome", "applied"),)) not in samples


async def test_metrics_are_refused_to_an_address_not_allowed(demo_db, settings, clock, metrics):
    narrow = replace(settings, web=replace(settings.web, metrics_allow=("10.1.0.0/16",)))
    async with TestClient(TestServer(build_app(db=demo_db, settings=narrow, metrics=metrics, clock=clock))) as client:
        response = await client.get("/metrics")  # from 127.0.0.1
        assert response.status == 403


def test_the_allow_list_takes_addresses_and_networks():
    scrape = Scrape(Metrics(), ("127.0.0.1", "::1", "10.0.0.0/8"))
    assert scrape.allowed("127.0.0.1") and scrape.allowed("::1") and scrape.allowed("10.20.30.40")
    assert scrape.allowed("::ffff:10.1.2.3")  # an IPv4 client of a dual-stack socket
    assert not scrape.allowed("192.168.1.5") and not scrape.allowed("127.0.0.2") and not scrape.allowed("2001:db8::1")
    assert not scrape.allowed(None) and not scrape.allowed("not an address")


async def test_a_request_from_another_address_is_refused(demo_db, settings, clock, metrics):
    app = build_app(db=demo_db, settings=settings, metrics=metrics, clock=clock)
    handler = next(r.handler for r in app.router.routes() if r.resource.canonical == "/metrics")
    request = make_mocked_request("GET", "/metrics", app=app, transport=_Transport("203.0.113.9"))
    assert (await handler(request)).status == 403


class _Transport:
    """A transport whose peer is ``address`` (what ``request.remote`` reads)."""

    def __init__(self, address: str) -> None:
        self.address = address

    def get_extra_info(self, name: str, default=None):
        return (self.address, 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False
