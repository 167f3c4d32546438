"""Jobs: the model, the fair scheduling policy, the job service and the dispatcher."""

from bot.jobs.delivery import Deliverer, DeliveryFailed
from bot.jobs.dispatcher import Dispatcher
from bot.jobs.events import JobEvents, Subscription
from bot.jobs.policy import FairScheduler, Limits, QueueEntry
from bot.jobs.recovery import RecoveryReport
from bot.jobs.service import JobListener, JobService
from bot.store.job_models import Job, JobEvent, JobKind, JobState, QueueOverview, kind_of_action

__all__ = [
    "Deliverer",
    "DeliveryFailed",
    "Dispatcher",
    "FairScheduler",
    "Job",
    "JobEvent",
    "JobEvents",
    "JobKind",
    "JobListener",
    "JobService",
    "JobState",
    "Limits",
    "QueueEntry",
    "QueueOverview",
    "RecoveryReport",
    "Subscription",
    "kind_of_action",
]
