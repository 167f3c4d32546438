"""Discord rendering shared by the cogs: embeds, messages, buttons, error display."""
