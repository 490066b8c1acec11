"""The third party's side in one call: send a message to a simulator port, collect the answers.

An enhanced-mode exchange returns two frames (commit ACK, then application ACK), which a
sender that stops at the first matching ACK would never see, so this reads as many as asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as _ssl

from eprlink.mllp import Decoder, Frame, encode

__all__ = ["exchange"]


async def exchange(
    host: str,
    port: int,
    payload: bytes,
    *,
    replies: int = 1,
    timeout: float = 10.0,
    ssl: _ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> list[bytes]:
    """Send ``payload`` on a new connection and return up to ``replies`` answer frames
    (fewer when the peer closes or ``timeout`` seconds pass)."""
    answers: list[bytes] = []
    reader, writer = await asyncio.open_connection(
        host, port, ssl=ssl, server_hostname=server_hostname if ssl is not None else None
    )
    decoder = Decoder()
    try:
        writer.write(encode(payload))
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while len(answers) < replies:
                    data = await reader.read(65536)
                    events = decoder.feed(data) if data else decoder.eof()
                    answers.extend(e.payload for e in events if isinstance(e, Frame))
                    if not data:
                        break
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    return answers[:replies]
