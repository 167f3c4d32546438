"""Who an interaction came from, in the plain ids the services take."""

from __future__ import annotations

import discord


def role_ids(user: discord.User | discord.Member) -> list[int]:
    """The member's role ids (none outside a guild)."""
    return [role.id for role in user.roles] if isinstance(user, discord.Member) else []
