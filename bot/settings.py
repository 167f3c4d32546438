"""Configuration: one ``Settings`` with typed sections, from the environment and a TOML file.

Environment variables use the prefix ``TESSERA_`` and ``__`` for nesting
(``TESSERA_PROVIDER__BASE_URL``); ``DISCORD_TOKEN`` is accepted for the token. A ``.env``
file in the working directory is read too (below the real environment), with or without
Docker. The TOML file
(``config/tessera.toml``, or the path in ``TESSERA_CONFIG``) holds everything but secrets:
secrets come from the environment only, so they never end up in a file that gets shared.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.errors import ConfigError
from bot.providers.diffusion.presets import BUILT_IN_PRESETS, ModelPreset

DEFAULT_CONFIG_PATH = Path("config/tessera.toml")
DOTENV_PATH = Path(".env")
"""Read from the working directory, below the real environment, as Docker Compose does."""
SECRET_KEYS = (("discord", "token"), ("provider", "api_secret"))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DiscordSettings(_Section):
    """How the bot reaches Discord."""

    token: SecretStr | None = None
    api_base: str = "https://discord.com/api/v10"
    """REST root; point it at a rate-limit proxy (nirn-proxy) or, in tests, at a fake."""
    owner_ids: tuple[int, ...] = ()
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    """Discord's attachment limit for the bot; larger results are re-encoded to fit."""
    progress_edit_interval: float = Field(default=2.0, ge=0)
    """Seconds between two progress edits of one status message (edits coalesce)."""
    guild_ready_timeout: float = Field(default=2.0, ge=0)
    shard_count: int | None = Field(default=None, ge=1)
    """Gateway shards of the whole bot; None: the count Discord recommends, all in this process."""
    shard_ids: tuple[int, ...] | None = None
    """The shards this process runs (several processes split the guilds); None: every shard."""

    @field_validator("shard_ids")
    @classmethod
    def _shard_ids_fit_the_count(
        cls, ids: tuple[int, ...] | None, info: ValidationInfo
    ) -> tuple[int, ...] | None:
        if ids is None or "shard_count" not in info.data:
            return ids  # unset, or shard_count is invalid itself (reported on its own line)
        count: int | None = info.data["shard_count"]
        if count is None:
            raise _shard_error("needs discord.shard_count too (the shards over every process)")
        if not ids:
            # discord.py would read an empty list as "every shard".
            raise _shard_error("empty; list this process's shards, or leave it unset to run all")
        outside = sorted({i for i in ids if not 0 <= i < count})
        if outside:
            raise _shard_error(
                f"ids go from 0 to {count - 1} (shard_count is {count}); "
                f"{', '.join(map(str, outside))} {'is' if len(outside) == 1 else 'are'} not"
            )
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise _shard_error(f"{', '.join(map(str, twice))} is listed more than once")
        return ids


def _shard_error(message: str) -> PydanticCustomError:
    # A custom error keeps pydantic's "Value error, " prefix out of the one-line report.
    return PydanticCustomError("shard_ids", message)


class ProviderSettings(_Section):
    """The image provider: the embedded diffusion model, or a midjourney-proxy server."""

    kind: Literal["diffusion", "midjourney-proxy"] | None = None
    """None: ``midjourney-proxy`` when ``base_url`` is set, else the local ``diffusion``."""
    base_url: str = "http://127.0.0.1:8080/mj"
    api_secret: SecretStr | None = None
    max_concurrency: int = Field(default=3, ge=1, le=100)
    """The provider's concurrent slots (its ``core-size``); never more tasks in flight."""
    poll_interval: float = Field(default=2.0, gt=0)
    """Slowest interval between two status polls of a waiting task, in seconds."""
    connect_timeout: float = Field(default=5.0, gt=0)
    request_timeout: float = Field(default=20.0, gt=0)
    speed_routing: Literal["prompt", "path", "account_filter"] = "prompt"
    """How the speed mode reaches the provider: a prompt flag, a path prefix, or a filter."""
    relax_upstream: Literal["fast", "relax"] = "fast"
    """What a bot-scheduled relax job asks the provider for (most providers have no relax)."""
    circuit_failure_threshold: int = Field(default=5, ge=1)
    circuit_reset_seconds: float = Field(default=30.0, gt=0)
    max_download_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    webhook_host: str | None = None
    """Bind address of the optional notifyHook receiver; None disables it."""
    webhook_port: int = Field(default=8787, ge=0, le=65535)
    webhook_public_url: str | None = None
    """The URL the provider can reach the receiver at (defaults to host and port)."""

    @property
    def selected_kind(self) -> Literal["diffusion", "midjourney-proxy"]:
        """The provider in use: as set, else midjourney-proxy only where a URL was given."""
        if self.kind is not None:
            return self.kind
        return "midjourney-proxy" if "base_url" in self.model_fields_set else "diffusion"


