"""The public status messages of jobs: posted once, then edited as the job moves.

Status messages are ordinary channel messages sent and edited with the bot token, never
through the interaction webhook: a job can outlive the 15-minute interaction token.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import discord

from bot.errors import NotAllowed
from bot.model import JobState
from bot.ui.buttons import waiting_view
from bot.ui.status import preview_embeds, status_content
from bot.ui.text import NO_MENTIONS
from bot.ui.updater import EditThrottle

if TYPE_CHECKING:
    from bot.jobs import JobService
    from bot.model import Job
    from bot.providers.base import DownloadedImage

log = logging.getLogger(__name__)


class StatusBoard:
    """Posts each job's status line and keeps it current through throttled edits."""

    def __init__(
        self,
        jobs: JobService,
        *,
        edit_interval: float,
        unit: str = "credits",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_edit: Callable[[str], None] | None = None,
        previews: Callable[[str], DownloadedImage | None] | None = None,
    ) -> None:
        self._jobs = jobs
        # Previews that are bytes rather than web addresses (the local provider's).
        self._previews = previews
        self._unit = unit
        # Told "ok" or "failed" after each status edit (the runtime counts them in metrics).
        self._on_edit = on_edit or (lambda outcome: None)
        self._client: discord.Client | None = None
        self._edits: EditThrottle[Job] = EditThrottle(
            self._apply, interval=edit_interval, clock=clock, sleep=sleep
        )

    def bind(self, client: discord.Client) -> None:
        """Attach the Discord client (built after the services that hold this board)."""
        self._client = client

    @property
    def client(self) -> discord.Client:
        """The Discord client messages go through."""
        if self._client is None:
            raise RuntimeError("StatusBoard.bind() was not called")
        return self._client

    def channel(self, job: Job) -> discord.PartialMessageable:
        """The job's channel, without a cache lookup or an API call."""
        return self.client.get_partial_messageable(job.channel_id, guild_id=job.guild_id)

    async def announce(self, job: Job) -> int | None:
        """Post the status line with a Cancel button and store its id on the job."""
        try:
            message = await self.channel(job).send(
                status_content(job, self._unit),
                view=waiting_view(job),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.Forbidden as exc:
            # The bot cannot post here after all: the result could not be posted either.
            await self._jobs.cancel(job.id, user_id=job.user_id, moderator=True)
            raise NotAllowed(
                "I cannot post in this channel, so the job was cancelled and refunded."
            ) from exc
        except discord.HTTPException:
            log.warning("Posting the status of job %s failed; the result will still arrive", job.id)
            return None
        await self._jobs.set_status_message(job.id, message.id)
        # The dispatcher may have moved the job before its status message id was stored;
        # those events were skipped, so catch up with the current state now.
        current = await self._jobs.get(job.id)
        if current.state is not JobState.QUEUED:
            self.show(current)
        return message.id

    async def announce_all(self, jobs: Sequence[Job]) -> None:
        """Announce each job; if the channel refuses, cancel (and refund) the rest too."""
        for position, job in enumerate(jobs):
            try:
                await self.announce(job)
            except NotAllowed:
                for rest in jobs[position + 1 :]:
                    await self._jobs.cancel(rest.id, user_id=rest.user_id, moderator=True)
                raise

    def show(self, job: Job) -> None:
        """Render ``job``'s state onto its status message (throttled, latest wins)."""
        if job.status_message_id is None:
            return
        self._edits.push(job.id, job, final=job.state.terminal)

    async def flush(self) -> None:
        """Wait until every pending status edit has been applied."""
        await self._edits.flush()

    async def close(self) -> None:
        """Stop editing; pending edits are dropped."""
        await self._edits.close()

    async def _apply(self, job_id: int, job: Job, final: bool) -> None:
        if job.status_message_id is None:
            return
        message = self.channel(job).get_partial_message(job.status_message_id)
        preview = self._preview_file(job)
        try:
            await message.edit(
                content=status_content(job, self._unit),
                embeds=preview_embeds(job, preview.filename if preview else None),
                # Each edit replaces the attachments: the last preview goes when the job ends.
                attachments=[preview] if preview else [],
                view=None if final else waiting_view(job),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.NotFound:
            self._on_edit("failed")
            self._edits.forget(job_id)
            if final and job.state is not JobState.SUCCEEDED:
                await self._repost(job)
            return
        except discord.HTTPException:
            self._on_edit("failed")
            raise
        self._on_edit("ok")

    def _preview_file(self, job: Job) -> discord.File | None:
        if self._previews is None or job.state.terminal or not job.preview_url:
            return None
        image = self._previews(job.preview_url)
        if image is None:
            return None
        return discord.File(io.BytesIO(image.data), filename=image.filename)

    async def _repost(self, job: Job) -> None:
        """The status message was deleted: say how the job ended in a new line."""
        try:
            message = await self.channel(job).send(
                status_content(job, self._unit), allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException:
            log.warning("Job %s ended but its channel refuses a new status line", job.id)
            return
        await self._jobs.set_status_message(job.id, message.id)
