"""``eprlink anonymise``: consistent pseudonyms so that Trusts and vendors can share samples."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import click

from eprlink.careflow import AnonymiseCounts, Anonymiser
from eprlink.cli.input import exit_unreadable, load_messages
from eprlink.cli.profiles import optional_profile
from eprlink.hl7 import Message

__all__ = ["KEY_ENVVAR", "anonymise_command"]

KEY_ENVVAR = "EPRLINK_ANONYMISE_KEY"
_SHORT_KEY = 16
_START_BLOCK, _END_BLOCK = b"\x0b", b"\x1c\r"


def _key(key: str | None, key_file: str | None) -> bytes:
    """The key from --key, the environment or --key-file; there is no default key."""
    if key and key_file:
        raise click.UsageError("give the key once: --key (or the environment) or --key-file")
    if key_file:
        lines = Path(key_file).read_bytes().splitlines()
        secret = lines[0].strip() if lines else b""
        if not secret:
            raise click.UsageError(f"{key_file}: the key file is empty")
        return secret
    if not key:
        raise click.UsageError(
            f"an anonymisation key is required: pass --key, --key-file, or set {KEY_ENVVAR}. "
            "There is no default key, because anyone holding the key can check a guessed "
            "identity against the pseudonyms; keep it secret and keep it to re-run the same "
            "mapping later."
        )
    return key.encode("utf-8")


def _framed(source: str) -> bool:
    """Whether a file was MLLP-framed, so the output can be framed the same way."""
    if source == "-":
        return False
    try:
        return _START_BLOCK in Path(source).read_bytes()
    except OSError:
        return False


def _write(stream: BinaryIO, message: Message, *, framed: bool) -> None:
    data = message.to_bytes()
    if framed:
        stream.write(_START_BLOCK + data + _END_BLOCK)
    else:
        stream.write(data if data.endswith(b"\r") else data + b"\r")


def _summary(counts: AnonymiseCounts, files: int) -> list[str]:
    """What was replaced, as counts only: nothing of a patient's data reaches the terminal."""
    lines = [
        f"anonymised {counts.messages} message(s) from {files} file(s): "
        f"{counts.nhs_numbers} NHS number(s), {counts.identifiers} other identifier(s), "
        f"{counts.names} name(s), {counts.addresses} address(es), {counts.phones} phone "
        f"number(s), {counts.emails} e-mail address(es), {counts.texts} free text(s) replaced; "
        f"{counts.dates} date(s) shifted"
    ]
    if counts.unshifted_dates:
        lines.append(
            f"warning: {counts.unshifted_dates} value(s) in date fields were not dates and were "
            "left as sent: check them before sharing"
        )
    if counts.dated_control_ids:
        lines.append(
            f"warning: {counts.dated_control_ids} control id(s) (MSH-10) contain the real message "
            "date, which gives the date shift away: use --remap-control-ids before sharing"
        )
    if counts.nhs_collisions:
        lines.append(
            f"note: {counts.nhs_collisions} different NHS number(s) share a test number (the "
            "999 range holds about 900,000 valid numbers)"
        )
    return lines


def _targets(files: tuple[str, ...], out_dir: str | None) -> dict[str, Path]:
    """Output file per input for --out, refusing clashes and overwriting an input."""
    directory = Path(out_dir or ".")
    targets: dict[str, Path] = {}
    for source in files:
        if source == "-":
            raise click.UsageError("--out needs named files; use -o to anonymise standard input")
        target = directory / Path(source).name
        if target in targets.values():
            raise click.UsageError(f"two inputs would both be written to {target}")
        if target.resolve() == Path(source).resolve():
            raise click.UsageError(f"{target} is an input file; choose another --out directory")
        targets[source] = target
    return targets


@click.command("anonymise")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "-k",
    "--key",
    envvar=KEY_ENVVAR,
    show_envvar=True,
    help="Secret key for the pseudonyms (prefer the environment variable or --key-file: a key "
    "on the command line shows in process lists and shell history).",
)
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the key from the first line of this file.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write each FILE's messages to a file of the same name in this directory.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write every message to this one file ('-', the default, is standard output).",
)
@click.option(
    "--remap-control-ids", is_flag=True, help="Replace MSH-10 and MSA-2 consistently too."
)
@click.option("--staff-names", is_flag=True, help="Replace staff names (XCN) as well.")
@click.option(
    "--min-shift-days",
    default=30,
    show_default=True,
    type=click.IntRange(min=0),
    help="Least number of days each patient's dates move back.",
)
@click.option(
    "--max-shift-days",
    default=365,
    show_default=True,
    type=click.IntRange(min=0),
    help="Most number of days each patient's dates move back.",
)
@click.option("--trust", type=click.Path(exists=True, dir_okay=False), help="Trust profile file.")
@click.option("--encoding", default=None, help="Charset when MSH-18 is empty or unsupported.")
@click.option("--strict", is_flag=True, help="Refuse non-conformant input.")
def anonymise_command(  # noqa: PLR0917 - one parameter per option, as click passes them
    files: tuple[str, ...],
    key: str | None,
    key_file: str | None,
    out_dir: str | None,
    output: str | None,
    remap_control_ids: bool,
    staff_names: bool,
    min_shift_days: int,
    max_shift_days: int,
    trust: str | None,
    encoding: str | None,
    strict: bool,
) -> None:
    """Replace identifying data in the messages of FILE... with consistent synthetic values.

    The same NHS number, hospital number, name, address or phone number becomes the same
    synthetic value in every message and every run with the same key: NHS numbers from the 999
    test range, invented names and places, XX postcodes, Ofcom drama phone numbers, example.com
    e-mail addresses. Free text is replaced by a placeholder and each patient's dates move back
    by the same number of days. Codes, "" nulls and structure are kept, so the output still
    parses and validates. The key is never printed or stored.
    """
    secret = _key(key, key_file)
    if out_dir and output:
        raise click.UsageError("give either --out DIR or -o FILE, not both")
    if min_shift_days > max_shift_days:
        raise click.UsageError("--min-shift-days is larger than --max-shift-days")
    targets = _targets(files, out_dir) if out_dir else {}
    if len(secret) < _SHORT_KEY:
        click.echo(
            f"warning: the key is short; use {_SHORT_KEY} or more random characters", err=True
        )
    anonymiser = Anonymiser(
        secret,
        date_shift_days_range=(-max_shift_days, -min_shift_days),
        profile=optional_profile(trust),
        remap_control_ids=remap_control_ids,
        staff_names=staff_names,
    )
    failures = 0
    with ExitStack() as stack:
        single: BinaryIO | None = None
        if not out_dir:
            if output in (None, "-"):
                single = sys.stdout.buffer
            else:
                single = stack.enter_context(open(str(output), "wb"))
        for source in files:
            items = list(load_messages(source, encoding=encoding, strict=strict))
            framed = _framed(source)
            with ExitStack() as per_file:
                stream = single
                if stream is None:
                    Path(str(out_dir)).mkdir(parents=True, exist_ok=True)
                    stream = per_file.enter_context(targets[source].open("wb"))
                for item in items:
                    if item.message is None:
                        failures += 1
                        click.echo(
                            f"{item.source} #{item.number}: cannot parse: {item.error}", err=True
                        )
                        continue
                    _write(stream, anonymiser.anonymise(item.message), framed=framed)
            if single is not None:
                single.flush()
    for line in _summary(anonymiser.counts, len(files)):
        click.echo(line, err=True)
    exit_unreadable(failures)
