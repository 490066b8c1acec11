"""``eprlink sim``: run the CareFlow IE simulator from a ``sim.toml`` until stopped.

Also home to :func:`run_coroutine`, the one place edges such as ``python -m eprlink.demo`` get
an event loop, since only the command line runs asyncio (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console
from rich.table import Table

from eprlink.mllp import loop_factory
from eprlink.sim import (
    ListenerConfig,
    ListenerKind,
    SimConfig,
    SimConfigError,
    Simulator,
    load_sim_config,
)

__all__ = ["default_sim_config", "run_coroutine", "sim_command"]

T = TypeVar("T")
DEFAULT_PORTS = {
    ListenerKind.ADT: 7001,
    ListenerKind.RESULTS: 7002,
    ListenerKind.ORDERS: 7003,
    ListenerKind.REGISTRATIONS: 7004,
    ListenerKind.ALERTS: 7005,
}


def run_coroutine(coroutine: Coroutine[Any, Any, T], *, log_level: int | None = None) -> T:
    """Run ``coroutine`` to completion on the command line's event loop (uvloop if installed);
    ``log_level`` quietens eprlink's loggers, as a progress display wants."""
    if log_level is not None:
        logging.getLogger("eprlink").setLevel(log_level)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coroutine)


def default_sim_config() -> SimConfig:
    """All five ports on loopback (7001–7005), one message a second, queues in memory."""
    listeners = tuple(
        ListenerConfig(kind=kind, port=port, order_response=kind is ListenerKind.ORDERS)
        for kind, port in DEFAULT_PORTS.items()
    )
    return SimConfig(listeners=listeners)


def _ports(console: Console, simulator: Simulator) -> None:
    table = Table(title="CareFlow IE simulator (synthetic data only)")
    for column in ("listener", "direction", "address", "TLS"):
        table.add_column(column)
    for listener in simulator.config.listeners:
        direction = "outbound: connect to receive" if listener.outbound else "inbound: send to it"
        address = f"{listener.host}:{simulator.port(listener.kind)}"
        table.add_row(listener.name, direction, address, "yes" if listener.tls else "no")
    console.print(table)


def _summary(console: Console, simulator: Simulator) -> None:
    table = Table(title="What the simulator did", box=box.SIMPLE_HEAD)
    for column in (
        "listener",
        "conns",
        "queued",
        "sent",
        "recv",
        "ACKed",
        "AE",
        "AR",
        "skip",
        "t/o",
    ):
        table.add_column(column, justify="left" if column == "listener" else "right")
    faults = []
    for name, stats in simulator.stats().items():
        injected = (simulator.links.get(name) or simulator.listeners[name]).injector.injected
        if injected:
            faults.append(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(injected.items())))
        sent = stats.sent if name in simulator.links else stats.answered
        numbers = (
            stats.connections,
            stats.queued,
            sent,
            stats.received,
            stats.acknowledged,
            stats.errors,
            stats.rejects,
            stats.skipped,
            stats.timeouts,
        )
        table.add_row(name, *(str(n) for n in numbers))
    console.print(table)
    for line in faults:
        console.print(f"faults injected on {line}")
    if simulator.capture is not None:
        console.print(f"Capture: {simulator.capture.path} ({simulator.capture.records} records)")


async def _serve(config: SimConfig, *, duration: float | None, console: Console) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    simulator = Simulator(config)
    await simulator.start()
    try:
        _ports(console, simulator)
        console.print("Running; Ctrl-C stops.")
        waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(stop.wait())]
        if simulator.traffic is not None and config.traffic.count:
            waiters.append(asyncio.ensure_future(_drained(simulator)))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(duration):
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    finally:
        await simulator.stop()
    _summary(console, simulator)


async def _drained(simulator: Simulator) -> None:
    """Traffic finished and every queue empty: a bounded run (``count``) is complete."""
    assert simulator.traffic is not None
    await simulator.traffic.done.wait()
    while simulator.pending():
        await asyncio.sleep(0.1)


@click.command("sim")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="sim.toml (examples/sim.toml); without it all five ports open on 7001-7005.",
)
@click.option("--seed", type=int, help="Override the seed (same seed, same messages).")
@click.option(
    "--count", type=int, help="Generate this many messages; stop once all are acknowledged."
)
@click.option("--rate", type=float, help="Messages per second.")
@click.option("--duration", type=float, help="Stop after this many seconds.")
@click.option("--capture", type=click.Path(dir_okay=False, path_type=Path), help="Capture file.")
@click.option(
    "--replay",
    multiple=True,
    metavar="LISTENER=PATH",
    help="Queue a capture file or a folder of .hl7 files on an outbound link (adt or results).",
)
@click.option("--no-traffic", is_flag=True, help="Generate nothing; serve replays and inbound.")
def sim_command(  # noqa: PLR0917 - one parameter per option
    config_path: Path | None,
    seed: int | None,
    count: int | None,
    rate: float | None,
    duration: float | None,
    capture: Path | None,
    replay: tuple[str, ...],
    no_traffic: bool,
) -> None:
    """Run the CareFlow IE simulator: outbound ADT and results feeds that push to whoever
    connects (FIFO until ACK), and orders, registrations and alerts listeners."""
    try:
        config = load_sim_config(config_path) if config_path else default_sim_config()
    except SimConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    traffic = config.traffic
    if count is not None:
        traffic = dataclasses.replace(traffic, count=count)
    if rate is not None:
        traffic = dataclasses.replace(traffic, rate=rate, day_in=None)
    if no_traffic:
        traffic = dataclasses.replace(traffic, enabled=False)
    listeners = list(config.listeners)
    for item in replay:
        name, _, path = item.partition("=")
        found = [i for i, c in enumerate(listeners) if c.name == name and c.outbound]
        if not found or not path:
            raise click.BadParameter(
                f"{item!r}: expected adt=PATH or results=PATH of a configured outbound listener",
                param_hint="--replay",
            )
        listeners[found[0]] = dataclasses.replace(listeners[found[0]], replay=Path(path))
    config = dataclasses.replace(
        config,
        seed=config.seed if seed is None else seed,
        capture=capture or config.capture,
        traffic=traffic,
        listeners=tuple(listeners),
    )
    run_coroutine(_serve(config, duration=duration, console=Console(highlight=False)))
