"""What `GET /metrics` shows, in Prometheus' text format (prometheus-client).

Each app has its own registry, so that several apps in one process (tests, the simulator) count
apart. Active calls are read from the store when scraped rather than counted up and down here:
the store is shared by every worker and survives restarts, a counter in one process is neither.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ivrflow.errors import StoreUnavailable
from ivrflow.stores import Store
from ivrflow.telesign.facts import EVENT_NAMES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def event_label(name: str | None) -> str:
    """The `event` label of an event named `name`: one of a fixed set, so that no sender can add
    series (or write text the exposition format cannot carry): a known event's name, `other` for
    any other, `unknown` when the event could not be read."""
    if name is None:
        return "unknown"
    return name if name in EVENT_NAMES else "other"


class _ActiveCalls(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            active = float(self.store.active())
        except StoreUnavailable:
            active = float("nan")  # the store did not answer: unknown, not zero
        yield GaugeMetricFamily(
            "ivrflow_active_calls", "Calls on the line now (dialing or in progress), from the store", value=active
        )


class Metrics:
    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "ivrflow_events",
            "Webhook events by Telesign event name and what the engine did with them",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "ivrflow_answer_seconds",
            "Time from a webhook event's arrival to the engine's answer",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.calls_started = Counter(
            "ivrflow_calls_started", "Calls started, by direction", ["direction"], registry=self.registry
        )
        self.calls_ended = Counter(
            "ivrflow_calls_ended",
            "Calls ended, by how they ended (a call's status)",
            ["outcome"],
            registry=self.registry,
        )
        self.signature_failures = Counter(
            "ivrflow_signature_failures",
            "Webhook events and callbacks refused for a missing or wrong Telesign signature (or another account's customer id)",
            registry=self.registry,
        )
        self.telesign_errors = Counter(
            "ivrflow_telesign_errors",
            "Telesign API answers that were not a success (retried ones too), by Telesign's code",
            ["code"],
            registry=self.registry,
        )
        self.api_refusals = Counter(
            "ivrflow_api_refusals",
            "Management API requests answered with an error (refused, 4xx, or failed, 5xx), by route and HTTP status",
            ["route", "status"],
            registry=self.registry,
        )
        self.registry.register(_ActiveCalls(store))

    def render(self) -> bytes:
        return generate_latest(self.registry)
