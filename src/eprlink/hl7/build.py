"""Creating new messages with a filled MSH (control id, timestamp, version)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from eprlink.hl7.charsets import codec_for
from eprlink.hl7.delimiters import DEFAULT_DELIMITERS, Delimiters
from eprlink.hl7.escape import escape
from eprlink.hl7.message import Message

__all__ = ["create", "format_timestamp", "new_control_id"]


def new_control_id() -> str:
    """A 20-character control id (ST length in v2.4), unique without coordination."""
    return uuid.uuid4().hex[:20]


def format_timestamp(moment: datetime) -> str:
    """TS/DTM to the second, with the UTC offset when the datetime is aware."""
    text = moment.strftime("%Y%m%d%H%M%S")
    if moment.tzinfo is not None:
        text += moment.strftime("%z")
    return text


def create(
    message_type: str,
    *,
    sending_application: str = "EPRLINK",
    sending_facility: str = "",
    receiving_application: str = "",
    receiving_facility: str = "",
    control_id: str | None = None,
    timestamp: datetime | None = None,
    processing_id: str = "P",
    version: str = "2.4",
    charset: str | None = None,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
) -> Message:
    """A message holding only its MSH; add segments and set fields from there.

    ``message_type`` uses ``^`` between its parts whatever the delimiters (``ADT^A01^ADT_A01``).
    ``charset`` is written to MSH-18 as given (an HL7 table 0211 name such as ``UNICODE UTF-8``).
    """
    d = delimiters

    def value(text: str) -> str:
        return escape(text, d)

    moment = timestamp if timestamp is not None else datetime.now(UTC)
    fields = [
        "MSH",
        d.encoding_characters,
        value(sending_application),
        value(sending_facility),
        value(receiving_application),
        value(receiving_facility),
        format_timestamp(moment),
        "",
        d.component.join(value(part) for part in message_type.split("^")),
        value(control_id if control_id is not None else new_control_id()),
        value(processing_id),
        value(version),
    ]
    if charset is not None:
        fields.extend(["", "", "", "", "", value(charset)])
    codec = (codec_for(charset) if charset else None) or "utf-8"
    return Message([d.field.join(fields)], d, charset=codec)
