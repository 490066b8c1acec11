"""Reading a listener's HD-12 keys: ``allowed_senders`` and ``[[…client_certificates]]``.

Senders are tables (``{ application = "PAS", facility = "RXX01" }``) rather than ``"PAS^RXX01"``
strings because MSH-3 and MSH-4 are themselves composite (HD) fields: a ``^`` inside a value
would make a joined string ambiguous. Mistakes are reported like every other key, with the
line, and a mapping that could never let anything through is an error rather than a silent
lock-out.
"""

from __future__ import annotations

import re

from eprlink.engine.config import CertificateIdentity, SenderAccess, SenderKey, ServerTLS
from eprlink.engine.reader import Table, describe

__all__ = ["read_access"]

_SENDER = '{ application = "MSH-3", facility = "MSH-4" } (values as written in the message)'
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{2}(:?[0-9A-Fa-f]{2}){31}")


def _sender(table: Table) -> SenderKey | None:
    application = table.required_string("application", "MSH-3 as the partner writes it")
    facility = table.required_string("facility", "MSH-4 as the partner writes it")
    table.finish()
    if not application or not facility:
        return None
    return (application, facility)


def _senders(table: Table, key: str) -> frozenset[SenderKey] | None:
    """An array of sender tables; None when the key is absent or unusable."""
    if not table.has(key):
        return None
    entries = table.tables(key)
    if not entries:
        if isinstance(table.data.get(key), list):
            table.report(key, f"at least one sender {_SENDER}", "an empty array")
        return None
    found = {sender for sender in map(_sender, entries) if sender is not None}
    return frozenset(found) if found else None


def _fingerprint(table: Table) -> str | None:
    text = table.optional_string("sha256", expected="a SHA-256 fingerprint (64 hex digits)")
    if text is None:
        return None
    if not _FINGERPRINT.fullmatch(text):
        table.report(
            "sha256", "a SHA-256 fingerprint: 64 hex digits, colons allowed", describe(text)
        )
        return None
    return text.replace(":", "").lower()


def _certificate(table: Table, allowed: frozenset[SenderKey] | None) -> CertificateIdentity | None:
    common_name = table.optional_string("common_name", expected="the subject CN")
    dns_name = table.optional_string("dns_name", expected="a DNS subjectAltName")
    sha256 = _fingerprint(table)
    senders = _senders(table, "senders")
    if not table.has("senders"):
        table.report("senders", f"the senders this certificate may speak for, {_SENDER}")
    identified = common_name is not None or dns_name is not None or sha256 is not None
    if not identified and not any(table.has(k) for k in ("common_name", "dns_name", "sha256")):
        table.report(None, "at least one of common_name, dns_name or sha256")
    table.finish()
    if senders is not None and allowed is not None:
        for sender in sorted(senders - allowed):
            table.report(
                "senders",
                "senders that are also in the listener's allowed_senders",
                describe("^".join(sender)),
            )
    if senders is None or not identified:
        return None
    return CertificateIdentity(
        senders=senders,
        common_name=common_name,
        dns_name=dns_name.lower() if dns_name is not None else None,
        sha256=sha256,
    )


def read_access(table: Table, tls: ServerTLS | None) -> SenderAccess | None:
    """The listener's sender rules; None when neither key is present (no HD-12 check)."""
    allowed = _senders(table, "allowed_senders")
    certificates: list[CertificateIdentity] = []
    if table.has("client_certificates"):
        if tls is None or tls.client_ca is None or not tls.require_client_cert:
            table.report(
                "client_certificates",
                "mutual TLS (tls_cert, tls_client_ca and tls_require_client_cert = true) "
                "so that every connection presents a certificate to map",
            )
        for entry in table.tables("client_certificates"):
            certificate = _certificate(entry, allowed)
            if certificate is not None:
                certificates.append(certificate)
    if allowed is None and not certificates:
        return None
    return SenderAccess(allowed=allowed, certificates=tuple(certificates))
