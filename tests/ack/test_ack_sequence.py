"""The sequence number protocol (MSH-13/MSA-4, reference 3.5) on both sides, as pure state."""

from __future__ import annotations

import pytest

from eprlink.ack import (
    RESYNC_NUMBER,
    START_NUMBER,
    AckUsageError,
    Outcome,
    ReceiverSequence,
    SenderAction,
    SenderSequence,
    SequenceStatus,
)
from eprlink.errors import ErrorCode


def test_seq_start_with_zero_on_new_link_answers_minus_one() -> None:
    receiver = ReceiverSequence()
    check = receiver.check(START_NUMBER)
    assert check.status is SequenceStatus.START
    assert check.expected == RESYNC_NUMBER
    assert not check.apply
    assert check.state == receiver
    assert check.outcome is Outcome.ACCEPT


def test_seq_start_with_zero_answers_last_accepted_plus_one() -> None:
    check = ReceiverSequence(last_accepted=41).check("0")
    assert (check.status, check.expected) == (SequenceStatus.START, 42)
    assert check.state.last_accepted == 41


def test_seq_reference_example_start_expects_1() -> None:
    """Reference 3.5: MSH-13 0 answered by MSA-4 1 once the receiver has stored 0 messages."""
    sender = SenderSequence()
    step = sender.after_start(1)
    assert (step.action, step.number) == (SenderAction.SEND, 1)


def test_seq_normal_increment() -> None:
    receiver = ReceiverSequence(last_accepted=5)
    check = receiver.check(6)
    assert (check.status, check.expected, check.apply) == (SequenceStatus.ACCEPT, 7, True)
    assert check.state == ReceiverSequence(last_accepted=6)
    sender = SenderSequence(next_number=6)
    step = sender.after_ack(check.expected, accepted=True)
    assert (step.action, step.number, step.state) == (SenderAction.SEND, 7, SenderSequence(7))


def test_seq_new_receiver_adopts_first_positive_number() -> None:
    check = ReceiverSequence().check(1000)
    assert (check.status, check.expected) == (SequenceStatus.ACCEPT, 1001)
    assert check.state.last_accepted == 1000


def test_seq_duplicate_lower_than_expected_is_acknowledged_not_applied() -> None:
    receiver = ReceiverSequence(last_accepted=6)
    for number in (6, 3, 1):
        check = receiver.check(number)
        assert check.status is SequenceStatus.DUPLICATE
        assert not check.apply
        assert check.expected == 7
        assert check.state == receiver
        assert check.outcome is Outcome.ACCEPT
    # The sender whose ACK for 6 was lost learns that 6 arrived and moves on.
    step = SenderSequence(next_number=6).after_ack(7, accepted=True)
    assert (step.action, step.number) == (SenderAction.SEND, 7)


def test_seq_gap_higher_than_expected_is_rejected_with_expected_number() -> None:
    receiver = ReceiverSequence(last_accepted=6)
    check = receiver.check(9)
    assert check.status is SequenceStatus.GAP
    assert not check.apply
    assert check.expected == 7
    assert check.state == receiver
    assert check.outcome is Outcome.REJECT
    assert check.problem is not None
    assert check.problem.location == "MSH-13"
    # A sender still holding 7 and 8 resends from 7; one that does not must stop.
    resend = SenderSequence(next_number=9).after_ack(7, accepted=False, oldest_available=7)
    assert (resend.action, resend.number, resend.state) == (
        SenderAction.SEND,
        7,
        SenderSequence(7),
    )
    halt = SenderSequence(next_number=9).after_ack(7, accepted=False)
    assert (halt.action, halt.number, halt.state) == (
        SenderAction.HALT,
        None,
        SenderSequence(9),
    )


def test_seq_resync_minus_one_forgets_and_adopts_next() -> None:
    receiver = ReceiverSequence(last_accepted=500)
    check = receiver.check(RESYNC_NUMBER)
    assert (check.status, check.expected, check.apply) == (SequenceStatus.RESYNC, -1, False)
    assert check.state == ReceiverSequence()
    adopted = check.state.check(17)
    assert (adopted.status, adopted.expected) == (SequenceStatus.ACCEPT, 18)
    step = SenderSequence(next_number=17).after_start(RESYNC_NUMBER)
    assert (step.action, step.number) == (SenderAction.SEND, 17)


@pytest.mark.parametrize(
    ("number", "code"),
    [(None, ErrorCode.REQUIRED_FIELD_MISSING), ("", ErrorCode.REQUIRED_FIELD_MISSING)]
    + [(n, ErrorCode.DATA_TYPE_ERROR) for n in ("one", "1.5", "-2", -7, "+3", " 4")],
)
def test_seq_invalid_msh13(number: object, code: ErrorCode) -> None:
    check = ReceiverSequence(last_accepted=3).check(number)  # type: ignore[arg-type]
    assert check.status is SequenceStatus.INVALID
    assert not check.apply
    assert check.expected == 4
    assert check.problem is not None
    assert check.problem.code is code


@pytest.mark.parametrize(
    ("expected", "oldest", "action", "number"),
    [
        (5, None, SenderAction.SEND, 5),  # receiver expects our head
        (6, None, SenderAction.SEND, 6),  # head already stored (ACK was lost)
        (3, 2, SenderAction.SEND, 3),  # receiver lost 3..4 and we still hold them
        (3, None, SenderAction.HALT, None),  # ... and we do not
        (9, None, SenderAction.HALT, None),  # receiver is ahead of us
        (None, None, SenderAction.HALT, None),  # partner does not take part
        (-1, None, SenderAction.SEND, 5),  # receiver adopts our number
    ],
)
def test_seq_sender_after_start(
    expected: int | None, oldest: int | None, action: SenderAction, number: int | None
) -> None:
    step = SenderSequence(next_number=5).after_start(expected, oldest_available=oldest)
    assert (step.action, step.number) == (action, number)


def test_seq_sender_after_ack_without_msa4_follows_the_code() -> None:
    sender = SenderSequence(next_number=5)
    assert sender.after_ack(None, accepted=True).number == 6
    assert sender.after_ack(None, accepted=False).number == 5
    assert sender.after_ack(-1, accepted=True).number == 6
    assert sender.after_ack(5, accepted=False).number == 5


def test_seq_state_is_a_saveable_value() -> None:
    state = ReceiverSequence(last_accepted=12)
    assert ReceiverSequence(**{"last_accepted": state.last_accepted}) == state
    with pytest.raises(AttributeError):
        state.last_accepted = 13  # type: ignore[misc]
    with pytest.raises(AckUsageError):
        ReceiverSequence(last_accepted=0)
    with pytest.raises(AckUsageError):
        SenderSequence(next_number=0)
    with pytest.raises(AckUsageError):
        SenderSequence(next_number=True)
