"""The parsed prompt: ``Segment``, ``Params`` and ``Prompt``, frozen and compared by value."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bot.model import SpeedMode
from bot.prompt.canonical import write_parameters, write_segments
from bot.prompt.issues import PromptIssue
from bot.prompt.versions import DEFAULT_VERSION

NO_WEIGHT = -0.5


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


class Prompt(BaseModel, frozen=True):
    """A valid prompt: image URLs, weighted segments, parameters and warnings."""

    image_urls: list[str] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)
    params: Params = Field(default_factory=Params)
    explicit: frozenset[str] = frozenset()
    warnings: list[PromptIssue] = Field(default_factory=list)

    def normalized_weights(self) -> list[float]:
        """The segment weights divided by their sum."""
        total = sum(segment.weight for segment in self.segments)
        return [segment.weight / total for segment in self.segments]

    def weighted_terms(self) -> list[Segment]:
        """The segments, then every ``--no`` item at weight -0.5."""
        return [*self.segments, *(Segment(text=item, weight=NO_WEIGHT) for item in self.params.no)]

    def to_prompt(self) -> str:
        """The canonical text: parsing it gives this prompt back."""
        parts = [*self.image_urls, *write_segments(self.segments)]
        parts.extend(write_parameters(self.params, self.explicit))
        return " ".join(parts)

    def with_params(self, **changes: Any) -> Prompt:
        """A new, validated prompt with these parameters changed and marked as written."""
        from bot.prompt.rebuild import rebuild, usable_seed, with_seed  # late: it imports us

        if "seed" not in changes or not usable_seed(changes["seed"]):
            # The full path reports every problem at once, a bad seed's among them.
            return rebuild(self, changes, ())
        # A valid seed is set on its own (it changes no rule), so the rest is validated once
        # per prompt and speed, not once per drawn seed.
        seed = changes.pop("seed")
        return with_seed(rebuild(self, changes, ()) if changes else self, seed)

    def without_params(self, *names: str) -> Prompt:
        """A new, validated prompt without these parameters (back to their defaults)."""
        from bot.prompt.rebuild import rebuild  # late: rebuild imports this module

        return rebuild(self, {}, names)

    def _compared(self) -> tuple[object, ...]:
        # Spans locate a warning in one particular text; the same prompt written differently
        # has the same meaning, so equality leaves them out.
        notes = [(issue.code, issue.message, issue.parameter) for issue in self.warnings]
        return (self.image_urls, self.segments, self.params, self.explicit, notes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Prompt):
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self.to_prompt())
