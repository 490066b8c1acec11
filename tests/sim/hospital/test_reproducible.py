"""The same seed gives the same bytes, here and in another process; times come from the sim."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime, timedelta

from eprlink.sim.hospital import Hospital

from .conftest import WEEKDAY, one_of_everything


def _bytes(seed: int) -> list[bytes]:
    hospital = Hospital(seed, beds=15)
    messages = one_of_everything(hospital)
    messages += [event.message for event in hospital.day(WEEKDAY)]
    return [m.to_bytes() for m in messages]


def test_same_seed_gives_identical_bytes() -> None:
    first, second = _bytes(5), _bytes(5)
    assert len(first) > 200
    assert first == second


def test_different_seeds_differ() -> None:
    first, second = _bytes(5), _bytes(6)
    different = sum(a != b for a, b in zip(first, second, strict=False))
    assert different > 0.9 * min(len(first), len(second))


_CHILD = """
import hashlib
from datetime import datetime
from eprlink.sim.hospital import Hospital
h = Hospital(8, beds=10)
digest = hashlib.sha256()
for journey in (h.emergency_admission(), h.outpatient_referral(), h.merge()):
    for message in journey.messages:
        digest.update(message.to_bytes())
for event in h.day(datetime(2025, 3, 4)):
    digest.update(event.message.to_bytes())
print(digest.hexdigest())
"""


def test_same_seed_in_another_process_with_another_hash_seed() -> None:
    """Random streams are seeded from strings, which must not depend on PYTHONHASHSEED."""
    hospital = Hospital(8, beds=10)
    digest = hashlib.sha256()
    for journey in (
        hospital.emergency_admission(),
        hospital.outpatient_referral(),
        hospital.merge(),
    ):
        for message in journey.messages:
            digest.update(message.to_bytes())
    for event in hospital.day(WEEKDAY):
        digest.update(event.message.to_bytes())
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, check=True
    )
    assert child.stdout.strip() == digest.hexdigest()


def test_times_come_from_the_simulated_clock() -> None:
    start = datetime(2001, 2, 5, 9, 0)
    hospital = Hospital(3, beds=10, start=start)
    messages = one_of_everything(hospital)
    for message in messages:
        sent = datetime.strptime(message.get("MSH-7") or "", "%Y%m%d%H%M%S")
        assert start - timedelta(days=120) <= sent <= start + timedelta(days=365)
    assert hospital.now > start  # journeys move the clock on


def test_control_ids_come_from_a_counter() -> None:
    hospital = Hospital(4, beds=10)
    ids = [event.message.control_id or "" for event in hospital.day(WEEKDAY)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) <= 20 for i in ids)
    assert Hospital(4, beds=10, control_id_prefix="RUN2").staff_master_file().control_id == (
        "RUN20000000001"
    )
