"""A member's own account: speed mode, default parameters, suffix and custom options (no discord).

The texts a member stores are checked by the one prompt parser before they are saved
(``checks``), layered over the server's defaults as every later /imagine will see them.
"""

from bot.account.service import AccountService, PromptDefaults, SpeedChange

__all__ = ["AccountService", "PromptDefaults", "SpeedChange"]
