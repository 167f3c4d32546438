"""escape_prompt and neutralise_mentions: no pings, no markdown, within the limit."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ui.prompting import code_span
from bot.ui.text import ELLIPSIS, NO_MENTIONS, escape_prompt, neutralise_mentions, strip_invisible

ZWSP = "\u200b"
LIVE_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|@(?:everyone|here)", re.IGNORECASE)
# Pieces rather than characters, so mentions actually turn up in the examples.
text_with_mentions = st.lists(
    st.sampled_from([*"ab @<>#&!*_~`|\\[]()-\n01", "everyone", "here", "<@", "<#", "<@&"]),
    max_size=40,
).map("".join)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a cat", "a cat"),
        ("@everyone look", f"@{ZWSP}everyone look"),
        ("@HERE", f"@{ZWSP}HERE"),
        # Discord pings on the prefix, so no word boundary is required.
        ("@everyonea", f"@{ZWSP}everyonea"),
        ("hi <@123456789012345678>", f"hi <@{ZWSP}123456789012345678>"),
        ("<@!42> <@&42> <#42>", f"<@!{ZWSP}42> <@&{ZWSP}42> <#{ZWSP}42>"),
        ("**bold** _it_ `code`", r"\*\*bold\*\* \_it\_ \`code\`"),
        ("||spoiler||", r"\|\|spoiler\|\|"),
        ("email@example.com", "email@example.com"),
    ],
)
def test_escape_prompt(raw: str, expected: str) -> None:
    assert escape_prompt(raw) == expected


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        ("abcdef", 6, "abcdef"),
        ("abcdefg", 6, "abcde" + ELLIPSIS),
        # An escape is never cut in half: "\*" either fits whole or not at all.
        ("a*b*c", 4, r"a\*" + ELLIPSIS),
        ("a*b*c", 3, "a" + ELLIPSIS),
        ("***", 1, ELLIPSIS),
    ],
)
def test_escape_prompt_truncates_with_an_ellipsis(raw: str, limit: int, expected: str) -> None:
    assert escape_prompt(raw, limit=limit) == expected


def test_escape_prompt_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="limit"):
        escape_prompt("x", limit=0)


@settings(max_examples=200, deadline=None)
@given(text_with_mentions, st.integers(min_value=1, max_value=60))
def test_escaped_text_fits_and_never_mentions(raw: str, limit: int) -> None:
    escaped = escape_prompt(raw, limit=limit)

    assert len(escaped) <= limit
    assert LIVE_MENTION.search(escaped) is None
    assert not escaped.endswith("\\" + ELLIPSIS)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_characters="\\\u200b"), max_size=200))
def test_untruncated_escaping_only_adds_backslashes_and_zero_width_spaces(raw: str) -> None:
    escaped = escape_prompt(raw, limit=10_000)

    assert escaped.replace("\\", "").replace(ZWSP, "") == strip_invisible(raw)


@pytest.mark.parametrize(
    "char", ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\x00", "\x1b"]
)
def test_bidi_controls_and_control_characters_never_reach_an_echo(char: str) -> None:
    # Issue #11: "gpj.exe" behind a right-to-left override reads as "exe.jpg" in Discord.
    assert escape_prompt(f"a {char}gpj.exe b\tc\nd") == "a gpj.exe b\tc\nd"
    assert char not in code_span(f"x{char}y")


def test_neutralise_mentions_leaves_other_text_alone() -> None:
    assert neutralise_mentions("a <b> @ c #d <@x>") == "a <b> @ c #d <@x>"


def test_no_mentions_allows_nothing() -> None:
    wire: dict[str, object] = dict(NO_MENTIONS.to_dict())

    assert wire == {"parse": []}
