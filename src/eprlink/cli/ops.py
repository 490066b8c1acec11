"""What the operations commands share: configuration, store access, times and output."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from eprlink.cli.input import EXIT_UNREADABLE, UnreadableInput
from eprlink.engine import (
    ConfigError,
    EngineAPI,
    EngineConfig,
    OperatorError,
    load_config,
    open_api,
)
from eprlink.engine.config import StoreKind
from eprlink.engine.values import parse_duration
from eprlink.mllp import loop_factory
from eprlink.store import EntryState, MessageQuery, MessageStatus, StoreError

__all__ = [
    "DEFAULT_CONFIG",
    "OperationFailed",
    "Refused",
    "age",
    "age_text",
    "build_query",
    "config_argument",
    "config_option",
    "echo_json",
    "echo_table",
    "load",
    "load_offline",
    "operator_options",
    "plural",
    "query_options",
    "require_operator",
    "resolve_config",
    "run_async",
    "safe",
    "stamp",
    "when",
    "with_api",
]

DEFAULT_CONFIG = Path("eprlink.toml")

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# Control characters (terminal escape sequences) and bidi overrides in values that came from a
# partner's message, such as a control id, must not reach an operator's terminal as they are.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class OperationFailed(click.ClickException):
    """The request was understood but could not be carried out, or found a problem: exit 1."""

    exit_code = 1


class Refused(click.ClickException):
    """The engine refused the request as asked (unknown destination, missing reason): exit 2."""

    exit_code = EXIT_UNREADABLE


def safe(value: object, limit: int = 200) -> str:
    """A value fit for an operator's terminal: control characters replaced, length bounded."""
    if value is None:
        return "-"
    text = _UNSAFE.sub("?", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def config_option(function: F) -> F:
    """``--config FILE`` (default ``./eprlink.toml``), for commands that read the store."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_CONFIG,
        show_default=True,
        help="The engine's configuration file.",
    )(function)


def config_argument(function: F) -> F:
    """``[CONFIG]`` as an argument (``eprlink run eprlink.toml``) or as ``--config``."""
    function = click.argument(
        "config_file", required=False, type=click.Path(dir_okay=False, path_type=Path)
    )(function)
    return config_option(function)


def resolve_config(config_file: Path | None, config_path: Path) -> Path:
    if config_file is not None and config_path not in (DEFAULT_CONFIG, config_file):
        raise click.UsageError("give the configuration once: as CONFIG or as --config")
    return config_file if config_file is not None else config_path


def load(path: Path, *, check_imports: bool = True) -> EngineConfig:
    """The configuration, or exit 2 with every problem named by file and line."""
    try:
        return load_config(path, environ=os.environ, check_imports=check_imports)
    except ConfigError as exc:
        raise UnreadableInput(f"the configuration cannot be used:\n{exc}") from exc


def load_offline(path: Path) -> EngineConfig:
    """The configuration of an engine whose store a command reads or changes from outside.

    Filter and transform targets are not imported: reading the store needs none of the
    channels' code. An in-memory store is refused because another process cannot see it, and a
    missing SQLite file is reported rather than silently created empty.
    """
    config = load(path, check_imports=False)
    if config.store.kind is StoreKind.MEMORY:
        raise UnreadableInput(
            f"{path}: store.kind is memory; nothing outside the running engine can see it"
        )
    if config.store.kind is StoreKind.SQLITE and not config.store_path().exists():
        raise OperationFailed(
            f"no database at {config.store_path()} (has `eprlink run {path}` run yet?)"
        )
    return config


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coroutine)


def with_api(config: EngineConfig, work: Callable[[EngineAPI], Awaitable[T]]) -> T:
    """Run ``work`` against the configured store, mapping the engine's errors to exit codes."""

    async def session() -> T:
        async with open_api(config) as api:
            return await work(api)

    try:
        return run_async(session())
    except OperatorError as exc:
        raise Refused(str(exc)) from exc
    except StoreError as exc:
        raise OperationFailed(f"store: {exc}") from exc


def operator_options(function: F) -> F:
    """``--operator`` and ``--reason``: who does an audited action, and why. No defaults."""
    function = click.option(
        "--reason", default=None, help="Why; recorded in the audit trail with the operator."
    )(function)
    return click.option(
        "--operator",
        default=None,
        help="Your name or account as the audit trail should record it (there is no default).",
    )(function)


def require_operator(operator: str | None, reason: str | None, what: str) -> tuple[str, str]:
    missing = [
        flag
        for flag, value in (("--operator NAME", operator), ("--reason TEXT", reason))
        if not (value or "").strip()
    ]
    if missing:
        raise click.UsageError(
            f"{what} needs {' and '.join(missing)} (recorded in the audit trail)"
        )
    assert operator is not None and reason is not None
    return operator.strip(), reason.strip()


def when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """A point in time: ``2024-05-01`` (midnight UTC), an ISO date-time (UTC unless it names an
    offset), or an age such as ``90m``, ``2h`` or ``7d`` meaning that long ago."""
    if value is None:
        return None
    text = value.strip()
    seconds = parse_duration(text)
    if seconds is not None:
        return datetime.now(UTC) - timedelta(seconds=seconds)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2024-05-01), a date-time (2024-05-01T09:30) "
            "or an age (2h, 7d)",
            ctx,
            param,
        ) from None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def age(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    """A length of time with its unit: ``30d``, ``12h``, ``90m``, ``0s``."""
    if value is None:
        return None
    seconds = parse_duration(value)
    if seconds is None:
        raise click.BadParameter(f"{value!r} is not an age such as 30d, 12h or 90m", ctx, param)
    return timedelta(seconds=seconds)


def query_options(*, destination_flag: str = "--destination") -> Callable[[F], F]:
    """The search filters of ``messages`` and ``replay`` (``replay`` names the destination
    filter ``--routed-to`` because its ``--destination`` is where the replay goes)."""

    def decorate(function: F) -> F:
        options = [
            click.option("--channel", default=None, help="Received on this channel."),
            click.option("--control-id", default=None, help="MSH-10, exactly."),
            click.option("--type", "message_type", default=None, help="MSH-9: ADT or ADT^A01."),
            click.option(
                "--since",
                callback=when,
                metavar="WHEN",
                help="Received at or after: 2024-05-01, 2024-05-01T09:30 (UTC) or an age (2h, 7d).",
            ),
            click.option(
                "--until",
                callback=when,
                metavar="WHEN",
                help="Received before (same forms as --since).",
            ),
            click.option(
                "--status",
                type=click.Choice([s.value for s in MessageStatus]),
                default=None,
                help="Accepted (queued for delivery) or rejected.",
            ),
            click.option(
                "--state",
                type=click.Choice([s.value for s in EntryState]),
                default=None,
                help="Has a queue entry in this state.",
            ),
            click.option(
                destination_flag,
                "destination_filter",
                default=None,
                help="Was queued for this destination.",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def build_query(  # noqa: PLR0917 - one parameter per filter option
    channel: str | None,
    control_id: str | None,
    message_type: str | None,
    since: datetime | None,
    until: datetime | None,
    status: str | None,
    state: str | None,
    destination: str | None,
    *,
    identifier: tuple[str, str] | None = None,
    limit: int = 100,
) -> MessageQuery:
    return MessageQuery(
        channel=channel,
        control_id=control_id,
        message_type=message_type,
        status=None if status is None else MessageStatus(status),
        entry_state=None if state is None else EntryState(state),
        destination=destination,
        identifier=identifier,
        received_from=since,
        received_to=until,
        limit=limit,
    )


def stamp(moment: datetime | None) -> str:
    """UTC, to the second, as operators compare it with partners' logs."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = max(0, int(seconds))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def plural(count: int, word: str) -> str:
    if count == 1:
        return f"1 {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns, two spaces apart, last column unpadded."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in (headers, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())
