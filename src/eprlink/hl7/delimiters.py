"""The five HL7 v2 delimiters a message declares in MSH-1 and MSH-2."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_DELIMITERS", "Delimiters"]


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Delimiters as declared by one message, kept verbatim so output matches input.

    ``subcomponent`` is ``None`` when MSH-2 declares only three characters; ``truncation`` is the
    optional fifth character introduced in v2.7.
    """

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str | None = "&"
    truncation: str | None = None

    @property
    def encoding_characters(self) -> str:
        """MSH-2 as it is written."""
        return (
            self.component
            + self.repetition
            + self.escape
            + (self.subcomponent or "")
            + (self.truncation or "")
        )

    @classmethod
    def from_msh2(cls, field: str, msh2: str) -> Delimiters:
        """Delimiters from MSH-1 and an MSH-2 that the caller has already checked."""
        return cls(
            field=field,
            component=msh2[0],
            repetition=msh2[1],
            escape=msh2[2],
            subcomponent=msh2[3] if len(msh2) > 3 else None,
            truncation=msh2[4] if len(msh2) > 4 else None,
        )


DEFAULT_DELIMITERS = Delimiters()
