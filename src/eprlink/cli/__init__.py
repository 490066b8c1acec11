"""The ``eprlink`` command line: the only layer that reads argv, sets up logging, runs asyncio."""

from __future__ import annotations

import logging

import click

from eprlink import __version__
from eprlink.cli.anonymise import anonymise_command
from eprlink.cli.diff import diff_command
from eprlink.cli.inspect import get_command, show_command
from eprlink.cli.ops_queue import release_command, replay_command
from eprlink.cli.ops_reconcile import prune_command, reconcile_command
from eprlink.cli.ops_run import config_command, run_command
from eprlink.cli.ops_status import messages_command, show_message_command, status_command
from eprlink.cli.sim import sim_command
from eprlink.cli.transport import listen_command, send_command
from eprlink.cli.validate import validate_command

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="eprlink")
@click.option(
    "-v", "--verbose", count=True, help="More logging (-v info, -vv debug). No PHI is logged."
)
def main(verbose: int) -> None:
    """eprlink: HL7 v2 integration for NHS EPRs (System C CareFlow first)."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")


main.add_command(show_command)
main.add_command(get_command)
main.add_command(listen_command)
main.add_command(send_command)
main.add_command(diff_command)
main.add_command(anonymise_command)
main.add_command(validate_command)
main.add_command(run_command)
main.add_command(status_command)
main.add_command(messages_command)
main.add_command(show_message_command)
main.add_command(replay_command)
main.add_command(release_command)
main.add_command(reconcile_command)
main.add_command(prune_command)
main.add_command(config_command)
main.add_command(sim_command)
