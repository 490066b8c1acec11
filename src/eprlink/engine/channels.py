"""Reading the ``[[channels]]`` tables: sources, pipeline, routes and destinations."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from eprlink.ack import AckCode, version_key
from eprlink.engine.access_reader import read_access
from eprlink.engine.config import (
    ApplicationAck,
    CallableDestination,
    ChannelConfig,
    ClientTLS,
    DestinationConfig,
    DestinationPolicy,
    DirectorySource,
    FailureReply,
    FileDestination,
    HeaderPolicy,
    HTTPDestination,
    MLLPDestination,
    MLLPListenerSource,
    MLLPReceiverSource,
    OnInvalid,
    Reconnect,
    ReplyPolicy,
    Route,
    ServerTLS,
    Source,
    Transport,
)
from eprlink.engine.reader import Table, describe
from eprlink.engine.values import DOTTED_PATH, TYPE_PATTERN, resolve_callable
from eprlink.store import Failure

__all__ = ["NAME_EXPECTED", "read_channel"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
NAME_EXPECTED = "a name of letters, digits, '_', '.' or '-' (at most 64)"
_SOURCE_KINDS = '"mllp_listener", "mllp_receiver" or "directory"'
_DESTINATION_KINDS = '"mllp", "http", "file" or "callable"'
_SUCCESS_CODES = {AckCode.AA.value, AckCode.CA.value}


def read_channel(table: Table, check_imports: bool) -> ChannelConfig:
    """One ``[[channels]]`` table, checked."""
    name = table.required_string("name", NAME_EXPECTED)
    if name and not _NAME.fullmatch(name):
        table.report("name", NAME_EXPECTED, describe(name))
    source_table = table.table("source")
    if source_table is None:
        table.report("source", "a [channels.source] table", "nothing (the table is required)")
        source: Source = MLLPListenerSource(port=0, encoding="utf-8")
    else:
        source = _source(source_table)
    header = HeaderPolicy(
        processing_id=table.string(
            "processing_id", "P", expected='a processing id: "P", "T" or "D"'
        ),
        versions=table.strings(
            "versions", HeaderPolicy().versions, expected='an array of versions, e.g. ["2.4"]'
        ),
        reply_version=table.string("reply_version", "2.4", expected='a version such as "2.4"'),
        max_control_id_length=table.integer("max_control_id_length", 199, minimum=1),
    )
    for version in (*header.versions, header.reply_version):
        if version_key(version) is None:
            table.report("versions", 'HL7 versions such as "2.3.1" or "2.5"', describe(version))
    destinations = tuple(_destination(t, name, check_imports) for t in table.tables("destinations"))
    routes = tuple(_route(t, {d.name for d in destinations}) for t in table.tables("routes"))
    if source_table is not None:
        _check_relay(source_table, source, destinations)
    channel = ChannelConfig(
        name=name,
        source=source,
        header=header,
        validate=table.boolean("validate", True),
        on_invalid=table.choice("on_invalid", OnInvalid, OnInvalid.REJECT),
        filter=_dotted(table, "filter", check_imports),
        transform=_dotted(table, "transform", check_imports),
        routes=routes,
        destinations=destinations,
    )
    table.finish()
    return channel


def _dotted(table: Table, key: str, check_imports: bool) -> str | None:
    expected = "a dotted path package.module:function"
    text = table.optional_string(key, expected=expected)
    if text is None:
        return None
    if not DOTTED_PATH.fullmatch(text):
        table.report(key, expected, describe(text))
        return None
    if check_imports:
        try:
            resolve_callable(text)
        except (ImportError, AttributeError, TypeError) as exc:
            table.report(key, "an importable callable", f"{describe(text)} ({exc})")
    return text


def _reply(table: Table, *, listener: bool = False) -> ReplyPolicy:
    """The reply keys; the application-ACK relay only on a listener, whose connections the
    engine can write to again later (a receiver's keys would be reported as unknown)."""
    policy = ReplyPolicy(
        failure_reply=table.choice("failure_reply", FailureReply, FailureReply.CLOSE),
        reject_collisions=table.boolean("reject_collisions", False),
        enhanced=table.boolean("enhanced", False),
        honour_msh15=table.boolean("honour_msh15", True),
        mllp_release=table.integer("mllp_release", 1, minimum=1, maximum=2),
    )
    if not listener:
        return policy
    return replace(
        policy,
        application_ack=table.choice("application_ack", ApplicationAck, ApplicationAck.OFF),
        application_ack_destination=table.optional_string(
            "application_ack_destination", expected="the name of an MLLP destination"
        ),
        application_ack_timeout=table.duration("application_ack_timeout", 30.0),
    )


def _check_relay(table: Table, source: Source, destinations: tuple[DestinationConfig, ...]) -> None:
    """``application_ack = "relay"`` needs an enhanced-mode listener answering HL7 ACKs (the
    application ACK follows a CA) and one MLLP destination of this channel whose answer it
    relays; only MLLP destinations answer with an HL7 acknowledgement and its ERR codes."""
    if not isinstance(source, MLLPListenerSource):
        return
    reply = source.reply
    if reply.application_ack is not ApplicationAck.RELAY:
        return
    if not reply.enhanced:
        table.report(
            "application_ack",
            "enhanced = true on this source (the application ACK follows a commit ACK)",
            '"relay"',
        )
    if reply.mllp_release != 1:
        table.report(
            "application_ack",
            "mllp_release = 1 on this source (Release 2 answers with commit blocks only)",
            '"relay"',
        )
    name = reply.application_ack_destination
    if name is None:
        if not table.has("application_ack_destination"):
            table.report(
                "application_ack_destination",
                'the name of an MLLP destination of this channel (required with "relay")',
                "nothing",
            )
        return
    found = next((d for d in destinations if d.name == name), None)
    if found is None:
        table.report(
            "application_ack_destination",
            "the name of a destination defined in this channel",
            describe(name),
        )
    elif not isinstance(found.transport, MLLPDestination):
        table.report(
            "application_ack_destination",
            'a destination of kind = "mllp" (only MLLP answers carry an HL7 acknowledgement)',
            describe(name),
        )


def _encoding(table: Table) -> str:
    text = table.required_string(
        "encoding", 'the partner\'s charset for messages without MSH-18, e.g. "utf-8" (EN-3)'
    )
    if text:
        try:
            "".encode(text)
        except LookupError:
            table.report("encoding", 'a charset Python knows, e.g. "utf-8"', describe(text))
            return "utf-8"
    return text or "utf-8"


def _client_tls(table: Table) -> ClientTLS | None:
    enabled = table.boolean("tls", False)
    ca = table.path_value("tls_ca", must_exist=True)
    cert = table.path_value("tls_cert", must_exist=True)
    key = table.path_value("tls_key", must_exist=True)
    hostname = table.optional_string("tls_server_hostname", expected="a host name")
    check = table.boolean("tls_check_hostname", True)
    if not (enabled or ca or cert):
        return None
    if key is not None and cert is None:
        table.report("tls_key", "tls_cert as well (a key alone cannot be presented)")
    return ClientTLS(ca=ca, cert=cert, key=key, server_hostname=hostname, check_hostname=check)


def _source(table: Table) -> Source:
    kind = table.required_string("kind", _SOURCE_KINDS)
    source: Source
    if kind == "mllp_listener":
        cert = table.path_value("tls_cert", must_exist=True)
        key = table.path_value("tls_key", must_exist=True)
        client_ca = table.path_value("tls_client_ca", must_exist=True)
        require = table.boolean("tls_require_client_cert", False)
        if cert is None and (key or client_ca or require):
            table.report("tls_cert", "a certificate file when other tls_* keys are given")
        if require and client_ca is None:
            table.report("tls_client_ca", "a CA file when tls_require_client_cert = true")
        tls = (
            None
            if cert is None
            else ServerTLS(cert=cert, key=key, client_ca=client_ca, require_client_cert=require)
        )
        source = MLLPListenerSource(
            host=table.string("host", "127.0.0.1", expected="a host or address to listen on"),
            port=table.required_integer("port", maximum=65535),
            encoding=_encoding(table),
            tls=tls,
            max_size=table.size("max_size", 16 * 1024 * 1024),
            strict_framing=table.boolean("strict_framing", False),
            idle_timeout=table.duration("idle_timeout", 600.0),
            frame_deadline=table.duration("frame_deadline", 60.0),
            handshake_timeout=table.duration("handshake_timeout", 10.0),
            max_connections=table.integer("max_connections", 10, minimum=1),
            max_connections_per_peer=table.integer("max_connections_per_peer", 10, minimum=1),
            reply=_reply(table, listener=True),
            access=read_access(table, tls),
        )
    elif kind == "mllp_receiver":
        source = MLLPReceiverSource(
            host=table.required_string("host", "the partner's host to connect to"),
            port=table.required_integer("port", minimum=1, maximum=65535),
            encoding=_encoding(table),
            tls=_client_tls(table),
            connect_timeout=table.duration("connect_timeout", 10.0),
            max_size=table.size("max_size", 16 * 1024 * 1024),
            strict_framing=table.boolean("strict_framing", False),
            idle_timeout=table.duration("idle_timeout", 600.0),
            frame_deadline=table.duration("frame_deadline", 60.0),
            reply=_reply(table),
            reconnect=_reconnect(table),
        )
    elif kind == "directory":
        path = table.path_value("path")
        if path is None:
            table.report("path", "the folder to watch", "nothing (the key is required)")
        source = DirectorySource(
            path=path or Path("."),
            encoding=_encoding(table),
            pattern=table.string("pattern", "*", expected='a file name pattern such as "*.hl7"'),
            poll_interval=table.duration("poll_interval", 2.0),
            done=table.string("done", "done", expected="a subfolder name"),
            failed=table.string("failed", "failed", expected="a subfolder name"),
            reject_collisions=table.boolean("reject_collisions", False),
        )
    else:
        if kind:
            table.report("kind", _SOURCE_KINDS, describe(kind))
        return MLLPListenerSource(port=0, encoding="utf-8")
    table.finish()
    return source


def _reconnect(table: Table) -> Reconnect:
    """Redial backoff of a connect-to-receive link; the maximum may not undercut the start."""
    default = Reconnect()
    initial = table.duration("reconnect_initial", default.initial)
    maximum = table.duration("reconnect_max", max(default.maximum, initial))
    if maximum < initial:
        table.report(
            "reconnect_max", "at least reconnect_initial", describe(table.data.get("reconnect_max"))
        )
        maximum = initial
    jitter = table.number("reconnect_jitter", default.jitter, minimum=0.0, below=1.0)
    return Reconnect(initial=initial, maximum=maximum, jitter=jitter)


def _route(table: Table, names: set[str]) -> Route:
    types = table.strings(
        "types", (), expected='an array of message type patterns such as ["ADT^*", "ORU^R01"]'
    )
    if not table.has("types"):
        table.report("types", 'message type patterns such as ["ADT^*"]', "nothing")
    for pattern in types:
        if not TYPE_PATTERN.fullmatch(pattern):
            table.report(
                "types", 'patterns like "ADT", "ADT^*", "ORU^R01" or "*"', describe(pattern)
            )
    destinations = table.strings(
        "destinations", (), expected="an array of destination names of this channel"
    )
    if not table.has("destinations"):
        table.report("destinations", "an array of destination names (may be empty)", "nothing")
    for destination in destinations:
        if destination not in names:
            table.report(
                "destinations",
                "names of destinations defined in this channel",
                describe(destination),
            )
    table.finish()
    return Route(types=types, destinations=destinations)


def _policy(table: Table) -> DestinationPolicy:
    initial = table.duration("backoff_initial", 1.0)
    maximum = table.duration("backoff_max", 300.0)
    if maximum < initial:
        table.report(
            "backoff_max", "at least backoff_initial", describe(table.data.get("backoff_max"))
        )
        maximum = initial
    in_flight = table.integer("in_flight", 1, minimum=1)
    if in_flight != 1:
        table.report(
            "in_flight", "1 (one message in flight per destination, strict FIFO)", str(in_flight)
        )
    return DestinationPolicy(
        on_error=table.choice("on_error", Failure, Failure.HOLD),
        on_reject=table.choice("on_reject", Failure, Failure.HOLD),
        on_timeout=table.choice("on_timeout", Failure, Failure.RETRY),
        max_attempts=table.integer("max_attempts", 0, minimum=0),
        on_exhausted=table.choice("on_exhausted", Failure, Failure.HOLD, exclude=(Failure.RETRY,)),
        backoff_initial=initial,
        backoff_max=maximum,
        backoff_jitter=table.number("backoff_jitter", 0.2, minimum=0.0, below=1.0),
        in_flight=1,
        max_queue_depth=_depth_limit(table),
    )


def _depth_limit(table: Table) -> int | None:
    """P8's queue-depth limit: a positive count, or ``"off"`` (the default) for none."""
    value = table.data.get("max_queue_depth", "off")
    table.has("max_queue_depth")
    if value == "off":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        table.report(
            "max_queue_depth", 'a number of entries of at least 1, or "off"', describe(value)
        )
        return None
    return value


def _destination(table: Table, channel: str, check_imports: bool) -> DestinationConfig:
    name = table.required_string("name", NAME_EXPECTED)
    if name and not _NAME.fullmatch(name):
        table.report("name", NAME_EXPECTED, describe(name))
    kind = table.required_string("kind", _DESTINATION_KINDS)
    transport: Transport
    if kind == "mllp":
        success = table.strings("success", ("AA", "CA"), expected='an array such as ["AA", "CA"]')
        if not set(success) <= _SUCCESS_CODES or not success:
            table.report(
                "success", 'AA and/or CA (AK-5: AE, AR, CE and CR are never success)',
                describe(list(success)),
            )  # fmt: skip
            success = ("AA", "CA")
        transport = MLLPDestination(
            host=table.required_string("host", "the destination host"),
            port=table.required_integer("port", minimum=1, maximum=65535),
            tls=_client_tls(table),
            ack_timeout=table.duration("ack_timeout", 30.0),
            connect_timeout=table.duration("connect_timeout", 10.0),
            success=success,
            max_response_size=table.size("max_response_size", 1024 * 1024),
            mllp_release=table.integer("mllp_release", 1, minimum=1, maximum=2),
            await_application_ack=table.boolean("await_application_ack", False),
        )
        if transport.await_application_ack and transport.mllp_release == 2:
            table.report(
                "await_application_ack",
                "false with mllp_release = 2 (commit blocks carry no application ACK)",
                "true",
            )
    elif kind == "http":
        url = table.required_string("url", "an http:// or https:// URL")
        if url and not url.startswith(("http://", "https://")):
            table.report("url", "an http:// or https:// URL", describe(url))
        transport = HTTPDestination(
            url=url,
            headers=_headers(table),
            timeout=table.duration("timeout", 30.0),
            tls=_client_tls(table),
        )
    elif kind == "file":
        directory = table.path_value("directory")
        if directory is None:
            table.report("directory", "the folder to write into", "nothing (the key is required)")
        transport = FileDestination(
            directory=directory or Path("."),
            suffix=table.string("suffix", ".hl7", expected='a file suffix such as ".hl7"'),
        )
    elif kind == "callable":
        target = _dotted(table, "target", check_imports)
        if target is None and not table.has("target"):
            table.report("target", "a dotted path package.module:function", "nothing")
        transport = CallableDestination(
            target=target or "", timeout=table.duration("timeout", 30.0)
        )
    else:
        if kind:
            table.report("kind", _DESTINATION_KINDS, describe(kind))
        transport = CallableDestination(target="")
    policy = _policy(table)
    table.finish()
    return DestinationConfig(name=name, channel=channel, transport=transport, policy=policy)


def _headers(table: Table) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    for key, expected in (("headers", "header values"), ("headers_env", "variable names")):
        sub = table.table(key)
        if sub is None:
            continue
        for header, value in sub.data.items():
            if not isinstance(value, str) or not re.fullmatch(r"[!-9;-~]+", header):
                sub.report(header, f"a header name with string {expected}", describe(value))
                continue
            if key == "headers_env":
                resolved = table.context.environ.get(value)
                if not resolved:
                    sub.report(header, f"the environment variable {value} to be set")
                    continue
                value = resolved
            headers.append((header, value))
    return tuple(headers)
