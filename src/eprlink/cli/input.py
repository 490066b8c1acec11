"""Reading message files for the CLI: one or many messages per file, plain or MLLP-framed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

import click

from eprlink.hl7 import Message, ParseError, parse, split_messages

__all__ = ["EXIT_UNREADABLE", "Loaded", "UnreadableInput", "exit_unreadable", "load_messages"]

EXIT_UNREADABLE = 2


class UnreadableInput(click.ClickException):
    """A file that cannot be read or holds no message: a clear message and exit code 2."""

    exit_code = EXIT_UNREADABLE


@dataclass(frozen=True, slots=True)
class Loaded:
    """One message read from a file, or the reason it could not be read."""

    source: str
    number: int
    message: Message | None
    error: ParseError | None


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UnreadableInput(f"cannot read {path}: {exc.strerror}") from exc


def load_messages(path: str, *, encoding: str | None, strict: bool) -> Iterator[Loaded]:
    data = _read(path)
    payloads = split_messages(data)
    if not payloads:
        raise UnreadableInput(f"{path}: no HL7 message found (expected MSH at a line start)")
    for number, payload in enumerate(payloads, start=1):
        try:
            yield Loaded(path, number, parse(payload, encoding=encoding, strict=strict), None)
        except ParseError as exc:
            yield Loaded(path, number, None, exc)


def exit_unreadable(failures: int) -> None:
    if failures:
        click.echo(f"{failures} message(s) could not be read", err=True)
        raise SystemExit(EXIT_UNREADABLE)
