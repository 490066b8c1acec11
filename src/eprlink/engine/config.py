"""The shape of ``eprlink.toml``: frozen values with the policy's defaults, checked by the loader.

Durations are seconds (floats) and sizes bytes once loaded; the loader accepts ``"30s"`` and
``"16MiB"`` in the file. Nothing here reads files, the environment or the network: the values
are plain data that tests can build directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

from eprlink.ack import DEFAULT_SUPPORTED_VERSIONS
from eprlink.profiles import DEFAULT_LAYERS
from eprlink.store import Failure

__all__ = [
    "ApplicationAck",
    "CallableDestination",
    "CertificateIdentity",
    "ChannelConfig",
    "ClientTLS",
    "DestinationConfig",
    "DestinationPolicy",
    "DirectorySource",
    "EngineConfig",
    "EngineSection",
    "FailureReply",
    "FileDestination",
    "HTTPDestination",
    "HeaderPolicy",
    "MLLPDestination",
    "MLLPListenerSource",
    "MLLPReceiverSource",
    "MetricsSection",
    "OnInvalid",
    "ProfilesSection",
    "Reconnect",
    "ReplyPolicy",
    "Route",
    "SenderAccess",
    "SenderKey",
    "ServerTLS",
    "Source",
    "StoreKind",
    "StoreSection",
    "Transport",
]

MIB = 1024 * 1024
DAY = 86_400.0


class StoreKind(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"
    MEMORY = "memory"


class FailureReply(StrEnum):
    """What a sender hears when its message could not be committed (P2)."""

    CLOSE = "close"  # no reply, connection closed: the default, since some senders drop on AR
    AR207 = "ar207"  # AR with ERR 207 "temporarily unavailable"


class OnInvalid(StrEnum):
    """What profile errors do to a message."""

    REJECT = "reject"  # AE/AR with ERR; stored as rejected, not forwarded
    ACCEPT_WITH_WARNING = "accept_with_warning"  # AA; the issues are recorded with the message


class ApplicationAck(StrEnum):
    """Whether an MLLP listener relays the downstream's answer as an application ACK (HD-10)."""

    OFF = "off"  # the engine is not the end application: CA/AA only (policy 2.1)
    RELAY = "relay"  # after the CA, AA/AE/AR on the same connection from one destination's answer


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineSection:
    """Who the engine is in its ACKs (MSH-3/MSH-4) and where it keeps its data."""

    name: str = "EPRLINK"
    facility: str = "EPRLINK"
    data_dir: Path = Path("data")
    node: str = "EPRLINK"  # owner recorded on claims; recover() returns this node's work (P9)
    shutdown_timeout: float = 30.0
    poll_interval: float = 5.0  # idle workers also look for work changed by other processes
    stats_interval: float = 15.0  # queue gauges and the queue-age alert are refreshed this often
    queue_age_alert: float = 1800.0  # queue_age_high fires when the oldest pending is older
    lease_ttl: float = 10.0  # PostgreSQL only: how long a stopped node keeps a destination stream


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSection:
    kind: StoreKind = StoreKind.SQLITE
    path: Path | None = None  # SQLite file; relative paths are under data_dir
    dsn: str | None = field(default=None, repr=False)  # PostgreSQL; may hold a password
    dedupe_window: float = 7 * DAY
    retention: float | None = None  # eprlink prune's default age; None keeps everything
    # SQLite: intake is refused below this much free disk (P10). "auto" is the policy's
    # watermark, 5 % of the volume or 1 GiB, whichever is larger; None switches it off.
    min_free_disk: int | Literal["auto"] | None = "auto"
    busy_timeout: float = 5.0  # SQLite: how long to wait for a lock held elsewhere (F27)
    # PostgreSQL: the schema every table lives in, so one database can hold several stores
    schema: str = "eprlink"
    # SQLite: how often the WAL is checkpointed and truncated (None: SQLite's own PASSIVE
    # auto-checkpoints only, which never shrink a WAL that a busy reader kept growing)
    checkpoint_interval: float | None = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfilesSection:
    layers: tuple[str, ...] = DEFAULT_LAYERS
    trust: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSection:
    """Where the CLI serves ``/metrics``; ``listen`` None switches the endpoint off."""

    listen: tuple[str, int] | None = ("127.0.0.1", 9464)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerTLS:
    cert: Path
    key: Path | None = None
    client_ca: Path | None = None
    require_client_cert: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientTLS:
    ca: Path | None = None  # None: the system trust store
    cert: Path | None = None  # client certificate for mutual TLS
    key: Path | None = None
    server_hostname: str | None = None
    check_hostname: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyPolicy:
    """How an MLLP source answers (policy 2.1, P2, HD-10, HD-11)."""

    failure_reply: FailureReply = FailureReply.CLOSE
    reject_collisions: bool = False
    enhanced: bool = False
    honour_msh15: bool = True
    mllp_release: int = 1  # 2: answer with MLLP Release 2 commit blocks instead of HL7 ACKs
    # Listener only: relay one MLLP destination's settled answer as the application ACK.
    application_ack: ApplicationAck = ApplicationAck.OFF
    application_ack_destination: str | None = None
    application_ack_timeout: float = 30.0


