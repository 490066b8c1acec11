"""``eprlink replay`` and ``eprlink release``: stored messages back on a destination's queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click

from eprlink.cli.ops import (
    OperationFailed,
    Refused,
    build_query,
    config_option,
    echo_json,
    load_offline,
    operator_options,
    plural,
    query_options,
    require_operator,
    with_api,
)
from eprlink.engine import EngineAPI, EngineConfig
from eprlink.store import MessageStatus

__all__ = ["release_command", "replay_command"]


@dataclass(slots=True)
class Selection:
    ids: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)


def _check_destination(config: EngineConfig, name: str) -> None:
    if config.destination(name) is None:
        known = ", ".join(d.name for d in config.destinations) or "none"
        raise Refused(f"no destination named {name!r} (configured: {known})")


async def _by_id(api: EngineAPI, wanted: list[int], include_rejected: bool) -> Selection:
    selection = Selection()
    for message_id in wanted:
        detail = await api.message(message_id)
        if detail is None:
            selection.missing.append(message_id)
        elif detail.summary.status is MessageStatus.REJECTED and not include_rejected:
            selection.rejected.append(message_id)
        else:
            selection.ids.append(message_id)
    return selection


@click.command("replay")
@config_option
@click.option("--id", "ids", type=click.IntRange(1), multiple=True, help="A message id (repeat).")
@click.option("--from-id", type=click.IntRange(1), default=None, help="First id of a range.")
@click.option("--to-id", type=click.IntRange(1), default=None, help="Last id of a range.")
@query_options(destination_flag="--routed-to")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="Refuse a range or filter that selects more messages than this.",
)
@click.option("--destination", required=True, help="The destination to send them to again.")
@operator_options
@click.option(
    "--include-rejected",
    is_flag=True,
    help="Also replay messages the engine rejected (they were never validated as accepted).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be replayed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def replay_command(  # noqa: PLR0917 - one parameter per option
    config_path: Path,
    ids: tuple[int, ...],
    from_id: int | None,
    to_id: int | None,
    channel: str | None,
    control_id: str | None,
    message_type: str | None,
    since: datetime | None,
    until: datetime | None,
    status: str | None,
    state: str | None,
    destination_filter: str | None,
    limit: int,
    destination: str,
    operator: str | None,
    reason: str | None,
    include_rejected: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Queue stored messages again for --destination, byte for byte, oldest first.

    Choose the messages by id (--id, repeatable), by an id range (--from-id/--to-id, ids that
    were pruned are skipped), or by search filters (the same as `eprlink messages`; the
    destination filter is --routed-to). Replayed messages join the tail of the queue. The
    operator and reason are recorded with every new queue entry. A running engine picks the
    entries up within engine.poll_interval.
    """
    filters = (channel, control_id, message_type, since, until, status, state, destination_filter)
    by_filter = any(f is not None for f in filters)
    by_range = from_id is not None or to_id is not None
    modes = sum((bool(ids), by_range, by_filter))
    if modes != 1:
        raise click.UsageError(
            "choose the messages one way: --id, --from-id/--to-id, or search filters"
        )
    if by_range and (from_id is None or to_id is None or from_id > to_id):
        raise click.UsageError("a range needs --from-id A and --to-id B with A <= B")
    if by_range and from_id is not None and to_id is not None and to_id - from_id + 1 > limit:
        raise click.UsageError(f"the range holds more than --limit {limit} ids")
    who, why = ("", "") if dry_run else require_operator(operator, reason, "replay")
    config = load_offline(config_path)
    _check_destination(config, destination)

    async def select(api: EngineAPI) -> Selection:
        if ids:
            return await _by_id(api, list(dict.fromkeys(ids)), include_rejected)
        if by_range and from_id is not None and to_id is not None:
            found = await _by_id(api, list(range(from_id, to_id + 1)), include_rejected)
            found.missing = []  # gaps in a range are messages already pruned
            return found
        query = build_query(*filters, limit=limit + 1)
        rows = await api.messages(query, with_identifiers=False)
        if len(rows) > limit:
            raise OperationFailed(
                f"more than {limit} messages match; narrow the filters or raise --limit"
            )
        chosen = Selection()
        for row in sorted(rows, key=lambda r: r.summary.message_id):
            rejected = row.summary.status is MessageStatus.REJECTED
            target = chosen.rejected if rejected and not include_rejected else chosen.ids
            target.append(row.summary.message_id)
        return chosen

    async def work(api: EngineAPI) -> tuple[Selection, list[int]]:
        selection = await select(api)
        if selection.missing:
            listed = ", ".join(map(str, selection.missing))
            raise OperationFailed(f"no message with id {listed}; nothing was replayed")
        if selection.rejected and ids:
            listed = ", ".join(map(str, selection.rejected))
            raise OperationFailed(
                f"message {listed} was rejected by the engine; add --include-rejected to "
                "replay it anyway (nothing was replayed)"
            )
        if dry_run or not selection.ids:
            return selection, []
        entries = await api.replay(selection.ids, destination, operator=who, reason=why)
        return selection, entries

    selection, entries = with_api(config, work)
    if as_json:
        echo_json(
            {
                "destination": destination,
                "dry_run": dry_run,
                "messages": selection.ids,
                "entries": entries,
                "skipped_rejected": selection.rejected,
            }
        )
    else:
        if selection.rejected:
            click.echo(
                f"skipped {plural(len(selection.rejected), 'rejected message')} "
                "(--include-rejected to replay them)",
                err=True,
            )
        if dry_run:
            click.echo(
                f"would replay {plural(len(selection.ids), 'message')} to {destination}: "
                + (", ".join(map(str, selection.ids)) or "-")
            )
        for message_id, entry_id in zip(selection.ids, entries, strict=False):
            click.echo(f"message {message_id} -> {destination} entry {entry_id}")
        if entries:
            click.echo(
                f"replayed {plural(len(entries), 'message')} to {destination} "
                f"(operator {who}); recorded in the audit trail",
                err=True,
            )
    if not selection.ids:
        raise OperationFailed("nothing to replay: no message matched")


@click.command("release")
@config_option
@click.argument("destination")
@operator_options
@click.option(
    "--include-dead", is_flag=True, help="Also put dead-lettered entries back, in their order."
)
@click.option(
    "--entry-id",
    "entry_ids",
    type=click.IntRange(1),
    multiple=True,
    help="Only these queue entries (repeat); default: every held entry.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def release_command(  # noqa: PLR0917 - one parameter per option
    config_path: Path,
    destination: str,
    operator: str | None,
    reason: str | None,
    include_dead: bool,
    entry_ids: tuple[int, ...],
    as_json: bool,
) -> None:
    """Unblock DESTINATION: its held entries (and, with --include-dead, dead ones) are queued
    again in their original order, and delivery resumes from the oldest.

    Fix the cause first (the partner's answer is in `eprlink show-message`), or the entry will
    be held again. The operator and reason are recorded with each released entry.
    """
    who, why = require_operator(operator, reason, "release")
    config = load_offline(config_path)
    _check_destination(config, destination)

    async def work(api: EngineAPI) -> int:
        return await api.release(
            destination,
            operator=who,
            reason=why,
            include_dead=include_dead,
            entry_ids=list(entry_ids) or None,
        )

    count = with_api(config, work)
    if as_json:
        echo_json({"destination": destination, "released": count})
    elif count:
        click.echo(f"released {plural(count, 'entry')} of {destination}, in their original order")
    else:
        kinds = "held or dead" if include_dead else "held"
        click.echo(f"nothing to release: {destination} has no {kinds} entries")
