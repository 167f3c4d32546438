"""The argument parser of ``python -m bot``: one subcommand per operation, ``run`` by default."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T", int, float)

DESCRIPTION = "Tessera: a self-hosted, Midjourney-style image bot for Discord."
EPILOG = (
    "Settings come from the environment (TESSERA_SECTION__KEY, e.g. TESSERA_DISCORD__TOKEN) "
    "and from config/tessera.toml (or --config / TESSERA_CONFIG). Exit status: 0 success, "
    "1 a check or operation failed, 2 invalid configuration or usage."
)


def _positive(convert: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type: ``convert`` the text, and refuse zero and negative numbers."""

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:  # also refuses NaN
            raise argparse.ArgumentTypeError(f"{text!r} must be positive")
        return value

    return parse


_positive_int = _positive(int)
_positive_float = _positive(float)


def _add_config_option(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        default=default,
        help="the TOML settings file (default: $TESSERA_CONFIG or config/tessera.toml)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full parser; ``command`` is None when no subcommand was given (meaning ``run``)."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=DESCRIPTION, epilog=EPILOG)
    _add_config_option(parser, default=None)
    # Subcommands accept --config too, without overwriting one given before the subcommand.
    # (A separate action: argparse shares parent actions, defaults included, by reference.)
    config = argparse.ArgumentParser(add_help=False)
    _add_config_option(config, default=argparse.SUPPRESS)
    parser.set_defaults(command=None)
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        parents=[config],
        help="connect to Discord and serve (the default)",
        description="Apply pending migrations, connect to Discord and process jobs until "
        "stopped (Ctrl+C or SIGTERM). An unreachable provider is a warning: jobs wait and "
        "the bot keeps retrying. Several processes may share one database: each dispatches "
        "jobs, and adopts those of one that stops or dies.",
    )
    run.add_argument(
        "--no-dispatch",
        action="store_true",
        help="serve the gateway only: queue jobs and answer buttons, and leave submitting "
        "and posting results to 'worker' processes",
    )
    commands.add_parser(
        "worker",
        parents=[config],
        help="dispatch jobs and post results without a gateway connection",
        description="Process jobs from the shared database (PostgreSQL, or a SQLite file on "
        "this machine): submit them to the provider and post progress and results through "
        "Discord's REST API. Several workers dispatch at once, sharing the provider's slots; "
        "the jobs of one that stops are adopted at once, of one that dies within the lease "
        "(scheduler.lease_seconds).",
    )

    check = commands.add_parser(
        "check",
        parents=[config],
        help="validate the configuration and reach the provider",
        description="Validate every setting, the bot token's shape and the database location, "
        "and ask the provider for a dummy task (any HTTP answer means it is reachable). "
        "Prints one line per finding; never prints a secret.",
    )
    check.add_argument(
        "--offline", action="store_true", help="skip the provider (no network access)"
    )
    check.add_argument(
        "--timeout",
        type=_positive_float,
        default=5.0,
        metavar="SECONDS",
        help="how long to wait for the provider (default: 5)",
    )

    sync = commands.add_parser(
        "sync",
        parents=[config],
        help="publish the slash commands to Discord",
        description="Publish the slash commands, globally (may take up to an hour to show) "
        "or to one guild (immediate; use it while testing). Needs the token.",
    )
    sync.add_argument(
        "--guild", type=_positive_int, metavar="ID", help="publish to this guild only"
    )

    invite = commands.add_parser(
        "invite",
        parents=[config],
        help="print the invite URL with the required permissions",
        description="Print the URL that adds the bot to a server with the scopes bot and "
        "applications.commands and exactly the permissions it uses.",
    )
    invite.add_argument(
        "--application-id",
        type=_positive_int,
        metavar="ID",
        help="the application id (default: derived from the token)",
    )
    invite.add_argument("--guild", type=_positive_int, metavar="ID", help="preselect this server")

    commands.add_parser(
        "migrate",
        parents=[config],
        help="apply pending database migrations",
        description="Apply the database migrations not applied yet and list them. "
        "`run` does this at start-up too; use this before an upgrade's first start.",
    )

    models = commands.add_parser(
        "models",
        parents=[config],
        help="download the local model's weights ahead of the first render",
        description="Download the weights of every diffusion preset a version uses (or "
        "those named) into the Hugging Face cache or diffusion.cache_dir, with progress. "
        "Each default model's licence is printed: the weights are your download.",
    )
    models.add_argument(
        "--preset", action="append", metavar="NAME", help="only this preset (repeatable)"
    )

    commands.add_parser(
        "storage",
        parents=[config],
        help="report the database's size, jobs by state and what the next prune removes",
        description="Open the database (applying pending migrations) and report its size, "
        "free space, jobs by state, ledger entries and the finished jobs older than "
        "retention.job_days that the next pruning pass would delete, and the ledger entries "
        "of closed budget periods it would roll up.",
    )

    health = commands.add_parser(
        "health",
        parents=[config],
        help="ask the running bot's /healthz endpoint (for container health checks)",
        description="GET /healthz on metrics.host and metrics.port; exit 0 when healthy.",
    )
    health.add_argument(
        "--timeout",
        type=_positive_float,
        default=3.0,
        metavar="SECONDS",
        help="how long to wait for the answer (default: 3)",
    )
    return parser