SenderKey = tuple[str, str]
"""(MSH-3, MSH-4) exactly as written in the message: the sender half of the HD-11 duplicate key,
so the allow-list and dedupe agree on who a sender is. A tuple, not a class, because the
per-message check is a set lookup on it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateIdentity:
    """One partner certificate and the senders it may speak for (HD-12, F20).

    Every identity given must match (a CN and a pin together mean "this name, and only this
    exact certificate"); at least one is required.
    """

    senders: frozenset[SenderKey]
    common_name: str | None = None  # a CN of the subject, exact
    dns_name: str | None = None  # a DNS subjectAltName, compared case-insensitively
    sha256: str | None = None  # fingerprint of the DER certificate, lower-case hex, no colons


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderAccess:
    """Who may send on a listener (HD-12). ``allowed`` None means any sender a mapped
    certificate speaks for; ``certificates`` empty means the connection is not identified by
    certificate and only ``allowed`` applies."""

    allowed: frozenset[SenderKey] | None = None
    certificates: tuple[CertificateIdentity, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MLLPListenerSource:
    port: int
    encoding: str  # the partner's charset when MSH-18 is empty (EN-3: no implicit default)
    host: str = "127.0.0.1"
    tls: ServerTLS | None = None
    max_size: int = 16 * MIB
    strict_framing: bool = False
    idle_timeout: float = 600.0
    frame_deadline: float = 60.0
    handshake_timeout: float = 10.0
    max_connections: int = 10
    max_connections_per_peer: int = 10
    reply: ReplyPolicy = field(default_factory=ReplyPolicy)
    access: SenderAccess | None = None  # None: any sender (no HD-12 check)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconnect:
    """Redial delays of a connect-to-receive link: doubling from ``initial`` to ``maximum``,
    each spread by ±``jitter`` so several engines do not redial a restarted partner at once."""

    initial: float = 1.0
    maximum: float = 300.0
    jitter: float = 0.2


@dataclass(frozen=True, slots=True, kw_only=True)
class MLLPReceiverSource:
    """Connect-to-receive: dial a partner's outbound port and take what it pushes."""

    host: str
    port: int
    encoding: str
    tls: ClientTLS | None = None
    connect_timeout: float = 10.0
    max_size: int = 16 * MIB
    strict_framing: bool = False
    idle_timeout: float = 600.0
    frame_deadline: float = 60.0
    reply: ReplyPolicy = field(default_factory=ReplyPolicy)
    reconnect: Reconnect = field(default_factory=Reconnect)


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectorySource:
    """A watched folder: each file is stored, then moved to ``done`` (or ``failed``)."""

    path: Path
    encoding: str
    pattern: str = "*"
    poll_interval: float = 2.0
    done: str = "done"
    failed: str = "failed"
    reject_collisions: bool = False


Source = MLLPListenerSource | MLLPReceiverSource | DirectorySource


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderPolicy:
    """Header checks of a channel (HD-6, HD-7, HD-8), with the policy's defaults."""

    processing_id: str = "P"
    versions: tuple[str, ...] = DEFAULT_SUPPORTED_VERSIONS
    reply_version: str = "2.4"
    max_control_id_length: int = 199


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Messages whose ``TYPE^TRIGGER`` matches one of ``types`` go to ``destinations``."""

    types: tuple[str, ...]
    destinations: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DestinationPolicy:
    """What AE, AR and a missing ACK do to a destination's stream (P5, AK-4, AK-5)."""

    on_error: Failure = Failure.HOLD
    on_reject: Failure = Failure.HOLD
    on_timeout: Failure = Failure.RETRY
    max_attempts: int = 0  # 0: retry without limit
    on_exhausted: Failure = Failure.HOLD
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    backoff_jitter: float = 0.2
    in_flight: int = 1
    max_queue_depth: int | None = None  # P8: intake refused (as in P2) at this many pending


@dataclass(frozen=True, slots=True, kw_only=True)
class MLLPDestination:
    host: str
    port: int
    tls: ClientTLS | None = None
    ack_timeout: float = 30.0
    connect_timeout: float = 10.0
    success: tuple[str, ...] = ("AA", "CA")
    max_response_size: int = MIB
    mllp_release: int = 1  # 2: the partner answers with commit blocks, not HL7 ACKs
    # Enhanced mode: after a CA, wait (within ack_timeout) for the application ACK that a
    # message with MSH-16 "AL" asks for, and judge the delivery by it.
    await_application_ack: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class HTTPDestination:
    """POST the bytes; 2xx is delivered, 4xx a reject, other statuses an error."""

    url: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    timeout: float = 30.0
    tls: ClientTLS | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FileDestination:
    directory: Path
    suffix: str = ".hl7"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallableDestination:
    target: str  # "package.module:function", called with the payload bytes; raising = failure
    timeout: float = 30.0


Transport = MLLPDestination | HTTPDestination | FileDestination | CallableDestination


@dataclass(frozen=True, slots=True, kw_only=True)
class DestinationConfig:
    name: str
    channel: str
    transport: Transport
    policy: DestinationPolicy = field(default_factory=DestinationPolicy)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelConfig:
    name: str
    source: Source
    header: HeaderPolicy = field(default_factory=HeaderPolicy)
    validate: bool = True
    on_invalid: OnInvalid = OnInvalid.REJECT
    filter: str | None = None  # "module:function", Message -> bool
    transform: str | None = None  # "module:function", Message -> Message, run at delivery
    routes: tuple[Route, ...] = ()  # none: every message goes to every destination
    destinations: tuple[DestinationConfig, ...] = ()

    def route_table(self) -> tuple[Route, ...]:
        """The routes in force: the configured ones, or one catch-all to every destination."""
        if self.routes:
            return self.routes
        return (Route(types=("*",), destinations=tuple(d.name for d in self.destinations)),)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    engine: EngineSection = field(default_factory=EngineSection)
    store: StoreSection = field(default_factory=StoreSection)
    profiles: ProfilesSection = field(default_factory=ProfilesSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    channels: tuple[ChannelConfig, ...] = ()
    source: Path | None = None  # the file this was loaded from

    @property
    def destinations(self) -> tuple[DestinationConfig, ...]:
        return tuple(d for c in self.channels for d in c.destinations)

    def channel(self, name: str) -> ChannelConfig | None:
        return next((c for c in self.channels if c.name == name), None)

    def destination(self, name: str) -> DestinationConfig | None:
        return next((d for d in self.destinations if d.name == name), None)

    def store_path(self) -> Path:
        """The SQLite file: ``store.path`` under ``data_dir`` unless absolute."""
        path = self.store.path if self.store.path is not None else Path("eprlink.db")
        return path if path.is_absolute() else self.engine.data_dir / path
