"""Persistence: the database, its migrations and the repositories (no discord)."""

from bot.store.database import Database, Row, Transaction

__all__ = ["Database", "Row", "Transaction"]
