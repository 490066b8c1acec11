"""``eprlink sim``: ports table, a bounded run, a summary; configuration errors name the key."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from eprlink.cli import main
from eprlink.cli.sim import default_sim_config
from eprlink.sim import ListenerKind, read_capture

CONFIG = """
seed = 3
[traffic]
beds = 20
rate = 50
[listeners.adt]
port = 0
[listeners.orders]
port = 0
"""


def test_a_bounded_run_prints_ports_and_a_summary(tmp_path: Path) -> None:
    config = tmp_path / "sim.toml"
    config.write_text(CONFIG)
    capture = tmp_path / "capture.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "sim",
            "--config",
            str(config),
            "--duration",
            "1",
            "--count",
            "5",
            "--capture",
            str(capture),
            "--replay",
            f"adt={tmp_path}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "outbound: connect to receive" in result.output
    assert "inbound: send to it" in result.output
    assert "What the simulator did" in result.output
    assert capture.exists() and list(read_capture(capture)) == []  # nobody connected


def test_configuration_errors_and_bad_options(tmp_path: Path) -> None:
    config = tmp_path / "sim.toml"
    config.write_text("[listeners.adt]\nport = -1\n")
    result = CliRunner().invoke(main, ["sim", "--config", str(config)])
    assert result.exit_code == 1 and "listeners.adt.port" in result.output
    config.write_text(CONFIG)
    result = CliRunner().invoke(main, ["sim", "--config", str(config), "--replay", "orders=x"])
    assert result.exit_code == 2 and "--replay" in result.output


def test_the_default_configuration_opens_all_five_ports() -> None:
    config = default_sim_config()
    assert {c.kind: c.port for c in config.listeners} == {
        ListenerKind.ADT: 7001,
        ListenerKind.RESULTS: 7002,
        ListenerKind.ORDERS: 7003,
        ListenerKind.REGISTRATIONS: 7004,
        ListenerKind.ALERTS: 7005,
    }
