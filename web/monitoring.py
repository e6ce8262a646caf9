"""``/metrics`` for the operator, in Prometheus's text format (``prometheus_client``), to the addresses of
``web.metrics_allow`` only (others get 403).

Each app has a registry of its own: the counters of ``metrics.Metrics`` the parts update (chat turns,
sends, 429s and pauses, planner runs, imports, sign-ins), and what is read at each scrape: the outbox depth
by channel and state (rows waiting: ``pending`` and ``sending``, one grouped query on the outbox's due
index) and the dispatcher's lag (``web.app.dispatch_lag``).
"""
from __future__ import annotations

import ipaddress
from datetime import datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select

from db.models import Outbox
from metrics import Metrics

class Scrape:
    """One app's registry: the parts' metrics and the gauges read at scrape time."""

    def __init__(self, metrics: Metrics, allow: tuple[str, ...]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in metrics.collectors():
            self.registry.register(collector)
        self.outbox_depth = Gauge("ilpbot_outbox_depth", "Outbox rows waiting to be sent, by channel and state",
                                  ("channel", "state"), registry=self.registry)
        self.dispatch_lag = Gauge("ilpbot_dispatch_lag_seconds", "Age of the oldest due, unsent outbox row",
                                  registry=self.registry)
        self.allow = tuple(ipaddress.ip_network(network, strict=False) for network in allow)

    def allowed(self, remote: str | None) -> bool:
        """Whether an address may read the metrics."""
        try:
            address = ipaddress.ip_address((remote or "").split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == net.version and address in net for net in self.allow)

    async def read(self, db, now: datetime, lag) -> None:
        """Reads the gauges from the database: the rows still to be sent (``Outbox.waiting()``: pending or
        sending, read from their partial index; the final ones are counted by ``ilpbot_sends_total``)."""
        async with db.read() as session:
            rows = (await session.execute(
                select(Outbox.channel, Outbox.state, func.count()).where(Outbox.waiting())
                .group_by(Outbox.channel, Outbox.state))).all()
        self.outbox_depth.clear()
        for channel, state, count in rows:
            self.outbox_depth.labels(channel, state).set(count)
        self.dispatch_lag.set(await lag(db, now))


def handler(scrape: Scrape, db, clock, lag):
    """The ``/metrics`` handler."""

    async def metrics(request: web.Request) -> web.Response:
        if not scrape.allowed(request.remote):
            return web.Response(status=403, text="forbidden\n")
        await scrape.read(db, clock(), lag)
        return web.Response(body=generate_latest(scrape.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics
