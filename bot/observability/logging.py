"""Structured logs: the current job id on every record, optional JSON lines, secrets redacted.

``job_context(job_id)`` binds a job id to the running task (a ``ContextVar``, so concurrent
asyncio tasks each keep their own); every record logged inside it carries ``job_id``. The
redaction filter replaces the token and the provider secret with ``[redacted]`` in messages,
arguments and tracebacks: secrets are never logged on purpose, this catches the accidents.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import LoggingSettings, Settings

REDACTED = "[redacted]"
QUIET_LIBRARIES = ("httpx", "httpcore")
"""They log every request URL at INFO: one line per status poll, and URLs can carry
credentials or signed image links. They speak at WARNING and above unless the root is quieter."""
_JOB_ID: ContextVar[int | None] = ContextVar("tessera_job_id", default=None)
_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s%(job_suffix)s: %(message)s"


@contextmanager
def job_context(job_id: int) -> Iterator[None]:
    """Tag every log record emitted inside the block (in this task) with ``job_id``."""
    token = _JOB_ID.set(job_id)
    try:
        yield
    finally:
        _JOB_ID.reset(token)


def current_job_id() -> int | None:
    """The job id bound by the innermost ``job_context``, if any."""
    return _JOB_ID.get()


class JobContextFilter(logging.Filter):
    """Adds ``job_id`` (and a text suffix) to each record from the current context."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops it."""
        # A job id passed explicitly (extra={"job_id": ...}) wins over the context.
        job_id = getattr(record, "job_id", None)
        if job_id is None:
            job_id = _JOB_ID.get()
        record.job_id = job_id
        record.job_suffix = "" if job_id is None else f" [job {job_id}]"
        return True


class RedactionFilter(logging.Filter):
    """Replaces known secret values in the message, its arguments and the traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another one is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        """Also redact ``secret`` from now on (secrets made at run time, e.g. a hook path)."""
        if secret and secret not in self._secrets:
            self._secrets = sorted({*self._secrets, secret}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops it."""
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A malformed call (wrong argument count): keep the raw parts, redacted.
            message = f"{record.msg} {record.args}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, job id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single-line JSON object."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        job_id = getattr(record, "job_id", None)
        if job_id is not None:
            entry["job_id"] = job_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # Records that bypassed the handler's filters still format.
        if not hasattr(record, "job_suffix"):
            record.job_suffix = ""
        return super().format(record)


def settings_secrets(settings: Settings) -> list[str]:
    """The secret values in ``settings`` that must never appear in a log line.

    Besides the token and the provider secret: credentials written into the provider's base
    URL (``https://user:password@vendor/mj``), which some hosted vendors hand out, and into
    the database URL (``postgresql://user:password@host/db``, or ``?password=``).
    """
    secrets = (settings.discord.token, settings.provider.api_secret)
    values = [secret.get_secret_value() for secret in secrets if secret is not None]
    for url in (settings.provider.base_url, settings.database.url):
        values.extend(_url_credentials(url))
    return values


def _url_credentials(url: str) -> list[str]:
    """The user:password part of a URL, its password, and a ``password=`` query value."""
    found: list[str] = []
    userinfo, _, _ = url.partition("://")[2].partition("/")[0].rpartition("@")
    user, colon, password = userinfo.partition(":")
    if password:
        found.extend((userinfo, password))
    elif userinfo and not colon and "://" in url and not url.startswith("postgres"):
        # A key alone in a provider URL (https://apikey@vendor/mj) is the secret; a database
        # user without a password is only a name (redacting "postgres" would maul the logs).
        found.append(user)
    query = url.partition("?")[2]
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "password" and value:
            found.append(value)
    return found


def redact_also(secret: str) -> None:
    """Add a secret made at run time to the installed handler's redaction list."""
    for handler in logging.getLogger().handlers:
        if handler.get_name() == "tessera":
            for log_filter in handler.filters:
                if isinstance(log_filter, RedactionFilter):
                    log_filter.add(secret)


def configure_logging(
    settings: LoggingSettings,
    *,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Install Tessera's one root handler (replacing a previous one); returns the handler."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name("tessera")
    # Filters on the handler, not a logger: they then see records from every library too.
    handler.addFilter(JobContextFilter())
    handler.addFilter(RedactionFilter(secrets))
    handler.setFormatter(JsonFormatter() if settings.json_format else _TextFormatter(_TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "tessera"]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(settings.level)
    quiet = max(logging.WARNING, root.level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
    return handler
