"""``pm serve``, ``pm demo`` and ``pm token``.

The demo is the one-command local mode: it keeps its signing key in its data folder
(``demo.key``, 0600, made on the first run), so tokens it printed stay valid across restarts and
``pm token`` can mint more; it seeds the ``demo`` tenant once and prints sign-in links for three
people with different roles. Its data folder is the one every other command reads by default
(PM_DATA_DIR, ``./data``), so ``pm tenants list`` after ``make run`` shows the demo tenant.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from pm.auth import issue_token
from pm.board.links import board_url
from pm.cli.options import settings_of
from pm.config import ConfigError, Settings
from pm.demo import DEMO_NAME, DEMO_TENANT, DEMO_USER, PEOPLE, seed_demo
from pm.doorkit.caller import caller_context
from pm.server import run_server
from pm.wiring import build_components
from pm.workers import serve_workers

DEMO_TOKEN_SECONDS = 12 * 3600
DEMO_KEY = "demo.key"


def serve(args: argparse.Namespace) -> int:
    overrides = {"host": args.host, "port": args.port, "workers": args.workers}
    settings = settings_of(args, **overrides)
    settings.require_signing_key()
    settings.require_node_identity()
    settings.prepare_data_dir()
    if settings.workers == 1:
        run_server(settings)
        return 0
    return serve_workers(settings, args.config, overrides)


@dataclass(frozen=True)
class DemoPerson:
    user_id: str
    name: str
    role: str  # as the sign-in line says it
    roles: tuple[str, ...]  # the token's roles claim


def demo(args: argparse.Namespace) -> int:
    plain = settings_of(args, host=args.host, port=args.port, data_dir=args.data_dir)
    secret = demo_key(plain.data_dir, create=True)
    assert secret is not None  # made when missing
    settings = plain.model_copy(update={"jwt_secret": secret})
    tenants_root = settings.prepare_data_dir()
    people = [DemoPerson(DEMO_USER, DEMO_NAME, "admin", ("admin",))] + [
        DemoPerson(user_id, name, role, ()) for user_id, name, role in PEOPLE
    ]
    tokens = {p.user_id: _demo_token(secret, p) for p in people}
    fresh = not (tenants_root / DEMO_TENANT / "main.db").exists()
    if fresh:
        asyncio.run(_seed_demo(settings, tokens[DEMO_USER]))
    print(_demo_banner(settings, tenants_root, people, tokens, fresh=fresh), flush=True)
    run_server(settings)
    return 0


def _demo_token(secret: str, person: DemoPerson) -> str:
    return issue_token(
        secret,
        tenant_id=DEMO_TENANT,
        user_id=person.user_id,
        roles=list(person.roles),
        name=person.name,
        ttl_seconds=DEMO_TOKEN_SECONDS,
    )


def _demo_banner(
    settings: Settings,
    tenants_root: Path,
    people: list[DemoPerson],
    tokens: dict[str, str],
    *,
    fresh: bool,
) -> str:
    base = f"{settings.host}:{settings.port}"
    lines = [
        "",
        f"pm demo: tenant '{DEMO_TENANT}' in {tenants_root}{' (seeded)' if fresh else ''}",
        f"  signing key: {settings.data_dir / DEMO_KEY} (kept: tokens stay valid across restarts)",
        "  Board, one window per person (open 'Mobile app launch'):",
    ]
    for person in people:
        lines.append(f"    {person.name} ({person.user_id}, {person.role}):")
        lines.append(f"      {board_url(base, tokens[person.user_id])}")
    lines += [
        f"  API docs : http://{base}/docs      WebSocket: ws://{base}/ws",
        f"  token of {DEMO_USER} (12 h, tenant admin), for the API:",
        "",
        tokens[DEMO_USER],
        "",
        f"  try: curl -H 'Authorization: Bearer <token>' http://{base}/api/v1/projects",
        f"  more tokens: pm token --tenant {DEMO_TENANT} --user <id> [--roles admin]",
        "",
    ]
    return "\n".join(lines)


async def _seed_demo(settings: Settings, token: str) -> None:
    """The demo project, made by the user of the printed token, as a door would make it."""
    components = build_components(settings)
    try:
        await seed_demo(components.services, caller_context(components.verifier.verify(token)))
    finally:
        components.tenants.close()


def demo_key(data_dir: Path, *, create: bool) -> str | None:
    """The demo's signing key, kept in its data folder (made once, 0600); None if there is
    none and ``create`` is off."""
    path = data_dir / DEMO_KEY
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    if not create:
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another demo made it meanwhile: use that one
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"PM_DATA_DIR: can't keep the demo's key in {data_dir} ({exc})") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(secret + "\n")
    return secret


def token(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    secret = settings.jwt_secret
    if not secret:
        secret = demo_key(settings.data_dir, create=False)
        if secret is None:
            raise ConfigError(
                "PM_JWT_SECRET: `pm token` signs with the HS256 secret; set it (or run "
                "`pm demo` once, whose key in the data folder it uses then)"
            )
        print(f"pm: signing with the demo's key ({settings.data_dir / DEMO_KEY})", file=sys.stderr)
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    print(
        issue_token(
            secret,
            tenant_id=args.tenant,
            user_id=args.user,
            roles=roles,
            ttl_seconds=args.ttl,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )
    return 0
