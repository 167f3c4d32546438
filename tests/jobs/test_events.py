import asyncio

from bot.jobs import JobEvents
from bot.model import EventKind, Job, JobEvent, JobKind, JobState, SpeedMode


def event(kind: EventKind, job_id: int = 1) -> JobEvent:
    job = Job(
        id=job_id,
        guild_id=1,
        channel_id=2,
        user_id=3,
        kind=JobKind.IMAGINE,
        action=None,
        action_index=0,
        parent_id=None,
        prompt="a fox --seed 1",
        params_json="{}",
        seed=1,
        seed_explicit=False,
        speed=SpeedMode.FAST,
        cost=1000,
        state=JobState.RUNNING,
        provider_task_id=None,
        buttons_json="[]",
        progress=0,
        preview_url=None,
        status_message_id=None,
        result_message_id=None,
        result_urls_json="[]",
        failure_kind=None,
        failure_message=None,
        queue_position=None,
        created_at=0.0,
        started_at=None,
        finished_at=None,
        attempts=0,
    )
    return JobEvent(kind=kind, job=job)


async def test_every_subscriber_gets_every_event_in_order() -> None:
    hub = JobEvents()
    first, second = hub.subscribe(), hub.subscribe()
    sent = [event("queued"), event("started"), event("succeeded")]
    for item in sent:
        hub.publish(item)
    assert [await first.get() for _ in sent] == sent
    assert second.pending() == sent
    assert second.pending() == []


async def test_a_slow_subscriber_loses_progress_first_and_never_blocks_the_publisher() -> None:
    hub = JobEvents(capacity=3)
    slow = hub.subscribe()
    for item in [event("queued"), event("progress"), event("progress", 2), event("started")]:
        hub.publish(item)
    hub.publish(event("succeeded"))
    assert [item.kind for item in slow.pending()] == ["queued", "started", "succeeded"]
    assert slow.dropped == 2
    for _ in range(4):
        hub.publish(event("failed"))
    assert [item.kind for item in slow.pending()] == ["failed"] * 3


async def test_closing_ends_iteration_and_unsubscribes() -> None:
    hub = JobEvents()
    async with hub.subscribe() as subscription:
        assert hub.subscribers == 1
        hub.publish(event("queued"))
        received = []

        async def read() -> None:
            async for item in subscription:
                received.append(item.kind)

        reader = asyncio.create_task(read())
        await asyncio.sleep(0)
        subscription.close()
        await reader
    assert received == ["queued"]
    assert hub.subscribers == 0
    hub.publish(event("started"))
    assert subscription.pending() == []
