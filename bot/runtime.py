"""The composition root of a running Tessera: services, the Discord bot, and their tasks.

``Runtime(settings, role=...)`` builds everything; ``start()`` opens the database, logs the
bot in, starts the status feed, the optional webhook receiver and metrics server, and runs
what its role asks for until it stops; ``close()`` stops them in the reverse order. Every task
it creates it also cancels.

Roles (``python -m bot run``, ``run --no-dispatch``, ``worker``):

- ``run``: the gateway (slash commands, buttons) and the dispatcher, the one-process default;
- ``gateway``: the gateway only: it queues jobs and answers presses, submits nothing to a
  provider and posts no results;
- ``worker``: no gateway: it dispatches jobs and posts results and progress over Discord's
  REST API with the bot token.

Several ``run`` and ``worker`` processes dispatch from one database at once: each holds a lease
of its own and owns the jobs it claims; the provider's slots are counted per endpoint over
them all; when one stops or dies, another adopts its jobs (``bot/dispatching.py``). On
PostgreSQL, new and cancelled jobs reach them by notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.account import AccountService, GuildConfigService
from bot.app import DEFAULT_EXTENSIONS, TesseraBot
from bot.dispatching import DispatchDuty
from bot.errors import ConfigError
from bot.jobs import Dispatcher, JobEvents, JobService
from bot.model import JobState
from bot.observability.health import database_and_gateway_check
from bot.observability.logging import redact_also
from bot.observability.metrics import Metrics
from bot.observability.server import ObservabilityServer
from bot.outbound import OutboundFetcher, OutboundPolicy
from bot.providers.diffusion.provider import DiffusionProvider
from bot.providers.midjourney import MidjourneyProxyProvider, WebhookReceiver
from bot.quota import CostModel, QuotaService
from bot.services import Services
from bot.store.connect import open_database
from bot.store.database import Database
from bot.store.guild_config import GuildConfigRepository
from bot.store.user_settings import UserSettingsRepository
from bot.ui.board import StatusBoard
from bot.ui.delivery import DiscordDeliverer

if TYPE_CHECKING:
    from bot.jobs.events import Subscription
    from bot.model import JobEvent
    from bot.providers.base import ImageProvider
    from bot.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_FLUSH_SECONDS = 3.0
"""How long close() waits for the last status edits before dropping them."""


class Role(StrEnum):
    """What one process does (module docstring)."""

    RUN = "run"
    GATEWAY = "gateway"
    WORKER = "worker"

    @property
    def connects_gateway(self) -> bool:
        """Whether this role serves slash commands and buttons."""
        return self is not Role.WORKER

    @property
    def dispatches(self) -> bool:
        """Whether this role runs jobs at the provider and posts their results."""
        return self is not Role.GATEWAY


class Runtime:
    """Owns the database, the provider client, the services, the bot and every task."""

    def __init__(
        self,
        settings: Settings,
        *,
        extensions: Sequence[str] = DEFAULT_EXTENSIONS,
        role: Role = Role.RUN,
        run_dispatcher: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.role = role
        self._extensions = extensions
        # Tests drive the dispatcher with drain() instead of its background loop.
        self._run_dispatcher = run_dispatcher
        self._clock = clock
        self.metrics = Metrics()
        self._database: Database | None = None
        self._services: Services | None = None
        self._bot: TesseraBot | None = None
        self._receiver: WebhookReceiver | None = None
        self._observability: ObservabilityServer | None = None
        self._subscription: Subscription | None = None
        self._feed: asyncio.Task[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._owner: asyncio.Task[None] | None = None
        self.duty: DispatchDuty | None = None
        """This process's dispatching (its lease, adoption, retention), once launched."""
        self.dispatching = asyncio.Event()
        """Set once this process holds its lease and its dispatcher has started."""
        self._logged_in = False
        self._fetcher: OutboundFetcher | None = None

    @property
    def services(self) -> Services:
        """The services container (after ``open``)."""
        if self._services is None:
            raise RuntimeError("Runtime.open() has not run")
        return self._services

    @property
    def bot(self) -> TesseraBot:
        """The Discord bot (after ``open``)."""
        if self._bot is None:
            raise RuntimeError("Runtime.open() has not run")
        return self._bot

    @property
    def board(self) -> StatusBoard:
        """The status-message board (after ``open``)."""
        return self.services.board

    async def open(self) -> None:
        """Open the database and build the services and the bot; connects to nothing else."""
        if self._services is not None:
            return
        settings = self.settings
        database = await open_database(settings.database.url)
        self._database = database
        provider = self._build_provider()
        costs = CostModel(settings.quota.costs)
        quota = QuotaService(database, settings.quota, clock=self._clock)
        events = JobEvents()
        guild_config = GuildConfigRepository(database, clock=self._clock)
        jobs = JobService(
            database,
            quota,
            costs,
            settings.scheduler,
            events=events,
            clock=self._clock,
            guild_config=guild_config,
            check_prompt=provider.check_prompt,
        )
        board = StatusBoard(
            jobs,
            edit_interval=settings.discord.progress_edit_interval,
            unit=settings.quota.unit_name,
            on_edit=self.metrics.count_discord_edit,
            previews=provider.preview_image,
        )
        deliverer = DiscordDeliverer(
            board, provider, jobs, max_upload_bytes=settings.discord.max_upload_bytes
        )
        dispatcher = Dispatcher(
            database,
            jobs,
            provider,
            quota,
            deliverer,
            settings.scheduler,
            settings.provider,
            events=events,
            clock=self._clock,
            guild_config=guild_config,
        )
        self._services = Services(
            settings=settings,
            jobs=jobs,
            quota=quota,
            costs=costs,
            account=AccountService(
                database, UserSettingsRepository(database, clock=self._clock), guild_config
            ),
            guild_config=GuildConfigService(database, guild_config),
            provider=provider,
            dispatcher=dispatcher,
            events=events,
            board=board,
        )
        self._bot = TesseraBot(
            settings=settings,
            services=self._services,
            extensions=self._extensions,
        )
        board.bind(self._bot)

    def _build_provider(self) -> ImageProvider:
        settings = self.settings
        if settings.provider.selected_kind == "midjourney-proxy":
            return MidjourneyProxyProvider(
                settings.provider,
                observe=self.metrics.observe_provider_call,
                fetcher=self._outbound(),
            )
        fetcher = self._outbound()

        async def fetch_image(url: str, max_bytes: int) -> bytes:
            found = await fetcher.fetch(url, max_bytes=max_bytes, accept=("image/",))
            return found.data

        return DiffusionProvider(
            settings.diffusion, fetch_image=fetch_image, log_level=settings.logging.level
        )

    def _outbound(self) -> OutboundFetcher:
        if self._fetcher is None:
            self._fetcher = OutboundFetcher(OutboundPolicy(self.settings.outbound.allowed_hosts))
        return self._fetcher

    async def start(self) -> None:
        """Start every service and run the role; returns when the bot stops.

        Raises ``LeaseLost`` when this process stopped dispatching because another took over.
        """
        await self.launch()
        tasks = {task for task in (self._runner, self._owner) if task is not None}
        if not tasks:
            return
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled():  # close() cancels the dispatch task: a normal end
                task.result()  # what ended it, if it failed

    async def launch(self) -> None:
        """Start every service and the bot in a task; returns at once (tests, ``start``)."""
        await self.open()
        services = self.services
        token = self._token()
        dispatching = self.role.dispatches and self._run_dispatcher
        if self.role.dispatches and self.settings.provider.webhook_host is not None:
            self._receiver = WebhookReceiver(self.settings.provider, services.dispatcher.notify)
            await self._receiver.start()
            # The hook URL's path is its password: keep it out of every log line.
            redact_also(self._receiver.url)
            if isinstance(services.provider, MidjourneyProxyProvider):
                services.provider.use_notify_hook(self._receiver.url)
        if self.settings.metrics.enabled:
            await self._start_observability()
        # Subscribe before the dispatcher starts so that no event is missed.
        self._subscription = services.events.subscribe()
        self._feed = asyncio.create_task(self._follow(self._subscription), name="status-feed")
        # Log in first: recovery and the first poll may post and edit at once, over REST.
        self._logged_in = True
        await self.bot.login(token)
        if self.role.dispatches and not self._run_dispatcher:
            # Tests drive the dispatcher by hand (settle); the provider still runs.
            self._start_provider()
        if dispatching and self._database is not None:
            self.duty = DispatchDuty(
                self._database,
                services.dispatcher,
                self.settings,
                role=self.role.value,
                start_provider=self._start_provider,
                started=self.dispatching,
                clock=self._clock,
            )
            self._owner = asyncio.create_task(self.duty.run(), name="dispatch")
        if self.role.connects_gateway:
            self._runner = asyncio.create_task(self._connect(), name="discord-bot")

    def _start_provider(self) -> None:
        services = self.services
        provider = services.provider
        if isinstance(provider, DiffusionProvider):
            # Every render's progress goes straight to the dispatcher; polls are the fallback.
            provider.use_notify(services.dispatcher.notify)
            provider.start()

    async def _connect(self) -> None:
        bot = self.bot
        # close() may have run before this task first did: connecting then would retry forever.
        if not bot.is_closed():
            await bot.connect()

    async def settle(self) -> None:
        """Run the dispatcher until idle and apply every status edit (tests, benchmarks)."""
        await self.services.dispatcher.drain()
        if self._subscription is not None:
            for event in self._subscription.pending():
                self._on_event(event)
        await self.board.flush()

    async def _follow(self, events: AsyncIterator[JobEvent]) -> None:
        async for event in events:
            self._on_event(event)

    def _on_event(self, event: JobEvent) -> None:
        self.board.show(event.job)
        if event.job.state.terminal:
            self.metrics.count_job_finished(event.job.state.value)

    async def sync_commands(self, guild_id: int | None = None) -> int:
        """Log in, publish the slash commands (globally or to one guild), and log out."""
        await self.open()
        token = self._token()
        try:
            self._logged_in = True
            await self.bot.login(token)
            return await self.bot.sync_commands(guild_id)
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop everything, the dispatcher first; safe to call twice.

        The dispatcher stops before the bot: a delivery cut off by a closed Discord session
        would count as failed and be refunded, while a cancelled one is simply delivered
        after the next start (the job stays ``running`` in the database).
        """
        if self._receiver is not None:
            # First: a push arriving during shutdown would start a delivery nobody waits for.
            await self._receiver.aclose()
            self._receiver = None
        if self._owner is not None and not self.dispatching.is_set():
            # Still taking the lease or starting: stop that first, so nothing starts after.
            await self._stop_owner()
        if self.duty is not None:
            await self.duty.stop_side_tasks()
        if self._services is not None:
            # Deliveries under way get their grace while the lease is still renewed.
            await self.services.dispatcher.stop()
        await self._stop_owner()
        if self.duty is not None:
            await self.duty.release()
            self.duty = None
        await self._stop_feed()
        if self._runner is not None and self._bot is not None and not self._bot.is_ready():
            # Still reaching the gateway: discord.py retries a shard whose session closed.
            self._runner.cancel()
        if self._bot is not None and self._logged_in:
            # discord.py's sharded client cannot close before it has logged in.
            await self._bot.close()
        self._logged_in = False
        if self._runner is not None:
            # What ended the bot (a refused token...) is start()'s to report, not close()'s.
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        if self._observability is not None:
            await self._observability.close()
            self._observability = None
        if self._services is not None:
            await self.services.provider.aclose()
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None
        if self._database is not None:
            await self._database.close()
            self._database = None
        self._services = None
        self._bot = None

    async def _stop_owner(self) -> None:
        if self._owner is not None:
            self._owner.cancel()
            await asyncio.gather(self._owner, return_exceptions=True)
            self._owner = None

    async def _stop_feed(self) -> None:
        if self._feed is not None:
            self._feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed
            self._feed = None
        board = self._services.board if self._services is not None else None
        if self._subscription is not None:
            if board is not None:
                for event in self._subscription.pending():
                    self._on_event(event)
            self._subscription.close()
            self._subscription = None
        if board is not None:
            # Last status edits, best effort: a rate-limited channel must not hold up shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SHUTDOWN_FLUSH_SECONDS):
                    await board.flush()
            await board.close()

    async def refresh_metrics(self) -> None:
        """Gauges read at scrape time from what the process already holds: no query."""
        self.metrics.set_dispatching(
            self.role.value, self.duty is not None and self.duty.lease.held()
        )
        if self._bot is not None:
            self.metrics.set_guild_count(len(self._bot.guilds))
        if self._services is not None:
            dispatcher = self._services.dispatcher
            waiting = dispatcher.waiting_by_speed()
            self.metrics.set_queue_depth({speed.value: count for speed, count in waiting.items()})
            self.metrics.set_jobs_by_state(
                {
                    JobState.QUEUED.value: dispatcher.waiting,
                    JobState.RUNNING.value: dispatcher.in_flight,
                }
            )

    def _token(self) -> str:
        token = self.settings.discord.token
        if token is None:
            raise ConfigError(["discord.token: missing (set TESSERA_DISCORD__TOKEN)"])
        return token.get_secret_value()

    async def _start_observability(self) -> None:
        database = self._database
        if database is None:
            return
        bot = self.bot
        self._observability = ObservabilityServer(
            host=self.settings.metrics.host,
            port=self.settings.metrics.port,
            metrics=self.metrics,
            # A worker has no gateway: the database alone says whether it is healthy.
            health_check=database_and_gateway_check(
                database,
                (lambda: bot.is_ready() and not bot.is_closed())
                if self.role.connects_gateway
                else (lambda: True),
            ),
            refresh=self.refresh_metrics,
        )
        await self._observability.start()
