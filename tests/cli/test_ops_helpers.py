"""Shared set-up for the operations command tests: a SQLite store filled by the real engine."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from eprlink.cli import main
from eprlink.engine import Engine, EngineAPI, load_config, open_api
from eprlink.engine.sources import Listener
from eprlink.mllp import MLLPClient
from eprlink.store import AuditEvent, EntryState

T = TypeVar("T")

NHS_NUMBER = "9990000018"  # the reserved test range, valid check digit


def adt(control_id: str, *, version: str = "2.4") -> bytes:
    return (
        "MSH|^~\\&|CAREFLOW|RXX01|EPRLINK|RXX01|20240101120000||ADT^A01^ADT_A01|"
        f"{control_id}|P|{version}\r"
        "EVN|A01|20240101120000\r"
        f"PID|1||{NHS_NUMBER}^^^NHS^NH~K123456^^^RXX01^MR||TESTPATIENT^ALPHA||19800101|U\r"
        "PV1|1|I|WARD1^BED1\r"
    ).encode("ascii")


def refuse(payload: bytes) -> None:
    """The ``pas`` destination: always fails, so its first entry is held (on_error = hold)."""
    raise RuntimeError("downstream refused")


SENT = {"MSG1": adt("MSG1"), "MSG2": adt("MSG2"), "MSG3": adt("MSG3", version="9.9")}

ENGINE = """
[engine]
name = "EPRLINK"
facility = "RXX01"
data_dir = "data"
poll_interval = "100ms"
stats_interval = "100ms"
shutdown_timeout = "2s"

[store]
kind = "sqlite"

[profiles]
layers = []

[metrics]
listen = "off"
"""

CHANNEL = """
[[channels]]
name = "adt"
validate = false

[channels.source]
kind = "mllp_listener"
port = 0
encoding = "utf-8"

[[channels.destinations]]
name = "archive"
kind = "file"
directory = "out"

[[channels.destinations]]
name = "pas"
kind = "callable"
target = "tests.cli.test_ops_helpers:refuse"
backoff_initial = "10ms"
"""


@dataclass(frozen=True)
class Site:
    """A folder with ``eprlink.toml``, its ``data`` (the SQLite store) and ``out`` folders."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "eprlink.toml"

    def invoke(self, *args: str, input: str | None = None) -> Result:
        """``eprlink ARGS --config <this site>``."""
        return CliRunner().invoke(main, [*args, "--config", str(self.config)], input=input)

    def api(self, work: Callable[[EngineAPI], Coroutine[Any, Any, T]]) -> T:
        config = load_config(self.config, check_imports=False)

        async def session() -> T:
            async with open_api(config) as api:
                return await work(api)

        return asyncio.run(session())

    def events(self, limit: int = 500) -> list[AuditEvent]:
        async def work(api: EngineAPI) -> list[AuditEvent]:
            return await api.events(limit=limit)

        return self.api(work)


async def _populate(config_path: Path) -> None:
    config = load_config(config_path)
    async with Engine(config) as engine:
        source = engine.sources["adt"]
        assert isinstance(source, Listener)
        client = MLLPClient("127.0.0.1", source.port, ack_timeout=5.0)
        for payload in SENT.values():
            await client.send(payload, accept=lambda frame: b"MSA|" in frame)
        await client.close()
        async with asyncio.timeout(10):
            while True:
                stats = {s.destination: s.counts for s in await engine.store.stats()}
                archive, pas = stats.get("archive", {}), stats.get("pas", {})
                if (
                    archive.get(EntryState.DELIVERED) == 2
                    and pas.get(EntryState.HELD) == 1
                    and pas.get(EntryState.QUEUED) == 1
                ):
                    break
                await asyncio.sleep(0.02)


def write_site(root: Path, text: str = ENGINE + CHANNEL) -> Site:
    root.mkdir(parents=True, exist_ok=True)
    (root / "eprlink.toml").write_text(text, encoding="utf-8")
    return Site(root)


@pytest.fixture(scope="session")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Run the engine once, in-process on loopback, and send three synthetic messages over MLLP
    (two accepted, one rejected for its version): ``archive`` (a folder) delivers both, ``pas``
    (a callable that always fails) holds the first and blocks the second."""
    site = write_site(tmp_path_factory.mktemp("template"))
    asyncio.run(_populate(site.config))
    return site


@pytest.fixture
def site(populated: Site, tmp_path: Path) -> Site:
    """A private copy of the populated site."""
    root = tmp_path / "site"
    shutil.copytree(populated.root, root)
    return Site(root)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
