import asyncio
import re
import threading

import pytest

from bot.errors import AlreadyMade, JobNotFound, LimitReached, NotAllowed, QuotaExceeded
from bot.model import Action, JobKind, JobState, SpeedMode
from bot.prompt import parse_prompt
from bot.store.database import Transaction
from bot.store.guild_config import GuildConfig
from tests.jobs.conftest import CHANNEL, GUILD, USER, System


def seed_in(text: str) -> int:
    match = re.search(r"--seed (\d+)", text)
    assert match is not None
    return int(match[1])


async def count_jobs(system: System) -> int:
    async with system.db.transaction() as tx:
        return int(await tx.fetch_value("SELECT COUNT(*) FROM jobs"))


async def test_submit_queues_jobs_with_a_seed_written_into_the_canonical_prompt(
    system: System,
) -> None:
    drawn, kept = await system.imagine("a red fox", "a blue fox --seed 77")
    assert (drawn.state, drawn.kind, drawn.speed, drawn.cost) == (
        JobState.QUEUED,
        JobKind.IMAGINE,
        SpeedMode.FAST,
        1000,
    )
    assert 0 <= drawn.seed <= 4_294_967_295
    assert seed_in(drawn.prompt) == drawn.seed
    assert not drawn.seed_explicit
    assert (kept.seed, kept.seed_explicit, seed_in(kept.prompt)) == (77, True, 77)
    assert drawn.params["seed"] == drawn.seed
    assert [event.kind for event in system.seen] == ["queued", "queued"]
    balance = await system.balance()
    assert (balance.member_reserved, balance.member_used) == (2000, 0)


@pytest.mark.parametrize(
    ("text", "speed", "expected_speed", "expected_cost"),
    [
        ("a fox", SpeedMode.FAST, SpeedMode.FAST, 1000),
        ("a fox --turbo", SpeedMode.FAST, SpeedMode.TURBO, 2000),
        ("a fox --relax", SpeedMode.TURBO, SpeedMode.RELAX, 0),
        ("a fox", SpeedMode.RELAX, SpeedMode.RELAX, 0),
        ("a fox --q 2", SpeedMode.FAST, SpeedMode.FAST, 2000),
        ("a fox --draft", SpeedMode.FAST, SpeedMode.FAST, 500),
    ],
)
async def test_the_prompts_own_speed_flag_wins_and_sets_the_cost(
    system: System, text: str, speed: SpeedMode, expected_speed: SpeedMode, expected_cost: int
) -> None:
    (job,) = await system.imagine(text, speed=speed)
    assert (job.speed, job.cost) == (expected_speed, expected_cost)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("a Gory scene", "gory"),
        ("a quiet scene --no gory", "gory"),
        ("a quiet scene --no blood bath", "blood bath"),
    ],
)
async def test_banned_words_are_refused_by_name_and_nothing_is_stored(
    system: System, text: str, word: str
) -> None:
    await system.guilds.update(GUILD, banned_words=["gory", "blood bath"])
    with pytest.raises(NotAllowed, match=f'"{word}"'):
        await system.imagine("a fine day", text)
    assert await count_jobs(system) == 0
    assert (await system.balance()).member_reserved == 0


async def test_banned_words_match_whole_words_only(system: System) -> None:
    await system.guilds.update(GUILD, banned_words=["gor"])
    assert len(await system.imagine("a gorgeous gorilla")) == 1


async def test_channels_outside_the_allowed_list_are_refused(system: System) -> None:
    await system.guilds.update(GUILD, allowed_channel_ids=[CHANNEL + 1])
    with pytest.raises(NotAllowed, match="channel"):
        await system.imagine("a fox")


async def test_waiting_limits_per_user_and_per_guild_come_from_the_guild_config(
    system: System,
) -> None:
    await system.guilds.update(GUILD, max_waiting_per_user=2, max_waiting_per_guild=3)
    await system.imagine("one", "two")
    with pytest.raises(LimitReached, match="at most 2"):
        await system.imagine("three")
    await system.imagine("other", user=USER + 1)
    with pytest.raises(LimitReached, match="queue is full"):
        await system.imagine("more", user=USER + 2)
    assert await count_jobs(system) == 3


