"""The seam between the engine and profile validation: a message in, ACK problems out.

The inbound path only knows :data:`ContentCheck`; a channel without validation has none, so the
engine runs without any profile loaded. :func:`profile_check` adapts the profile validator's
report into :class:`~eprlink.ack.Problem` values, which carry positions and codes only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from eprlink.ack import Problem, Severity
from eprlink.engine.config import ProfilesSection
from eprlink.engine.errors import EngineError
from eprlink.hl7 import Message
from eprlink.profiles import Profile, ProfileError, load_profile
from eprlink.profiles.report import Issue
from eprlink.profiles.validate import Validator

__all__ = ["ContentCheck", "load_check", "problem_of", "profile_check"]

ContentCheck = Callable[[Message], Sequence[Problem]]
"""Errors and warnings about a message's content (information-level findings are dropped)."""


def problem_of(issue: Issue) -> Problem:
    """An issue as a problem for the ACK (see :meth:`Problem.from_finding`)."""
    return Problem.from_finding(issue)


def profile_check(profile: Profile) -> ContentCheck:
    """A content check against ``profile`` (compiled once, reused for every message)."""
    validator = Validator(profile)

    def check(message: Message) -> list[Problem]:
        report = validator.validate(message)
        return [problem_of(i) for i in report.issues if i.severity.value != Severity.INFORMATION]

    return check


def load_check(section: ProfilesSection) -> ContentCheck:
    """Load the configured profile layers and Trust overlay into a check."""
    try:
        return profile_check(load_profile(section.layers, trust=section.trust))
    except (ProfileError, OSError) as exc:  # settings are checked when the validator is built
        raise EngineError(f"cannot load the validation profile: {exc}") from exc
