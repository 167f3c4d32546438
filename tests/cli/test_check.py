import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.cli import main
from bot.cli.check import (
    Finding,
    Severity,
    database_finding,
    probe_provider,
    public_url,
    schema_finding,
    shard_finding,
    webhook_finding,
)
from bot.jobs.lease import DispatchLease, worker_lease_name
from bot.providers.diffusion import inspection
from bot.settings import DiscordSettings, ProviderSettings
from bot.store.connect import open_database
from bot.store.database import migrations
from tests.cli.conftest import TOKEN

SECRET = "s3cret-for-the-proxy"


class FakeProxy:
    """A loopback HTTP server answering like a midjourney-proxy asked for an unknown task."""

    def __init__(self, *, required_secret: str | None = None) -> None:
        self.required_secret = required_secret
        self.paths: list[str] = []
        self.secrets: list[str | None] = []

    async def fetch(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        self.secrets.append(request.headers.get("mj-api-secret"))
        if self.required_secret and request.headers.get("mj-api-secret") != self.required_secret:
            return web.Response(status=401)
        # novicezk answers 200 with an empty body for an unknown id; any answer will do.
        return web.Response(status=200, text="")


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _serve(proxy: FakeProxy) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_get("/mj/task/{task_id}/fetch", proxy.fetch)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[FakeProxy, int]]:
    fake = FakeProxy(required_secret=SECRET)
    runner, port = await _serve(fake)
    yield fake, port
    await runner.cleanup()


async def test_a_reachable_provider_is_ok_and_gets_the_secret(
    proxy: tuple[FakeProxy, int],
) -> None:
    fake, port = proxy
    settings = ProviderSettings(
        base_url=f"http://127.0.0.1:{port}/mj/", api_secret=SecretStr(SECRET)
    )
    finding = await probe_provider(settings, wait=2)
    assert finding == Finding(
        Severity.OK, f"provider: http://127.0.0.1:{port}/mj answered (HTTP 200)"
    )
    assert fake.paths == ["/mj/task/tessera-check/fetch"]
    assert fake.secrets == [SECRET]


@pytest.mark.parametrize(
    ("path", "status", "body", "severity"),
    [
        ("/task/{task_id}/fetch", 404, {"status": 404, "error": "Not Found"}, Severity.WARNING),
        ("/task/{task_id}/fetch", 405, None, Severity.WARNING),
        ("/mj/task/{task_id}/fetch", 404, {"code": 3, "description": "no task"}, Severity.OK),
    ],
)
async def test_a_url_without_the_api_root_is_a_warning_with_the_fix(
    path: str, status: int, body: dict[str, object] | None, severity: Severity
) -> None:
    async def answer(request: web.Request) -> web.Response:
        if body is None:
            return web.Response(status=status)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_get(path, answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    root = "/mj" if path.startswith("/mj") else ""
    try:
        finding = await probe_provider(
            ProviderSettings(base_url=f"http://127.0.0.1:{port}{root}"), wait=2
        )
    finally:
        await runner.cleanup()
    assert finding.severity is severity
    if severity is Severity.WARNING:
        assert "under /mj" in finding.message


@pytest.mark.parametrize(
    ("secret", "hint"),
    [(None, "set TESSERA_PROVIDER__API_SECRET"), ("wrong", "check TESSERA_PROVIDER__API_SECRET")],
)
async def test_a_refused_secret_names_the_variable(
    proxy: tuple[FakeProxy, int], secret: str | None, hint: str
) -> None:
    _, port = proxy
    settings = ProviderSettings(
        base_url=f"http://127.0.0.1:{port}/mj",
        api_secret=SecretStr(secret) if secret else None,
    )
    finding = await probe_provider(settings, wait=2)
    assert finding.severity is Severity.ERROR
    assert finding.message.startswith("provider.api_secret: ")
    assert "HTTP 401" in finding.message
    assert finding.message.endswith(hint)
    assert SECRET not in finding.message


async def test_a_closed_port_is_unreachable_without_leaking_credentials(closed_port: int) -> None:
    settings = ProviderSettings(base_url=f"http://user:pw@127.0.0.1:{closed_port}/mj")
    finding = await probe_provider(settings, wait=2)
    assert finding.severity is Severity.ERROR
    assert finding.message.startswith(
        f"provider.base_url: cannot reach http://127.0.0.1:{closed_port}/mj (ConnectError)"
    )
    assert "pw" not in finding.message


async def test_a_silent_server_times_out() -> None:
    # A listening socket that never accepts: the connection opens, no answer comes.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(0)
        port = sock.getsockname()[1]
        settings = ProviderSettings(base_url=f"http://127.0.0.1:{port}/mj")
        finding = await probe_provider(settings, wait=0.2)
    assert finding == Finding(
        Severity.ERROR, f"provider.base_url: http://127.0.0.1:{port}/mj did not answer within 0.2 s"
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://key:secret@vendor.example/mj", "https://vendor.example/mj"),
        ("http://127.0.0.1:8080/mj", "http://127.0.0.1:8080/mj"),
        ("http://[::1", "<invalid URL>"),
        ("postgresql://u:pw@db:5432/t?password=hunter2&sslmode=require", "postgresql://db:5432/t"),
    ],
)
def test_public_url(url: str, shown: str) -> None:
    assert public_url(url) == shown


