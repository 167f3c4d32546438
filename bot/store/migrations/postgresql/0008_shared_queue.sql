-- The scheduling policy's state, shared by every process that dispatches from this database
-- (bot/jobs/shared_queue.py, bot/store/queue_state.py): with it in one place, deficit
-- round-robin between guilds and turns between members hold over all the processes, not
-- within each one.
--
-- queue_guilds: the ring of guilds with waiting turbo or fast jobs, one per class. turn: its
-- place (smallest first); deficit and granted: deficit round-robin's state. A claim locks the
-- rows it serves (FOR UPDATE SKIP LOCKED), so another process's claim serves the next guilds.
-- active: the guild has (or may have) waiting jobs of that class; cleared by the claim that
-- takes its last one, set again by the transaction that queues one.
-- queue_members: each member's place in their guild's line, per class (turn), and for relax,
-- their usage rank; relax_usage: each member's decaying relax usage and its rank.
-- queue_turns hands out places in blocks of 1,000,000: one nextval orders all of a claim's moves.
CREATE SEQUENCE queue_turns INCREMENT BY 1000000;
CREATE TABLE queue_guilds (
    speed TEXT NOT NULL CHECK (speed IN ('turbo', 'fast')),
    guild_id BIGINT NOT NULL,
    turn BIGINT NOT NULL,
    deficit BIGINT NOT NULL DEFAULT 0,
    granted BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (speed, guild_id)
);
CREATE INDEX queue_guilds_ring ON queue_guilds (speed, turn) WHERE active;
CREATE TABLE queue_members (
    speed TEXT NOT NULL CHECK (speed IN ('turbo', 'fast', 'relax')),
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    turn BIGINT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    -- relax_usage.rank of the member, copied here so that relax's order is an index scan.
    rank DOUBLE PRECISION,
    PRIMARY KEY (speed, guild_id, user_id)
);
CREATE INDEX queue_members_line ON queue_members (speed, guild_id, turn) WHERE active;
CREATE INDEX queue_members_relax ON queue_members (rank NULLS FIRST, turn)
    WHERE speed = 'relax' AND active;
CREATE INDEX queue_members_relax_user ON queue_members (user_id) WHERE speed = 'relax';
CREATE TABLE relax_usage (
    user_id BIGINT PRIMARY KEY,
    value DOUBLE PRECISION NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    rank DOUBLE PRECISION NOT NULL
);
-- A member's head jobs in one class: the claim's only read of the queue itself.
CREATE INDEX jobs_queued_member ON jobs (guild_id, user_id, speed, id) WHERE state = 'queued';
-- The running limits a claim checks: a guild's and its members' jobs in flight, whatever the
-- number waiting.
CREATE INDEX jobs_in_flight ON jobs (guild_id, user_id) WHERE state IN ('submitting', 'running');

-- Jobs already waiting when this arrives join the ring and the lines in the order they came.
INSERT INTO queue_guilds (speed, guild_id, turn)
SELECT speed, guild_id, nextval('queue_turns')
FROM (
    SELECT speed, guild_id, MIN(id) AS first FROM jobs
    WHERE state = 'queued' AND speed IN ('turbo', 'fast') GROUP BY speed, guild_id
    ORDER BY first
) AS waiting;
INSERT INTO queue_members (speed, guild_id, user_id, turn)
SELECT speed, guild_id, user_id, nextval('queue_turns')
FROM (
    SELECT speed, guild_id, user_id, MIN(id) AS first FROM jobs
    WHERE state = 'queued' GROUP BY speed, guild_id, user_id
    ORDER BY first
) AS waiting;
