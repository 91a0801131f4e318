"""Digest period arithmetic (pure), including the days clocks change, and story grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.core.digest import (
    DeliverAt,
    Period,
    digest_period,
    group_stories,
    parse_deliver_at,
    period_name,
    zone,
)
from worker.core.types import Alert, AlertTerm


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "frequency", "deliver_at", "tz", "start", "end"),
    [
        # Plain days, both sides of the send time, and exactly on it (half-open periods).
        (
            "2026-11-16T10:00",
            "daily",
            "08:00",
            "Europe/Berlin",
            "2026-11-16T07:00",
            "2026-11-17T07:00",
        ),
        (
            "2026-11-16T06:59",
            "daily",
            "08:00",
            "Europe/Berlin",
            "2026-11-15T07:00",
            "2026-11-16T07:00",
        ),
        (
            "2026-11-16T07:00",
            "daily",
            "08:00",
            "Europe/Berlin",
            "2026-11-16T07:00",
            "2026-11-17T07:00",
        ),
        (
            "2026-11-16T10:00",
            "daily",
            "08:00",
            "America/New_York",
            "2026-11-15T13:00",
            "2026-11-16T13:00",
        ),
        (
            "2026-11-16T23:30",
            "daily",
            "00:15",
            "Asia/Bishkek",
            "2026-11-16T18:15",
            "2026-11-17T18:15",
        ),
        # Clocks go forward (Berlin, 29 March 2026): the period that spans it is 23 hours.
        (
            "2026-03-29T12:00",
            "daily",
            "08:00",
            "Europe/Berlin",
            "2026-03-29T06:00",
            "2026-03-30T06:00",
        ),
        (
            "2026-03-28T12:00",
            "daily",
            "08:00",
            "Europe/Berlin",
            "2026-03-28T07:00",
            "2026-03-29T06:00",
        ),
        # 02:30 does not exist that day: it is read with the winter offset (= 03:30 summer time).
        (
            "2026-03-28T12:00",
            "daily",
            "02:30",
            "Europe/Berlin",
            "2026-03-28T01:30",
            "2026-03-29T01:30",
        ),
        (
            "2026-03-29T01:30",
            "daily",
            "02:30",
            "Europe/Berlin",
            "2026-03-29T01:30",
            "2026-03-30T00:30",
        ),
        # Clocks go back (Berlin, 25 October 2026): 25 hours; 02:30 happens twice, the first counts.
        (
            "2026-10-25T03:00",
            "daily",
            "08:00",
            "Europe/Berlin",
            "2026-10-24T06:00",
            "2026-10-25T07:00",
        ),
        (
            "2026-10-24T12:00",
            "daily",
            "02:30",
            "Europe/Berlin",
            "2026-10-24T00:30",
            "2026-10-25T00:30",
        ),
        (
            "2026-10-25T01:00",
            "daily",
            "02:30",
            "Europe/Berlin",
            "2026-10-25T00:30",
            "2026-10-26T01:30",
        ),
        # New York changes on other dates (8 March, 1 November 2026).
        (
            "2026-03-08T12:00",
            "daily",
            "08:00",
            "America/New_York",
            "2026-03-08T12:00",
            "2026-03-09T12:00",
        ),
        (
            "2026-03-08T11:00",
            "daily",
            "08:00",
            "America/New_York",
            "2026-03-07T13:00",
            "2026-03-08T12:00",
        ),
        (
            "2026-11-01T12:30",
            "daily",
            "08:00",
            "America/New_York",
            "2026-10-31T12:00",
            "2026-11-01T13:00",
        ),
        # Weekly: the next named weekday; a week across a clock change is 167 or 169 hours.
        (
            "2026-11-18T12:00",
            "weekly",
            "mon 08:00",
            "Asia/Bishkek",
            "2026-11-16T02:00",
            "2026-11-23T02:00",
        ),
        (
            "2026-11-23T02:00",
            "weekly",
            "mon 08:00",
            "Asia/Bishkek",
            "2026-11-23T02:00",
            "2026-11-30T02:00",
        ),
        (
            "2026-10-20T12:00",
            "weekly",
            "mon 08:00",
            "Europe/Berlin",
            "2026-10-19T06:00",
            "2026-10-26T07:00",
        ),
        ("2026-11-17T12:00", "weekly", "sun 18:00", "UTC", "2026-11-15T18:00", "2026-11-22T18:00"),
        # Hourly at a local minute: half-hour offsets move it in UTC.
        (
            "2026-11-16T10:00",
            "hourly",
            "08:15",
            "Asia/Kolkata",
            "2026-11-16T09:45",
            "2026-11-16T10:45",
        ),
        (
            "2026-11-16T10:45",
            "hourly",
            "08:15",
            "Asia/Kolkata",
            "2026-11-16T10:45",
            "2026-11-16T11:45",
        ),
        ("2026-11-16T10:59", "hourly", "00:00", "UTC", "2026-11-16T10:00", "2026-11-16T11:00"),
        (
            "2026-10-25T00:30",
            "hourly",
            "00:00",
            "Europe/Berlin",
            "2026-10-25T00:00",
            "2026-10-25T01:00",
        ),
    ],
)
def test_digest_periods(
    now: str, frequency: str, deliver_at: str, tz: str, start: str, end: str
) -> None:
    period = digest_period(utc(now), frequency, parse_deliver_at(deliver_at), zone(tz))  # type: ignore[arg-type]
    assert period == Period(utc(start), utc(end))


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"])
@pytest.mark.parametrize(
    ("frequency", "deliver_at"),
    [("daily", "08:00"), ("daily", "02:30"), ("weekly", "sun 02:30"), ("hourly", "00:30")],
)
def test_every_instant_is_in_exactly_one_period(tz: str, frequency: str, deliver_at: str) -> None:
    """A year in 47-minute steps: periods contain the instant and tile time without gaps."""
    at, zone_ = parse_deliver_at(deliver_at), zone(tz)
    t = utc("2026-01-01T00:00")
    while t < utc("2027-01-01T00:00"):
        period = digest_period(t, frequency, at, zone_)  # type: ignore[arg-type]
        assert period.start <= t < period.end
        assert digest_period(period.start, frequency, at, zone_) == period  # type: ignore[arg-type]
        assert digest_period(period.end, frequency, at, zone_).start == period.end  # type: ignore[arg-type]
        assert period_name(period) == frequency
        t += timedelta(minutes=47 if frequency == "hourly" else 47 * 7)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:00", DeliverAt(8, 0, 0)),
        ("7:05", DeliverAt(7, 5, 0)),
        ("mon 08:00", DeliverAt(8, 0, 0)),
        ("Friday 18:30", DeliverAt(18, 30, 4)),
        ("SUN 00:00", DeliverAt(0, 0, 6)),
    ],
)
def test_parse_deliver_at(text: str, expected: DeliverAt) -> None:
    assert parse_deliver_at(text) == expected


@pytest.mark.parametrize("text", ["24:00", "08:60", "8", "noon", "xyz 08:00", ""])
def test_parse_deliver_at_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid deliver_at"):
        parse_deliver_at(text)


def test_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Bishkek'"):
        zone("Europe/Bishkek")


def alert(match_id: int, feed: str, title: str, link: str | None, watchlist: str = "kg") -> Alert:
    return Alert(
        delivery_id="msg_1",
        match_id=match_id,
        watchlist_id=watchlist,
        watchlist_title=watchlist.upper(),
        feed_id=feed,
        feed_title=feed.title(),
        entry_title=title,
        entry_link=link,
        entry_published=None,
        terms=(AlertTerm("person", "Azimjan Askarov", f"Askarov {match_id}", "title", "exact"),),
        snippet="…",
        matched_at=utc("2026-11-16T10:00") + timedelta(minutes=match_id),
    )


def test_the_same_story_from_several_feeds_is_listed_once() -> None:
    alerts = [
        alert(1, "hrw", "Defender detained in Bishkek", "https://example.org/story?utm_source=x"),
        alert(2, "amnesty", "Defender detained in Bishkek", "https://EXAMPLE.org/story/"),
        alert(3, "fidh", "Defender detained in Bishkek after a raid", None),
        alert(4, "osce", "Defender detained in Bishkek after a raid", None),
        alert(5, "hrw", "Defender detained in Bishkek", "https://example.org/story", "kz"),
        alert(6, "hrw", "Short", None),
        alert(7, "amnesty", "Short", None),
    ]
    grouped = group_stories(alerts)
    assert [a.match_id for a in grouped] == [1, 3, 6, 7, 5]
    assert grouped[0].also_reported_by == ("Amnesty",)
    assert {t.text for t in grouped[0].terms} == {"Askarov 1", "Askarov 2"}
    assert grouped[1].also_reported_by == ("Osce",)
    assert grouped[2].also_reported_by == () and grouped[4].also_reported_by == ()
