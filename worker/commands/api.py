"""``rightswatch api``: the subscription API, health and metrics, served by uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from worker import logs, redaction
from worker.commands.common import config_option, settings_for
from worker.config import load_config

log = logging.getLogger(__name__)


@click.command("api")
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
def api_command(config_path: Path | None, host: str, port: int) -> None:
    """Serve the subscription API, /healthz, /readyz and /metrics (OpenAPI at /openapi.json).

    It shares the database with `rightswatch run` (or the workers), which send
    the alerts; it creates or upgrades the schema if needed and mirrors the
    configuration into the database, at start and whenever the file changes.
    """
    settings = settings_for(config_path)
    logs.setup(settings.log_level, settings.log_format)
    redaction.install(settings)
    load_config(settings.config_path, settings.environ)
    import uvicorn

    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.api.app import create_app
    from worker.runtime import Runtime

    if not settings.secret_key or not settings.public_url:
        log.warning(
            "self-service subscriptions are off until RIGHTSWATCH_SECRET_KEY and "
            "RIGHTSWATCH_PUBLIC_URL are set (watch lists, health and metrics still work)"
        )
    if settings.api_token is None:
        log.warning(
            "RIGHTSWATCH_API_TOKEN is not set: operator endpoints are off, /metrics is open"
        )
    runtime = Runtime(settings)
    try:
        runtime.migrate()
    finally:
        runtime.close()
    click.echo(f"rightswatch API on http://{host}:{port} (Ctrl-C stops it)", err=True)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.api_trusted_proxies,
    )
