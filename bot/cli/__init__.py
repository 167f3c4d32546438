"""The command line of ``python -m bot``: run, worker, check, sync, invite, migrate, health..."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from bot.cli.commands import check_command, health_command, invite_command, migrate_command
from bot.cli.models import models_command
from bot.cli.parser import build_parser
from bot.cli.serve import run_command, sync_command, worker_command
from bot.cli.storage import storage_command

__all__ = ["build_parser", "main"]

_COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: run_command,
    "run": run_command,
    "worker": worker_command,
    "check": check_command,
    "sync": sync_command,
    "invite": invite_command,
    "migrate": migrate_command,
    "health": health_command,
    "models": models_command,
    "storage": storage_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; the process exit status."""
    args = build_parser().parse_args(argv)
    return _COMMANDS[args.command](args)
