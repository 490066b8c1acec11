"""The link queue: FIFO, removal only by an answer, a journal, and persistence across restarts."""

from __future__ import annotations

from pathlib import Path

from eprlink.sim import LinkQueue


def test_fifo_with_a_journal() -> None:
    queue = LinkQueue()
    first = queue.push(b"one", control_id="C1", kind="adt")
    queue.push(b"two", control_id="C2", kind="adt", fault="garbage")
    head = queue.head()
    assert head is not None and (head.id, head.payload, head.attempts) == (first, b"one", 0)
    queue.attempted(first)
    queue.attempted(first)
    assert queue.head() == head.__class__(first, "C1", "adt", "", b"one", 2)
    queue.skipped(first, "AR")
    second = queue.head()
    assert second is not None and second.control_id == "C2"
    queue.acknowledged(second.id, "AA")
    assert queue.head() is None and len(queue) == 0
    journal = [(f.control_id, f.outcome, f.code, f.attempts) for f in queue.finished()]
    assert journal == [("C1", "skipped", "AR", 2), ("C2", "acknowledged", "AA", 0)]
    assert [f.control_id for f in queue.finished("acknowledged")] == ["C2"]
    queue.close()


def test_the_queue_persists(tmp_path: Path) -> None:
    path = tmp_path / "links" / "adt.sqlite"
    queue = LinkQueue(path)
    for number in range(3):
        queue.push(f"m{number}".encode(), control_id=f"C{number}", kind="adt")
    queue.acknowledged(queue.pending()[0].id, "CA")
    queue.close()
    again = LinkQueue(path)
    assert [p.payload for p in again.pending()] == [b"m1", b"m2"]
    assert [f.code for f in again.finished()] == ["CA"]
    again.close()
