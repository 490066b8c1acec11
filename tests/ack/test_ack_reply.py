"""Whether to reply at all: HD-13, policy 2.5, enhanced mode and MSH-15/MSH-16 (HD-10)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eprlink.ack import (
    AckCode,
    AckCondition,
    AckMode,
    Outcome,
    accept_condition,
    ack_mode_for,
    application_condition,
    is_acknowledgement,
    should_reply,
    wants_application_ack,
)
from eprlink.hl7 import Message, parse

BuildAdt = Callable[..., str]


def enhanced(build_adt: BuildAdt, msh15: str, msh16: str = "") -> Message:
    return parse(build_adt(extra_msh=["", "", msh15, msh16]))


def test_hd13_acknowledgement_is_never_acknowledged() -> None:
    ack = parse("MSH|^~\\&|CIE|RCB|EPRLINK|RXX|20250101||ACK^A01^ACK|R1|P|2.4\rMSA|AA|M1\r")
    assert is_acknowledgement(ack)
    for outcome in Outcome:
        assert not should_reply(ack, outcome)
        assert not should_reply(ack, outcome, mode=AckMode.ENHANCED)
    assert not wants_application_ack(ack, Outcome.ACCEPT)


def test_hd13_other_messages_are_not_acknowledgements(build_adt: BuildAdt) -> None:
    assert not is_acknowledgement(parse(build_adt()))
    adr = parse("MSH|^~\\&|CIE|RCB|||20250101||ADR^A19|R1|P|2.4\rMSA|AA|M1\r")
    assert not is_acknowledgement(adr)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_policy_2_1_original_mode_always_replies(build_adt: BuildAdt, outcome: Outcome) -> None:
    received = enhanced(build_adt, "NE", "NE")
    assert should_reply(received, outcome)
    assert should_reply(None, outcome)


# Policy 2.1 / 2.5: AL always, NE never, ER only on error, SU only on success.
REPLY_TABLE = [
    ("AL", Outcome.ACCEPT, True),
    ("AL", Outcome.ERROR, True),
    ("AL", Outcome.REJECT, True),
    ("NE", Outcome.ACCEPT, False),
    ("NE", Outcome.ERROR, False),
    ("NE", Outcome.REJECT, False),
    ("ER", Outcome.ACCEPT, False),
    ("ER", Outcome.ERROR, True),
    ("ER", Outcome.REJECT, True),
    ("SU", Outcome.ACCEPT, True),
    ("SU", Outcome.ERROR, False),
    ("SU", Outcome.REJECT, False),
    ("", Outcome.ACCEPT, True),
    ("", Outcome.REJECT, True),
    ("XX", Outcome.ACCEPT, True),
    ('""', Outcome.ERROR, True),
]


@pytest.mark.parametrize(("msh15", "outcome", "reply"), REPLY_TABLE)
def test_hd10_enhanced_mode_msh15_reply_conditions(
    build_adt: BuildAdt, msh15: str, outcome: Outcome, reply: bool
) -> None:
    received = enhanced(build_adt, msh15, "AL")
    assert should_reply(received, outcome, mode=AckMode.ENHANCED) is reply
    code = AckCode.CA if outcome is Outcome.ACCEPT else AckCode.CE
    if outcome is not Outcome.REJECT:
        assert should_reply(received, code, mode=AckMode.ENHANCED) is reply


def test_hd10_honouring_msh15_can_be_switched_off(build_adt: BuildAdt) -> None:
    received = enhanced(build_adt, "NE", "NE")
    assert not should_reply(received, Outcome.ACCEPT, mode=AckMode.ENHANCED)
    assert should_reply(
        received,
        Outcome.ACCEPT,
        mode=AckMode.ENHANCED,
        honour_msh15=False,
    )


@pytest.mark.parametrize(("msh16", "outcome", "wanted"), REPLY_TABLE)
def test_hd10_msh16_application_ack_conditions(
    build_adt: BuildAdt, msh16: str, outcome: Outcome, wanted: bool
) -> None:
    received = enhanced(build_adt, "AL", msh16)
    assert wants_application_ack(received, outcome) is wanted


def test_hd10_example_al_ne_gives_ca_and_no_application_ack(build_adt: BuildAdt) -> None:
    received = enhanced(build_adt, "AL", "NE")
    mode = ack_mode_for(received, enhanced_partner=True)
    assert mode is AckMode.ENHANCED
    assert should_reply(received, AckCode.CA, mode=mode)
    assert not wants_application_ack(received, Outcome.ACCEPT)
    assert accept_condition(received) is AckCondition.AL
    assert application_condition(received) is AckCondition.NE


def test_policy_2_1_mode_selection(build_adt: BuildAdt) -> None:
    plain = parse(build_adt())
    flagged = enhanced(build_adt, "AL", "")
    app_only = enhanced(build_adt, "", "ER")
    assert ack_mode_for(plain, enhanced_partner=True) is AckMode.ORIGINAL
    assert ack_mode_for(flagged, enhanced_partner=True) is AckMode.ENHANCED
    assert ack_mode_for(app_only, enhanced_partner=True) is AckMode.ENHANCED
    assert ack_mode_for(flagged, enhanced_partner=False) is AckMode.ORIGINAL
    assert ack_mode_for(None, enhanced_partner=True) is AckMode.ORIGINAL
    assert accept_condition(plain) is None
