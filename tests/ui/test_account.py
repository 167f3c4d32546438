from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.model import JobState, QueueOverview, SpeedMode
from bot.quota import Balance, BudgetPeriod
from bot.ui.account import (
    SettingsChoice,
    cancelled_message,
    choice_from_text,
    credits_line,
    info_embed,
    job_choice_name,
    job_line,
    job_state_text,
    model_versions,
    options_embed,
    quality_values,
    queue_embed,
    settings_embed,
    suffix_message,
    version_label,
)
from tests.ui.jobs import make_job

END = datetime(2026, 11, 25, tzinfo=UTC)


def make_balance(**changes: Any) -> Balance:
    base: dict[str, Any] = {
        "member_limit": 10_000,
        "member_used": 2_500,
        "member_reserved": 0,
        "member_remaining": 7_500,
        "guild_limit": None,
        "guild_used": 0,
        "guild_reserved": 0,
        "guild_remaining": None,
        "period": BudgetPeriod.DAY,
        "period_start": END.replace(day=24),
        "period_end": END,
        "lifetime_used": 42_250,
        "lifetime_jobs": 40,
    }
    return Balance.model_validate(base | changes)


@pytest.mark.parametrize(
    ("choice", "text"),
    [
        (SettingsChoice(), ""),
        (SettingsChoice(version="6.1"), "--v 6.1"),
        (SettingsChoice(version="niji 6", raw=True), "--niji 6 --raw"),
        (SettingsChoice(stylize=250, quality=0.5), "--s 250 --q .5"),
        (SettingsChoice(version="7", stylize=0, quality=4.0, raw=True), "--v 7 --s 0 --q 4 --raw"),
    ],
)
def test_settings_choice_text(choice: SettingsChoice, text: str) -> None:
    assert choice.to_text() == text


@pytest.mark.parametrize(
    "choice",
    [
        SettingsChoice(),
        SettingsChoice(version="6.1", stylize=750),
        SettingsChoice(version="niji 6"),
        SettingsChoice(version="7", quality=2.0, raw=True),
        SettingsChoice(quality=0.25),
    ],
)
def test_choice_round_trips_through_the_parser(choice: SettingsChoice) -> None:
    assert choice_from_text(choice.to_text()) == choice


def test_choice_from_unparseable_text_is_empty() -> None:
    assert choice_from_text("--v 99 --nonsense") == SettingsChoice()


def test_menu_values_come_from_the_parameter_table() -> None:
    versions = model_versions()
    assert versions[0] == "7"
    assert "6.1" in versions
    assert "niji 6" in versions
    assert all(not v.startswith("niji") for v in model_versions(niji=False))
    assert quality_values() == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert version_label("niji 5") == "Niji version 5"
    assert version_label("6.1") == "Midjourney version 6.1"


def test_settings_embed_names_mode_and_parameters() -> None:
    embed = settings_embed(SettingsChoice(version="7", raw=True), SpeedMode.RELAX)
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Default parameters"] == "`--v 7 --raw`"
    assert "Relax mode" in (fields["Speed mode"] or "")


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"state": JobState.QUEUED}, "waiting"),
        ({"state": JobState.QUEUED, "queue_position": 3}, "waiting, position 3"),
        ({"state": JobState.SUBMITTING}, "starting"),
        ({"state": JobState.RUNNING, "progress": 45}, "running, 45%"),
        ({"state": JobState.FAILED}, "failed"),
    ],
)
def test_job_state_text(changes: dict[str, Any], text: str) -> None:
    assert job_state_text(make_job(**changes)) == text


def test_job_line_escapes_the_prompt() -> None:
    line = job_line(make_job(id=7, prompt="**bold** <@123> @here"))
    assert line.startswith("`#7` fast · waiting")
    assert "\\*\\*bold\\*\\*" in line
    assert "<@123>" not in line
    assert "@here" not in line


def test_job_choice_name_fits_discord_limit() -> None:
    name = job_choice_name(make_job(id=12345, prompt="word " * 100))
    assert len(name) == 100
    assert name.startswith("#12345 · waiting · word word")
    assert name.endswith("…")
    assert job_choice_name(make_job(id=1, prompt="short")) == "#1 · waiting · short"


