"""The bot token's shape: checked offline, so a typo is caught before Discord says 401.

A bot token is three base64url parts separated by dots; the first one encodes the bot's user
id in decimal, which for every application made since 2016 is also the application id.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

TOKEN_ENV = "TESSERA_DISCORD__TOKEN"  # noqa: S105 (a variable name, not a secret)
_PART = re.compile(r"^[A-Za-z0-9_-]+$")


def token_of(settings: Settings) -> str | None:
    """The configured token's value, or None when it is not set."""
    token = settings.discord.token
    return None if token is None else token.get_secret_value()


def token_problem(token: str | None) -> str | None:
    """What is wrong with the token's shape, as one line naming the setting; None if fine."""
    if token is None or not token.strip():
        return (
            f"discord.token: not set; set {TOKEN_ENV} (or DISCORD_TOKEN) to the bot token "
            "from the Discord developer portal (your application > Bot > Reset Token)"
        )
    if token.startswith(("Bot ", "Bearer ")):
        return f"discord.token: remove the {token.split()[0]!r} prefix from {TOKEN_ENV}"
    if token != token.strip() or any(quote in token for quote in "\"'"):
        return f"discord.token: {TOKEN_ENV} has surrounding spaces or quotes; remove them"
    parts = token.split(".")
    if len(parts) != 3 or not all(_PART.match(part) for part in parts):
        return (
            f"discord.token: {TOKEN_ENV} does not look like a bot token (expected three "
            "base64url parts separated by dots; was it copied whole?)"
        )
    if application_id_from_token(token) is None:
        return (
            f"discord.token: the first part of {TOKEN_ENV} does not encode a user id; "
            "is it a bot token rather than a client secret?"
        )
    return None


def application_id_from_token(token: str) -> int | None:
    """The bot's user id encoded in the token's first part, or None if it encodes none."""
    first = token.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not decoded.isdecimal() or not 15 <= len(decoded) <= 21:
        return None
    return int(decoded)
