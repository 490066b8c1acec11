"""``eprlink reconcile`` (P7, and against a partner's list) and ``eprlink prune``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click

from eprlink.cli.input import UnreadableInput
from eprlink.cli.ops import (
    Refused,
    age,
    config_option,
    echo_json,
    load_offline,
    plural,
    safe,
    stamp,
    when,
    with_api,
)
from eprlink.engine import EngineAPI, EngineConfig, PartnerReconciliation
from eprlink.store import PENDING_STATES, MessageQuery, PruneResult, Reconciliation

__all__ = ["prune_command", "reconcile_command"]

_SCAN = 2**31 - 1


def _channels(config: EngineConfig, channel: str | None) -> list[str]:
    if channel is None:
        return [c.name for c in config.channels]
    if config.channel(channel) is None:
        known = ", ".join(c.name for c in config.channels) or "none"
        raise Refused(f"no channel named {channel!r} (configured: {known})")
    return [channel]


def read_partner_ids(path: Path) -> list[str]:
    """One control id per line; blank lines and ``#`` comments ignored."""
    try:
        data = click.open_file(str(path), "rb").read()
    except OSError as exc:
        raise UnreadableInput(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _reconciliation_json(result: Reconciliation) -> dict[str, Any]:
    return {
        "channel": result.channel,
        "day": result.day.isoformat(),
        "balanced": result.balanced,
        "received": result.received,
        "accepted": result.accepted,
        "rejected": result.rejected,
        "duplicates": result.duplicates,
        "destinations": [
            {
                "destination": d.destination,
                "balanced": d.balanced,
                "routed": d.routed,
                "delivered": d.delivered,
                "dead": d.dead,
                "queued": d.pending,
            }
            for d in result.destinations
        ],
    }


def _print_reconciliation(result: Reconciliation) -> None:
    inbound_ok = result.received == result.accepted + result.rejected
    click.echo(
        f"{result.channel} {result.day.isoformat()}: received {result.received} = accepted "
        f"{result.accepted} + rejected {result.rejected}"
        f"{'' if inbound_ok else '  UNBALANCED'} (duplicates answered again: {result.duplicates})"
    )
    for d in result.destinations:
        click.echo(
            f"  {d.destination}: routed {d.routed} = delivered {d.delivered} + dead "
            f"{d.dead} + queued {d.pending}{'' if d.balanced else '  UNBALANCED'}"
        )


def _partner_json(result: PartnerReconciliation, listed: int) -> dict[str, Any]:
    return {
        "channel": result.channel,
        "from": stamp(result.start),
        "to": stamp(result.end),
        "balanced": result.balanced,
        "partner_listed": listed,
        "matched": result.matched,
        "missing_here": list(result.missing_here),
        "missing_there": list(result.missing_there),
    }


def _print_partner(result: PartnerReconciliation, listed: int) -> None:
    click.echo(
        f"{result.channel} [{stamp(result.start)}, {stamp(result.end)}): partner listed "
        f"{listed}, matched {result.matched}"
    )
    for label, ids in (
        ("missing here (the partner lists them; no record here)", result.missing_here),
        ("missing there (received here; not in the partner's list)", result.missing_there),
    ):
        click.echo(f"{label}: {len(ids)}")
        for control_id in ids:
            click.echo(f"  {safe(control_id)}")
    click.echo("lists agree" if result.balanced else "lists DIFFER")


@click.command("reconcile")
@config_option
@click.option("--channel", default=None, help="One channel (default: every channel).")
@click.option(
    "--day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The UTC day to account for (default: today).",
)
@click.option(
    "--partner-file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="The partner's control ids (MSH-10), one per line, to compare with ours.",
)
@click.option("--from", "start", callback=when, metavar="WHEN", help="With --partner-file: start.")
@click.option(
    "--to", "end", callback=when, metavar="WHEN", help="With --partner-file: end (excl.)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def reconcile_command(  # noqa: PLR0917 - one parameter per option
    config_path: Path,
    channel: str | None,
    day: datetime | None,
    partner_file: Path | None,
    start: datetime | None,
    end: datetime | None,
    as_json: bool,
) -> None:
    """Account for every message of a channel and UTC day; or compare with a partner's list.

    Per channel and day: received = accepted + rejected, and for each destination accepted =
    delivered + dead + queued. With --partner-file (and --channel, plus --day or --from/--to)
    the control ids received here are compared with the partner's, and those missing on either
    side are listed. Exits 1 when the counts do not balance or the lists differ.
    """
    if partner_file is None:
        if start is not None or end is not None:
            raise click.UsageError("--from and --to go with --partner-file; use --day here")
        _reconcile_days(config_path, channel, day, as_json)
        return
    if channel is None:
        raise click.UsageError("--partner-file needs --channel")
    if day is not None and (start is not None or end is not None):
        raise click.UsageError("give --day or --from/--to, not both")
    if day is not None:
        start = datetime.combine(day.date(), time(), tzinfo=UTC)
        end = start + timedelta(days=1)
    if start is None or end is None:
        raise click.UsageError("--partner-file needs the period: --day, or --from and --to")
    if start >= end:
        raise click.UsageError("--from must be before --to")
    partner = read_partner_ids(partner_file)
    config = load_offline(config_path)
    _channels(config, channel)

    async def work(api: EngineAPI) -> PartnerReconciliation:
        assert start is not None and end is not None
        return await api.reconcile_partner(channel, start, end, partner)

    result = with_api(config, work)
    listed = len(set(partner))
    if as_json:
        echo_json(_partner_json(result, listed))
    else:
        _print_partner(result, listed)
    if not result.balanced:
        raise SystemExit(1)


def _reconcile_days(
    config_path: Path, channel: str | None, day: datetime | None, as_json: bool
) -> None:
    config = load_offline(config_path)
    names = _channels(config, channel)
    wanted: date = day.date() if day is not None else datetime.now(UTC).date()

    async def work(api: EngineAPI) -> list[Reconciliation]:
        return [await api.reconcile(name, wanted) for name in names]

    results = with_api(config, work)
    if as_json:
        echo_json(
            {
                "day": wanted.isoformat(),
                "balanced": all(r.balanced for r in results),
                "channels": [_reconciliation_json(r) for r in results],
            }
        )
    else:
        for result in results:
            _print_reconciliation(result)
        unbalanced = [r.channel for r in results if not r.balanced]
        click.echo(f"UNBALANCED: {', '.join(unbalanced)}" if unbalanced else "balanced")
    if not all(r.balanced for r in results):
        raise SystemExit(1)


async def _prunable(api: EngineAPI, cutoff: datetime) -> tuple[int, int, int]:
    """(messages, content bytes, messages kept as still pending) older than ``cutoff``: what
    prune would do, found by search so that nothing is changed."""
    older = await api.store.search(MessageQuery(received_to=cutoff, limit=_SCAN))
    pending: set[int] = set()
    for state in PENDING_STATES:
        query = MessageQuery(received_to=cutoff, entry_state=state, limit=_SCAN)
        pending.update(s.message_id for s in await api.store.search(query))
    doomed = [s for s in older if s.message_id not in pending]
    return len(doomed), sum(s.size for s in doomed), len(older) - len(doomed)


@click.command("prune")
@config_option
@click.option(
    "--older-than",
    callback=age,
    metavar="AGE",
    help="Remove finished messages received longer ago than this, e.g. 30d "
    "(default: store.retention).",
)
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.option(
    "--operator", default=None, help="Who prunes (required unless --dry-run; no default)."
)
@click.option("--reason", default=None, help="Why (default: retention).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def prune_command(  # noqa: PLR0917 - one parameter per option
    config_path: Path,
    older_than: timedelta | None,
    dry_run: bool,
    operator: str | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Delete messages older than an age whose every delivery is finished (delivered or
    dead), with their queue entries, and give the space back.

    Messages still queued, in flight, retrying or held are never removed, whatever their age.
    The audit trail is kept. Rejected messages (never queued) count as finished.
    """
    if not dry_run and not (operator or "").strip():
        raise click.UsageError("prune needs --operator NAME (recorded in the audit trail)")
    config = load_offline(config_path)
    age = older_than
    if age is None:
        if config.store.retention is None:
            raise click.UsageError("give --older-than (for example 30d) or set store.retention")
        age = timedelta(seconds=config.store.retention)
    cutoff = datetime.now(UTC) - age
    why = (reason or "").strip() or "retention"

    async def work(api: EngineAPI) -> tuple[int, int, int] | PruneResult:
        if dry_run:
            return await _prunable(api, cutoff)
        return await api.prune(age, operator=(operator or "").strip(), reason=why)

    outcome = with_api(config, work)
    if isinstance(outcome, PruneResult):
        data = {
            "dry_run": False,
            "older_than": stamp(cutoff),
            "messages": outcome.messages,
            "entries": outcome.entries,
            "bytes_reclaimed": outcome.bytes_reclaimed,
        }
        text = (
            f"pruned {plural(outcome.messages, 'message')} and "
            f"{plural(outcome.entries, 'queue entry')} received "
            f"before {stamp(cutoff)}"
            + (
                ""
                if outcome.bytes_reclaimed is None
                else f"; {outcome.bytes_reclaimed} B reclaimed"
            )
        )
    else:
        messages, size, kept = outcome
        data = {
            "dry_run": True,
            "older_than": stamp(cutoff),
            "messages": messages,
            "content_bytes": size,
            "kept_pending": kept,
        }
        text = (
            f"would prune {plural(messages, 'message')} ({size} B of content) received before "
            f"{stamp(cutoff)}; {plural(kept, 'older message')} kept as still pending"
        )
    if as_json:
        echo_json(data)
    else:
        click.echo(text)
    if isinstance(outcome, PruneResult) and outcome.messages == 0 and not as_json:
        click.echo("nothing was old enough and finished", err=True)
