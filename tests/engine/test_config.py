"""eprlink.toml: defaults, every section, and errors that name the file, the line and the need."""

from __future__ import annotations

from pathlib import Path

import pytest

from eprlink.engine import ConfigError, dump_config, effective_config, load_config, load_config_text
from eprlink.engine.config import (
    CallableDestination,
    DirectorySource,
    FailureReply,
    FileDestination,
    HTTPDestination,
    MLLPDestination,
    MLLPListenerSource,
    MLLPReceiverSource,
    OnInvalid,
    StoreKind,
)
from eprlink.engine.lines import LineIndex
from eprlink.engine.values import parse_duration, parse_size
from eprlink.store import Failure

FULL = """
[engine]
name = "EPRLINK"
facility = "RXX01"
data_dir = "var"

[store]
kind = "sqlite"
dedupe_window = "3d"
retention = "90d"

[profiles]
layers = []

[metrics]
listen = "127.0.0.1:9500"

[[channels]]
name = "adt"
versions = ["2.4", "2.5"]
on_invalid = "accept_with_warning"
filter = "tests.engine.pipeline:keep_adt"

[channels.source]
kind = "mllp_listener"
host = "0.0.0.0"
port = 2575
encoding = "iso-8859-1"
failure_reply = "ar207"
reject_collisions = true
max_size = "1MiB"

[[channels.routes]]
types = ["ADT^*"]
destinations = ["pas", "archive"]

[[channels.destinations]]
name = "pas"
kind = "mllp"
host = "pas.example"
port = 6661
ack_timeout = "45s"
on_error = "dead"
max_attempts = 5

[[channels.destinations]]
name = "archive"
kind = "file"
directory = "archive"

[[channels]]
name = "results"

[channels.source]
kind = "mllp_receiver"
host = "cie.example"
port = 7001
encoding = "utf-8"

[[channels.destinations]]
name = "fhir"
kind = "http"
url = "https://fhir.example/hl7"
headers = { Authorization = "Bearer abc", "X-Trace" = "1" }

[[channels.destinations]]
name = "hook"
kind = "callable"
target = "tests.engine.pipeline:sink"

[[channels]]
name = "drop"
validate = false

[channels.source]
kind = "directory"
path = "inbox"
encoding = "utf-8"
"""


def test_full_file_is_read_with_defaults(tmp_path: Path) -> None:
    config = load_config_text(FULL, base_dir=tmp_path)
    assert config.engine.data_dir == tmp_path / "var"
    assert config.store_path() == tmp_path / "var" / "eprlink.db"
    assert config.store.kind is StoreKind.SQLITE
    assert config.store.dedupe_window == 3 * 86400
    assert config.metrics.listen == ("127.0.0.1", 9500)
    adt, results, drop = config.channels
    assert isinstance(adt.source, MLLPListenerSource)
    assert adt.source.reply.failure_reply is FailureReply.AR207
    assert adt.source.reply.reject_collisions
    assert adt.source.max_size == 1024 * 1024
    assert adt.on_invalid is OnInvalid.ACCEPT_WITH_WARNING
    assert adt.header.versions == ("2.4", "2.5")
    pas, archive = adt.destinations
    assert isinstance(pas.transport, MLLPDestination)
    assert pas.transport.ack_timeout == 45
    assert pas.policy.on_error is Failure.DEAD
    assert pas.policy.on_reject is Failure.HOLD  # ADT-style defaults
    assert pas.policy.on_timeout is Failure.RETRY
    assert pas.policy.max_attempts == 5
    assert isinstance(archive.transport, FileDestination)
    assert archive.transport.directory == tmp_path / "archive"
    assert isinstance(results.source, MLLPReceiverSource)
    assert results.source.reply.failure_reply is FailureReply.CLOSE  # P2 default
    fhir, hook = results.destinations
    assert isinstance(fhir.transport, HTTPDestination)
    assert isinstance(hook.transport, CallableDestination)
    assert isinstance(drop.source, DirectorySource)
    assert drop.route_table()[0].types == ("*",)


def test_defaults_without_sections(tmp_path: Path) -> None:
    config = load_config_text("", base_dir=tmp_path)
    assert config.store.kind is StoreKind.SQLITE
    assert config.metrics.listen == ("127.0.0.1", 9464)
    assert config.store.dedupe_window == 7 * 86400
    assert config.channels == ()


def test_load_config_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "eprlink.toml"
    path.write_text(FULL, encoding="utf-8")
    config = load_config(path)
    assert config.source == path.resolve()
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "missing.toml")
    assert "missing.toml" in str(caught.value)


def _error(text: str, tmp_path: Path, **options: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, name="eprlink.toml", base_dir=tmp_path, **options)  # type: ignore[arg-type]
    return str(caught.value)


