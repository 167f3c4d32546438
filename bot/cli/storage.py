"""``python -m bot storage``: database size, jobs by state, what the next prune removes.

Also how many ledger entries of closed budget periods the next pass would roll up.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.commands import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    load_or_report,
    report_problems,
)
from bot.errors import ConfigError
from bot.jobs.retention import Pruner
from bot.quota.rollup import LedgerRollup
from bot.settings import Settings
from bot.store.connect import open_database
from bot.store.retention import StorageReport


def storage_command(args: argparse.Namespace) -> int:
    """Print the storage report of the configured database."""
    settings = load_or_report(args)
    if settings is None:
        return EXIT_CONFIG
    try:
        report = asyncio.run(_report(settings))
    except ConfigError as exc:
        return report_problems(exc.problems)
    if isinstance(report, list):
        print(
            f"the database has {len(report)} migration(s) to apply ({', '.join(report)}); "
            "`python -m bot migrate` applies them (stop a bot of an older version first)"
        )
        return EXIT_FAILED
    print(render(report, days=settings.retention.job_days))
    return EXIT_OK


def render(report: StorageReport, *, days: float) -> str:
    """The report as the command prints it."""
    mib = 1024 * 1024
    lines = [
        f"database: {report.size_bytes / mib:.1f} MiB ({report.free_bytes / mib:.1f} MiB free)",
        "jobs by state:",
        *(f"  {state}: {count}" for state, count in report.jobs_by_state.items()),
        f"ledger entries: {report.ledger_entries}",
        f"next prune (finished more than {days:g} days ago): {report.prunable_jobs} job(s)",
        f"next ledger roll-up (closed budget periods): {report.rollup_entries} entries"
        f" into {report.rollup_rows} row(s)",
    ]
    return "\n".join(lines)


async def _report(settings: Settings) -> StorageReport | list[str]:
    # Only looks: the file may belong to a running bot of another version.
    database = await open_database(settings.database.url, migrate=False, maintain=False)
    try:
        pending = await database.pending_migrations()
        if pending:
            return pending
        rollup = LedgerRollup(database, settings.quota)
        return await Pruner(database, settings.retention, rollup=rollup).report()
    finally:
        await database.close()
