from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import UserFacingError
from bot.quota import Balance, BudgetPeriod, GuildBudgets, LedgerEntry, LedgerKind
from bot.settings import SchedulerSettings
from bot.store.guild_config import GuildConfig, RelaxPolicy
from bot.ui.moderation import (
    balance_embed,
    budgets_embed,
    guild_config_embed,
    ledger_embed,
    ledger_line,
    normalise_banned_word,
    parse_budget,
    parse_credits,
    signed_credits,
)

END = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.5", 2500),
        ("10", 10_000),
        (" 0.125 ", 125),
        ("0", 0),
        ("1e3", 1_000_000),
        ("unlimited", None),
        ("None", None),
        ("NO LIMIT", None),
    ],
)
def test_parse_budget_accepts(text: str, expected: int | None) -> None:
    assert parse_budget(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("lots", "not an amount of credits"),
        ("-1", "zero or more"),
        ("0.0001", "three decimals"),
        ("nan", "zero or more"),
        ("inf", "zero or more"),
        ("2000000000", "at most"),
        ("@everyone", "not an amount"),
    ],
)
def test_parse_budget_refuses(text: str, fragment: str) -> None:
    with pytest.raises(UserFacingError) as caught:
        parse_budget(text)
    assert fragment in caught.value.message
    assert "@everyone" not in caught.value.message


@pytest.mark.parametrize(("text", "expected"), [("2.5", 2500), ("0.001", 1), ("3", 3000)])
def test_parse_credits_accepts(text: str, expected: int) -> None:
    assert parse_credits(text) == expected


@pytest.mark.parametrize("text", ["0", "unlimited", "-2", "x"])
def test_parse_credits_refuses(text: str) -> None:
    with pytest.raises(UserFacingError):
        parse_credits(text)


@pytest.mark.parametrize(
    ("amount", "expected"), [(2500, "+2.5"), (-1000, "-1"), (0, "0"), (125, "+0.125")]
)
def test_signed_credits(amount: int, expected: str) -> None:
    assert signed_credits(amount) == expected


def _entry(**changes: object) -> LedgerEntry:
    base: dict[str, object] = {
        "id": 1,
        "guild_id": 10,
        "user_id": 20,
        "job_id": None,
        "kind": LedgerKind.GRANT,
        "amount": 2500,
        "actor_id": 30,
        "reason": "contest **winner** @everyone",
        "created_at": 1_700_000_000.0,
        "period_start": 1_699_920_000.0,
    }
    return LedgerEntry.model_validate(base | changes)


def test_ledger_line_shows_time_amount_people_and_escaped_reason() -> None:
    line = ledger_line(_entry())
    assert "<t:1700000000:f>" in line
    assert "**grant** +2.5" in line
    assert "<@20>" in line
    assert "by <@30>" in line
    assert "\\*\\*winner\\*\\*" in line
    assert "@everyone" not in line


def test_ledger_line_for_a_job_of_the_pool() -> None:
    line = ledger_line(
        _entry(user_id=None, job_id=7, kind=LedgerKind.REFUND, actor_id=None, reason="")
    )
    assert "guild pool" in line
    assert "job 7" in line
    assert "by" not in line
    assert "\n>" not in line


def test_ledger_line_for_a_roll_up_names_its_period_and_counts() -> None:
    line = ledger_line(
        _entry(
            kind=LedgerKind.ROLLUP,
            amount=40_000,
            actor_id=None,
            reason="42 jobs: 40 charged, 2 refunded",
            jobs_charged=40,
            jobs_refunded=2,
        )
    )
    assert "**rollup** +40" in line
    assert "<@20>" in line
    assert "period from <t:1699920000:d>" in line
    assert "> 42 jobs: 40 charged, 2 refunded" in line
    assert "by" not in line


def test_ledger_embed_pages_and_empty_page() -> None:
    full = ledger_embed([_entry(id=i) for i in range(3)], page=1, unit="credits", member_id=20)
    assert full.footer.text == "Page 2"
    assert (full.description or "").count("**grant**") == 3
    empty = ledger_embed([], page=0, unit="credits", member_id=None)
    assert "No entries" in (empty.description or "")
    assert "this server" in (empty.description or "")


def test_balance_embed_shows_limits_and_unlimited() -> None:
    balance = Balance(
        member_limit=10_000,
        member_used=2_500,
        member_reserved=1_000,
        member_remaining=6_500,
        guild_limit=None,
        guild_used=4_000,
        guild_reserved=1_000,
        guild_remaining=None,
        period=BudgetPeriod.DAY,
        period_start=END.replace(day=24),
        period_end=END,
        lifetime_used=12_000,
        lifetime_jobs=9,
    )
    embed = balance_embed(balance, member_id=20, unit="credits")
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Allowance"] == "6.5 credits left of 10 (2.5 used, 1 reserved)"
    assert (fields["Server pool"] or "").startswith("unlimited")
    assert fields["Lifetime"] == "9 jobs, 12 credits"
    assert f"<t:{int(END.timestamp())}:R>" in (embed.description or "")


def test_budgets_embed_lists_overrides_and_defaults() -> None:
    budgets = GuildBudgets(
        guild_id=10,
        period=BudgetPeriod.WEEK,
        reset_hour=6,
        period_is_default=False,
        period_end=END,
        pool=100_000,
        pool_is_default=False,
        default_member=None,
        default_member_is_default=True,
        roles={5: 20_000},
        members={6: None, 7: 1_500},
        pool_used=10_000,
        pool_reserved=0,
        pool_remaining=90_000,
    )
    embed = budgets_embed(budgets, unit="credits")
    fields = {field.name: field.value for field in embed.fields}
    assert "per week, resetting at 06:00 UTC" in (embed.description or "")
    assert fields["Server pool"] == "90 credits left of 100 (10 used, 0 reserved)"
    assert fields["Default member allowance"] == "unlimited (configured default)"
    assert fields["Role overrides"] == "<@&5>: 20 credits"
    assert fields["Member overrides"] == "<@6>: unlimited\n<@7>: 1.5 credits"


def test_guild_config_embed_marks_defaults_and_escapes_words() -> None:
    config = GuildConfig(
        guild_id=10,
        allowed_channel_ids=frozenset({99}),
        banned_words=("*bold*",),
        relax_policy=RelaxPolicy.DENY,
        max_waiting_per_user=4,
        default_params="--ar 16:9",
    )
    embed = guild_config_embed(config, SchedulerSettings())
    fields = {field.name: field.value for field in embed.fields}
    assert fields["/imagine allowed in"] == "<#99>"
    assert fields["Banned words"] == "\\*bold\\*"
    assert fields["Relax policy"] == "deny"
    limits = fields["Limits"] or ""
    assert "waiting per member: 4\n" in limits
    assert "running per member: 3 (bot default)" in limits
    assert "running in the server: no limit (bot default)" in limits


@pytest.mark.parametrize(
    ("word", "expected"), [("  Foo   BAR ", "foo bar"), ("x", "x"), ("Ünï", "ünï")]
)
def test_normalise_banned_word(word: str, expected: str) -> None:
    assert normalise_banned_word(word) == expected


def test_normalise_banned_word_refuses_blank() -> None:
    with pytest.raises(UserFacingError):
        normalise_banned_word("   ")
