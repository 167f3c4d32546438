"""The whole bot with the local diffusion provider against the loopback fake Discord.

A newcomer's path: no provider URL, so the local model renders (here the tiny random-weight
pipeline, selected by a model path as an operator would select theirs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.model import JobState
from bot.providers.diffusion.provider import DiffusionProvider
from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from tests.e2e.world import GRID_BUTTONS, job_id_of, running, tokens
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeGuild, FakeMember, FakeMessage

pytest.importorskip("torch", reason="the local provider's tests need torch (the local extra)")

SIZE = 64


class LocalWorld:
    """The runtime with the local provider, one guild, one channel, one member."""

    def __init__(
        self,
        discord: FakeDiscord,
        runtime: Runtime,
        guild: FakeGuild,
        channel: FakeChannel,
        member: FakeMember,
    ) -> None:
        self.discord, self.runtime = discord, runtime
        self.guild, self.channel, self.member = guild, channel, member

    @property
    def provider(self) -> DiffusionProvider:
        provider = self.runtime.services.provider
        assert isinstance(provider, DiffusionProvider)
        return provider

    async def imagine(self, prompt: str) -> FakeMessage:
        """Run ``/imagine``; the answer that ends the command (queued, or why not)."""
        record = await self.discord.invoke_slash(
            self.guild, self.channel, self.member.user, "imagine", {"prompt": prompt}
        )
        await record.response()
        return await self.answer_of(record)

    async def answer_of(self, record: Any) -> FakeMessage:
        def answered() -> FakeMessage | None:
            candidates = [record.original, *record.followups]
            return next((m for m in candidates if m is not None and not m.loading), None)

        found: FakeMessage = await self.discord.wait_until(answered)
        return found

    async def press(self, message: FakeMessage, token: str) -> None:
        [custom_id] = [c for c in message.custom_ids() if c.endswith(f":{token}")]
        record = await self.discord.invoke_component(message, custom_id, self.member.user)
        await record.response()
        await self.answer_of(record)

    async def run_jobs(self) -> None:
        """Dispatch, wait for the renderer to finish everything, deliver: no sleeping."""
        dispatcher = self.runtime.services.dispatcher
        while True:
            await self.runtime.settle()
            await self.provider.wait_idle()
            await self.runtime.settle()
            if dispatcher.waiting == 0 and dispatcher.in_flight == 0:
                return

    def results(self) -> list[FakeMessage]:
        return [
            m
            for m in self.discord.messages.values()
            # Result messages; a running job's status line carries a preview but also Cancel.
            if m.channel_id == self.channel.id
            and m.attachments
            and not any(c.endswith(":cancel") for c in m.custom_ids())
        ]


@pytest.fixture
async def local_world(
    tmp_path: Path, discord_fake: FakeDiscord, tiny_sd_dir: Path
) -> AsyncIterator[LocalWorld]:
    guild = discord_fake.add_guild("Guild")
    channel = discord_fake.add_channel(guild)
    member = discord_fake.add_member(guild, "alice")
    preset = {"model": str(tiny_sd_dir), "width": SIZE, "height": SIZE, "steps": 3}
    settings = Settings(
        discord={
            "token": discord_fake.token,
            "api_base": discord_fake.api_base,
            "progress_edit_interval": 0,
            "guild_ready_timeout": 0.05,
        },
        # No provider URL: the local model is the default.
        provider={"max_concurrency": 2, "poll_interval": 0.05},
        database={"url": f"sqlite:///{tmp_path / 'tessera.db'}"},
        diffusion={
            "model": str(tiny_sd_dir),
            "device": "cpu",
            "dtype": "float32",
            "presets": {"turbo": preset, "slow": {**preset, "steps": 200}},
            "versions": {"7": "turbo", "6.1": "slow"},
            "results_dir": str(tmp_path / "results"),
            "threads": 1,
        },
    )
    assert settings.provider.selected_kind == "diffusion"
    async with running(settings, discord_fake) as runtime:
        yield LocalWorld(discord_fake, runtime, guild, channel, member)


async def test_imagine_upscale_vary_reroll_and_cancel(local_world: LocalWorld) -> None:
    world = local_world
    await world.imagine("a lighthouse in a storm")
    await world.run_jobs()
    [grid] = world.results()
    assert tokens(grid.custom_ids()) == GRID_BUTTONS
    assert grid.attachments[0].filename.endswith(".png")
    grid_job = job_id_of(grid.custom_ids())

    await world.press(grid, "u1")
    await world.run_jobs()
    upscaled = [m for m in world.results() if m is not grid]
    assert len(upscaled) == 1
    single = tokens(upscaled[0].custom_ids())
    assert {"vary_subtle", "vary_strong", "zoom_out_2x", "pan_left", "upscale_creative"} <= set(
        single
    )

    await world.press(grid, "v1")
    await world.press(grid, "reroll")
    await world.run_jobs()
    assert len(world.results()) == 4
    services = world.runtime.services
    jobs = [await services.jobs.get(job_id_of(m.custom_ids())) for m in world.results()]
    assert all(job.state is JobState.SUCCEEDED for job in jobs)
    reroll = next(job for job in jobs if job.kind.value == "reroll")
    assert reroll.parent_id == grid_job
    # No seed was written, so the reroll draws a new one.
    assert reroll.seed != (await services.jobs.get(grid_job)).seed

    # A long render, cancelled once it shows progress: refunded, nothing posted.
    await world.imagine("a very long render --v 6.1 --seed 1")
    await world.runtime.settle()
    status = await world.discord.wait_for_message(
        world.channel,
        lambda m: any(c.endswith(":cancel") for c in m.custom_ids()) and "%" in m.content,
    )
    cancelled_job = job_id_of(status.custom_ids())
    await world.press(status, "cancel")
    await world.run_jobs()
    job = await services.jobs.get(cancelled_job)
    assert job.state is JobState.CANCELLED
    # It showed a preview while rendering, uploaded as bytes; the ended line has none.
    assert any("preview.png" in snapshot["attachments"] for snapshot in status.history)
    assert status.attachments == []
    assert len(world.results()) == 4
    kinds = [
        entry.kind
        for entry in await services.quota.ledger(guild_id=world.guild.id, limit=100)
        if entry.job_id == cancelled_job
    ]
    assert sorted(kinds) == ["refund", "reserve"]


async def test_a_version_without_a_model_is_refused_with_the_versions_offered(
    local_world: LocalWorld,
) -> None:
    world = local_world
    answer = await world.imagine("a cat --v 5")
    text = answer.content + " ".join(str(e) for e in answer.embeds)
    assert "no model for V5" in text
    assert "--v 7" in text
    assert world.results() == []


async def test_a_token_and_a_model_path_are_all_a_newcomer_sets(
    tmp_path: Path,
    discord_fake: FakeDiscord,
    tiny_sd_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The defaults as shipped (preset sizes and steps, device auto), from the environment."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "TESSERA_DISCORD__TOKEN": discord_fake.token,
        "TESSERA_DISCORD__API_BASE": discord_fake.api_base,  # the loopback fake, not Discord
        "TESSERA_DIFFUSION__MODEL": str(tiny_sd_dir),
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.provider.selected_kind == "diffusion"
    guild = discord_fake.add_guild("Guild")
    channel = discord_fake.add_channel(guild)
    member = discord_fake.add_member(guild, "newcomer")
    async with running(settings, discord_fake) as runtime:
        world = LocalWorld(discord_fake, runtime, guild, channel, member)
        answer = await world.imagine("my first image")
        assert "Queued 1 job" in answer.content
        await world.run_jobs()
        [result] = world.results()
        assert tokens(result.custom_ids()) == GRID_BUTTONS
    assert (tmp_path / "data" / "results").is_dir()
