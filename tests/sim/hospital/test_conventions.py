"""HL7 UK conventions in every message: MSH, Z-segments last, ``""`` only to delete."""

from __future__ import annotations

from eprlink.hl7 import Message
from eprlink.sim.hospital import Hospital, TimedMessage, TrustSettings

# Where the generator deletes a stored value: phone numbers (A31/A08 updates), the discharge
# undone by an A13, and the ready-for-discharge date when fitness is withdrawn (A08).
_DELETES = {("PID", 13), ("PID", 14), ("PV1", 36), ("PV1", 37), ("PV1", 45), ("ZU1", 24)}


def _all(weekday: list[TimedMessage], everything: list[Message]) -> list[Message]:
    return [event.message for event in weekday] + everything


def test_message_header(weekday: list[TimedMessage], everything: list[Message]) -> None:
    for message in _all(weekday, everything):
        assert len((message.raw("MSH-9") or "").split("^")) == 3
        assert message.get("MSH-4") == "RZZ"
        assert message.get("MSH-11") == "P"
        assert message.get("MSH-12") == "2.4"
        assert message.get("MSH-17") == "GBR"
        assert message.get("MSH-18") == "UNICODE UTF-8"
        assert message.get("MSH-19") == "EN"


def test_header_values_are_settings() -> None:
    trust = TrustSettings(
        ods_code="RYY",
        sending_application="CFLOW",
        charset=None,
        profile_id="iTKv1.0",
        processing_id="T",
    )
    message = Hospital(1, beds=10, trust=trust).register().messages[0]
    assert message.get("MSH-3") == "CFLOW" and message.get("MSH-4") == "RYY"
    assert message.get("MSH-18") is None
    assert message.get("MSH-21") == "iTKv1.0"
    assert message.get("MSH-11") == "T"
    assert message.get("PID-3.4") == "RYY"


def test_z_segments_come_last(weekday: list[TimedMessage], everything: list[Message]) -> None:
    for message in _all(weekday, everything):
        ids = [segment.id for segment in message.segments()]
        first = next((i for i, sid in enumerate(ids) if sid.startswith("Z")), len(ids))
        assert all(sid.startswith("Z") for sid in ids[first:]), ids


def test_explicit_null_only_where_a_value_is_deleted(
    weekday: list[TimedMessage], everything: list[Message]
) -> None:
    nulls = set()
    for message in _all(weekday, everything):
        for segment in message.segments():
            for field in range(1, len(segment) + 1):
                raw = segment.raw(field)
                if raw is not None and '""' in raw:
                    assert raw == '""', (segment.id, field, raw)
                    nulls.add((segment.id, field))
    assert nulls <= _DELETES
    assert ("PID", 13) in nulls and ("PV1", 45) in nulls