def test_database_findings(tmp_path: Path) -> None:
    assert database_finding("mysql://db/tessera").severity is Severity.ERROR
    assert database_finding("postgresql://tessera:hunter2@db:5432/tessera") == Finding(
        Severity.OK, "database: PostgreSQL at postgresql://db:5432/tessera"
    )
    assert database_finding("sqlite:///:memory:").severity is Severity.WARNING
    assert database_finding(f"sqlite:///{tmp_path}/a/b/t.db") == Finding(
        Severity.OK, f"database: {tmp_path}/a/b/t.db"
    )
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() != 0:  # root ignores directory permissions
        assert database_finding(f"sqlite:///{locked}/t.db").severity is Severity.ERROR


class _ProxyHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        # As novicezk answers a task id it does not know: 200 with an empty body.
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def threaded_proxy_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def test_check_command_passes_with_a_reachable_provider(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], threaded_proxy_port: int
) -> None:
    monkeypatch.setenv("TESSERA_DISCORD__TOKEN", TOKEN)
    monkeypatch.setenv("TESSERA_PROVIDER__BASE_URL", f"http://127.0.0.1:{threaded_proxy_port}/mj")
    assert main(["check", "--timeout", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "ok: discord.token: well formed",
        out.splitlines()[1],
        f"ok: provider: http://127.0.0.1:{threaded_proxy_port}/mj answered (HTTP 200)",
        "configuration OK",
    ]
    assert out.splitlines()[1].startswith("ok: database: ")
    assert TOKEN not in out


def test_check_command_fails_on_an_unreachable_provider(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], closed_port: int
) -> None:
    monkeypatch.setenv("TESSERA_DISCORD__TOKEN", TOKEN)
    monkeypatch.setenv("TESSERA_PROVIDER__BASE_URL", f"http://127.0.0.1:{closed_port}/mj")
    assert main(["check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith("error: provider.base_url: cannot reach")
    assert lines[-1] == "1 problem(s) found"


def test_check_without_a_token_names_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--offline"]) == 1
    out = capsys.readouterr().out
    assert "error: discord.token: not set; set TESSERA_DISCORD__TOKEN" in out
    assert "provider" not in out


def test_check_offline_passes_with_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("TESSERA_PROVIDER__KIND", "midjourney-proxy")
    assert main(["check", "--offline"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "configuration OK (provider not checked: --offline)"
    )


def test_check_reports_every_configuration_problem_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "tessera.toml"
    config.write_text("[provider]\nmax_concurrency = 0\ncore_size = 3\n")
    monkeypatch.setenv("TESSERA_SCHEDULER__RELAX_SHARE", "lots")
    monkeypatch.setenv("TESSERA_DISCORD__TOKEN", TOKEN)
    assert main(["check", "--config", str(config)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "configuration error:"
    problems = lines[1:]
    assert len(problems) == 3
    assert any("provider.max_concurrency" in line for line in problems)
    assert any("provider.core_size: unknown setting" in line for line in problems)
    assert any("scheduler.relax_share" in line for line in problems)
    assert TOKEN not in "\n".join(lines)


@pytest.mark.parametrize(
    ("host", "public_url", "warned"),
    [
        (None, None, False),
        ("0.0.0.0", None, True),
        ("::", None, True),
        ("0.0.0.0", "http://tessera:8787", False),
        ("10.0.0.5", None, False),
    ],
)
def test_webhook_on_a_wildcard_address_needs_a_public_url(
    host: str | None, public_url: str | None, warned: bool
) -> None:
    finding = webhook_finding(ProviderSettings(webhook_host=host, webhook_public_url=public_url))
    if warned:
        assert finding is not None
        assert finding.severity is Severity.WARNING
        assert finding.message.startswith("provider.webhook_public_url: not set")
    else:
        assert finding is None


def test_a_warning_does_not_fail_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TESSERA_DISCORD__TOKEN", TOKEN)
    monkeypatch.setenv("TESSERA_PROVIDER__WEBHOOK_HOST", "0.0.0.0")
    monkeypatch.setenv("TESSERA_PROVIDER__KIND", "midjourney-proxy")
    assert main(["check", "--offline"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("warning: provider.webhook_public_url: not set")


# The local provider (the default): libraries, presets, weights and licences.


def test_check_names_the_local_extra_when_its_libraries_are_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(inspection, "_installed", lambda name: name not in ("torch", "diffusers"))
    monkeypatch.setattr(inspection, "weights_cached", lambda model, cache_dir: False)
    assert main(["check", "--offline"]) == 1
    out = capsys.readouterr().out
    assert "error: diffusion: torch, diffusers not installed; run pip install -e '.[local]'" in out


def test_check_reports_each_preset_with_its_licence_and_weights(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(inspection, "_installed", lambda name: True)
    monkeypatch.setattr(inspection, "weights_cached", lambda model, cache_dir: False)
    monkeypatch.setenv("TESSERA_DIFFUSION__DEVICE", "cpu")
    assert main(["check", "--offline"]) == 0
    out = capsys.readouterr().out
    assert "warning: diffusion preset turbo (7, 6.1): stabilityai/sd-turbo" in out
    assert "Stability AI Community License" in out
    assert "not cached: downloaded on first use, or now with `python -m bot models`" in out
    assert "CreativeML OpenRAIL-M" in out


def test_check_fails_on_a_model_path_that_does_not_exist(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(inspection, "_installed", lambda name: True)
    path = str(tmp_path / "no-such-model")
    monkeypatch.setenv("TESSERA_DIFFUSION__MODEL", path)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # The real check for a path; repo ids (the guided preset) count as not downloaded.
    real = inspection.weights_cached
    monkeypatch.setattr(
        inspection,
        "weights_cached",
        lambda model, cache_dir: inspection.is_local_path(model) and real(model, cache_dir),
    )
    assert main(["check", "--offline"]) == 1
    assert "weights missing: the path does not exist" in capsys.readouterr().out
    (tmp_path / "no-such-model").mkdir()
    assert main(["check", "--offline"]) == 0  # the guided preset's weights: a warning
    assert f"{tmp_path / 'no-such-model'}, 2 steps, 512x512; weights cached" in (
        capsys.readouterr().out
    )


def test_check_fails_on_a_version_that_names_no_preset(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(inspection, "_installed", lambda name: True)
    monkeypatch.setattr(inspection, "weights_cached", lambda model, cache_dir: True)
    monkeypatch.setenv("TESSERA_DIFFUSION__VERSIONS", '{"7": "turbo", "6": "missing"}')
    assert main(["check", "--offline"]) == 2
    assert "versions names no preset missing; known presets: guided, turbo" in (
        capsys.readouterr().out
    )


async def test_the_schema_finding_names_the_engine_and_version(database_url: str) -> None:
    fresh = await open_database(database_url, migrate=False)
    await fresh.close()
    pending = await schema_finding(database_url)
    assert pending is not None
    assert pending.severity is Severity.WARNING
    assert "schema version 0;" in pending.message
    assert "python -m bot migrate" in pending.message
    await (await open_database(database_url)).close()
    top = migrations(fresh.engine)[-1][0]
    assert await schema_finding(database_url) == Finding(
        Severity.OK,
        f"database: {fresh.engine}, schema version {top};"
        " no process dispatches now (run and worker processes take a lease each)",
    )
    database = await open_database(database_url)
    try:
        holder = "worker@gpu-1:42:0.a"
        await DispatchLease(database, holder, name=worker_lease_name(holder), duration=15.0).claim()
    finally:
        await database.close()
    held = await schema_finding(database_url)
    assert held is not None
    assert held.message.endswith("; 1 process(es) dispatch: worker@gpu-1:42:0.a (renewed 0 s ago)")


async def test_no_schema_finding_before_the_sqlite_file_exists(tmp_path: Path) -> None:
    assert await schema_finding(f"sqlite:///{tmp_path}/later.db") is None
    assert not (tmp_path / "later.db").exists()


def test_no_shard_line_without_sharding() -> None:
    assert shard_finding(DiscordSettings()) is None


@pytest.mark.parametrize(
    ("ids", "line"),
    [
        (None, "discord: all 3 shard(s) in this process"),
        ((2, 0, 1), "discord: all 3 shard(s) in this process"),
        (
            (2, 0),
            "discord: shard(s) 0, 2 of 3 in this process "
            "(gateway from http://127.0.0.1:9/api/v10/gateway/bot); "
            "1 must run in other processes with the same discord.shard_count",
        ),
    ],
)
def test_the_shard_line_says_which_shards_run_here(ids: tuple[int, ...] | None, line: str) -> None:
    settings = DiscordSettings(
        shard_count=3, shard_ids=ids, api_base="http://user:pw@127.0.0.1:9/api/v10"
    )
    finding = shard_finding(settings)
    assert finding is not None
    assert finding.severity is Severity.OK
    assert finding.message.startswith(line)
    assert "pw" not in finding.message


def test_check_reports_the_shard_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TESSERA_DISCORD__TOKEN", TOKEN)
    monkeypatch.setenv("TESSERA_PROVIDER__KIND", "midjourney-proxy")
    monkeypatch.setenv("TESSERA_DISCORD__SHARD_COUNT", "2")
    monkeypatch.setenv("TESSERA_DISCORD__SHARD_IDS", "[1]")
    assert main(["check", "--offline"]) == 0
    assert "ok: discord: shard(s) 1 of 2 in this process" in capsys.readouterr().out


def test_check_names_a_shard_id_out_of_range(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TESSERA_DISCORD__TOKEN", TOKEN)
    monkeypatch.setenv("TESSERA_DISCORD__SHARD_COUNT", "2")
    monkeypatch.setenv("TESSERA_DISCORD__SHARD_IDS", "[2]")
    assert main(["check", "--offline"]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "configuration error:"
    assert lines[1].startswith("  discord.shard_ids: ids go from 0 to 1 (shard_count is 2)")