class DiffusionSettings(_Section):
    """The local provider: which models render which versions, on which device."""

    model: str | None = None
    """Replaces the default version's model: a repo id, a diffusers directory or a
    ``.safetensors`` file."""
    steps: int | None = Field(default=None, ge=1, le=200)
    """Replaces the default version's steps at ``--q 1``."""
    device: str = Field(default="auto", pattern=r"^(auto|cpu|mps|cuda(:[0-9]+)?)$")
    """``auto`` picks CUDA, then Apple MPS, then the CPU."""
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"
    versions: dict[str, str] = Field(
        default_factory=lambda: {"7": "turbo", "6.1": "turbo", "6": "guided", "niji 6": "guided"}
    )
    """``--v`` / ``--niji`` value (``"7"``, ``"niji 6"``) to preset name; others are refused."""
    presets: dict[str, ModelPreset] = Field(default_factory=dict)
    """Presets added to, or replacing, the built-in ``turbo`` and ``guided``."""
    cache_dir: str | None = None
    """Where model weights are kept; None: Hugging Face's cache (``HF_HOME``)."""
    results_dir: str = "data/results"
    result_retention_days: float = Field(default=30.0, gt=0)
    """Rendered images are kept this long; buttons on older results say they expired."""
    cpu_offload: bool = False
    attention_slicing: bool = False
    vae_tiling: bool = False
    threads: int | None = Field(default=None, ge=1)
    """CPU threads a render may use; None: torch's default (every core)."""
    batch_jobs: int = Field(default=1, ge=1, le=8)
    """Jobs of the same shape rendered in one pipeline call; a GPU feature: on a CPU it
    saves nothing."""
    preview_interval: float = Field(default=1.0, ge=0.2)
    """Seconds between two progress previews of one render."""
    start_timeout: float = Field(default=300.0, gt=0)
    """How long the worker process may take to import torch and start."""

    @model_validator(mode="after")
    def _versions_name_presets(self) -> DiffusionSettings:
        # A typo here would fail every job of that version, and only at render time.
        known = {*BUILT_IN_PRESETS, *self.presets}
        unknown = sorted({name for name in self.versions.values() if name not in known})
        if unknown:
            raise ValueError(
                f"versions names no preset {', '.join(unknown)}; "
                f"known presets: {', '.join(sorted(known))}"
            )
        return self


class OutboundSettings(_Section):
    """Downloads made on a member's behalf (image prompts, result images): see bot.outbound."""

    allowed_hosts: tuple[str, ...] = ()
    """Hosts exempt from the public-address rule, as written in URLs (a private image CDN;
    ``127.0.0.1`` for loopback test fakes). Env: TESSERA_OUTBOUND__ALLOWED_HOSTS='["cdn.lan"]'."""


class DatabaseSettings(_Section):
    """Where jobs, the ledger and settings live."""

    url: str = "sqlite:///data/tessera.db"


class SchedulerSettings(_Section):
    """Queue policy: limits, relax share, watchdog."""

    max_running_per_user: int = Field(default=3, ge=1)
    max_waiting_per_user: int = Field(default=10, ge=1)
    max_running_per_guild: int = Field(default=0, ge=0)
    """0: no limit below the provider's slots."""
    max_waiting_per_guild: int = Field(default=200, ge=1)
    relax_share: float = Field(default=0.1, ge=0, le=1)
    """Share of slot starts reserved for relax jobs so they never starve."""
    stall_timeout: float = Field(default=300.0, gt=0)
    """A running task whose progress does not change for this long is failed and refunded."""
    job_timeout: float = Field(default=900.0, gt=0)
    """A running task older than this is failed and refunded."""
    confirm_above: int = Field(default=5, ge=1)
    """``/imagine`` asks for confirmation before queueing more jobs than this."""
    lease_seconds: float = Field(default=15.0, ge=3, le=30)
    """Each dispatching process's lease: renewed every third of this; when the process dies,
    another adopts its jobs within this long (``bot/jobs/adoption.py``)."""


class RetentionSettings(_Section):
    """How long finished jobs keep their record, and how the background pruning runs."""

    job_days: float = Field(default=365.0, gt=0)
    """Finished jobs older than this are deleted; their buttons then say the job expired."""
    prune_interval: float = Field(default=3600.0, gt=0)
    """Seconds between pruning passes."""
    prune_batch: int = Field(default=500, ge=1)
    """Jobs deleted per transaction, so a pass never holds the database for long."""


