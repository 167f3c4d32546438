-- A repeated upscale press finds the follow-up already made from that parent (bot/store/jobs.py
-- made_child). Bounded by one parent's children, not by history; only follow-ups carry an entry.
CREATE INDEX IF NOT EXISTS jobs_children ON jobs (parent_id, action, action_index)
    WHERE parent_id IS NOT NULL;
