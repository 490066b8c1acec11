"""`eprlink reconcile` (P7 counts and a partner's control-id list) and `eprlink prune`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from eprlink.engine import EngineAPI
from eprlink.store import DestinationReconciliation, MessageQuery, Reconciliation

from .test_ops_helpers import Site, populated, site

__all__ = ["populated", "site"]  # the shared fixtures, imported for pytest to find

pytestmark = pytest.mark.network

TODAY = datetime.now(UTC).date().isoformat()


def test_reconcile_balances_per_channel_and_day(site: Site) -> None:
    result = site.invoke("reconcile", "--channel", "adt", "--day", TODAY)
    assert result.exit_code == 0, result.output
    assert f"adt {TODAY}: received 3 = accepted 2 + rejected 1" in result.stdout
    assert "archive: routed 2 = delivered 2 + dead 0 + queued 0" in result.stdout
    assert "pas: routed 2 = delivered 0 + dead 0 + queued 2" in result.stdout
    assert result.stdout.rstrip().endswith("balanced")

    data = json.loads(site.invoke("reconcile", "--json").stdout)  # every channel, today
    assert data["balanced"] and data["day"] == TODAY
    (channel,) = data["channels"]
    assert (channel["received"], channel["accepted"], channel["rejected"]) == (3, 2, 1)

    empty = site.invoke("reconcile", "--day", "2000-01-01", "--json")
    assert empty.exit_code == 0 and json.loads(empty.stdout)["channels"][0]["received"] == 0
    unknown = site.invoke("reconcile", "--channel", "lab")
    assert unknown.exit_code == 2 and "no channel named 'lab'" in unknown.output


def test_reconcile_exits_1_when_counts_do_not_balance(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def short(self: EngineAPI, channel: str, day: date) -> Reconciliation:
        lost = DestinationReconciliation("pas", routed=3, delivered=1, dead=0, pending=1)
        return Reconciliation(channel, day, 3, 2, 0, 0, (lost,))

    monkeypatch.setattr(EngineAPI, "reconcile", short)
    result = site.invoke("reconcile")
    assert result.exit_code == 1
    assert "rejected 0  UNBALANCED" in result.stdout
    assert "pas: routed 3 = delivered 1 + dead 0 + queued 1  UNBALANCED" in result.stdout


def test_reconcile_against_a_partner_list(site: Site, tmp_path: Path) -> None:
    partner = tmp_path / "partner.txt"
    partner.write_text("# sent by CareFlow\nMSG1\n\n MSG2 \nMSG4\n", encoding="utf-8")
    result = site.invoke(
        "reconcile", "--channel", "adt", "--day", TODAY, "--partner-file", str(partner)
    )
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "partner listed 3, matched 2" in out
    assert "missing here (the partner lists them; no record here): 1\n  MSG4\n" in out
    assert "missing there (received here; not in the partner's list): 1\n  MSG3\n" in out
    assert "lists DIFFER" in out

    partner.write_text("MSG3\nMSG2\nMSG1\n", encoding="utf-8")
    agreed = site.invoke(
        "reconcile", "--channel", "adt", "--from", "1d", "--to", "2099-01-01",
        "--partner-file", str(partner), "--json",
    )  # fmt: skip
    assert agreed.exit_code == 0, agreed.output
    data = json.loads(agreed.stdout)
    assert data["balanced"] and data["matched"] == 3 and data["to"] == "2099-01-01T00:00:00Z"

    elsewhere = site.invoke(
        "reconcile", "--channel", "adt", "--day", "2000-01-01", "--partner-file", str(partner)
    )
    assert elsewhere.exit_code == 1 and "missing here" in elsewhere.stdout


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("--partner-file", "FILE", "--day", TODAY), "--partner-file needs --channel"),
        (("--channel", "adt", "--partner-file", "FILE"), "needs the period"),
        (("--channel", "adt", "--partner-file", "FILE", "--day", TODAY, "--from", "1d"),
         "not both"),
        (("--channel", "adt", "--partner-file", "FILE", "--from", "1h", "--to", "2h"),
         "--from must be before --to"),
        (("--from", "1d"), "go with --partner-file"),
        (("--channel", "adt", "--partner-file", "MISSING", "--day", TODAY), "cannot read"),
    ],
)  # fmt: skip
def test_reconcile_usage_errors_exit_2(
    site: Site, tmp_path: Path, args: tuple[str, ...], text: str
) -> None:
    partner = tmp_path / "partner.txt"
    partner.write_text("MSG1\n", encoding="utf-8")
    swapped = [
        str(partner) if a == "FILE" else str(tmp_path / "absent") if a == "MISSING" else a
        for a in args
    ]
    result = site.invoke("reconcile", *swapped)
    assert result.exit_code == 2, result.output
    assert text in result.output


def _count(site: Site) -> int:
    async def work(api: EngineAPI) -> int:
        return len(await api.store.search(MessageQuery(limit=1000)))

    return site.api(work)


def test_prune_dry_run_then_real(site: Site) -> None:
    dry = site.invoke("prune", "--older-than", "0s", "--dry-run")
    assert dry.exit_code == 0, dry.output
    # MSG3 was rejected (nothing to deliver); MSG1 and MSG2 still wait for pas.
    assert "would prune 1 message (" in dry.stdout and "2 older messages kept" in dry.stdout
    assert _count(site) == 3

    refused = site.invoke("prune", "--older-than", "0s")
    assert refused.exit_code == 2 and "--operator NAME" in refused.output
    assert site.invoke("prune", "--dry-run").exit_code == 2  # no age and no retention
    assert site.invoke("prune", "--older-than", "soon", "--dry-run").exit_code == 2

    nothing = site.invoke("prune", "--older-than", "30d", "--operator", "frank", "--json")
    assert nothing.exit_code == 0 and json.loads(nothing.stdout)["messages"] == 0

    result = site.invoke(
        "prune", "--older-than", "0s", "--operator", "frank", "--reason", "retention policy"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("pruned 1 message and 0 queue entries")
    assert _count(site) == 2
    requested = [e for e in site.events() if e.action == "prune_requested"]
    assert ("frank", "retention policy") in [(e.operator, e.reason) for e in requested]
