"""``check``: the configuration, the token's shape and the provider, one line per finding.

Nothing here prints a secret: findings name settings and environment variables, and URLs are
shown without any user:password part.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import httpx

from bot.cli.token import token_of, token_problem
from bot.errors import ConfigError
from bot.jobs.lease import is_worker
from bot.providers.diffusion.inspection import configuration_report, device_info
from bot.settings import DiffusionSettings, DiscordSettings, ProviderSettings, Settings
from bot.store.connect import open_database
from bot.store.database import Database, engine_of, sqlite_path
from bot.store.leases import Lease, LeaseRepository

# Asking for a task id that cannot exist: any HTTP answer proves the server is there, and
# the request changes nothing on it.
PROBE_TASK_ID = "tessera-check"
# Bind addresses meaning "every interface": nobody can connect to them as written.
WILDCARD_HOSTS = ("", "0.0.0.0", "::")  # noqa: S104 (recognised here, not bound)
SECRET_ENV = "TESSERA_PROVIDER__API_SECRET"  # noqa: S105 (a variable name, not a secret)


class Severity(StrEnum):
    """How bad a finding is: errors fail ``check``, warnings do not, ok lines inform."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the check report."""

    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.severity.value}: {self.message}"


def public_url(url: str) -> str:
    """``url`` without credentials or query (which may carry a ``password=``), safe to print."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    return str(parsed.copy_with(username=None, password=None, query=None))


async def probe_provider(settings: ProviderSettings, *, wait: float) -> Finding:
    """Ask the provider for a dummy task: reachable, refused (bad secret) or unreachable."""
    base = settings.base_url.rstrip("/")
    shown = public_url(base)
    headers = {}
    if settings.api_secret is not None:
        headers["mj-api-secret"] = settings.api_secret.get_secret_value()
    try:
        async with httpx.AsyncClient(timeout=wait) as client:
            response = await client.get(f"{base}/task/{PROBE_TASK_ID}/fetch", headers=headers)
    except httpx.TimeoutException:
        return Finding(
            Severity.ERROR, f"provider.base_url: {shown} did not answer within {wait:g} s"
        )
    except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        return Finding(
            Severity.ERROR,
            f"provider.base_url: cannot reach {shown} ({type(exc).__name__}); "
            "is the midjourney-proxy server running, and is TESSERA_PROVIDER__BASE_URL right?",
        )
    if response.status_code in (401, 403):
        hint = "check" if settings.api_secret is not None else "set"
        return Finding(
            Severity.ERROR,
            f"provider.api_secret: {shown} refused the request (HTTP {response.status_code}); "
            f"{hint} {SECRET_ENV}",
        )
    if response.status_code in (404, 405) and not _speaks_the_protocol(response):
        # A proxy answers an unknown task with an empty 200/204 or a JSON ``code``; a bare 404
        # usually means the URL misses the API root (``.../mj``).
        return Finding(
            Severity.WARNING,
            f"provider.base_url: {shown} answered HTTP {response.status_code} to a task lookup; "
            "midjourney-proxy serves its API under /mj (e.g. http://host:8080/mj): "
            "check TESSERA_PROVIDER__BASE_URL",
        )
    return Finding(Severity.OK, f"provider: {shown} answered (HTTP {response.status_code})")


def _speaks_the_protocol(response: httpx.Response) -> bool:
    """Whether an error answer carries the protocol's return code (``{"code": 3, ...}``)."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "code" in body


def database_finding(url: str) -> Finding:
    """Whether the database URL is usable and (SQLite) its directory writable."""
    try:
        engine = engine_of(url)
    except ConfigError as exc:
        return Finding(Severity.ERROR, exc.problems[0])
    if engine == "postgresql":
        return Finding(Severity.OK, f"database: PostgreSQL at {public_url(url)}")
    path = sqlite_path(url)
    if path == ":memory:":
        return Finding(Severity.WARNING, "database.url: in memory; every job is lost on exit")
    directory = Path(path).resolve().parent
    existing = next(p for p in (directory, *directory.parents) if p.exists())
    if not os.access(existing, os.W_OK):
        return Finding(Severity.ERROR, f"database.url: {existing} is not writable by this user")
    return Finding(Severity.OK, f"database: {path}")


def webhook_finding(settings: ProviderSettings) -> Finding | None:
    """A warning when the hook URL given to the provider would point at a wildcard address."""
    if settings.webhook_host is None or settings.webhook_public_url is not None:
        return None
    if settings.webhook_host in WILDCARD_HOSTS:
        return Finding(
            Severity.WARNING,
            f"provider.webhook_public_url: not set, so the provider would be told to call "
            f"{settings.webhook_host!r} port {settings.webhook_port}, which it cannot reach; "
            "set it to the address the provider sees (polling still works meanwhile)",
        )
    return None


