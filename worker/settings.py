"""Environment → one frozen Settings object.

This is the only module that reads ``os.environ`` (12-factor): everything else
receives a Settings value. Secrets (SMTP password, webhook secrets) stay in the
environment and are looked up through :meth:`Settings.secret`, never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from worker import __version__
from worker.errors import ConfigError

DEFAULT_CONFIG = "config/rightswatch.yaml"
PROJECT_URL = "https://github.com/rightswatch/rightswatch"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}: expected true/false, got {raw!r}")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError as e:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from e
    if value <= 0:
        raise ConfigError(f"{name}: must be positive, got {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how to send e-mail, parsed from RIGHTSWATCH_SMTP_URL."""

    host: str
    port: int
    security: str
    """"plain", "starttls" or "tls" (implicit TLS, smtps://)."""
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Parse ``smtp://user:pass@host:port[?starttls=true]`` or ``smtps://…``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ConfigError(
                "RIGHTSWATCH_SMTP_URL: scheme must be smtp://, smtp+starttls:// or smtps://"
            )
        if not parts.hostname:
            raise ConfigError("RIGHTSWATCH_SMTP_URL: no host")
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        if parts.scheme == "smtps":
            security, default_port = "tls", 465
        elif parts.scheme == "smtp+starttls" or query.get("starttls", "").lower() in _TRUE:
            security, default_port = "starttls", 587
        else:
            security, default_port = "plain", 25
        try:
            port = parts.port or default_port
        except ValueError as e:
            raise ConfigError("RIGHTSWATCH_SMTP_URL: invalid port") from e
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Process-wide settings; build one with :func:`load_settings`."""

    database_url: str
    broker_url: str | None
    smtp: SmtpSettings | None
    smtp_from: str
    webhook_allow_private: bool
    config_path: Path
    data_dir: Path
    user_agent: str
    public_url: str | None
    log_level: str
    fetch_timeout: float = 30.0
    max_feed_bytes: int = 20 * 1024 * 1024
    beat_interval: float = 30.0
    """Seconds between the scheduler's ticks (due polls, the sweep)."""
    poll_lease: timedelta = timedelta(minutes=10)
    """A claimed poll that never finishes (lost message, killed worker) is retried after this."""
    sweep_grace: timedelta = timedelta(seconds=60)
    """A new delivery is left to its own task this long before the sweep re-enqueues it."""
    startup_wait: float = 120.0
    """Seconds a starting process waits for the database to come up and be migrated."""
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def embedded(self) -> bool:
        """No broker: the whole service runs in one process."""
        return self.broker_url is None

    def secret(self, name: str) -> str | None:
        """Look up a secret named in the YAML (``secret_env``) without logging it."""
        value = self.environ.get(name)
        return value if value else None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read RIGHTSWATCH_* variables; raise ConfigError on a malformed one."""
    env = dict(os.environ if environ is None else environ)
    data_dir = Path(env.get("RIGHTSWATCH_DATA_DIR") or "data")
    database_url = env.get("RIGHTSWATCH_DATABASE_URL") or f"sqlite:///{data_dir / 'rightswatch.db'}"
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    smtp_url = env.get("RIGHTSWATCH_SMTP_URL")
    fetch_timeout = _number(env, "RIGHTSWATCH_FETCH_TIMEOUT", 30.0)
    max_feed_bytes = int(_number(env, "RIGHTSWATCH_MAX_FEED_BYTES", 20 * 1024 * 1024))
    return Settings(
        database_url=database_url,
        broker_url=env.get("RIGHTSWATCH_BROKER_URL") or None,
        smtp=SmtpSettings.from_url(smtp_url) if smtp_url else None,
        smtp_from=env.get("RIGHTSWATCH_SMTP_FROM") or "rightswatch <rightswatch@localhost>",
        webhook_allow_private=_flag(env, "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE"),
        config_path=Path(env.get("RIGHTSWATCH_CONFIG") or DEFAULT_CONFIG),
        data_dir=data_dir,
        user_agent=env.get("RIGHTSWATCH_USER_AGENT")
        or f"rightswatch/{__version__} (+{PROJECT_URL})",
        public_url=(env.get("RIGHTSWATCH_PUBLIC_URL") or "").rstrip("/") or None,
        log_level=(env.get("RIGHTSWATCH_LOG_LEVEL") or "INFO").upper(),
        fetch_timeout=fetch_timeout,
        max_feed_bytes=max_feed_bytes,
        beat_interval=_number(env, "RIGHTSWATCH_BEAT_INTERVAL", 30.0),
        poll_lease=timedelta(seconds=_number(env, "RIGHTSWATCH_POLL_LEASE", 600.0)),
        sweep_grace=timedelta(seconds=_number(env, "RIGHTSWATCH_SWEEP_GRACE", 60.0)),
        startup_wait=_number(env, "RIGHTSWATCH_STARTUP_WAIT", 120.0),
        environ=env,
    )
