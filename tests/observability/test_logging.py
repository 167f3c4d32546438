import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.observability.logging import (
    QUIET_LIBRARIES,
    REDACTED,
    configure_logging,
    current_job_id,
    job_context,
    redact_also,
    settings_secrets,
)
from bot.settings import DiscordSettings, LoggingSettings, ProviderSettings, Settings

TOKEN = "MTA1NjY3ODkwMTIzNDU2Nzg5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"
SECRET = "provider-secret-42"


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    library_levels = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, library_level in library_levels.items():
        logging.getLogger(name).setLevel(library_level)


def _capture(*, json_format: bool, secrets: tuple[str, ...] = ()) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(
        LoggingSettings(level="DEBUG", json_format=json_format), secrets=secrets, stream=stream
    )
    return stream


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.usefixtures("restore_root_logger")
def test_json_lines_carry_level_logger_message_and_job_id() -> None:
    stream = _capture(json_format=True)
    log = logging.getLogger("tessera.test")
    log.info("outside %d", 1)
    with job_context(42):
        log.warning("inside %s", "job")
    first, second = _json_lines(stream)
    assert first["message"] == "outside 1"
    assert "job_id" not in first
    assert second == {
        "time": second["time"],
        "level": "WARNING",
        "logger": "tessera.test",
        "message": "inside job",
        "job_id": 42,
    }
    assert str(second["time"]).endswith("+00:00")


@pytest.mark.usefixtures("restore_root_logger")
def test_text_format_shows_the_job_id_only_inside_a_job() -> None:
    stream = _capture(json_format=False)
    log = logging.getLogger("tessera.test")
    with job_context(7):
        log.info("submitted")
    log.info("idle")
    inside, outside = stream.getvalue().splitlines()
    assert inside.endswith("tessera.test [job 7]: submitted")
    assert outside.endswith("tessera.test: idle")


@pytest.mark.usefixtures("restore_root_logger")
async def test_concurrent_tasks_keep_their_own_job_id() -> None:
    stream = _capture(json_format=True)
    log = logging.getLogger("tessera.test")
    a_inside, b_logged = asyncio.Event(), asyncio.Event()

    async def job_a() -> None:
        with job_context(1):
            a_inside.set()
            await b_logged.wait()
            log.info("a")

    async def job_b() -> None:
        await a_inside.wait()
        with job_context(2):
            log.info("b")
        b_logged.set()

    await asyncio.gather(job_a(), job_b())
    assert {line["message"]: line["job_id"] for line in _json_lines(stream)} == {"b": 2, "a": 1}
    assert current_job_id() is None


def test_job_context_nests_and_restores() -> None:
    with job_context(1):
        with job_context(2):
            assert current_job_id() == 2
        assert current_job_id() == 1
    assert current_job_id() is None


@pytest.mark.usefixtures("restore_root_logger")
@pytest.mark.parametrize("json_format", [True, False])
def test_secrets_are_redacted_from_messages_arguments_and_tracebacks(json_format: bool) -> None:
    stream = _capture(json_format=json_format, secrets=(TOKEN, SECRET, ""))
    log = logging.getLogger("tessera.test")
    log.info("token is %s", TOKEN)
    log.info(f"secret header {SECRET}")
    try:
        raise RuntimeError(f"request failed with mj-api-secret={SECRET}")
    except RuntimeError:
        log.exception("provider call failed")
    output = stream.getvalue()
    assert TOKEN not in output
    assert SECRET not in output
    assert output.count(REDACTED) == 3
    assert "RuntimeError: request failed with mj-api-secret=[redacted]" in output


@pytest.mark.usefixtures("restore_root_logger")
def test_a_library_logger_is_redacted_too() -> None:
    stream = _capture(json_format=False, secrets=(SECRET,))
    logging.getLogger("httpx").warning("GET /mj?secret=%s", SECRET)
    assert SECRET not in stream.getvalue()


@pytest.mark.usefixtures("restore_root_logger")
def test_configure_twice_keeps_one_handler() -> None:
    _capture(json_format=False)
    stream = _capture(json_format=True)
    logging.getLogger("tessera.test").error("once")
    tessera_handlers = [h for h in logging.getLogger().handlers if h.get_name() == "tessera"]
    assert len(tessera_handlers) == 1
    assert len(_json_lines(stream)) == 1


@pytest.mark.parametrize(
    ("token", "secret", "expected"),
    [
        (None, None, []),
        (TOKEN, None, [TOKEN]),
        (TOKEN, SECRET, [TOKEN, SECRET]),
        (None, SECRET, [SECRET]),
    ],
)
def test_settings_secrets(token: str | None, secret: str | None, expected: list[str]) -> None:
    settings = Settings(
        discord=DiscordSettings(token=SecretStr(token) if token else None),
        provider=ProviderSettings(api_secret=SecretStr(secret) if secret else None),
    )
    assert settings_secrets(settings) == expected


@pytest.mark.usefixtures("restore_root_logger")
def test_http_libraries_do_not_log_every_request_url() -> None:
    stream = _capture(json_format=False)
    logging.getLogger("httpx").info('HTTP Request: POST http://u:pw@proxy/mj/task/list "200 OK"')
    logging.getLogger("httpcore.connection").debug("connect_tcp.started host='proxy'")
    logging.getLogger("httpx").warning("kept")
    assert stream.getvalue().splitlines()[-1].endswith("httpx: kept")
    assert "HTTP Request" not in stream.getvalue()
    assert "connect_tcp" not in stream.getvalue()


@pytest.mark.usefixtures("restore_root_logger")
def test_a_secret_made_at_run_time_is_redacted_after_it_is_added() -> None:
    stream = _capture(json_format=False, secrets=(SECRET,))
    redact_also("hook-path-token-123")
    logging.getLogger("tessera.test").warning("hook at /hook/hook-path-token-123")
    assert "hook-path-token-123" not in stream.getvalue()
    assert REDACTED in stream.getvalue()


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("http://127.0.0.1:8080/mj", []),
        ("https://alice:s3cret-pw@vendor.example/mj", ["alice:s3cret-pw", "s3cret-pw"]),
        ("https://apikey-0123456789@vendor.example/mj", ["apikey-0123456789"]),
    ],
)
def test_credentials_in_the_provider_url_are_secrets(base_url: str, expected: list[str]) -> None:
    settings = Settings(provider=ProviderSettings(base_url=base_url))
    assert settings_secrets(settings) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/tessera.db", []),
        ("postgresql://tessera:pg-s3cret@db:5432/tessera", ["tessera:pg-s3cret", "pg-s3cret"]),
        ("postgresql://db/tessera?sslmode=require&password=pg-s3cret", ["pg-s3cret"]),
        # A user name alone is no secret: redacting "postgres" everywhere would maul the logs.
        ("postgresql://postgres@db:5432/tessera", []),
    ],
)
def test_credentials_in_the_database_url_are_secrets(url: str, expected: list[str]) -> None:
    settings = Settings(database={"url": url})
    assert settings_secrets(settings) == expected
