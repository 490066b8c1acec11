"""Counters, gauges and histograms as plain objects, named as in policy section 7.

The engine only counts; an exporter (the CLI's Prometheus endpoint) reads :meth:`Metrics.snapshot`
and publishes it. Keeping the client library out of the engine keeps the engine testable with
plain values and lets the web console read the same numbers.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields

from eprlink.mllp import MLLPCounters

__all__ = [
    "LATENCY_BUCKETS",
    "METRICS",
    "HistogramSample",
    "Labels",
    "Metrics",
    "MetricsSnapshot",
    "Sample",
]

Labels = tuple[tuple[str, str], ...]

LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip

METRICS: dict[str, tuple[str, str]] = {
    "messages_received_total": ("counter", "Frames and files handled by inbound channels"),
    "messages_accepted_total": ("counter", "Messages committed and acknowledged positively"),
    "messages_rejected_total": ("counter", "Messages refused, by HL7 table 0357 code"),
    "messages_filtered_total": ("counter", "Accepted messages the channel filter kept back"),
    "messages_warned_total": ("counter", "Messages accepted with profile warnings"),
    "duplicates_received_total": ("counter", "Duplicates ACKed again, not queued (HD-11)"),
    "control_id_collisions_total": ("counter", "Same control id, different bytes (HD-11)"),
    "processing_id_mismatch_total": ("counter", "MSH-11 not the channel's processing id"),
    "acknowledgements_discarded_total": ("counter", "ACKs sent to a listener (HD-13)"),
    "store_failures_total": ("counter", "Commits that failed; the sender got no AA (P2)"),
    "outbound_attempts_total": ("counter", "Delivery attempts"),
    "outbound_delivered_total": ("counter", "Deliveries confirmed"),
    "outbound_failures_total": ("counter", "Failed attempts, by outcome and decision"),
    "outbound_ack_timeouts_total": ("counter", "Attempts with no usable response (AK-4, AK-6)"),
    "outbound_stale_acks_total": ("counter", "Responses for another control id (AK-3)"),
    "alerts_total": ("counter", "Alerts raised, by name"),
    "wal_checkpoints_total": ("counter", "SQLite WAL checkpoints run by the engine, by result"),
    "queue_depth": ("gauge", "Entries not yet delivered or dead, per destination"),
    "queue_oldest_age_seconds": ("gauge", "Age of the oldest pending entry, per destination"),
    "destination_blocked": ("gauge", "1 while a held entry blocks the destination"),
    "destination_connected": ("gauge", "1 while an MLLP destination connection is open"),
    "destination_leased": ("gauge", "1 while this node delivers the destination (holds its lease)"),
    "intake_paused": ("gauge", "1 while intake for the destination is refused: queue full (P8)"),
    "queue_full_refusals_total": ("counter", "Messages refused because a queue was full (P8)"),
    "application_acks_relayed_total": (
        "counter",
        "Application ACKs relayed after a CA, by code (none: MSH-16 did not want this outcome)",
    ),
    "application_acks_dropped_total": (
        "counter",
        "Application ACKs not relayed: no settled outcome in time, or connection closed",
    ),
    "application_acks_pending": (
        "gauge",
        "Messages whose application ACK is still awaited from the destination, per channel",
    ),
    "listener_connections": ("gauge", "Open inbound connections, per channel"),
    "inbound_ack_latency_seconds": ("histogram", "Frame received to reply ready"),
    "outbound_ack_latency_seconds": ("histogram", "Message sent to matching ACK"),
}
"""Every metric the engine produces: name → (type, help text), for exporters."""

for _field in fields(MLLPCounters):  # transport counters, per channel, named in policy §7
    _kind = "gauge" if _field.name.endswith("_active") else "counter"
    METRICS.setdefault(_field.name, (_kind, "MLLP transport, per channel (policy section 7)"))


def _labels(labels: dict[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: Labels
    value: float


@dataclass(frozen=True, slots=True)
class HistogramSample:
    """Cumulative bucket counts (``le`` upper bounds), as Prometheus expects them."""

    name: str
    labels: Labels
    buckets: tuple[tuple[float, int], ...]
    count: int
    total: float


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    counters: tuple[Sample, ...]
    gauges: tuple[Sample, ...]
    histograms: tuple[HistogramSample, ...]

    def value(self, name: str, **labels: str) -> float:
        """A counter or gauge value (0 when never set), for tests and status pages."""
        key = _labels(labels)
        for sample in (*self.counters, *self.gauges):
            if sample.name == name and sample.labels == key:
                return sample.value
        return 0.0

    def total(self, name: str) -> float:
        """A counter summed over all its labels."""
        return sum(s.value for s in self.counters if s.name == name)


class _Histogram:
    __slots__ = ("counts", "sum")

    def __init__(self, size: int) -> None:
        self.counts = [0] * (size + 1)
        self.sum = 0.0


class Metrics:
    """The engine's numbers. Single event loop, so plain attribute updates need no locks.

    ``collect`` hooks add values that live elsewhere (transport counters, connection counts)
    at snapshot time instead of being copied on every change.
    """

    def __init__(self, *, buckets: Iterable[float] = LATENCY_BUCKETS) -> None:
        self.buckets = tuple(sorted(buckets))
        self._counters: dict[tuple[str, Labels], float] = {}
        self._gauges: dict[tuple[str, Labels], float] = {}
        self._histograms: dict[tuple[str, Labels], _Histogram] = {}
        self._collectors: list[Callable[[Metrics], None]] = []

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = (name, _labels(labels))
        self._counters[key] = self._counters.get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self._gauges[(name, _labels(labels))] = value

    def set_total(self, name: str, value: float, **labels: str) -> None:
        """Set a counter kept elsewhere (a collector copying a transport's running total)."""
        self._counters[(name, _labels(labels))] = value

    def observe(self, name: str, value: float, **labels: str) -> None:
        key = (name, _labels(labels))
        histogram = self._histograms.get(key)
        if histogram is None:
            histogram = self._histograms[key] = _Histogram(len(self.buckets))
        histogram.counts[bisect.bisect_left(self.buckets, value)] += 1
        histogram.sum += value

    def add_collector(self, collect: Callable[[Metrics], None]) -> None:
        """Call ``collect(self)`` before each snapshot (it usually calls :meth:`set`)."""
        self._collectors.append(collect)

    def snapshot(self) -> MetricsSnapshot:
        for collect in self._collectors:
            collect(self)
        histograms = []
        for (name, labels), h in sorted(self._histograms.items()):
            running = 0
            cumulative = []
            for bound, count in zip(self.buckets, h.counts, strict=False):
                running += count
                cumulative.append((bound, running))
            total = running + h.counts[-1]
            cumulative.append((float("inf"), total))
            histograms.append(HistogramSample(name, labels, tuple(cumulative), total, h.sum))
        return MetricsSnapshot(
            counters=tuple(Sample(n, lb, v) for (n, lb), v in sorted(self._counters.items())),
            gauges=tuple(Sample(n, lb, v) for (n, lb), v in sorted(self._gauges.items())),
            histograms=tuple(histograms),
        )
