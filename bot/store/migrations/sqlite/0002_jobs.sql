-- Jobs: one row per /imagine job or button press, from queued to a terminal state.
-- Transitions are conditional UPDATEs (WHERE id = ? AND state = ?), so a claim is atomic.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    action TEXT,
    action_index INTEGER NOT NULL DEFAULT 0,
    parent_id INTEGER REFERENCES jobs (id),
    prompt TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    seed INTEGER NOT NULL,
    seed_explicit INTEGER NOT NULL DEFAULT 0,
    speed TEXT NOT NULL,
    cost INTEGER NOT NULL,
    -- Scheduling weight: the job's cost at fast speed, so relax jobs weigh what they take.
    weight INTEGER NOT NULL,
    state TEXT NOT NULL,
    provider_task_id TEXT,
    provider_buttons TEXT NOT NULL DEFAULT '[]',
    progress INTEGER NOT NULL DEFAULT 0,
    preview_url TEXT,
    status_message_id INTEGER,
    result_message_id INTEGER,
    result_urls TEXT NOT NULL DEFAULT '[]',
    failure_kind TEXT,
    failure_message TEXT,
    queue_position INTEGER,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    updated_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX jobs_state_id ON jobs (state, id);
CREATE INDEX jobs_guild_state ON jobs (guild_id, state);
CREATE INDEX jobs_user_state ON jobs (guild_id, user_id, state);
CREATE INDEX jobs_provider_task ON jobs (provider_task_id);