def test_queue_embed_lists_jobs_and_counts() -> None:
    jobs = [make_job(id=1, queue_position=2), make_job(id=2, state=JobState.RUNNING, progress=10)]
    overview = QueueOverview(
        guild_id=10,
        waiting_by_speed={SpeedMode.FAST: 4, SpeedMode.RELAX: 1},
        running_by_speed={SpeedMode.TURBO: 1},
        waiting=(),
    )
    fields = {field.name: field.value for field in queue_embed(jobs, overview).fields}
    assert "`#1` fast · waiting, position 2" in (fields["Your jobs"] or "")
    assert "`#2` fast · running, 10%" in (fields["Your jobs"] or "")
    assert fields["Waiting in this server"] == "4 fast, 1 relax"
    assert fields["Running in this server"] == "1 turbo"


def test_queue_embed_without_jobs() -> None:
    overview = QueueOverview(guild_id=10, waiting_by_speed={}, running_by_speed={}, waiting=())
    fields = {field.name: field.value for field in queue_embed([], overview).fields}
    assert fields["Your jobs"] == "You have no waiting or running jobs."
    assert fields["Waiting in this server"] == "none"


def test_queue_embed_keeps_within_field_limit() -> None:
    jobs = [make_job(id=i, prompt="x" * 80) for i in range(40)]
    overview = QueueOverview(guild_id=10, waiting_by_speed={}, running_by_speed={}, waiting=())
    value = queue_embed(jobs, overview).fields[0].value or ""
    assert len(value) <= 1024
    assert value.endswith("more")


@pytest.mark.parametrize(
    ("limit", "remaining", "text"),
    [(10_000, 7_500, "7.5/10 credits (75%)"), (None, None, "unlimited"), (0, 0, "0/0 credits")],
)
def test_credits_line(limit: int | None, remaining: int | None, text: str) -> None:
    assert credits_line(limit, remaining, "credits") == text


def test_info_embed_in_the_manner_of_midjourney() -> None:
    jobs = [
        make_job(id=1),
        make_job(id=2, speed=SpeedMode.RELAX),
        make_job(id=3, state=JobState.RUNNING, progress=50),
    ]
    embed = info_embed(speed=SpeedMode.FAST, balance=make_balance(), jobs=jobs, unit="credits")
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Job mode"] == "Fast"
    assert fields["Your credits"] == f"7.5/10 credits (75%)\nresets <t:{int(END.timestamp())}:R>"
    assert (fields["Server pool"] or "").startswith("unlimited")
    assert fields["Lifetime usage"] == "40 jobs (42.25 credits)"
    assert fields["Queued jobs (fast)"] == "1"
    assert fields["Queued jobs (relax)"] == "1"
    assert fields["Queued jobs (turbo)"] == "0"
    assert "`#3` fast · running, 50%" in (fields["Running jobs"] or "")


def test_info_embed_without_running_jobs() -> None:
    embed = info_embed(speed=SpeedMode.TURBO, balance=make_balance(), jobs=[], unit="GPU minutes")
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Running jobs"] == "None"
    assert "GPU minutes" in (fields["Your credits"] or "")


def test_cancelled_message_names_the_refund() -> None:
    assert cancelled_message(make_job(cost=2500), unit="credits").endswith(
        "Its credits were refunded (2.5)."
    )
    assert "refunded" not in cancelled_message(make_job(cost=0), unit="credits")


def test_suffix_and_options_rendering_escape_user_text() -> None:
    assert suffix_message("") == "Your suffix is cleared."
    assert "\\*\\*" in suffix_message("**x** --ar 16:9")
    embed = options_embed({"mine": "--ar 2:3 @everyone", "a": "--s 50"})
    description = embed.description or ""
    assert description.index("--a**") < description.index("--mine**")
    assert "@everyone" not in description
    assert "no custom options" in (options_embed({}).description or "")


def test_queue_embed_positions_come_from_the_server_waiting_list() -> None:
    mine = make_job(id=5)
    others = (make_job(id=3, user_id=99), make_job(id=4, user_id=98), mine)
    overview = QueueOverview(
        guild_id=10, waiting_by_speed={SpeedMode.FAST: 3}, running_by_speed={}, waiting=others
    )
    fields = {field.name: field.value for field in queue_embed([mine], overview).fields}
    assert "`#5` fast · waiting, position 3" in (fields["Your jobs"] or "")
