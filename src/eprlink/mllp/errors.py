"""Errors of the MLLP layer: each carries the data a caller needs to decide (retry, alert, close).

Foreign exceptions (``OSError``, ``ssl.SSLError``, ``TimeoutError``) are mapped to these at the
package boundary with ``raise ... from exc``, so the engine catches one family and the cause stays
on the traceback. Messages name hosts, ports, paths and limits, never payload bytes or secrets.
"""

from __future__ import annotations

from eprlink.errors import EprlinkError

__all__ = [
    "AckTimeoutError",
    "BindError",
    "ConnectError",
    "ConnectionClosedError",
    "FramingError",
    "MLLPError",
    "NoAckError",
    "PayloadError",
    "PolicyError",
    "ResponseTooLargeError",
    "TLSConfigError",
]


class MLLPError(EprlinkError):
    """Base of the MLLP layer's errors."""


class PolicyError(MLLPError, ValueError):
    """A limit or timeout that cannot work (zero, negative, or inconsistent with another).

    Raised when the policy object is built, so a bad configuration fails at start-up rather than
    on the first connection.
    """

    def __init__(self, setting: str, reason: str) -> None:
        self.setting = setting
        self.reason = reason
        super().__init__(f"invalid MLLP setting {setting}: {reason}")


class PayloadError(MLLPError, ValueError):
    """A payload that cannot be framed because it contains a start or end block byte.

    Sending it would make the peer split or restart the frame (FR-5, FR-8), so it is refused
    before any byte reaches the wire.
    """

    def __init__(self, byte: int, offset: int) -> None:
        self.byte = byte
        self.offset = offset
        super().__init__(f"payload contains block byte 0x{byte:02X} at offset {offset}")


class BindError(MLLPError):
    """A listener could not bind its address."""

    def __init__(self, host: str | None, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        super().__init__(f"cannot listen on {host or '*'}:{port}: {reason}")


class ConnectError(MLLPError):
    """No connection was made, so nothing was sent: retrying cannot cause a duplicate."""

    def __init__(self, host: str, port: int, reason: str, *, tls: bool = False) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        self.tls = tls
        what = "TLS handshake with" if tls else "connect to"
        super().__init__(f"{what} {host}:{port} failed: {reason}")


class NoAckError(MLLPError):
    """A message may have been sent but no usable response came back (AK-2, AK-4, AK-6).

    The connection is already closed when this is raised, so a late response cannot be matched
    to the next message. The peer may have received the message: a retry can be a duplicate.
    """

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        super().__init__(f"no acknowledgement from {host}:{port}: {reason}")


class AckTimeoutError(NoAckError):
    """No accepted response within the ACK timeout."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(host, port, f"no matching response within {timeout:g} s")


class ConnectionClosedError(NoAckError):
    """The peer closed or reset the connection before an accepted response arrived."""


class ResponseTooLargeError(NoAckError):
    """A response passed the maximum response size and was abandoned at the limit."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.limit = limit
        super().__init__(host, port, f"response larger than {limit} bytes")


class FramingError(NoAckError):
    """The response stream broke the framing rules past recovery (junk limit, strict FR-4)."""


class TLSConfigError(MLLPError):
    """A certificate, key or CA file could not be used.

    Carries the path so an operator can find the file; never the key material or a password.
    """

    def __init__(self, path: str | None, reason: str) -> None:
        self.path = path
        self.reason = reason
        where = f" ({path})" if path is not None else ""
        super().__init__(f"TLS configuration error{where}: {reason}")
