"""Problems found in a prompt: one ``PromptIssue`` each, raised together as ``PromptError``."""

from __future__ import annotations

from pydantic import BaseModel

from bot.errors import UserFacingError

EMPTY_PROMPT = "empty_prompt"
PROMPT_TOO_LONG = "prompt_too_long"
UNKNOWN_PARAMETER = "unknown_parameter"
DUPLICATE_PARAMETER = "duplicate_parameter"
MISSING_VALUE = "missing_value"
UNEXPECTED_VALUE = "unexpected_value"
INVALID_VALUE = "invalid_value"
OUT_OF_RANGE = "out_of_range"
INCOMPATIBLE = "incompatible"
UNSUPPORTED_PARAMETER = "unsupported_parameter"
WEIGHT_SUM = "weight_sum"
WEIGHT_FORMAT = "weight_format"
ASPECT_FORMAT = "aspect_format"
INVALID_URL = "invalid_url"
TOO_MANY_JOBS = "too_many_jobs"
PROMPT_ONLY = "prompt_only"
CONTROL_CHARACTER = "control_character"

# Warnings use their own codes: they never make a prompt invalid.
EXPERIMENTAL_ASPECT = "experimental_aspect"
MULTI_PROMPT_V7 = "multi_prompt_v7"
IMAGE_WEIGHT_UNUSED = "image_weight_unused"
DEFAULT_IGNORED = "default_ignored"


_END = 1 << 62


class PromptIssue(BaseModel, frozen=True):
    """One problem (or, in ``Prompt.warnings``, one note) about a prompt."""

    code: str
    message: str
    span: tuple[int, int] | None = None
    parameter: str | None = None


class PromptError(UserFacingError, ValueError):
    """The prompt is invalid; ``issues`` holds every problem found, ``code`` the first one's."""

    def __init__(self, issues: list[PromptIssue]) -> None:
        if not issues:
            raise ValueError("PromptError needs at least one issue")
        super().__init__("\n".join(issue.message for issue in issues))
        self.issues = issues
        self.code = issues[0].code

    def __reduce__(self) -> tuple[type[PromptError], tuple[list[PromptIssue]]]:
        return (type(self), (self.issues,))


class IssueLog:
    """Collects the issues of one parse, errors and warnings apart.

    ``origin`` names a settings layer ("your /prefer suffix"): its issues say so, and carry no
    span because they are not in the text the user typed.
    """

    def __init__(self) -> None:
        self.errors: list[PromptIssue] = []
        self.warnings: list[PromptIssue] = []

    @staticmethod
    def _issue(
        code: str,
        message: str,
        span: tuple[int, int] | None,
        parameter: str | None,
        origin: str | None,
    ) -> PromptIssue:
        if origin is not None:
            message = f"In {origin}: {message}"
            span = None
        return PromptIssue(code=code, message=message, span=span, parameter=parameter)

    def error(
        self,
        code: str,
        message: str,
        span: tuple[int, int] | None = None,
        parameter: str | None = None,
        origin: str | None = None,
    ) -> None:
        """Record a problem that makes the prompt invalid."""
        self.errors.append(self._issue(code, message, span, parameter, origin))

    def warn(
        self,
        code: str,
        message: str,
        span: tuple[int, int] | None = None,
        parameter: str | None = None,
        origin: str | None = None,
    ) -> None:
        """Record a note the user should see; the prompt stays valid."""
        self.warnings.append(self._issue(code, message, span, parameter, origin))

    def raise_if_errors(self) -> None:
        """Raise every error collected so far as one ``PromptError``."""
        if self.errors:
            # In reading order; problems without a place (sums, settings) come last.
            ordered = sorted(self.errors, key=lambda issue: issue.span or (_END, _END))
            raise PromptError(ordered)
