"""`eprlink replay` (byte-exact, audited, by id, range or filter) and `eprlink release`."""

from __future__ import annotations

import json

import pytest

from eprlink.engine import EngineAPI
from eprlink.store import Delivery, EntryState

from .test_ops_helpers import SENT, Site, populated, sha256, site

__all__ = ["populated", "site"]  # the shared fixtures, imported for pytest to find

pytestmark = pytest.mark.network


def test_replay_is_byte_exact_and_records_operator_and_reason(site: Site) -> None:
    result = site.invoke(
        "replay", "--id", "1", "--destination", "archive",
        "--operator", "dana", "--reason", "PAS lost it",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert line.startswith("message 1 -> archive entry ")
    entry_id = int(line.rsplit(" ", 1)[1])

    async def claim(api: EngineAPI) -> tuple[Delivery | None, str]:
        detail = await api.message(1)
        assert detail is not None
        return await api.store.claim("archive", owner="test"), detail.sha256

    delivery, stored_hash = site.api(claim)
    assert delivery is not None and delivery.entry_id == entry_id
    assert sha256(delivery.payload) == sha256(SENT["MSG1"]) == stored_hash

    replayed = [e for e in site.events() if e.action == "replayed"]
    assert [(e.message_id, e.entry_id, e.operator, e.reason) for e in replayed] == [
        (1, entry_id, "dana", "PAS lost it")
    ]


def test_replay_dry_run_by_filter_changes_nothing(site: Site) -> None:
    before = len(site.events())
    result = site.invoke("replay", "--type", "ADT", "--destination", "archive", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would replay 2 messages to archive: 1, 2" in result.stdout
    assert "skipped 1 rejected message" in result.stderr
    assert len(site.events()) == before

    data = json.loads(
        site.invoke(
            "replay", "--state", "held", "--routed-to", "pas", "--destination", "pas",
            "--dry-run", "--json",
        ).stdout
    )  # fmt: skip
    assert data == {
        "destination": "pas", "dry_run": True, "messages": [1], "entries": [],
        "skipped_rejected": [],
    }  # fmt: skip


def test_replay_by_range_skips_rejected_unless_asked(site: Site) -> None:
    common = ("--destination", "archive", "--operator", "dana", "--reason", "resend day")
    result = site.invoke("replay", "--from-id", "1", "--to-id", "5", *common, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["messages"] == [1, 2] and data["skipped_rejected"] == [3]
    assert len(data["entries"]) == 2 and data["entries"] == sorted(data["entries"])

    refused = site.invoke("replay", "--id", "3", *common)
    assert refused.exit_code == 1 and "--include-rejected" in refused.output
    forced = site.invoke("replay", "--id", "3", "--include-rejected", *common)
    assert forced.exit_code == 0, forced.output


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (("--id", "1", "--destination", "archive", "--operator", "x"), 2, "--reason TEXT"),
        (("--id", "1", "--destination", "nowhere", "--operator", "x", "--reason", "y"), 2,
         "no destination named 'nowhere' (configured: archive, pas)"),
        (("--destination", "archive", "--operator", "x", "--reason", "y"), 2, "choose"),
        (("--id", "1", "--from-id", "1", "--to-id", "2", "--destination", "archive"), 2,
         "choose"),
        (("--from-id", "3", "--to-id", "1", "--destination", "archive", "--dry-run"), 2,
         "A <= B"),
        (("--id", "99", "--destination", "archive", "--operator", "x", "--reason", "y"), 1,
         "no message with id 99"),
        (("--since", "1h", "--limit", "1", "--destination", "archive", "--dry-run"), 1,
         "more than 1 messages match"),
        (("--control-id", "NOPE", "--destination", "archive", "--dry-run"), 1,
         "nothing to replay"),
    ],
)  # fmt: skip
def test_replay_refusals(site: Site, args: tuple[str, ...], code: int, text: str) -> None:
    before = len(site.events())
    result = site.invoke("replay", *args)
    assert result.exit_code == code, result.output
    assert text in result.output
    assert len(site.events()) == before


def test_release_unblocks_the_held_destination_and_is_audited(site: Site) -> None:
    refused = site.invoke("release", "pas", "--reason", "fixed")
    assert refused.exit_code == 2 and "--operator NAME" in refused.output
    unknown = site.invoke("release", "nowhere", "--operator", "erin", "--reason", "fixed")
    assert unknown.exit_code == 2 and "no destination named" in unknown.output

    result = site.invoke("release", "pas", "--operator", "erin", "--reason", "PAS back up")
    assert result.exit_code == 0, result.output
    assert "released 1 entry of pas" in result.stdout
    released = [e for e in site.events() if e.action == "released"]
    assert [(e.operator, e.reason) for e in released] == [("erin", "PAS back up")]

    status = json.loads(site.invoke("status", "--json").stdout)
    pas = next(d for d in status["destinations"] if d["name"] == "pas")
    assert not pas["blocked"] and pas["counts"][EntryState.QUEUED.value] == 2

    again = site.invoke("release", "pas", "--operator", "erin", "--reason", "again", "--json")
    assert json.loads(again.stdout) == {"destination": "pas", "released": 0}
