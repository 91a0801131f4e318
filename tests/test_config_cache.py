"""The parsed YAML is cached sealed in the data directory (issue 16, item A); log redaction
runs on the runtime's own matcher, with every watch list's scope lifted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path

from worker import config_cache, logs, redaction
from worker.config import load_config
from worker.core.errors import ConfigError
from worker.runtime import Runtime
from worker.security import crypto
from worker.settings import Settings, load_settings

CONFIG = """\
feeds:
  - id: news
    url: https://news.example/feed.xml
  - id: other
    url: https://other.example/feed.xml
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    feeds: [news]
    languages: [ky]
    require: [court]
    exclude: [football]
    fields: [summary]
    people:
      - name: Tolekan Ismailova
subscribers:
  - id: desk
    webhook: https://hooks.example.net/desk
    secret_env: DESK_SECRET
    watchlists: [kg]
"""
SECRET = "whsec_" + "A" * 44


def _settings(
    write_config: Callable[..., Path], make_settings: Callable[..., Settings], **env: str
) -> Settings:
    return make_settings(write_config(CONFIG), RIGHTSWATCH_ENCRYPTION_KEY=crypto.new_key(), **env)


def _fresh(settings: Settings, **environ: str) -> Runtime:
    """A runtime as a newly started process has it (the in-memory cache is keyed by the
    environment, so a different one reads the file again)."""
    return Runtime(load_settings({**settings.environ, **environ}))


def test_a_valid_file_is_cached_sealed_and_read_back(
    write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    settings = _settings(write_config, make_settings, DESK_SECRET=SECRET)
    first = Runtime(settings).config()
    cached = settings.data_dir / config_cache.FILE
    assert "Tolekan" not in cached.read_text() and "hooks.example.net" not in cached.read_text()
    again = _fresh(settings, MARK="1").config()
    assert again.config == first.config and again.version == first.version


def test_an_entry_that_does_not_open_is_ignored(
    write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    settings = _settings(write_config, make_settings, DESK_SECRET=SECRET)
    version = Runtime(settings).config().version
    forged = {"version": version, "data": {"feeds": [], "watchlists": [], "subscribers": []}}
    (settings.data_dir / config_cache.FILE).write_text("plain:" + json.dumps(forged))
    assert [w.id for w in _fresh(settings, MARK="1").config().config.watchlists] == ["kg"]
    (settings.data_dir / config_cache.FILE).write_text("sealed:garbage")
    assert [s.id for s in _fresh(settings, MARK="2").config().config.subscribers] == ["desk"]


def test_without_an_encryption_key_nothing_is_cached(
    write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(write_config(CONFIG), DESK_SECRET=SECRET)
    Runtime(settings).config()
    assert not (settings.data_dir / config_cache.FILE).exists()


def test_a_cached_file_invalid_in_a_new_environment_is_reported_with_its_line(
    write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    settings = _settings(write_config, make_settings, DESK_SECRET=SECRET)
    Runtime(settings).config()
    environ = {k: v for k, v in settings.environ.items() if k != "DESK_SECRET"}
    try:
        load_config(settings.config_path, environ, settings.data_dir)
    except ConfigError as e:
        line = CONFIG.splitlines().index("    secret_env: DESK_SECRET") + 1
        assert any(p.line == line and "DESK_SECRET" in p.message for p in e.problems), e
    else:
        raise AssertionError("the missing secret was not reported")


def test_the_shared_matcher_redacts_names_of_scoped_lists(
    write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    settings = _settings(write_config, make_settings, DESK_SECRET=SECRET)
    stream = io.StringIO()
    logs.setup("DEBUG", "text", stream)
    try:
        redaction.install(settings, Runtime(settings))
        logging.getLogger("some.library").warning("title: Суд над Толеканом Исмаиловой")
    finally:
        logs.setup("WARNING")
    text = stream.getvalue()
    assert "[redacted]" in text and "Толекан" not in text and "Исмаилов" not in text, text
