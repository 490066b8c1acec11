"""Reading ``sim.toml``: every problem reported at once, each naming the file and the key."""

from __future__ import annotations

import codecs
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from eprlink.errors import EprlinkError
from eprlink.sim.config import (
    DEFAULT_FEEDS,
    FaultConfig,
    ListenerConfig,
    ListenerKind,
    OnNak,
    OnTimeout,
    SimConfig,
    TLSConfig,
    TrafficConfig,
    TrustConfig,
)

__all__ = ["SimConfigError", "load_sim_config", "load_sim_config_text", "parse_duration"]

T = TypeVar("T")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_RESULT_TYPES = ("ORU^R01", "OUL^R22")
_FEEDS = ("adt", "results", "orders")

_TOP = {"seed", "application", "facility", "data_dir", "capture"}
_TRAFFIC = {"enabled", "beds", "rate", "day_in", "count", "start"}
_TRUST = {"profile", "layers", "ods_code", "charset", "profile_id", "medically_fit", "waiting_list"}
_COMMON = {"port", "host", "tls_cert", "tls_key", "tls_client_ca", "tls_require_client_cert"}
_OUTBOUND = {"feeds", "ack_timeout", "on_error", "on_reject", "retry_delay", "on_timeout", "replay"}
_INBOUND = {"encoding", "validate", "events", "allowed_senders"}
_ONLY = {
    ListenerKind.ORDERS: {"order_response", "result_delay", "result_type"},
    ListenerKind.ALERTS: {"app_ack_delay"},
}
_RATES = (
    "drop_before",
    "drop_after",
    "delay",
    "duplicate",
    "garbage",
    "lf_trailer",
    "lf_segments",
    "cp1252",
    "cp1252_undeclared",
    "malformed",
    "error",
    "reject",
)


class SimConfigError(EprlinkError):
    """The configuration has problems; ``problems`` lists every one as ``file: key: what``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def parse_duration(value: object) -> float | None:
    """Seconds from ``"250ms"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"1d"`` or a plain number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found:
            return float(found.group(1)) * _UNITS[found.group(2)]
    return None


@dataclass(slots=True)
class _Reader:
    """Collects problems instead of raising, so every one is reported together."""

    file: str
    base: Path
    problems: list[str]

    def problem(self, key: str, expected: str, found: object) -> None:
        self.problems.append(f"{self.file}: {key}: expected {expected}, found {found!r}")

    def at(self, where: str, data: object) -> _Table:
        """The table at ``where`` (``""`` for the top level, else ``"traffic."`` …)."""
        if not isinstance(data, Mapping):
            self.problem(where.rstrip(".") or "file", "a table", data)
            data = {}
        return _Table(self, where, data)

    def path(self, value: object) -> Path | None:
        if not isinstance(value, str) or not value:
            return None
        path = Path(value)
        return path if path.is_absolute() else self.base / path


