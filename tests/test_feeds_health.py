"""Feed health: states the operator can see, and operator alerts once per episode.

Real PostgreSQL, a real SMTP server, local feed servers and webhook receivers;
the clock is the only thing faked.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.support.cli import run_rightswatch
from tests.support.feedlab import FeedLab
from tests.support.feeds import rss
from tests.support.receiver import signed_payloads
from worker import jobs
from worker.config import load_config
from worker.core.errors import ConfigError
from worker.core.feed_health import FeedState, assess, operator_event, stale_after

ROOT = Path(__file__).resolve().parent.parent
ITEMS = [{"guid": "h1", "title": "Report", "description": "Bir Duino report."}]


def _config(server: HTTPServer, defaults: str = "", feed: str = "") -> str:
    return (
        f"defaults:\n  host_delay: 0\n  failure_alert_after: 3\n{defaults}"
        f"feeds:\n  - id: news\n    title: News site\n    url: {server.url_for('/feed.xml')}\n{feed}"
        "operators:\n  - id: ops\n    email: ops@example.org\n"
        f"  - id: ops-hook\n    webhook: {server.url_for('/ops')}\n"
        "    secret_env: CASE_TRACKER_WEBHOOK_SECRET\n"
    )


def _serve(server: HTTPServer, status: int, body: str = "") -> None:
    server.clear_all_handlers()
    server.expect_request("/feed.xml").respond_with_data(body or "oops", status=status)
    server.expect_request("/ops", method="POST").respond_with_data("ok")


def _subjects(mails: list[EmailMessage]) -> list[str]:
    return [str(m["Subject"]) for m in mails]


def _failing(lab: FeedLab, httpserver: HTTPServer, smtp_server: tuple[str, Any]) -> Any:
    """The feed answers HTTP 500 and operators are told by e-mail; gives the inbox."""
    smtp_url, inbox = smtp_server
    _serve(httpserver, 500)
    lab.configure(_config(httpserver), RIGHTSWATCH_SMTP_URL=smtp_url)
    return inbox


def test_failing_feed_tells_operators_once_per_episode_and_when_it_recovers(
    lab: FeedLab, httpserver: HTTPServer, smtp_server: tuple[str, Any]
) -> None:
    inbox = _failing(lab, httpserver, smtp_server)
    for _ in range(6):
        lab.run_once()
        lab.advance(timedelta(hours=1))
    assert _subjects(inbox.messages) == ["[rightswatch] feed news is failing"]
    text = inbox.messages[0].get_content()
    assert "Status: failing since 2026-11-28 12:00 UTC (3 failures)" in text
    assert "Last error: HTTP 500 INTERNAL SERVER ERROR" in text
    assert inbox.messages[0]["To"] == "ops@example.org"

    _serve(httpserver, 200, rss(ITEMS))
    lab.run_once()
    lab.run_once()
    assert _subjects(inbox.messages)[1:] == ["[rightswatch] feed news has recovered"]

    _serve(httpserver, 503)
    for _ in range(3):
        lab.advance(timedelta(hours=1))
        lab.run_once()
    assert len(inbox.messages) == 3 and "is failing" in _subjects(inbox.messages)[2]
    hooks = signed_payloads(httpserver, "/ops")
    assert [h["data"]["event"] for h in hooks] == ["failing", "recovered", "failing"]
    assert hooks[0]["type"] == "feed.health"
    assert hooks[0]["data"]["feed"]["id"] == "news"
    assert hooks[0]["data"]["consecutive_failures"] == 3
    assert {a.status for a in lab.operator_alerts()} == {"sent"}


def test_gone_tells_operators_at_once_even_during_a_failing_episode(
    lab: FeedLab, httpserver: HTTPServer, smtp_server: tuple[str, Any]
) -> None:
    inbox = _failing(lab, httpserver, smtp_server)
    for _ in range(3):
        lab.run_once()
    _serve(httpserver, 410)
    for _ in range(3):
        lab.advance(timedelta(days=1))
        lab.run_once()
    _serve(httpserver, 200, rss(ITEMS))
    lab.run_once()
    assert _subjects(inbox.messages) == [
        "[rightswatch] feed news is failing",
        "[rightswatch] feed news is gone (HTTP 410)",
        "[rightswatch] feed news has recovered",
    ]
    assert "The server says the feed was removed for good" in inbox.messages[1].get_content()


def test_a_feed_gone_at_the_first_poll_is_reported_at_once(
    lab: FeedLab, httpserver: HTTPServer, smtp_server: tuple[str, Any]
) -> None:
    smtp_url, inbox = smtp_server
    _serve(httpserver, 410)
    lab.configure(_config(httpserver), RIGHTSWATCH_SMTP_URL=smtp_url)
    lab.run_once()
    lab.run_once()
    assert _subjects(inbox.messages) == ["[rightswatch] feed news is gone (HTTP 410)"]


def test_a_quiet_feed_goes_stale_then_recovers_with_a_new_entry(
    lab: FeedLab, httpserver: HTTPServer, smtp_server: tuple[str, Any]
) -> None:
    smtp_url, inbox = smtp_server
    _serve(httpserver, 200, rss(ITEMS))
    lab.configure(_config(httpserver, feed="    stale_after: 2d\n"), RIGHTSWATCH_SMTP_URL=smtp_url)
    for _ in range(4):  # the same body every day
        lab.run_once()
        lab.advance(timedelta(days=1))
    assert _subjects(inbox.messages) == ["[rightswatch] feed news has gone quiet"]
    assert "stale: no new entry since 2026-11-28 12:00 UTC (expected within 2 days)" in (
        inbox.messages[0].get_content()
    )
    _serve(httpserver, 200, rss([*ITEMS, {"guid": "h2", "title": "New", "description": "New."}]))
    lab.run_once()
    assert _subjects(inbox.messages)[1:] == ["[rightswatch] feed news has recovered"]


def test_an_operator_alert_that_cannot_be_sent_is_retried(
    lab: FeedLab, httpserver: HTTPServer, smtp_server: tuple[str, Any]
) -> None:
    smtp_url, inbox = smtp_server
    _serve(httpserver, 410)
    lab.configure(_config(httpserver))  # no RIGHTSWATCH_SMTP_URL yet
    lab.run_once()
    email_alert = next(a for a in lab.operator_alerts() if a.channel == "email")
    assert email_alert.status == "retrying"
    assert email_alert.last_error == (
        "DeliveryError: e-mail operator but RIGHTSWATCH_SMTP_URL is not set"
    )
    lab.configure(_config(httpserver), RIGHTSWATCH_SMTP_URL=smtp_url)
    lab.advance(timedelta(hours=1))
    for alert_id in jobs.due_operator_alerts(lab.rt):
        jobs.send_operator_alert(lab.rt, alert_id)
    assert len(inbox.messages) == 1
    assert {a.status for a in lab.operator_alerts()} == {"sent"}


def config_problems(path: Path) -> list[str]:
    """What ``load_config`` reports about a file it refuses."""
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    return [str(p) for p in caught.value.problems]


def test_operators_config_is_validated(write_config: Callable[..., Path]) -> None:
    path = write_config(
        "operators:\n  - id: ops\n    email: ops@example.org\n    watchlists: [kg]\n"
        "  - id: hook\n    webhook: https://ops.example.org/hook\n    secret_env: NOT_SET_HERE\n"
        "  - id: ops\n    console: true\n"
    )
    found = config_problems(path)
    assert any(":2: operators[0]: an operator has no watchlists" in p for p in found), found
    assert any(":8: operators[2].id: duplicate id 'ops'" in p for p in found), found
    assert any(":7: operators[1].secret_env: environment variable NOT_SET_HERE" in p for p in found)


# --- the pure rules -----------------------------------------------------------------------

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def _state(**changes: Any) -> FeedState:
    values: dict[str, Any] = {
        "created_at": NOW - timedelta(days=30),
        "last_polled_at": NOW,
        "consecutive_failures": 0,
        "failing_since": None,
        "gone_since": None,
        "healthy_since": NOW - timedelta(days=30),
        "last_new_entry_at": NOW - timedelta(days=1),
        "publish_interval": None,
    }
    return FeedState(**{**values, **changes})


def test_stale_after_follows_the_feed_rhythm_within_bounds() -> None:
    assert stale_after(None, None) == timedelta(days=14)
    assert stale_after(None, timedelta(hours=6)) == timedelta(days=3)
    assert stale_after(None, timedelta(days=1)) == timedelta(days=10)
    assert stale_after(None, timedelta(days=7)) == timedelta(days=30)
    assert stale_after(timedelta(hours=5), timedelta(days=7)) == timedelta(hours=5)


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (_state(), "ok"),
        (_state(last_polled_at=None), "new"),
        (_state(consecutive_failures=2, failing_since=NOW), "failing"),
        (_state(consecutive_failures=1, gone_since=NOW), "gone"),
        (_state(last_new_entry_at=NOW - timedelta(days=20)), "stale"),
        # Staleness counts from when fetching works again, not through an outage.
        (_state(last_new_entry_at=NOW - timedelta(days=20), healthy_since=NOW), "ok"),
    ],
)
def test_assess(state: FeedState, status: str) -> None:
    assert assess(state, NOW, None).status == status


@pytest.mark.parametrize(
    ("status", "failures", "alerted", "event"),
    [
        ("failing", 2, None, None),
        ("failing", 3, None, "failing"),
        ("failing", 9, "failing", None),
        ("stale", 0, None, "stale"),
        ("stale", 0, "failing", None),
        ("gone", 1, None, "gone"),
        ("gone", 5, "failing", "gone"),
        ("gone", 6, "gone", None),
        ("ok", 0, "stale", "recovered"),
        ("ok", 0, None, None),
        ("failing", 1, "stale", None),
    ],
)
def test_operator_events(
    status: str, failures: int, alerted: str | None, event: str | None
) -> None:
    state = _state(
        consecutive_failures=failures,
        failing_since=NOW if failures else None,
        gone_since=NOW if status == "gone" else None,
        last_new_entry_at=NOW - timedelta(days=30) if status == "stale" else NOW,
    )
    health = assess(state, NOW, None)
    assert health.status == status
    assert operator_event(health, failures, 3, alerted) == event


# --- rightswatch feeds ------------------------------------------------------------------------


def test_the_feeds_command_shows_each_feed_health(lab: FeedLab, httpserver: HTTPServer) -> None:
    real_now = datetime.now(UTC)
    for name, status in (("ok", 200), ("broken", 500), ("gone", 410), ("quiet", 200)):
        body = rss([{**ITEMS[0], "guid": name}]) if status == 200 else "x"
        httpserver.expect_request(f"/{name}.xml").respond_with_data(body, status=status)
    feeds = "".join(
        f"  - id: {name}\n    url: {httpserver.url_for(f'/{name}.xml')}\n"
        for name in ("ok", "broken", "gone", "quiet", "later")
    )
    lab.now = real_now - timedelta(days=20)
    config = lab.configure(f"defaults:\n  host_delay: 0\nfeeds:\n{feeds}").settings.config_path
    lab.poll("quiet")
    lab.now = real_now - timedelta(minutes=5)
    for name in ("ok", "broken", "broken", "gone"):
        lab.poll(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    result = run_rightswatch(
        "feeds", "--config", str(config), env={**env, "RIGHTSWATCH_DATABASE_URL": lab.database_url}
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "FEED",
        "STATUS",
        "LAST",
        "POLL",
        "NEXT",
        "POLL",
        "ENTRIES",
        "LAST",
        "ERROR",
    ]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == ["broken", "gone", "later", "ok", "quiet"]
    when = (real_now - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
    assert f"failing since {when} UTC (2 failures)" in rows["broken"]
    assert "HTTP 500 INTERNAL SERVER ERROR" in rows["broken"]
    assert f"gone since {when} UTC" in rows["gone"]
    assert "not polled yet" in rows["later"]
    assert rows["ok"].split()[1] == "ok" and rows["ok"].split()[-2:] == ["1", "-"]
    assert (
        "stale: no new entry since" in rows["quiet"] and "expected within 14 days" in rows["quiet"]
    )


def test_fetch_and_schedule_keys_are_validated(write_config: Callable[..., Path]) -> None:
    path = write_config(
        "defaults:\n  story_hold: 0\n  host_delay: 0s\n  min_poll_interval: 2h\n"
        "  max_poll_interval: 1h\n  host_concurrency: 0\n"
        "feeds:\n  - id: f\n    url: https://example.org/feed\n    stale_after: soon\n"
    )
    found = config_problems(path)
    assert any(
        "defaults.host_concurrency: Input should be greater than or equal to 1" in p for p in found
    ), found
    assert any(":10: feeds[0].stale_after: expected a duration" in p for p in found), found
    fixed = (
        path.read_text()
        .replace("  host_concurrency: 0\n", "")
        .replace("stale_after: soon", "stale_after: 3d")
    )
    path.write_text(fixed)
    with pytest.raises(ConfigError, match="min_poll_interval is longer than max_poll_interval"):
        load_config(path, {})
    path.write_text(fixed.replace("max_poll_interval: 1h", "max_poll_interval: 12h"))
    config = load_config(path, {}).config
    assert config.defaults.story_hold == timedelta(0) and config.defaults.host_delay == timedelta(0)
    assert config.feeds[0].stale_after == timedelta(days=3)
