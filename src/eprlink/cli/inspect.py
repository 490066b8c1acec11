"""``eprlink show`` and ``eprlink get``: look inside messages without writing code."""

from __future__ import annotations

from collections.abc import Iterator

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from eprlink.cli.input import exit_unreadable, load_messages
from eprlink.cli.profiles import field_name, optional_profile
from eprlink.hl7 import NULL, Message, PathError, Segment, parse_path
from eprlink.hl7.elements import value_of
from eprlink.profiles import Profile

__all__ = ["get_command", "show_command"]

_encoding = click.option(
    "--encoding",
    default=None,
    help="Charset when MSH-18 is empty or unsupported (default UTF-8), e.g. cp1252.",
)
_strict = click.option("--strict", is_flag=True, help="Refuse non-conformant input.")


def _leaves(segment: Segment) -> Iterator[tuple[str, str]]:
    """(path, raw) of every non-empty leaf, at the coarsest level that holds it."""
    d = segment.delimiters
    sid = segment.id
    header = segment.is_header
    for number in range(1, len(segment) + 1):
        raw = segment.raw(number)
        if not raw:
            continue
        base = f"{sid}-{number}"
        if (header and number <= 2) or raw == NULL:
            yield base, raw
            continue
        repetitions = raw.split(d.repetition)
        for r, rep in enumerate(repetitions, start=1):
            rbase = f"{base}[{r}]" if len(repetitions) > 1 else base
            components = rep.split(d.component)
            for c, comp in enumerate(components, start=1):
                cbase = f"{rbase}.{c}" if len(components) > 1 else rbase
                subs = comp.split(d.subcomponent) if d.subcomponent else [comp]
                for s, sub in enumerate(subs, start=1):
                    if sub:
                        yield (f"{cbase}.{s}" if len(subs) > 1 else cbase), sub


def _render_value(message: Message, raw: str, literal: bool) -> tuple[Text, Text]:
    if raw == NULL:
        return Text('""', style="bold magenta"), Text("explicit null (delete)", style="magenta")
    if literal:
        return Text(raw), Text("")
    value = value_of(raw, message.delimiters, message.charset) or ""
    shown = Text(
        value.encode("unicode_escape").decode("ascii") if not value.isprintable() else value
    )
    note = Text(f"escaped: {raw}", style="cyan") if value != raw else Text("")
    return shown, note


def _show_one(console: Console, label: str, message: Message, profile: Profile | None) -> None:
    header = (
        f"{label}: {'^'.join(x for x in (message.message_type, message.trigger_event) if x)}"
        f"  control id {message.control_id}  version {message.version}"
        f"  charset {message.charset}  {len(message)} segments"
    )
    table = Table(title=header, title_justify="left", show_lines=False, expand=False)
    table.add_column("path", style="bold")
    if profile is not None:
        table.add_column("field", style="dim", overflow="fold")
    table.add_column("value", overflow="fold")
    table.add_column("note", overflow="fold")
    for segment in message:
        head = [Text(segment.id, style="bold green")]
        if profile is not None:
            head.append(Text(field_name(profile, segment.id), style="green"))
        table.add_row(*head, "", "")
        for path, raw in _leaves(segment):
            literal = segment.is_header and path in (f"{segment.id}-1", f"{segment.id}-2")
            value, note = _render_value(message, raw, literal)
            if profile is None:
                table.add_row(path, value, note)
            else:
                table.add_row(path, field_name(profile, path), value, note)
    console.print(table)
    if message.leniencies:
        names = ", ".join(sorted(x.value for x in message.leniencies))
        console.print(f"[yellow]accepted leniently:[/] {names}")


@click.command("show")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@_encoding
@_strict
@click.option("--trust", type=click.Path(exists=True, dir_okay=False), help="Trust overlay file.")
@click.option("--no-names", is_flag=True, help="Do not load the profile for field names.")
def show_command(
    file: str, encoding: str | None, strict: bool, trust: str | None, no_names: bool
) -> None:
    """Show every segment and field of the messages in FILE with their paths.

    Explicit nulls ("") and escape sequences are made visible. FILE may hold one message or
    many (each starting with MSH, or MLLP-framed); '-' reads standard input.
    """
    console = Console(highlight=False)
    profile = None if no_names else optional_profile(trust)
    failures = 0
    for item in load_messages(file, encoding=encoding, strict=strict):
        label = f"{item.source} #{item.number}"
        if item.message is None:
            failures += 1
            click.echo(f"{label}: cannot parse: {item.error}", err=True)
            continue
        _show_one(console, label, item.message, profile)
    exit_unreadable(failures)


@click.command("get")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("paths", nargs=-1, required=True)
@click.option("--raw", "raw", is_flag=True, help="Print values still escaped, as in the message.")
@_encoding
@_strict
def get_command(
    file: str, paths: tuple[str, ...], raw: bool, encoding: str | None, strict: bool
) -> None:
    """Print the values at PATHS (e.g. MSH-10 PID-3[2].1 OBX[3]-5), one line per message.

    Values are tab-separated in the order given; an absent value prints as nothing and the
    explicit null as "".
    """
    try:
        for path in paths:
            parse_path(path)
    except PathError as exc:
        raise click.BadParameter(str(exc), param_hint="PATHS") from exc
    failures = 0
    for item in load_messages(file, encoding=encoding, strict=strict):
        if item.message is None:
            failures += 1
            click.echo(f"{item.source} #{item.number}: cannot parse: {item.error}", err=True)
            continue
        row = []
        for path in paths:
            value = item.message.raw(path) if raw else item.message.get(path)
            row.append(NULL if value == "" else (value or ""))
        click.echo("\t".join(row))
    exit_unreadable(failures)
