"""Pieces every `rightswatch` sub-command shares."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from worker.settings import Settings, load_settings

RAN_WITH_FAILURES = 3
"""Exit status of `run --once` and `poll` when they ran but some feeds or alerts failed
(1: they could not run), so cron and scripts can tell the two apart."""

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML configuration file [env RIGHTSWATCH_CONFIG; default config/rightswatch.yaml].",
)


def settings_for(config_path: Path | None) -> Settings:
    """Settings from the environment, with `--config` taking precedence when given."""
    settings = load_settings()
    if config_path is not None:
        settings = dataclasses.replace(settings, config_path=config_path)
    return settings
