"""How a job's speed mode reaches the provider: a path prefix, an account filter or a flag.

The bot schedules relax itself, so a relax job asks the provider for
``ProviderSettings.relax_upstream`` (fast by default: most hosted providers have no relax).
"""

from __future__ import annotations

import re
from typing import Any

from bot.errors import ConfigError
from bot.model import SpeedMode
from bot.settings import ProviderSettings

_SPEED_FLAG = re.compile(r"(?:^|\s)--(?:fast|turbo|relax)(?=\s|$)")


class SpeedRouter:
    """Applies ``ProviderSettings.speed_routing`` to a submit's URL, body and prompt."""

    def __init__(self, settings: ProviderSettings) -> None:
        self._mode = settings.speed_routing
        self._relax_upstream = SpeedMode(settings.relax_upstream)
        self._base_url = settings.base_url.rstrip("/")
        if self._mode == "path" and not self._base_url.endswith("/mj"):
            raise ConfigError(
                [
                    "provider.speed_routing: 'path' needs provider.base_url to end with /mj "
                    f"(it is {self._base_url!r}); use 'prompt' or 'account_filter' instead"
                ]
            )

    def upstream(self, speed: SpeedMode) -> SpeedMode:
        """The mode the provider is asked for."""
        return self._relax_upstream if speed is SpeedMode.RELAX else speed

    def base_url(self, speed: SpeedMode) -> str:
        """The API root for a submit in this mode (trueai's ``/mj-fast/mj`` and friends)."""
        if self._mode != "path":
            return self._base_url
        return f"{self._base_url[: -len('/mj')]}/mj-{self.upstream(speed).value}/mj"

    def body_extras(self, speed: SpeedMode) -> dict[str, Any]:
        """Fields added to a submit body (trueai's ``accountFilter.modes``)."""
        if self._mode != "account_filter":
            return {}
        return {"accountFilter": {"modes": [self.upstream(speed).value.upper()]}}

    def prompt(self, text: str, speed: SpeedMode) -> str:
        """The prompt whose speed flag says what the provider is asked for.

        The job's ``speed`` is the truth (the job layer already honoured a flag the user
        wrote). A written flag is passed through as the upstream mode, so a bot-scheduled
        ``--relax`` never reaches a provider without relax and never contradicts a path or
        account-filter route; routing by prompt always carries the flag.
        """
        written = _SPEED_FLAG.search(text) is not None
        if not written and self._mode != "prompt":
            return text
        return f"{_SPEED_FLAG.sub('', text).strip()} --{self.upstream(speed).value}"
