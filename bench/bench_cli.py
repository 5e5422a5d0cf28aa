"""The ``pm`` command's start-up, against the bare interpreter in the same run.

- ``pm --help`` and ``pm tenants list`` (on a data folder of a few tenants); baseline:
  ``python -c pass`` of the same interpreter. Wall time and the child's CPU (user + system), each
  command a fresh process, the commands alternating in one loop so machine noise hits all alike.
  Target: ``pm --help`` under 0.5 s wall (an operator's scripts call it thousands of times).
- tenant creation: N tenants by N ``pm tenants create ID`` calls against one
  ``pm tenants create ID...`` call, per tenant.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.common import BENCH_SECRET, median, ms, percentile, table, temp_dir

PM = Path(sys.executable).parent / "pm"
HELP_TARGET_SECONDS = 0.5


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run(quick: bool) -> None:
    rounds, tenants = (10, 10) if quick else (30, 40)
    with temp_dir() as data:
        env = {**os.environ, "PM_DATA_DIR": str(data), "PM_JWT_SECRET": BENCH_SECRET}
        seed = [str(PM), "tenants", "create", "a", "b", "c"]
        subprocess.run(seed, env=env, stdout=subprocess.DEVNULL, check=True)
        commands = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "pm --help": [str(PM), "--help"],
            "pm tenants list": [str(PM), "tenants", "list"],
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, command in commands.items():
                samples[name].append(_timed(command, env))
        base = median([wall for wall, _ in samples["python -c pass (baseline)"]])
        rows = []
        for name, runs in samples.items():
            walls = [wall for wall, _ in runs]
            rows.append(
                [
                    name,
                    ms(median(walls)),
                    ms(percentile(walls, 90)),
                    f"{median(walls) / base:.1f}x",
                    ms(median([cpu for _, cpu in runs])),
                ]
            )
        print(f"start-up, {rounds} runs each, alternating (fresh process every run):")
        table(rows, ["command", "wall p50", "wall p90", "vs baseline", "CPU p50"])
        help_p50 = median([wall for wall, _ in samples["pm --help"]])
        verdict = "meets" if help_p50 < HELP_TARGET_SECONDS else "MISSES"
        print(f"  pm --help {verdict} the {HELP_TARGET_SECONDS} s target")

        ids = [f"one-{n}" for n in range(tenants)]
        one_by_one = sum(_timed([str(PM), "tenants", "create", i], env)[0] for i in ids)
        bulk = [f"bulk-{n}" for n in range(tenants)]
        at_once, _ = _timed([str(PM), "tenants", "create", *bulk], env)
        print(f"\ncreating {tenants} tenants:")
        table(
            [
                ["one call per tenant", ms(one_by_one / tenants), "1.0x"],
                ["one call for all", ms(at_once / tenants), f"{one_by_one / at_once:.1f}x faster"],
            ],
            ["", "per tenant", "vs one call per tenant"],
        )
