"""Jobs: the fair scheduling policy, the job service and the dispatcher (records: bot.model)."""

from bot.jobs.delivery import Deliverer, DeliveryFailed
from bot.jobs.dispatcher import Dispatcher
from bot.jobs.entries import QueueEntry
from bot.jobs.events import JobEvents, Subscription
from bot.jobs.policy import FairScheduler, Limits
from bot.jobs.recovery import RecoveryReport
from bot.jobs.service import JobListener, JobService

__all__ = [
    "Deliverer",
    "DeliveryFailed",
    "Dispatcher",
    "FairScheduler",
    "JobEvents",
    "JobListener",
    "JobService",
    "Limits",
    "QueueEntry",
    "RecoveryReport",
    "Subscription",
]