@dataclass(slots=True)
class _Table:
    """One TOML table and where it sits, for messages that name the full key."""

    reader: _Reader
    where: str
    data: Mapping[str, Any]

    def keys(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                choices = ", ".join(sorted(allowed))
                self.reader.problem(f"{self.where}{key}", f"one of {choices}", "an unknown key")

    def sub(self, key: str) -> _Table:
        return self.reader.at(f"{self.where}{key}.", self.data.get(key, {}))

    def get(self, key: str, default: T, convert: Callable[[object], T | None], expected: str) -> T:
        if key not in self.data:
            return default
        value = convert(self.data[key])
        if value is None:
            self.reader.problem(f"{self.where}{key}", expected, self.data[key])
            return default
        return value

    def path(self, key: str, expected: str) -> Path | None:
        path = self.reader.path(self.data.get(key))
        if key in self.data and path is None:
            self.reader.problem(f"{self.where}{key}", expected, self.data[key])
        return path


def _int(low: int, high: int) -> Callable[[object], int | None]:
    def convert(value: object) -> int | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return value if ok else None  # type: ignore[return-value]

    return convert


def _rate(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None


def _positive(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _texts(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return None


def _choice(values: tuple[str, ...]) -> Callable[[object], str | None]:
    return lambda value: value if value in values else None


def _duration(value: object) -> float | None:
    seconds = parse_duration(value)
    return seconds if seconds is not None and seconds > 0 else None


def _codec(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        codecs.lookup(value)
    except LookupError:
        return None
    return value


def _date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _faults(t: _Table) -> FaultConfig:
    t.keys({*_RATES, "delay_max", "limit"})
    rate = {key: t.get(key, 0.0, _rate, "a rate from 0 to 1") for key in _RATES}
    return FaultConfig(
        drop_before=rate["drop_before"],
        drop_after=rate["drop_after"],
        delay=rate["delay"],
        delay_max=t.get("delay_max", 1.0, parse_duration, 'a duration like "2s"'),
        duplicate=rate["duplicate"],
        garbage=rate["garbage"],
        lf_trailer=rate["lf_trailer"],
        lf_segments=rate["lf_segments"],
        cp1252=rate["cp1252"],
        cp1252_undeclared=rate["cp1252_undeclared"],
        malformed=rate["malformed"],
        error=rate["error"],
        reject=rate["reject"],
        limit=t.get("limit", 0, _int(0, 10**9), "a count (0 = no limit)"),
    )


def _tls(t: _Table) -> TLSConfig | None:
    cert = t.path("tls_cert", "a certificate file")
    if cert is None:
        for key in ("tls_key", "tls_client_ca", "tls_require_client_cert"):
            if key in t.data:
                t.reader.problem(f"{t.where}{key}", "tls_cert as well", "no tls_cert")
        return None
    require = t.get("tls_require_client_cert", False, _bool, "true or false")
    client_ca = t.path("tls_client_ca", "a CA file")
    if require and client_ca is None:
        t.reader.problem(f"{t.where}tls_require_client_cert", "tls_client_ca as well", None)
    return TLSConfig(
        cert=cert,
        key=t.path("tls_key", "a key file"),
        client_ca=client_ca,
        require_client_cert=require,
    )


def _listener(t: _Table, kind: ListenerKind) -> ListenerConfig:
    allowed = {*_COMMON, "faults", *_ONLY.get(kind, set())}
    allowed |= _OUTBOUND if kind in DEFAULT_FEEDS else _INBOUND
    t.keys(allowed)
    if "port" not in t.data:
        t.reader.problem(f"{t.where}port", "a port number (0 picks a free one)", None)
    feeds: tuple[str, ...] = t.get("feeds", (), _texts, "a list of feeds")
    for feed in feeds:
        if feed not in _FEEDS:
            t.reader.problem(f"{t.where}feeds", f"feeds from {', '.join(_FEEDS)}", feed)
    nak = _choice(("hold", "skip"))
    return ListenerConfig(
        kind=kind,
        port=t.get("port", 0, _int(0, 65535), "a port number from 0 to 65535"),
        host=t.get("host", "127.0.0.1", _text, "a host name or address"),
        tls=_tls(t),
        faults=_faults(t.sub("faults")),
        feeds=feeds,
        ack_timeout=t.get("ack_timeout", 30.0, _duration, 'a duration like "30s"'),
        on_error=OnNak(t.get("on_error", "hold", nak, '"hold" or "skip"')),
        on_reject=OnNak(t.get("on_reject", "hold", nak, '"hold" or "skip"')),
        retry_delay=t.get("retry_delay", 5.0, parse_duration, 'a duration like "5s"'),
        on_timeout=OnTimeout(
            t.get("on_timeout", "resend", _choice(("resend", "reconnect")), '"resend"/"reconnect"')
        ),
        replay=t.path("replay", "a capture file or a folder of .hl7 files"),
        encoding=t.get("encoding", "utf-8", _codec, "a Python codec name"),
        validate=t.get("validate", True, _bool, "true or false"),
        events=t.get("events", (), _texts, 'a list like ["ADT^A28"]'),
        allowed_senders=t.get("allowed_senders", (), _texts, "a list of MSH-3 values"),
        order_response=t.get("order_response", False, _bool, "true or false"),
        result_delay=t.get("result_delay", 2.0, parse_duration, 'a duration like "2s"'),
        result_type=t.get("result_type", "ORU^R01", _choice(_RESULT_TYPES), '"ORU^R01"/"OUL^R22"'),
        app_ack_delay=t.get("app_ack_delay", 0.0, parse_duration, 'a duration like "1s"'),
    )


def _traffic(t: _Table) -> TrafficConfig:
    t.keys(_TRAFFIC)
    rate = t.get("rate", None, _positive, "messages per second (a positive number)")
    day_in = t.get("day_in", None, _duration, 'a positive duration like "10m"')
    if rate is not None and day_in is not None:
        t.reader.problem(f"{t.where}day_in", "either rate or day_in, not both", t.data["day_in"])
    return TrafficConfig(
        enabled=t.get("enabled", True, _bool, "true or false"),
        beds=t.get("beds", 600, _int(1, 100_000), "a number of beds"),
        rate=rate if rate is not None or day_in is not None else 1.0,
        day_in=day_in,
        count=t.get("count", 0, _int(0, 10**12), "a count (0 = no limit)"),
        start=t.get("start", date(2025, 3, 3), _date, 'a date like "2025-03-03"'),
    )


def _trust(t: _Table) -> TrustConfig:
    t.keys(_TRUST)
    profile = t.path("profile", "a Trust profile file")
    if profile is not None and not profile.is_file():
        t.reader.problem(f"{t.where}profile", "an existing Trust profile file", str(profile))
    charset: str | None = t.get(
        "charset",
        "UNICODE",
        lambda v: v if isinstance(v, str) else None,
        'an MSH-18 value, or "" for none',
    )
    return TrustConfig(
        profile=profile,
        layers=t.get("layers", ("hl7uk", "careflow"), _texts, "a list of profile layers"),
        ods_code=t.get("ods_code", "RZZ", _text, "an ODS code"),
        charset=charset or None,
        profile_id=t.get("profile_id", None, _text, 'an MSH-21 value like "iTKv1.0"'),
        medically_fit=t.get("medically_fit", "v2", _choice(("v1", "v2")), '"v1" or "v2"'),
        waiting_list=t.get("waiting_list", "v2", _choice(("v1", "v2")), '"v1" or "v2"'),
    )


def load_sim_config_text(
    text: str, *, name: str = "sim.toml", base_dir: Path | None = None
) -> SimConfig:
    """:func:`load_sim_config` for text in hand; relative paths are under ``base_dir``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SimConfigError([f"{name}: not valid TOML ({exc})"]) from exc
    reader = _Reader(name, base_dir if base_dir is not None else Path.cwd(), [])
    top = reader.at("", data)
    top.keys({*_TOP, "traffic", "trust", "listeners"})
    tables = top.sub("listeners")
    kinds = {kind.value: kind for kind in ListenerKind}
    tables.keys(set(kinds))
    listeners = tuple(_listener(tables.sub(key), kinds[key]) for key in kinds if key in tables.data)
    config = SimConfig(
        seed=top.get("seed", 0, _int(0, 2**63), "a non-negative integer"),
        application=top.get("application", "CAREFLOW", _text, "an MSH-3 value"),
        facility=top.get("facility", "RZZ", _text, "an MSH-4 value"),
        data_dir=top.path("data_dir", "a folder"),
        capture=top.path("capture", "a file"),
        traffic=_traffic(top.sub("traffic")),
        trust=_trust(top.sub("trust")),
        listeners=listeners,
    )
    if reader.problems:
        raise SimConfigError(reader.problems)
    return config


def load_sim_config(path: str | Path) -> SimConfig:
    """Read and check a ``sim.toml``; relative paths in it are relative to its folder."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SimConfigError([f"{file}: not a readable UTF-8 file ({type(exc).__name__})"]) from exc
    return load_sim_config_text(text, name=str(file), base_dir=file.resolve().parent)
