"""Rendering for a member's own commands: /info, /settings, /prefer, /queue, speed modes."""

from bot.ui.account.jobs import (
    cancelled_message,
    credits_line,
    info_embed,
    job_choice_name,
    job_line,
    job_state_text,
    queue_embed,
)
from bot.ui.account.messages import (
    ACCOUNT_COLOUR,
    SPEED_NOTES,
    options_embed,
    reply_privately,
    speed_changed_message,
    suffix_message,
)
from bot.ui.account.settings import (
    SaveSettings,
    SettingsChoice,
    SettingsView,
    choice_from_text,
    model_versions,
    quality_values,
    settings_embed,
    version_label,
)

__all__ = [
    "ACCOUNT_COLOUR",
    "SPEED_NOTES",
    "SaveSettings",
    "SettingsChoice",
    "SettingsView",
    "cancelled_message",
    "choice_from_text",
    "credits_line",
    "info_embed",
    "job_choice_name",
    "job_line",
    "job_state_text",
    "model_versions",
    "options_embed",
    "quality_values",
    "queue_embed",
    "reply_privately",
    "settings_embed",
    "speed_changed_message",
    "suffix_message",
    "version_label",
]
