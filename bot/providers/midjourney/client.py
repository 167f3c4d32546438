"""``MidjourneyProxyProvider``: the ``ImageProvider`` over the midjourney-proxy HTTP API.

Built once by the composition root with the provider settings (tests inject an
``httpx.AsyncClient`` or a transport, a clock, a sleep and a random source). The dispatcher
drives it through the ``ImageProvider`` protocol and may also read:

- ``suggested_poll_interval``: seconds to wait before the next ``fetch_many`` (short while
  tasks move, up to ``poll_interval`` while they wait; see ``polling``);
- ``circuit_open``: True while the provider is considered down (calls fail fast with
  ``ProviderUnavailable``): pause dispatch rather than burn retries;
- ``use_notify_hook(url)``: send the webhook receiver's URL with every submit.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from bot.errors import FailureKind, ProviderError, ProviderRejected, ProviderUnavailable
from bot.model import SpeedMode
from bot.outbound import OutboundFetcher, OutboundPolicy
from bot.providers.base import (
    ActionRequest,
    Capabilities,
    DownloadedImage,
    ImagineRequest,
    Submission,
    TaskState,
    written_seed,
)
from bot.providers.midjourney.buttons import GRID_ACTIONS, INDEXED_ACTIONS, find_button
from bot.providers.midjourney.codes import (
    MALFORMED_MESSAGE,
    ReturnCode,
    SystemFailure,
    answer_code,
    interpret_submit,
    is_modal_answer,
)
from bot.providers.midjourney.download import download_image
from bot.providers.midjourney.polling import PollPacer
from bot.providers.midjourney.retry import RetryPolicy, retry_unavailable
from bot.providers.midjourney.routing import SpeedRouter
from bot.providers.midjourney.status import Lookup, StatusReader
from bot.providers.midjourney.tasks import absolute_url, provider_origin
from bot.providers.midjourney.transport import CallObserver, ProxyHttp
from bot.settings import ProviderSettings

if TYPE_CHECKING:
    from bot.prompt import Prompt

log = logging.getLogger(__name__)

_CHANGE_NAMES = {"upscale": "UPSCALE", "variation": "VARIATION", "reroll": "REROLL"}


class _EndpointMissing(Exception):
    pass


class MidjourneyProxyProvider:
    """An ``ImageProvider`` speaking the midjourney-proxy protocol (novicezk or trueai)."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        retry: RetryPolicy | None = None,
        observe: CallObserver | None = None,
        outbound: OutboundPolicy | None = None,
        fetcher: OutboundFetcher | None = None,
    ) -> None:
        self._settings = settings
        # Result images are fetched like any URL a member wrote (the proxy's answer names
        # them): under the outbound policy, never with the proxy's client or secret.
        self._owns_fetcher = fetcher is None
        self._fetcher = fetcher or OutboundFetcher(
            outbound or OutboundPolicy(),
            time_limit=settings.request_timeout,
            connect_timeout=settings.connect_timeout,
        )
        self._observe = observe
        self._router = SpeedRouter(settings)
        self._http = ProxyHttp(
            settings,
            client=client,
            transport=transport,
            clock=clock,
            sleep=sleep,
            rng=rng,
            retry=retry,
            observe=observe,
        )
        self._status = StatusReader(self._http)
        self._pacer = PollPacer(settings.poll_interval)
        self._custom_id_actions = True
        self._cancel_supported = True
        self._notify_hook: str | None = None

    @property
    def capabilities(self) -> Capabilities:
        """What this server has shown it supports (optimistic until a 404 says otherwise)."""
        return Capabilities(
            custom_id_actions=self._custom_id_actions,
            change_actions=True,
            cancel=self._cancel_supported,
            batch_status=self._status.batched,
            webhook=self._notify_hook is not None,
        )

    @property
    def circuit_open(self) -> bool:
        """True while calls fail fast because the provider kept failing."""
        return self._http.breaker.is_open

    @property
    def suggested_poll_interval(self) -> float:
        """Seconds before the next ``fetch_many``, from how the tasks moved lately."""
        return self._pacer.interval

    def use_notify_hook(self, url: str | None) -> None:
        """Ask the provider to POST task changes to ``url`` (the webhook receiver)."""
        self._notify_hook = url

    async def submit_imagine(self, request: ImagineRequest) -> Submission:
        """Start a grid from the canonical prompt, which must carry ``--seed``."""
        if written_seed(request.prompt) is None:
            raise ProviderRejected(
                "The job has no seed, so it cannot be repeated; it was not sent.",
                kind=FailureKind.INVALID_REQUEST,
            )
        body = {"prompt": self._router.prompt(request.prompt, request.speed)}
        try:
            return await self._submit("submit/imagine", body, request.speed, request.job_id)
        except _EndpointMissing:
            raise ProviderError("The image provider has no imagine endpoint.") from None

    async def submit_action(self, request: ActionRequest) -> Submission:
        """Start a follow-up: by the parent's button where it has one, else by index."""
        button = find_button(request.parent_buttons, request.action, request.index)
        if button is not None and self._custom_id_actions:
            by_button = {"taskId": request.parent_task_id, "customId": button.custom_id}
            try:
                return await self._submit("submit/action", by_button, request.speed, request.job_id)
            except _EndpointMissing:
                log.info("provider has no submit/action; using submit/change from now on")
                self._custom_id_actions = False
        if request.action not in GRID_ACTIONS:
            raise ProviderRejected(
                f"The image provider does not offer “{request.action.value}” on this image.",
                kind=FailureKind.INVALID_REQUEST,
            )
        if request.action in INDEXED_ACTIONS and not 1 <= request.index <= 4:
            raise ProviderRejected(
                "Pick one of the grid's four images (1 to 4).", kind=FailureKind.INVALID_REQUEST
            )
        body: dict[str, Any] = {
            "taskId": request.parent_task_id,
            "action": _CHANGE_NAMES[request.action.value],
        }
        if request.action in INDEXED_ACTIONS:
            body["index"] = request.index
        try:
            return await self._submit("submit/change", body, request.speed, request.job_id)
        except _EndpointMissing:
            raise ProviderError("The image provider has no endpoint for this action.") from None

    async def fetch_many(self, task_ids: Sequence[str]) -> Mapping[str, TaskState]:
        """The state of many tasks in one request where possible; forgotten tasks are absent."""
        if not task_ids:
            return {}
        found = await self._status.fetch_many(task_ids)
        self._pacer.observe(found.values())
        self._pacer.forget(set(task_ids) - found.keys())
        return found

    async def find_by_state(self, state: str) -> TaskState | None:
        """The task submitted with this ``state`` (job id); None when the proxy has none.

        Raises ``ProviderUnavailable`` when the proxy cannot be asked (no list answers): a
        job is submitted again only on a provable "none".
        """
        found = await self._status.lookup_state(state)
        if found is Lookup.UNKNOWN:
            raise ProviderUnavailable("The image provider could not list its tasks.")
        return found if isinstance(found, TaskState) else None

    async def cancel(self, task_id: str) -> bool:
        """Cancel a task (trueai); False where the server has no cancel endpoint."""
        if not self._cancel_supported:
            return False
        reply = await self._http.call("POST", f"task/{task_id}/cancel", idempotent=True)
        if reply.missing_endpoint:
            log.info("provider has no task cancel endpoint")
            self._cancel_supported = False
            return False
        return reply.status < 300

    async def result_image(self, task: TaskState, *, max_bytes: int) -> DownloadedImage:
        """Download the finished task's image (the grid, or the single upscaled image)."""
        url = task.image_url or next(iter(task.image_urls), None)
        if url is None:
            raise ProviderRejected(
                "The image provider finished without an image.", kind=FailureKind.PROVIDER_ERROR
            )
        return await self.download(url, max_bytes=max_bytes)

    def preview_image(self, reference: str) -> DownloadedImage | None:
        """None: midjourney-proxy previews are web addresses Discord fetches itself."""
        return None

    def check_prompt(self, prompt: Prompt) -> None:
        """Nothing to refuse: midjourney-proxy renders every version it is sent."""

    async def download(self, url: str, *, max_bytes: int) -> DownloadedImage:
        """Fetch a result image, streamed and capped, re-encoded if above ``max_bytes``."""
        resolved = absolute_url(url, provider_origin(self._settings.base_url))
        if resolved is None:
            raise ProviderRejected(
                "The image provider gave an image address that cannot be fetched.",
                kind=FailureKind.INVALID_REQUEST,
            )
        url = resolved
        started = time.perf_counter()
        try:
            image = await self._download(url, max_bytes)
        except ProviderError as exc:
            self._observe_download(started, exc.kind.value)
            raise
        self._observe_download(started, None)
        return image

    def _observe_download(self, started: float, error_kind: str | None) -> None:
        if self._observe is not None:
            self._observe("download", time.perf_counter() - started, error_kind)

    async def _download(self, url: str, max_bytes: int) -> DownloadedImage:
        return await download_image(
            self._fetcher,
            url,
            max_bytes=max_bytes,
            hard_cap=self._settings.max_download_bytes,
            retrying=lambda operation: retry_unavailable(
                operation, policy=self._http.retry, sleep=self._http.sleep, rng=self._http.rng
            ),
        )

    async def aclose(self) -> None:
        """Close the connection pools (those this provider created)."""
        await self._http.aclose()
        if self._owns_fetcher:
            await self._fetcher.aclose()

    async def _submit(
        self, path: str, body: dict[str, Any], speed: SpeedMode, job_id: int
    ) -> Submission:
        # An OutcomeUnknown goes up as it is: the proxy may still accept the request after
        # this client gave up, so only the dispatcher, asking later by state, may send it again.
        payload = {**body, "state": str(job_id), **self._router.body_extras(speed)}
        if self._notify_hook:
            payload["notifyHook"] = self._notify_hook
        base_url = self._router.base_url(speed)
        policy = self._http.retry
        attempt = 0
        while True:
            attempt += 1
            answer = await self._post_submit(path, payload, base_url)
            if answer_code(answer) == ReturnCode.EXISTED and is_modal_answer(answer):
                modal_task = interpret_submit(answer).task_id
                return await self._submit_modal(modal_task, body, payload, base_url)
            try:
                return interpret_submit(answer)
            except SystemFailure as exc:
                if attempt >= policy.attempts:
                    raise ProviderUnavailable(exc.message) from exc
            await self._http.sleep(policy.delay(attempt, self._http.rng))

    async def _post_submit(self, path: str, payload: dict[str, Any], base_url: str) -> Any:
        reply = await self._http.call(
            "POST", path, body=payload, idempotent=False, base_url=base_url
        )
        if reply.missing_endpoint:
            raise _EndpointMissing
        if not isinstance(reply.body, Mapping) or answer_code(reply.body) is None:
            if reply.status >= 400:
                raise ProviderRejected(
                    "The image provider refused the request as invalid.",
                    kind=FailureKind.INVALID_REQUEST,
                )
            raise ProviderError(MALFORMED_MESSAGE)
        return reply.body

    async def _submit_modal(
        self,
        modal_task: str,
        body: Mapping[str, Any],
        payload: Mapping[str, Any],
        base_url: str,
    ) -> Submission:
        # trueai asks for a modal when Remix is on: confirm it with the parent's own prompt.
        parent = await self._status.fetch_raw(str(body.get("taskId", "")))
        prompt = ""
        if parent is not None:
            prompt = str(parent.get("promptEn") or parent.get("prompt") or "")
        modal = {"taskId": modal_task, "prompt": prompt, "state": payload["state"]}
        if self._notify_hook:
            modal["notifyHook"] = self._notify_hook
        return interpret_submit(await self._post_submit("submit/modal", modal, base_url))
