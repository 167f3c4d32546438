"""Fixtures of the end-to-end tests, defined in ``tests.e2e.world`` (shared with cog tests).

``make_settings`` is re-exported too: other cog tests import it from here.
"""

from tests.e2e.world import discord_fake, make_settings, proxy, world

__all__ = ["discord_fake", "make_settings", "proxy", "world"]
