"""Shared records below everything else: the job, its events, speed modes, provider actions.

Plain data with no I/O and no Discord: the store returns these records, the services pass them
on, the providers report actions and buttons in them, and the Discord layer renders them. Import
them from here; nothing in this package imports another part of the bot but ``bot.errors``.
"""

from bot.model.actions import SINGLE_IMAGE_ACTIONS, Action, ProviderButton
from bot.model.event import EventKind, JobEvent
from bot.model.job import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Job,
    JobKind,
    JobState,
    QueueOverview,
    check_transition,
    encode_buttons,
    encode_urls,
    kind_of_action,
)
from bot.model.speed import SpeedMode

__all__ = [
    "ACTIVE_STATES",
    "SINGLE_IMAGE_ACTIONS",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Action",
    "EventKind",
    "Job",
    "JobEvent",
    "JobKind",
    "JobState",
    "ProviderButton",
    "QueueOverview",
    "SpeedMode",
    "check_transition",
    "encode_buttons",
    "encode_urls",
    "kind_of_action",
]
