"""Loading ``eprlink.toml``: every section checked, every problem reported with file and line."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from eprlink.engine.channels import read_channel
from eprlink.engine.config import (
    ChannelConfig,
    EngineConfig,
    EngineSection,
    MetricsSection,
    ProfilesSection,
    StoreKind,
    StoreSection,
)
from eprlink.engine.errors import ConfigError, ConfigProblem
from eprlink.engine.lines import LineIndex
from eprlink.engine.reader import Context, Table, describe
from eprlink.engine.values import parse_address
from eprlink.profiles import DEFAULT_LAYERS

__all__ = ["load_config", "load_config_text"]


def load_config(
    path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    check_imports: bool = True,
) -> EngineConfig:
    """Read and check a configuration file.

    ``environ`` supplies the variables named by ``*_env`` keys (the CLI passes the process
    environment; nothing here reads it). ``check_imports`` imports filter, transform and callable
    targets so a typo fails at load rather than on the first message.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError([ConfigProblem(str(file), None, "", "a readable file", reason)]) from exc
    except UnicodeDecodeError as exc:
        problem = ConfigProblem(str(file), None, "", "UTF-8 text", "undecodable bytes")
        raise ConfigError([problem]) from exc
    return load_config_text(
        text,
        name=str(file),
        base_dir=file.resolve().parent,
        environ=environ,
        check_imports=check_imports,
        source=file.resolve(),
    )