DEST = "\n[[channels.destinations]]\nname = 'x'\n"
MLLP = DEST + "kind = 'mllp'\nhost = 'h'\nport = 1\n"
CHANNEL = """
[[channels]]
name = "adt"

[channels.source]
kind = "mllp_listener"
port = 2575
encoding = "utf-8"
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[store]\nkind = 'oracle'\n",
            "eprlink.toml:2: store.kind"
            ': expected one of "sqlite", "postgres", "memory", found "oracle"',
        ),
        (
            "[store]\n\ndedupe_window = 'a week'\n",
            "eprlink.toml:3: store.dedupe_window: expected a duration",
        ),
        (
            "[store]\nkind = 'postgres'\n",
            "eprlink.toml:1: store.dsn: expected a PostgreSQL connection string",
        ),
        ("[metrics]\nlisten = 'nowhere'\n", 'eprlink.toml:2: metrics.listen: expected "host:port"'),
        (
            "[engine]\nnmae = 'x'\n",
            "eprlink.toml:2: engine.nmae: expected one of the keys name, facility",
        ),
        (
            "[engine]\nshutdown_timeout = 30\n",
            "eprlink.toml:2: engine.shutdown_timeout: expected a duration",
        ),
        (
            CHANNEL.replace("port = 2575", "port = 70000"),
            "eprlink.toml:7: channels[0].source.port"
            ": expected an integer from 0 to 65535, found 70000",
        ),
        (
            CHANNEL.replace('encoding = "utf-8"', ""),
            "eprlink.toml:5: channels[0].source.encoding: expected the partner's charset",
        ),
        (
            CHANNEL.replace('encoding = "utf-8"', 'encoding = "klingon"'),
            "eprlink.toml:8: channels[0].source.encoding: expected a charset Python knows",
        ),
        (
            CHANNEL.replace("mllp_listener", "smtp"),
            "eprlink.toml:6: channels[0].source.kind"
            ': expected "mllp_listener", "mllp_receiver" or "directory", found "smtp"',
        ),
        (
            CHANNEL.replace("port = 2575", 'port = 2575\nfailure_reply = "ae"'),
            "eprlink.toml:8: channels[0].source.failure_reply"
            ': expected one of "close", "ar207", found "ae"',
        ),
        (
            "[[channels]]\nname = 'adt'\n",
            "eprlink.toml:1: channels[0].source: expected a [channels.source] table",
        ),
        (
            CHANNEL + MLLP + "in_flight = 4\n",
            "eprlink.toml:15: channels[0].destinations[0]."
            "in_flight: expected 1 (one message in flight",
        ),
        (
            CHANNEL + MLLP + "success = ['AA', 'AE']\n",
            "eprlink.toml:15: channels[0].destinations[0].success: expected AA and/or CA (AK-5",
        ),
        (
            CHANNEL + MLLP + "on_exhausted = 'retry'\n",
            "eprlink.toml:15: channels[0].destinations[0]."
            'on_exhausted: expected one of "hold", "dead"',
        ),
        (
            CHANNEL + DEST + "kind = 'pigeon'\n",
            "eprlink.toml:12: channels[0].destinations[0].kind"
            ': expected "mllp", "http", "file" or "callable", found "pigeon"',
        ),
        (
            CHANNEL + DEST + "kind = 'http'\nurl = 'ftp://x'\n",
            "eprlink.toml:13: channels[0].destinations[0].url: expected an http:// or https:// URL",
        ),
        (
            CHANNEL + "\n[[channels.routes]]\ntypes = ['adt^a01']\ndestinations = []\n",
            "eprlink.toml:11: channels[0].routes[0].types: expected patterns like",
        ),
        (
            CHANNEL + "\n[[channels.routes]]\ntypes = ['ADT']\ndestinations = ['nowhere']\n",
            "eprlink.toml:12: channels[0].routes[0].destinations"
            ': expected names of destinations defined in this channel, found "nowhere"',
        ),
        (
            CHANNEL.replace('"adt"\n', '"adt"\nfilter = "not a path"\n'),
            "eprlink.toml:4: channels[0].filter"
            ': expected a dotted path package.module:function, found "not a path"',
        ),
        (
            CHANNEL + CHANNEL,
            "eprlink.toml:11: channels[1].name"
            ': expected a channel name not used before, found "adt"',
        ),
        ("[store\nkind = 1\n", "eprlink.toml:1: expected valid TOML"),
    ],
)
def test_errors_name_file_line_and_expectation(text: str, expected: str, tmp_path: Path) -> None:
    message = _error(text, tmp_path)
    assert expected in message, message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    message = _error("[store]\nkind = 'x'\n\n[engine]\nname = 5\n", tmp_path)
    assert "eprlink.toml:2: store.kind" in message
    assert "eprlink.toml:5: engine.name" in message


def test_duplicate_destination_names_across_channels(tmp_path: Path) -> None:
    destination = "\n[[channels.destinations]]\nname = 'pas'\nkind = 'file'\ndirectory = 'x'\n"
    second = CHANNEL.replace('"adt"', '"oru"')
    message = _error(CHANNEL + destination + second + destination, tmp_path)
    assert (
        "channels[1].destinations[0].name: expected a destination name not used elsewhere"
        in message
    )


def test_callables_are_imported_at_load(tmp_path: Path) -> None:
    text = CHANNEL.replace('"adt"\n', '"adt"\nfilter = "tests.engine.pipeline:nothing"\n')
    message = _error(text, tmp_path)
    assert "eprlink.toml:4: channels[0].filter: expected an importable callable" in message
    load_config_text(text, base_dir=tmp_path, check_imports=False)


def test_secrets_come_from_the_environment_given(tmp_path: Path) -> None:
    text = "[store]\nkind = 'postgres'\ndsn_env = 'EPRLINK_DSN'\n"
    message = _error(text, tmp_path)
    assert "store.dsn_env: expected the environment variable EPRLINK_DSN to be set" in message
    dsn = "postgresql://eprlink:s3cret@db/eprlink"
    config = load_config_text(text, base_dir=tmp_path, environ={"EPRLINK_DSN": dsn})
    assert config.store.dsn == dsn
    assert "s3cret" not in repr(config)


def test_effective_dump_redacts_secrets_and_reloads(tmp_path: Path) -> None:
    text = FULL.replace('kind = "sqlite"', 'kind = "postgres"\ndsn = "postgresql://u:pw@db/x"')
    config = load_config_text(text, base_dir=tmp_path)
    dumped = dump_config(config)
    assert "pw@" not in dumped and "Bearer" not in dumped
    assert 'dsn = "postgresql://u:***@db/x"' in dumped
    assert '"X-Trace" = "1"' in dumped
    again = load_config_text(dumped, base_dir=tmp_path)
    assert effective_config(again) == effective_config(config)
    assert effective_config(config)["channels"][0]["destinations"][0]["ack_timeout"] == "45s"
    assert effective_config(config)["engine"]["lease_ttl"] == "10s"  # the default, shown


def test_values() -> None:
    assert parse_duration("250ms") == 0.25
    assert parse_duration("5m") == 300
    assert parse_duration("7d") == 7 * 86400
    assert parse_duration("5 minutes") is None
    assert parse_size("16MiB") == 16 * 1024 * 1024
    assert parse_size(100) == 100
    assert parse_size("lots") is None


def test_line_index_handles_arrays_of_tables_and_multiline_values() -> None:
    text = (
        "[[channels]]\n"  # 1
        'name = "a"\n'  # 2
        'note = """\n'  # 3
        "name = 'fake'\n"  # 4
        '"""\n'  # 5
        "routes = [\n"  # 6
        "  'x',\n"  # 7
        "]\n"  # 8
        "[[channels.destinations]]\n"  # 9
        "kind = 'mllp'\n"  # 10
        "[[channels]]\n"  # 11
        "[[channels.destinations]]\n"  # 12
        "[[channels.destinations]]\n"  # 13
        "'quoted.key' = 1\n"  # 14
    )
    index = LineIndex(text)
    assert index.line(("channels", 0, "name")) == 2
    assert index.line(("channels", 0, "destinations", 0, "kind")) == 10
    assert index.line(("channels", 1, "destinations", 1)) == 13
    assert index.line(("channels", 1, "destinations", 1, "quoted.key")) == 14
    assert index.line(("channels", 1, "destinations", 1, "missing")) == 13


