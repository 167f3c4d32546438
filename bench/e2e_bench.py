"""End-to-end benchmark: 200 /imagine from 20 guilds through the real runtime.

The real Tessera runtime (dispatcher loop, webhook receiver, status board, deliverer, bot)
runs against the loopback fake Discord and the fake midjourney-proxy in timed mode, all in
this process. Measured in one run:

- ack_p99_ms: INTERACTION_CREATE sent by the fake to the bot's first callback (target <= 100);
- post_delay_p99_ms: the provider task turning SUCCESS to the result message existing in the
  fake Discord (target <= 250);
- overhead_ratio: median over jobs of (interaction to result posted) / (provider submit to
  SUCCESS) (target <= 1.02).

The fakes share the event loop (and the 2 cores) with the bot, so the figures are upper
bounds of what the bot itself adds. Prints a few lines, then one JSON line.

Run: python bench/e2e_bench.py [--jobs 200] [--step 1.0] [--arrival 0.06] [--no-webhook]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.runtime import Runtime
from bot.settings import Settings
from tests.fakes.discord import FakeDiscord, FakeMember, point_discord_at
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy, FakeTask


def _arg(name: str, default: float) -> float:
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


JOBS = int(_arg("--jobs", 200))
GUILDS = 20
STEP_SECONDS = _arg("--step", 1.0)
"""The fake provider moves every task one step per tick: about 4-5 s per grid at 1.0."""
ARRIVAL_SECONDS = _arg("--arrival", 0.06)
"""Below the slots' capacity (100 slots / ~4 s per grid = 25 jobs/s): no queue builds up."""
SLOTS = 100
WEBHOOK = "--no-webhook" not in sys.argv
"""With --no-webhook the bot learns of finished tasks by polling alone (poll_interval 0.25 s)."""


class TimedProxy(FakeMidjourneyProxy):
    """The fake provider, noting when each task was submitted and when it succeeded.

    Wall-clock times, like the fake Discord's message ``created_at``.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.submitted_at: dict[str, float] = {}
        self.succeeded_at: dict[str, float] = {}

    def _new_task(self, action: str, prompt: str, body: dict[str, Any], **extra: Any) -> FakeTask:
        task = super()._new_task(action, prompt, body, **extra)
        self.submitted_at[task.id] = time.time()
        return task

    async def _notify(self, task: FakeTask) -> None:
        # Called after every step a task takes, before the notifyHook POST goes out.
        if task.status == "SUCCESS":
            self.succeeded_at.setdefault(task.id, time.time())
        await super()._notify(task)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main() -> dict[str, Any]:
    async with (
        FakeDiscord(wait_bound=120.0) as discord_fake,
        TimedProxy(concurrency=SLOTS, queue_size=JOBS) as proxy,
    ):
        members: list[tuple[Any, Any, FakeMember]] = []
        for g in range(GUILDS):
            guild = discord_fake.add_guild(f"guild-{g}")
            channel = discord_fake.add_channel(guild)
            for u in range(JOBS // GUILDS):
                members.append((guild, channel, discord_fake.add_member(guild, f"user-{g}-{u}")))
        database = Path(tempfile.mkdtemp()) / "bench.db"
        settings = Settings(
            discord={
                "token": discord_fake.token,
                "api_base": discord_fake.api_base,
                "guild_ready_timeout": 0.05,
            },
            provider={
                "base_url": proxy.base_url,
                "max_concurrency": SLOTS,
                "poll_interval": 0.25,
                "webhook_host": "127.0.0.1" if WEBHOOK else None,
                "webhook_port": 0,
            },
            # The fake serves result images on loopback: allowed by name, as an operator would.
            outbound={"allowed_hosts": ["127.0.0.1"]},
            database={"url": f"sqlite:///{database}"},
            scheduler={"max_waiting_per_guild": JOBS, "confirm_above": 40},
        )
        runtime = Runtime(settings, extensions=("cogs.imagine",))
        point_discord_at(discord_fake)
        await runtime.launch()
        try:
            await discord_fake.wait_until_connected()
            await runtime.bot.wait_until_ready()
            proxy.start_clock(STEP_SECONDS)
            records = []
            for number, (guild, channel, member) in enumerate(members):
                records.append(
                    await discord_fake.invoke_slash(
                        guild, channel, member.user, "imagine", {"prompt": f"bench job {number}"}
                    )
                )
                await asyncio.sleep(ARRIVAL_SECONDS)

            def results() -> dict[int, Any]:
                found = {}
                for message in discord_fake.messages.values():
                    if message.attachments and message.content.startswith("**bench job "):
                        found[int(message.content.split()[2])] = message
                return found

            await discord_fake.wait_until(lambda: len(results()) == len(records))
        finally:
            await runtime.close()
            await proxy.stop_clock()

    # Interactions carry loop time; messages and provider marks carry wall-clock time.
    loop_to_wall = time.time() - asyncio.get_running_loop().time()
    posted = results()
    acks = [(await record.response()).latency * 1000 for record in records]
    tasks_by_job = {
        int(task.prompt.split()[2]): task.id
        for task in proxy.tasks.values()
        if task.prompt.startswith("bench job ")
    }
    post_delays, ratios, submit_delays = [], [], []
    for number, record in enumerate(records):
        task_id = tasks_by_job[number]
        done = proxy.succeeded_at[task_id]
        provider_time = done - proxy.submitted_at[task_id]
        post_delays.append((posted[number].created_at - done) * 1000)
        started = record.created_at + loop_to_wall
        submit_delays.append((proxy.submitted_at[task_id] - started) * 1000)
        ratios.append(
            (posted[number].created_at - record.created_at - loop_to_wall) / provider_time
        )
    return {
        "jobs": len(records),
        "guilds": GUILDS,
        "step_seconds": STEP_SECONDS,
        "webhook": WEBHOOK,
        "ack_p50_ms": round(percentile(acks, 0.5), 1),
        "ack_p99_ms": round(percentile(acks, 0.99), 1),
        "post_delay_p50_ms": round(percentile(post_delays, 0.5), 1),
        "post_delay_p99_ms": round(percentile(post_delays, 0.99), 1),
        "submit_delay_p50_ms": round(percentile(submit_delays, 0.5), 1),
        "submit_delay_p99_ms": round(percentile(submit_delays, 0.99), 1),
        "overhead_ratio": round(statistics.median(ratios), 4),
        "overhead_ratio_p99": round(percentile(ratios, 0.99), 4),
    }


if __name__ == "__main__":
    figures = asyncio.run(main())
    print(f"{figures['jobs']} jobs from {figures['guilds']} guilds, provider step {STEP_SECONDS} s")
    print(f"ack: p50 {figures['ack_p50_ms']} ms, p99 {figures['ack_p99_ms']} ms (target <= 100)")
    print(
        f"post delay: p50 {figures['post_delay_p50_ms']} ms, "
        f"p99 {figures['post_delay_p99_ms']} ms (target <= 250)"
    )
    print(f"overhead ratio: median {figures['overhead_ratio']} (target <= 1.02)")
    print(json.dumps(figures))
