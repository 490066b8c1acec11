"""`eprlink run` as a real process, `eprlink config`, configuration exit codes, the log format."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from eprlink.cli import main
from eprlink.cli.ops_logging import SafeFormatter
from eprlink.mllp import MLLPClient

from .test_ops_helpers import CHANNEL, ENGINE, NHS_NUMBER, SENT, Site, write_site

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """`eprlink run` in-process replaces the root handlers; put them back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize(
    "command",
    ["run", "status", "messages", "show-message", "replay", "release", "reconcile", "prune",
     "config"],
)  # fmt: skip
def test_every_command_explains_itself(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "--config FILE" in result.stdout and "Usage: " in result.stdout


def test_config_prints_the_effective_configuration_without_secrets(tmp_path: Path) -> None:
    http = """
[[channels.destinations]]
name = "tie"
kind = "http"
url = "https://tie.example.nhs.uk/hl7"
headers = { Authorization = "Bearer s3cr3t-token", "X-Trust" = "RXX" }
"""
    site = write_site(tmp_path, ENGINE + CHANNEL + http)
    result = CliRunner().invoke(main, ["config", str(site.config)])
    assert result.exit_code == 0, result.output
    assert "s3cr3t" not in result.output
    assert '"Authorization" = "***"' in result.stdout and '"X-Trust" = "RXX"' in result.stdout
    assert "[[channels.destinations]]" in result.stdout and 'name = "archive"' in result.stdout

    as_json = site.invoke("config", "--json")
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    assert data["metrics"]["listen"] == "off"
    assert [d["name"] for d in data["channels"][0]["destinations"]] == ["archive", "pas", "tie"]

    other = tmp_path / "other.toml"
    clash = CliRunner().invoke(main, ["config", str(site.config), "--config", str(other)])
    assert clash.exit_code == 2 and "give the configuration once" in clash.output


def _bad_site(tmp_path: Path) -> tuple[Site, int]:
    text = (ENGINE + CHANNEL).replace("port = 0", "port = 70000")
    line = text.splitlines().index("port = 70000") + 1
    return write_site(tmp_path, text), line


@pytest.mark.parametrize(
    "args",
    [
        ("run",),
        ("config",),
        ("status",),
        ("messages",),
        ("show-message", "1"),
        ("replay", "--id", "1", "--destination", "archive", "--dry-run"),
        ("release", "pas", "--operator", "x", "--reason", "y"),
        ("reconcile",),
        ("prune", "--older-than", "1d", "--dry-run"),
    ],
)
def test_an_unusable_configuration_exits_2_naming_file_and_line(
    tmp_path: Path, args: tuple[str, ...], keep_logging: None
) -> None:
    site, line = _bad_site(tmp_path)
    result = site.invoke(*args)
    assert result.exit_code == 2, result.output
    assert f"eprlink.toml:{line}: channels[0].source.port: expected" in result.output
    assert "found 70000" in result.output


def test_missing_files_and_stores_other_processes_cannot_read(tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["status", "--config", str(tmp_path / "absent.toml")])
    assert missing.exit_code == 2 and "absent.toml" in missing.output

    no_database = write_site(tmp_path / "fresh").invoke("messages")
    assert no_database.exit_code == 1 and "no database at" in no_database.output

    memory = write_site(tmp_path / "memory", ENGINE.replace('"sqlite"', '"memory"') + CHANNEL)
    refused = memory.invoke("status")
    assert refused.exit_code == 2 and "store.kind is memory" in refused.output


def test_run_exits_1_when_the_metrics_port_is_taken(tmp_path: Path, keep_logging: None) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        text = ENGINE.replace('listen = "off"', f'listen = "127.0.0.1:{port}"') + CHANNEL
        result = write_site(tmp_path, text).invoke("run")
    assert result.exit_code == 1
    assert f"cannot serve metrics on 127.0.0.1:{port}" in result.output


def test_run_refuses_a_crash_point_outside_a_fault_test(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    result = CliRunner().invoke(
        main,
        ["run", str(site.config)],
        env={"EPRLINK_CRASHPOINT": "before_commit", "EPRLINK_TEST_HOOKS": None},
    )
    assert result.exit_code == 2 and "EPRLINK_TEST_HOOKS=1 is not" in result.output
    assert not (tmp_path / "data" / "eprlink.db").exists()


class Running:
    """`eprlink run` in a child process; stderr lines are collected on a thread."""

    def __init__(self, config: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eprlink", "run", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=config.parent,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no {pattern!r} in {''.join(self.seen)}")

    def rest(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)


def test_run_serves_metrics_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free port, so that `eprlink status` can ask it too
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    archive_only = CHANNEL.split('[[channels.destinations]]\nname = "pas"')[0]
    text = ENGINE.replace('listen = "off"', f'listen = "127.0.0.1:{metrics_port}"') + archive_only
    site = write_site(tmp_path, text)
    running = Running(site.config)
    try:
        port = int(running.wait_for(r"channel adt: mllp listener 127\.0\.0\.1:(\d+)").group(1))
        url = running.wait_for(r"metrics: (http://127\.0\.0\.1:\d+/metrics)").group(1)

        async def send() -> bytes:
            client = MLLPClient("127.0.0.1", port, ack_timeout=5.0)
            try:
                return await client.send(SENT["MSG1"], accept=lambda frame: b"MSA|" in frame)
            finally:
                await client.close()

        assert b"MSA|AA|MSG1" in asyncio.run(send())
        deadline = time.monotonic() + 5
        while True:
            with urllib.request.urlopen(url, timeout=2) as response:
                assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                metrics = response.read().decode("utf-8")
            if 'outbound_delivered_total{destination="archive"} 1.0' in metrics:
                break
            assert time.monotonic() < deadline, metrics
            time.sleep(0.05)
        assert re.search(r'^queue_depth\{destination="archive"\} [01]\.0$', metrics, re.M)
        assert 'messages_accepted_total{channel="adt"} 1.0' in metrics
        assert "# TYPE outbound_ack_latency_seconds histogram" in metrics
        live = json.loads(site.invoke("status", "--json").stdout)
        assert live["running"] is True and live["metrics"] == url
        assert live["channels"][0]["connections"] == 0

        started = time.monotonic()
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()
    running.reader.join(5)
    assert running.process.stdout is not None
    out = running.process.stdout.read()
    log = running.rest()
    assert "SIGTERM: stopping" in log and log.rstrip().endswith("stopped")
    assert "action=engine_stopped" in log
    assert NHS_NUMBER not in log + out and "TESTPATIENT" not in log + out

    status = json.loads(site.invoke("status", "--json").stdout)
    archive = next(d for d in status["destinations"] if d["name"] == "archive")
    assert archive["counts"]["delivered"] == 1 and status["running"] is False
    (written,) = (tmp_path / "out").iterdir()
    assert written.read_bytes() == SENT["MSG1"]


def _record(name: str, message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.getLogger(name).makeRecord(
        name, logging.WARNING, __file__, 1, message, args, None, extra=extra
    )
    return record


def test_log_lines_carry_metadata_and_never_exception_text() -> None:
    formatter = SafeFormatter()
    line = formatter.format(
        _record("eprlink.engine.outbound", "attempt failed", action="delivery_settled",
                control_id="MSG\x1b[31m1\u202e", destination="pas")
    )  # fmt: skip
    assert "WARNING eprlink.engine.outbound: attempt failed" in line
    assert "action=delivery_settled" in line and "control_id=MSG?[31m1?" in line
    assert "\x1b" not in line and "\u202e" not in line

    try:
        raise ValueError(f"PID|1||{NHS_NUMBER}^^^NHS")
    except ValueError:
        record = _record("eprlink.engine.inbound", "handler failed")
        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert NHS_NUMBER not in line
    assert "error=ValueError" in line and "test_ops_run.py:" in line

    foreign = _record("asyncio", "Task exception was never retrieved\nfuture: <Task %s>", "PHI")
    assert formatter.format(foreign).endswith("asyncio: Task exception was never retrieved")

    as_json = json.loads(
        SafeFormatter(json_lines=True).format(_record("eprlink.x", "n=%d", 3, action="a"))
    )
    assert as_json["message"] == "n=3" and as_json["action"] == "a"
    assert as_json["level"] == "WARNING" and as_json["time"].endswith("Z")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("eprlink.test.ops")
    logger.addHandler(handler)
    try:
        logger.warning("x", extra={"action": "y", "long": "z" * 500})
    finally:
        logger.removeHandler(handler)
    assert len(stream.getvalue()) < 300
