"""Profiles for the CLI: field names when the profile loads, and a clear error when it must."""

from __future__ import annotations

import click

from eprlink.hl7 import PathError, parse_path
from eprlink.profiles import Profile, ProfileError, load_profile

__all__ = ["field_name", "optional_profile", "required_profile"]


def field_name(profile: Profile | None, path: str) -> str:
    """The profile's name for the element at ``path`` ("" when unknown or no profile loaded).

    A component path names the field and the component: ``Patient Identifier List / ID``.
    """
    if profile is None:
        return ""
    try:
        p = parse_path(path)
    except PathError:
        return ""
    segment = profile.segments.get(p.segment)
    if segment is None:
        return ""
    if p.field is None:
        return segment.name
    definition = segment.field(p.field)
    if definition is None:
        return ""
    name = definition.name
    datatype = profile.datatypes.get(definition.datatype)
    if p.component is not None and datatype is not None:
        part = next((c for c in datatype.components if c.position == p.component), None)
        if part is not None:
            name = f"{name} / {part.name}"
    return name


def optional_profile(trust: str | None) -> Profile | None:
    """Field names are a help, not a need: the full profile, else the base layer, else none."""
    try:
        return load_profile(trust=trust)
    except (ProfileError, OSError) as exc:
        if trust is not None:
            click.echo(f"warning: profile not loaded: {exc}", err=True)
    try:
        return load_profile(layers=())
    except (ProfileError, OSError):
        return None


class _ProfileUnusable(click.ClickException):
    exit_code = 2


def required_profile(trust: str | None, layers: tuple[str, ...] | None = None) -> Profile:
    """The profile a command cannot work without: a clear message and exit 2 when it fails."""
    try:
        if layers is None:
            return load_profile(trust=trust)
        return load_profile(layers, trust=trust)
    except (ProfileError, OSError) as exc:
        raise _ProfileUnusable(f"profile not loaded: {exc}") from exc