class CostSettings(_Section):
    """The cost model: base cost per action times multipliers (1 credit = 1 fast grid)."""

    base: dict[str, float] = Field(
        default_factory=lambda: {
            "imagine": 1.0,
            "variation": 1.0,
            "reroll": 1.0,
            "upscale": 0.25,
            "vary": 1.0,
            "zoom": 1.0,
            "pan": 1.0,
            "upscale_subtle": 2.0,
            "upscale_creative": 2.0,
            "enhance": 1.0,
            "blend": 1.0,
            "describe": 0.25,
        }
    )
    speed: dict[str, float] = Field(
        default_factory=lambda: {"fast": 1.0, "turbo": 2.0, "relax": 0.0}
    )
    quality: dict[str, float] = Field(
        default_factory=lambda: {"0.25": 0.25, "0.5": 0.5, "1": 1.0, "2": 2.0, "4": 4.0}
    )
    draft: float = 0.5
    oref: float = 2.0


class QuotaSettings(_Section):
    """Budgets that apply until moderators set their own."""

    unit_name: str = "credits"
    period: Literal["day", "week", "month"] = "day"
    reset_hour_utc: int = Field(default=0, ge=0, le=23)
    default_guild_budget: float | None = Field(default=None, ge=0)
    """Credits per period for a guild's pool; None: unlimited until a moderator sets one."""
    default_member_budget: float | None = Field(default=None, ge=0)
    """Credits per period for each member; None: limited only by the guild pool."""
    costs: CostSettings = CostSettings()


class LoggingSettings(_Section):
    """Log level and format."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = False


class MetricsSettings(_Section):
    """The optional Prometheus metrics and health endpoint."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9108, ge=0, le=65535)


class Settings(BaseSettings):
    """Everything Tessera can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="TESSERA_",
        env_nested_delimiter="__",
        # An empty variable is unset (docker-compose passes every listed one, set or not).
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
    )

    discord: DiscordSettings = DiscordSettings()
    provider: ProviderSettings = ProviderSettings()
    database: DatabaseSettings = DatabaseSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    retention: RetentionSettings = RetentionSettings()
    quota: QuotaSettings = QuotaSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    diffusion: DiffusionSettings = DiffusionSettings()
    outbound: OutboundSettings = OutboundSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment, then ``.env``, then the TOML file (``load_settings``'s init data)."""
        # .env also holds Compose's own variables (MJ_...): only TESSERA_ ones are settings.
        dotenv = DotEnvSettingsSource(
            settings_cls, env_file=DOTENV_PATH, dotenv_filtering="match_prefix"
        )
        return (env_settings, dotenv, init_settings)


def _read_toml(path: Path, *, required: bool) -> tuple[dict[str, Any], list[str]]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        # The default file is optional; one the operator named must exist (a typo in
        # --config or TESSERA_CONFIG would otherwise run the bot on defaults, silently).
        if required:
            return {}, [f"{path}: the configuration file does not exist"]
        return {}, []
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"{path}: cannot read the configuration file: {exc}"]
    problems = [
        f"{path}: [{section}] {key} is a secret; set it in the environment as "
        f"TESSERA_{section.upper()}__{key.upper()} instead"
        for section, key in SECRET_KEYS
        if isinstance(data.get(section), dict) and key in data[section]
    ]
    return data, problems


def _describe(error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "settings"
        env = "TESSERA_" + "__".join(str(part).upper() for part in item["loc"])
        if item["type"] == "extra_forbidden":
            lines.append(f"{name}: unknown setting (check the spelling of {name} / {env})")
        else:
            lines.append(f"{name}: {item['msg']} (set {env} or [{name}] in the TOML file)")
    return lines


def load_settings(config_path: Path | None = None) -> Settings:
    """Build the settings from the TOML file and the environment, or raise ``ConfigError``."""
    env = os.environ
    named = config_path or (Path(env["TESSERA_CONFIG"]) if env.get("TESSERA_CONFIG") else None)
    data, problems = _read_toml(named or DEFAULT_CONFIG_PATH, required=named is not None)
    if problems:
        raise ConfigError(problems)
    dotenv = dotenv_values(DOTENV_PATH) if DOTENV_PATH.is_file() else {}
    if "TESSERA_DISCORD__TOKEN" not in env and "TESSERA_DISCORD__TOKEN" not in dotenv:
        token = env.get("DISCORD_TOKEN") or dotenv.get("DISCORD_TOKEN")
        if token:
            data["discord"] = {**data.get("discord", {}), "token": token}
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