def test_documented_example_loads(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
    text = docs.read_text(encoding="utf-8").split("## Example", 1)[1]
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    for name in ("server.pem", "server.key", "careflow-ca.pem", "pas-ca.pem"):
        (tmp_path / name).write_text("placeholder", encoding="utf-8")
    (tmp_path / "trust-rxx.toml").write_text("", encoding="utf-8")
    example = example.replace("/etc/eprlink/tls/", f"{tmp_path}/")
    config = load_config_text(
        example, base_dir=tmp_path, environ={"EPRLINK_FHIR_TOKEN": "Bearer secret"}
    )
    assert [c.name for c in config.channels] == ["careflow-adt", "careflow-results"]
    assert [d.name for d in config.destinations] == ["pas", "archive", "fhir"]
    assert "Bearer secret" not in dump_config(config)


def test_free_disk_watermark(tmp_path: Path) -> None:
    assert load_config_text("", base_dir=tmp_path).store.min_free_disk == "auto"
    off = load_config_text("[store]\nmin_free_disk = 'off'\n", base_dir=tmp_path)
    assert off.store.min_free_disk is None
    sized = load_config_text("[store]\nmin_free_disk = '2GiB'\n", base_dir=tmp_path)
    assert sized.store.min_free_disk == 2 << 30
    message = _error("[store]\nmin_free_disk = 'plenty'\n", tmp_path)
    assert "eprlink.toml:2: store.min_free_disk: expected a size in bytes" in message
