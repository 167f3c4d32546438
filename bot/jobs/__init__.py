"""Jobs: the model, the fair scheduling policy, the job service and the dispatcher."""

from bot.jobs.policy import FairScheduler, Limits, QueueEntry
from bot.store.job_models import Job, JobEvent, JobKind, JobState, QueueOverview

__all__ = [
    "FairScheduler",
    "Job",
    "JobEvent",
    "JobKind",
    "JobState",
    "Limits",
    "QueueEntry",
    "QueueOverview",
]
