"""What only the PostgreSQL store does: numbered parameters, its locks, its cancellation."""

import asyncio

import pytest

from bot.errors import ConfigError
from bot.store.connect import open_database
from bot.store.database import Transaction
from bot.store.postgres import numbered
from tests.postgres import postgres_schema, postgres_url


def test_each_question_mark_outside_quotes_and_comments_is_numbered() -> None:
    assert numbered("SELECT ? + ?") == "SELECT $1 + $2"
    assert numbered("SELECT '?', \"a?b\", ? -- why?\n, ?") == (
        "SELECT '?', \"a?b\", $1 -- why?\n, $2"
    )
    assert numbered("UPDATE t SET v = ? WHERE id IN (?, ?)") == (
        "UPDATE t SET v = $1 WHERE id IN ($2, $3)"
    )


async def test_two_processes_starting_together_apply_the_migrations_once() -> None:
    async with postgres_schema() as url:
        first, second = await asyncio.gather(
            open_database(url, migrate=False), open_database(url, migrate=False)
        )
        try:
            applied = await asyncio.gather(first.migrate(), second.migrate())
            assert sorted(map(len, applied))[0] == 0  # one of them found nothing left to do
            assert await first.pending_migrations() == []
        finally:
            await first.close()
            await second.close()


async def test_a_server_that_does_not_answer_is_one_clear_line() -> None:
    postgres_url()  # skips, saying why, where no server is configured
    with pytest.raises(ConfigError, match="cannot connect to PostgreSQL"):
        await open_database("postgresql://tessera@127.0.0.1:9/none")


async def test_a_cancelled_caller_leaves_the_body_to_finish_and_the_database_usable() -> None:
    async with postgres_schema() as url:
        db = await open_database(url, migrate=False)
        try:
            async with db.transaction() as tx:
                await tx.execute("CREATE TABLE t (v BIGINT NOT NULL)")
            started = asyncio.Event()
            release = asyncio.Event()
            committed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

            async def body(tx: Transaction) -> str:
                await tx.execute("INSERT INTO t (v) VALUES (?)", (1,))
                started.set()
                await release.wait()
                await tx.execute("INSERT INTO t (v) VALUES (?)", (2,))
                return "both rows"

            caller = asyncio.create_task(db.run(body, committed=committed.set_result))
            await started.wait()
            caller.cancel()
            with pytest.raises(asyncio.CancelledError):
                await caller
            release.set()
            assert await committed == "both rows"
            async with db.transaction() as tx:
                rows = await tx.fetch_all("SELECT v FROM t ORDER BY v")
            assert [row[0] for row in rows] == [1, 2]
        finally:
            await db.close()


async def test_trace_sees_each_statement_as_the_server_does() -> None:
    async with postgres_schema() as url:
        db = await open_database(url, migrate=False)
        seen: list[str] = []
        try:
            await db.trace(seen.append)
            async with db.transaction() as tx:
                await tx.fetch_value("SELECT ?::bigint + 1", (1,))
            await db.trace(None)
            async with db.transaction() as tx:
                await tx.fetch_value("SELECT 2")
        finally:
            await db.close()
        assert seen == ["SELECT $1::bigint + 1"]


async def test_a_notification_reaches_another_process_when_its_transaction_commits() -> None:
    async with postgres_schema() as url:
        sender = await open_database(url, migrate=False)
        listener = await open_database(url, migrate=False)
        heard: list[str] = []
        arrived = asyncio.Event()

        def hear(payload: str) -> None:
            heard.append(payload)
            arrived.set()

        try:
            await listener.listen("tessera_test", hear)

            async def rolled_back() -> None:
                async with sender.transaction() as tx:
                    await tx.notify("tessera_test", "rolled back")
                    raise RuntimeError("no")

            with pytest.raises(RuntimeError):
                await rolled_back()
            async with sender.transaction() as tx:
                await tx.notify("tessera_test", "committed")
            async with asyncio.timeout(10):
                await arrived.wait()
        finally:
            await sender.close()
            await listener.close()
        assert heard == ["committed"]


async def test_a_lost_notification_connection_is_made_again() -> None:
    import asyncpg

    from bot.store.postgres import PostgresDatabase

    async with postgres_schema() as url:
        sender = await open_database(url, migrate=False)
        listener = await open_database(url, migrate=False)
        assert isinstance(listener, PostgresDatabase)
        heard: list[str] = []
        arrived = asyncio.Event()

        def hear(payload: str) -> None:
            heard.append(payload)
            arrived.set()

        reconnected = asyncio.Event()
        connect = listener._connect_listener

        async def connect_and_say() -> None:
            await connect()
            reconnected.set()

        try:
            await listener.listen("tessera_test", hear)
            assert listener._listener is not None
            pid = listener._listener.get_server_pid()
            listener._connect_listener = connect_and_say  # type: ignore[method-assign]
            admin = await asyncpg.connect(postgres_url())
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            async with asyncio.timeout(10):
                await reconnected.wait()
            async with sender.transaction() as tx:
                await tx.notify("tessera_test", "after")
            async with asyncio.timeout(10):
                await arrived.wait()
        finally:
            await sender.close()
            await listener.close()
        assert heard == ["after"]


def test_sql_it_cannot_read_safely_is_refused() -> None:
    with pytest.raises(ValueError, match="not supported"):
        numbered("SELECT /* ? */ ?")
    with pytest.raises(ValueError, match="not supported"):
        numbered("SELECT $$?$$")
