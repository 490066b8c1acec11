"""``eprlink diff``: what changed between the messages of two files, by path and field name."""

from __future__ import annotations

import json
from dataclasses import dataclass

import click

from eprlink.cli.input import EXIT_UNREADABLE, Loaded, load_messages
from eprlink.cli.profiles import field_name, optional_profile
from eprlink.hl7 import Difference, Message, diff
from eprlink.profiles import Profile

__all__ = ["diff_command"]

_EXIT_DIFFERENT = 1


def _show(value: str | None) -> str:
    """Absent, the explicit null and a value look different: (absent), "", 'value'."""
    if value is None:
        return "(absent)"
    if value == "":
        return '""'
    return repr(value)


@dataclass(frozen=True, slots=True)
class _Pair:
    number: int
    a: Message
    b: Message
    differences: tuple[Difference, ...]


def _pairs(left: list[Loaded], right: list[Loaded]) -> tuple[list[_Pair], list[Loaded], int]:
    """Messages paired by position; the unpaired rest; how many could not be parsed."""
    pairs: list[_Pair] = []
    failures = 0
    for item in (*left, *right):
        if item.message is None:
            failures += 1
            click.echo(f"{item.source} #{item.number}: cannot parse: {item.error}", err=True)
    for a, b in zip(left, right, strict=False):
        if a.message is not None and b.message is not None:
            found = tuple(diff(a.message, b.message))
            pairs.append(_Pair(a.number, a.message, b.message, found))
    rest = left[len(right) :] + right[len(left) :]
    return pairs, rest, failures


def _print_text(pairs: list[_Pair], rest: list[Loaded], profile: Profile | None) -> None:
    for pair in pairs:
        if not pair.differences:
            continue
        click.echo(
            f"message #{pair.number} (control id {pair.a.control_id} -> {pair.b.control_id}): "
            f"{len(pair.differences)} difference(s)"
        )
        rows = [
            (d.path, field_name(profile, d.path), d.kind.value, f"{_show(d.old)} -> {_show(d.new)}")
            for d in pair.differences
        ]
        columns = [0, 2] if not any(row[1] for row in rows) else [0, 1, 2]
        widths = {i: max(len(row[i]) for row in rows) for i in columns}
        for row in rows:
            cells = [row[i].ljust(widths[i]) for i in columns]
            click.echo("  " + "  ".join(cells) + "  " + row[3])
    for item in rest:
        click.echo(f"message #{item.number}: only in {item.source}")
    changed = sum(1 for pair in pairs if pair.differences)
    if changed or rest:
        click.echo(f"{changed} of {len(pairs)} paired message(s) differ; {len(rest)} unpaired")
    else:
        click.echo(f"no differences ({len(pairs)} message(s) compared)")


def _as_json(
    a: str, b: str, pairs: list[_Pair], rest: list[Loaded], profile: Profile | None
) -> str:
    document = {
        "a": a,
        "b": b,
        "identical": not rest and not any(pair.differences for pair in pairs),
        "field_names": profile is not None,
        "messages": [
            {
                "number": pair.number,
                "a_control_id": pair.a.control_id,
                "b_control_id": pair.b.control_id,
                "differences": [
                    {
                        "path": d.path,
                        "field": field_name(profile, d.path) or None,
                        "kind": d.kind.value,
                        "old": d.old,
                        "new": d.new,
                    }
                    for d in pair.differences
                ],
            }
            for pair in pairs
        ],
        "unpaired": [{"source": item.source, "number": item.number} for item in rest],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


@click.command("diff")
@click.argument("a", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("b", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--trust",
    type=click.Path(exists=True, dir_okay=False),
    help="Trust profile file, for field names from its layers.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@click.option("--encoding", default=None, help="Charset when MSH-18 is empty or unsupported.")
@click.option("--strict", is_flag=True, help="Refuse non-conformant input.")
def diff_command(  # noqa: PLR0917 - one parameter per option, as click passes them
    a: str, b: str, trust: str | None, as_json: bool, encoding: str | None, strict: bool
) -> None:
    """Compare the messages of A and B, first with first, second with second.

    Each difference shows its path, the field's name (when the profile loads), its kind and the
    values: "added" (absent before), "removed" (absent now), "nulled" (now the explicit null "",
    a delete under UK rules) or "changed". Exit status: 0 identical, 1 different, 2 when a file
    cannot be read.
    """
    if a == "-" and b == "-":
        raise click.UsageError("only one of A and B can be standard input")
    left = list(load_messages(a, encoding=encoding, strict=strict))
    right = list(load_messages(b, encoding=encoding, strict=strict))
    profile = optional_profile(trust)
    pairs, rest, failures = _pairs(left, right)
    if as_json:
        click.echo(_as_json(a, b, pairs, rest, profile))
    else:
        _print_text(pairs, rest, profile)
    if failures:
        click.echo(f"{failures} message(s) could not be read", err=True)
        raise SystemExit(EXIT_UNREADABLE)
    if rest or any(pair.differences for pair in pairs):
        raise SystemExit(_EXIT_DIFFERENT)