async def test_one_refused_prompt_refuses_the_whole_batch(system: System) -> None:
    await system.guilds.update(GUILD, max_waiting_per_user=2)
    with pytest.raises(LimitReached):
        await system.imagine("a", "b", "c")
    assert await count_jobs(system) == 0


@pytest.mark.parametrize(
    ("policy", "outcome"),
    [("deny", "refused"), ("offer", "offers relax"), ("auto", "relax")],
)
async def test_when_fast_credits_run_out_the_relax_policy_decides(
    system: System, policy: str, outcome: str
) -> None:
    await system.guilds.update(GUILD, relax_policy=policy)
    await system.quota.set_member_budget(
        guild_id=GUILD, user_id=USER, amount=1000, actor_id=1, reason="test"
    )
    await system.imagine("first")
    if outcome == "relax":
        (job,) = await system.imagine("second --fast")
        assert (job.speed, job.cost) == (SpeedMode.RELAX, 0)
        assert "--relax" in job.prompt
        assert "--fast" not in job.prompt
        return
    with pytest.raises(QuotaExceeded) as caught:
        await system.imagine("second")
    assert ("/relax" in caught.value.message) == (outcome == "offers relax")
    assert await count_jobs(system) == 1


async def reservations(system: System) -> list[tuple[int, int]]:
    async with system.db.transaction() as tx:
        rows = await tx.fetch_all("SELECT job_id, amount FROM quota_reservations ORDER BY job_id")
    return [(int(row[0]), int(row[1])) for row in rows]


async def test_a_batch_that_fits_holds_each_jobs_own_cost_in_id_order(system: System) -> None:
    jobs = await system.imagine("one", "two --turbo", "three --relax", "four --q 2")
    assert [job.id for job in jobs] == sorted(job.id for job in jobs)
    assert [job.prompt.split(" --")[0] for job in jobs] == ["one", "two", "three", "four"]
    assert await reservations(system) == [
        (jobs[0].id, 1000),
        (jobs[1].id, 2000),
        (jobs[2].id, 0),
        (jobs[3].id, 2000),
    ]
    assert (await system.balance()).member_reserved == 5000


@pytest.mark.parametrize(
    ("policy", "speeds"),
    [
        ("auto", [SpeedMode.FAST, SpeedMode.FAST, SpeedMode.RELAX]),
        ("deny", None),
        ("offer", None),
    ],
)
async def test_a_batch_too_big_for_the_credits_falls_back_job_by_job(
    system: System, policy: str, speeds: list[SpeedMode] | None
) -> None:
    await system.guilds.update(GUILD, relax_policy=policy)
    await system.quota.set_member_budget(
        guild_id=GUILD, user_id=USER, amount=2000, actor_id=1, reason="test"
    )
    if speeds is None:
        with pytest.raises(QuotaExceeded):
            await system.imagine("a", "b", "c")
        assert await count_jobs(system) == 0
        assert await reservations(system) == []
        return
    jobs = await system.imagine("a", "b", "c")
    assert [job.speed for job in jobs] == speeds
    assert [amount for _, amount in await reservations(system)] == [1000, 1000, 0]
    assert (await system.balance()).member_reserved == 2000


async def succeed(system: System, job_id: int) -> None:
    await system.dispatcher.drain()
    assert (await system.job(job_id)).state is JobState.SUCCEEDED


async def test_an_action_rebuilds_the_child_from_the_parents_record(system: System) -> None:
    (parent,) = await system.imagine("a fox --q 2")
    with pytest.raises(NotAllowed, match="not finished"):
        await system.press(
            parent.id,
            Action.UPSCALE,
            1,
        )
    await succeed(system, parent.id)
    child = await system.press(parent.id, Action.UPSCALE, 3, user=USER + 1)
    assert (child.kind, child.action, child.action_index, child.parent_id) == (
        JobKind.UPSCALE,
        Action.UPSCALE,
        3,
        parent.id,
    )
    assert (child.prompt, child.seed, child.user_id, child.cost) == (
        parent.prompt,
        parent.seed,
        USER + 1,
        500,
    )


async def test_a_reroll_draws_a_new_seed_unless_the_seed_was_written(system: System) -> None:
    free, fixed = await system.imagine("a fox", "a fox --seed 5")
    await system.dispatcher.drain()
    rerolls = [
        await system.press(
            job.id,
            Action.REROLL,
            0,
        )
        for job in (free, fixed)
    ]
    assert rerolls[0].seed != free.seed
    assert seed_in(rerolls[0].prompt) == rerolls[0].seed
    assert rerolls[0].params["seed"] == rerolls[0].seed
    assert (rerolls[1].seed, rerolls[1].prompt) == (5, fixed.prompt)


