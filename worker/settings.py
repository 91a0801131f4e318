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
from worker.core.errors import ConfigError
from worker.security.crypto import parse_key

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


def _port(env: Mapping[str, str], name: str) -> int | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name}: expected a port number (1-65535), got {raw!r}")
    return int(raw)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or choices[0]).strip().lower()
    if raw not in choices:
        raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {raw!r}")
    return raw


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
class DkimSettings:
    """DKIM signing of outgoing e-mail: the public key is published at
    ``<selector>._domainkey.<domain>``."""

    domain: str
    selector: str
    private_key: bytes = field(repr=False)
    """PEM (RSA or Ed25519)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DkimSettings | None:
        domain = (env.get("RIGHTSWATCH_DKIM_DOMAIN") or "").strip()
        selector = (env.get("RIGHTSWATCH_DKIM_SELECTOR") or "").strip()
        pem = env.get("RIGHTSWATCH_DKIM_PRIVATE_KEY") or ""
        if not pem and (path := env.get("RIGHTSWATCH_DKIM_PRIVATE_KEY_FILE")):
            try:
                pem = Path(path).read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as e:
                raise ConfigError(f"RIGHTSWATCH_DKIM_PRIVATE_KEY_FILE: cannot read {path}") from e
        if not (domain or selector or pem):
            return None
        if not (domain and selector and pem):
            raise ConfigError(
                "DKIM needs RIGHTSWATCH_DKIM_DOMAIN, RIGHTSWATCH_DKIM_SELECTOR and "
                "RIGHTSWATCH_DKIM_PRIVATE_KEY (or _FILE) together"
            )
        if "PRIVATE KEY-----" not in pem:
            raise ConfigError("RIGHTSWATCH_DKIM_PRIVATE_KEY: expected a PEM private key")
        return cls(domain=domain, selector=selector, private_key=pem.encode())


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
    poll_batch_budget: float = 120.0
    """Seconds after which a task polling several feeds starts no more and re-enqueues the rest."""
    sweep_grace: timedelta = timedelta(seconds=60)
    """A new delivery is left to its own task this long before the sweep re-enqueues it."""
    startup_wait: float = 120.0
    """Seconds a starting process waits for the database to come up and be migrated."""
    delivery_lease: timedelta = timedelta(minutes=5)
    """A claimed delivery whose sender died is taken back by the sweep after this."""
    delivery_concurrency: int = 4
    """At most this many deliveries to one destination are being sent at once."""
    secret_key: str | None = field(default=None, repr=False)
    """Derives per-subscriber unsubscribe tokens (RIGHTSWATCH_SECRET_KEY)."""
    api_token: str | None = field(default=None, repr=False)
    """Bearer token of the API's operator endpoints and /metrics (RIGHTSWATCH_API_TOKEN)."""
    api_cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the API from a browser; none (CORS off) by default."""
    api_trusted_proxies: str = "127.0.0.1"
    """Addresses whose X-Forwarded-For is believed (the client address for rate limits)."""
    metrics_port: int | None = None
    """Port of the worker's (and `run`'s) Prometheus endpoint; unset: none."""
    log_format: str = "text"
    """text (one readable line) or json (one object a line, with the bound ids)."""
    dkim: DkimSettings | None = None
    """Sign outgoing mail (RIGHTSWATCH_DKIM_DOMAIN, _SELECTOR, _PRIVATE_KEY[_FILE])."""
    encryption_key: bytes | None = field(default=None, repr=False)
    """Encrypts sensitive fields at rest (RIGHTSWATCH_ENCRYPTION_KEY); None: plain text."""
    encryption_old_keys: tuple[bytes, ...] = field(default=(), repr=False)
    """Earlier keys that still decrypt until `rotate-key` (RIGHTSWATCH_ENCRYPTION_OLD_KEYS)."""
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def embedded(self) -> bool:
        """No broker: the whole service runs in one process."""
        return self.broker_url is None

    @property
    def metrics_dir(self) -> Path:
        """Where prefork workers' processes keep their Prometheus counters."""
        return self.data_dir / "metrics"

    def secret(self, name: str) -> str | None:
        """Look up a secret named in the YAML (``secret_env``) without logging it."""
        value = self.environ.get(name)
        return value if value else None


