"""The channel an interaction came from: its parent when it is a thread or forum post."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.ui.channel import missing_permissions, parent_channel_id


def thread(kind: discord.ChannelType, parent_id: int) -> discord.Thread:
    payload: Any = {
        "id": 500,
        "parent_id": parent_id,
        "owner_id": 3,
        "name": "a thread",
        "type": kind.value,
        "message_count": 0,
        "member_count": 1,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2026-01-01T00:00:00+00:00",
            "locked": False,
        },
    }
    # A thread object as discord.py builds it from an interaction's channel payload.
    return discord.Thread(guild=None, state=None, data=payload)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("channel", "parent"),
    [
        (thread(discord.ChannelType.public_thread, 10), 10),
        (thread(discord.ChannelType.private_thread, 11), 11),
        (discord.Object(id=10), None),
        (None, None),
    ],
)
def test_parent_channel_id(channel: object, parent: int | None) -> None:
    interaction: Any = SimpleNamespace(channel=channel)
    assert parent_channel_id(interaction) == parent


@pytest.mark.parametrize(
    ("granted", "in_thread", "missing"),
    [
        ({"send_messages": True, "send_messages_in_threads": False}, False, []),
        (
            {"send_messages": True, "send_messages_in_threads": False},
            True,
            ["Send Messages in Threads"],
        ),
        ({"send_messages": False, "send_messages_in_threads": True}, True, []),
        ({"send_messages": False, "send_messages_in_threads": True}, False, ["Send Messages"]),
    ],
)
def test_threads_need_send_messages_in_threads_instead_of_send_messages(
    granted: dict[str, bool], in_thread: bool, missing: list[str]
) -> None:
    permissions = discord.Permissions(
        view_channel=True, attach_files=True, embed_links=True, read_message_history=True, **granted
    )
    assert missing_permissions(permissions, in_thread=in_thread) == missing
