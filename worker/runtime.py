"""The long-lived objects of one process, built once from Settings.

Tasks and the embedded loop share this: database engine, fetcher, notifiers,
the loaded configuration (re-read when the file changes) and the compiled
matcher (cached per configuration version).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cached_property

from sqlalchemy import Engine

from worker.config import LoadedConfig, load_config
from worker.core.clock import utcnow
from worker.db import config_sync
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
        """The configuration, re-read if the file changed since last time."""
        path = self.settings.config_path
        with self._lock:
            try:
                mtime = path.stat().st_mtime
            except OSError:
                mtime = None
            if self._config is None or mtime != self._config_mtime:
                self._config = load_config(path, self.settings.environ)
                self._config_mtime = mtime
            return self._config

    def matcher(self) -> Matcher:
        loaded = self.config()
        with self._lock:
            matcher = self._matchers.get(loaded.version)
            if matcher is None:
                matcher = compile_matcher(loaded.config.watchlist_specs())
                self._matchers = {loaded.version: matcher}
            return matcher

    def sync_config(self) -> bool:
        """Mirror the YAML into the database if it changed; True if it did."""
        loaded = self.config()
        version = crypto.keyring().lookup_hash(loaded.version)  # keyed: it names the YAML
        with self.sessions() as session, session.begin():
            config_sync.check_lookup_key(session, crypto.keyring().content_key_id)
            if config_sync.synced_version(session) == version:
                return False
            config_sync.sync_config(session, loaded.config, version, self.clock())
        log.info("configuration %s synced to the database", version[:12])
        return True

    def close(self) -> None:
        if "fetcher" in self.__dict__:
            self.fetcher.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
