"""The CareFlow Integration Engine simulator: the other side of the wire, built on public APIs.

``Simulator(load_sim_config("sim.toml"))`` opens up to five ports: outbound ADT and results
feeds that push a persistent FIFO queue to whoever connects (removed only on AA/CA), and
inbound orders, registrations and enhanced-mode alerts listeners. Faults are seeded; every
frame can be captured and replayed. See docs/simulator.md.
"""

from __future__ import annotations

from eprlink.sim.answers import DEFAULT_EVENTS, Handled, Reply, Responder
from eprlink.sim.capture import CaptureRecord, CaptureWriter, read_capture, replay_payloads
from eprlink.sim.config import (
    FaultConfig,
    ListenerConfig,
    ListenerKind,
    OnNak,
    OnTimeout,
    SimConfig,
    TLSConfig,
    TrafficConfig,
    TrustConfig,
)
from eprlink.sim.faults import MALFORMED, AnswerFault, FaultInjector, malform, to_cp1252
from eprlink.sim.load import SimConfigError, load_sim_config, load_sim_config_text, parse_duration
from eprlink.sim.outbound import LinkStats, OutboundLink
from eprlink.sim.peer import exchange
from eprlink.sim.queue import Finished, LinkQueue, QueuedMessage
from eprlink.sim.simulator import Simulator
from eprlink.sim.traffic import Traffic, stream
from eprlink.sim.wire import WirePlan

__all__ = [
    "DEFAULT_EVENTS",
    "MALFORMED",
    "AnswerFault",
    "CaptureRecord",
    "CaptureWriter",
    "FaultConfig",
    "FaultInjector",
    "Finished",
    "Handled",
    "LinkQueue",
    "LinkStats",
    "ListenerConfig",
    "ListenerKind",
    "OnNak",
    "OnTimeout",
    "OutboundLink",
    "QueuedMessage",
    "Reply",
    "Responder",
    "SimConfig",
    "SimConfigError",
    "Simulator",
    "TLSConfig",
    "Traffic",
    "TrafficConfig",
    "TrustConfig",
    "WirePlan",
    "exchange",
    "load_sim_config",
    "load_sim_config_text",
    "malform",
    "parse_duration",
    "read_capture",
    "replay_payloads",
    "stream",
    "to_cp1252",
]
