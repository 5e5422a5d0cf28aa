"""What every command reads from its arguments: the settings of the run."""

from __future__ import annotations

import argparse

from pm.config import Settings, load_settings


def settings_of(args: argparse.Namespace, **overrides: object) -> Settings:
    """The settings of this run: defaults < ``--config``/PM_CONFIG_FILE < PM_* < options."""
    values = {k: v for k, v in overrides.items() if v is not None}
    return load_settings(args.config, **values)