def shard_finding(settings: DiscordSettings) -> Finding | None:
    """Which gateway shards this process runs, and which ones other processes must run."""
    count = settings.shard_count
    if count is None:
        return None
    gateway = f"gateway from {public_url(settings.api_base)}/gateway/bot"
    if settings.shard_ids is None or len(settings.shard_ids) == count:
        return Finding(Severity.OK, f"discord: all {count} shard(s) in this process ({gateway})")
    mine = sorted(settings.shard_ids)
    others = [i for i in range(count) if i not in mine]
    return Finding(
        Severity.OK,
        f"discord: shard(s) {_ids(mine)} of {count} in this process ({gateway}); "
        f"{_ids(others)} must run in other processes with the same discord.shard_count",
    )


def _ids(ids: list[int]) -> str:
    return ", ".join(map(str, ids))


def offline_findings(settings: Settings) -> list[Finding]:
    """Findings that need no network: the token, the database location, the webhook."""
    problem = token_problem(token_of(settings))
    token_finding = (
        Finding(Severity.ERROR, problem)
        if problem
        else Finding(Severity.OK, "discord.token: well formed")
    )
    findings = [token_finding, database_finding(settings.database.url)]
    optional = (shard_finding(settings.discord), webhook_finding(settings.provider))
    findings.extend(finding for finding in optional if finding is not None)
    return findings


def local_findings(settings: DiffusionSettings, *, probe_device: bool) -> list[Finding]:
    """The local provider: device and memory (``probe_device``), presets, licences, weights.

    Probing the device imports torch, so ``check --offline`` leaves it out.
    """
    findings = []
    gpu = settings.device not in ("auto", "cpu")
    if probe_device and importlib.util.find_spec("torch") is not None:
        try:
            info = device_info(settings)
        except ValueError as exc:
            findings.append(Finding(Severity.ERROR, f"diffusion.device: {exc}"))
        else:
            gpu = info.device != "cpu"
            free = "unknown" if info.free_bytes is None else f"{info.free_bytes / 2**30:.1f} GiB"
            findings.append(
                Finding(
                    Severity.OK,
                    f"diffusion: renders on {info.device} in {info.dtype}, {free} free",
                )
            )
    for line in configuration_report(settings, gpu=gpu):
        findings.append(Finding(Severity(line.level), line.message))
    return findings


async def schema_finding(url: str) -> Finding | None:
    """The database's engine and schema version, looked at without changing anything."""
    try:
        if engine_of(url) == "sqlite" and not await asyncio.to_thread(
            Path(sqlite_path(url)).exists
        ):
            return None  # created at the first start; nothing to read yet
        database = await open_database(url, migrate=False, maintain=False)
    except ConfigError as exc:
        return Finding(Severity.ERROR, exc.problems[0])
    try:
        version = await database.schema_version()
        pending = await database.pending_migrations()
        leases = [] if pending else await _leases(database)
    finally:
        await database.close()
    if pending:
        return Finding(
            Severity.WARNING,
            f"database: {database.engine}, schema version {version}; {len(pending)} migration(s)"
            " pending, applied at the next start (or now: python -m bot migrate)",
        )
    return Finding(
        Severity.OK,
        f"database: {database.engine}, schema version {version}; {_dispatching(leases)}",
    )


async def _leases(database: Database) -> list[Lease]:
    async with database.transaction() as tx:
        return await LeaseRepository().all(tx)


def _dispatching(leases: list[Lease], now: float | None = None) -> str:
    """Which processes dispatch (each holds a lease of its own), as ``check`` reports it."""
    now = time.time() if now is None else now
    live = [lease for lease in leases if is_worker(lease) and lease.expires_at > now]
    if not live:
        return "no process dispatches now (run and worker processes take a lease each)"
    names = ", ".join(
        f"{lease.holder} (renewed {now - lease.renewed_at:.0f} s ago)" for lease in live
    )
    return f"{len(live)} process(es) dispatch: {names}"


async def run_check(settings: Settings, *, offline: bool, wait: float) -> list[Finding]:
    """Every finding for ``settings``; no provider is reached, no torch imported, ``offline``."""
    findings = offline_findings(settings)
    if not offline:
        schema = await schema_finding(settings.database.url)
        if schema is not None:
            findings.append(schema)
    if settings.provider.selected_kind == "diffusion":
        findings.extend(
            await asyncio.to_thread(local_findings, settings.diffusion, probe_device=not offline)
        )
    elif not offline:
        findings.append(await probe_provider(settings.provider, wait=wait))
    return findings
