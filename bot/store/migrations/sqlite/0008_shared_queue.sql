-- PostgreSQL's 0008 keeps the scheduling policy's state in the database, for several processes
-- dispatching at once (bot/jobs/shared_queue.py). SQLite dispatches from one process's memory
-- (bot/jobs/policy.py), so it has nothing to add; the number keeps both schemas at one version.
SELECT 1;
