"""The ``pm`` command: serve, demo, token, tenants."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import secrets
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import uvicorn
from tqdm import tqdm
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from pm.auth import issue_token
from pm.config import ConfigError, Settings, load_settings
from pm.errors import PmError
from pm.observability.logging import configure_logging
from pm.services.llm_context import seed_llm_context
from pm.tenancy.backup import PAGES_PER_STEP, BackupRefused, backup_tenant
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager
from pm.tenancy.stats import as_json, collect_stats, format_table

DEMO_TENANT = "demo"
DEMO_USER = "demo-user"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"pm: configuration error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pm", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML settings file (or PM_CONFIG_FILE)")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the API (needs a signing key)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers", type=int, help="processes on this port (or PM_WORKERS; >1 needs Redis)"
    )
    serve.set_defaults(handler=_serve)

    demo = sub.add_parser("demo", help="throw-away key, seeded demo tenant, ready token; serve")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    demo.set_defaults(handler=_demo)

    token = sub.add_parser("token", help="mint a token with PM_JWT_SECRET")
    token.add_argument("--tenant", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--roles", default="", help="comma separated, e.g. admin")
    token.add_argument("--ttl", type=int, default=3600, help="seconds")
    token.set_defaults(handler=_token)

    tenants = sub.add_parser("tenants", help="tenant administration")
    tsub = tenants.add_subparsers(required=True, metavar="ACTION")
    tsub.add_parser("list", help="tenants on disk").set_defaults(handler=_tenants_list)
    create = tsub.add_parser("create", help="create and migrate a tenant")
    create.add_argument("tenant_id")
    create.set_defaults(handler=_tenants_create)
    tsub.add_parser("migrate", help="migrate every tenant to head").set_defaults(
        handler=_tenants_migrate
    )
    backup = tsub.add_parser("backup", help="consistent copy of a tenant, safe while serving")
    backup.add_argument("tenant_id")
    backup.add_argument("dest", type=Path, help="a file, or a folder for <id>-<UTC time>.db")
    backup.add_argument("--force", action="store_true", help="replace an existing file")
    backup.add_argument(
        "--pages-per-step", type=_positive_int, default=PAGES_PER_STEP, help="pages per step"
    )
    backup.set_defaults(handler=_tenants_backup)
    stats = tsub.add_parser("stats", help="size, items, members, last activity per tenant")
    stats.add_argument("--json", action="store_true", help="one JSON document")
    stats.set_defaults(handler=_tenants_stats)
    return parser


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    return load_settings(args.config, **values)


def _serve(args: argparse.Namespace) -> int:
    overrides = {"host": args.host, "port": args.port, "workers": args.workers}
    settings = _settings(args, **overrides)
    settings.require_signing_key()
    settings.prepare_data_dir()
    if settings.workers == 1:
        _run_server(settings)
        return 0
    from pm.workers import Supervisor

    configure_logging(settings.log_level)
    listener = uvicorn.Config(
        "pm.app:create_app", host=settings.host, port=settings.port, log_config=None
    )
    build = functools.partial(_worker_server, args.config, overrides)
    return Supervisor(listener, build, settings.workers).run()


def _worker_server(config_file: Path | None, overrides: dict[str, object]) -> uvicorn.Server:
    """One worker's server, built in the worker from the same file, environment and options."""
    settings = load_settings(config_file, **{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level)
    return _draining_server(settings)


class DrainingServer(uvicorn.Server):
    """uvicorn's own shutdown closes every WebSocket with 1012 at once, dropping the answer of a
    request still being served, and ends the app's lifespan only after the sockets are gone. So
    the listeners close first, then the app drains (pm.app.drain: in-flight requests answered,
    sockets closed with 1012), then uvicorn's shutdown waits for HTTP requests with what is left
    of the grace. A tenth of the grace is kept for the lifespan's teardown (tenant files)."""

    TEARDOWN_SHARE = 0.1
    POLL_SECONDS = 0.02

    def __init__(
        self,
        config: uvicorn.Config,
        drain: Callable[[], Awaitable[None]],
        grace: float,
        *,
        unready: Callable[[], None],
        unready_seconds: float,
    ) -> None:
        super().__init__(config)
        self._drain = drain
        self._grace = grace
        self._unready = unready
        self._unready_seconds = unready_seconds

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Not ready, still serving: the load balancer takes this instance out of rotation
        # before its listeners close (the grace starts after this).
        self._unready()
        await asyncio.sleep(self._unready_seconds)
        deadline = time.monotonic() + self._grace * (1 - self.TEARDOWN_SHARE)
        for server in self.servers:
            server.close()  # stop accepting before anything else
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(deadline - time.monotonic()):
                await self._drain()
                await self._closing_handshakes()
        # uvicorn's wait takes whole seconds; rounding down keeps it inside the grace.
        self.config.timeout_graceful_shutdown = max(0, int(deadline - time.monotonic()))
        await super().shutdown(sockets)

    async def _closing_handshakes(self) -> None:
        """Every drained socket has sent its close frame; wait for each client's reply before
        uvicorn drops the TCP connection. Dropped earlier, with requests the client pipelined
        still unread on the server, the kernel answers with a reset, and a reset discards the
        last answers and the close frame still unread in the client's buffer."""
        while self._websockets_open():  # noqa: ASYNC110 (uvicorn has no event for it: poll)
            await asyncio.sleep(self.POLL_SECONDS)

    def _websockets_open(self) -> bool:
        return any(isinstance(c, WebSocketsSansIOProtocol) for c in self.server_state.connections)


def _run_server(settings: Settings) -> None:
    configure_logging(settings.log_level)
    server = _draining_server(settings)
    # As uvicorn.run does: Ctrl-C is a normal stop, and a server that never started fails.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _draining_server(settings: Settings) -> DrainingServer:
    from pm.app import create_app, drain, stop_being_ready

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_max_size=settings.ws_max_frame_bytes,
        ws_ping_interval=settings.ws_ping_interval_seconds,
        ws_ping_timeout=settings.ws_ping_timeout_seconds,
        log_config=None,
        access_log=False,
    )
    return DrainingServer(
        config,
        functools.partial(drain, app),
        settings.shutdown_grace_seconds,
        unready=functools.partial(stop_being_ready, app),
        unready_seconds=settings.shutdown_unready_seconds,
    )


