"""``deliveries.destination`` names no receiver (issue 15, item 4): for webhooks it is a
keyed hash of scheme, host and port, for YAML and API subscribers alike, and the
per-destination concurrency limit still groups deliveries to one receiver."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.support.api import Stack
from tests.support.scenario import STATEMENT, keyword_config, subscriber
from tests.support.waits import wait_for
from worker.db.models import Delivery
from worker.embedded import EmbeddedService
from worker.security.crypto import new_key
from worker.settings import Settings

CONFIG = keyword_config(
    "".join(
        subscriber(
            f"tracker-{x}", webhook=f"{{hook}}/{x}", secret_env="CASE_TRACKER_WEBHOOK_SECRET"
        )
        for x in "ab"
    )
)


def test_webhook_destinations_are_keyed(
    httpserver: HTTPServer,
    feeds: Callable[..., str],
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    make_service: Callable[[Settings], EmbeddedService],
) -> None:
    feed_url = feeds([STATEMENT])
    httpserver.expect_request("/hooks/a", method="POST").respond_with_data("ok")
    httpserver.expect_request("/hooks/b", method="POST").respond_with_data("ok")
    hook = httpserver.url_for("/hooks").replace("127.0.0.1", "localhost")
    config = write_config(CONFIG.format(feed_url=feed_url, hook=hook))
    settings = make_settings(
        config, RIGHTSWATCH_DATABASE_URL=pg_database, RIGHTSWATCH_ENCRYPTION_KEY=new_key()
    )
    assert make_service(settings).run_once().alerts_sent == 2
    engine = sa.create_engine(pg_database)
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT destination FROM deliveries")).scalars().all()
    engine.dispose()
    assert len(stored) == 2 and len(set(stored)) == 1, "one receiver, one key"
    (key,) = set(stored)
    assert key.startswith("webhook:")
    for leak in ("localhost", "127.0.0.1", str(httpserver.port), "http"):
        assert leak not in key


def test_api_webhook_destinations_are_keyed(stack: Stack) -> None:
    created = stack.api.post(
        "/subscriptions", json={"webhook": stack.hook_url, "watchlists": ["kg"]}
    )
    assert created.status_code == 201
    assert wait_for(lambda: stack.hook.requests)
    with stack.worker.runtime.sessions() as session:
        stored = session.scalars(sa.select(Delivery.destination)).all()
    assert stored and all(d.startswith("webhook:") for d in stored)
    assert not any("127.0.0.1" in d or "http" in d for d in stored)
