"""The account service: each change is checked and saved in the transaction that read it."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.account import AccountService
from bot.errors import NotAllowed, UserFacingError
from bot.model import SpeedMode
from bot.prompt import PromptError
from bot.store.connect import open_database
from bot.store.database import Database
from bot.store.guild_config import GuildConfigRepository, RelaxPolicy
from bot.store.user_settings import MAX_OPTIONS, UserSettingsRepository

GUILD, MEMBER = 10, 20


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(f"sqlite:///{tmp_path}/account.db")
    yield database
    await database.close()


@pytest.fixture
def guilds(db: Database) -> GuildConfigRepository:
    return GuildConfigRepository(db)


@pytest.fixture
def account(db: Database, guilds: GuildConfigRepository) -> AccountService:
    return AccountService(db, UserSettingsRepository(db), guilds)


async def test_a_refused_default_leaves_the_speed_unsaved_too(account: AccountService) -> None:
    with pytest.raises(UserFacingError):
        await account.save_settings(
            guild_id=GUILD, user_id=MEMBER, speed=SpeedMode.TURBO, default_params="--seed 3"
        )
    assert (await account.settings(MEMBER)).speed is SpeedMode.FAST


async def test_settings_save_speed_and_defaults_together(account: AccountService) -> None:
    saved = await account.save_settings(
        guild_id=GUILD, user_id=MEMBER, speed=SpeedMode.TURBO, default_params="--s 250"
    )
    assert (saved.speed, saved.default_params) == (SpeedMode.TURBO, "--s 250")
    assert await account.settings(MEMBER) == saved


async def test_relax_is_refused_where_the_server_denies_it(
    account: AccountService, guilds: GuildConfigRepository
) -> None:
    await guilds.update(GUILD, relax_policy=RelaxPolicy.DENY)
    with pytest.raises(NotAllowed):
        await account.set_speed(guild_id=GUILD, user_id=MEMBER, speed=SpeedMode.RELAX)
    assert (await account.settings(MEMBER)).speed is SpeedMode.FAST


async def test_turbo_under_an_old_default_version_is_saved_and_flagged(
    account: AccountService, guilds: GuildConfigRepository
) -> None:
    assert not (
        await account.set_speed(guild_id=GUILD, user_id=MEMBER, speed=SpeedMode.TURBO)
    ).turbo_blocked
    await guilds.update(GUILD, default_version="4")
    changed = await account.set_speed(guild_id=GUILD, user_id=MEMBER, speed=SpeedMode.TURBO)
    assert changed.turbo_blocked
    assert changed.settings.speed is SpeedMode.TURBO


async def test_a_suffix_is_checked_over_the_servers_defaults(
    account: AccountService, guilds: GuildConfigRepository
) -> None:
    await guilds.update(GUILD, default_version="6.1")
    with pytest.raises(PromptError):
        await account.set_suffix(guild_id=GUILD, user_id=MEMBER, text="--q 4")
    assert (await account.settings(MEMBER)).suffix == ""
    saved = await account.set_suffix(guild_id=GUILD, user_id=MEMBER, text=" --ar 3:2 ")
    assert saved.suffix == "--ar 3:2"


async def test_options_are_checked_counted_and_deleted(account: AccountService) -> None:
    assert await account.set_option(user_id=MEMBER, name="--Mine", value="--ar 2:3") == "mine"
    for n in range(MAX_OPTIONS - 1):
        await account.set_option(user_id=MEMBER, name=f"o{n}", value="--s 5")
    with pytest.raises(UserFacingError, match="at most"):
        await account.set_option(user_id=MEMBER, name="onemore", value="--s 5")
    assert await account.set_option(user_id=MEMBER, name="mine", value="--ar 3:2") == "mine"
    assert await account.delete_option(user_id=MEMBER, name="mine")
    assert "mine" not in await account.options(MEMBER)


async def test_prompt_defaults_read_the_guild_and_the_member(
    account: AccountService, guilds: GuildConfigRepository
) -> None:
    await guilds.update(GUILD, default_params="--s 50")
    await account.set_suffix(guild_id=GUILD, user_id=MEMBER, text="in ink")
    defaults = await account.prompt_defaults(guild_id=GUILD, user_id=MEMBER)
    assert (defaults.guild.default_params, defaults.user.suffix) == ("--s 50", "in ink")
