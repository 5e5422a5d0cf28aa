"""The ``pm`` command: serve, demo, token, tenants. A door like the others: it parses its
arguments, calls the wiring or one service entry, and prints the answer."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from pm.auth import issue_token
from pm.board.links import board_url
from pm.cli import cluster, tenants
from pm.config import ConfigError, Settings, load_settings
from pm.demo import DEMO_NAME, DEMO_TENANT, DEMO_USER, TEAMMATE, seed_demo
from pm.doorkit.caller import caller_context
from pm.server import run_server
from pm.wiring import build_components
from pm.workers import serve_workers

DEMO_TOKEN_SECONDS = 12 * 3600


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

    tenants.add_parser(sub, _settings)
    cluster.add_parser(sub, _settings)
    return parser


def _settings(args: argparse.Namespace, **overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    return load_settings(args.config, **values)


def _serve(args: argparse.Namespace) -> int:
    overrides = {"host": args.host, "port": args.port, "workers": args.workers}
    settings = _settings(args, **overrides)
    settings.require_signing_key()
    settings.require_node_identity()
    settings.prepare_data_dir()
    if settings.workers == 1:
        run_server(settings)
        return 0
    return serve_workers(settings, args.config, overrides)


def _demo(args: argparse.Namespace) -> int:
    secret = secrets.token_urlsafe(48)
    settings = _settings(
        args, host=args.host, port=args.port, data_dir=args.data_dir, jwt_secret=secret
    )
    tenants_root = settings.prepare_data_dir()
    token = issue_token(
        secret,
        tenant_id=DEMO_TENANT,
        user_id=DEMO_USER,
        roles=["admin"],
        name=DEMO_NAME,
        ttl_seconds=DEMO_TOKEN_SECONDS,
    )
    colleague = issue_token(
        secret, tenant_id=DEMO_TENANT, user_id=TEAMMATE, name="Sam", ttl_seconds=DEMO_TOKEN_SECONDS
    )
    fresh = not (tenants_root / DEMO_TENANT / "main.db").exists()
    if fresh:
        asyncio.run(_seed_demo(settings, token))
    base = f"{settings.host}:{settings.port}"
    print(
        f"\npm demo: tenant '{DEMO_TENANT}' in {tenants_root}{' (seeded)' if fresh else ''}\n"
        f"  Board, open this (you, {DEMO_NAME}, admin):\n    {board_url(base, token)}\n"
        f"  Board as your colleague ({TEAMMATE}, editor), in another window:\n"
        f"    {board_url(base, colleague)}\n"
        f"  API docs : http://{base}/docs\n"
        f"  WebSocket: ws://{base}/ws\n"
        f"  token (12 h, user {DEMO_USER}, tenant admin):\n\n{token}\n\n"
        f"  try: curl -H 'Authorization: Bearer <token>' http://{base}/api/v1/projects\n",
        flush=True,
    )
    run_server(settings)
    return 0


async def _seed_demo(settings: Settings, token: str) -> None:
    """The demo project, made by the user of the printed token, as a door would make it."""
    components = build_components(settings)
    try:
        await seed_demo(components.services, caller_context(components.verifier.verify(token)))
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
