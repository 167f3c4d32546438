"""``run`` and ``sync``: the subcommands that log in to Discord through the runtime."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.cli.check import Severity, probe_provider
from bot.cli.commands import EXIT_CONFIG, EXIT_OK, load_or_report
from bot.cli.token import token_problem
from bot.observability.logging import configure_logging, settings_secrets
from bot.settings import Settings

log = logging.getLogger(__name__)


def _settings_for_discord(args: argparse.Namespace) -> Settings | None:
    """Settings with a well-formed token (logging configured), or None after saying why."""
    settings = load_or_report(args)
    if settings is None:
        return None
    token = settings.discord.token.get_secret_value() if settings.discord.token else None
    problem = token_problem(token)
    if token is None or problem is not None:
        print(f"configuration error:\n  {problem}", file=sys.stderr)
        return None
    configure_logging(settings.logging, secrets=settings_secrets(settings))
    return settings


def run_command(args: argparse.Namespace) -> int:
    """Serve until stopped; exit 2 on a configuration problem."""
    settings = _settings_for_discord(args)
    if settings is None:
        return EXIT_CONFIG
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        log.info("interrupted")
    return EXIT_OK


async def serve(settings: Settings) -> None:
    """Start the runtime and keep it running until it stops or SIGTERM/SIGINT arrives."""
    finding = await probe_provider(settings.provider, wait=settings.provider.connect_timeout)
    if finding.severity is Severity.ERROR:
        log.warning("%s; starting anyway: jobs wait and the provider is retried", finding.message)
    # Imported here so that check, invite and migrate work without the Discord stack loaded.
    from bot.runtime import Runtime

    runtime = Runtime(settings)
    _cancel_on_signals()
    try:
        await runtime.start()
    except asyncio.CancelledError:
        log.info("stopping on a signal")
    finally:
        await runtime.close()
        log.info("stopped")


def _cancel_on_signals() -> None:
    # SIGTERM (docker stop) gets the same orderly shutdown as Ctrl+C: cancel, then close.
    task = asyncio.current_task()
    if task is None:
        return
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, task.cancel)
        except (NotImplementedError, RuntimeError):
            # Not on the main thread or not a Unix loop: Ctrl+C still raises KeyboardInterrupt.
            return


def sync_command(args: argparse.Namespace) -> int:
    """Publish the slash commands globally or to one guild."""
    settings = _settings_for_discord(args)
    if settings is None:
        return EXIT_CONFIG
    count = asyncio.run(sync(settings, args.guild))
    where = f"to guild {args.guild}" if args.guild else "globally (may take up to an hour)"
    print(f"published {count} command(s) {where}")
    return EXIT_OK


async def sync(settings: Settings, guild_id: int | None) -> int:
    """Log in without connecting to the gateway and publish the command tree."""
    from bot.runtime import Runtime

    # The runtime loads the cogs (so the tree is complete), logs in, syncs and closes.
    return await Runtime(settings).sync_commands(guild_id)
