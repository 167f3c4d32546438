"""Provider benchmark: batched, adaptive polling against naive per-task polling.

200 concurrent jobs of 30 s against the loopback fake midjourney-proxy, with time scaled
down (by default 2x: 15 s jobs, a 2 s poll interval becomes 1 s). Both strategies run in the same
process against fresh fake servers. Prints a few lines of figures and, last, one JSON line.

Run: python bench/provider_bench.py [--scale 0.1]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.providers.base import ImagineRequest, TaskStatus
from bot.providers.midjourney import MidjourneyProxyProvider
from bot.providers.midjourney.transport import POOL_SIZE
from bot.settings import ProviderSettings
from tests.fakes.midjourney_proxy import PROGRESS_STEPS, FakeMidjourneyProxy

JOBS = 200
# 0.1 saturates one core with the naive strategy's 1,000 requests/s, which then polls less
# than it means to; 0.5 keeps both strategies unthrottled (pass --scale to change it).
SCALE = float(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 0.5
JOB_SECONDS = 30 * SCALE
POLL_SECONDS = 2 * SCALE
STEP_SECONDS = JOB_SECONDS / (len(PROGRESS_STEPS) + 1)


def fresh_fake() -> FakeMidjourneyProxy:
    return FakeMidjourneyProxy(concurrency=JOBS, queue_size=JOBS)


def settings_for(fake: FakeMidjourneyProxy) -> ProviderSettings:
    return ProviderSettings(base_url=fake.base_url, poll_interval=POLL_SECONDS)


async def submit_all(provider: MidjourneyProxyProvider) -> list[str]:
    submissions = await asyncio.gather(
        *(
            provider.submit_imagine(ImagineRequest(job_id=n, prompt=f"job {n} --seed {n}"))
            for n in range(1, JOBS + 1)
        )
    )
    return [s.task_id for s in submissions]


async def tessera_run() -> dict[str, float]:
    """The dispatcher's pattern: one fetch_many for all tasks, paced by the provider."""
    async with fresh_fake() as fake:
        provider = MidjourneyProxyProvider(settings_for(fake))
        started = time.perf_counter()
        fake.start_clock(STEP_SECONDS)
        pending = set(await submit_all(provider))
        polls = 0
        while pending:
            await asyncio.sleep(provider.suggested_poll_interval)
            states = await provider.fetch_many(sorted(pending))
            polls += 1
            pending -= {tid for tid, s in states.items() if s.terminal}
        elapsed = time.perf_counter() - started
        await provider.aclose()
        return {
            "requests": len(fake.requests),
            "polls": polls,
            "connections": len(fake.connections),
            "elapsed": elapsed,
        }


async def naive_run() -> dict[str, float]:
    """Each job polls its own task with GET task/{id}/fetch every (scaled) 2 s."""
    async with fresh_fake() as fake:
        provider = MidjourneyProxyProvider(settings_for(fake))
        started = time.perf_counter()
        fake.start_clock(STEP_SECONDS)
        task_ids = await submit_all(provider)
        client = provider._http.client

        async def follow(task_id: str) -> None:
            while True:
                await asyncio.sleep(POLL_SECONDS)
                response = await client.get(f"{fake.base_url}/task/{task_id}/fetch")
                if TaskStatus(response.json()["status"]).terminal:
                    return

        await asyncio.gather(*(follow(t) for t in task_ids))
        elapsed = time.perf_counter() - started
        await provider.aclose()
        return {
            "requests": len(fake.requests),
            "connections": len(fake.connections),
            "elapsed": elapsed,
        }


async def main() -> None:
    tessera = await tessera_run()
    naive = await naive_run()
    tessera_rpj = tessera["requests"] / JOBS
    naive_rpj = naive["requests"] / JOBS
    print(f"jobs={JOBS} job_s={JOB_SECONDS} poll_s={POLL_SECONDS} pool={POOL_SIZE}")
    print(
        f"tessera: {tessera['requests']} requests ({tessera['polls']} batched polls), "
        f"{tessera['connections']} connections, {tessera['elapsed']:.2f}s"
    )
    print(
        f"naive:   {naive['requests']} requests, {naive['connections']} connections, "
        f"{naive['elapsed']:.2f}s"
    )
    print(
        json.dumps(
            {
                "requests_per_job": round(tessera_rpj, 3),
                "naive_requests_per_job": round(naive_rpj, 3),
                "request_ratio_naive_over_tessera": round(naive_rpj / tessera_rpj, 2),
                "connections_opened": tessera["connections"],
                "pool_size": POOL_SIZE,
                "tessera_elapsed_s": round(tessera["elapsed"], 3),
                "naive_elapsed_s": round(naive["elapsed"], 3),
                "jobs": JOBS,
                "time_scale": SCALE,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
