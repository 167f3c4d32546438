"""Whether new jobs may be queued: channel, banned words, relax policy and waiting limits."""

from __future__ import annotations

from bot.errors import LimitReached, NotAllowed
from bot.jobs.speeds import RELAX_DENIED
from bot.model import SpeedMode
from bot.prompt import Prompt
from bot.settings import SchedulerSettings
from bot.store.database import Transaction
from bot.store.guild_config import GuildConfig, RelaxPolicy
from bot.store.jobs import JobRepository


def words_of(prompt: Prompt) -> str:
    """The prompt's words that banned words are looked for in (its text and ``--no`` items)."""
    return "\n".join([*(segment.text for segment in prompt.segments), *prompt.params.no])


def check_channel(config: GuildConfig, channel_id: int, parent_id: int | None) -> None:
    """Refuse a channel outside the allowed list (a thread counts as its parent channel)."""
    if not config.channel_allowed(channel_id, parent_id=parent_id):
        raise NotAllowed("Images cannot be made in this channel; ask a moderator where.")


def check_speed(config: GuildConfig, speed: SpeedMode) -> None:
    """Refuse a relax job where the server turned relax off."""
    if speed is SpeedMode.RELAX and config.relax_policy is RelaxPolicy.DENY:
        raise NotAllowed(RELAX_DENIED)


def check_words(config: GuildConfig, text: str) -> None:
    """Refuse text holding one of the server's banned words, naming it."""
    word = config.banned_word_in(text)
    if word is not None:
        raise NotAllowed(f'"{word}" is not allowed in this server; rephrase the prompt.')


async def check_waiting(
    tx: Transaction,
    repo: JobRepository,
    config: GuildConfig,
    settings: SchedulerSettings,
    user_id: int,
    adding: int,
) -> None:
    """Refuse ``adding`` more waiting jobs beyond the member's or the server's limit."""
    limits = config.limits(settings)
    mine, guild = await repo.count_waiting(tx, guild_id=config.guild_id, user_id=user_id)
    most = limits.max_waiting_per_user
    if mine + adding > most and adding > 1:
        advice = "make fewer at once" if adding > most else "wait for some to start"
        raise LimitReached(
            f"This prompt makes {adding} jobs; you may have at most {most} waiting "
            f"(you have {mine}): {advice}."
        )
    if mine + adding > most:
        raise LimitReached(
            f"You have {mine} jobs waiting and may have at most {most}; "
            "wait for some to start or /cancel one."
        )
    if guild + adding > limits.max_waiting_per_guild:
        raise LimitReached(
            f"This server's queue is full ({guild} of {limits.max_waiting_per_guild} "
            "jobs waiting); try again in a few minutes."
        )
