"""The one error tree of Tessera.

Every error a user can see carries a safe, user-facing ``message``; the Discord layer shows
those and logs everything else. Lower-level errors (httpx, sqlite) are translated once, at the
boundary that meets them, with ``raise Mapped(...) from exc``.

    TesseraError
    ├── UserFacingError               safe to show; ``message`` says what to do next
    │   ├── PromptError               (bot.prompt) the prompt text is invalid
    │   ├── QuotaExceeded             not enough credits in the member's or guild's budget
    │   ├── LimitReached              too many waiting or running jobs
    │   ├── NotAllowed                channel, banned word, permission or guild policy
    │   │   └── AlreadyMade           this button's image exists already: link, no new job
    │   ├── JobNotFound               no such job (or not yours)
    │   ├── ProviderError             the image provider said no, or could not be reached
    │   │   ├── ProviderUnavailable   network failure, 5xx, circuit open: retry later
    │   │   │   └── SubmitOutcomeUnknown  a submit went out and no answer came back
    │   │   ├── ProviderBusy          the provider's queue is full: back-pressure
    │   │   └── ProviderRejected      a final answer about this request (banned, expired...)
    │   └── FetchError                (bot.outbound) a download on a member's behalf failed
    │       ├── FetchRefused          the URL, a redirect or an address is not allowed
    │       ├── FetchTooLarge         the body is larger than the cap
    │       └── FetchUnavailable      network failure, timeout, 5xx: retry later
    ├── IllegalTransition             a job state change the state machine forbids (a bug)
    └── ConfigError                   invalid configuration, one line per problem
"""

from __future__ import annotations

from enum import StrEnum


class TesseraError(Exception):
    """Base of every error Tessera raises on purpose."""


class UserFacingError(TesseraError):
    """An error whose ``message`` is safe and useful to show to the person who caused it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QuotaExceeded(UserFacingError):
    """The member's allowance or the guild pool cannot cover the job's cost."""

    def __init__(self, message: str, *, needed: float, available: float, scope: str) -> None:
        super().__init__(message)
        self.needed = needed
        self.available = available
        self.scope = scope


class LimitReached(UserFacingError):
    """A per-user or per-guild limit on waiting or running jobs was reached."""


class NotAllowed(UserFacingError):
    """A guild policy forbids this (channel, banned word, button press, permission)."""


class AlreadyMade(NotAllowed):
    """The button's image already exists: the same press renders the very same image again.

    Carries where the earlier result was posted, so the Discord layer can link to it.
    """

    def __init__(
        self, message: str, *, job_id: int, guild_id: int, channel_id: int, message_id: int
    ) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.message_id = message_id


class JobNotFound(UserFacingError):
    """The job does not exist, or does not belong to the person asking."""


class JobExpired(JobNotFound):
    """The job's record was pruned after the retention period: its buttons no longer work."""


class FailureKind(StrEnum):
    """Why a job (or a provider call) failed, as the rest of the bot understands it."""

    BANNED_PROMPT = "banned_prompt"
    MODERATION = "moderation"
    FAST_HOURS_EXHAUSTED = "fast_hours_exhausted"
    QUEUE_FULL = "queue_full"
    PARENT_EXPIRED = "parent_expired"
    INVALID_REQUEST = "invalid_request"
    PROVIDER_ERROR = "provider_error"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    DELIVERY = "delivery"


class ProviderError(UserFacingError):
    """The image provider refused a request or could not be reached."""

    kind: FailureKind = FailureKind.PROVIDER_ERROR
    retryable: bool = False

    def __init__(self, message: str, *, kind: FailureKind | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or answered with a server error; try again later."""

    kind = FailureKind.UNAVAILABLE
    retryable = True


class SubmitOutcomeUnknown(ProviderUnavailable):
    """A submit may have reached the provider but no answer came back (a timeout, a 5xx).

    The provider may still accept it later, so it is never simply sent again: the job waits
    in ``submitting`` and is looked up by its job id (``find_by_state``) until either its
    task shows up or the provider, asked after the submit's own time limit, has none.
    """


class ProviderBusy(ProviderError):
    """The provider's own queue is full (code 23): keep the job waiting, charge nothing."""

    kind = FailureKind.QUEUE_FULL
    retryable = True


class ProviderRejected(ProviderError):
    """A final answer about this request: banned prompt, expired parent, invalid request."""

    def __init__(self, message: str, *, kind: FailureKind, banned_word: str | None = None) -> None:
        super().__init__(message, kind=kind)
        self.banned_word = banned_word


class FetchError(UserFacingError):
    """A download on a member's behalf failed; ``status`` is the HTTP status when one came."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FetchRefused(FetchError):
    """The outbound policy refused the URL, a redirect target, or an address of its host."""


class FetchTooLarge(FetchError):
    """The body is larger than the caller's cap."""


class FetchUnavailable(FetchError):
    """The host could not be reached, timed out, or answered 5xx/429: try again later."""

    retryable = True


class IllegalTransition(TesseraError):
    """A job state change that the state machine forbids."""


class ConfigError(TesseraError):
    """The configuration is invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
