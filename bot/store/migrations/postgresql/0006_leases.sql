-- Leases: which process does a piece of work that only one may do at a time (the dispatcher,
-- bot/jobs/lease.py). The holder renews its lease well before it expires; another process
-- takes it over only once it has expired. Times are epoch seconds.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at DOUBLE PRECISION NOT NULL,
    renewed_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
