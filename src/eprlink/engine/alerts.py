"""Alerts (policy section 7 names) and log-safe rendering of the few values logs may carry."""

from __future__ import annotations

import logging
import re

from eprlink.engine.metrics import Metrics

__all__ = ["ALERTS", "alert", "clean"]

ALERTS = frozenset(
    {
        "destination_blocked",
        "queue_age_high",
        "control_id_collision",
        "processing_id_mismatch",
        "disk_low",
        "store_unavailable",
        "certificate_expiring",
        "reconciliation_mismatch",
    }
)

_log = logging.getLogger("eprlink.engine.alerts")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_LIMIT = 64


def clean(value: str | None) -> str:
    """A value fit for a log line: control characters and bidi overrides replaced, truncated
    (CWE-117). Used for control ids and peers, the only message-derived values logged."""
    if value is None:
        return "-"
    text = _UNSAFE.sub("?", value)
    return text if len(text) <= _LIMIT else text[: _LIMIT - 1] + "…"


def alert(metrics: Metrics, name: str, message: str, **fields: object) -> None:
    """Raise an alert: counted in ``alerts_total{alert=name}`` and logged at WARNING with the
    alert's name as the ``action`` key. ``fields`` must be PHI-free."""
    if name not in ALERTS:
        raise ValueError(f"unknown alert {name!r}")
    metrics.inc("alerts_total", alert=name)
    _log.warning(message, extra={"action": name, "alert": name, **fields})
