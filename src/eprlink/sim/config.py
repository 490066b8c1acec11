"""The shape of ``sim.toml``: listeners, traffic, Trust, faults, as frozen values with defaults.

Durations are seconds (floats) once loaded; the loader accepts ``"250ms"`` and ``"30s"``. Nothing
here reads files: tests build these values directly, the CLI loads them from TOML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path

__all__ = [
    "DEFAULT_FEEDS",
    "INBOUND",
    "OUTBOUND",
    "FaultConfig",
    "ListenerConfig",
    "ListenerKind",
    "OnNak",
    "OnTimeout",
    "SimConfig",
    "TLSConfig",
    "TrafficConfig",
    "TrustConfig",
]


class ListenerKind(StrEnum):
    """The five CareFlow IE ports the simulator can open (reference §2, design §1)."""

    ADT = "adt"  # outbound ADT/MPI feed: pushed to whoever connects
    RESULTS = "results"  # outbound results (and order comms) feed: pushed likewise
    ORDERS = "orders"  # inbound OMG^O19 / OML^O21 from third parties
    REGISTRATIONS = "registrations"  # inbound A28/A31/A04 from third parties allowed to write
    ALERTS = "alerts"  # inbound, enhanced mode: commit ACK then application ACK


OUTBOUND = frozenset({ListenerKind.ADT, ListenerKind.RESULTS})
INBOUND = frozenset({ListenerKind.ORDERS, ListenerKind.REGISTRATIONS, ListenerKind.ALERTS})
DEFAULT_FEEDS: dict[ListenerKind, tuple[str, ...]] = {
    ListenerKind.ADT: ("adt",),
    ListenerKind.RESULTS: ("results", "orders"),  # CareFlow's order comms link carries both
}


class OnNak(StrEnum):
    """What an outbound link does after AE/AR: what the CIE does is unknown (reference U4)."""

    HOLD = "hold"  # keep the message at the head and resend after retry_delay (blocks the link)
    SKIP = "skip"  # log it, set it aside, carry on with the next message


class OnTimeout(StrEnum):
    """What an outbound link does when no matching ACK arrives in time."""

    RESEND = "resend"  # send the same message again on the same connection
    RECONNECT = "reconnect"  # close; the message is resent when the peer reconnects


@dataclass(frozen=True, slots=True, kw_only=True)
class TLSConfig:
    """A listener's certificate, and a client CA for mutual TLS."""

    cert: Path
    key: Path | None = None
    client_ca: Path | None = None
    require_client_cert: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultConfig:
    """Fault rates (0 to 1) for one listener, drawn from the seed so runs repeat exactly.

    Wire faults apply to every frame the listener writes (a message on an outbound link, an
    ACK on an inbound one, where ``delay`` is a slow ACK). Payload faults change a message as
    it is queued on an outbound link, so every resend carries the same bytes. Answer faults
    make an inbound listener answer AE or AR whatever the message.
    """

    drop_before: float = 0.0  # close the connection instead of writing the frame
    drop_after: float = 0.0  # write the frame, then close without waiting for the answer
    delay: float = 0.0  # pause before writing (a slow ACK on inbound listeners)
    delay_max: float = 1.0  # seconds; the pause is between half of this and all of it
    duplicate: float = 0.0  # write the frame twice
    garbage: float = 0.0  # junk bytes before the start block (FR-2)
    lf_trailer: float = 0.0  # end block followed by LF instead of CR (FR-4)
    lf_segments: float = 0.0  # segments terminated by LF (EN-1)
    cp1252: float = 0.0  # Windows-1252 bytes with MSH-18 declaring them
    cp1252_undeclared: float = 0.0  # Windows-1252 bytes with MSH-18 left empty (EN-3)
    malformed: float = 0.0  # one of the bad-input cases of policy section 4
    error: float = 0.0  # inbound: answer AE (207 would be AR, so 206 record locked)
    reject: float = 0.0  # inbound: answer AR 207
    limit: int = 0  # most faults injected on this listener; 0 is no limit

    @property
    def active(self) -> bool:
        rates = (
            self.drop_before,
            self.drop_after,
            self.delay,
            self.duplicate,
            self.garbage,
            self.lf_trailer,
            self.lf_segments,
            self.cp1252,
            self.cp1252_undeclared,
            self.malformed,
            self.error,
            self.reject,
        )
        return any(rate > 0 for rate in rates)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenerConfig:
    """One port. Outbound keys apply to ``adt``/``results``, the rest to inbound listeners."""

    kind: ListenerKind
    port: int
    host: str = "127.0.0.1"
    tls: TLSConfig | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    # outbound links
    feeds: tuple[str, ...] = ()  # hospital feeds queued here; empty = DEFAULT_FEEDS of the kind
    ack_timeout: float = 30.0
    on_error: OnNak = OnNak.HOLD
    on_reject: OnNak = OnNak.HOLD
    retry_delay: float = 5.0
    on_timeout: OnTimeout = OnTimeout.RESEND
    replay: Path | None = None  # a capture file or a folder of .hl7 files queued at start
    # inbound listeners
    encoding: str = "utf-8"  # the third party's charset when MSH-18 is empty
    validate: bool = True
    events: tuple[str, ...] = ()  # accepted TYPE^TRIGGER; empty = the kind's defaults
    allowed_senders: tuple[str, ...] = ()  # MSH-3 values allowed to write; empty = anyone
    order_response: bool = False  # orders: ORG^O20 / ORL^O22 instead of a plain ACK
    result_delay: float = 2.0  # orders: seconds before the results are queued
    result_type: str = "ORU^R01"  # orders: "ORU^R01" or "OUL^R22"
    app_ack_delay: float = 0.0  # alerts: seconds between the commit and application ACKs

    @property
    def name(self) -> str:
        return self.kind.value

    @property
    def outbound(self) -> bool:
        return self.kind in OUTBOUND

    @property
    def carried(self) -> tuple[str, ...]:
        """The hospital feeds this link carries."""
        return self.feeds or DEFAULT_FEEDS.get(self.kind, ())


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficConfig:
    """The synthetic hospital's traffic: which day, how big, how fast, how much.

    ``rate`` sends that many messages a second; ``day_in`` squeezes each simulated day into
    that many seconds instead ("one day of a 600-bed hospital in 10 minutes").
    """

    enabled: bool = True
    beds: int = 600
    rate: float | None = 1.0
    day_in: float | None = None
    count: int = 0  # stop after this many messages; 0 is no limit
    start: date = date(2025, 3, 3)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustConfig:
    """The Trust the simulator plays: its profile (a Trust plug-in overlay file) and settings.

    The overlay's ``[trust]`` table supplies the ODS code, plug-in versions and identifier
    order when present; the keys here are the fallbacks.
    """

    profile: Path | None = None
    layers: tuple[str, ...] = ("hl7uk", "careflow")
    ods_code: str = "RZZ"
    charset: str | None = "UNICODE"  # MSH-18 of generated messages; None leaves it out
    profile_id: str | None = None  # MSH-21 (ITK wants e.g. "iTKv1.0"; HL7 UK A.3 does not)
    medically_fit: str = "v2"
    waiting_list: str = "v2"


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Everything one ``eprlink sim`` process does."""

    seed: int = 0
    application: str = "CAREFLOW"  # MSH-3 of the simulator's ACKs
    facility: str = "RZZ"  # MSH-4 of the simulator's ACKs
    data_dir: Path | None = None  # persistent queues live here; None keeps them in memory
    capture: Path | None = None  # JSON-lines record of every frame sent and received
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    trust: TrustConfig = field(default_factory=TrustConfig)
    listeners: tuple[ListenerConfig, ...] = ()

    def listener(self, kind: ListenerKind | str) -> ListenerConfig | None:
        return next((item for item in self.listeners if item.kind == kind), None)
