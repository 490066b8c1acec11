"""``make demo``: what eprlink can do today, run on the bundled synthetic messages.

The engine, simulator and end-to-end demo arrive with later work; until then this shows the
HL7 core: lazy parsing, byte-exact round trips, three-state reads, escapes, groups and diff.
"""

from __future__ import annotations

import time
from importlib import resources

from rich.console import Console
from rich.table import Table

from eprlink.hl7 import Message, diff, parse

SAMPLES = ("adt_a01.hl7", "adt_a08.hl7", "oml_o21.hl7", "oru_r01_20obx.hl7", "oru_r01_200obx.hl7")


def _load(name: str) -> bytes:
    return resources.files("eprlink.samples").joinpath(name).read_bytes()


def _time_parse(data: bytes, rounds: int = 200) -> float:
    text = data.decode("latin-1")
    start = time.perf_counter()
    for _ in range(rounds):
        parse(text).get("PID-3.1")
    return (time.perf_counter() - start) / rounds * 1e6


def _masked(value: str | None) -> str:
    """Even synthetic identifiers are masked on screen, as the console will do for real ones."""
    if not value:
        return "-"
    return value[:3] + "*" * max(len(value) - 3, 0)


def main() -> None:
    console = Console(highlight=False)
    console.rule("[bold]eprlink demo: the HL7 v2 core on synthetic NHS messages")
    table = Table(title="Parsed messages (synthetic data, NHS numbers in the 999 range)")
    for column in ("file", "type", "segments", "charset", "NHS no.", "ward", "round trip", "µs"):
        table.add_column(column)
    messages: dict[str, Message] = {}
    for name in SAMPLES:
        data = _load(name)
        message = parse(data)
        messages[name] = message
        exact = message.to_er7().encode(message.charset) == data
        table.add_row(
            name,
            f"{message.message_type}^{message.trigger_event}",
            str(len(message)),
            message.charset,
            _masked(message.get("PID-3.1")),
            message.get("PV1-3.1") or "-",
            "[green]byte-exact[/]" if exact else "[red]differs[/]",
            f"{_time_parse(data):.1f}",
        )
    console.print(table)

    a08 = messages["adt_a08.hl7"]
    console.print(
        '\n[bold]Three states[/] in the A08 update (UK rule: "" deletes, absent = no change):'
    )
    for path in ("PID-5.1", "PID-13", "PID-6", "PID-14", "PID-40"):
        value = a08.get(path)
        state = "absent" if value is None else ('explicit null ""' if value == "" else repr(value))
        console.print(f"  {path:8} {state}")

    oml = messages["oml_o21.hl7"]
    console.print("\n[bold]Order groups[/] in the OML^O21 (each OBR with its OBX/NTE, order kept):")
    for group in oml.groups("OBR", members=("OBX", "NTE"), until=("ORC",)):
        console.print(f"  {group.head.get(4, component=2)}: {[s.id for s in group.members]}")

    console.print("\n[bold]Diff[/] of an edited copy of the A08:")
    edited = a08.copy()
    edited.set("PV1-3.1", "WARD7")
    edited.set("PID-8", "")
    edited.delete("PD1-3")
    for difference in diff(a08, edited):
        console.print(f"  {difference}")
    console.print(
        "\nNext: [bold]eprlink show FILE[/], [bold]eprlink get FILE PID-3[2].1[/], "
        "and [bold]make test[/]. Benchmarks: docs/benchmarks.md."
    )


if __name__ == "__main__":
    main()
