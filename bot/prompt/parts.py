"""The parts a prompt is made of: weighted ``Segment``s and every parameter's value in ``Params``.

They sit below the canonical writer and the parser, which both read them, and below
``Prompt``, which holds them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.model import SpeedMode
from bot.prompt.versions import DEFAULT_VERSION


class Segment(BaseModel, frozen=True):
    """One concept of a multi-prompt and its weight as written (not normalised)."""

    text: str
    weight: float = 1.0


class Params(BaseModel, frozen=True):
    """Every parameter's effective value: what the user wrote, else its default."""

    ar: str = "1:1"
    quality: float = 1.0
    stylize: int = 100
    chaos: int = 0
    weird: int = 0
    speed: SpeedMode | None = None
    version: str | None = DEFAULT_VERSION
    niji: int | None = None
    style: str | None = None
    raw: bool = False
    tile: bool = False
    draft: bool = False
    no: list[str] = Field(default_factory=list)
    seed: int | None = None
    stop: int = 100
    iw: float = 1.0
    sref: list[str] = Field(default_factory=list)
    sw: int = 100
    cref: list[str] = Field(default_factory=list)
    cw: int = 100
    oref: str | None = None
    ow: int = 100
    exp: int | None = None
    repeat: int = 1
