"""The ``rightswatch`` command.

Every error a user can cause ends as one clear line on standard error and exit
status 1 — never a traceback. ``run --once`` and ``poll`` exit 3 when they ran
but some feeds or alerts failed.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from worker import __version__, logs, metrics, redaction
from worker.commands.api import api_command
from worker.commands.backup import backup_command
from worker.commands.check import check_config_command
from worker.commands.common import RAN_WITH_FAILURES, config_option, settings_for
from worker.commands.deliveries import deliveries_command
from worker.commands.feeds import feeds_command
from worker.commands.poll import poll_command
from worker.commands.secrets import generate_secret_command, hash_password_command
from worker.commands.security import (
    audit_command,
    generate_key_command,
    purge_command,
    rotate_key_command,
)
from worker.commands.status import status_command
from worker.commands.subscribers import subscribers_command
from worker.commands.try_alert import test_alert_command
from worker.config import load_config
from worker.core.errors import ConfigError, RightswatchError
from worker.security.files import private_directory
from worker.settings import Settings

log = logging.getLogger("worker")


def _setup_logging(settings: Settings, default: str | None = None, *, redact: bool = True) -> None:
    """``redact=False``: the command installs the redaction itself, on its runtime's matcher."""
    explicit = "RIGHTSWATCH_LOG_LEVEL" in settings.environ
    level = settings.log_level if explicit or default is None else default
    logs.setup(level, settings.log_format)
    if redact:
        redaction.install(settings)


def _print_problems(error: ConfigError) -> None:
    for problem in error.problems:
        click.echo(str(problem), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rightswatch")
def cli() -> None:
    """rightswatch: alerts when the human-rights defenders you follow are named in a report."""


@cli.command()
@config_option
@click.option("--once", is_flag=True, help="Poll every feed once, deliver, print a summary, exit.")
def run(config_path: Path | None, once: bool) -> None:
    """Run the whole service in this process (embedded mode)."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.commands.progress import shown
    from worker.embedded import EmbeddedService
    from worker.runtime import Runtime

    settings = settings_for(config_path)
    _setup_logging(settings, default="WARNING" if once else None, redact=False)
    runtime = Runtime(settings)
    try:
        runtime.config()
    except ConfigError as e:
        _print_problems(e)
        sys.exit(1)
    if not once and not settings.embedded:
        raise click.ClickException(
            "RIGHTSWATCH_BROKER_URL is set: the distributed service is `rightswatch worker` "
            "plus one `rightswatch beat` (use `run --once` for a single cycle, or unset the "
            "broker URL for the embedded mode)"
        )
    redaction.install(settings, runtime)
    service = EmbeddedService(runtime)
    try:
        service.prepare()
        if once:
            with shown() as progress:
                result = service.run_once(progress)
            for failure in result.failed_feeds:
                click.echo(f"feed failed: {failure}", err=True)
            click.echo(result.line())
            if result.feeds_failed or result.alerts_failed:
                sys.exit(RAN_WITH_FAILURES)
            return
        stop = threading.Event()

        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("stopping (signal %d)", signum)
            stop.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        metrics.serve(settings)
        click.echo(
            f"rightswatch {__version__} running with {settings.config_path} on "
            f"{runtime.engine.url.render_as_string(hide_password=True)}; Ctrl-C stops it",
            err=True,
        )
        service.run_forever(stop)
        click.echo("rightswatch stopped", err=True)
    finally:
        runtime.close()


@cli.command()
@config_option
def migrate(config_path: Path | None) -> None:
    """Create or upgrade the database schema (RIGHTSWATCH_DATABASE_URL)."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.runtime import Runtime

    settings = settings_for(config_path)
    _setup_logging(settings)
    runtime = Runtime(settings)
    try:
        runtime.migrate()
    finally:
        runtime.close()
    click.echo("database schema is up to date")


def _require_broker(settings: Settings, role: str) -> None:
    if settings.embedded:
        raise click.ClickException(
            f"`rightswatch {role}` needs RIGHTSWATCH_BROKER_URL (e.g. redis://localhost:6379/0); "
            "without a broker use `rightswatch run`"
        )


@cli.command(context_settings={"ignore_unknown_options": True})
@config_option
@click.option(
    "--concurrency", "-c", type=int, default=None, help="Worker processes (default: CPUs)."
)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(config_path: Path | None, concurrency: int | None, celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker (distributed mode); extra arguments go to Celery."""
    settings = settings_for(config_path)
    _require_broker(settings, "worker")
    _setup_logging(settings, redact=False)
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker import tasks
    from worker.celery_app import app
    from worker.runtime import Runtime

    tasks.configure(settings)
    if settings.metrics_port is not None:
        metrics.enable_multiprocess(settings.metrics_dir)  # before prometheus-client is imported
    tasks.compile_before_fork()  # a configuration that does not load stops the worker here
    runtime = Runtime(settings)
    try:
        runtime.wait_for_schema()
    finally:
        runtime.close()
    if settings.metrics_port is not None:
        metrics.serve(settings, multiprocess=True)
    argv = ["worker", f"--loglevel={settings.log_level}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    app.worker_main([*argv, *celery_args])


@cli.command(context_settings={"ignore_unknown_options": True})
@config_option
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat(config_path: Path | None, celery_args: tuple[str, ...]) -> None:
    """Run the scheduler (exactly one per deployment); extra arguments go to Celery."""
    settings = settings_for(config_path)
    _require_broker(settings, "beat")
    _setup_logging(settings)
    load_config(settings.config_path, settings.environ)
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker import tasks
    from worker.celery_app import app
    from worker.runtime import Runtime

    runtime = Runtime(settings)
    try:
        runtime.migrate()
        runtime.sync_config()
    finally:
        runtime.close()
    private_directory(settings.data_dir)
    schedule = settings.data_dir / "celerybeat-schedule"
    tasks.configure(settings)
    app.start(["beat", f"--loglevel={settings.log_level}", f"--schedule={schedule}", *celery_args])


@cli.command()
@config_option
def health(config_path: Path | None) -> None:
    """Exit 0 if the database and the broker answer, 1 if not (for container health checks)."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.readiness import check

    results = check(settings_for(config_path))
    for result in results:
        click.echo(f"{result.component}: {'ok' if result.ok else 'FAILING'}: {result.detail}")
    if not all(result.ok for result in results):
        sys.exit(1)


def _register_optional_commands() -> None:
    try:
        # start-up: imported when the command runs, so `--help` and the light commands start fast
        from worker.commands.match import match_command
    except ImportError:
        return
    cli.add_command(match_command, "match")


_register_optional_commands()
cli.add_command(check_config_command)
cli.add_command(test_alert_command)
cli.add_command(deliveries_command)
cli.add_command(api_command)
cli.add_command(feeds_command)
cli.add_command(poll_command)
cli.add_command(purge_command)
cli.add_command(generate_key_command)
cli.add_command(generate_secret_command)
cli.add_command(hash_password_command)
cli.add_command(status_command)
cli.add_command(backup_command)
cli.add_command(rotate_key_command)
cli.add_command(audit_command)
cli.add_command(subscribers_command)


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except ConfigError as e:
        _print_problems(e)
        sys.exit(1)
    except RightswatchError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
