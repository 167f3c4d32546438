"""``run`` and ``sync`` with the real runtime against the fake Discord and fake provider."""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import httpx
import pytest
from pydantic import SecretStr

from bot.cli.serve import serve, sync
from bot.runtime import Runtime
from bot.settings import Settings
from tests.cli.conftest import TOKEN
from tests.fakes.discord import FakeDiscord, point_discord_at
from tests.fakes.midjourney_proxy import FakeMidjourneyProxy


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token=TOKEN, wait_bound=20.0) as fake:
        guild = fake.add_guild("Guild")
        fake.add_channel(guild)
        point_discord_at(fake)
        yield fake


@pytest.fixture
async def proxy() -> AsyncIterator[FakeMidjourneyProxy]:
    async with FakeMidjourneyProxy(concurrency=3) as fake:
        yield fake


def _settings(tmp_path: Path, fake: FakeDiscord, provider_url: str, **metrics: Any) -> Settings:
    return Settings(
        discord={"token": fake.token, "api_base": fake.api_base, "guild_ready_timeout": 0.05},
        provider={"base_url": provider_url, "connect_timeout": 2.0},
        database={"url": f"sqlite:///{tmp_path / 'data' / 'tessera.db'}"},
        metrics=metrics,
        outbound={"allowed_hosts": ["127.0.0.1"]},
    )


class Recorder:
    """A runtime factory that keeps the runtime it built, so the test can watch it."""

    def __init__(self) -> None:
        self.runtimes: list[Runtime] = []
        self.built = asyncio.Event()

    def __call__(self, settings: Settings) -> Runtime:
        runtime = Runtime(settings)
        self.runtimes.append(runtime)
        self.built.set()
        return runtime

    async def ready(self, fake: FakeDiscord) -> Runtime:
        async with asyncio.timeout(fake.wait_bound):
            await self.built.wait()
            await fake.wait_until_connected()
            [runtime] = self.runtimes
            await runtime.bot.wait_until_ready()
        return runtime


async def test_serve_runs_until_stopped_and_answers_healthz(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    port = _free_port()
    settings = _settings(
        tmp_path, discord_fake, proxy.base_url, enabled=True, host="127.0.0.1", port=port
    )
    stop, recorder = asyncio.Event(), Recorder()
    serving = asyncio.create_task(serve(settings, stop=stop, runtime_factory=recorder))
    runtime = await recorder.ready(discord_fake)
    async with httpx.AsyncClient() as http:
        health = await http.get(f"http://127.0.0.1:{port}/healthz")
        metrics = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert "tessera_queue_depth" in metrics.text

    stop.set()
    await serving
    with pytest.raises(RuntimeError):
        _ = runtime.services  # closed: everything it built was released
    assert (tmp_path / "data" / "tessera.db").exists()
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


async def test_an_unreachable_provider_is_a_warning_and_the_bot_still_starts(
    tmp_path: Path, discord_fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    provider_url = f"http://127.0.0.1:{_free_port()}/mj"
    settings = _settings(tmp_path, discord_fake, provider_url)
    stop, recorder = asyncio.Event(), Recorder()
    with caplog.at_level(logging.WARNING, logger="bot.cli.serve"):
        serving = asyncio.create_task(serve(settings, stop=stop, runtime_factory=recorder))
        await recorder.ready(discord_fake)
        stop.set()
        await serving
    [warning] = [r for r in caplog.records if r.name == "bot.cli.serve"]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith(f"provider.base_url: cannot reach {provider_url}")
    assert warning.getMessage().endswith("starting anyway: jobs wait and the provider is retried")


async def test_a_refused_token_ends_serve_with_login_failure(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy
) -> None:
    settings = _settings(tmp_path, discord_fake, proxy.base_url)
    settings = settings.model_copy(
        update={"discord": settings.discord.model_copy(update={"token": SecretStr("A.B.C")})}
    )
    with pytest.raises(discord.LoginFailure):
        await serve(settings, stop=asyncio.Event(), runtime_factory=Runtime)


@pytest.mark.parametrize("to_guild", [True, False])
async def test_sync_publishes_the_command_tree(
    tmp_path: Path, discord_fake: FakeDiscord, proxy: FakeMidjourneyProxy, to_guild: bool
) -> None:
    settings = _settings(tmp_path, discord_fake, proxy.base_url)
    guild_id = next(iter(discord_fake.guilds)) if to_guild else None
    count = await sync(settings, guild_id, runtime_factory=Runtime)
    published = discord_fake.commands[guild_id]
    assert count == len(published) > 0
    assert "imagine" in {command["name"] for command in published}
