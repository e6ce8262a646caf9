"""``/metrics`` for the operator, in Prometheus's text format (``prometheus_client``), to the addresses of
``web.metrics_allow`` only (others get 403).

Each app has a registry of its own: the counters of ``metrics.Metrics`` the parts update (chat turns,
sends, 429s and pauses, planner runs, imports, sign-ins), and what is read at each scrape: the outbox depth
by channel and state (rows waiting: ``pending`` and ``sending``, one grouped query on the outbox's due
index) and the dispatcher's lag (``web.app.dispatch_lag``).

Several processes (``web.workers``): ``bot.py run`` sets ``PROMETHEUS_MULTIPROC_DIR`` for its workers, each
worker's counters and histograms live in files there (prometheus-client's multiprocess mode), and a scrape
answered by any worker reads them all (``MultiProcessCollector``: counts summed over the workers, including
those of a worker that died and was replaced). The gauges read at scrape time are not kept in files: they
are the database's, the same whichever worker reads them.
"""
from __future__ import annotations

import ipaddress
from datetime import datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from db.models import Outbox
from metrics import Metrics

#: the environment variable of prometheus-client's multiprocess mode (the directory of the workers' files)
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


class ReadAtScrape(Collector):
    """The gauges read from the database at each scrape: the outbox depth and the dispatcher's lag."""

    def __init__(self) -> None:
        self.depth: list[tuple[str, str, int]] = []
        self.lag = 0.0

    def collect(self):
        depth = GaugeMetricFamily("ilpbot_outbox_depth", "Outbox rows waiting to be sent, by channel and state",
                                  labels=("channel", "state"))
        for channel, state, count in self.depth:
            depth.add_metric((channel, state), count)
        yield depth
        yield GaugeMetricFamily("ilpbot_dispatch_lag_seconds", "Age of the oldest due, unsent outbox row", value=self.lag)


class Scrape:
    """One app's registry: the parts' metrics (this process's, or every worker's from the files of
    ``multiproc_dir``) and the gauges read at scrape time."""

    def __init__(self, metrics: Metrics, allow: tuple[str, ...], multiproc_dir: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        if multiproc_dir:
            MultiProcessCollector(self.registry, path=multiproc_dir)
        else:
            for collector in metrics.collectors():
                self.registry.register(collector)
        self.gauges = ReadAtScrape()
        self.registry.register(self.gauges)
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
        self.gauges.depth = [(channel, state, count) for channel, state, count in rows]
        self.gauges.lag = await lag(db, now)


def handler(scrape: Scrape, db, clock, lag):
    """The ``/metrics`` handler."""

    async def metrics(request: web.Request) -> web.Response:
        if not scrape.allowed(request.remote):
            return web.Response(status=403, text="forbidden\n")
        await scrape.read(db, clock(), lag)
        return web.Response(body=generate_latest(scrape.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics
