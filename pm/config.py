"""Settings: defaults < a TOML file (``--config`` or ``PM_CONFIG_FILE``) < ``PM_*`` environment.

One object, validated at start. A bad value stops the start with a message naming the setting by
its environment variable, so an operator can fix it without reading code.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MIN_HS_SECRET_BYTES = 32
CsvList = Annotated[list[str], NoDecode]


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it."""


class Settings(BaseSettings):
    """Every setting of the service, each a bound or a switch an operator may need to turn."""

    model_config = SettingsConfigDict(env_prefix="PM_", extra="forbid", validate_default=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("./data")
    # The control sockets of running processes (pm.control); <data dir>/run when unset
    run_dir: Path | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    jwt_secret: str | None = None
    jwt_public_key_file: Path | None = None
    jwt_algorithms: CsvList = Field(default_factory=list)
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    max_token_bytes: int = Field(default=8192, ge=512, le=65536)

    allowed_origins: CsvList = Field(default_factory=list)
    # Operations endpoints: with a token, /metrics answers only `Authorization: Bearer <token>`;
    # api_docs off removes /docs and /openapi.json.
    metrics_token: str | None = None
    api_docs: bool = True
    otlp_endpoint: str | None = None

    # Scale-out: workers on one host, nodes behind a proxy, the Redis bus between them
    workers: int = Field(default=1, ge=1, le=64)
    redis_url: str | None = None
    # A cluster: every node's id, as the proxy's upstream block names it (host:port), and this
    # node's. Tenants are placed by consistent hashing over them (pm.tenancy.placement).
    node_id: str | None = None
    nodes: CsvList = Field(default_factory=list)
    # A live event that arrives ahead of an earlier seq waits this long for it, then the gap is
    # filled from the change feed (another process's publish raced, or it died after commit).
    bus_gap_wait_seconds: float = Field(default=0.25, gt=0, le=10)
    bus_max_held_events: int = Field(default=10000, ge=1)
    bus_outbox: int = Field(default=10000, ge=1)  # events waiting for Redis, per process
    bus_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    presence_ttl_seconds: float = Field(default=30.0, ge=1, le=3600)

    # Tenancy
    auto_provision: bool = True
    # Tenants made by a first valid token: at most this many on disk, at most this often.
    max_tenants: int = Field(default=100_000, ge=1)
    tenant_provision_rate: str = "30/minute"
    # A tenant's budgets (QUOTA_EXCEEDED): the bytes its file may use, the bytes of changes it
    # may write per hour (every command's events, its activity and its idempotency record).
    tenant_max_bytes: int = Field(default=2 * 1024**3, ge=1024 * 1024)
    tenant_write_bytes_per_hour: int = Field(default=512 * 1024**2, ge=64 * 1024)
    max_open_tenants: int = Field(default=1000, ge=1)
    tenant_idle_seconds: float = Field(default=600.0, gt=0)
    # Threads that run transactions for every tenant. Commands are mostly Python, which the GIL
    # runs one thread at a time: past a few threads they only contend (measured on 2 cores:
    # 50 callers over 50 tenants ran 700 commands/s on 2 threads, 420/s on 16).
    worker_threads: int = Field(default=4, ge=1, le=256)
    readers_per_tenant: int = Field(default=4, ge=1, le=64)
    write_timeout_seconds: float = Field(default=10.0, gt=0)
    # Group commit: at most this many queued writes of one tenant share a transaction (each in
    # a savepoint; 1 turns it off).
    write_batch_max: int = Field(default=32, ge=1, le=1000)
    busy_timeout_ms: int = Field(default=5000, ge=0)
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"

    # Service layer
    idempotency_ttl_seconds: int = Field(default=86400, ge=60)
    change_retention_days: float = Field(default=30.0, gt=0)
    default_page_size: int = Field(default=100, ge=1)
    max_page_size: int = Field(default=500, ge=1)
    # Every page, snapshot and list is cut at this many bytes of content too (has_more and a
    # cursor lead on); a snapshot holds at most snapshot_max_items work items.
    max_response_bytes: int = Field(default=2 * 1024 * 1024, ge=16 * 1024)
    snapshot_max_items: int = Field(default=5000, ge=1)
    # The cycle and lead time report: a range of at most cycle_time_max_days days (by default
    # the last cycle_time_default_days), at most cycle_time_max_items items (has_more beyond).
    cycle_time_max_items: int = Field(default=2000, ge=1)
    cycle_time_max_days: int = Field(default=366, ge=1)
    cycle_time_default_days: int = Field(default=30, ge=1)
    # Workflow states: at most this many live states per project (a new one is refused beyond).
    states_max_per_project: int = Field(default=50, ge=2, le=500)
    max_message_id_chars: int = Field(default=128, ge=16, le=1024)
    # The cycle check of a new `blocks` dependency walks at most this many items.
    dependency_walk_limit: int = Field(default=10_000, ge=10)
    # Labels, custom fields and saved views (issue 15): per project, per item, per user; a
    # breach is a VALIDATION_ERROR naming the bound, counted in pm_bound_hits_total.
    labels_max_per_project: int = Field(default=200, ge=1)
    labels_max_per_item: int = Field(default=50, ge=1)
    fields_max_per_project: int = Field(default=50, ge=1)
    fields_max_options: int = Field(default=100, ge=1)
    fields_max_text_chars: int = Field(default=2000, ge=1)
    views_max_per_user: int = Field(default=100, ge=1)
    views_max_conditions: int = Field(default=20, ge=1)

    # Notifications: each user keeps at most max_per_user (the oldest are deleted as new ones
    # come); a text may mention at most max_mentions distinct handles (more is refused); an item
    # has at most max_watchers watchers (Watch is refused past it; automatic watching stops).
    notifications_max_per_user: int = Field(default=1000, ge=1)
    notifications_max_mentions: int = Field(default=50, ge=1, le=1000)
    notifications_max_watchers: int = Field(default=100, ge=1, le=10_000)

    # Every connection a peer opens, before it says anything (pm.server)
    # All TCP connections of the process, HTTP and WebSocket, signed in or not; also kept below
    # the descriptor limit (RLIMIT_NOFILE) less connection_fd_reserve, for tenant files and logs.
    max_connections: int = Field(default=10_000, ge=1)
    connection_fd_reserve: int = Field(default=256, ge=16)
    # The whole request (line, headers, body) must arrive within this; a WebSocket handshake is
    # such a request.
    http_request_timeout_seconds: float = Field(default=10.0, gt=0)
    http_keep_alive_seconds: int = Field(default=5, ge=1)
    # The request line and headers together; a single header line at most 8 KiB (websockets).
    http_max_header_bytes: int = Field(default=16 * 1024, ge=4096, le=1024 * 1024)

    # WebSocket door. Requests are counted per tenant and user, all of the user's connections
    # together, and every request through any door spends from both door's budgets.
    ws_rate_limit: str = "100/10seconds"
    ws_max_frame_bytes: int = Field(default=1024 * 1024, ge=1024)
    ws_max_json_depth: int = Field(default=64, ge=2, le=256)
    ws_send_queue: int = Field(default=256, ge=1)
    ws_ping_interval_seconds: float = Field(default=30.0, gt=0)
    ws_ping_timeout_seconds: float = Field(default=60.0, gt=0)
    ws_max_connections: int = Field(default=10000, ge=1)
    ws_max_connections_per_tenant: int = Field(default=1000, ge=1)
    ws_max_connections_per_user: int = Field(default=20, ge=1)
    ws_abuse_close_after: int = Field(default=50, ge=1)
    ws_close_timeout_seconds: float = Field(default=5.0, gt=0)
    # Presence changes of a project are coalesced over this window (longer for a large
    # audience: at most ws_presence_frames_per_second presence frames per project per second).
    ws_presence_window_seconds: float = Field(default=0.1, gt=0, le=10)
    ws_presence_frames_per_second: int = Field(default=2000, ge=1)
    # A socket's first frame must come this soon after the handshake; later, a socket that holds
    # no subscription and sends nothing for ws_idle_timeout_seconds is closed (4408).
    ws_first_frame_timeout_seconds: float = Field(default=10.0, gt=0)
    ws_idle_timeout_seconds: float = Field(default=300.0, gt=0)
    shutdown_grace_seconds: float = Field(default=10.0, gt=0)
    # On SIGTERM, /ready answers 503 this long before the listeners close, so a load balancer
    # stops sending new traffic first (Kubernetes: about its readiness probe period).
    shutdown_unready_seconds: float = Field(default=0.0, ge=0, le=300)

    # The operator's view on /metrics (pm.observability.operator_view): per-tenant series for
    # the top N tenants of each ranking only; the data folder's census every so often; under
    # workers, how often each worker hands its writes and sockets to the one scraped.
    metrics_top_tenants: int = Field(default=10, ge=1, le=1000)
    census_interval_seconds: float = Field(default=60.0, ge=1)
    metrics_publish_seconds: float = Field(default=5.0, gt=0, le=300)

    # REST door (and MCP, which shares its per-user budget)
    rest_rate_limit: str = "600/minute"
    context_max_items: int = Field(default=2000, ge=10)
    context_recent_activity: int = Field(default=50, ge=0)

    # MCP door
    mcp_max_request_bytes: int = Field(default=1024 * 1024, ge=1024)

    # Webhooks: targets outside these networks must be public addresses (CIDR, comma separated;
    # tests allow 127.0.0.1/32)
    webhook_allowed_networks: CsvList = Field(default_factory=list)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    webhook_concurrency: int = Field(default=16, ge=1, le=1000)
    webhook_batch: int = Field(default=100, ge=1, le=10000)
    webhook_retry_base_seconds: float = Field(default=1.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=600.0, gt=0)
    webhook_disable_after_failures: int = Field(default=20, ge=1)
    webhook_max_response_bytes: int = Field(default=4096, ge=0, le=1024 * 1024)
    # One process per data folder delivers (the holder of webhooks.lock); it re-reads a
    # webhook's due events this often even unwoken (commits of other workers), and looks for
    # webhooks made on other workers this often.
    webhook_poll_seconds: float = Field(default=5.0, gt=0)
    webhook_rescan_seconds: float = Field(default=60.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @model_validator(mode="after")
    def _node_in_its_cluster(self) -> Settings:
        if self.node_id and self.nodes and self.node_id not in self.nodes:
            raise ValueError(
                f"PM_NODE_ID ({self.node_id or 'unset'}) must be one of PM_NODES "
                f"({', '.join(self.nodes)}): a node must know which tenants are its own"
            )
        if self.node_id and not self.nodes:
            raise ValueError("PM_NODE_ID is set without PM_NODES: name every node of the ring")
        if len(set(self.nodes)) != len(self.nodes):
            raise ValueError("PM_NODES names a node twice")
        return self

    @field_validator(
        "jwt_algorithms", "allowed_origins", "nodes", "webhook_allowed_networks", mode="before"
    )
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _workers_need_a_bus(self) -> Settings:
        if self.workers > 1 and not self.redis_url:
            raise ValueError(
                f"PM_WORKERS={self.workers} needs PM_REDIS_URL: each worker is its own process, "
                "and without Redis a worker never sees the live events and presence of the others"
            )
        return self

    @field_validator("jwt_secret")
    @classmethod
    def _secret_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) < MIN_HS_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_HS_SECRET_BYTES} bytes for HS256")
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        import ipaddress

        for network in value:
            try:
                ipaddress.ip_network(network)
            except ValueError as exc:
                raise ValueError(f"not a network in CIDR notation: {network!r}") from exc
        return value

    @field_validator("ws_rate_limit", "rest_rate_limit", "tenant_provision_rate")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit in the 'limits' notation: {value!r}") from exc
        return value

    def require_signing_key(self) -> None:
        """``pm serve`` refuses to start with no way to verify tokens."""
        if not self.jwt_secret and not self.jwt_public_key_file:
            raise ConfigError(
                "PM_JWT_SECRET or PM_JWT_PUBLIC_KEY_FILE must be set: without a signing key "
                "no token can be verified (use `pm demo` for a local throw-away key)"
            )
        self.refuse_two_signing_keys()
        if self.jwt_public_key_file and not self.jwt_public_key_file.is_file():
            raise ConfigError(
                f"PM_JWT_PUBLIC_KEY_FILE: {self.jwt_public_key_file} is not a readable file"
            )

    def refuse_two_signing_keys(self) -> None:
        """A server verifies tokens with one key: with both set, one is a mistake (an operator
        moving to public keys who left the secret would keep its HS256 tokens valid)."""
        if self.jwt_secret and self.jwt_public_key_file:
            raise ConfigError(
                "PM_JWT_SECRET and PM_JWT_PUBLIC_KEY_FILE are both set: set one (moving to "
                "public keys? unset PM_JWT_SECRET, or tokens signed with it stay valid)"
            )

    def require_node_identity(self) -> None:
        """``pm serve`` in a cluster must know which node it is."""
        if self.nodes and not self.node_id:
            raise ConfigError(
                "PM_NODE_ID must be set with PM_NODES: name this node as PM_NODES does "
                f"({', '.join(self.nodes)})"
            )

    def prepare_data_dir(self) -> Path:
        """Create the tenants folder (0700: tenant data is for pm's user alone; a wider one is
        tightened) and prove it is writable, or say which setting is wrong. The probe file is
        this call's own: workers starting together share the folder."""
        tenants = self.data_dir / "tenants"
        try:
            tenants.mkdir(mode=0o700, parents=True, exist_ok=True)
            if stat.S_IMODE(tenants.stat().st_mode) & 0o077:
                os.chmod(tenants, 0o700)
            fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=tenants)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ConfigError(
                f"PM_DATA_DIR: {self.data_dir} is not a writable folder ({exc.strerror})"
            ) from exc
        return tenants


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one message per bad setting."""
    path = config_file or (Path(p) if (p := os.environ.get("PM_CONFIG_FILE")) else None)
    if path is not None and not path.is_file():
        raise ConfigError(f"PM_CONFIG_FILE: {path} is not a readable file")
    settings_cls: type[Settings] = Settings
    if path is not None:
        settings_cls = type(
            "FileSettings",
            (Settings,),
            {"model_config": SettingsConfigDict(**{**Settings.model_config, "toml_file": path})},
        )
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            if err["loc"]:
                name = "PM_" + "_".join(str(p) for p in err["loc"]).upper()
                lines.append(f"{name}: {err['msg']}")
            else:  # a rule across settings names them itself
                lines.append(str(err["msg"]).removeprefix("Value error, "))
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
