"""The simulator's public API is pinned: adding or removing a name is a deliberate act."""

from __future__ import annotations

import eprlink.sim

EXPECTED = {
    "DEFAULT_EVENTS", "MALFORMED", "AnswerFault", "CaptureRecord", "CaptureWriter",
    "FaultConfig", "FaultInjector", "Finished", "Handled", "LinkQueue", "LinkStats",
    "ListenerConfig", "ListenerKind", "OnNak", "OnTimeout", "OutboundLink", "QueuedMessage",
    "Reply", "Responder", "SimConfig", "SimConfigError", "Simulator", "TLSConfig", "Traffic",
    "TrafficConfig", "TrustConfig", "WirePlan", "exchange", "load_sim_config",
    "load_sim_config_text", "malform", "parse_duration", "read_capture", "replay_payloads",
    "stream", "to_cp1252",
}  # fmt: skip


def test_sim_api_is_pinned() -> None:
    assert set(eprlink.sim.__all__) == EXPECTED
    for name in eprlink.sim.__all__:
        assert hasattr(eprlink.sim, name), name


def test_errors_share_the_root() -> None:
    assert issubclass(eprlink.sim.SimConfigError, eprlink.EprlinkError)