def load_config_text(
    text: str,
    *,
    name: str = "eprlink.toml",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    check_imports: bool = True,
    source: Path | None = None,
) -> EngineConfig:
    """:func:`load_config` for text already in hand; relative paths are under ``base_dir``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = LineIndex.of_decode_error(str(exc))
        problem = ConfigProblem(name, line, "", "valid TOML", str(exc).split(" (at line")[0])
        raise ConfigError([problem]) from exc
    base = base_dir if base_dir is not None else Path.cwd()
    context = Context(name, LineIndex(text), base, environ or {})
    root = Table(context, data, ())
    config = _read(root, base, check_imports, source)
    if context.problems:
        raise ConfigError(context.problems)
    return config


def _read(root: Table, base: Path, check_imports: bool, source: Path | None) -> EngineConfig:
    engine = _engine(root.table("engine"), base)
    store = _store(root.table("store"))
    profiles = _profiles(root.table("profiles"))
    metrics = _metrics(root.table("metrics"))
    channels = [read_channel(t, check_imports) for t in root.tables("channels")]
    root.finish()
    _check_names(root, channels)
    return EngineConfig(
        engine=engine,
        store=store,
        profiles=profiles,
        metrics=metrics,
        channels=tuple(channels),
        source=source,
    )


def _engine(table: Table | None, base: Path) -> EngineSection:
    if table is None:
        return EngineSection(data_dir=base / "data")
    name = table.string("name", "EPRLINK", expected="the engine's application name (MSH-3)")
    section = EngineSection(
        name=name,
        facility=table.string("facility", "EPRLINK", expected="the engine's facility (MSH-4)"),
        data_dir=table.path_value("data_dir") or base / "data",
        node=table.string("node", name, expected="a node name"),
        shutdown_timeout=table.duration("shutdown_timeout", 30.0),
        poll_interval=table.duration("poll_interval", 5.0),
        stats_interval=table.duration("stats_interval", 15.0),
        queue_age_alert=table.duration("queue_age_alert", 1800.0),
        lease_ttl=table.duration("lease_ttl", 10.0),
    )
    table.finish()
    return section


def _store(table: Table | None) -> StoreSection:
    if table is None:
        return StoreSection()
    kind = table.choice("kind", StoreKind, StoreKind.SQLITE)
    path = None
    dsn = None
    schema = "eprlink"
    if kind is StoreKind.SQLITE:
        text = table.optional_string("path", expected="a path (relative to data_dir)")
        path = Path(text) if text is not None else None
    elif kind is StoreKind.POSTGRES:
        dsn = _secret(table, "dsn", "a PostgreSQL connection string (or dsn_env)")
        schema = _schema(table)
    sqlite = kind is StoreKind.SQLITE
    section = StoreSection(
        kind=kind,
        path=path,
        dsn=dsn,
        dedupe_window=table.duration("dedupe_window", 7 * 86_400.0),
        retention=table.optional_duration("retention", None),
        min_free_disk=_free_disk(table) if sqlite else None,
        busy_timeout=table.duration("busy_timeout", 5.0) if sqlite else 5.0,
        schema=schema,
        checkpoint_interval=table.optional_duration("checkpoint_interval", 300.0)
        if sqlite
        else None,
    )
    table.finish()
    return section


# The rule PostgresStore applies (check_schema_name), checked here so that a bad name is a
# file:line error at load rather than a failure at start-up; "pg_" names are PostgreSQL's own.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,47}")
_SCHEMA_EXPECTED = (
    "a schema name of lower-case letters, digits and '_', starting with a letter or '_', "
    "at most 48 characters, not starting with pg_"
)


def _schema(table: Table) -> str:
    name = table.string("schema", "eprlink", expected=_SCHEMA_EXPECTED)
    if not _SCHEMA_NAME.fullmatch(name) or name.startswith("pg_"):
        table.report("schema", _SCHEMA_EXPECTED, describe(name))
        return "eprlink"
    return name


def _free_disk(table: Table) -> int | Literal["auto"] | None:
    value = table.data.get("min_free_disk", "auto")
    table.has("min_free_disk")
    if value == "auto":
        return "auto"
    if value == "off":
        return None
    return table.size("min_free_disk", 1 << 30)


def _secret(table: Table, key: str, expected: str) -> str:
    """A value given inline or, better, through ``<key>_env`` naming an environment variable."""
    variable = table.optional_string(f"{key}_env", expected="an environment variable name")
    inline = table.optional_string(key, expected=expected)
    if variable is not None:
        if inline is not None:
            table.report(key, f"either {key} or {key}_env, not both")
        value = table.context.environ.get(variable)
        if not value:
            table.report(f"{key}_env", f"the environment variable {variable} to be set")
            return ""
        return value
    if inline is None:
        table.report(key, expected, "nothing (the key is required)")
        return ""
    return inline


def _profiles(table: Table | None) -> ProfilesSection:
    if table is None:
        return ProfilesSection()
    section = ProfilesSection(
        layers=table.strings(
            "layers", DEFAULT_LAYERS, expected='an array of profile layer names, e.g. ["hl7uk"]'
        ),
        trust=table.path_value("trust", must_exist=True),
    )
    table.finish()
    return section


def _metrics(table: Table | None) -> MetricsSection:
    if table is None:
        return MetricsSection()
    value = table.data.get("listen", "127.0.0.1:9464")
    table.has("listen")
    listen = None
    if value not in ("off", False):
        listen = parse_address(value) if isinstance(value, str) else None
        if listen is None:
            table.report(
                "listen", '"host:port" such as "127.0.0.1:9464", or "off"', describe(value)
            )
            listen = ("127.0.0.1", 9464)
    table.finish()
    return MetricsSection(listen=listen)


def _check_names(root: Table, channels: list[ChannelConfig]) -> None:
    """Channel names are unique; destination names are unique across the whole file."""
    seen_channels: set[str] = set()
    seen_destinations: set[str] = set()
    for index, channel in enumerate(channels):
        if channel.name and channel.name in seen_channels:
            root.context.report(
                ("channels", index, "name"),
                "a channel name not used before",
                describe(channel.name),
            )
        seen_channels.add(channel.name)
        for position, destination in enumerate(channel.destinations):
            if destination.name and destination.name in seen_destinations:
                root.context.report(
                    ("channels", index, "destinations", position, "name"),
                    "a destination name not used elsewhere in the file",
                    describe(destination.name),
                )
            seen_destinations.add(destination.name)
