"""Sender identity on a listener (HD-12, F20): which MSH-3/MSH-4 a connection may speak for.

The decision is split by cost. Mapping a client certificate to its senders happens once per
certificate (cached by fingerprint) and, for a certificate mapped to nothing, inside the TLS
handshake so no frame is ever read (F20). What is left per message is one set lookup of the
already-parsed (MSH-3, MSH-4) against the connection's :class:`Permit`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from eprlink.engine.alerts import clean
from eprlink.engine.config import CertificateIdentity, SenderAccess, SenderKey
from eprlink.mllp.tls import PeerCertificate
from eprlink.store import Store

__all__ = [
    "CERTIFICATE_MISSING",
    "CERTIFICATE_NOT_MAPPED",
    "SENDER_NOT_ALLOWED",
    "SENDER_NOT_IN_CERTIFICATE",
    "SENDER_UNIDENTIFIED",
    "Permit",
    "SenderGate",
    "audit_refusal",
]

_log = logging.getLogger(__name__)

# Refusal reasons: stable, PHI-free labels for logs, audit events and tests.
CERTIFICATE_MISSING = "certificate_missing"
CERTIFICATE_NOT_MAPPED = "certificate_not_mapped"
SENDER_NOT_ALLOWED = "sender_not_allowed"
SENDER_NOT_IN_CERTIFICATE = "sender_not_in_certificate"
SENDER_UNIDENTIFIED = "sender_unidentified"

_CACHE_LIMIT = 1024  # distinct certificates remembered; a CA issuing more only costs a rematch


@dataclass(frozen=True, slots=True)
class Permit:
    """The senders one connection may speak for, and what to say when a message is not one."""

    senders: frozenset[SenderKey]
    listener: frozenset[SenderKey] | None = None  # the allow-list, to name the refusal
    fingerprint: str | None = None  # SHA-256 of the client certificate, for the audit

    def allows(self, sender: SenderKey) -> bool:
        return sender in self.senders

    def reason(self, sender: SenderKey | None) -> str:
        """Why ``sender`` was refused (only computed on the refusal path)."""
        if sender is None:
            return SENDER_UNIDENTIFIED
        if self.listener is not None and sender not in self.listener:
            return SENDER_NOT_ALLOWED
        return SENDER_NOT_IN_CERTIFICATE if self.fingerprint is not None else SENDER_NOT_ALLOWED


def _matches(rule: CertificateIdentity, certificate: PeerCertificate) -> bool:
    if rule.sha256 is not None and rule.sha256 != certificate.sha256:
        return False
    if rule.common_name is not None and rule.common_name not in certificate.common_names:
        return False
    return rule.dns_name is None or rule.dns_name in certificate.dns_names


class SenderGate:
    """One listener's HD-12 rules, applied per connection and per message."""

    def __init__(self, access: SenderAccess) -> None:
        self.access = access
        self.by_certificate = bool(access.certificates)
        self._plain = (
            None
            if access.allowed is None or self.by_certificate
            else Permit(access.allowed, access.allowed)
        )
        self._cache: dict[str, Permit | None] = {}

    def _mapped(self, certificate: PeerCertificate) -> Permit | None:
        matched = [r for r in self.access.certificates if _matches(r, certificate)]
        if not matched:
            return None
        senders = frozenset().union(*(r.senders for r in matched))
        allowed = self.access.allowed
        if allowed is not None:
            senders &= allowed
        return Permit(senders, allowed, certificate.sha256)

    def permit(self, certificate: PeerCertificate | None) -> Permit | None:
        """What a connection with this certificate may send; None when it may send nothing
        (a certificate-mapped listener and a certificate that is missing or mapped to no
        sender). Cached per certificate, so the steady state is one dict lookup."""
        if not self.by_certificate:
            return self._plain
        if certificate is None:
            return None
        key = certificate.sha256
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = self._mapped(certificate)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = found
        return found

    def refusal(self, certificate: PeerCertificate | None) -> str | None:
        """The handshake-time check (F20): a reason to refuse the connection, or None."""
        if not self.by_certificate:
            return None
        if certificate is None:
            return CERTIFICATE_MISSING
        return CERTIFICATE_NOT_MAPPED if self.permit(certificate) is None else None


async def audit_refusal(
    store: Store,
    *,
    channel: str,
    reason: str,
    peer: str,
    fingerprint: str | None,
    sender: SenderKey | None = None,
    control_id: str | None = None,
) -> None:
    """Log and audit a refused sender (policy 6.4: security events are audited).

    Only metadata: peer, reason, certificate fingerprint, and the claimed MSH-3/MSH-4 and
    MSH-10 neutralised for the log (they are the sender's own words, never patient data). A
    store that cannot record the event does not change the refusal; it is logged instead.
    """
    claimed = "-" if sender is None else clean("^".join(sender))
    fields = {
        "channel": channel,
        "peer": clean(peer),
        "reason": reason,
        "fingerprint": fingerprint or "-",
        "sender": claimed,
        "control_id": clean(control_id),
    }
    _log.warning(
        "sender refused (HD-12); nothing stored", extra={"action": "sender_refused", **fields}
    )
    details = "; ".join(f"{key}={value}" for key, value in fields.items() if key != "reason")
    try:
        await store.audit("sender_refused", operator="engine", reason=reason, details=details)
    except Exception as exc:
        _log.error(
            "security event not recorded (%s)",
            type(exc).__name__,
            extra={"action": "audit_failed", "channel": channel, "error": type(exc).__name__},
        )
