"""`eprlink listen` (a real process on loopback) and `eprlink send`, plain and with TLS."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner

from eprlink.cli import main
from tests.conftest import FIXTURES

pytestmark = pytest.mark.network

ADT = str(FIXTURES / "adt_a01.hl7")
ORU = str(FIXTURES / "oru_r01_20obx.hl7")


class Listener:
    """`eprlink listen` in a child process, stopped after a bounded number of messages."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eprlink", "listen", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stderr is not None
        found: list[str] = []

        def read_first_line() -> None:
            assert self.process.stderr is not None
            found.append(self.process.stderr.readline())

        reader = threading.Thread(target=read_first_line, daemon=True)
        reader.start()
        reader.join(15)
        line = found[0] if found else ""
        assert "listening on" in line, line
        self.port = int(line.split()[2].split(":")[1])

    def finish(self) -> tuple[str, str]:
        try:
            out, err = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        return out, err


@pytest.fixture
def certificates(tmp_path: Path) -> Iterator[dict[str, str]]:
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("sender.example")
    paths = {
        "ca": tmp_path / "ca.pem",
        "cert": tmp_path / "server.pem",
        "key": tmp_path / "server.key",
        "client": tmp_path / "client.pem",
        "client_key": tmp_path / "client.key",
    }
    ca.cert_pem.write_to_path(str(paths["ca"]))
    server.cert_chain_pems[0].write_to_path(str(paths["cert"]))
    server.private_key_pem.write_to_path(str(paths["key"]))
    client.cert_chain_pems[0].write_to_path(str(paths["client"]))
    client.private_key_pem.write_to_path(str(paths["client_key"]))
    yield {k: str(v) for k, v in paths.items()}


def test_send_to_listen_stores_then_acks(tmp_path: Path) -> None:
    out = tmp_path / "received"
    listener = Listener("--count", "2", "--out", str(out))
    result = CliRunner().invoke(main, ["send", f"127.0.0.1:{listener.port}", ADT, ORU])
    stdout, stderr = listener.finish()
    assert result.exit_code == 0, result.output
    assert "2 messages: 2 accepted" in result.output
    assert "PAS20261123101502000123 -> AA" in result.output
    assert stdout.count("-> AA") == 2
    stored = sorted(out.iterdir())
    assert [p.read_bytes() for p in stored] == [Path(ADT).read_bytes(), Path(ORU).read_bytes()]
    assert "TESTPATIENT" not in stdout + stderr  # the tool never prints content


def test_bad_message_gets_ae_and_send_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.hl7"
    bad.write_bytes(  # no MSH-18, so UTF-8, in which a lone 0xCB is invalid
        b"MSH|^~\\&|PAS|RXX01|EPRLINK|RXX|20250101120000||ADT^A01^ADT_A01|BAD1|P|2.4\r"
        b"PID|1||9990000018^^^NHS^NH||TEST\xcbPATIENT\r"
    )
    listener = Listener("--count", "1")
    result = CliRunner().invoke(main, ["send", f"127.0.0.1:{listener.port}", str(bad)])
    stdout, _ = listener.finish()
    assert result.exit_code == 1, result.output
    assert "BAD1 -> AE 102 data type error at PID-5" in result.output
    assert "1 messages: 0 accepted, 1 errors" in result.output
    assert "-> AE data type error at PID-5" in stdout


def test_tls_and_mutual_tls(certificates: dict[str, str]) -> None:
    c = certificates
    listener = Listener("--count", "1", "--tls-cert", c["cert"], "--tls-key", c["key"])
    result = CliRunner().invoke(
        main,
        [
            "send",
            f"127.0.0.1:{listener.port}",
            ADT,
            "--tls",
            "--ca",
            c["ca"],
            "--server-name",
            "localhost",
        ],
    )
    listener.finish()
    assert result.exit_code == 0, result.output

    mutual = Listener(
        "--count", "1", "--tls-cert", c["cert"], "--tls-key", c["key"], "--client-ca", c["ca"]
    )
    address = f"127.0.0.1:{mutual.port}"
    refused = CliRunner().invoke(
        main, ["send", address, ADT, "--ca", c["ca"], "--timeout", "2", "--connect-timeout", "2"]
    )
    assert refused.exit_code == 1 and "no ACK" in refused.output
    accepted = CliRunner().invoke(
        main,
        ["send", address, ADT, "--ca", c["ca"], "--cert", c["client"], "--key", c["client_key"]],
    )
    mutual.finish()
    assert accepted.exit_code == 0, accepted.output


def test_send_to_closed_port_fails_cleanly() -> None:
    result = CliRunner().invoke(
        main, ["send", "127.0.0.1:1", ADT, "--connect-timeout", "1", "--timeout", "1"]
    )
    assert result.exit_code == 1
    assert "no ACK" in result.output and "0 accepted" in result.output


def test_send_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["send", "nohostport", ADT]).exit_code == 2
    assert (
        runner.invoke(main, ["send", "127.0.0.1:2575", str(tmp_path / "nope.hl7")]).exit_code == 2
    )
    empty = tmp_path / "empty.hl7"
    empty.write_bytes(b"")
    result = runner.invoke(main, ["send", "127.0.0.1:2575", str(empty)])
    assert result.exit_code == 2 and "no HL7 message" in result.output


def test_listen_refuses_incomplete_tls_options(certificates: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["listen", "--port", "0", "--tls-key", certificates["key"]])
    assert result.exit_code == 2
