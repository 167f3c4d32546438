"""/quota and /guild-config: the real bot against the fake Discord, real services on SQLite."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bot.quota import BudgetPeriod, LedgerKind
from bot.store.guild_config import ButtonPolicy, RelaxPolicy
from tests.cogs.test_account import World, embed_fields, error_text, world
from tests.fakes.discord import FakeMessage

__all__ = ["world"]

MODERATOR_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("quota show", {}),
    ("quota set-guild", {"amount": "10"}),
    ("quota grant", {"amount": "1", "reason": "why"}),
    ("quota reset", {"reason": "why"}),
    ("quota ledger", {}),
    ("guild-config show", {}),
    ("guild-config banned-words add", {"word": "cat"}),
    ("guild-config relax-policy", {"policy": "deny"}),
    ("guild-config default-params", {"text": "--ar 16:9"}),
]


@pytest.mark.parametrize(("command", "options"), MODERATOR_COMMANDS)
async def test_members_are_refused_at_run_time(
    world: World, command: str, options: dict[str, Any]
) -> None:
    # The fake delivers the command whatever default_permissions say, as a server whose
    # integration settings opened the command to everyone would.
    refused = await world.answer(command, options)
    assert "Manage Server" in error_text(refused)
    config = await world.services.guild_config.get(world.guild.id)
    assert config.banned_words == ()
    assert config.relax_policy is RelaxPolicy.OFFER
    assert await world.services.quota.ledger(guild_id=world.guild.id) == []


def test_moderator_groups_carry_default_permissions(world: World) -> None:
    for name in ("quota", "guild-config"):
        group = world.runtime.bot.tree.get_command(name)
        assert isinstance(group, discord.app_commands.Group)
        assert group.default_permissions == discord.Permissions(manage_guild=True)
        assert group.guild_only


async def moderate(world: World, command: str, options: dict[str, Any] | None = None) -> Any:
    return await world.answer(command, options, user=world.moderator.user)


# --- /quota -------------------------------------------------------------------------------


async def test_set_guild_and_show(world: World) -> None:
    done = await moderate(
        world, "quota set-guild", {"amount": "100", "period": "week", "reset_hour": 6}
    )
    assert done.ephemeral
    assert done.content == "The server pool is now 100 credits per week, resetting at 06:00 UTC."
    budgets = await world.services.quota.budgets(guild_id=world.guild.id)
    assert (budgets.pool, budgets.period, budgets.reset_hour) == (100_000, BudgetPeriod.WEEK, 6)

    shown = await moderate(world, "quota show")
    fields = embed_fields(shown)
    assert fields["Server pool"] == "100 credits left of 100 (0 used, 0 reserved)"
    assert "per week, resetting at 06:00 UTC" in shown.embeds[0]["description"]

    cleared = await moderate(world, "quota set-guild", {"amount": "unlimited"})
    assert cleared.content == "The server pool is now unlimited."
    assert (await world.services.quota.budgets(guild_id=world.guild.id)).pool is None


async def test_set_member_role_and_default(world: World) -> None:
    role = world.role

    await moderate(world, "quota set-role", {"role": role, "amount": "5"})
    await moderate(world, "quota set-role", {"role": world.guild.everyone, "amount": "2"})
    member_done = await moderate(
        world, "quota set-member", {"member": world.member, "amount": "2.5"}
    )
    assert member_done.content == f"<@{world.member.id}>'s allowance is now 2.5 credits."

    budgets = await world.services.quota.budgets(guild_id=world.guild.id)
    assert budgets.roles == {role.id: 5000}
    assert budgets.default_member == 2000
    assert budgets.members == {world.member.id: 2500}

    shown = await moderate(world, "quota show", {"member": world.member})
    assert embed_fields(shown)["Allowance"] == "2.5 credits left of 2.5 (0 used, 0 reserved)"

    removed = await moderate(world, "quota set-member", {"member": world.member, "amount": "none"})
    assert "override is removed" in removed.content
    shown = await moderate(world, "quota show", {"member": world.member})
    assert embed_fields(shown)["Allowance"].startswith("5 credits left of 5")


@pytest.mark.parametrize(
    ("command", "options", "fragment"),
    [
        ("quota set-guild", {"amount": "lots"}, "not an amount of credits"),
        ("quota set-guild", {"amount": "-3"}, "zero or more"),
        ("quota grant", {"amount": "0", "reason": "r"}, "above zero"),
        ("quota grant", {"amount": "unlimited", "reason": "r"}, "such as 2.5"),
        ("quota set-member", {"amount": "1.0001"}, "three decimals"),
    ],
)
async def test_amount_refusals(
    world: World, command: str, options: dict[str, Any], fragment: str
) -> None:
    if command == "quota set-member":
        options = {"member": world.member, **options}
    refused = await moderate(world, command, options)
    assert fragment in error_text(refused)
    assert await world.services.quota.ledger(guild_id=world.guild.id) == []


async def test_grant_and_reset_leave_ledger_entries(world: World) -> None:
    await moderate(world, "quota set-member", {"member": world.member, "amount": "1"})
    granted = await moderate(
        world, "quota grant", {"member": world.member, "amount": "2", "reason": "contest **win**"}
    )
    assert "Granted 2 credits" in granted.content
    assert "contest \\*\\*win\\*\\*" in granted.content
    await world.submit("a fox", count=2)
    reset = await moderate(world, "quota reset", {"member": world.member, "reason": "fresh"})
    assert "back to zero" in reset.content
    pool = await moderate(world, "quota grant", {"amount": "4", "reason": "event"})
    assert "to the server pool" in pool.content

    entries = await world.services.quota.ledger(guild_id=world.guild.id)
    kinds = [(entry.kind, entry.user_id, entry.actor_id) for entry in entries]
    assert (LedgerKind.GRANT, world.member.id, world.moderator.id) in kinds
    assert (LedgerKind.RESET, world.member.id, world.moderator.id) in kinds
    assert (LedgerKind.GRANT, None, world.moderator.id) in kinds


def ledger_lines(message: FakeMessage | Any) -> list[str]:
    description = str(message.embeds[0]["description"])
    return [line for line in description.split("\n") if "**grant**" in line]


async def test_ledger_pages_with_owner_only_buttons(world: World) -> None:
    for number in range(23):
        world.clock.now += 60
        await world.services.quota.grant(
            guild_id=world.guild.id,
            user_id=world.member.id,
            amount=1000 + number,
            actor_id=world.moderator.id,
            reason=f"grant {number} <@&1>",
        )
    record = await world.slash("quota ledger", user=world.moderator.user)
    first = await record.response()
    message = record.original
    assert message is not None
    assert first.ephemeral
    assert len(ledger_lines(message)) == 10
    assert "+1.022" in ledger_lines(message)[0]
    assert f"<t:{int(world.clock.now)}:f>" in ledger_lines(message)[0]
    assert "<@&1>" not in message.embeds[0]["description"]
    assert message.embeds[0]["footer"]["text"] == "Page 1"

    stranger = await world.discord.invoke_component(
        message, message.custom_ids()[1], world.member.user
    )
    assert "Only the person who opened this list" in error_text(await stranger.response())
    assert message.embeds[0]["footer"]["text"] == "Page 1"

    previous_id, next_id = message.custom_ids()
    await world.press(message, next_id, user=world.moderator.user)
    assert message.embeds[0]["footer"]["text"] == "Page 2"
    await world.press(message, next_id, user=world.moderator.user)
    assert message.embeds[0]["footer"]["text"] == "Page 3"
    assert len(ledger_lines(message)) == 3
    assert "+1" in ledger_lines(message)[-1]
    assert _disabled(message) == {previous_id: False, next_id: True}
    await world.press(message, previous_id, user=world.moderator.user)
    assert message.embeds[0]["footer"]["text"] == "Page 2"


def _disabled(message: FakeMessage) -> dict[str, bool]:
    return {
        component["custom_id"]: bool(component.get("disabled"))
        for row in message.components
        for component in row["components"]
    }


async def test_ledger_of_one_member_on_one_page_has_no_buttons(world: World) -> None:
    await world.services.quota.grant(
        guild_id=world.guild.id, user_id=world.member.id, amount=500, actor_id=1, reason="a"
    )
    await world.services.quota.grant(
        guild_id=world.guild.id, user_id=world.moderator.id, amount=700, actor_id=1, reason="b"
    )
    record = await world.slash("quota ledger", {"member": world.member}, user=world.moderator.user)
    await record.response()
    assert record.original is not None
    assert record.original.custom_ids() == []
    lines = ledger_lines(record.original)
    assert len(lines) == 1
    assert "+0.5" in lines[0]


# --- /guild-config ------------------------------------------------------------------------


async def test_channels_add_list_remove(world: World) -> None:
    art = world.discord.add_channel(world.guild, "art")
    added = await moderate(world, "guild-config channels add", {"channel": art})
    assert added.content == f"/imagine is now allowed in <#{art.id}>."
    listed = await moderate(world, "guild-config channels list")
    assert listed.content == f"/imagine is allowed in: <#{art.id}>"
    config = await world.services.guild_config.get(world.guild.id)
    assert config.allowed_channel_ids == frozenset({art.id})

    removed = await moderate(world, "guild-config channels remove", {"channel": art})
    assert "every channel works" in removed.content
    again = await moderate(world, "guild-config channels remove", {"channel": art})
    assert "not in the allowed list" in error_text(again)
    listed = await moderate(world, "guild-config channels list")
    assert listed.content == "/imagine is allowed in every channel."


async def test_banned_words_add_list_remove(world: World) -> None:
    added = await moderate(world, "guild-config banned-words add", {"word": "  Red   FOX "})
    assert "red fox" in added.content
    await moderate(world, "guild-config banned-words add", {"word": "*star*"})
    listed = await moderate(world, "guild-config banned-words list")
    assert listed.content == "Banned words:\nred fox\n\\*star\\*"
    assert (await world.services.guild_config.get(world.guild.id)).banned_words == (
        "red fox",
        "*star*",
    )
    removed = await moderate(world, "guild-config banned-words remove", {"word": "RED fox"})
    assert "allowed again" in removed.content
    missing = await moderate(world, "guild-config banned-words remove", {"word": "red fox"})
    assert "is not a banned word" in error_text(missing)


async def test_policies_and_limits(world: World) -> None:
    await moderate(world, "guild-config relax-policy", {"policy": "auto"})
    await moderate(world, "guild-config buttons", {"who": "owner"})
    shown = await moderate(
        world, "guild-config limits", {"running_per_user": 1, "waiting_per_guild": 50}
    )
    config = await world.services.guild_config.get(world.guild.id)
    assert config.relax_policy is RelaxPolicy.AUTO
    assert config.button_policy is ButtonPolicy.OWNER
    assert (config.max_running_per_user, config.max_waiting_per_guild) == (1, 50)
    limits = embed_fields(shown)["Limits"]
    assert "running per member: 1\n" in limits
    assert "waiting per member: 10 (bot default)" in limits

    await moderate(world, "guild-config limits", {"running_per_user": 0})
    assert (await world.services.guild_config.get(world.guild.id)).max_running_per_user is None
    nothing = await moderate(world, "guild-config limits")
    assert "at least one limit" in error_text(nothing)


async def test_default_version_checked_by_the_parser(world: World) -> None:
    done = await moderate(world, "guild-config default-version", {"version": "v5.0"})
    assert done.content == "Prompts use version 5 by default."
    assert (await world.services.guild_config.get(world.guild.id)).default_version == "5"
    refused = await moderate(world, "guild-config default-version", {"version": "9"})
    assert "--v needs one of 1, 2, 3" in error_text(refused)
    assert (await world.services.guild_config.get(world.guild.id)).default_version == "5"
    cleared = await moderate(world, "guild-config default-version", {"version": "none"})
    assert "bot's default" in cleared.content
    assert (await world.services.guild_config.get(world.guild.id)).default_version is None


async def test_default_params_checked_by_the_parser(world: World) -> None:
    done = await moderate(world, "guild-config default-params", {"text": "--ar 16:9 --s 250"})
    assert done.content.startswith("Default parameters: ")
    assert done.content.endswith("--ar 16:9 --s 250")
    refused = await moderate(world, "guild-config default-params", {"text": "--ar 1.39:1"})
    assert "139:100" in error_text(refused)
    assert (await world.services.guild_config.get(world.guild.id)).default_params == (
        "--ar 16:9 --s 250"
    )
    await moderate(world, "guild-config default-version", {"version": "4"})
    too_new = await moderate(world, "guild-config default-params", {"text": "--q 4"})
    assert "V7" in error_text(too_new)
    cleared = await moderate(world, "guild-config default-params")
    assert cleared.content == "Default parameters cleared."


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("--ar 16:9 --relax", "use /fast, /relax or /turbo"),
        ("--turbo", "use /fast, /relax or /turbo"),
        ("--seed 42", "every reroll identical"),
        ("--s 50 --repeat 2", "--repeat only works"),
    ],
)
async def test_default_params_refuse_what_must_not_apply_to_every_job(
    world: World, text: str, hint: str
) -> None:
    refused = await moderate(world, "guild-config default-params", {"text": text})
    assert hint in error_text(refused)
    assert (await world.services.guild_config.get(world.guild.id)).default_params == ""


async def test_guild_config_show(world: World) -> None:
    await world.services.guild_config.update(
        world.guild.id, banned_words=("cat",), default_version="6.1"
    )
    shown = await moderate(world, "guild-config show")
    fields = embed_fields(shown)
    assert fields["/imagine allowed in"] == "every channel"
    assert fields["Banned words"] == "cat"
    assert fields["Default version"] == "6.1"
    assert fields["Relax policy"] == "offer"


async def test_default_version_must_suit_the_default_params(world: World) -> None:
    await moderate(world, "guild-config default-params", {"text": "--q 4"})
    refused = await moderate(world, "guild-config default-version", {"version": "6"})
    assert "V7" in error_text(refused)
    assert (await world.services.guild_config.get(world.guild.id)).default_version is None
