"""``make bench`` / ``python -m bench [SUITE ...]``: run the suites in order, each printing its
figures as ratios against a baseline measured in the same run (raw sqlite3, a bare echo socket,
a bare FastAPI route). Network load goes to 127.0.0.1 only, bounded in count and time."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

SUITES = (
    "tenancy",
    "services",
    "ws",
    "live",
    "rest",
    "board",
    "scale",
    "agents",
    "fields",
    "cli",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=f"any of {', '.join(SUITES)}")
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s): {', '.join(unknown)}")
    for name in args.suites or SUITES:
        started = time.perf_counter()
        print(f"\n== {name} ==", flush=True)
        module = importlib.import_module(f"bench.bench_{name}")
        module.run(quick=args.quick)
        print(f"({name}: {time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
