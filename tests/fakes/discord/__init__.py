"""A loopback fake Discord (REST + gateway) that a real discord.py client logs in to."""

from tests.fakes.discord.harness import connected, plain_bot, point_discord_at
from tests.fakes.discord.interactions import InteractionCallback, InteractionRecord
from tests.fakes.discord.models import (
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
)
from tests.fakes.discord.server import FakeDiscord
from tests.fakes.discord.wire import RequestRecord

__all__ = [
    "FakeAttachment",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "InteractionCallback",
    "InteractionRecord",
    "RequestRecord",
    "connected",
    "plain_bot",
    "point_discord_at",
]
