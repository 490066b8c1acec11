"""``eprlink run`` (the engine in the foreground) and ``eprlink config`` (what it would run)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
from pathlib import Path

import click

from eprlink.cli.input import UnreadableInput
from eprlink.cli.ops import (
    OperationFailed,
    config_argument,
    echo_json,
    load,
    resolve_config,
    run_async,
)
from eprlink.cli.ops_logging import configure_logging
from eprlink.engine import Engine, EngineConfig, crashpoints, dump_config, effective_config
from eprlink.engine.metrics_http import MetricsServer

__all__ = ["config_command", "run_command"]

_log = logging.getLogger("eprlink.cli.run")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _install_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> list[int]:
    def handle(signum: int) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            click.echo(f"{name}: already stopping", err=True)
            return
        click.echo(f"{name}: stopping", err=True)
        _log.info("stop requested by %s", name, extra={"action": "stop_requested"})
        stop.set()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, handle, int(signum))
            installed.append(int(signum))
    return installed


def _announce(engine: Engine, config: EngineConfig, metrics: MetricsServer | None) -> None:
    store = config.store.kind.value
    if store == "sqlite":
        store += f" {config.store_path()}"
    elif store == "memory":
        store += " (nothing survives a restart)"
    click.echo(
        f"eprlink: engine {config.engine.name} running (node {config.engine.node}, store {store})",
        err=True,
    )
    for channel in config.channels:
        source = engine.sources[channel.name].describe()
        targets = ", ".join(d.name for d in channel.destinations) or "no destinations"
        click.echo(f"  channel {channel.name}: {source} -> {targets}", err=True)
    click.echo(f"  metrics: {metrics.url if metrics else 'off'}", err=True)
    click.echo("stop with Ctrl-C or SIGTERM (in-flight work is finished first)", err=True)


async def serve(config: EngineConfig) -> None:
    """Run ``config`` until SIGINT or SIGTERM, with ``/metrics`` when configured.

    The engine leaves logging, signals and the metrics endpoint to its caller. A signal only
    sets the stop event; the stop itself is the engine's: sources stop accepting, frames in
    hand get their replies, deliveries in hand finish (within engine.shutdown_timeout) and the
    store closes, so a service manager's stop is always a clean one.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    engine = Engine(config)

    async def refresh() -> None:
        if engine.running:
            await engine.refresh_queue_gauges()

    metrics = None
    if config.metrics.listen is not None:
        host, port = config.metrics.listen
        metrics = MetricsServer(engine.metrics, host, port, refresh=refresh)
        if not _loopback(host):
            _log.warning(
                "metrics served on a non-loopback address; keep it on a management network",
                extra={"action": "metrics_exposed", "host": host},
            )
    installed = _install_signals(loop, stop)
    try:
        if metrics is not None:
            try:
                await metrics.start()
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise OperationFailed(
                    f"cannot serve metrics on {metrics.host}:{metrics.port}: {reason}"
                ) from exc
        try:
            await engine.start()
        except Exception as exc:
            raise OperationFailed(f"the engine could not start: {exc}") from exc
        _announce(engine, config, metrics)
        await stop.wait()
        click.echo(
            "stopping: no new messages; finishing in-flight work "
            f"(up to {config.engine.shutdown_timeout:g} s)",
            err=True,
        )
        await engine.stop()
        click.echo("stopped", err=True)
    finally:
        if engine.running:
            await engine.stop()
        if metrics is not None:
            await metrics.close()
        for signum in installed:
            loop.remove_signal_handler(signum)


@click.command("run")
@config_argument
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines on stderr: key=value text or one JSON object per line. Never content.",
)
def run_command(config_file: Path | None, config_path: Path, log_format: str) -> None:
    """Run the engine in the foreground with CONFIG (default ./eprlink.toml).

    Starts the store, the delivery workers, then the sources, and serves Prometheus metrics on
    [metrics] listen (127.0.0.1:9464 unless configured). Ctrl-C or SIGTERM stops cleanly:
    nothing new is accepted, messages in hand are answered and deliveries in hand finish.
    Logs carry metadata only (policy 6.3); -v is the default level here, -vv adds debug.
    Exits 2 for an unusable configuration (or a fault-test crash point, EPRLINK_CRASHPOINT, set
    outside a test run), 1 if the engine cannot start.
    """
    config = load(resolve_config(config_file, config_path))
    try:
        armed = crashpoints.from_environment(os.environ)
    except crashpoints.CrashpointError as exc:
        raise UnreadableInput(str(exc)) from exc
    verbose = click.get_current_context().find_root().params.get("verbose") or 0
    configure_logging(
        logging.DEBUG if verbose >= 2 else logging.INFO, json_lines=log_format == "json"
    )
    if armed is not None:
        _log.warning(
            "fault-test run: this process kills itself at crash point %s (hit %d)",
            *armed,
            extra={"action": "crashpoint_armed"},
        )
    run_async(serve(config))


@click.command("config")
@config_argument
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def config_command(config_file: Path | None, config_path: Path, as_json: bool) -> None:
    """Check CONFIG and print the effective configuration: every value in force, defaults
    included, passwords and sensitive headers shown as ***.

    The output is TOML the engine reads back, so it can be diffed or attached to a ticket.
    Exits 2, naming file and line, when the configuration cannot be used.
    """
    config = load(resolve_config(config_file, config_path))
    if as_json:
        echo_json(effective_config(config))
    else:
        click.echo(dump_config(config), nl=False)
