"""Echoing user text back into Discord without letting it ping, format or overflow."""

from __future__ import annotations

import re

import discord

NO_MENTIONS = discord.AllowedMentions.none()
"""Pass on every send and edit: Tessera never pings anyone, whatever the text holds."""

ELLIPSIS = "…"
FIELD_LIMIT = 1024
"""Discord's limit on an embed field value; the tightest place prompts are echoed."""

_ZWSP = "\u200b"
# Bidi embeddings, overrides and isolates (and the marks) reorder the text around them: an
# echoed prompt could make "gpj.exe" read as "exe.jpg", or run into the bot's own words.
_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
# C0 and C1 controls other than tab and newline: invisible, or worse, in a Discord message.
_CONTROLS = [c for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c not in (0x09, 0x0A)]
_INVISIBLE: dict[int, None] = dict.fromkeys([*_BIDI, *_CONTROLS])
_BROADCAST = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_MENTION = re.compile(r"<(@[!&]?|#)(?=\d)")


def neutralise_mentions(text: str) -> str:
    """Break @everyone, @here, <@id>, <@!id>, <@&id> and <#id> so none renders or pings.

    A zero-width space after the sigil keeps the text readable; allowed_mentions alone is not
    enough because an escaped mention still renders as a user or channel chip.
    """
    text = _BROADCAST.sub("@" + _ZWSP, text)
    return _MENTION.sub(lambda match: f"<{match[1]}{_ZWSP}", text)


def strip_invisible(text: str) -> str:
    """``text`` without bidi controls and control characters (tab and newline are kept)."""
    return text.translate(_INVISIBLE)


def _escape(text: str) -> str:
    return neutralise_mentions(discord.utils.escape_markdown(strip_invisible(text)))


def clause(text: str) -> str:
    """A sentence ready to sit inside another (in brackets, after a colon): no end stop.

    Composed messages end with their own full stop, so one from the inner sentence would
    double it ("...(it timed out).).").
    """
    return text.rstrip().rstrip(".!?").rstrip()


def escape_prompt(text: str, *, limit: int = FIELD_LIMIT) -> str:
    """``text`` safe to echo: markdown escaped, mentions neutralised, at most ``limit`` chars.

    Truncation keeps the longest prefix of the raw text whose escaped form fits with the
    ellipsis, so an escape sequence is never cut in half.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    escaped = _escape(text)
    if len(escaped) <= limit:
        return escaped
    room = limit - len(ELLIPSIS)
    low, high = 0, min(len(text), room)
    # The escaped length grows (almost always) with the prefix; the search only ever keeps a
    # prefix it checked, so the result always fits even where URL rules break monotonicity.
    while low < high:
        middle = (low + high + 1) // 2
        if len(_escape(text[:middle]).rstrip("\\")) <= room:
            low = middle
        else:
            high = middle - 1
    return _escape(text[:low]).rstrip("\\") + ELLIPSIS


def message_link(guild_id: int, channel_id: int, message_id: int) -> str:
    """A message's jump URL, which Discord shows as a link to it."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
