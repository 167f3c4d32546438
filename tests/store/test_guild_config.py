import pytest
from pydantic import ValidationError

from bot.settings import SchedulerSettings
from bot.store import (
    ButtonPolicy,
    Database,
    GuildConfig,
    GuildConfigRepository,
    GuildLimits,
    RelaxPolicy,
)

GUILD = 7


@pytest.fixture
def repo(db: Database) -> GuildConfigRepository:
    return GuildConfigRepository(db, clock=lambda: 1_000.0)


async def test_an_unconfigured_guild_has_defaults(repo: GuildConfigRepository) -> None:
    config = await repo.get(GUILD)
    assert config == GuildConfig(guild_id=GUILD)
    assert (config.relax_policy, config.button_policy) == (RelaxPolicy.OFFER, ButtonPolicy.ANYONE)
    assert config.channel_allowed(123)


async def test_every_field_round_trips(repo: GuildConfigRepository) -> None:
    saved = await repo.update(
        GUILD,
        allowed_channel_ids={5, 3},
        banned_words=["Gore", "blood  bath"],
        relax_policy=RelaxPolicy.AUTO,
        button_policy="owner",
        max_running_per_user=1,
        max_waiting_per_user=4,
        max_running_per_guild=0,
        max_waiting_per_guild=50,
        default_version="6.1",
        default_params="--s 50",
    )
    assert await repo.get(GUILD) == saved
    assert saved.banned_words == ("gore", "blood bath")
    assert saved.button_policy is ButtonPolicy.OWNER
    assert await repo.get(GUILD + 1) == GuildConfig(guild_id=GUILD + 1)
    partly = await repo.update(GUILD, default_version=None)
    assert (partly.default_version, partly.relax_policy) == (None, RelaxPolicy.AUTO)


async def test_reads_work_inside_a_callers_transaction(
    db: Database, repo: GuildConfigRepository
) -> None:
    async with db.transaction() as tx:
        await repo.update_in(tx, GUILD, relax_policy=RelaxPolicy.DENY)
        assert (await repo.get_in(tx, GUILD)).relax_policy is RelaxPolicy.DENY


@pytest.mark.parametrize(
    "changes",
    [
        {"relax_policy": "sometimes"},
        {"button_policy": "nobody"},
        {"max_running_per_user": 0},
        {"max_waiting_per_guild": -1},
        {"colour": "blue"},
    ],
)
async def test_invalid_changes_are_refused_and_nothing_is_saved(
    repo: GuildConfigRepository, changes: dict[str, object]
) -> None:
    with pytest.raises(ValidationError):
        await repo.update(GUILD, **changes)
    assert await repo.get(GUILD) == GuildConfig(guild_id=GUILD)


async def test_channels_add_and_remove(repo: GuildConfigRepository) -> None:
    await repo.add_allowed_channel(GUILD, 10)
    config = await repo.add_allowed_channel(GUILD, 11)
    assert (config.channel_allowed(10), config.channel_allowed(12)) == (True, False)
    await repo.remove_allowed_channel(GUILD, 10)
    config = await repo.remove_allowed_channel(GUILD, 11)
    assert config.allowed_channel_ids == frozenset()
    assert config.channel_allowed(12)


async def test_banned_words_add_and_remove(repo: GuildConfigRepository) -> None:
    await repo.add_banned_words(GUILD, ["gore", "Blood Bath"])
    config = await repo.add_banned_words(GUILD, ["GORE", " nsfw "])
    assert config.banned_words == ("gore", "blood bath", "nsfw")
    config = await repo.remove_banned_words(GUILD, ["BLOOD   bath", "absent"])
    assert config.banned_words == ("gore", "nsfw")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a gory scene", None),
        ("GORE everywhere", "gore"),
        ("a cat, gore.", "gore"),
        ("a blood\n bath at dawn", "blood bath"),
        ("bloodbath", None),
        ("a cat --no gore", "gore"),
        ("c++ code", "c++"),
        ("abc++", None),
    ],
)
def test_banned_words_match_whole_words_case_insensitively(text: str, found: str | None) -> None:
    config = GuildConfig(guild_id=GUILD, banned_words=("gore", "blood bath", "c++"))
    assert config.banned_word_in(text) == found


def test_limits_use_guild_overrides_over_settings() -> None:
    settings = SchedulerSettings(max_running_per_user=3, max_waiting_per_guild=200)
    config = GuildConfig(guild_id=GUILD, max_running_per_user=1, max_running_per_guild=0)
    assert config.limits(settings) == GuildLimits(
        max_running_per_user=1,
        max_waiting_per_user=settings.max_waiting_per_user,
        max_running_per_guild=0,
        max_waiting_per_guild=200,
    )


@pytest.mark.parametrize(
    ("channel_id", "parent_id", "allowed"),
    [
        (10, None, True),
        (12, None, False),
        (500, 10, True),  # a thread (or forum post) under an allowed channel
        (500, 12, False),
        (10, 12, True),  # an allowed thread under a channel that is not
        (500, None, False),
    ],
)
def test_threads_follow_their_parent_channel(
    channel_id: int, parent_id: int | None, allowed: bool
) -> None:
    config = GuildConfig(guild_id=GUILD, allowed_channel_ids=frozenset({10, 11}))
    assert config.channel_allowed(channel_id, parent_id=parent_id) is allowed


async def test_running_limits_of_many_guilds_come_in_one_query(db: Database) -> None:
    repo = GuildConfigRepository(db)
    await repo.update(1, max_running_per_user=2)
    await repo.update(2, max_running_per_guild=5)
    await repo.update(3, banned_words=["x"])
    async with db.transaction() as tx:
        few = await repo.running_limits_in(tx, {1, 2, 3, 4})
        many = await repo.running_limits_in(tx, set(range(1, 2000)))
        none = await repo.running_limits_in(tx, set())
    assert few == {1: (2, None), 2: (None, 5)}
    assert many == few
    assert none == {}
