"""Settings people change: a member's own account and a server's configuration (no discord).

The texts they store are checked by the one prompt parser before they are saved (``checks``),
layered over the defaults below them as every later /imagine will see them.
"""

from bot.account.guild import GuildConfigService
from bot.account.service import AccountService, PromptDefaults, SpeedChange

__all__ = ["AccountService", "GuildConfigService", "PromptDefaults", "SpeedChange"]
