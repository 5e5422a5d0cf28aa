"""The ``pm`` command: serve, demo, token, tenants, cluster. A door like the others: it parses its
arguments, calls the wiring or one service entry, and prints the answer.

Start-up is kept to the interpreter and argparse: this module and the parsers of each command
(pm.cli.tenants, pm.cli.cluster) import nothing else, and a command's handler, named here as
``"module:function"``, is imported only when that command runs. ``pm --help`` so never loads
FastAPI, SQLAlchemy or pydantic, and ``pm tenants list`` never loads the server
(tests/test_cli_startup.py holds both).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pm.cli import cluster, tenants


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from pm.config import ConfigError

    try:
        return int(_handler(args.handler)(args))
    except ConfigError as exc:
        print(f"pm: configuration error: {exc}", file=sys.stderr)
        return 2


def _handler(name: str) -> Any:
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="TOML settings file (or PM_CONFIG_FILE)")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the API (needs a signing key)")
    serve.add_argument("--host", help="listen address (or PM_HOST)")
    serve.add_argument("--port", type=int, help="listen port (or PM_PORT)")
    serve.add_argument(
        "--workers", type=int, help="processes on this port (or PM_WORKERS; >1 needs Redis)"
    )
    serve.set_defaults(handler="pm.cli.serving:serve")

    demo = sub.add_parser(
        "demo", help="a demo tenant with a kept key and tokens for three people; serve"
    )
    demo.add_argument("--host", help="listen address (or PM_HOST; 127.0.0.1)")
    demo.add_argument("--port", type=int, help="listen port (or PM_PORT; 8000)")
    demo.add_argument("--data-dir", type=Path, help="data folder (or PM_DATA_DIR; ./data)")
    demo.set_defaults(handler="pm.cli.serving:demo")

    token = sub.add_parser(
        "token", help="mint a token with PM_JWT_SECRET (or the demo's key in the data folder)"
    )
    token.add_argument("--tenant", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--roles", default="", help="comma separated, e.g. admin")
    token.add_argument("--ttl", type=int, default=3600, help="seconds")
    token.set_defaults(handler="pm.cli.serving:token")

    tenants.add_parser(sub)
    cluster.add_parser(sub)
    return parser
