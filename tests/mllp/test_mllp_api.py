"""The mllp package's public names and its import contract (design section 2, rules 1 and 2)."""

from __future__ import annotations

import ast
from pathlib import Path

import eprlink.mllp

PACKAGE = Path(eprlink.mllp.__file__).parent

PUBLIC = {
    "COMMIT_ACK",
    "COMMIT_NAK",
    "AckTimeoutError",
    "Backoff",
    "BindError",
    "ClientCounters",
    "CommitAck",
    "CommitNak",
    "ConnectError",
    "ConnectionClosedError",
    "Decoder",
    "Event",
    "Frame",
    "FrameCapExceeded",
    "FrameOversize",
    "FrameTruncated",
    "FramingError",
    "FramingMode",
    "FramingPolicy",
    "FramingViolation",
    "Handler",
    "JunkDiscarded",
    "JunkLimitExceeded",
    "Link",
    "MLLPClient",
    "MLLPCounters",
    "MLLPError",
    "MLLPReceiver",
    "MLLPServer",
    "NoAckError",
    "OversizeHook",
    "PayloadError",
    "PeerCertificate",
    "PeerInfo",
    "PolicyError",
    "ReceiveHandler",
    "ResponseTooLargeError",
    "SessionPolicy",
    "TLSConfigError",
    "TruncationReason",
    "client_context",
    "encode",
    "encode_commit_ack",
    "encode_commit_nak",
    "loop_factory",
    "peer_certificate",
    "server_context",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_public_api_is_pinned() -> None:
    assert set(eprlink.mllp.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(eprlink.mllp, name), name


def test_errors_share_the_eprlink_root() -> None:
    from eprlink.errors import EprlinkError

    assert issubclass(eprlink.mllp.MLLPError, EprlinkError)
    for name in ("AckTimeoutError", "ConnectionClosedError", "ResponseTooLargeError"):
        assert issubclass(getattr(eprlink.mllp, name), eprlink.mllp.NoAckError)


def test_mllp_never_imports_hl7() -> None:
    for path in PACKAGE.glob("*.py"):
        for module in imported_modules(path):
            assert not module.startswith("eprlink.hl7"), (path.name, module)
            assert module != "hl7", (path.name, module)


def test_framing_is_pure() -> None:
    forbidden = {"asyncio", "socket", "ssl", "selectors", "threading", "time"}
    modules = imported_modules(PACKAGE / "framing.py")
    assert not {m.split(".")[0] for m in modules} & forbidden
    assert {m for m in modules if m.startswith("eprlink")} <= {"eprlink.mllp.errors"}
    errors_imports = imported_modules(PACKAGE / "errors.py")
    assert {m for m in errors_imports if m.startswith("eprlink")} == {"eprlink.errors"}
