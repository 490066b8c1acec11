"""sim.toml: the example loads, defaults hold, and every problem is reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from eprlink.ack import Severity
from eprlink.sim import (
    ListenerKind,
    OnNak,
    OnTimeout,
    SimConfigError,
    TrafficConfig,
    load_sim_config,
    load_sim_config_text,
    parse_duration,
    stream,
)
from eprlink.sim.hospital import MEDICALLY_FIT_V1, IdentifierKind
from eprlink.sim.trust import profile_check, trust_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_example_loads_with_five_listeners() -> None:
    config = load_sim_config(EXAMPLES / "sim.toml")
    assert [c.kind for c in config.listeners] == list(ListenerKind)
    assert [c.port for c in config.listeners] == [7001, 7002, 7003, 7004, 7005]
    assert config.traffic.day_in == 600.0 and config.traffic.rate is None
    assert config.trust.profile is not None and config.trust.profile.is_file()
    assert config.data_dir == EXAMPLES / "sim-data"
    orders = config.listener(ListenerKind.ORDERS)
    assert orders is not None and orders.order_response and orders.result_delay == 5.0


def test_defaults_for_a_minimal_file() -> None:
    config = load_sim_config_text("[listeners.adt]\nport = 0\n")
    (adt,) = config.listeners
    assert (adt.on_error, adt.on_reject, adt.on_timeout) == (
        OnNak.HOLD,
        OnNak.HOLD,
        OnTimeout.RESEND,
    )
    assert adt.carried == ("adt",) and adt.ack_timeout == 30.0
    assert config.traffic.rate == 1.0 and config.data_dir is None and config.capture is None
    assert not adt.faults.active


def test_every_problem_is_reported_with_its_key() -> None:
    text = """
seeds = 1
[traffic]
rate = 2
day_in = "10m"
[listeners.adt]
port = 70000
on_error = "drop"
feeds = ["pharmacy"]
[listeners.adt.faults]
garbage = 2
[listeners.orders]
port = 7003
ack_timeout = "1s"
result_type = "ORM^O01"
tls_require_client_cert = true
[listeners.lab]
port = 1
"""
    with pytest.raises(SimConfigError) as caught:
        load_sim_config_text(text, name="sim.toml")
    problems = "\n".join(caught.value.problems)
    for key in (
        "sim.toml: seeds:",
        "traffic.day_in: expected either rate or day_in",
        "listeners.adt.port: expected a port number",
        "listeners.adt.on_error:",
        "listeners.adt.feeds:",
        "listeners.adt.faults.garbage: expected a rate",
        "listeners.orders.ack_timeout: expected one of",
        "listeners.orders.result_type:",
        "listeners.orders.tls_require_client_cert: expected tls_cert",
        "listeners.lab:",
    ):
        assert key in problems, key


def test_durations() -> None:
    assert parse_duration("250ms") == 0.25
    assert parse_duration("2h") == 7200.0
    assert parse_duration(3) == 3.0
    assert parse_duration("soon") is None
    assert parse_duration(True) is None


def test_the_trust_profile_file_shapes_the_hospital(tmp_path: Path) -> None:
    overlay = tmp_path / "trust.toml"
    overlay.write_text(
        '[trust]\nods_code = "RYY"\n[trust.plugins]\nmedically_fit = "v1"\n'
        '[trust.identifiers]\ninbound_order = ["NH", "MR"]\n'
    )
    config = load_sim_config_text(f'[trust]\nprofile = "{overlay}"\n')
    settings = trust_settings(config.trust)
    assert settings.ods_code == "RYY"
    assert settings.medically_fit == MEDICALLY_FIT_V1
    assert settings.identifier_order == (IdentifierKind.NHS, IdentifierKind.MRN)
    with pytest.raises(SimConfigError, match=r"trust\.profile"):
        load_sim_config_text('[trust]\nprofile = "missing.toml"\n', base_dir=tmp_path)


def test_generated_traffic_passes_the_trust_profile_it_is_shaped_by() -> None:
    """One file for both sides: what the simulator generates for the example Trust validates
    without errors against that Trust's profile (NHS numbers required, PID-32 repeated)."""
    config = load_sim_config(EXAMPLES / "sim.toml")
    settings = trust_settings(config.trust)
    assert settings.patients_without_nhs_number == 0.0 and settings.update_fields == (32,)
    check = profile_check(config.trust)
    errors = [
        (item.message.control_id, problem.text)
        for item in stream(TrafficConfig(beds=60, count=400), seed=42, trust=settings)
        for problem in check(item.message)
        if problem.severity is Severity.ERROR
    ]
    assert errors == []
