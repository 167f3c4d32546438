"""Every statement of the hot paths is bounded by live work, never by the history's size.

The submit, claim, settle, cancel and recovery paths run against a real database while its
statements are recorded; each one's plan must reach the big tables (jobs, the ledger, the
reservations, the usage rows) only through the primary key or an index whose search is
bounded by live rows. The rules are per engine (``PLAN_RULES``) so a PostgreSQL store can add
its own reading of ``EXPLAIN``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.model import Action
from bot.store.database import sqlite_path
from tests.jobs.conftest import Make, System, build

HISTORY_TABLES = ("jobs", "quota_ledger", "quota_reservations", "quota_usage")

# How a plan line may reach a history table: the table's primary key or unique key, or an
# index bounded by live rows (partial on finished_at IS NULL), or a key that names one job,
# or one parent's follow-ups (jobs_children).
SQLITE_BOUNDED = re.compile(
    r"^SEARCH (?P<table>\w+) USING (?:"
    r"INTEGER PRIMARY KEY \(rowid[=<>]"
    r"|(?:COVERING )?INDEX (?:jobs_live_\w+|jobs_children|sqlite_autoindex_quota_usage_1"
    r"|quota_ledger_once_per_job) \("
    r"|PRIMARY KEY \("
    r")"
)


def sqlite_violations(statement: str, plan: list[str]) -> list[str]:
    """The plan lines of ``statement`` that may visit a history-sized range."""
    bad = []
    for line in plan:
        table = re.match(r"^(?:SCAN|SEARCH) (\w+)", line)
        if table is None or table[1] not in HISTORY_TABLES:
            continue
        if not SQLITE_BOUNDED.match(line):
            bad.append(f"{line}  <-  {statement}")
    return bad


PLAN_RULES: dict[str, Callable[[str, list[str]], list[str]]] = {"sqlite": sqlite_violations}


def sqlite_plan(path: Path, statement: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
    finally:
        conn.close()


def _planned(statement: str) -> bool:
    head = statement.lstrip().split(None, 1)[0].upper()
    if head in {"BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"}:
        return False
    # A plain INSERT ... VALUES reads nothing; one with RETURNING or SELECT is planned anyway.
    return head != "INSERT" or " SELECT " in statement.upper()


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Make]:
    """Systems on one database file (as in the job tests), stopped and closed afterwards."""
    registry: list[System] = []

    async def factory(**options: Any) -> System:
        # SQLite's plans only: PostgreSQL 15 cannot EXPLAIN a statement with parameters
        # without their values (GENERIC_PLAN came in 16).
        return await build(f"sqlite:///{tmp_path}/tessera.db", registry=registry, **options)

    yield factory
    for built in registry:
        await built.dispatcher.stop()
        await built.db.close()


async def run_hot_paths(system: System) -> None:
    (first,) = await system.imagine("a lighthouse --seed 1")
    await system.dispatcher.drain()
    await system.press(first.id, Action.UPSCALE, 1)
    queued = await system.imagine("a harbour", "a storm")
    await system.jobs.cancel(queued[0].id, user_id=queued[0].user_id)
    await system.dispatcher.drain()


async def test_hot_statements_are_bounded_by_live_work(make: Make) -> None:
    system = await make()
    await run_hot_paths(system)  # some history first, so every table has rows
    seen: list[str] = []
    await system.db.trace(seen.append)
    await run_hot_paths(system)
    restarted = await system.restart()
    await restarted.db.trace(seen.append)
    await restarted.dispatcher.recover()
    await restarted.imagine("after the restart")
    await restarted.dispatcher.drain()
    await restarted.db.trace(None)

    statements = sorted({statement for statement in seen if _planned(statement)})
    assert any("FROM jobs" in statement for statement in statements)
    violations = [
        line
        for statement in statements
        for line in PLAN_RULES["sqlite"](
            statement, sqlite_plan(Path(sqlite_path(system.url)), statement)
        )
    ]
    assert violations == []


def test_the_rule_catches_a_scan_and_a_history_index() -> None:
    statement = "SELECT 1"
    assert sqlite_violations(statement, ["SCAN jobs"])
    assert sqlite_violations(
        statement, ["SEARCH jobs USING COVERING INDEX jobs_history_user (guild_id=?)"]
    )
    assert not sqlite_violations(
        statement, ["SEARCH jobs USING INDEX jobs_live_guild (guild_id=? AND state=?)"]
    )
    assert not sqlite_violations(statement, ["SCAN guild_config"])
