"""Connect-to-receive redial backoff (``reconnect_initial``, ``reconnect_max``,
``reconnect_jitter``): read and checked from eprlink.toml, and the delays the link actually
waits, observed through an injected sleep (no real waiting) against a closed loopback port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from eprlink.engine import ConfigError, dump_config, effective_config, load_config_text
from eprlink.engine.config import MLLPReceiverSource, Reconnect
from eprlink.engine.inbound import InboundChannel
from eprlink.engine.metrics import Metrics
from eprlink.engine.sources import Receiver
from eprlink.store.memory import MemoryStore

from .conftest import config, run, until


def _receiver(port: int, extra: str = "") -> str:
    return f"""
[[channels]]
name = "results"
validate = false

[channels.source]
kind = "mllp_receiver"
host = "127.0.0.1"
port = {port}
encoding = "utf-8"
connect_timeout = "1s"
{extra}
"""


def test_reconnect_defaults_and_settings(tmp_path: Path) -> None:
    source = config(_receiver(7001), tmp_path).channels[0].source
    assert isinstance(source, MLLPReceiverSource)
    assert source.reconnect == Reconnect(initial=1.0, maximum=300.0, jitter=0.2)
    text = _receiver(
        7001, 'reconnect_initial = "250ms"\nreconnect_max = "30s"\nreconnect_jitter = 0.5'
    )
    cfg = config(text, tmp_path)
    source = cfg.channels[0].source
    assert isinstance(source, MLLPReceiverSource)
    assert source.reconnect == Reconnect(initial=0.25, maximum=30.0, jitter=0.5)
    again = load_config_text(dump_config(cfg), base_dir=tmp_path)
    assert effective_config(again) == effective_config(cfg)
    # a start above the default maximum raises the maximum with it rather than failing
    high = config(_receiver(7001, 'reconnect_initial = "10m"'), tmp_path).channels[0].source
    assert isinstance(high, MLLPReceiverSource) and high.reconnect.maximum == 600.0


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            'reconnect_initial = "5s"\nreconnect_max = "1s"',
            "eprlink.toml:27: channels[0].source.reconnect_max: expected at least "
            'reconnect_initial, found "1s"',
        ),
        (
            "reconnect_jitter = 1.0",
            "eprlink.toml:26: channels[0].source.reconnect_jitter: expected a number from 0 to "
            "below 1, found 1.0",
        ),
        (
            'reconnect_initial = "0s"',
            "eprlink.toml:26: channels[0].source.reconnect_initial: expected a duration",
        ),
    ],
)
def test_reconnect_errors_name_file_and_line(extra: str, expected: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config(_receiver(7001, extra), tmp_path)
    assert expected in str(caught.value), str(caught.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _delays(tmp_path: Path, extra: str, rng: Callable[[], float], count: int) -> list[float]:
    """The first ``count`` redial delays of a receiver whose partner is not listening."""
    cfg = config(_receiver(_closed_port(), extra), tmp_path)
    channel_config = cfg.channels[0]
    source_config = channel_config.source
    assert isinstance(source_config, MLLPReceiverSource)
    store = MemoryStore()
    channel = InboundChannel(
        channel_config,
        identity=cfg.engine,
        store=store,
        dedupe_window=timedelta(days=7),
        metrics=Metrics(),
    )
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    source = Receiver(channel, source_config, sleep=sleep, rng=rng)
    await source.start()
    try:
        await until(lambda: len(delays) >= count)
    finally:
        await source.stop(2.0)
    return delays[:count]


def test_redial_delays_double_up_to_the_maximum(tmp_path: Path) -> None:
    extra = 'reconnect_initial = "100ms"\nreconnect_max = "400ms"\nreconnect_jitter = 0.3'
    middle = run(_delays(tmp_path, extra, lambda: 0.5, 5))
    assert middle == pytest.approx([0.1, 0.2, 0.4, 0.4, 0.4])
    low = run(_delays(tmp_path, extra, lambda: 0.0, 3))  # the most jitter can take off
    assert low == pytest.approx([0.07, 0.14, 0.28])


def test_redial_without_jitter_is_exact(tmp_path: Path) -> None:
    extra = 'reconnect_initial = "1s"\nreconnect_max = "2s"\nreconnect_jitter = 0'
    assert run(_delays(tmp_path, extra, lambda: 0.99, 3)) == pytest.approx([1.0, 2.0, 2.0])
