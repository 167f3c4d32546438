"""Shared assertions of the prompt tests."""

from __future__ import annotations

from typing import Any

import pytest

from bot.prompt import PromptError, parse_prompt


def refused(text: str, **kwargs: Any) -> PromptError:
    """The PromptError that parsing ``text`` must raise."""
    with pytest.raises(PromptError) as caught:
        parse_prompt(text, **kwargs)
    return caught.value


def assert_refused(text: str, code: str, hint: str) -> None:
    """Parsing fails first with ``code``, and that issue's message contains ``hint``."""
    error = refused(text)
    assert error.code == code, error.issues
    assert hint in error.issues[0].message
