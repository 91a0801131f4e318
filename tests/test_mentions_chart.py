"""The desk chart's arithmetic: mentions bucketed into 90 UTC days, scaled to bars."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from worker.core.mentions import BAR_WIDTH, DAYS, HEIGHT, bars, chart, daily_counts

TODAY = date(2030, 3, 31)  # a given day, handed to the pure functions (no wall clock)


def at(days_ago: int, hour: int = 12) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), UTC).replace(
        hour=hour
    )


def test_times_fall_into_their_utc_day_and_the_window_is_ninety_days() -> None:
    bishkek = timezone(timedelta(hours=6))
    times = [
        at(0),
        at(0, hour=23),
        at(1),
        datetime(2030, 4, 1, 5, tzinfo=bishkek),  # 23:00 UTC on the 31st: today
        at(DAYS - 1),  # the oldest day shown
        at(DAYS),  # one day too old
        at(-1),  # tomorrow
    ]
    counts = daily_counts(times, TODAY)
    assert len(counts) == DAYS
    assert counts[-1] == 3 and counts[-2] == 1 and counts[0] == 1
    assert sum(counts) == 5


def test_the_busiest_day_is_full_height_and_one_mention_still_shows() -> None:
    counts = [0] * DAYS
    counts[-1], counts[10], counts[20] = 200, 1, 100
    drawn = bars(counts, TODAY)
    assert [b.day for b in (drawn[0], drawn[-1])] == [TODAY - timedelta(days=DAYS - 1), TODAY]
    assert (drawn[-1].height, drawn[-1].y) == (HEIGHT, 0)
    assert drawn[20].height == HEIGHT // 2 and drawn[20].y == HEIGHT - HEIGHT // 2
    assert drawn[10].height == 1  # 1/200 of 80 pixels rounds to 0, but never to nothing
    assert drawn[0].height == 0 and drawn[0].y == HEIGHT
    assert [b.x for b in drawn[:3]] == [0, BAR_WIDTH, 2 * BAR_WIDTH]


def test_no_mentions_draws_an_empty_chart_without_dividing_by_zero() -> None:
    empty = chart([], TODAY)
    assert empty.total == 0 and empty.peak is None and empty.sources == []
    assert {b.height for b in empty.bars} == {0}
    assert (empty.first, empty.last) == (TODAY - timedelta(days=DAYS - 1), TODAY)


def test_the_chart_counts_sources_and_names_the_peak_day() -> None:
    mentions = [
        (at(0), "24.kg"),
        (at(5), "Azattyk"),
        (at(5), "24.kg"),
        (at(5), "24.kg"),
        (at(200), "Old news"),  # outside the window: neither counted nor listed
    ]
    drawn = chart(mentions, TODAY)
    assert drawn.total == 4
    assert drawn.peak is not None and (drawn.peak.day, drawn.peak.count) == (
        TODAY - timedelta(days=5),
        3,
    )
    assert drawn.sources == [("24.kg", 3), ("Azattyk", 1)]
