"""TLS contexts for MLLP listeners and senders, and what a peer's certificate says about it.

Contexts follow section 6.1 of the reliability policy: TLS 1.2 at minimum, ECDHE with AEAD
ciphers only, no compression or renegotiation, CA and host name checks on unless switched off.
File problems become :class:`TLSConfigError` naming the path, never the key or password.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from eprlink.mllp.errors import MLLPError, TLSConfigError

__all__ = [
    "PeerCertificate",
    "PeerCheck",
    "PeerRefusedError",
    "authorise_peers",
    "client_context",
    "peer_certificate",
    "server_context",
]

# TLS 1.2 suites. TLS 1.3 suites are all AEAD with forward secrecy; OpenSSL's defaults stand.
_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


@dataclass(frozen=True, slots=True)
class PeerCertificate:
    """Identity facts from a verified peer certificate, for mapping a partner to its channels."""

    subject: str
    sha256: str
    alt_names: tuple[str, ...]
    common_names: tuple[str, ...] = ()

    @property
    def dns_names(self) -> tuple[str, ...]:
        """The DNS subjectAltNames, lower-cased (DNS names compare case-insensitively)."""
        return tuple(n[4:].lower() for n in self.alt_names if n.startswith("DNS:"))


PeerCheck = Callable[[PeerCertificate | None], str | None]
"""Decides on a client right after its handshake: a refusal reason, or None to let it in."""


class PeerRefusedError(MLLPError, ssl.SSLError):
    """A verified client certificate that this listener does not accept (F20).

    It is an ``ssl.SSLError`` so that the event loop treats it exactly like a failed handshake:
    the connection is closed before any application byte is read, and the listener's existing
    handshake-failure path counts and logs it with ``reason``.
    """

    def __init__(self, reason: str, fingerprint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fingerprint = fingerprint  # SHA-256 of the refused certificate, for the audit

    def __str__(self) -> str:
        return f"client certificate refused ({self.reason})"


def server_context(
    certfile: str,
    keyfile: str | None = None,
    *,
    client_ca: str | None = None,
    require_client_cert: bool = False,
    password: str | bytes | None = None,
) -> ssl.SSLContext:
    """A listener context; with ``client_ca`` it asks for client certificates (mutual TLS)."""
    if require_client_cert and client_ca is None:
        raise TLSConfigError(None, "require_client_cert needs client_ca to verify against")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(context)
    context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    _load_chain(context, certfile, keyfile, password)
    if client_ca is not None:
        _load_ca(context, client_ca)
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


def client_context(
    *,
    cafile: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    check_hostname: bool = True,
    password: str | bytes | None = None,
) -> ssl.SSLContext:
    """A sender context; the server certificate is always verified, its name unless told not to.

    Without ``cafile`` the system trust store is used. ``certfile`` presents a client
    certificate for mutual TLS.
    """
    if keyfile is not None and certfile is None:
        raise TLSConfigError(keyfile, "keyfile given without certfile")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _harden(context)
    context.check_hostname = check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    if cafile is not None:
        _load_ca(context, cafile)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if certfile is not None:
        _load_chain(context, certfile, keyfile, password)
    return context


def peer_certificate(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> PeerCertificate | None:
    """The peer's certificate as seen on an established connection, or ``None`` if it sent none.

    The subject and names are only available for a certificate the context verified; the
    fingerprint is computed from the DER bytes either way.
    """
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    info: dict[str, Any] = dict(ssl_object.getpeercert() or {})
    subject_rdns = info.get("subject", ())
    alt_names: Iterable[tuple[str, str]] = info.get("subjectAltName", ())
    return PeerCertificate(
        subject=_format_subject(subject_rdns),
        sha256=hashlib.sha256(der).hexdigest(),
        alt_names=tuple(f"{kind}:{value}" for kind, value in alt_names),
        common_names=tuple(
            value for rdn in subject_rdns for key, value in rdn if key == "commonName"
        ),
    )


def authorise_peers(context: ssl.SSLContext, check: PeerCheck) -> None:
    """Run ``check`` on every client certificate as its handshake completes, on connections
    the event loop wraps with this context (memory-BIO TLS, as asyncio and uvloop use).

    Chain validity says a certificate comes from a trusted CA; it does not say which partner
    may use this listener (F20). Doing the mapping inside the handshake means a refused client
    never gets as far as a framed read, and no hook in the listener itself is needed: the
    refusal surfaces as a failed handshake (:class:`PeerRefusedError`).
    """

    class _CheckedObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            if self.server_side:
                certificate = peer_certificate(self)
                reason = check(certificate)
                if reason is not None:
                    raise PeerRefusedError(
                        reason, None if certificate is None else certificate.sha256
                    )

    context.sslobject_class = _CheckedObject


def _format_subject(rdns: Iterable[Iterable[tuple[str, str]]]) -> str:
    parts = [f"{key}={value}" for rdn in rdns for key, value in rdn]
    return ",".join(parts)


def _harden(context: ssl.SSLContext) -> None:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    try:
        context.set_ciphers(_CIPHERS)
    except ssl.SSLError as exc:
        raise TLSConfigError(None, "no ECDHE AEAD cipher available in this OpenSSL") from exc


def _load_chain(
    context: ssl.SSLContext, certfile: str, keyfile: str | None, password: str | bytes | None
) -> None:
    where = certfile if keyfile is None else f"{certfile}, {keyfile}"
    try:
        context.load_cert_chain(certfile, keyfile, password)
    except FileNotFoundError as exc:
        raise TLSConfigError(exc.filename or where, "file not found") from exc
    except PermissionError as exc:
        raise TLSConfigError(exc.filename or where, "permission denied") from exc
    except ssl.SSLError as exc:
        raise TLSConfigError(where, f"unusable certificate or key ({exc.reason})") from exc
    except OSError as exc:
        raise TLSConfigError(where, exc.strerror or type(exc).__name__) from exc


def _load_ca(context: ssl.SSLContext, cafile: str) -> None:
    try:
        context.load_verify_locations(cafile=cafile)
    except FileNotFoundError as exc:
        raise TLSConfigError(cafile, "file not found") from exc
    except PermissionError as exc:
        raise TLSConfigError(cafile, "permission denied") from exc
    except ssl.SSLError as exc:
        raise TLSConfigError(cafile, f"unusable CA bundle ({exc.reason})") from exc
    except OSError as exc:
        raise TLSConfigError(cafile, exc.strerror or type(exc).__name__) from exc
