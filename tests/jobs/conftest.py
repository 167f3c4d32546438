"""A job system on a real SQLite file: service, dispatcher, fake provider, recording deliverer."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.jobs import Dispatcher, JobEvents, JobService
from bot.model import Action, Job, JobEvent, JobState, SpeedMode
from bot.prompt import parse_prompt
from bot.providers.base import TaskState
from bot.quota import Balance, CostModel, QuotaService
from bot.settings import ProviderSettings, SchedulerSettings, Settings
from bot.store.connect import open_database
from bot.store.database import Database
from bot.store.guild_config import GuildConfigRepository
from bot.store.user_settings import UserSettingsRepository
from tests.fakes.memory_provider import MemoryProvider

GUILD, CHANNEL, USER = 1, 100, 10


class Clock:
    """An injected clock that only moves when told."""

    def __init__(self, now: float = 1_699_923_600.0) -> None:
        # 01:00 UTC: the tests advance hours at most, so they stay in one quota period.
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeSleep:
    """An injected sleep: records the delay, moves the clock, never waits."""

    clock: Clock
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


@dataclass
class RecordingDeliverer:
    """Records deliveries; ``failures`` scripts the next attempts' errors."""

    delivered: list[tuple[Job, TaskState]] = field(default_factory=list)
    failures: deque[Exception] = field(default_factory=deque)
    attempts: int = 0
    before_return: Callable[[], Any] | None = None
    retracted: list[tuple[int, int]] = field(default_factory=list)
    """(job id, message id) of every posted result taken down again."""

    async def deliver(self, job: Job, task: TaskState) -> int | None:
        self.attempts += 1
        if self.failures:
            raise self.failures.popleft()
        self.delivered.append((job, task))
        if self.before_return is not None:
            await self.before_return()
        return 9000 + job.id

    async def retract(self, job: Job, message_id: int) -> None:
        self.retracted.append((job.id, message_id))


@dataclass
class System:
    """Everything a job test touches."""

    url: str
    """The database's URL (a SQLite file or a PostgreSQL schema)."""
    db: Database
    clock: Clock
    sleep: FakeSleep
    provider: MemoryProvider
    deliverer: RecordingDeliverer
    events: JobEvents
    quota: QuotaService
    costs: CostModel
    guilds: GuildConfigRepository
    users: UserSettingsRepository
    jobs: JobService
    dispatcher: Dispatcher
    seen: list[JobEvent]
    scheduler: SchedulerSettings
    provider_settings: ProviderSettings
    registry: list[System]

    async def imagine(
        self,
        *texts: str,
        user: int = USER,
        guild: int = GUILD,
        speed: SpeedMode = SpeedMode.FAST,
    ) -> list[Job]:
        return await self.jobs.submit(
            guild_id=guild,
            channel_id=CHANNEL,
            user_id=user,
            role_ids=[],
            prompts=[parse_prompt(text) for text in texts],
            speed=speed,
        )

    async def press(self, parent_id: int, action: Action, index: int = 0, user: int = USER) -> Job:
        return await self.jobs.submit_action(
            parent_id=parent_id,
            action=action,
            index=index,
            user_id=user,
            role_ids=[],
            channel_id=CHANNEL,
        )

    async def job(self, job_id: int) -> Job:
        return await self.jobs.get(job_id)

    async def balance(self, user: int = USER, guild: int = GUILD) -> Balance:
        return await self.quota.balance(guild_id=guild, user_id=user, role_ids=[])

    def kinds(self, job_id: int) -> list[str]:
        return [event.kind for event in self.seen if event.job.id == job_id]

    async def restart(self, **overrides: Any) -> System:
        """Close the database and open a new system on the same file and provider."""
        await self.dispatcher.stop()
        await self.db.close()
        return await build(
            self.url,
            clock=self.clock,
            provider=self.provider,
            deliverer=self.deliverer,
            scheduler=self.scheduler,
            provider_settings=self.provider_settings,
            registry=self.registry,
            **overrides,
        )


async def states(system: System, *job_ids: int) -> list[JobState]:
    return [(await system.job(job_id)).state for job_id in job_ids]


async def build(
    url: str,
    *,
    clock: Clock | None = None,
    provider: MemoryProvider | None = None,
    deliverer: RecordingDeliverer | None = None,
    scheduler: SchedulerSettings | None = None,
    provider_settings: ProviderSettings | None = None,
    seed: int = 1,
    registry: list[System] | None = None,
    **dispatcher_options: Any,
) -> System:
    clock = clock or Clock()
    settings = Settings()
    scheduler = scheduler or settings.scheduler
    provider_settings = provider_settings or settings.provider
    db = await open_database(url)
    seen: list[JobEvent] = []
    quota = QuotaService(db, settings.quota, clock=clock)
    costs = CostModel(settings.quota.costs)
    guilds = GuildConfigRepository(db, clock=clock)
    users = UserSettingsRepository(db, clock=clock)
    recorder_events = _RecordingEvents(seen)
    jobs = JobService(
        db,
        quota,
        costs,
        scheduler,
        events=recorder_events,
        clock=clock,
        rng=random.Random(seed),
        guild_config=guilds,
        user_settings=users,
    )
    provider = provider or MemoryProvider()
    deliverer = deliverer or RecordingDeliverer()
    sleep = FakeSleep(clock)
    dispatcher = Dispatcher(
        db,
        jobs,
        provider,
        quota,
        deliverer,
        scheduler,
        provider_settings,
        events=recorder_events,
        clock=clock,
        sleep=sleep,
        guild_config=guilds,
        **dispatcher_options,
    )
    system = System(
        url=url,
        db=db,
        clock=clock,
        sleep=sleep,
        provider=provider,
        deliverer=deliverer,
        events=recorder_events,
        quota=quota,
        costs=costs,
        guilds=guilds,
        users=users,
        jobs=jobs,
        dispatcher=dispatcher,
        seen=seen,
        scheduler=scheduler,
        provider_settings=provider_settings,
        registry=registry if registry is not None else [],
    )
    system.registry.append(system)
    return system


class _RecordingEvents(JobEvents):
    """The real hub, also keeping every event in a list for assertions."""

    def __init__(self, seen: list[JobEvent]) -> None:
        super().__init__()
        self._seen = seen

    def publish(self, event: JobEvent) -> None:
        self._seen.append(event)
        super().publish(event)


Make = Callable[..., Awaitable[System]]


@pytest.fixture
async def make(database_url: str) -> AsyncIterator[Make]:
    """Build systems on one database file; all of them are stopped and closed afterwards."""
    registry: list[System] = []

    async def factory(**options: Any) -> System:
        return await build(database_url, registry=registry, **options)

    yield factory
    for built in registry:
        await built.dispatcher.stop()
        await built.db.close()  # closing a closed database does nothing


@pytest.fixture
async def system(make: Make) -> System:
    return await make()
