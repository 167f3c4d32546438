-- Quota (budgets, ledger, reservations, usage summary), user settings and guild configuration.
-- Portable SQL: integer ids, epoch seconds as REAL, JSON lists as TEXT, no SQLite-only types.
-- Discord ids are never 0, so 0 stands for "the guild itself" where a key cannot be NULL.

CREATE TABLE guild_budgets (
    guild_id INTEGER PRIMARY KEY,
    period TEXT CHECK (period IN ('day', 'week', 'month')),
    reset_hour INTEGER CHECK (reset_hour BETWEEN 0 AND 23),
    updated_at REAL NOT NULL
);

-- A row is a moderator's choice; no row: the settings' default applies. amount NULL: unlimited.
CREATE TABLE budget_limits (
    guild_id INTEGER NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('guild', 'default', 'role', 'member')),
    subject_id INTEGER NOT NULL,
    amount INTEGER CHECK (amount IS NULL OR amount >= 0),
    actor_id INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    PRIMARY KEY (guild_id, scope, subject_id)
);

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE quota_ledger (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    user_id INTEGER,
    job_id INTEGER,
    kind TEXT NOT NULL CHECK (kind IN ('reserve', 'commit', 'refund', 'grant', 'reset', 'adjust')),
    amount INTEGER NOT NULL,
    actor_id INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    period_start REAL NOT NULL
);
CREATE INDEX quota_ledger_by_guild ON quota_ledger (guild_id, id);
CREATE INDEX quota_ledger_by_member ON quota_ledger (guild_id, user_id, id);
CREATE UNIQUE INDEX quota_ledger_once_per_job ON quota_ledger (job_id, kind)
    WHERE job_id IS NOT NULL;

-- One row per reserved job; the state moves reserved -> committed | refunded exactly once.
CREATE TABLE quota_reservations (
    job_id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    period_start REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'refunded')),
    created_at REAL NOT NULL,
    settled_at REAL
);

-- The balance cache: always changed in the transaction that appends the ledger entry.
-- user_id 0 is the guild pool.
CREATE TABLE quota_usage (
    guild_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    period_start REAL NOT NULL,
    reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    bonus INTEGER NOT NULL DEFAULT 0,
    committed INTEGER NOT NULL DEFAULT 0,
    jobs INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, user_id, period_start)
);

CREATE TABLE user_settings (
    user_id INTEGER PRIMARY KEY,
    speed TEXT CHECK (speed IN ('turbo', 'fast', 'relax')),
    default_params TEXT NOT NULL DEFAULT '',
    suffix TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL
);

CREATE TABLE user_options (
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (user_id, name)
);

CREATE TABLE guild_config (
    guild_id INTEGER PRIMARY KEY,
    allowed_channel_ids TEXT NOT NULL DEFAULT '[]',
    banned_words TEXT NOT NULL DEFAULT '[]',
    relax_policy TEXT NOT NULL DEFAULT 'offer' CHECK (relax_policy IN ('offer', 'auto', 'deny')),
    button_policy TEXT NOT NULL DEFAULT 'anyone' CHECK (button_policy IN ('anyone', 'owner')),
    max_running_per_user INTEGER CHECK (max_running_per_user IS NULL OR max_running_per_user >= 1),
    max_waiting_per_user INTEGER CHECK (max_waiting_per_user IS NULL OR max_waiting_per_user >= 1),
    max_running_per_guild INTEGER CHECK (max_running_per_guild IS NULL OR max_running_per_guild >= 0),
    max_waiting_per_guild INTEGER CHECK (max_waiting_per_guild IS NULL OR max_waiting_per_guild >= 1),
    default_version TEXT,
    default_params TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL
);