async def test_owner_button_policy_refuses_other_members(system: System) -> None:
    (parent,) = await system.imagine("a fox")
    await succeed(system, parent.id)
    await system.guilds.update(GUILD, button_policy="owner")
    with pytest.raises(NotAllowed, match="person who made"):
        await system.press(parent.id, Action.VARIATION, 2, user=USER + 1)
    with pytest.raises(JobNotFound):
        await system.press(
            999,
            Action.VARIATION,
            2,
        )


async def test_cancelling_a_waiting_job_refunds_it(system: System) -> None:
    (job,) = await system.imagine("a fox")
    with pytest.raises(JobNotFound):
        await system.jobs.cancel(job.id, user_id=USER + 1)
    cancelled = await system.jobs.cancel(job.id, user_id=USER)
    assert cancelled.state is JobState.CANCELLED
    balance = await system.balance()
    assert (balance.member_reserved, balance.member_used) == (0, 0)
    with pytest.raises(NotAllowed, match="already finished"):
        await system.jobs.cancel(job.id, user_id=USER)
    await system.dispatcher.drain()
    assert system.provider.requests == []
    assert system.kinds(job.id) == ["queued", "cancelled"]


async def test_a_moderator_may_cancel_anyones_job(system: System) -> None:
    (job,) = await system.imagine("a fox")
    cancelled = await system.jobs.cancel(job.id, user_id=USER + 5, moderator=True)
    assert cancelled.failure_message == "Cancelled by a moderator."


async def test_lookups_status_message_and_queue_overview(system: System) -> None:
    fast, relax = await system.imagine("a", "b --relax")
    await system.imagine("c", user=USER + 1)
    await system.jobs.set_status_message(fast.id, 4242)
    assert (await system.jobs.get(fast.id)).status_message_id == 4242
    with pytest.raises(JobNotFound):
        await system.jobs.get(999)
    with pytest.raises(JobNotFound):
        await system.jobs.set_status_message(999, 1)
    mine = await system.jobs.user_jobs(guild_id=GUILD, user_id=USER)
    assert [job.id for job in mine] == [relax.id, fast.id]
    overview = await system.jobs.queue_overview(guild_id=GUILD)
    assert overview.waiting_by_speed == {SpeedMode.FAST: 2, SpeedMode.RELAX: 1}
    assert (overview.total_waiting, overview.total_running) == (3, 0)
    assert [job.id for job in overview.waiting][:2] == [fast.id, relax.id]


async def test_an_empty_batch_does_nothing(system: System) -> None:
    assert (
        await system.jobs.submit(
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=USER,
            role_ids=[],
            prompts=[],
            speed=SpeedMode.FAST,
        )
        == []
    )


OREF = "--oref https://img.test/o.png"


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("a fox --relax", SpeedMode.FAST),
        ("a fox", SpeedMode.RELAX),
    ],
)
async def test_relax_jobs_are_refused_where_the_server_denies_relax(
    system: System, text: str, mode: SpeedMode
) -> None:
    await system.guilds.update(GUILD, relax_policy="deny")
    with pytest.raises(NotAllowed, match="Relax mode is turned off"):
        await system.imagine(text, speed=mode)
    assert await count_jobs(system) == 0


async def test_a_button_press_in_relax_mode_is_refused_where_the_server_denies_relax(
    system: System,
) -> None:
    (parent,) = await system.imagine("a fox")
    await succeed(system, parent.id)
    await system.guilds.update(GUILD, relax_policy="deny")
    await system.users.set_speed(USER + 1, SpeedMode.RELAX)
    with pytest.raises(NotAllowed, match="Relax mode is turned off"):
        await system.press(parent.id, Action.UPSCALE, 1, user=USER + 1)
    child = await system.press(parent.id, Action.UPSCALE, 1)
    assert child.speed is SpeedMode.FAST


