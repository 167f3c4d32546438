"""Discord cogs: thin adapters from interactions to services and back to ``bot.ui``."""
