"""Fixtures of the end-to-end tests (defined in ``tests.e2e.world``, shared with cog tests)."""

from tests.e2e.world import discord_fake, proxy, world

__all__ = ["discord_fake", "proxy", "world"]
