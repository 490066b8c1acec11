"""HD-12 sender identity and F20 certificate mapping on a listener, on loopback.

Plain TCP listeners check MSH-3/MSH-4 against ``allowed_senders``; mutual-TLS listeners map
each client certificate (CN, DNS name or SHA-256 pin) to the senders it may speak for, and a
certificate mapped to nothing is refused inside the handshake. Certificates come from trustme.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme

from eprlink.engine import ConfigError, Engine, dump_config, effective_config, load_config_text
from eprlink.engine.access import (
    CERTIFICATE_MISSING,
    CERTIFICATE_NOT_MAPPED,
    SENDER_NOT_ALLOWED,
    SENDER_NOT_IN_CERTIFICATE,
    SENDER_UNIDENTIFIED,
    Permit,
    SenderGate,
)
from eprlink.engine.config import CertificateIdentity, MLLPListenerSource, SenderAccess
from eprlink.mllp import loop_factory
from eprlink.mllp.tls import PeerCertificate
from eprlink.store import MessageQuery
from eprlink.store.memory import MemoryStore

from .conftest import (
    adt,
    config,
    exchange,
    field_of,
    frame,
    listener,
    mllp_destination,
    port_of,
    read_frame,
    run,
)

MSA3 = "application internal error"
ALLOWED = """allowed_senders = [
  { application = "PAS", facility = "RXX01" },
  { application = "LAB", facility = "RXX01" },
]
"""


def _msa(reply: bytes | None) -> tuple[str | None, str | None, str | None]:
    assert reply is not None
    return field_of(reply, "MSA", 1), field_of(reply, "MSA", 2), field_of(reply, "MSA", 3)


def _error(text: str, tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        config(text, tmp_path)
    return str(caught.value)


# -- configuration ----------------------------------------------------------------------------


def test_allow_list_is_read_as_sender_pairs(tmp_path: Path) -> None:
    source = config(listener(extra=ALLOWED), tmp_path).channels[0].source
    assert isinstance(source, MLLPListenerSource)
    assert source.access == SenderAccess(
        allowed=frozenset({("PAS", "RXX01"), ("LAB", "RXX01")}), certificates=()
    )
    plain = config(listener(), tmp_path).channels[0].source
    assert isinstance(plain, MLLPListenerSource) and plain.access is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "allowed_senders = []\n",
            "eprlink.toml:24: channels[0].source.allowed_senders: expected at least one sender",
        ),
        (
            'allowed_senders = [{ application = "PAS" }]\n',
            "eprlink.toml:24: channels[0].source.allowed_senders[0].facility: expected MSH-4",
        ),
        (
            'allowed_senders = [{ application = "PAS", facility = "X", site = "Y" }]\n',
            "channels[0].source.allowed_senders[0].site: expected one of the keys application, "
            'facility, found unknown key "site"',
        ),
        (
            'allowed_senders = ["PAS^RXX01"]\n',
            "channels[0].source.allowed_senders: expected an array of tables",
        ),
        (
            '[[channels.source.client_certificates]]\ncommon_name = "pas"\n'
            'senders = [{ application = "PAS", facility = "RXX01" }]\n',
            "eprlink.toml:24: channels[0].source.client_certificates: expected mutual TLS",
        ),
    ],
)
def test_access_errors_name_file_and_line(extra: str, expected: str, tmp_path: Path) -> None:
    message = _error(listener(extra=extra), tmp_path)
    assert expected in message, message


class Pki:
    """A CA, a server certificate for localhost and three client certificates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ca = trustme.CA()
        self.ca_file = root / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        server = self.ca.issue_cert("localhost", "127.0.0.1")
        self.server_cert = root / "server.pem"
        self.server_key = root / "server.key"
        server.cert_chain_pems[0].write_to_path(str(self.server_cert))
        server.private_key_pem.write_to_path(str(self.server_key))
        self.fingerprints: dict[str, str] = {}
        for name in ("pas", "lab", "rogue"):
            cert = self.ca.issue_cert(f"{name}.rxx.example", common_name=f"{name}-feed")
            cert.cert_chain_pems[0].write_to_path(str(root / f"{name}.pem"))
            cert.private_key_pem.write_to_path(str(root / f"{name}.key"))
            der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
            self.fingerprints[name] = _sha256(der)

    def listener_keys(self) -> str:
        return (
            f'tls_cert = "{self.server_cert}"\ntls_key = "{self.server_key}"\n'
            f'tls_client_ca = "{self.ca_file}"\ntls_require_client_cert = true\n'
        )

    def client(self, name: str | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if name is not None:
            context.load_cert_chain(str(self.root / f"{name}.pem"), str(self.root / f"{name}.key"))
        return context


def _sha256(der: bytes) -> str:
    import hashlib

    return hashlib.sha256(der).hexdigest()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


def _mapped(pki: Pki, *, allowed: bool = True) -> str:
    pin = ":".join(pki.fingerprints["lab"][i : i + 2] for i in range(0, 64, 2)).upper()
    return (
        pki.listener_keys()
        + (ALLOWED if allowed else "")
        + f"""
[[channels.source.client_certificates]]
common_name = "pas-feed"
senders = [{{ application = "PAS", facility = "RXX01" }}]

[[channels.source.client_certificates]]
dns_name = "LAB.rxx.example"
sha256 = "{pin}"
senders = [{{ application = "LAB", facility = "RXX01" }}]
"""
    )


def test_certificate_mapping_is_read_and_checked(pki: Pki, tmp_path: Path) -> None:
    source = config(listener(extra=_mapped(pki)), tmp_path).channels[0].source
    assert isinstance(source, MLLPListenerSource) and source.access is not None
    pas, lab = source.access.certificates
    assert pas == CertificateIdentity(senders=frozenset({("PAS", "RXX01")}), common_name="pas-feed")
    assert lab.dns_name == "lab.rxx.example"
    assert lab.sha256 == pki.fingerprints["lab"]
    outside = _mapped(pki).replace('application = "LAB", facility = "RXX01" }]\n"""', "")
    outside = outside.replace(
        'senders = [{ application = "LAB"', 'senders = [{ application = "XRAY"'
    )
    message = _error(listener(extra=outside), tmp_path)
    assert (
        "channels[0].source.client_certificates[1].senders: expected senders that are also in "
        "the listener's allowed_senders" in message
    ), message
    bad = _mapped(pki).replace('common_name = "pas-feed"\n', 'sha256 = "abc"\n')
    message = _error(listener(extra=bad), tmp_path)
    assert "client_certificates[0].sha256: expected a SHA-256 fingerprint" in message
    nothing = _mapped(pki).replace('common_name = "pas-feed"\n', "")
    message = _error(listener(extra=nothing), tmp_path)
    assert "client_certificates[0]: expected at least one of common_name" in message


def test_access_survives_the_effective_dump(pki: Pki, tmp_path: Path) -> None:
    cfg = config(listener(extra=_mapped(pki)), tmp_path)
    dumped = dump_config(cfg)
    assert "[[channels.source.client_certificates]]" in dumped
    again = load_config_text(dumped, base_dir=tmp_path)
    assert effective_config(again) == effective_config(cfg)


# -- the gate on its own ------------------------------------------------------------------------


def _certificate(cn: str, dns: str, sha: str) -> PeerCertificate:
    return PeerCertificate(
        subject=f"commonName={cn}", sha256=sha, alt_names=(f"DNS:{dns}",), common_names=(cn,)
    )


def test_gate_maps_certificates_once_and_names_refusals() -> None:
    pas = CertificateIdentity(senders=frozenset({("PAS", "RXX01")}), common_name="pas-feed")
    lab = CertificateIdentity(
        senders=frozenset({("LAB", "RXX01")}), dns_name="lab.rxx.example", sha256="ab" * 32
    )
    gate = SenderGate(
        SenderAccess(
            allowed=frozenset({("PAS", "RXX01"), ("LAB", "RXX01")}), certificates=(pas, lab)
        )
    )
    permit = gate.permit(_certificate("pas-feed", "pas.rxx.example", "01" * 32))
    assert permit is not None and permit.allows(("PAS", "RXX01"))
    assert gate.permit(_certificate("pas-feed", "pas.rxx.example", "01" * 32)) is permit  # cached
    assert permit.reason(("LAB", "RXX01")) == SENDER_NOT_IN_CERTIFICATE
    assert permit.reason(("XRAY", "RXX01")) == SENDER_NOT_ALLOWED
    assert permit.reason(None) == SENDER_UNIDENTIFIED
    # the DNS name matches but the pin does not: every identity given must match
    assert gate.refusal(_certificate("lab-feed", "LAB.rxx.example", "cd" * 32)) == (
        CERTIFICATE_NOT_MAPPED
    )
    assert gate.refusal(_certificate("lab-feed", "lab.rxx.example", "ab" * 32)) is None
    assert gate.refusal(None) == CERTIFICATE_MISSING
    plain = SenderGate(SenderAccess(allowed=frozenset({("PAS", "RXX01")})))
    assert plain.refusal(None) is None
    assert plain.permit(None) == Permit(
        frozenset({("PAS", "RXX01")}), frozenset({("PAS", "RXX01")})
    )


# -- plain TCP allow-list ---------------------------------------------------------------------


def test_hd12_unlisted_sender_gets_ar207_and_nothing_is_stored(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = MemoryStore()
        cfg = config(listener(extra=ALLOWED), tmp_path)
        async with Engine(cfg, store=store) as engine:
            replies = await exchange(
                port_of(engine),
                [
                    adt("MSG1", app="PAS"),
                    adt("MSG2", app="XRAY"),
                    adt("MSG3", app="PAS", facility="RXX02"),
                    b"NOT HL7 AT ALL",
                    adt("MSG4", app="LAB"),
                ],
            )
            assert _msa(replies[0]) == ("AA", "MSG1", "")
            assert _msa(replies[4]) == ("AA", "MSG4", "")
            for reply, control_id in zip(replies[1:3], ("MSG2", "MSG3"), strict=True):
                assert _msa(reply) == ("AR", control_id, MSA3)
                assert b"207&Application internal error&HL70357" in (reply or b"")
                assert b"9990000018" not in (reply or b"")
            assert _msa(replies[3])[0] == "AR" and _msa(replies[3])[2] == MSA3
            stored = await store.search(MessageQuery())
            assert sorted(s.control_id or "" for s in stored) == ["MSG1", "MSG4"]
            snapshot = engine.metrics.snapshot()
            assert snapshot.value("senders_refused_total", channel="adt") == 3
            assert snapshot.value("messages_rejected_total", channel="adt", code="207") == 3
            events = [e for e in await store.events(limit=50) if e.action == "sender_refused"]
            assert sorted(e.reason for e in events) == [
                SENDER_NOT_ALLOWED,
                SENDER_NOT_ALLOWED,
                SENDER_UNIDENTIFIED,
            ]
            assert all("peer=127.0.0.1:" in e.details for e in events)
            assert not any("9990000018" in e.details for e in events)

    run(scenario())


def test_hd12_refused_sender_is_not_forwarded(tmp_path: Path) -> None:
    async def scenario() -> None:
        from .conftest import Peer

        peer = await Peer().start()
        try:
            cfg = config(listener(extra=ALLOWED) + mllp_destination("pas", peer.port), tmp_path)
            async with Engine(cfg) as engine:
                replies = await exchange(
                    port_of(engine), [adt("BAD1", app="XRAY"), adt("OK1", app="PAS")]
                )
                assert [_msa(r)[0] for r in replies] == ["AR", "AA"]
                await peer.wait_for(1)
                await asyncio.sleep(0.1)
            assert [field_of(p, "MSH", 9) for p in peer.received] == ["OK1"]
        finally:
            await peer.close()

    run(scenario())


def test_no_allow_list_keeps_todays_behaviour(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Engine(config(listener(), tmp_path)) as engine:
            (reply,) = await exchange(port_of(engine), [adt("MSG1", app="ANYONE")])
            assert _msa(reply) == ("AA", "MSG1", "")
            assert engine.metrics.snapshot().value("senders_refused_total", channel="adt") == 0

    run(scenario())


# -- mutual TLS -------------------------------------------------------------------------------


async def _tls_exchange(
    port: int, context: ssl.SSLContext, payloads: list[bytes]
) -> list[bytes | None]:
    """Frames over TLS; None for each frame that got no reply (connection closed)."""
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="localhost"
        )
    except (ssl.SSLError, ConnectionError):
        return [None for _ in payloads]
    replies: list[bytes | None] = []
    try:
        for payload in payloads:
            try:
                writer.write(frame(payload))
                await writer.drain()
                replies.append(await asyncio.wait_for(read_frame(reader), 5.0))
            except (ssl.SSLError, ConnectionError):
                replies.append(None)
    finally:
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()
    return replies


def _run_on(factory: Callable[[], asyncio.AbstractEventLoop], coro: Any) -> None:
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(asyncio.wait_for(coro, 15.0))


LOOPS = [pytest.param(asyncio.new_event_loop, id="asyncio")]
if loop_factory() is not asyncio.new_event_loop:
    LOOPS.append(pytest.param(loop_factory(), id="uvloop"))


@pytest.mark.parametrize("factory", LOOPS)
def test_f20_certificates_map_to_senders(
    factory: Callable[[], asyncio.AbstractEventLoop],
    pki: Pki,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        store = MemoryStore()
        cfg = config(listener(extra=_mapped(pki)), tmp_path)
        async with Engine(cfg, store=store) as engine:
            port = port_of(engine)
            pas = await _tls_exchange(
                port, pki.client("pas"), [adt("P1", app="PAS"), adt("P2", app="LAB")]
            )
            assert _msa(pas[0]) == ("AA", "P1", "")
            assert _msa(pas[1]) == ("AR", "P2", MSA3)  # allowed here, but not for this cert
            lab = await _tls_exchange(port, pki.client("lab"), [adt("L1", app="LAB")])
            assert _msa(lab[0]) == ("AA", "L1", "")
            rogue = await _tls_exchange(port, pki.client("rogue"), [adt("R1", app="PAS")])
            assert rogue == [None]  # refused at the handshake: no frame was read
            bare = await _tls_exchange(port, pki.client(None), [adt("N1", app="PAS")])
            assert bare == [None]
            stored = await store.search(MessageQuery())
            assert sorted(s.control_id or "" for s in stored) == ["L1", "P1"]
            snapshot = engine.metrics.snapshot()
            # P2 by message; rogue and bare at the handshake
            assert snapshot.value("senders_refused_total", channel="adt") == 3
            await asyncio.sleep(0.05)  # let the handshake-time audit write land
            events = [e for e in await store.events(limit=50) if e.action == "sender_refused"]
            # the bare client fails OpenSSL's own check (no certificate) before the mapping
            assert sorted(e.reason for e in events) == [
                CERTIFICATE_NOT_MAPPED,
                SENDER_NOT_IN_CERTIFICATE,
            ]
            by_reason = {e.reason: e.details for e in events}
            assert f"fingerprint={pki.fingerprints['pas']}" in by_reason[SENDER_NOT_IN_CERTIFICATE]
            assert f"fingerprint={pki.fingerprints['rogue']}" in by_reason[CERTIFICATE_NOT_MAPPED]
            # the listener reports the refused handshake with the peer's address (F20)
            assert "peer=127.0.0.1:" in by_reason[CERTIFICATE_NOT_MAPPED]

    with caplog.at_level(logging.INFO):
        _run_on(factory, scenario())
    failed = [r for r in caplog.records if getattr(r, "action", "") == "tls_handshake_failed"]
    assert any(getattr(r, "reason", "") == CERTIFICATE_NOT_MAPPED for r in failed)
    assert not any("9990000018" in r.getMessage() for r in caplog.records)


def test_f20_listener_without_certificate_rules_accepts_any_valid_certificate(
    pki: Pki, tmp_path: Path
) -> None:
    async def scenario() -> None:
        cfg = config(listener(extra=pki.listener_keys() + ALLOWED), tmp_path)
        async with Engine(cfg) as engine:
            replies = await _tls_exchange(
                port_of(engine), pki.client("rogue"), [adt("R1", app="PAS"), adt("R2", app="X")]
            )
            assert [_msa(r)[0] for r in replies] == ["AA", "AR"]

    run(scenario())
