"""From a stored request to a ``RenderJob``: parse, pick the preset, fetch, plan.

Runs just before a task goes to the worker, so a restart plans an unfinished task again
from its stored request, and a parent's images are read only when its action renders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bot.errors import FailureKind, FetchError, ProviderRejected
from bot.model import Action
from bot.prompt import parse_canonical, without_params
from bot.providers.diffusion.catalog import preset_name
from bot.providers.diffusion.plan import ParentRender, plan_action, plan_imagine
from bot.providers.diffusion.results import ResultStore

if TYPE_CHECKING:
    from bot.providers.diffusion.presets import ModelPreset
    from bot.providers.diffusion.spec import RenderJob
    from bot.providers.diffusion.tasks import LocalTask
    from bot.settings import DiffusionSettings

MAX_REFERENCE_BYTES = 20 * 1024 * 1024
"""The largest image prompt or style reference the renderer accepts."""


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


class Planner:
    """Plans tasks for the worker from their stored requests."""

    def __init__(
        self,
        store: ResultStore,
        settings: DiffusionSettings,
        fetch_image: Callable[[str, int], Awaitable[bytes]],
    ) -> None:
        self._store = store
        self._settings = settings
        self._fetch_image = fetch_image

    def expired(self) -> ProviderRejected:
        """The error for a result whose images are gone."""
        days = self._settings.result_retention_days
        return ProviderRejected(
            f"This image has expired: rendered images are kept for {days:g} days on this "
            "server. Run /imagine again for a new one.",
            kind=FailureKind.PARENT_EXPIRED,
        )

    async def plan(
        self, task: LocalTask, presets: dict[str, ModelPreset]
    ) -> tuple[RenderJob, tuple[str, ...]]:
        """The render for this task and the notes to show with its result."""
        request = task.request
        prompt = parse_canonical(request.prompt)
        name = preset_name(prompt, self._settings)
        preset = presets.get(name)
        if preset is None:
            raise ProviderRejected(
                f"The model preset {name!r} is not configured on this server.",
                kind=FailureKind.INVALID_REQUEST,
            )
        action = Action(request.action) if request.action is not None else None
        if action is Action.ENHANCE:
            # Enhance renders the draft's prompt again at full quality.
            prompt = without_params(prompt, "draft")
        if action is None or action is Action.ENHANCE or request.parent_task_id is None:
            images = await self._fetch_all(prompt.image_urls)
            styles = await self._fetch_all([ref for ref in prompt.params.sref if _is_url(ref)])
            return plan_imagine(
                prompt,
                preset,
                task_id=task.task_id,
                image_prompts=images,
                style_images=styles,
            )
        parent = await asyncio.to_thread(self._parent, request.parent_task_id)
        return plan_action(
            action,
            request.index,
            parent=parent,
            prompt=prompt,
            preset=preset,
            task_id=task.task_id,
            seed=prompt.params.seed or 0,
        )

    def _parent(self, task_id: str) -> ParentRender:
        stored = self._store.result(task_id)
        images = self._store.images(task_id)
        if stored is None or images is None:
            raise self.expired()
        return ParentRender(images=images, width=stored.width, height=stored.height)

    async def _fetch_all(self, urls: Sequence[str]) -> tuple[bytes, ...]:
        return tuple(await asyncio.gather(*(self._fetch_one(url) for url in urls)))

    async def _fetch_one(self, url: str) -> bytes:
        try:
            return await self._fetch_image(url, MAX_REFERENCE_BYTES)
        except FetchError as exc:
            raise ProviderRejected(
                f"The image {url[:100]} could not be used: {exc.message}",
                kind=FailureKind.INVALID_REQUEST,
            ) from exc
