-- History must not slow the present: every index the submit, claim, settle and recovery paths
-- read covers live jobs only (finished_at IS NULL, which holds exactly for the non-terminal
-- states: a move to a terminal state sets finished_at). Finished jobs keep the primary key
-- and one index for a member's history listing.
-- The table is rebuilt to drop the parent_id foreign key: retention deletes a parent before
-- its (newer) children, and the key would also make every delete search all children.
-- params, provider_buttons and result_urls hold JSON text or compact bytes (bot/store/compact).
CREATE TABLE jobs_new (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    action TEXT,
    action_index INTEGER NOT NULL DEFAULT 0,
    parent_id INTEGER,
    prompt TEXT NOT NULL,
    params BLOB NOT NULL DEFAULT '{}',
    seed INTEGER NOT NULL,
    seed_explicit INTEGER NOT NULL DEFAULT 0,
    speed TEXT NOT NULL,
    cost INTEGER NOT NULL,
    -- Scheduling weight: the job's cost at fast speed, so relax jobs weigh what they take.
    weight INTEGER NOT NULL,
    state TEXT NOT NULL,
    provider_task_id TEXT,
    provider_buttons BLOB NOT NULL DEFAULT '[]',
    progress INTEGER NOT NULL DEFAULT 0,
    preview_url TEXT,
    status_message_id INTEGER,
    result_message_id INTEGER,
    result_urls BLOB NOT NULL DEFAULT '[]',
    failure_kind TEXT,
    failure_message TEXT,
    queue_position INTEGER,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    updated_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
INSERT INTO jobs_new SELECT * FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;

CREATE INDEX jobs_live_state ON jobs (state, id) WHERE finished_at IS NULL;
CREATE INDEX jobs_live_guild ON jobs (guild_id, state, user_id) WHERE finished_at IS NULL;
CREATE INDEX jobs_live_user ON jobs (guild_id, user_id, state) WHERE finished_at IS NULL;
CREATE INDEX jobs_live_parent ON jobs (parent_id)
    WHERE finished_at IS NULL AND parent_id IS NOT NULL;
CREATE INDEX jobs_history_user ON jobs (guild_id, user_id, id);
