"""The operator's metrics (``/metrics``, Prometheus format): the counters and histograms the bot's parts
update, in one place, below every package (as ``config.py`` and ``logs.py``), so that the engine, the
dispatcher, the reminder jobs and the register import update them without importing ``web``.

The metric objects are made without a registry: each web app (``web.app.build_app``) registers the
:class:`Metrics` it is given in a registry of its own, next to what it reads at scrape time (outbox depth,
dispatcher lag). :data:`METRICS` is the process's set, which ``bot.py`` hands to every part; a test makes
a fresh ``Metrics()`` and hands that in, so counts never leak between tests.

What is counted (label values are fixed words, never an address, a name or a number of a person):

* ``ilpbot_chat_turns_total{channel, outcome}`` and ``ilpbot_chat_turn_seconds{channel}``: every message
  the engine takes (``handlers.engine.Engine.handle_durably``); outcome ``ok``, ``dropped`` (over the
  inbound limit), ``not_stored`` (the provider sends it again), ``failed`` (answered with an apology).
* ``ilpbot_sends_total{channel, outcome}``: each send the dispatcher tried, by its outcome (``sent``,
  ``retried``, ``rate_limited``, ``stopped``, ``blocked``, ``failed``, ``expired``).
* ``ilpbot_rate_limited_total{channel}`` (429s) and ``ilpbot_channel_pauses_total{channel, reason}``.
* ``ilpbot_planner_runs_total{outcome}`` and ``ilpbot_planner_seconds``.
* ``ilpbot_imports_total{outcome}``: register imports (``dry_run``, ``applied``, ``failed``).
* ``ilpbot_web_signins_total{outcome}``: sign-ins to the puskesmas web (``ok``, ``expired``, ``used``,
  ``refused``, ``unknown``).
"""
from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.registry import Collector

#: chat turns take milliseconds to a few seconds (a chart, a report)
TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: planning a day takes seconds to minutes
PLAN_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Metrics:
    """One set of the bot's metric objects (not registered anywhere until a web app registers them)."""

    def __init__(self) -> None:
        self.chat_turns = Counter("ilpbot_chat_turns", "Chat messages the engine took, by channel and outcome",
                                  ("channel", "outcome"), registry=None)
        self.chat_turn_seconds = Histogram("ilpbot_chat_turn_seconds", "Time to handle one chat message",
                                           ("channel",), buckets=TURN_BUCKETS, registry=None)
        self.sends = Counter("ilpbot_sends", "Outbox sends tried by the dispatcher, by channel and outcome",
                             ("channel", "outcome"), registry=None)
        self.rate_limited = Counter("ilpbot_rate_limited", "Sends a provider answered with 429 (slow down)",
                                    ("channel",), registry=None)
        self.pauses = Counter("ilpbot_channel_pauses", "Times the dispatcher paused a channel, by reason",
                              ("channel", "reason"), registry=None)
        self.planner_runs = Counter("ilpbot_planner_runs", "Reminder planning runs, by outcome", ("outcome",), registry=None)
        self.planner_seconds = Histogram("ilpbot_planner_seconds", "Time to plan one zone's day",
                                         buckets=PLAN_BUCKETS, registry=None)
        self.imports = Counter("ilpbot_imports", "Register imports, by outcome", ("outcome",), registry=None)
        self.signins = Counter("ilpbot_web_signins", "Sign-ins to the puskesmas web, by outcome", ("outcome",), registry=None)

    def collectors(self) -> Iterator[Collector]:
        """Every metric object, for a registry to register."""
        return iter((self.chat_turns, self.chat_turn_seconds, self.sends, self.rate_limited, self.pauses,
                     self.planner_runs, self.planner_seconds, self.imports, self.signins))


#: the process's metrics (``bot.py`` hands them to each part; parts default to them)
METRICS = Metrics()
