"""Pieces every `rightswatch` sub-command shares."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from worker.settings import Settings, load_settings

if TYPE_CHECKING:
    from worker.runtime import Runtime

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


@contextmanager
def mirrored_runtime(config_path: Path | None) -> Iterator[Runtime]:
    """A runtime on a migrated database that mirrors the YAML, closed after the block.

    For the commands that show or act on the configured state (feeds, subscribers,
    poll), so they see the YAML as it is now, not as a worker last mirrored it.
    """
    # start-up: imported when a command needs it, so `--help` and the light commands start fast
    from worker.runtime import Runtime

    runtime = Runtime(settings_for(config_path))
    try:
        runtime.migrate()
        runtime.sync_config()
        yield runtime
    finally:
        runtime.close()