_FILE_SUFFIX = "_FILE"
_FILE_LIMIT = 64 * 1024
"""Bytes read at most from a ``NAME_FILE`` (a secret is short; a CA bundle is not one)."""


def read_secret_files(env: Mapping[str, str]) -> dict[str, str]:
    """``NAME_FILE=/run/secrets/x`` gives NAME the file's content (one trailing newline off).

    For Docker/Podman secrets: every secret variable (RIGHTSWATCH_* ones, webhook secrets
    named by ``secret_env``, ``${VAR}`` in Apprise URLs) can come from a file. A value set
    directly wins. An unreadable RIGHTSWATCH_*_FILE is an error; other ``*_FILE`` variables
    may belong to other software (``SSL_CERT_FILE``) and are used only when readable and small.
    """
    resolved = dict(env)
    for file_name, path in env.items():
        name = file_name[: -len(_FILE_SUFFIX)]
        if not file_name.endswith(_FILE_SUFFIX) or not name or not path or env.get(name):
            continue
        ours = name.startswith("RIGHTSWATCH_")
        try:
            with open(path, "rb") as f:
                raw = f.read(_FILE_LIMIT + 1)
            if len(raw) > _FILE_LIMIT:
                if ours:
                    raise ConfigError(f"{file_name}: {path} is over 64 KiB, not a secret")
                continue
            value = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            if ours:
                raise ConfigError(f"{file_name}: cannot read {path}") from e
            continue
        resolved[name] = value.removesuffix("\n").removesuffix("\r")
    return resolved


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read RIGHTSWATCH_* variables (or their ``*_FILE`` files); ConfigError on a malformed one."""
    env = read_secret_files(os.environ if environ is None else environ)
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
        poll_batch_budget=_number(env, "RIGHTSWATCH_POLL_BATCH_BUDGET", 120.0),
        sweep_grace=timedelta(seconds=_number(env, "RIGHTSWATCH_SWEEP_GRACE", 60.0)),
        startup_wait=_number(env, "RIGHTSWATCH_STARTUP_WAIT", 120.0),
        delivery_lease=timedelta(seconds=_number(env, "RIGHTSWATCH_DELIVERY_LEASE", 300.0)),
        delivery_concurrency=int(_number(env, "RIGHTSWATCH_DELIVERY_CONCURRENCY", 4)),
        secret_key=env.get("RIGHTSWATCH_SECRET_KEY") or None,
        api_token=env.get("RIGHTSWATCH_API_TOKEN") or None,
        api_cors_origins=tuple(
            o.strip().rstrip("/")
            for o in (env.get("RIGHTSWATCH_API_CORS_ORIGINS") or "").split(",")
            if o.strip()
        ),
        api_trusted_proxies=env.get("RIGHTSWATCH_API_TRUSTED_PROXIES") or "127.0.0.1",
        metrics_port=_port(env, "RIGHTSWATCH_METRICS_PORT"),
        log_format=_choice(env, "RIGHTSWATCH_LOG_FORMAT", ("text", "json")),
        dkim=DkimSettings.from_env(env),
        encryption_key=parse_key(env["RIGHTSWATCH_ENCRYPTION_KEY"])
        if (env.get("RIGHTSWATCH_ENCRYPTION_KEY") or "").strip()
        else None,
        encryption_old_keys=tuple(
            parse_key(k, "RIGHTSWATCH_ENCRYPTION_OLD_KEYS")
            for k in (env.get("RIGHTSWATCH_ENCRYPTION_OLD_KEYS") or "").split(",")
            if k.strip()
        ),
        environ=env,
    )
