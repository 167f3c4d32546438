"""The short-lived subcommands: ``check``, ``invite``, ``migrate`` and ``health``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

import httpx

from bot.cli.check import WILDCARD_HOSTS, Severity, run_check
from bot.cli.invite import PERMISSION_REASONS, SCOPES, invite_url, required_permissions
from bot.cli.token import application_id_from_token, token_of, token_problem
from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from bot.store.connect import open_database

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3
"""Discord could not be reached (DNS, connection refused, no gateway): a network problem."""


def report_problems(problems: list[str], *, out: TextIO | None = None) -> int:
    """Print configuration problems, one per line, under one heading; the exit status."""
    stream = out if out is not None else sys.stderr
    print("configuration error:", file=stream)
    for problem in problems:
        print(f"  {problem}", file=stream)
    return EXIT_CONFIG


def load_or_report(args: argparse.Namespace, *, out: TextIO | None = None) -> Settings | None:
    """The settings, or None after printing one line per configuration problem."""
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        report_problems(exc.problems, out=out)
        return None


def check_command(args: argparse.Namespace) -> int:
    """Validate the configuration and reach the provider; 1 if anything is wrong."""
    settings = load_or_report(args, out=sys.stdout)
    if settings is None:
        return EXIT_CONFIG
    findings = asyncio.run(run_check(settings, offline=args.offline, wait=args.timeout))
    for finding in findings:
        print(finding)
    errors = sum(finding.severity is Severity.ERROR for finding in findings)
    if errors:
        print(f"{errors} problem(s) found")
        return EXIT_FAILED
    print("configuration OK" + (" (provider not checked: --offline)" if args.offline else ""))
    return EXIT_OK


def invite_command(args: argparse.Namespace) -> int:
    """Print the invite URL; the application id comes from the option or the token."""
    application_id = args.application_id
    if application_id is None:
        settings = load_or_report(args)
        if settings is None:
            return EXIT_CONFIG
        token = token_of(settings)
        problem = token_problem(token)
        if token is None or problem is not None:
            return report_problems([str(problem), "(or pass --application-id)"])
        application_id = application_id_from_token(token)
    print(invite_url(application_id, guild_id=args.guild))
    print(f"scopes: {' '.join(SCOPES)}")
    print(f"permissions {required_permissions().value}:")
    for _, label, reason in PERMISSION_REASONS:
        print(f"  {label}: {reason}")
    return EXIT_OK


def migrate_command(args: argparse.Namespace) -> int:
    """Apply the pending migrations and list them."""
    settings = load_or_report(args)
    if settings is None:
        return EXIT_CONFIG
    try:
        applied = asyncio.run(_migrate(settings.database.url))
    except ConfigError as exc:
        return report_problems(exc.problems)
    for name in applied:
        print(f"applied {name}")
    print(f"{len(applied)} migration(s) applied" if applied else "the database is up to date")
    return EXIT_OK


async def _migrate(url: str) -> list[str]:
    database = await open_database(url, migrate=False)
    try:
        return await database.migrate()
    finally:
        await database.close()


def health_command(args: argparse.Namespace) -> int:
    """Ask the running bot's ``/healthz``; 0 when healthy (container health checks)."""
    settings = load_or_report(args)
    if settings is None:
        return EXIT_CONFIG
    if not settings.metrics.enabled:
        print("metrics.enabled is false, so there is no health endpoint", file=sys.stderr)
        return EXIT_CONFIG
    host = _loopback_if_wildcard(settings.metrics.host)
    url = f"http://{host}:{settings.metrics.port}/healthz"
    try:
        response = httpx.get(url, timeout=args.timeout)
    except httpx.HTTPError as exc:
        print(f"unhealthy: {url} did not answer ({type(exc).__name__})")
        return EXIT_FAILED
    print(("healthy: " if response.status_code == 200 else "unhealthy: ") + response.text)
    return EXIT_OK if response.status_code == 200 else EXIT_FAILED


def _loopback_if_wildcard(host: str) -> str:
    # A wildcard bind address is reachable on loopback from the same host or container.
    if host in WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
