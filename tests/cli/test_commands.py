import contextlib
import socket
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.cli import main
from bot.store.database import migrations


def _names(engine: str) -> list[str]:
    return [f"{version:04d}_{name}" for version, name, _ in migrations(engine)]


MIGRATIONS = _names("sqlite")


def test_migrate_applies_every_migration_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db_file = tmp_path / "fresh" / "tessera.db"
    monkeypatch.setenv("TESSERA_DATABASE__URL", f"sqlite:///{db_file}")
    assert main(["migrate"]) == 0
    first = capsys.readouterr().out.splitlines()
    assert first[:-1] == [f"applied {name}" for name in MIGRATIONS]
    assert first[-1] == (
        f"{len(MIGRATIONS)} migration(s) applied" if MIGRATIONS else "the database is up to date"
    )
    # closing(): sqlite3's own context manager commits but leaves the connection open, which
    # Python 3.13 reports (ResourceWarning) in whichever later test collects it.
    with contextlib.closing(sqlite3.connect(db_file)) as conn:
        recorded = [
            f"{version:04d}_{name}"
            for version, name in conn.execute(
                "SELECT version, name FROM schema_migrations ORDER BY version"
            )
        ]
    assert recorded == MIGRATIONS

    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.splitlines() == ["the database is up to date"]


def test_migrate_refuses_an_unsupported_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TESSERA_DATABASE__URL", "mysql://db/tessera")
    assert main(["migrate"]) == 2
    assert "database.url: 'mysql' databases are not supported" in capsys.readouterr().err


def test_migrate_applies_each_engines_migrations_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    monkeypatch.setenv("TESSERA_DATABASE__URL", database_url)
    assert main(["migrate"]) == 0
    names = _names("postgresql" if database_url.startswith("postgresql") else "sqlite")
    assert capsys.readouterr().out.splitlines()[:-1] == [f"applied {name}" for name in names]
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.splitlines() == ["the database is up to date"]


@pytest.mark.parametrize("command", ["run", "sync", "migrate", "invite", "health"])
def test_an_unknown_setting_stops_every_command_with_exit_2(
    command: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TESSERA_PROVIDER__BASE_URLL", "http://typo")
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "configuration error:"
    assert "provider.base_urll: unknown setting" in err


@pytest.mark.parametrize(
    ("token", "expected"),
    [(None, "not set; set TESSERA_DISCORD__TOKEN"), ("not-a-token", "does not look like")],
)
@pytest.mark.parametrize("command", [[], ["run"], ["sync", "--guild", "1"]])
def test_a_missing_or_malformed_token_stops_run_and_sync(
    command: list[str],
    token: str | None,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if token is not None:
        monkeypatch.setenv("TESSERA_DISCORD__TOKEN", token)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "not-a-token" not in err


def test_health_needs_the_metrics_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health"]) == 2
    assert "metrics.enabled is false" in capsys.readouterr().err


class _HealthHandler(BaseHTTPRequestHandler):
    status = 200
    body = b'{"status": "ok"}'

    def do_GET(self) -> None:
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HealthHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TESSERA_METRICS__ENABLED", "true")
    monkeypatch.setenv("TESSERA_METRICS__HOST", "0.0.0.0")
    monkeypatch.setenv("TESSERA_METRICS__PORT", str(server.server_address[1]))
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("status", "body", "code", "line"),
    [
        (200, b'{"status": "ok"}', 0, 'healthy: {"status": "ok"}'),
        (503, b'{"reasons": ["discord"]}', 1, 'unhealthy: {"reasons": ["discord"]}'),
    ],
)
def test_health_asks_the_endpoint_on_loopback(
    health_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: bytes,
    code: int,
    line: str,
) -> None:
    monkeypatch.setattr(_HealthHandler, "status", status)
    monkeypatch.setattr(_HealthHandler, "body", body)
    assert main(["health"]) == code
    assert capsys.readouterr().out.splitlines() == [line]


def test_health_reports_a_closed_endpoint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TESSERA_METRICS__ENABLED", "true")
    monkeypatch.setenv("TESSERA_METRICS__PORT", str(port))
    assert main(["health"]) == 1
    assert capsys.readouterr().out.startswith(
        f"unhealthy: http://127.0.0.1:{port}/healthz did not answer (ConnectError)"
    )
