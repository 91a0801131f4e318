"""``POST /subscriptions/resend-confirmation`` answers before it looks the address up
(issue 15, item 9), so its time cannot tell whether the address has a pending
subscription. Shown without a stopwatch: while the subscribers table is locked, the
look-up cannot run, yet both answers come at once; the confirmation follows later."""

from __future__ import annotations

import sqlalchemy as sa

from tests.support.api import Stack
from tests.support.waits import wait_for


def test_the_answer_does_not_wait_for_the_lookup(stack: Stack, pg_database: str) -> None:
    created = stack.api.post(
        "/subscriptions", json={"email": "pending@example.org", "watchlists": ["kg"]}
    )
    assert created.status_code == 202
    assert wait_for(lambda: len(stack.mails_to("pending@example.org")) == 1)
    engine = sa.create_engine(pg_database)
    connection = engine.connect()
    transaction = connection.begin()
    try:
        connection.execute(sa.text("LOCK TABLE subscribers IN ACCESS EXCLUSIVE MODE"))
        for email in ("pending@example.org", "nobody@example.org"):
            answer = stack.api.post(
                "/subscriptions/resend-confirmation", json={"email": email}, timeout=5
            )
            assert answer.status_code == 202
        assert len(stack.mails_to("pending@example.org")) == 1
    finally:
        transaction.rollback()
        connection.close()
        engine.dispose()
    assert wait_for(lambda: len(stack.mails_to("pending@example.org")) == 2)
    assert stack.mails_to("nobody@example.org") == []
