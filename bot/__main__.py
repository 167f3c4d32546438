"""``python -m bot``: the command line (``run`` when no command is given)."""

from bot.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
