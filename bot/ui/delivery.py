"""The Discord side of delivery: download the result and post it with its buttons."""

from __future__ import annotations

import io
import logging
import time
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.errors import ProviderError
from bot.jobs import DeliveryFailed
from bot.model import JobState
from bot.ui.buttons import result_view
from bot.ui.status import result_content
from bot.ui.text import NO_MENTIONS

if TYPE_CHECKING:
    from bot.jobs import JobService
    from bot.model import Job
    from bot.providers.base import DownloadedImage, ImageProvider, TaskState
    from bot.ui.board import StatusBoard

log = logging.getLogger(__name__)

# Discord's answers when a reply points at a message that no longer exists.
_UNKNOWN_MESSAGE = 10008
_INVALID_FORM = 50035
HISTORY_LIMIT = 50
"""Messages read after a status message when looking for a result posted before a restart."""


class DiscordDeliverer:
    """Implements the dispatcher's ``Deliverer``: a NEW channel message with the image."""

    def __init__(
        self,
        board: StatusBoard,
        provider: ImageProvider,
        jobs: JobService,
        *,
        max_upload_bytes: int,
        since: float | None = None,
    ) -> None:
        self._board = board
        self._provider = provider
        self._jobs = jobs
        self._max_upload_bytes = max_upload_bytes
        self._since = time.time() if since is None else since
        """When this process started delivering: jobs started before may be posted already."""

    async def deliver(self, job: Job, task: TaskState) -> int | None:
        """Post the result replying to the status message; return the result message id."""
        image = await self._download(task)
        # The job handed over may predate its status message id; read the stored one.
        current = await self._jobs.get(job.id)
        if current.state is not JobState.RUNNING:
            # Cancelled while the task finished: the result is ignored. Not retryable, and the
            # settler's RUNNING -> FAILED no longer applies, so a cancelled job stays cancelled.
            raise DeliveryFailed(f"The job is {current.state.value}; not posted.", retryable=False)
        if (posted := await self._posted_before(current)) is not None:
            return posted
        try:
            message = await self._post_replying(current, task, image)
        except discord.HTTPException as exc:
            raise _as_delivery_failure(exc) from exc
        return message.id

    async def _posted_before(self, job: Job) -> int | None:
        """The result an earlier process posted but did not record (it stopped in between).

        Discord remembers a nonce only for minutes; a restart can take longer. The result
        replies to the status message and carries the job's buttons, so it is found among
        the messages after that one. Only jobs started before this process are looked up.
        """
        started = job.started_at if job.started_at is not None else job.created_at
        if job.status_message_id is None or started >= self._since:
            return None
        prefix = f"job:{job.id}:"
        after = discord.Object(job.status_message_id)
        try:
            async for message in self._board.channel(job).history(after=after, limit=HISTORY_LIMIT):
                if any(custom_id.startswith(prefix) for custom_id in _custom_ids(message)):
                    log.info("job %s: its result was posted before the restart", job.id)
                    return message.id
        except discord.HTTPException as exc:
            log.warning("could not read the channel of job %s: %s", job.id, exc)
        return None

    async def retract(self, job: Job, message_id: int) -> None:
        """Delete a result posted while its job was being cancelled; gone already is fine."""
        try:
            await self._board.channel(job).get_partial_message(message_id).delete()
        except discord.NotFound:
            return

    async def _post_replying(
        self, job: Job, task: TaskState, image: DownloadedImage
    ) -> discord.Message:
        """Reply to the status message; without the reply when that message is gone."""
        if job.status_message_id is None:
            return await self._post(job, task, image, None)
        try:
            return await self._post(job, task, image, job.status_message_id)
        except discord.HTTPException as exc:
            if exc.code not in (_UNKNOWN_MESSAGE, _INVALID_FORM):
                raise
        return await self._post(job, task, image, None)

    async def _download(self, task: TaskState) -> DownloadedImage:
        try:
            return await self._provider.result_image(task, max_bytes=self._max_upload_bytes)
        except ProviderError as exc:
            raise DeliveryFailed(exc.message, retryable=exc.retryable) from exc

    async def _post(
        self, job: Job, task: TaskState, image: DownloadedImage, reply_to: int | None
    ) -> discord.Message:
        channel = self._board.channel(job)
        reference = None
        if reply_to is not None:
            reference = discord.MessageReference(
                message_id=reply_to, channel_id=job.channel_id, fail_if_not_exists=False
            )
        try:
            return await channel.send(
                result_content(job, task.notes),
                file=discord.File(io.BytesIO(image.data), filename=image.filename),
                view=result_view(job, task.buttons),
                reference=reference,  # type: ignore[arg-type]
                allowed_mentions=NO_MENTIONS,
                # Posted again after a lost answer or a restart, Discord hands back the first
                # message instead of a second one (discord.py sets enforce_nonce with it).
                nonce=result_nonce(job),
            )
        except (discord.DiscordServerError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryFailed(
                "Discord did not accept the result; trying again.", retryable=True
            ) from exc


def _custom_ids(message: discord.Message) -> list[str]:
    return [
        child.custom_id
        for row in message.components
        if isinstance(row, discord.ActionRow)
        for child in row.children
        if isinstance(child, discord.Button | discord.SelectMenu) and child.custom_id
    ]


def result_nonce(job: Job) -> str:
    """The nonce of a job's result message: one per job, within Discord's 25 characters.

    The creation time keeps job ids reused after a database reset from matching.
    """
    return f"r{job.id}-{int(job.created_at) % 10**9}"


def _as_delivery_failure(exc: discord.HTTPException) -> DeliveryFailed:
    if isinstance(exc, discord.Forbidden):
        return DeliveryFailed("I am no longer allowed to post in this channel.", retryable=False)
    if isinstance(exc, discord.NotFound):
        return DeliveryFailed("The channel of this job no longer exists.", retryable=False)
    return DeliveryFailed(
        f"Discord refused the result ({exc.status}).",
        retryable=exc.status >= 500 or exc.status == 429,
    )
