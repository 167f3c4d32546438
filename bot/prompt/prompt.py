"""The parsed prompt, frozen and compared by value.

Changing a prompt's parameters means validating it again, which is the parser's work: that
lives above this module, in ``bot.prompt.rebuild`` (``with_params``, ``without_params``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.prompt.canonical import write_parameters, write_segments
from bot.prompt.issues import PromptIssue
from bot.prompt.parts import Params, Segment

NO_WEIGHT = -0.5


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
