"""``make demo`` end to end: ``python -m eprlink.demo`` finishes on its own, exits 0, and
prints its summary, leaving nothing running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_demo_runs_to_its_summary(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "eprlink.demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    output = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    for text in (
        "Messages stored by the engine, by type",
        "ADT^A01",
        "ORU^R01",
        "validation issues: rejected (AE/AR)",
        "data type error at PID-7",
        "deliveries to the file sink",
        "order submitted → result stored",
        "CA then AA",
        "eprlink status --config demo-data/eprlink.toml",
        "/metrics",
        "nothing left running",
    ):
        assert text in output, text
    assert (tmp_path / "demo-data" / "eprlink.db").exists()
    assert any((tmp_path / "demo-data" / "sink" / "adt").iterdir())
    assert (tmp_path / "demo-data" / "sim-capture.jsonl").stat().st_size > 0
