"""Rate limits the fake imposes: injected 429s and a per-channel message-edit bucket.

discord.py only honours a 429 that carries a ``Via`` header (otherwise it assumes a
Cloudflare ban and raises), so every 429 here has one, like Discord's.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field

RATE_LIMIT_HEADERS_429 = {"Via": "1.1 google", "X-RateLimit-Scope": "user"}


@dataclass
class InjectedLimit:
    """The next ``remaining`` requests matching ``method`` and ``route`` answer 429."""

    method: str
    route: str
    """A route template as the fake logs it, e.g. "/channels/{channel_id}/messages"."""
    remaining: int
    retry_after: float
    is_global: bool = False
    where: Callable[[dict[str, str]], bool] | None = None
    hits: int = 0

    def matches(self, method: str, route: str, params: dict[str, str]) -> bool:
        if self.remaining <= 0 or method != self.method or route != self.route:
            return False
        return self.where is None or self.where(params)


@dataclass
class EditBucket:
    """Sliding-window limit on message edits in one channel, announced in X-RateLimit headers."""

    limit: int
    per: float
    bucket: str
    stamps: collections.deque[float] = field(default_factory=collections.deque)
    rejected: int = 0

    def _trim(self, now: float) -> None:
        while self.stamps and self.stamps[0] <= now - self.per:
            self.stamps.popleft()

    def retry_after(self, now: float) -> float:
        """Seconds until one more edit is allowed (0 when it is allowed now)."""
        self._trim(now)
        if len(self.stamps) < self.limit:
            return 0.0
        return max(self.stamps[0] + self.per - now, 0.001)

    def take(self, now: float) -> None:
        self.stamps.append(now)

    def headers(self, now: float) -> dict[str, str]:
        self._trim(now)
        remaining = max(self.limit - len(self.stamps), 0)
        reset_after = self.stamps[0] + self.per - now if self.stamps else 0.0
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-After": f"{max(reset_after, 0.0):.3f}",
            "X-RateLimit-Bucket": self.bucket,
        }