def _demo(args: argparse.Namespace) -> int:
    secret = secrets.token_urlsafe(48)
    settings = _settings(
        args, host=args.host, port=args.port, data_dir=args.data_dir, jwt_secret=secret
    )
    tenants_root = settings.prepare_data_dir()
    fresh = not (tenants_root / DEMO_TENANT / "main.db").exists()
    if fresh:
        asyncio.run(_seed_demo(settings))
    token = issue_token(
        secret, tenant_id=DEMO_TENANT, user_id=DEMO_USER, roles=["admin"], ttl_seconds=12 * 3600
    )
    base = f"{settings.host}:{settings.port}"
    print(
        f"\npm demo: tenant '{DEMO_TENANT}' in {tenants_root}{' (seeded)' if fresh else ''}\n"
        f"  API docs : http://{base}/docs\n"
        f"  WebSocket: ws://{base}/ws\n"
        f"  token (12 h, user {DEMO_USER}, tenant admin):\n\n{token}\n\n"
        f"  try: curl -H 'Authorization: Bearer <token>' http://{base}/api/v1/projects\n",
        flush=True,
    )
    _run_server(settings)
    return 0


async def _seed_demo(settings: Settings) -> None:
    from pm.app import build_components
    from pm.services.context import RequestContext
    from pm.services.demo import seed_demo

    components = build_components(settings)
    try:
        ctx = RequestContext(
            tenant_id=DEMO_TENANT, user_id=DEMO_USER, roles=frozenset({"admin"}), name="Demo User"
        )
        await seed_demo(components.services, ctx)
    finally:
        components.tenants.close()


def _token(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.jwt_secret:
        raise ConfigError("PM_JWT_SECRET: `pm token` signs with the HS256 secret; set it")
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    print(
        issue_token(
            settings.jwt_secret,
            tenant_id=args.tenant,
            user_id=args.user,
            roles=roles,
            ttl_seconds=args.ttl,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )
    return 0


def _manager(settings: Settings) -> TenantConnectionManager:
    return TenantConnectionManager(
        TenancyConfig(tenants_root=settings.prepare_data_dir(), worker_threads=1),
        on_create=seed_llm_context,
    )


def _tenants_list(args: argparse.Namespace) -> int:
    manager = _manager(_settings(args))
    try:
        for tenant_id in manager.list_tenant_ids():
            print(tenant_id)
    finally:
        manager.close()
    return 0


def _tenants_create(args: argparse.Namespace) -> int:
    manager = _manager(_settings(args))
    try:
        if manager.tenant_exists(args.tenant_id):
            print(f"pm: tenant {args.tenant_id} already exists", file=sys.stderr)
            return 1
        manager.open_sync(args.tenant_id, create=True)
        print(f"created tenant {args.tenant_id}")
    except PmError as exc:
        print(f"pm: {exc.message}", file=sys.stderr)
        return 2
    finally:
        manager.close()
    return 0


def _tenants_migrate(args: argparse.Namespace) -> int:
    """Every tenant file to head; a broken file is reported and the rest still migrate."""
    settings = _settings(args)
    manager = _manager(settings)
    failures: list[tuple[str, str]] = []
    try:
        for tenant_id in tqdm(manager.list_tenant_ids(), desc="migrating", unit="tenant"):
            try:
                manager.open_sync(tenant_id, create=False)
            except Exception as exc:
                failures.append(
                    (tenant_id, f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")
                )
            finally:
                manager.close_idle(now=float("inf"))
    finally:
        manager.close()
    for tenant_id, reason in failures:
        print(f"pm: tenant {tenant_id} failed to migrate: {reason}", file=sys.stderr)
    return 1 if failures else 0


def _tenants_root(settings: Settings) -> Path:
    """The tenants folder as configured, not created: backup and stats only read tenants."""
    return settings.data_dir / "tenants"


def _tenants_backup(args: argparse.Namespace) -> int:
    root = _tenants_root(_settings(args))
    try:
        result = backup_tenant(
            root, args.tenant_id, args.dest, force=args.force, pages_per_step=args.pages_per_step
        )
    except BackupRefused as exc:
        print(f"pm: {exc}", file=sys.stderr)
        return 1
    except PmError as exc:
        print(f"pm: {exc.message}", file=sys.stderr)
        return 1
    print(
        f"backed up tenant {args.tenant_id} to {result.path} "
        f"({result.size_bytes} bytes, {result.pages} pages, integrity ok)"
    )
    return 0


def _tenants_stats(args: argparse.Namespace) -> int:
    """Every tenant's row is printed; the exit code is 1 if any file could not be read."""
    root = _tenants_root(_settings(args))
    manager = TenantConnectionManager(TenancyConfig(tenants_root=root, worker_threads=1))
    try:
        rows = collect_stats(root, manager.list_tenant_ids())
    finally:
        manager.close()
    print(json.dumps(as_json(rows), indent=2) if args.json else format_table(rows))
    return 1 if any(row.error is not None for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
