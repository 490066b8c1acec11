"""TLS and mutual TLS on loopback with trustme certificates (policy 6.1, F18, F20)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme

from eprlink.mllp import (
    ConnectError,
    MLLPClient,
    MLLPError,
    MLLPServer,
    PeerInfo,
    SessionPolicy,
    TLSConfigError,
    client_context,
    loop_factory,
    server_context,
)

pytestmark = pytest.mark.network

Run = Callable[..., Any]


class Pki:
    """A CA, a server certificate for localhost and a client certificate, as PEM files."""

    def __init__(
        self, root: Path, *, expired_server: bool = False, expired_client: bool = False
    ) -> None:
        self.ca = trustme.CA()
        self.ca_file = str(root / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
        validity: dict[str, Any] = (
            {"not_before": past, "not_after": past + dt.timedelta(days=1)} if expired_server else {}
        )
        server = self.ca.issue_cert("localhost", **validity)
        self.server_cert = str(root / "server.pem")
        self.server_key = str(root / "server.key")
        server.cert_chain_pems[0].write_to_path(self.server_cert)
        server.private_key_pem.write_to_path(self.server_key)
        client = self.ca.issue_cert(
            "sender.trust.example",
            common_name="sender.trust.example",
            **(
                {"not_before": past, "not_after": past + dt.timedelta(days=1)}
                if expired_client
                else {}
            ),
        )
        self.client_cert = str(root / "client.pem")
        self.client_key = str(root / "client.key")
        client.cert_chain_pems[0].write_to_path(self.client_cert)
        client.private_key_pem.write_to_path(self.client_key)
        self.client_der = ssl.PEM_cert_to_DER_cert(client.cert_chain_pems[0].bytes().decode())


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


def ack_handler(seen: list[PeerInfo] | None = None) -> Any:
    async def handler(payload: bytes, peer: PeerInfo) -> bytes:
        if seen is not None:
            seen.append(peer)
        return b"MSA|AA|" + payload[-3:]

    return handler


async def exchange(server: MLLPServer, context: ssl.SSLContext) -> bytes:
    client = MLLPClient(
        "127.0.0.1",
        server.port,
        ssl=context,
        server_hostname="localhost",
        connect_timeout=3,
        ack_timeout=3,
    )
    try:
        return await client.send(b"MSH|ID1", accept=lambda r: r.endswith(b"ID1"))
    finally:
        await client.close()


def test_tls_sender_and_listener(arun: Run, pki: Pki) -> None:
    seen: list[PeerInfo] = []

    async def main() -> None:
        context = server_context(pki.server_cert, pki.server_key)
        async with MLLPServer(ack_handler(seen), ssl=context) as server:
            assert await exchange(server, client_context(cafile=pki.ca_file)) == b"MSA|AA|ID1"

    arun(main())
    assert seen[0].tls
    assert seen[0].certificate is None  # no client certificate asked for


def test_mutual_tls_exposes_client_identity(arun: Run, pki: Pki) -> None:
    seen: list[PeerInfo] = []

    async def main() -> None:
        context = server_context(
            pki.server_cert, pki.server_key, client_ca=pki.ca_file, require_client_cert=True
        )
        async with MLLPServer(ack_handler(seen), ssl=context) as server:
            sender = client_context(
                cafile=pki.ca_file, certfile=pki.client_cert, keyfile=pki.client_key
            )
            assert await exchange(server, sender) == b"MSA|AA|ID1"

    arun(main())
    certificate = seen[0].certificate
    assert certificate is not None
    assert certificate.sha256 == hashlib.sha256(pki.client_der).hexdigest()
    assert "commonName=sender.trust.example" in certificate.subject
    assert "DNS:sender.trust.example" in certificate.alt_names


def test_tls_wrong_ca_is_refused(arun: Run, pki: Pki, tmp_path: Path) -> None:
    other = trustme.CA()
    other_file = str(tmp_path / "other-ca.pem")
    other.cert_pem.write_to_path(other_file)

    async def main() -> None:
        context = server_context(pki.server_cert, pki.server_key)
        async with MLLPServer(ack_handler(), ssl=context) as server:
            with pytest.raises(ConnectError) as info:
                await exchange(server, client_context(cafile=other_file))
            assert info.value.tls

    arun(main())


def test_tls_expired_server_certificate_is_refused(arun: Run, tmp_path: Path) -> None:
    expired = Pki(tmp_path, expired_server=True)

    async def main() -> None:
        context = server_context(expired.server_cert, expired.server_key)
        async with MLLPServer(ack_handler(), ssl=context) as server:
            with pytest.raises(ConnectError) as info:
                await exchange(server, client_context(cafile=expired.ca_file))
            assert "expired" in info.value.reason

    arun(main())


def test_tls_host_name_is_checked(arun: Run, pki: Pki) -> None:
    async def main() -> None:
        context = server_context(pki.server_cert, pki.server_key)
        async with MLLPServer(ack_handler(), ssl=context) as server:
            client = MLLPClient(
                "127.0.0.1",
                server.port,
                ssl=client_context(cafile=pki.ca_file),
                server_hostname="wrong.example",
                connect_timeout=3,
            )
            with pytest.raises(ConnectError):
                await client.connect()

    arun(main())


def test_f20_missing_client_certificate_refused_when_required(arun: Run, pki: Pki) -> None:
    async def main() -> None:
        context = server_context(
            pki.server_cert, pki.server_key, client_ca=pki.ca_file, require_client_cert=True
        )
        policy = SessionPolicy(idle_timeout=3)
        async with MLLPServer(ack_handler(), ssl=context, policy=policy) as server:
            with pytest.raises(MLLPError):  # TLS 1.3 may fail at connect or at the first read
                await exchange(server, client_context(cafile=pki.ca_file))
            async with asyncio.timeout(3):
                while server.counters.senders_refused_total == 0:
                    await asyncio.sleep(0.01)
            assert server.counters.mllp_frames_received_total == 0

    arun(main())


def test_f18_plaintext_to_tls_listener_counts_as_handshake_failure(arun: Run, pki: Pki) -> None:
    async def main() -> None:
        context = server_context(pki.server_cert, pki.server_key)
        async with MLLPServer(ack_handler(), ssl=context, handshake_timeout=2) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"\x0bMSH|plain\x1c\x0d")
            async with asyncio.timeout(3):
                assert await reader.read() == b""
            assert server.counters.senders_refused_total == 1
            assert server.counters.mllp_frames_received_total == 0
            writer.close()

    arun(main())


def test_tls_config_errors_name_the_path(tmp_path: Path, pki: Pki) -> None:
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(TLSConfigError) as info:
        server_context(missing, pki.server_key)
    assert info.value.path is not None and "missing.pem" in info.value.path
    with pytest.raises(TLSConfigError) as info:
        client_context(cafile=missing)
    assert info.value.path == missing
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(TLSConfigError):
        client_context(cafile=str(garbage))
    with pytest.raises(TLSConfigError):
        server_context(pki.server_cert, pki.server_key, require_client_cert=True)


def test_tls_contexts_enforce_tls12_minimum_and_verification(pki: Pki) -> None:
    listener = server_context(pki.server_cert, pki.server_key, client_ca=pki.ca_file)
    sender = client_context(cafile=pki.ca_file)
    assert listener.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert sender.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert sender.verify_mode == ssl.CERT_REQUIRED
    assert sender.check_hostname
    assert listener.verify_mode == ssl.CERT_OPTIONAL
    assert listener.options & ssl.OP_NO_COMPRESSION


def test_f20_expired_client_certificate_refused(arun: Run, tmp_path: Path) -> None:
    expired = Pki(tmp_path, expired_client=True)

    async def main() -> None:
        context = server_context(
            expired.server_cert,
            expired.server_key,
            client_ca=expired.ca_file,
            require_client_cert=True,
        )
        async with MLLPServer(ack_handler(), ssl=context) as server:
            sender = client_context(
                cafile=expired.ca_file, certfile=expired.client_cert, keyfile=expired.client_key
            )
            with pytest.raises(MLLPError):
                await exchange(server, sender)
            async with asyncio.timeout(3):
                while server.counters.senders_refused_total == 0:
                    await asyncio.sleep(0.01)
            assert server.counters.mllp_frames_received_total == 0

    arun(main())


def test_mutual_tls_and_refusal_on_loop_factory_loop(pki: Pki) -> None:
    """The listener's own accept path must hold on uvloop too (when installed)."""

    async def main() -> tuple[bytes, int]:
        context = server_context(
            pki.server_cert, pki.server_key, client_ca=pki.ca_file, require_client_cert=True
        )
        async with MLLPServer(ack_handler(), ssl=context) as server:
            sender = client_context(
                cafile=pki.ca_file, certfile=pki.client_cert, keyfile=pki.client_key
            )
            reply = await exchange(server, sender)
            with pytest.raises(MLLPError):
                await exchange(server, client_context(cafile=pki.ca_file))
            async with asyncio.timeout(3):
                while server.counters.senders_refused_total == 0:
                    await asyncio.sleep(0.01)
            return reply, server.counters.senders_refused_total

    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        assert runner.run(asyncio.wait_for(main(), 10)) == (b"MSA|AA|ID1", 1)
