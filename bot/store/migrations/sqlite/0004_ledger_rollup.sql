-- Ledger roll-up: in a closed budget period, a member's per-job entries (reserve, commit,
-- refund of settled jobs) become one 'rollup' row that carries what was charged and how many
-- jobs were charged and refunded. Moderator entries (grant, reset, adjust) stay as written:
-- they are the audit trail. The kind check gains 'rollup', so the table is rebuilt (SQLite
-- cannot alter a CHECK); ids are kept, so pages ordered by id read as before.
CREATE TABLE quota_ledger_new (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    user_id INTEGER,
    job_id INTEGER,
    kind TEXT NOT NULL
        CHECK (kind IN ('reserve', 'commit', 'refund', 'grant', 'reset', 'adjust', 'rollup')),
    amount INTEGER NOT NULL,
    actor_id INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    period_start REAL NOT NULL,
    -- A roll-up's job counts (0 on every other kind).
    jobs_charged INTEGER NOT NULL DEFAULT 0,
    jobs_refunded INTEGER NOT NULL DEFAULT 0
);
INSERT INTO quota_ledger_new
    (id, guild_id, user_id, job_id, kind, amount, actor_id, reason, created_at, period_start)
    SELECT id, guild_id, user_id, job_id, kind, amount, actor_id, reason, created_at, period_start
    FROM quota_ledger;
DROP TABLE quota_ledger;
ALTER TABLE quota_ledger_new RENAME TO quota_ledger;

CREATE INDEX quota_ledger_by_guild ON quota_ledger (guild_id, id);
CREATE INDEX quota_ledger_by_member ON quota_ledger (guild_id, user_id, id);
CREATE UNIQUE INDEX quota_ledger_once_per_job ON quota_ledger (job_id, kind)
    WHERE job_id IS NOT NULL;
-- Per-job entries not rolled up yet: the open periods' (and a backlog). A roll-up pass walks
-- this index, so its size is the live periods', not the history's. The queries repeat the
-- condition word for word: SQLite uses a partial index only for a literal match.
CREATE INDEX quota_ledger_per_job ON quota_ledger (guild_id, period_start, user_id)
    WHERE kind IN ('reserve', 'commit', 'refund');
-- One roll-up row per member and period.
CREATE UNIQUE INDEX quota_ledger_rollups ON quota_ledger (guild_id, period_start, user_id)
    WHERE kind = 'rollup';
-- Held reservations by period: a period that has one is never rolled up.
CREATE INDEX quota_reservations_held ON quota_reservations (guild_id, period_start)
    WHERE state = 'reserved';
