"""What the dashboard counts, for Prometheus (`/metrics/`, docs/operations.md).

Each ASGI worker counts its own pages (Prometheus scrapes every worker); the bridge's figures
(updates from upstream, what it published, whether the upstream is connected) come from the
bridge itself, asked over the channel layer at each scrape (dashboard.health), so that any
worker's `/metrics/` has them.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

PAGES = Gauge("dashboard_pages_connected", "Live pages connected to this worker")
CONNECTIONS = Counter("dashboard_page_connections_total",
                      "Live page sockets accepted, by whether the page was reconnecting",
                      ["reconnect"])
RESYNCS = Counter("dashboard_resyncs_total",
                  "Snapshots sent again to a connected page, by why", ["reason"])
DROPPED = Counter("dashboard_dropped_messages_total",
                  "Diffs not sent to a page that did not keep up (it gets a snapshot later)")
SLOW_CLOSED = Counter("dashboard_slow_pages_closed_total",
                      "Pages closed (1013, try again later) for staying too far behind")
IGNORED_FRAMES = Counter("dashboard_ignored_frames_total",
                         "Frames from pages that were ignored, by why", ["reason"])
FANOUT_LATENCY = Histogram(
    "dashboard_fanout_latency_seconds",
    "From the bridge publishing a batch to this worker handing it to its pages",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
LAYER_FAILURES = Counter("dashboard_channel_layer_failures_total",
                         "Reads from the channel layer that failed (Redis away)")


def bridge_families(status: dict[str, Any] | None) -> list[Any]:
    """The bridge's own figures as metric families; `status` as dashboard.health has it
    (None: the bridge did not answer)."""
    answering = GaugeMetricFamily("dashboard_bridge_up", "Whether the bridge answered")
    answering.add_metric([], 0 if status is None else 1)
    families: list[Any] = [answering]
    if status is None:
        return families
    connected = GaugeMetricFamily("dashboard_upstream_connected",
                                  "Whether the bridge follows the upstream's live feed")
    connected.add_metric([], 1 if status.get("upstream_ok") else 0)
    updates = CounterMetricFamily("dashboard_upstream_updates",
                                  "Messages from the upstream's feed applied by the bridge")
    updates.add_metric([], float(status.get("updates", 0)))
    published = CounterMetricFamily("dashboard_published_widgets",
                                    "Widgets the bridge rendered and published")
    published.add_metric([], float(status.get("published", 0)))
    malformed = CounterMetricFamily("dashboard_upstream_malformed",
                                    "Messages from the upstream the bridge refused (each "
                                    "followed by a fresh snapshot of its stream)")
    malformed.add_metric([], float(status.get("malformed", 0)))
    families += [connected, updates, published, malformed]
    if status.get("age") is not None:
        age = GaugeMetricFamily("dashboard_upstream_age_seconds",
                                "Seconds since the last update from the upstream")
        age.add_metric([], float(status["age"]))
        families.append(age)
    return families


class _Families:
    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


def exposition(bridge_status: dict[str, Any] | None) -> bytes:
    """This worker's metrics and the bridge's, in Prometheus' text format."""
    bridge = CollectorRegistry(auto_describe=False)
    bridge.register(_Families(bridge_families(bridge_status)))
    return generate_latest(REGISTRY) + generate_latest(bridge)
