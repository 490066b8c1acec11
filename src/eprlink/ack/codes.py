"""Acknowledgement codes, modes, outcomes and conditions (HL7 tables 0008, 0155, 0516)."""

from __future__ import annotations

from enum import StrEnum

from eprlink.ack.errors import AckUsageError

__all__ = ["AckCode", "AckCondition", "AckMode", "Outcome", "Severity", "ack_code"]


class AckMode(StrEnum):
    """Original mode answers with AA/AE/AR; enhanced mode's accept ACK with CA/CE/CR (2.1)."""

    ORIGINAL = "original"
    ENHANCED = "enhanced"


class Outcome(StrEnum):
    """What happened to a message, independent of the mode that decides the letters of MSA-1.

    Keeping the outcome apart from the code lets the engine decide once and let the partner's
    mode pick AA or CA, and lets MSH-15/MSH-16 conditions be judged without a code table.
    """

    ACCEPT = "accept"
    ERROR = "error"
    REJECT = "reject"


class AckCode(StrEnum):
    """HL7 table 0008, acknowledgement code (MSA-1)."""

    AA = "AA"
    AE = "AE"
    AR = "AR"
    CA = "CA"
    CE = "CE"
    CR = "CR"

    @property
    def is_success(self) -> bool:
        return self in (AckCode.AA, AckCode.CA)

    @property
    def is_error(self) -> bool:
        return self in (AckCode.AE, AckCode.CE)

    @property
    def is_reject(self) -> bool:
        return self in (AckCode.AR, AckCode.CR)

    @property
    def is_commit(self) -> bool:
        """An enhanced-mode accept (commit) acknowledgement rather than an application one."""
        return self in (AckCode.CA, AckCode.CE, AckCode.CR)

    @property
    def outcome(self) -> Outcome:
        if self.is_success:
            return Outcome.ACCEPT
        return Outcome.ERROR if self.is_error else Outcome.REJECT

    @property
    def mode(self) -> AckMode:
        """The mode whose (accept) acknowledgement uses this code."""
        return AckMode.ENHANCED if self.is_commit else AckMode.ORIGINAL


_CODES = {
    (AckMode.ORIGINAL, Outcome.ACCEPT): AckCode.AA,
    (AckMode.ORIGINAL, Outcome.ERROR): AckCode.AE,
    (AckMode.ORIGINAL, Outcome.REJECT): AckCode.AR,
    (AckMode.ENHANCED, Outcome.ACCEPT): AckCode.CA,
    (AckMode.ENHANCED, Outcome.ERROR): AckCode.CE,
    (AckMode.ENHANCED, Outcome.REJECT): AckCode.CR,
}


def ack_code(outcome: Outcome | AckCode, mode: AckMode = AckMode.ORIGINAL) -> AckCode:
    """The MSA-1 code for an outcome in a mode (table 2.1).

    A code passed in is checked against the mode instead of translated, because CA in an
    original-mode reply (or AA in an accept ACK) is a configuration mistake worth stopping.
    """
    if outcome is Outcome.ACCEPT:  # the common case, by identity: enum hashing is slow
        if mode is AckMode.ORIGINAL:
            return AckCode.AA
        if mode is AckMode.ENHANCED:
            return AckCode.CA
    if isinstance(outcome, AckCode):
        if outcome.mode is not mode:
            raise AckUsageError(f"{outcome} is not a {mode} acknowledgement code")
        return outcome
    return _CODES[(mode, Outcome(outcome))]


class Severity(StrEnum):
    """HL7 table 0516, error severity (ERR-4 from v2.5)."""

    ERROR = "E"
    WARNING = "W"
    INFORMATION = "I"


class AckCondition(StrEnum):
    """HL7 table 0155, accept/application acknowledgement conditions (MSH-15, MSH-16)."""

    AL = "AL"
    NE = "NE"
    ER = "ER"
    SU = "SU"

    def wants(self, outcome: Outcome | AckCode) -> bool:
        """Whether a reply is wanted for this outcome under this condition."""
        result = outcome.outcome if isinstance(outcome, AckCode) else Outcome(outcome)
        if self is AckCondition.AL:
            return True
        if self is AckCondition.NE:
            return False
        if self is AckCondition.SU:
            return result is Outcome.ACCEPT
        return result is not Outcome.ACCEPT

    @classmethod
    def read(cls, value: str | None) -> AckCondition | None:
        """A condition from a field value; ``None`` when blank, null or not in the table."""
        if not value:
            return None
        try:
            return cls(value)
        except ValueError:
            return None
