"""``[store] schema``: the PostgreSQL schema named in eprlink.toml is the one the engine and every
operations command use, and a name that is not a safe identifier fails at load with file:line.

The PostgreSQL tests skip without a server, except in CI (``tests/store/pg.py``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from psycopg import sql

from eprlink.cli import main
from eprlink.engine import ConfigError, Engine, effective_config, load_config, load_config_text
from eprlink.engine.sources import Listener
from eprlink.engine.stores import store_for
from eprlink.mllp import MLLPClient
from eprlink.store import PENDING_STATES
from eprlink.store.postgres import PostgresStore

from .pg import PgSchema, admin, fresh_schema

NHS_NUMBER = "9990000018"  # the reserved test range, valid check digit


def _store_text(schema_line: str, dsn: str = "host=127.0.0.1 dbname=test") -> str:
    return f"""
[store]
kind = "postgres"
dsn = "{dsn}"
{schema_line}
"""


def test_schema_defaults_to_eprlink_and_is_passed_to_the_store() -> None:
    config = load_config_text(_store_text(""))
    assert config.store.schema == "eprlink"
    named = load_config_text(_store_text('schema = "eprlink_ward_b"'))
    assert named.store.schema == "eprlink_ward_b"
    assert effective_config(named)["store"]["schema"] == "eprlink_ward_b"
    store = store_for(named)
    assert isinstance(store, PostgresStore)
    assert store._schema == "eprlink_ward_b"  # what the store was given


@pytest.mark.parametrize(
    "value",
    [
        '"Eprlink"',  # upper case would need quoting everywhere
        '"eprlink-b"',
        '"1eprlink"',
        '"eprlink; DROP SCHEMA public"',
        '"pg_eprlink"',  # reserved by PostgreSQL for system schemas
        '"' + "a" * 49 + '"',
        '""',
        "7",
    ],
)
def test_an_unsafe_schema_name_is_a_file_and_line_error(value: str) -> None:
    text = _store_text(f"schema = {value}")
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, name="eprlink.toml")
    message = str(caught.value)
    line = text.splitlines().index(f"schema = {value}") + 1
    assert f"eprlink.toml:{line}: store.schema: expected a schema name" in message


def test_schema_is_only_a_postgres_key() -> None:
    with pytest.raises(ConfigError, match=r"store\.schema: expected one of the keys .*unknown key"):
        load_config_text('[store]\nkind = "sqlite"\nschema = "eprlink"\n')


def adt(control_id: str) -> bytes:
    return (
        "MSH|^~\\&|CAREFLOW|RXX01|EPRLINK|RXX01|20240101120000||ADT^A01^ADT_A01|"
        f"{control_id}|P|2.4\r"
        "EVN|A01|20240101120000\r"
        f"PID|1||{NHS_NUMBER}^^^NHS^NH||TESTPATIENT^ALPHA||19800101|U\r"
        "PV1|1|I|WARD1^BED1\r"
    ).encode("ascii")


def _site(root: Path, pg: PgSchema) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "eprlink.toml"
    path.write_text(
        f"""
[engine]
data_dir = "data"
poll_interval = "100ms"
stats_interval = "100ms"
shutdown_timeout = "2s"
lease_ttl = "2s"

[store]
kind = "postgres"
dsn = "{pg.dsn}"
schema = "{pg.schema}"

[profiles]
layers = []

[metrics]
listen = "off"

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
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def pg() -> Iterator[PgSchema]:
    with fresh_schema() as schema:
        yield schema


def _rows(schema: str, table: str) -> int:
    with admin() as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(str(row[0]))


async def _run_engine(path: Path, control_ids: list[str]) -> None:
    config = load_config(path)
    async with Engine(config) as engine:
        source = engine.sources["adt"]
        assert isinstance(source, Listener)
        client = MLLPClient("127.0.0.1", source.port, ack_timeout=5.0)
        for control_id in control_ids:
            reply = await client.send(adt(control_id), accept=lambda frame: b"MSA|" in frame)
            assert b"MSA|AA|" + control_id.encode() in reply
        await client.close()
        async with asyncio.timeout(10):
            while True:
                counts = {s.destination: s.counts for s in await engine.store.stats()}
                archive = counts.get("archive", {})
                if not any(archive.get(state) for state in PENDING_STATES):
                    break
                await asyncio.sleep(0.02)


@pytest.mark.network
def test_engine_and_ops_commands_use_the_configured_schema(pg: PgSchema, tmp_path: Path) -> None:
    path = _site(tmp_path / "site", pg)
    asyncio.run(asyncio.wait_for(_run_engine(path, ["PGS1", "PGS2"]), 30))

    # the engine migrated and wrote the configured schema
    assert _rows(pg.schema, "messages") == 2
    assert _rows(pg.schema, "entries") == 2
    assert len(list((tmp_path / "site" / "out").iterdir())) == 2

    runner = CliRunner()
    status = runner.invoke(main, ["status", "--json", "--config", str(path)])
    assert status.exit_code == 0, status.output
    data = json.loads(status.stdout)
    archive = next(d for d in data["destinations"] if d["name"] == "archive")
    assert archive["counts"]["delivered"] == 2

    listed = runner.invoke(main, ["messages", "--json", "--config", str(path)])
    assert listed.exit_code == 0, listed.output
    found = json.loads(listed.stdout)
    assert sorted(m["control_id"] for m in found["messages"]) == ["PGS1", "PGS2"]
    assert NHS_NUMBER not in listed.output


@pytest.mark.network
def test_two_schemas_in_one_database_are_separate_stores(pg: PgSchema, tmp_path: Path) -> None:
    path = _site(tmp_path / "first", pg)
    asyncio.run(asyncio.wait_for(_run_engine(path, []), 30))  # migrated, whatever it holds
    before = _rows(pg.schema, "messages")
    with fresh_schema() as other:
        path = _site(tmp_path / "other", other)
        asyncio.run(asyncio.wait_for(_run_engine(path, ["OTHER1"]), 30))
        assert _rows(other.schema, "messages") == 1
        assert _rows(pg.schema, "messages") == before
        listed = CliRunner().invoke(main, ["messages", "--json", "--config", str(path)])
        assert listed.exit_code == 0, listed.output
        assert [m["control_id"] for m in json.loads(listed.stdout)["messages"]] == ["OTHER1"]
