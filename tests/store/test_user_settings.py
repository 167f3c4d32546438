import pytest

from bot.errors import UserFacingError
from bot.model import SpeedMode
from bot.store import Database, UserSettings, UserSettingsRepository
from bot.store.user_settings import MAX_OPTIONS, option_name

USER = 42


@pytest.fixture
def repo(db: Database) -> UserSettingsRepository:
    return UserSettingsRepository(db, clock=lambda: 1_000.0)


async def test_a_new_user_has_defaults(repo: UserSettingsRepository) -> None:
    assert await repo.get(USER) == UserSettings(user_id=USER)
    assert (await repo.get(USER)).speed is SpeedMode.FAST


async def test_settings_round_trip_and_leave_other_fields_alone(
    repo: UserSettingsRepository,
) -> None:
    await repo.set_speed(USER, SpeedMode.RELAX)
    await repo.set_default_params(USER, "  --v 6 --s 250 ")
    saved = await repo.set_suffix(USER, "--ar 16:9")
    assert saved == UserSettings(
        user_id=USER, speed=SpeedMode.RELAX, default_params="--v 6 --s 250", suffix="--ar 16:9"
    )
    assert await repo.get(USER) == saved
    assert (await repo.get(USER + 1)).speed is SpeedMode.FAST
    cleared = await repo.set_suffix(USER, "")
    assert (cleared.suffix, cleared.default_params) == ("", "--v 6 --s 250")


async def test_speed_reads_inside_a_callers_transaction(
    db: Database, repo: UserSettingsRepository
) -> None:
    await repo.set_speed(USER, SpeedMode.TURBO)
    async with db.transaction() as tx:
        assert await repo.speed_in(tx, USER) is SpeedMode.TURBO
        assert await repo.speed_in(tx, USER + 1) is SpeedMode.FAST
        assert (await repo.get_in(tx, USER)).speed is SpeedMode.TURBO


async def test_options_set_list_replace_and_delete(repo: UserSettingsRepository) -> None:
    await repo.set_option(USER, "--Gibberish", "--chaos 80 --weird 300")
    await repo.set_option(USER, "portrait", "--ar 2:3")
    await repo.set_option(USER, "portrait", "--ar 3:4")
    assert await repo.options(USER) == {
        "gibberish": "--chaos 80 --weird 300",
        "portrait": "--ar 3:4",
    }
    assert (await repo.get(USER)).options == await repo.options(USER)
    assert await repo.delete_option(USER, "PORTRAIT") is True
    assert await repo.delete_option(USER, "portrait") is False
    assert await repo.options(USER) == {"gibberish": "--chaos 80 --weird 300"}
    assert await repo.options(USER + 1) == {}


async def test_options_are_capped(repo: UserSettingsRepository) -> None:
    for index in range(MAX_OPTIONS):
        await repo.set_option(USER, f"o{index}", "--q 2")
    await repo.set_option(USER, "o0", "--q 1")
    with pytest.raises(UserFacingError, match=f"at most {MAX_OPTIONS}"):
        await repo.set_option(USER, "one_more", "--q 2")


@pytest.mark.parametrize(
    ("raw", "stored"), [("x", "x"), ("--Chaos-Max", "chaos-max"), (" -- wide ", "wide")]
)
def test_option_names_are_normalised(raw: str, stored: str) -> None:
    assert option_name(raw) == stored


@pytest.mark.parametrize("raw", ["", "--", "two words", "   "])
def test_option_names_must_be_one_word(raw: str) -> None:
    with pytest.raises(UserFacingError, match="one word"):
        option_name(raw)
