import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from bot.cli import main


def test_storage_reports_size_states_and_the_next_prune(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db_file = tmp_path / "tessera.db"
    monkeypatch.setenv("TESSERA_DATABASE__URL", f"sqlite:///{db_file}")
    monkeypatch.setenv("TESSERA_RETENTION__JOB_DAYS", "30")
    assert main(["migrate"]) == 0
    old = time.time() - 40 * 86_400
    with contextlib.closing(sqlite3.connect(db_file)) as conn, conn:
        conn.executemany(
            "INSERT INTO jobs (guild_id, channel_id, user_id, kind, prompt, seed, speed, cost,"
            " weight, state, created_at, finished_at, updated_at)"
            " VALUES (1, 1, 1, 'imagine', 'p', 1, 'fast', 1000, 1000, ?, ?, ?, ?)",
            [
                ("succeeded", old, old, old),
                ("failed", old, old, old),
                ("queued", time.time(), None, time.time()),
            ],
        )
        # A member's settled job two days ago (a closed day) and a grant: two entries roll up.
        conn.executemany(
            "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, amount, actor_id,"
            " reason, created_at, period_start) VALUES (1, 5, ?, ?, 1000, NULL, '', ?, ?)",
            [(9, "reserve", old, old), (9, "commit", old, old), (None, "grant", old, old)],
        )
    capsys.readouterr()
    assert main(["storage"]) == 0
    out = capsys.readouterr().out
    assert "database: " in out
    assert "  succeeded: 1" in out
    assert "  queued: 1" in out
    assert "next prune (finished more than 30 days ago): 2 job(s)" in out
    assert "next ledger roll-up (closed budget periods): 2 entries into 1 row(s)" in out


def test_storage_only_looks_at_a_database_that_still_needs_migrations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db_file = tmp_path / "tessera.db"
    monkeypatch.setenv("TESSERA_DATABASE__URL", f"sqlite:///{db_file}")
    with contextlib.closing(sqlite3.connect(db_file)) as conn, conn:
        conn.execute("CREATE TABLE unrelated (x INTEGER)")
    assert main(["storage"]) == 1
    out = capsys.readouterr().out
    assert "migration(s) to apply (0001_quota_and_config" in out
    assert "`python -m bot migrate` applies them" in out
    with contextlib.closing(sqlite3.connect(db_file)) as conn, conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        auto_vacuum = conn.execute("PRAGMA auto_vacuum").fetchone()[0]
    assert tables == {"unrelated"}  # nothing was migrated
    assert auto_vacuum == 0  # nor switched to incremental vacuum
