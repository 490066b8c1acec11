"""`eprlink status`, `messages` and `show-message`: masked by default, revealing is audited."""

from __future__ import annotations

import json

import pytest

from .test_ops_helpers import NHS_NUMBER, SENT, Site, populated, sha256, site

__all__ = ["populated", "site"]  # the shared fixtures, imported for pytest to find

pytestmark = pytest.mark.network


def test_status_shows_queues_and_the_blocked_destination(site: Site) -> None:
    result = site.invoke("status")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("adt ") and "mllp listener 127.0.0.1:0" in line for line in lines)
    archive = next(line.split() for line in lines if line.startswith("archive "))
    pas = next(line.split() for line in lines if line.startswith("pas "))
    assert archive[:4] == ["archive", "adt", "file", "0"] and archive[-1] == "ok"
    assert pas[:4] == ["pas", "adt", "callable", "2"] and pas[-1] == "BLOCKED"
    assert "eprlink release pas --operator NAME --reason TEXT" in result.stdout
    assert "metrics] listen is off" in result.stdout
    assert NHS_NUMBER not in result.output

    data = json.loads(site.invoke("status", "--json").stdout)
    assert data["running"] is None and data["store"] == "sqlite"
    by_name = {d["name"]: d for d in data["destinations"]}
    assert by_name["archive"]["counts"]["delivered"] == 2 and by_name["archive"]["depth"] == 0
    assert by_name["pas"]["counts"]["held"] == 1 and by_name["pas"]["counts"]["queued"] == 1
    assert by_name["pas"]["blocked"] and by_name["pas"]["oldest_age_seconds"] >= 0

    checked = site.invoke("status", "--check")
    assert checked.exit_code == 1 and "needs attention: pas" in checked.stderr


def test_messages_are_masked_by_default_and_filtered(site: Site) -> None:
    result = site.invoke("messages")
    assert result.exit_code == 0, result.output
    assert NHS_NUMBER not in result.output
    assert "NHS ********18" in result.stdout and "identifiers masked" in result.stderr
    assert [line.split()[4] for line in result.stdout.splitlines()[1:]] == ["MSG3", "MSG2", "MSG1"]

    data = json.loads(site.invoke("messages", "--json").stdout)
    assert data["masked"] and data["count"] == 3
    assert {"kind": "NHS", "value": "********18"} in data["messages"][0]["identifiers"]

    def ids(*args: str) -> list[str]:
        found = site.invoke("messages", "--json", *args)
        assert found.exit_code == 0, found.output
        return [m["control_id"] for m in json.loads(found.stdout)["messages"]]

    assert ids("--control-id", "MSG1") == ["MSG1"]
    assert ids("--status", "rejected") == ["MSG3"]
    assert ids("--state", "held") == ["MSG1"]
    assert ids("--state", "queued", "--destination", "pas") == ["MSG2"]
    assert ids("--type", "ADT^A01", "--status", "accepted") == ["MSG2", "MSG1"]
    assert ids("--since", "1h", "--limit", "2") == ["MSG3", "MSG2"]
    assert ids("--until", "2000-01-01") == []
    assert ids("--channel", "other") == []
    bad = site.invoke("messages", "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_revealing_needs_operator_and_reason_and_is_audited(site: Site) -> None:
    refused = site.invoke("messages", "--reveal", "--operator", "alice")
    assert refused.exit_code == 2 and "--reason TEXT" in refused.output
    assert NHS_NUMBER not in refused.output

    shown = site.invoke("messages", "--reveal", "--operator", "alice", "--reason", "INC-42")
    assert shown.exit_code == 0, shown.output
    assert f"NHS {NHS_NUMBER}" in shown.stdout

    events = site.events()
    viewed = [e for e in events if e.action == "viewed_identifiers"]
    assert [(e.operator, e.reason) for e in viewed] == [("alice", "INC-42")]
    assert all(NHS_NUMBER not in e.details + e.reason for e in events)


def test_search_by_nhs_number_is_audited(site: Site) -> None:
    refused = site.invoke("messages", "--nhs-number", NHS_NUMBER)
    assert refused.exit_code == 2 and "--operator NAME" in refused.output

    spaced = "999 000 0018"
    found = site.invoke(
        "messages", "--json", "--nhs-number", spaced, "--operator", "carol", "--reason", "query"
    )
    assert found.exit_code == 0, found.output
    data = json.loads(found.stdout)
    assert {m["control_id"] for m in data["messages"]} >= {"MSG1", "MSG2"}
    assert NHS_NUMBER not in found.stdout  # found by it, still shown masked

    prompted = site.invoke(
        "messages", "--nhs-number", "-", "--operator", "carol", "--reason", "q", input=NHS_NUMBER
    )
    assert prompted.exit_code == 0 and "MSG1" in prompted.stdout
    searched = [e for e in site.events() if e.action == "searched_identifiers"]
    assert len(searched) == 2 and all(e.operator == "carol" for e in searched)
    assert all(NHS_NUMBER not in e.details for e in searched)


def test_show_message_is_masked_and_reveal_is_audited_and_byte_exact(site: Site) -> None:
    masked = site.invoke("show-message", "1")
    assert masked.exit_code == 0, masked.output
    assert "MSG1" in masked.stdout and "NHS ********18" in masked.stdout
    assert f"sha256 {sha256(SENT['MSG1'])}" in masked.stdout
    assert "archive" in masked.stdout and "held" in masked.stdout  # entries
    assert "PID|" not in masked.stdout and NHS_NUMBER not in masked.stdout
    data = json.loads(site.invoke("show-message", "1", "--json").stdout)
    assert data["payload_base64"] is None and data["events"]

    assert site.invoke("show-message", "1", "--raw").exit_code == 2
    assert site.invoke("show-message", "1", "--reveal", "--operator", "bob").exit_code == 2

    shown = site.invoke("show-message", "1", "--reveal", "--operator", "bob", "--reason", "fix")
    assert shown.exit_code == 0 and f"PID|1||{NHS_NUMBER}" in shown.stdout
    raw = site.invoke(
        "show-message", "2", "--reveal", "--raw", "--operator", "bob", "--reason", "export"
    )
    assert raw.exit_code == 0
    assert raw.stdout_bytes == SENT["MSG2"]
    viewed = [(e.message_id, e.reason) for e in site.events() if e.action == "viewed_identifiers"]
    assert sorted(viewed) == [(1, "fix"), (2, "export")]

    missing = site.invoke("show-message", "999")
    assert missing.exit_code == 1 and "no message 999" in missing.output
