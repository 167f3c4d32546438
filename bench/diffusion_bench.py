"""Local provider benchmark: the provider against a plain diffusers loop, in one run.

Both sides render in float32 with the same torch thread count (``--threads``, default 1).

Builds the tiny random-weight pipeline the tests use (or loads ``--model`` when a real one
and a GPU are at hand), then measures:

- overhead_ratio: 8 grids through the whole bot (fake Discord, real runtime, worker
  process; from the first /imagine to the last result posted) over the same 8 grids rendered
  by a plain diffusers loop in this process (target <= 1.05). Each side runs twice,
  alternating, and keeps its better run (the machine is shared); no interaction probes run
  meanwhile, as none run beside the plain loop;
- batched_speedup: the 8 grids as 8 batches of four images over 32 one-image calls (plain
  diffusers; reported);
- ack_p99_ms_while_rendering: the bot's first answer to interactions sent every 50 ms while
  another 8 grids render (target <= 100);
- first_preview_s: from a /imagine to its status message carrying its first preview;
- cross_job_batched_speedup (with ``--batch-jobs N`` > 1): the bot's time for the 8 grids
  with ``diffusion.batch_jobs = 1`` over its time with N (a GPU feature: ~1 on a CPU).

The worker is started and the model loaded before anything is timed. Prints a few lines,
then one JSON line.

Run: python bench/diffusion_bench.py [--size 128] [--steps 8] [--model DIR] [--batch-jobs 4]
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.providers.base import TaskState
from bot.providers.diffusion.provider import DiffusionProvider
from bot.runtime import Runtime
from bot.settings import Settings
from tests.fakes.discord import FakeDiscord, point_discord_at
from tests.fakes.tiny_diffusion import build_tiny_sd

GRIDS = 8


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


SIZE = int(_arg("--size", "128"))
STEPS = int(_arg("--steps", "8"))
THREADS = int(_arg("--threads", "1"))
"""Torch threads on both sides: on a shared 2-core machine more threads mostly spin."""
BATCH_JOBS = int(_arg("--batch-jobs", "1"))
"""Above 1: the bot runs again with this ``diffusion.batch_jobs`` and the two are compared."""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def plain_loop(model: str) -> tuple[float, float]:
    """Seconds for the 8 grids batched, and for the same 32 images one call each."""
    import torch
    from diffusers import DiffusionPipeline

    torch.set_num_threads(THREADS)
    pipe = DiffusionPipeline.from_pretrained(model, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)

    def render(prompt: str, seeds: list[int]) -> None:
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        images = pipe(
            prompt=[prompt] * len(seeds),
            generator=generators,
            num_inference_steps=STEPS,
            guidance_scale=0.0,
            height=SIZE,
            width=SIZE,
        ).images
        for image in images:
            # The provider encodes the same pixels too, as one grid: the same work both sides.
            image.save(io.BytesIO(), format="PNG")

    render("warm up", [0])
    started = time.perf_counter()
    for grid in range(GRIDS):
        render(f"bench grid {grid}", [grid + i for i in range(4)])
    batched = time.perf_counter() - started
    started = time.perf_counter()
    for grid in range(GRIDS):
        for i in range(4):
            render(f"bench grid {grid}", [grid + i])
    single = time.perf_counter() - started
    return batched, single


async def through_the_bot(model: str, results: Path, batch_jobs: int = 1) -> dict[str, float]:
    """The 8 grids as /imagine in the real runtime; then 8 more with interactions meanwhile."""
    async with FakeDiscord(wait_bound=600.0) as discord_fake:
        guild = discord_fake.add_guild("bench")
        channel = discord_fake.add_channel(guild)
        member = discord_fake.add_member(guild, "bencher")
        preset = {"model": model, "width": SIZE, "height": SIZE, "steps": STEPS}
        settings = Settings(
            discord={
                "token": discord_fake.token,
                "api_base": discord_fake.api_base,
                "guild_ready_timeout": 0.05,
                "progress_edit_interval": 0.5,
            },
            provider={"max_concurrency": GRIDS, "poll_interval": 0.25},
            database={"url": f"sqlite:///{results / 'bench.db'}"},
            scheduler={"max_running_per_user": GRIDS, "max_waiting_per_user": GRIDS * 2},
            diffusion={
                "device": "cpu",
                "dtype": "float32",
                "presets": {"turbo": preset},
                "versions": {"7": "turbo"},
                "results_dir": str(results / "results"),
                "threads": THREADS,
                "batch_jobs": batch_jobs,
            },
        )
        runtime = Runtime(settings, extensions=("cogs.imagine",))
        point_discord_at(discord_fake)
        await runtime.launch()
        try:
            await discord_fake.wait_until_connected()
            await runtime.bot.wait_until_ready()
            provider = runtime.services.provider
            assert isinstance(provider, DiffusionProvider)
            previews: list[float] = []
            notify = runtime.services.dispatcher.notify

            async def noting_previews(state: TaskState) -> None:
                if state.preview_url is not None:
                    previews.append(time.time())
                await notify(state)

            provider.use_notify(noting_previews)

            def posted(prefix: str) -> list[Any]:
                return [
                    m
                    for m in discord_fake.messages.values()
                    if m.attachments
                    and m.content.startswith(f"**{prefix}")
                    and not any(c.endswith(":cancel") for c in m.custom_ids())
                ]

            # Worker start and model load are not what is measured.
            await discord_fake.invoke_slash(
                guild, channel, member.user, "imagine", {"prompt": "warm up --seed 0"}
            )
            await discord_fake.wait_until(lambda: len(posted("warm up")) == 1)

            async def grids(name: str) -> None:
                for grid in range(GRIDS):
                    await discord_fake.invoke_slash(
                        guild,
                        channel,
                        member.user,
                        "imagine",
                        {"prompt": f"{name} {grid} --seed {grid}"},
                    )

            started = time.time()
            await grids("bench grid")
            await discord_fake.wait_until(lambda: len(posted("bench grid")) == GRIDS)
            elapsed = time.time() - started
            # Grid 0 renders first (the warm-up is done): the first preview after the start.
            first_preview = min((t for t in previews if t >= started), default=-1.0) - started

            await grids("probed grid")
            acks = []
            while len(posted("probed grid")) < GRIDS:
                # A refused prompt: the bot answers (defers) at once, whatever the device does.
                probe = await discord_fake.invoke_slash(
                    guild, channel, member.user, "imagine", {"prompt": "probe --v 5"}
                )
                acks.append((await probe.response()).latency * 1000)
                await asyncio.sleep(0.05)
        finally:
            await runtime.close()
    return {
        "elapsed_s": elapsed,
        "ack_p50_ms": percentile(acks, 0.5),
        "ack_p99_ms": percentile(acks, 0.99),
        "first_preview_s": first_preview,
        "probes": float(len(acks)),
    }


def main() -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp())
    model = _arg("--model", "") or str(build_tiny_sd(workdir / "tiny"))
    # Plain, bot, plain, bot: the machine is shared, so each side keeps its better run.
    batched, single = plain_loop(model)
    bot = asyncio.run(through_the_bot(model, workdir / "first"))
    batched_again, single_again = plain_loop(model)
    bot_again = asyncio.run(through_the_bot(model, workdir / "second"))
    batched, single = min(batched, batched_again), min(single, single_again)
    bot_s = min(bot["elapsed_s"], bot_again["elapsed_s"])
    acks_p99 = max(bot["ack_p99_ms"], bot_again["ack_p99_ms"])
    extra: dict[str, Any] = {}
    if BATCH_JOBS > 1:
        (workdir / "batching").mkdir()
        together = asyncio.run(through_the_bot(model, workdir / "batching", BATCH_JOBS))
        extra = {
            "batch_jobs": BATCH_JOBS,
            "provider_batched_s": round(together["elapsed_s"], 3),
            "cross_job_batched_speedup": round(bot_s / together["elapsed_s"], 3),
        }
    return {
        "grids": GRIDS,
        "size": SIZE,
        "steps": STEPS,
        "plain_s": round(batched, 3),
        "provider_s": round(bot_s, 3),
        "overhead_ratio": round(bot_s / batched, 4),
        "batched_speedup": round(single / batched, 3),
        "ack_p50_ms_while_rendering": round(bot["ack_p50_ms"], 1),
        "ack_p99_ms_while_rendering": round(acks_p99, 1),
        "first_preview_s": round(bot["first_preview_s"], 3),
        "ack_probes": int(bot["probes"]),
        **extra,
    }


if __name__ == "__main__":
    figures = main()
    print(f"{GRIDS} grids of 4 at {SIZE}x{SIZE}, {STEPS} steps")
    print(f"plain diffusers {figures['plain_s']} s, through the bot {figures['provider_s']} s")
    print(f"overhead ratio {figures['overhead_ratio']} (target <= 1.05)")
    print(f"ack p99 while rendering {figures['ack_p99_ms_while_rendering']} ms (target <= 100)")
    if "cross_job_batched_speedup" in figures:
        print(
            f"batch_jobs={figures['batch_jobs']}: {figures['provider_batched_s']} s, "
            f"cross-job batched speedup {figures['cross_job_batched_speedup']}"
        )
    print(json.dumps(figures))
