"""``python -m eprlink`` runs the command line."""

from __future__ import annotations

from eprlink.cli import main

main()