@pytest.mark.parametrize(
    ("guild_defaults", "user_defaults", "text", "mode", "expected"),
    [
        ("--fast", "", "a fox", SpeedMode.RELAX, SpeedMode.RELAX),
        ("", "--turbo", "a fox", SpeedMode.FAST, SpeedMode.FAST),
        ("--fast", "", "a fox --turbo", SpeedMode.RELAX, SpeedMode.TURBO),
        ("--relax", "", "a fox", SpeedMode.TURBO, SpeedMode.TURBO),
    ],
)
async def test_a_default_speed_flag_never_overrides_the_members_mode(
    system: System,
    guild_defaults: str,
    user_defaults: str,
    text: str,
    mode: SpeedMode,
    expected: SpeedMode,
) -> None:
    await system.guilds.update(GUILD, default_params=guild_defaults)
    await system.users.set_default_params(USER, user_defaults)
    defaults = [layer for layer in (guild_defaults, user_defaults) if layer]
    (job,) = await system.jobs.submit(
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=USER,
        role_ids=[],
        prompts=[parse_prompt(text, defaults=defaults)],
        speed=mode,
    )
    assert job.speed is expected
    written = {f"--{speed}" for speed in SpeedMode} & set(job.prompt.split())
    assert written == ({f"--{expected}"} if expected.value in text else set())


async def test_a_default_seed_is_not_a_written_seed(system: System) -> None:
    await system.guilds.update(GUILD, default_params="--seed 5")
    prompts = [parse_prompt(text, defaults=["--seed 5"]) for text in ("a fox", "a cat")]
    jobs = await system.jobs.submit(
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=USER,
        role_ids=[],
        prompts=prompts,
        speed=SpeedMode.FAST,
    )
    assert [job.seed_explicit for job in jobs] == [False, False]
    assert len({job.seed for job in jobs}) == 2
    assert all(seed_in(job.prompt) == job.seed for job in jobs)


@pytest.mark.parametrize(
    ("text", "mode", "problem"),
    [
        ("a fox --v 4", SpeedMode.TURBO, "needs V5"),
        (f"a fox {OREF}", SpeedMode.RELAX, "--oref cannot be used with --relax"),
        (f"a fox {OREF}", SpeedMode.TURBO, "--oref cannot be used with --turbo"),
    ],
)
async def test_the_members_mode_must_suit_the_prompt(
    system: System, text: str, mode: SpeedMode, problem: str
) -> None:
    with pytest.raises(NotAllowed, match=f"Your speed mode is {mode}.*{problem}"):
        await system.imagine(text, speed=mode)
    assert await count_jobs(system) == 0
    (job,) = await system.imagine(text, speed=SpeedMode.FAST)
    assert job.speed is SpeedMode.FAST


async def test_relax_is_not_offered_for_a_prompt_that_cannot_run_in_relax(
    system: System,
) -> None:
    await system.guilds.update(GUILD, relax_policy="offer")
    await system.quota.set_member_budget(
        guild_id=GUILD, user_id=USER, amount=1000, actor_id=1, reason="test"
    )
    await system.imagine("first")
    with pytest.raises(QuotaExceeded) as caught:
        await system.imagine(f"second {OREF}")
    assert "/relax" not in caught.value.message
    with pytest.raises(QuotaExceeded) as caught:
        await system.imagine("third")
    assert "/relax" in caught.value.message


async def test_auto_relax_does_not_move_a_prompt_that_cannot_run_in_relax(
    system: System,
) -> None:
    await system.guilds.update(GUILD, relax_policy="auto")
    await system.quota.set_member_budget(
        guild_id=GUILD, user_id=USER, amount=1000, actor_id=1, reason="test"
    )
    await system.imagine("first")
    with pytest.raises(QuotaExceeded):
        await system.imagine(f"second {OREF}")
    (job,) = await system.imagine("third")
    assert (job.speed, job.cost) == (SpeedMode.RELAX, 0)


@pytest.mark.parametrize(
    ("presser_mode", "expected_cost"),
    [(SpeedMode.FAST, 250), (SpeedMode.RELAX, 0), (SpeedMode.TURBO, 500)],
)
async def test_a_button_press_runs_at_the_pressers_speed(
    system: System, presser_mode: SpeedMode, expected_cost: int
) -> None:
    (parent,) = await system.imagine("a fox --turbo")
    await succeed(system, parent.id)
    await system.users.set_speed(USER + 1, presser_mode)
    child = await system.press(parent.id, Action.UPSCALE, 2, user=USER + 1)
    assert (child.speed, child.cost) == (presser_mode, expected_cost)
    assert "--turbo" not in child.prompt
    assert seed_in(child.prompt) == parent.seed


