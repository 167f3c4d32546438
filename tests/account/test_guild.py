"""The guild configuration service: removals say whether there was anything to remove,
and a new default version or default parameters are checked against each other."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.account import GuildConfigService
from bot.prompt import PromptError
from bot.store.connect import open_database
from bot.store.guild_config import GuildConfigRepository

GUILD = 10


@pytest.fixture
async def guilds(tmp_path: Path) -> AsyncIterator[GuildConfigService]:
    database = await open_database(f"sqlite:///{tmp_path}/guild.db")
    yield GuildConfigService(database, GuildConfigRepository(database))
    await database.close()


async def test_channels_come_and_go_and_a_missing_one_is_reported(
    guilds: GuildConfigService,
) -> None:
    assert (await guilds.add_allowed_channel(GUILD, 5)).allowed_channel_ids == {5}
    assert await guilds.remove_allowed_channel(GUILD, 6) is None
    removed = await guilds.remove_allowed_channel(GUILD, 5)
    assert removed is not None
    assert removed.allowed_channel_ids == frozenset()


async def test_banned_words_come_and_go_and_a_missing_one_is_reported(
    guilds: GuildConfigService,
) -> None:
    await guilds.add_banned_words(GUILD, ["gore", "blood"])
    assert await guilds.remove_banned_word(GUILD, "war") is None
    lifted = await guilds.remove_banned_word(GUILD, "gore")
    assert lifted is not None
    assert lifted.banned_words == ("blood",)


async def test_a_version_the_default_parameters_do_not_parse_on_is_refused(
    guilds: GuildConfigService,
) -> None:
    await guilds.set_default_params(GUILD, "--q 4")
    with pytest.raises(PromptError):
        await guilds.set_default_version(GUILD, "6.1")
    assert (await guilds.get(GUILD)).default_version is None
    assert await guilds.set_default_version(GUILD, "7") == "7"


async def test_default_parameters_are_checked_on_the_servers_version(
    guilds: GuildConfigService,
) -> None:
    await guilds.set_default_version(GUILD, "6.1")
    with pytest.raises(PromptError):
        await guilds.set_default_params(GUILD, "--q 4")
    assert (await guilds.set_default_params(GUILD, " --s 50 ")).default_params == "--s 50"
    assert (await guilds.set_default_params(GUILD, "")).default_params == ""
