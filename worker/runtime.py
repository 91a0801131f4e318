"""The long-lived objects of one process, built once from Settings.

Tasks and the embedded loop share this: database engine, fetcher, notifiers,
the loaded configuration (re-read when the file changes) and the compiled
matcher (cached per configuration version).

The last good configuration keeps running: a file that turns invalid while the
process runs is logged once per change (every problem with file:line) and the
previous configuration stays in use; :meth:`Runtime.sync_config` records the
fact in the database for health checks, metrics and the operators
(:mod:`worker.db.config_state`). Only a process that never loaded a valid
configuration stops on the error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from worker.config import LoadedConfig, load_config
from worker.core.clock import utcnow
from worker.core.config_health import ConfigInvalid, summarise
from worker.core.errors import ConfigError
from worker.db import config_state, config_sync
from worker.db.session import (
    SessionFactory,
    make_engine,
    make_session_factory,
    upgrade,
    wait_until_ready,
)
from worker.ingest.fetch import Fetcher
from worker.matching import Matcher, compile_matcher
from worker.notify.base import Notifier
from worker.notify.email import EmailNotifier
from worker.notify.local import ConsoleNotifier, OutboxNotifier
from worker.notify.push import AppriseNotifier
from worker.notify.webhook import WebhookNotifier
from worker.security import crypto
from worker.settings import Settings

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        crypto.configure(settings.encryption_key, settings.encryption_old_keys)
        self._lock = threading.Lock()
        self._config: LoadedConfig | None = None
        self._config_mtime: float | None = None
        self._invalid: ConfigInvalid | None = None
        self._matchers: dict[str, Matcher] = {}

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> SessionFactory:
        return make_session_factory(self.engine)

    @cached_property
    def fetcher(self) -> Fetcher:
        return Fetcher(self.settings)

    @cached_property
    def notifiers(self) -> Mapping[str, Notifier]:
        return {
            "email": EmailNotifier(self.settings),
            "webhook": WebhookNotifier(self.settings),
            "console": ConsoleNotifier(),
            "outbox": OutboxNotifier(self.settings.smtp_from),
            "apprise": AppriseNotifier(),
        }

    def migrate(self) -> None:
        """Wait for the database to answer, then bring its schema to the newest revision."""
        wait_until_ready(self.engine, self.settings.startup_wait, migrated=False)
        upgrade(self.engine)
        crypto.warn_if_disabled()

    def wait_for_schema(self) -> None:
        wait_until_ready(self.engine, self.settings.startup_wait, migrated=True)

    def config(self) -> LoadedConfig:
        """The configuration, re-read if the file changed since last time; the last valid
        one while the file is invalid (the first read raises :class:`ConfigError`)."""
        path = self.settings.config_path
        with self._lock:
            try:
                mtime: float | None = path.stat().st_mtime
            except OSError:
                mtime = None
            if self._config is None or mtime != self._config_mtime:
                try:
                    loaded = load_config(path, self.settings.environ, self.settings.data_dir)
                except ConfigError as e:
                    if self._config is None:
                        raise
                    self._keep_last_good(e)
                else:
                    self._config, self._invalid = loaded, None
                self._config_mtime = mtime
            return self._config

    def _keep_last_good(self, error: ConfigError) -> None:
        assert self._config is not None
        running = self._config.version[:12]
        since = self._invalid.since if self._invalid else self.clock()
        self._invalid = ConfigInvalid(since, summarise(error.problems), running)
        log.error(
            "configuration %s is invalid; still running the last valid one (%s):\n%s",
            self.settings.config_path,
            running,
            error,
        )

    @property
    def config_invalid(self) -> ConfigInvalid | None:
        """Why the file as it is now is not in use (None while it is)."""
        self.config()
        return self._invalid

    def matcher(self) -> Matcher:
        loaded = self.config()
        with self._lock:
            matcher = self._matchers.get(loaded.version)
            if matcher is None:
                matcher = compile_matcher(loaded.config.watchlist_specs())
                self._matchers = {loaded.version: matcher}
            return matcher

    def sync_config(self) -> bool:
        """Mirror the YAML into the database if it changed; True if it did.

        Also records whether the file is valid (operators hear of a change once).
        """
        loaded = self.config()
        version = crypto.keyring().lookup_hash(loaded.version)  # keyed: it names the YAML
        with self.sessions() as session, session.begin():
            self._record_config_state(session, loaded)
            config_sync.check_lookup_key(session, crypto.keyring().content_key_id)
            if config_sync.synced_version(session) == version:
                return False
            config_sync.sync_config(session, loaded.config, version, self.clock())
        log.info("configuration %s synced to the database", version[:12])
        return True

    def record_config_state(self) -> list[str]:
        """Record whether the file is valid, for processes that do not sync (the API)."""
        loaded = self.config()
        with self.sessions() as session, session.begin():
            return self._record_config_state(session, loaded)

    def _record_config_state(self, session: Session, loaded: LoadedConfig) -> list[str]:
        """Ids of the operator alerts queued if the file's validity changed."""
        operators = loaded.config.operators
        return config_state.record(session, self._invalid, operators, self.clock())

    def close(self) -> None:
        if "fetcher" in self.__dict__:
            self.fetcher.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
