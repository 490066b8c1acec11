"""The public API is pinned: adding or removing a public name is a deliberate act."""

from __future__ import annotations

import eprlink
import eprlink.hl7

EXPECTED_HL7 = {
    "CE", "CWE", "CX", "HD", "NM", "PL", "XAD", "XCN", "XPN", "HL7Date", "HL7DateTime",
    "Precision", "DEFAULT_CHARSETS", "DEFAULT_DELIMITERS", "DEFAULT_MAX_SEGMENTS", "NULL",
    "ChangeKind", "Component", "Delimiters", "Difference", "Field", "Formatting", "Group",
    "HL7Error", "Leniency", "Location", "Message", "ParseError", "Path", "PathError",
    "Repetition", "Segment", "Subcomponent", "codec_for", "create", "diff", "escape",
    "format_timestamp", "new_control_id", "parse", "parse_path", "split_messages", "unescape",
}  # fmt: skip


def test_root_api() -> None:
    assert set(eprlink.__all__) == {"EprlinkError", "ErrorCode", "__version__"}


def test_hl7_api_is_pinned() -> None:
    assert set(eprlink.hl7.__all__) == EXPECTED_HL7
    for name in eprlink.hl7.__all__:
        assert hasattr(eprlink.hl7, name), name


def test_one_root_error() -> None:
    assert issubclass(eprlink.hl7.ParseError, eprlink.EprlinkError)
    assert issubclass(eprlink.hl7.PathError, eprlink.EprlinkError)


def test_message_contract_methods() -> None:
    message = eprlink.hl7.parse('MSH|^~\\&|A|B|||||ADT^A01|1|P|2.4\rPID|1||""\r')
    assert message.get("PID-3") == ""
    assert message.get("PID-4") is None
    assert message.get("MSH-9.2") == "A01"
    assert message.to_er7().startswith("MSH|")
