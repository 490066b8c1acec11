"""The CareFlow Integration Engine simulator: the other side of the wire, built on public APIs."""