async def test_a_button_press_checks_the_pressers_mode_against_the_prompt(
    system: System,
) -> None:
    (parent,) = await system.imagine("a fox --v 4")
    await succeed(system, parent.id)
    await system.users.set_speed(USER, SpeedMode.TURBO)
    with pytest.raises(NotAllowed, match="needs V5"):
        await system.press(parent.id, Action.REROLL)


@pytest.mark.parametrize(
    ("waiting", "count", "message"),
    [
        (0, 12, r"This prompt makes 12 jobs; you may have at most 10 waiting \(you have 0\)"),
        (8, 3, r"This prompt makes 3 jobs; you may have at most 10 waiting \(you have 8\)"),
        (10, 1, r"You have 10 jobs waiting and may have at most 10"),
    ],
)
async def test_the_waiting_room_check_says_how_many_jobs_fit(
    system: System, waiting: int, count: int, message: str
) -> None:
    if waiting:
        await system.imagine(*(f"fox {n}" for n in range(waiting)))
    with pytest.raises(LimitReached, match=message):
        await system.jobs.check_waiting_room(guild_id=GUILD, user_id=USER, count=count)
    with pytest.raises(LimitReached, match=message):
        await system.imagine(*(f"cat {n}" for n in range(count)))
    await system.jobs.check_waiting_room(guild_id=GUILD, user_id=USER, count=10 - waiting)


async def test_a_second_press_of_the_same_button_waits_for_the_first(system: System) -> None:
    (parent,) = await system.imagine("a fox")
    await succeed(system, parent.id)
    first = await system.press(parent.id, Action.UPSCALE, 1)
    with pytest.raises(NotAllowed, match=f"#{first.id}"):
        await system.press(parent.id, Action.UPSCALE, 1, user=USER + 1)
    other = await system.press(parent.id, Action.UPSCALE, 2)
    await succeed(system, first.id)
    # Once made, the same upscale is the same image: a link to it, no second job or charge.
    with pytest.raises(AlreadyMade) as made:
        await system.press(parent.id, Action.UPSCALE, 1, user=USER + 1)
    assert (made.value.job_id, made.value.message_id) == (first.id, 9000 + first.id)
    assert len({first.id, other.id}) == 2


@pytest.mark.parametrize(
    ("prompt", "refused"),
    [("a fox", False), ("a fox --seed 5", True)],
    ids=["drawn-seed-is-a-new-request", "written-seed-is-the-same-request"],
)
async def test_a_second_reroll_is_refused_only_when_the_seed_is_written(
    system: System, prompt: str, refused: bool
) -> None:
    (parent,) = await system.imagine(prompt)
    await succeed(system, parent.id)
    first = await system.press(parent.id, Action.REROLL)
    if refused:
        with pytest.raises(NotAllowed, match=f"#{first.id}"):
            await system.press(parent.id, Action.REROLL)
    else:
        second = await system.press(parent.id, Action.REROLL)
        assert second.id != first.id
        assert second.seed != first.seed


async def test_a_submit_cancelled_while_it_commits_still_announces_what_it_queued(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    inside, release = asyncio.Event(), threading.Event()
    read_config = system.jobs._guilds.get_in

    async def slow_read(tx: Transaction, guild_id: int) -> GuildConfig:
        config = await read_config(tx, guild_id)
        loop.call_soon_threadsafe(inside.set)
        release.wait(timeout=30)  # on the database thread: the transaction is under way
        return config

    monkeypatch.setattr(system.jobs._guilds, "get_in", slow_read)
    async with system.events.subscribe() as announced:
        caller = asyncio.create_task(system.imagine("a red fox"))
        await inside.wait()
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        release.set()
        event = await announced.get()  # published when the transaction commits
    assert event.kind == "queued"
    async with system.db.transaction() as tx:
        assert [row[0] for row in await tx.fetch_all("SELECT id FROM jobs")] == [event.job.id]
    job_id = event.job.id
    await system.dispatcher.drain()
    assert system.kinds(job_id)[-1] == "succeeded"
    assert (await system.balance()).member_used == 1000
