"""Opening the database a URL names, on its engine (imported only when it is used)."""

from __future__ import annotations

from bot.store.database import Database, engine_of


async def open_database(url: str, *, migrate: bool = True, maintain: bool = True) -> Database:
    """Connect to the database the URL names and apply its pending migrations.

    ``migrate=False, maintain=False`` only looks: no migration and no maintenance (a report on
    a database that another process runs).
    """
    if engine_of(url) == "sqlite":
        from bot.store.sqlite import SqliteDatabase

        return await SqliteDatabase.connect(url, migrate=migrate, maintain=maintain)
    from bot.store.postgres import PostgresDatabase

    return await PostgresDatabase.connect(url, migrate=migrate)
