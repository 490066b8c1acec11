"""A minimal HTTP/1.1 POST for HTTP destinations: one request per connection, status only.

The engine needs nothing more than "did the server take it" (2xx), so a small client on
asyncio streams avoids a dependency. Responses are read only as far as the status line and
headers, within a size limit; bodies are never read (they could be anything).
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
from urllib.parse import urlsplit

from eprlink.engine.errors import EngineError
from eprlink.mllp import ConnectError, client_context
from eprlink.mllp.errors import MLLPError

__all__ = ["HTTPError", "post"]

_HEADER_LIMIT = 64 * 1024
_DEFAULT_TYPE = "x-application/hl7-v2+er7"


class HTTPError(EngineError):
    """The request may have reached the server but no status came back."""


def _request(path: str, host: str, body: bytes, headers: tuple[tuple[str, str], ...]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}"]
    names = {name.lower() for name, _ in headers}
    if "content-type" not in names:
        lines.append(f"Content-Type: {_DEFAULT_TYPE}")
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


async def post(
    url: str,
    body: bytes,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    timeout: float = 30.0,
    ssl: _ssl.SSLContext | None = None,
) -> int:
    """POST ``body`` and return the status code.

    Raises :class:`~eprlink.mllp.ConnectError` when no connection was made (nothing was sent)
    and :class:`HTTPError` when the outcome is unknown (timeout, connection lost, bad reply).
    """
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    context = (ssl or client_context()) if secure else None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        async with asyncio.timeout_at(deadline):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=context, limit=_HEADER_LIMIT
            )
    except (OSError, TimeoutError, MLLPError) as exc:
        raise ConnectError(host, port, type(exc).__name__, tls=secure) from exc
    netloc = parts.netloc.rsplit("@", 1)[-1]
    try:
        async with asyncio.timeout_at(deadline):
            writer.write(_request(path, netloc, body, headers))
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise HTTPError(f"no response from {host}:{port} ({type(exc).__name__})") from exc
    finally:
        writer.close()
        try:
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            writer.transport.abort()
    fields = head.split(b"\r\n", 1)[0].split(None, 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        raise HTTPError(f"unreadable response from {host}:{port}")
    return int(fields[1])
