"""``run``, ``worker`` and ``sync``: the subcommands that log in to Discord through the runtime."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

import aiohttp
import discord

from bot.cli.check import Severity, probe_provider
from bot.cli.commands import (
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_UNREACHABLE,
    load_or_report,
    report_problems,
)
from bot.cli.token import TOKEN_ENV, token_of, token_problem
from bot.observability.logging import configure_logging, settings_secrets
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

RuntimeFactory = Callable[[Settings], "Runtime"]
EXIT_LEASE_LOST = 1
"""``run``/``worker`` stopped because another process took the dispatch lease over."""
REFUSED_TOKEN = f"discord.token: Discord refused the token; reset it and update {TOKEN_ENV}"


UNREACHABLE = (aiohttp.ClientError, OSError, discord.GatewayNotFound)
"""What reaching Discord raises when the network, DNS or ``discord.api_base`` is wrong."""


def report_unreachable(
    settings: Settings, error: BaseException, *, out: TextIO | None = None
) -> int:
    """One line naming the network problem and the setting to check; the exit status."""
    reason = str(error).strip() or type(error).__name__
    print(
        f"cannot reach Discord at {settings.discord.api_base} ({reason}): check the network "
        "and DNS, or discord.api_base (TESSERA_DISCORD__API_BASE)",
        file=out if out is not None else sys.stderr,
    )
    return EXIT_UNREACHABLE


def _default_runtime(settings: Settings) -> Runtime:
    return _runtime_for("run")(settings)


def _runtime_for(role: str) -> RuntimeFactory:
    def build(settings: Settings) -> Runtime:
        # Imported here so that check, invite and migrate work without loading every service.
        from bot.runtime import Role, Runtime

        return Runtime(settings, role=Role(role))

    return build


def _settings_for_discord(args: argparse.Namespace) -> Settings | None:
    """Settings with a well-formed token (logging configured), or None after saying why."""
    settings = load_or_report(args)
    if settings is None:
        return None
    problem = token_problem(token_of(settings))
    if problem is not None:
        report_problems([problem])
        return None
    configure_logging(settings.logging, secrets=settings_secrets(settings))
    return settings


def run_command(args: argparse.Namespace) -> int:
    """Serve until stopped; exit 2 on a configuration problem."""
    return _serve_role("gateway" if getattr(args, "no_dispatch", False) else "run", args)


def worker_command(args: argparse.Namespace) -> int:
    """Dispatch jobs and post results, no gateway, until stopped."""
    return _serve_role("worker", args)


def _serve_role(role: str, args: argparse.Namespace) -> int:
    from bot.jobs.lease import LeaseLost

    settings = _settings_for_discord(args)
    if settings is None:
        return EXIT_CONFIG
    try:
        asyncio.run(_serve_until_signalled(settings, _runtime_for(role)))
    except LeaseLost as exc:
        # Its jobs went to another process; a supervisor restarts this one, which starts anew.
        print(f"stopped: {exc}", file=sys.stderr)
        return EXIT_LEASE_LOST
    except discord.LoginFailure:
        return report_problems([REFUSED_TOKEN])
    except UNREACHABLE as exc:
        return report_unreachable(settings, exc)
    except KeyboardInterrupt:
        log.info("interrupted")
    return EXIT_OK


async def _serve_until_signalled(settings: Settings, runtime_factory: RuntimeFactory) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # SIGTERM (docker stop) gets the same orderly shutdown as Ctrl+C.
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop=stop, runtime_factory=runtime_factory)


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event,
    runtime_factory: RuntimeFactory = _default_runtime,
) -> None:
    """Run the bot until it stops by itself or ``stop`` is set; always closes the runtime."""
    finding = await probe_provider(settings.provider, wait=settings.provider.connect_timeout)
    if finding.severity is Severity.ERROR:
        log.warning("%s; starting anyway: jobs wait and the provider is retried", finding.message)
    runtime = runtime_factory(settings)
    running = asyncio.create_task(runtime.start(), name="tessera-runtime")
    stopping = asyncio.create_task(stop.wait(), name="tessera-stop")
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.done():
            log.info("stopping")
    finally:
        stopping.cancel()
        try:
            await runtime.close()
        finally:
            if not running.done():
                running.cancel()
            # Re-raise what ended the runtime (a refused token, a database error), if anything:
            # it explains more than a failure to close what never fully started.
            with contextlib.suppress(asyncio.CancelledError):
                await running
        log.info("stopped")


def sync_command(args: argparse.Namespace) -> int:
    """Publish the slash commands globally or to one guild."""
    settings = _settings_for_discord(args)
    if settings is None:
        return EXIT_CONFIG
    try:
        count = asyncio.run(sync(settings, args.guild))
    except discord.LoginFailure:
        return report_problems([REFUSED_TOKEN])
    except UNREACHABLE as exc:
        return report_unreachable(settings, exc)
    where = f"to guild {args.guild}" if args.guild else "globally (may take up to an hour)"
    print(f"published {count} command(s) {where}")
    return EXIT_OK


async def sync(
    settings: Settings, guild_id: int | None, *, runtime_factory: RuntimeFactory = _default_runtime
) -> int:
    """Log in without connecting to the gateway and publish the command tree."""
    # The runtime loads the cogs (so the tree is complete), logs in, syncs and closes.
    return await runtime_factory(settings).sync_commands(guild_id)
