import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.dispatching import DispatchDuty
from bot.settings import Settings
from tests.jobs.conftest import System, build


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[System]:
    built = await build(f"sqlite:///{tmp_path}/t.db")
    yield built
    await built.db.close()


def duty_for(settings: Settings, system: System) -> DispatchDuty:
    return DispatchDuty(
        system.db,
        system.dispatcher,
        settings,
        role="worker",
        start_provider=lambda: None,
        started=asyncio.Event(),
    )


def test_a_shared_proxy_is_one_endpoint_and_a_local_model_is_this_process(
    system: System,
) -> None:
    proxy = Settings(provider={"kind": "midjourney-proxy", "base_url": "http://mj:8080/mj"})
    assert duty_for(proxy, system).endpoint == "http://mj:8080/mj"
    local = Settings(provider={"kind": "diffusion"})
    first, second = duty_for(local, system), duty_for(local, system)
    assert first.endpoint == f"local:{first.holder}"
    assert first.holder.startswith("worker@")
    assert first.endpoint != second.endpoint  # each process renders on its own device
