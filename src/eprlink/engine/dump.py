"""The effective configuration: every value in force, defaults included, secrets redacted.

The dump uses the file's own key names, so it can be read back by the loader, diffed in git,
and attached to a support ticket without leaking a password or a token.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from eprlink.engine.config import (
    CallableDestination,
    ChannelConfig,
    ClientTLS,
    DestinationConfig,
    DirectorySource,
    EngineConfig,
    FileDestination,
    HTTPDestination,
    MLLPDestination,
    MLLPListenerSource,
    MLLPReceiverSource,
    ReplyPolicy,
    SenderAccess,
    SenderKey,
)

__all__ = ["REDACTED", "dump_config", "effective_config", "redact_dsn"]

REDACTED = "***"
_SENSITIVE_HEADER = re.compile(r"auth|token|key|secret|cookie|password|session", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)
_UNITS = ((86_400.0, "d"), (3600.0, "h"), (60.0, "m"), (1.0, "s"))


def redact_dsn(dsn: str) -> str:
    """A connection string with its password replaced, in URL or key=value form."""
    return _KV_PASSWORD.sub(rf"\g<1>{REDACTED}", _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", dsn))


def _duration(seconds: float) -> str:
    for size, unit in _UNITS:
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{round(seconds * 1000)}ms"


def _path(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _drop_none(table: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if v is not None}


def _client_tls(tls: ClientTLS | None) -> dict[str, Any]:
    if tls is None:
        return {"tls": False}
    return {
        "tls": True,
        "tls_ca": _path(tls.ca),
        "tls_cert": _path(tls.cert),
        "tls_key": _path(tls.key),
        "tls_server_hostname": tls.server_hostname,
        "tls_check_hostname": tls.check_hostname,
    }


def _reply(reply: ReplyPolicy) -> dict[str, Any]:
    return {
        "failure_reply": reply.failure_reply.value,
        "reject_collisions": reply.reject_collisions,
        "enhanced": reply.enhanced,
        "honour_msh15": reply.honour_msh15,
        "mllp_release": reply.mllp_release,
    }


def _senders(senders: frozenset[SenderKey]) -> list[dict[str, str]]:
    return [{"application": a, "facility": f} for a, f in sorted(senders)]


def _access(access: SenderAccess | None) -> dict[str, Any]:
    if access is None:
        return {}
    out: dict[str, Any] = {}
    if access.allowed is not None:
        out["allowed_senders"] = _senders(access.allowed)
    if access.certificates:
        out["client_certificates"] = [
            _drop_none(
                {
                    "common_name": c.common_name,
                    "dns_name": c.dns_name,
                    "sha256": c.sha256,
                    "senders": _senders(c.senders),
                }
            )
            for c in access.certificates
        ]
    return out


def _source(channel: ChannelConfig) -> dict[str, Any]:
    s = channel.source
    if isinstance(s, DirectorySource):
        return {
            "kind": "directory",
            "path": str(s.path),
            "encoding": s.encoding,
            "pattern": s.pattern,
            "poll_interval": _duration(s.poll_interval),
            "done": s.done,
            "failed": s.failed,
            "reject_collisions": s.reject_collisions,
        }
    common = {
        "encoding": s.encoding,
        "max_size": s.max_size,
        "strict_framing": s.strict_framing,
        "idle_timeout": _duration(s.idle_timeout),
        "frame_deadline": _duration(s.frame_deadline),
        **_reply(s.reply),
    }
    if isinstance(s, MLLPReceiverSource):
        return {
            "kind": "mllp_receiver",
            "host": s.host,
            "port": s.port,
            "connect_timeout": _duration(s.connect_timeout),
            "reconnect_initial": _duration(s.reconnect.initial),
            "reconnect_max": _duration(s.reconnect.maximum),
            "reconnect_jitter": s.reconnect.jitter,
            **common,
            **_client_tls(s.tls),
        }
    assert isinstance(s, MLLPListenerSource)
    tls: dict[str, Any] = {}
    if s.tls is not None:
        tls = {
            "tls_cert": str(s.tls.cert),
            "tls_key": _path(s.tls.key),
            "tls_client_ca": _path(s.tls.client_ca),
            "tls_require_client_cert": s.tls.require_client_cert,
        }
    return {
        "kind": "mllp_listener",
        "host": s.host,
        "port": s.port,
        **common,
        "handshake_timeout": _duration(s.handshake_timeout),
        "max_connections": s.max_connections,
        "max_connections_per_peer": s.max_connections_per_peer,
        "application_ack": s.reply.application_ack.value,
        "application_ack_destination": s.reply.application_ack_destination,
        "application_ack_timeout": _duration(s.reply.application_ack_timeout),
        **tls,
        **_access(s.access),
    }


def _destination(d: DestinationConfig) -> dict[str, Any]:
    t = d.transport
    out: dict[str, Any] = {"name": d.name}
    if isinstance(t, MLLPDestination):
        out |= {
            "kind": "mllp",
            "host": t.host,
            "port": t.port,
            "ack_timeout": _duration(t.ack_timeout),
            "connect_timeout": _duration(t.connect_timeout),
            "success": list(t.success),
            "max_response_size": t.max_response_size,
            "mllp_release": t.mllp_release,
            "await_application_ack": t.await_application_ack,
            **_client_tls(t.tls),
        }
    elif isinstance(t, HTTPDestination):
        headers = {
            name: REDACTED if _SENSITIVE_HEADER.search(name) else value for name, value in t.headers
        }
        out |= {"kind": "http", "url": t.url, "timeout": _duration(t.timeout)}
        out |= _client_tls(t.tls) | {"headers": headers}
    elif isinstance(t, FileDestination):
        out |= {"kind": "file", "directory": str(t.directory), "suffix": t.suffix}
    elif isinstance(t, CallableDestination):
        out |= {"kind": "callable", "target": t.target, "timeout": _duration(t.timeout)}
    p = d.policy
    out |= {
        "on_error": p.on_error.value,
        "on_reject": p.on_reject.value,
        "on_timeout": p.on_timeout.value,
        "max_attempts": p.max_attempts,
        "on_exhausted": p.on_exhausted.value,
        "backoff_initial": _duration(p.backoff_initial),
        "backoff_max": _duration(p.backoff_max),
        "backoff_jitter": p.backoff_jitter,
        "in_flight": p.in_flight,
        "max_queue_depth": "off" if p.max_queue_depth is None else p.max_queue_depth,
    }
    return _drop_none(out)


def effective_config(config: EngineConfig) -> dict[str, Any]:
    """Every setting in force as plain data (file key names, durations as text, no secrets)."""
    e, s = config.engine, config.store
    store: dict[str, Any] = {"kind": s.kind.value}
    if s.kind.value == "sqlite":
        store["path"] = str(config.store_path())
    elif s.dsn is not None:
        store["dsn"] = redact_dsn(s.dsn)
        store["schema"] = s.schema
    store["dedupe_window"] = _duration(s.dedupe_window)
    store["retention"] = "off" if s.retention is None else _duration(s.retention)
    if s.kind.value == "sqlite":
        store["min_free_disk"] = "off" if s.min_free_disk is None else s.min_free_disk
        store["busy_timeout"] = _duration(s.busy_timeout)
        interval = s.checkpoint_interval
        store["checkpoint_interval"] = "off" if interval is None else _duration(interval)
    listen = config.metrics.listen
    return {
        "engine": {
            "name": e.name,
            "facility": e.facility,
            "data_dir": str(e.data_dir),
            "node": e.node,
            "shutdown_timeout": _duration(e.shutdown_timeout),
            "poll_interval": _duration(e.poll_interval),
            "stats_interval": _duration(e.stats_interval),
            "queue_age_alert": _duration(e.queue_age_alert),
            "lease_ttl": _duration(e.lease_ttl),
        },
        "store": store,
        "profiles": _drop_none(
            {"layers": list(config.profiles.layers), "trust": _path(config.profiles.trust)}
        ),
        "metrics": {"listen": "off" if listen is None else f"{listen[0]}:{listen[1]}"},
        "channels": [
            _drop_none(
                {
                    "name": c.name,
                    "processing_id": c.header.processing_id,
                    "versions": list(c.header.versions),
                    "reply_version": c.header.reply_version,
                    "max_control_id_length": c.header.max_control_id_length,
                    "validate": c.validate,
                    "on_invalid": c.on_invalid.value,
                    "filter": c.filter,
                    "transform": c.transform,
                    "source": _drop_none(_source(c)),
                    "routes": [
                        {"types": list(r.types), "destinations": list(r.destinations)}
                        for r in c.routes
                    ],
                    "destinations": [_destination(d) for d in c.destinations],
                }
            )
            for c in config.channels
        ],
    }


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


# Arrays of tables written as [[…]] sections; other arrays of tables (senders) stay inline.
_SECTIONS = frozenset({"routes", "destinations", "client_certificates"})


def _emit(lines: list[str], header: str, table: dict[str, Any], prefix: str = "channels") -> None:
    lines.append(header)
    nested: list[tuple[str, Any]] = []
    for key, value in table.items():
        if (key in _SECTIONS and _is_table_list(value)) or (
            isinstance(value, dict) and key == "source"
        ):
            nested.append((key, value))
        elif not (isinstance(value, list) and key in ("routes", "destinations") and not value):
            lines.append(f"{key} = {_value(value)}")
    for key, value in nested:
        lines.append("")
        if isinstance(value, dict):
            _emit(lines, f"[{prefix}.{key}]", value, f"{prefix}.{key}")
        else:
            for item in value:
                _emit(lines, f"[[{prefix}.{key}]]", item, f"{prefix}.{key}")
                lines.append("")


def dump_config(config: EngineConfig) -> str:
    """:func:`effective_config` as TOML text that the loader accepts."""
    data = effective_config(config)
    lines: list[str] = ["# eprlink effective configuration (secrets redacted)", ""]
    for section in ("engine", "store", "profiles", "metrics"):
        _emit(lines, f"[{section}]", data[section])
        lines.append("")
    for channel in data["channels"]:
        _emit(lines, "[[channels]]", channel)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
