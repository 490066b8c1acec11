"""Engine errors: configuration mistakes (with file, line and expectation) and operator misuse."""

from __future__ import annotations

from dataclasses import dataclass

from eprlink.errors import EprlinkError

__all__ = ["ConfigError", "ConfigProblem", "EngineError", "OperatorError"]


class EngineError(EprlinkError):
    """Base of the engine's errors."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One mistake in a configuration file, located so an operator can go straight to it."""

    file: str
    line: int | None
    key: str
    expected: str
    found: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        found = "" if self.found is None else f", found {self.found}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} expected {self.expected}{found}"


class ConfigError(EngineError):
    """The configuration cannot be used. Carries every problem found, not only the first, so
    one edit-run cycle fixes them all."""

    def __init__(self, problems: list[ConfigProblem] | tuple[ConfigProblem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class OperatorError(EngineError):
    """An operations request that cannot be carried out as asked (unknown destination, missing
    reason for an audited action)."""
