"""The schedule arithmetic behind the latency promise (pure: tables of cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.core.schedule import adapted_interval, next_poll, server_wait

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
BOUNDS = (5 * M, 6 * H)


@pytest.mark.parametrize(
    ("interval", "bounds", "published_every", "expected"),
    [
        (5 * M, BOUNDS, 3 * D, 5 * M),  # a quiet feed: the interval, not hours
        (15 * M, BOUNDS, 3 * D, 15 * M),
        (15 * M, BOUNDS, None, 15 * M),
        (1 * H, BOUNDS, 4 * M, 15.49 * M),  # busy: the geometric mean, sqrt(60 * 4)
        (15 * M, BOUNDS, 1 * M, 5 * M),  # …never below min_poll_interval
        (2 * M, BOUNDS, 10 * timedelta(seconds=1), 2 * M),  # nor below a shorter interval
        (5 * M, (5 * M, 2 * M), 3 * D, 2 * M),  # a shorter max_poll_interval tightens it
        (1 * H, (5 * M, 2 * M), 4 * M, 2 * M),
    ],
)
def test_the_configured_interval_is_a_ceiling(
    interval: timedelta,
    bounds: tuple[timedelta, timedelta],
    published_every: timedelta | None,
    expected: timedelta,
) -> None:
    got = adapted_interval(interval, bounds, published_every)
    assert abs(got - expected) < timedelta(seconds=1)


@pytest.mark.parametrize(
    ("hint", "cap", "expected"),
    [(None, 6 * H, None), (2 * H, 6 * H, 2 * H), (7 * D, 6 * H, 6 * H)],
)
def test_server_hints_are_honoured_up_to_max_poll_interval(
    hint: timedelta | None, cap: timedelta, expected: timedelta | None
) -> None:
    assert server_wait(hint, cap) == expected


def test_jitter_polls_healthy_feeds_earlier_and_server_hints_later() -> None:
    for i in range(50):
        healthy = next_poll(NOW, 5 * M, 0, f"feed-{i}") - NOW
        assert 4.5 * M <= healthy <= 5 * M
        hinted = next_poll(NOW, 5 * M, 0, f"feed-{i}", not_before=H) - NOW
        assert H <= hinted <= 1.1 * H
        short_hint = next_poll(NOW, 5 * M, 0, f"feed-{i}", not_before=M) - NOW
        assert short_hint == healthy  # a hint shorter than the interval changes nothing
