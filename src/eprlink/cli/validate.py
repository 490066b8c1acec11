"""``eprlink validate``: check messages against the CareFlow / HL7 UK profile, with clear errors."""

from __future__ import annotations

import json

import click

from eprlink.cli.input import EXIT_UNREADABLE, UnreadableInput, load_messages
from eprlink.cli.profiles import required_profile
from eprlink.profiles import ProfileError, Report, validator_for

__all__ = ["validate_command"]

EXIT_INVALID = 1
_MARK = {"E": "error", "W": "warning", "I": "info"}


def _summary(report: Report) -> str:
    if report.ok and not report.warnings:
        return "valid"
    parts = [f"{len(report.errors)} error(s)"] if report.errors else ["valid"]
    if report.warnings:
        parts.append(f"{len(report.warnings)} warning(s)")
    if report.infos:
        parts.append(f"{len(report.infos)} note(s)")
    return ", ".join(parts)


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--trust", type=click.Path(exists=True, dir_okay=False), help="Trust overlay file.")
@click.option(
    "--layer",
    "layers",
    multiple=True,
    help="Profile layers to apply instead of the default (hl7uk, careflow); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--encoding", default=None, help="Charset when MSH-18 is empty or unsupported.")
@click.option("--quiet", "-q", is_flag=True, help="Print only messages that have issues.")
def validate_command(  # noqa: PLR0917 - one parameter per option
    files: tuple[str, ...],
    trust: str | None,
    layers: tuple[str, ...],
    as_json: bool,
    encoding: str | None,
    quiet: bool,
) -> None:
    """Validate the messages in FILES against the HL7 v2.4 + HL7 UK + CareFlow profile.

    Each issue shows its severity, HL7 error code (table 0357), path, field name and what was
    expected against what was found. Exit 0 when every message is valid (warnings allowed),
    1 when any has errors, 2 when input or profile cannot be used.
    """
    profile = required_profile(trust, layers or None)
    try:  # building the validator checks the profile's settings
        validator = validator_for(profile)
    except ProfileError as exc:
        raise UnreadableInput(f"profile not usable: {exc}") from exc
    documents: list[dict[str, object]] = []
    invalid = unreadable = 0
    for name in files:
        for item in load_messages(name, encoding=encoding, strict=False):
            label = f"{item.source} #{item.number}"
            if item.message is None:
                unreadable += 1
                click.echo(f"{label}: cannot parse: {item.error}", err=True)
                documents.append(
                    {"file": item.source, "number": item.number, "error": str(item.error)}
                )
                continue
            report = validator.validate(item.message)
            if not report.ok:
                invalid += 1
            if as_json:
                document = {"file": item.source, "number": item.number}
                document["control_id"] = item.message.control_id
                document.update(report.to_dict(include_text=True))
                documents.append(document)
                continue
            if quiet and not len(report):
                continue
            kind = "^".join(x for x in (item.message.message_type, item.message.trigger_event) if x)
            click.echo(f"{label} {kind} {item.message.control_id or '-'}: {_summary(report)}")
            for issue in report:
                severity = _MARK.get(issue.severity.value, issue.severity.value)
                click.echo(f"  {severity:7} {int(issue.code)} {issue.text}")
    if as_json:
        click.echo(json.dumps({"profile": list(profile.layers), "messages": documents}, indent=2))
    if unreadable:
        raise SystemExit(EXIT_UNREADABLE)
    if invalid:
        raise SystemExit(EXIT_INVALID)
