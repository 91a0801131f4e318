"""Polite, robust fetching against real local HTTP servers, through the real poll job.

Each scenario of the issue: 304 and unchanged bodies, 429 with Retry-After, 500s
then recovery, a slow server, a gzip bomb, redirect loops and chains, permanent
and temporary redirects, 410, HTML instead of a feed, Cyrillic encodings, server
freshness hints, and the per-host limit across workers.
"""

from __future__ import annotations

import gzip
import itertools
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import text
from werkzeug import Request, Response

from tests.support.feedlab import START, FeedLab
from tests.support.feeds import rss
from worker.core.errors import FetchError
from worker.core.types import PollOutcome
from worker.db.models import Entry
from worker.ingest.fetch import Fetcher, FetchLimits
from worker.ingest.host_gate import LocalHostGate, RedisHostGate, host_key
from worker.ingest.http import fresh_for_seconds, retry_after_seconds
from worker.ingest.pipeline import ingest_feed
from worker.ingest.policy import PollPolicy
from worker.settings import load_settings

ITEMS = [
    {"guid": "a1", "title": "Bir Duino statement", "description": "Bir Duino calls for release."},
    {"guid": "a2", "title": "Weather", "description": "Sunny in Bishkek."},
]
FAST = "defaults:\n  host_delay: 0\n"


def one_feed(url: str, extra: str = "", defaults: str = FAST) -> str:
    return (
        f"{defaults}feeds:\n  - id: f\n    url: {url}\n{extra}"
        "watchlists:\n  - id: kg\n    title: KG\n    keywords: [Bir Duino]\n"
        "    people: [{name: Азимжан Аскаров}]\n"
    )


def test_not_modified_and_unchanged_bodies_cost_no_parsing(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(rss(ITEMS), headers={"ETag": '"v1"'}, content_type="application/rss+xml")

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    httpserver.expect_request("/same.xml").respond_with_data(rss(ITEMS))
    lab.configure(
        f"{FAST}feeds:\n  - id: f\n    url: {httpserver.url_for('/feed.xml')}\n"
        f"  - id: same\n    url: {httpserver.url_for('/same.xml')}\n"
    )
    assert lab.poll("f").new_entries == 2 and lab.poll("same").new_entries == 2
    # Remove what was stored: a poll that parsed the body would store it again.
    with lab.rt.sessions() as session, session.begin():
        session.query(Entry).delete()
    lab.advance(timedelta(minutes=15))
    assert lab.poll("f").new_entries == 0
    assert seen[-1]["If-None-Match"] == '"v1"' and lab.feed("f").last_status == 304
    assert lab.poll("same").new_entries == 0
    assert lab.feed("same").last_status == 200 and lab.entries("same") == []
    assert lab.feed("f").consecutive_failures == 0 and lab.feed("f").last_error is None


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("3600", timedelta(hours=1)),
        ("in two hours", timedelta(hours=2)),
        ("999999999", timedelta(hours=24)),
    ],
)
def test_429_waits_as_long_as_the_server_asks_within_the_cap(
    lab: FeedLab, httpserver: HTTPServer, retry_after: str, expected: timedelta
) -> None:
    if retry_after == "in two hours":  # an HTTP date, against the server's real Date header
        retry_after = format_datetime(datetime.now(UTC) + timedelta(hours=2, seconds=1), True)
    headers = {"Retry-After": retry_after}
    httpserver.expect_request("/feed.xml").respond_with_data(
        "slow down", status=429, headers=headers
    )
    lab.configure(one_feed(httpserver.url_for("/feed.xml")))
    outcome = lab.poll("f")
    feed = lab.feed("f")
    assert outcome.error is not None and outcome.error.startswith("HTTP 429")
    assert "asked to come back in" in outcome.error
    assert feed.consecutive_failures == 1 and feed.last_status == 429
    assert feed.next_poll_at is not None
    assert expected <= feed.next_poll_at - START <= expected * 1.1


def test_server_errors_back_off_then_recover(lab: FeedLab, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("oops", status=500)
    lab.configure(one_feed(httpserver.url_for("/feed.xml"), "    poll_interval: 10m\n"))
    delays = []
    for _ in range(4):
        assert lab.poll("f").error == "HTTP 500 INTERNAL SERVER ERROR"
        feed = lab.feed("f")
        assert feed.next_poll_at is not None
        delays.append(feed.next_poll_at - lab.now)
        lab.advance(timedelta(minutes=1))
    assert [round(d / timedelta(minutes=10)) for d in delays] == [1, 2, 4, 8]
    assert lab.feed("f").failing_since == START
    httpserver.clear_all_handlers()
    httpserver.expect_request("/feed.xml").respond_with_data(rss(ITEMS))
    outcome = lab.poll("f")
    feed = lab.feed("f")
    assert outcome.error is None and outcome.new_entries == 2 and len(outcome.delivery_ids) == 0
    assert (feed.consecutive_failures, feed.failing_since, feed.last_error) == (0, None, None)
    assert feed.next_poll_at is not None
    assert timedelta(minutes=9) <= feed.next_poll_at - lab.now <= timedelta(minutes=10)


def test_entries_the_database_refuses_are_a_recorded_failure(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    """A refusal while storing (a trigger stands in for any database refusal or bug) fails
    the feed like a fetch error: recorded, backed off, nothing half-stored, and the
    entries go in once it passes."""
    httpserver.expect_request("/feed.xml").respond_with_data(rss(ITEMS))
    runtime = lab.configure(one_feed(httpserver.url_for("/feed.xml"), "    poll_interval: 10m\n"))
    with runtime.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION rw_test_refuse() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER rw_test_refuse BEFORE INSERT ON entries"
                " FOR EACH ROW EXECUTE FUNCTION rw_test_refuse()"
            )
        )
    try:
        outcome = lab.poll("f")
    finally:
        with runtime.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER rw_test_refuse ON entries"))
            connection.execute(text("DROP FUNCTION rw_test_refuse()"))
    feed = lab.feed("f")
    assert outcome.error is not None and "refused by the test" in outcome.error
    assert feed.consecutive_failures == 1 and "refused by the test" in (feed.last_error or "")
    assert feed.next_poll_at is not None and feed.next_poll_at - lab.now >= timedelta(minutes=10)
    assert lab.entries("f") == []
    lab.advance(timedelta(minutes=30))
    outcome = lab.poll("f")
    assert outcome.error is None and outcome.new_entries == 2
    assert lab.feed("f").consecutive_failures == 0


def test_failing_feed_is_never_given_up(lab: FeedLab, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("oops", status=503)
    lab.configure(one_feed(httpserver.url_for("/feed.xml")))
    for _ in range(30):
        lab.poll("f")
        lab.advance(timedelta(days=1))
    feed = lab.feed("f")
    assert feed.active and feed.consecutive_failures == 30
    assert feed.next_poll_at is not None
    assert feed.next_poll_at - (lab.now - timedelta(days=1)) <= timedelta(hours=24) * 1.1


def test_slow_servers_hit_the_timeouts(lab: FeedLab, httpserver: HTTPServer) -> None:
    def no_headers(_: Request) -> Response:
        time.sleep(2.5)
        return Response(rss(ITEMS))

    def dripping(_: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
            for _ in range(150):  # 30 s in all, far beyond the 2 s download cap
                time.sleep(0.2)
                yield b" "

        return Response(body(), content_type="application/rss+xml")

    httpserver.expect_request("/silent.xml").respond_with_handler(no_headers)
    httpserver.expect_request("/drip.xml").respond_with_handler(dripping)
    lab.configure(
        f"{FAST}feeds:\n  - id: silent\n    url: {httpserver.url_for('/silent.xml')}\n"
        f"  - id: drip\n    url: {httpserver.url_for('/drip.xml')}\n",
        RIGHTSWATCH_FETCH_TIMEOUT="1",
    )
    started = time.monotonic()
    assert lab.poll("drip").error == "download took longer than 2s"
    assert lab.poll("silent").error == "timed out after 1s waiting for data"
    assert (
        time.monotonic() - started < 20
    )  # cut off, not read to the end (a loaded CI host is slow)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_is_stopped_not_inflated(
    lab: FeedLab, httpserver: HTTPServer, encoding: str
) -> None:
    inflated = b'<?xml version="1.0"?><rss version="2.0"><channel><title>' + b"A" * 300_000_000
    bomb = gzip.compress(inflated, 9) if encoding == "gzip" else zlib.compress(inflated, 9)
    assert len(bomb) < 400_000
    httpserver.expect_request("/bomb.xml").respond_with_data(
        bomb, headers={"Content-Encoding": encoding}, content_type="application/rss+xml"
    )
    lab.configure(one_feed(httpserver.url_for("/bomb.xml")), RIGHTSWATCH_MAX_FEED_BYTES="2000000")
    started = time.monotonic()
    outcome = lab.poll("f")
    assert outcome.error == "response larger than 2,000,000 bytes after decompression"
    assert time.monotonic() - started < 5


def test_gzip_feeds_are_read(lab: FeedLab, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        gzip.compress(rss(ITEMS).encode()), headers={"Content-Encoding": "gzip"}
    )
    lab.configure(one_feed(httpserver.url_for("/feed.xml")))
    assert lab.poll("f").new_entries == 2


def test_redirect_loops_and_long_chains_are_errors(lab: FeedLab, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=301, headers={"Location": "/a"})
    for i in range(10):
        httpserver.expect_request(f"/r{i}").respond_with_data(
            "", status=307, headers={"Location": f"/r{i + 1}"}
        )
    lab.configure(
        "defaults:\n  host_delay: 0\n  max_redirects: 3\n"
        f"feeds:\n  - id: loop\n    url: {httpserver.url_for('/a')}\n"
        f"  - id: chain\n    url: {httpserver.url_for('/r0')}\n"
    )
    loop = lab.poll("loop").error
    assert loop is not None and loop.startswith("redirect loop: ") and loop.endswith("/a")
    chain = lab.poll("chain").error
    assert chain is not None and chain.startswith("more than 3 redirects")


def test_a_permanent_redirect_moves_the_feed_after_it_is_seen_twice(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/old.xml").respond_with_data(
        "", status=301, headers={"Location": "/new.xml"}
    )
    httpserver.expect_request("/tmp.xml").respond_with_data(
        "", status=302, headers={"Location": "/new.xml"}
    )
    httpserver.expect_request("/new.xml").respond_with_data(rss(ITEMS))
    old, tmp = httpserver.url_for("/old.xml"), httpserver.url_for("/tmp.xml")
    lab.configure(f"{FAST}feeds:\n  - id: moved\n    url: {old}\n  - id: tmp\n    url: {tmp}\n")
    assert lab.poll("moved").new_entries == 2
    assert lab.feed("moved").redirected_url is None
    assert lab.feed("moved").redirect_candidate == httpserver.url_for("/new.xml")
    lab.poll("moved")
    assert lab.feed("moved").redirected_url == httpserver.url_for("/new.xml")
    httpserver.clear_log()
    lab.poll("moved")
    assert [r.path for r, _ in httpserver.log] == ["/new.xml"]
    for _ in range(3):
        lab.poll("tmp")
    tmp_feed = lab.feed("tmp")
    assert (tmp_feed.redirected_url, tmp_feed.redirect_candidate) == (None, None)
    assert lab.feed("moved").url == old


def test_gone_is_recorded_and_still_retried_daily(lab: FeedLab, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("", status=410)
    lab.configure(one_feed(httpserver.url_for("/feed.xml")))
    outcome = lab.poll("f")
    feed = lab.feed("f")
    assert outcome.error == "HTTP 410 GONE: the server says this feed was removed for good"
    assert feed.gone_since == START and feed.active
    assert feed.next_poll_at is not None
    assert timedelta(hours=24) <= feed.next_poll_at - START <= timedelta(hours=24) * 1.1


def test_html_instead_of_a_feed_is_a_clear_error(lab: FeedLab, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        "<!doctype html><html><body>Access denied</body></html>", content_type="text/html"
    )
    lab.configure(one_feed(httpserver.url_for("/feed.xml")))
    assert lab.poll("f").error == "the server returned an HTML page, not a feed"


CYRILLIC = [
    {
        "guid": "ru1",
        "title": "Память Азимжана Аскарова",
        "description": "В Бишкеке вспомнили правозащитника Азимжана Аскарова.",  # noqa: RUF001
    }
]


@pytest.mark.parametrize("codec", ["windows-1251", "koi8-r"])
@pytest.mark.parametrize("declared_in", ["header", "xml"])
def test_cyrillic_encodings_are_read(
    lab: FeedLab, httpserver: HTTPServer, codec: str, declared_in: str
) -> None:
    text = rss(CYRILLIC)
    if declared_in == "xml":
        body = text.replace('encoding="UTF-8"', f'encoding="{codec}"').encode(codec)
        content_type = "application/rss+xml"
    else:
        body = text.replace(' encoding="UTF-8"', "").encode(codec)
        content_type = f"application/rss+xml; charset={codec}"
    httpserver.expect_request("/feed.xml").respond_with_data(body, content_type=content_type)
    lab.configure(one_feed(httpserver.url_for("/feed.xml")))
    outcome = lab.poll("f")
    assert outcome.error is None and len(outcome.new_match_ids) == 1
    (entry,) = lab.entries("f")
    assert entry.title == "Память Азимжана Аскарова"


def test_server_freshness_hints_and_the_feed_rhythm_set_the_interval(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    daily = [
        {**ITEMS[0], "guid": f"d{i}", "date": format_datetime(START - timedelta(days=i))}
        for i in range(5)
    ]
    busy = [
        {**ITEMS[0], "guid": f"b{i}", "date": format_datetime(START - timedelta(minutes=i))}
        for i in range(5)
    ]
    httpserver.expect_request("/maxage.xml").respond_with_data(
        rss(ITEMS), headers={"Cache-Control": "public, max-age=7200"}
    )
    httpserver.expect_request("/week.xml").respond_with_data(
        rss(ITEMS), headers={"Cache-Control": "max-age=604800"}
    )
    httpserver.expect_request("/ttl.xml").respond_with_data(rss(ITEMS, extra="<ttl>180</ttl>"))
    httpserver.expect_request("/expires.xml").respond_with_data(
        rss(ITEMS),
        headers={"Expires": format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)},
    )
    httpserver.expect_request("/daily.xml").respond_with_data(rss(daily))
    httpserver.expect_request("/busy.xml").respond_with_data(rss(busy))
    names = ("maxage", "week", "ttl", "expires", "daily", "busy")
    feeds = "".join(f"  - id: {n}\n    url: {httpserver.url_for(f'/{n}.xml')}\n" for n in names)
    lab.configure(f"{FAST}  poll_interval: 15m\nfeeds:\n{feeds}")
    waits = {}
    for name in names:
        assert lab.poll(name).error is None
        next_poll = lab.feed(name).next_poll_at
        assert next_poll is not None
        waits[name] = (next_poll - START) / timedelta(minutes=1)
    assert 120 <= waits["maxage"] <= 132
    assert 360 <= waits["week"] <= 396  # capped by max_poll_interval (6h)
    assert 180 <= waits["ttl"] <= 198
    assert 60 <= waits["expires"] <= 66
    assert 13.5 <= waits["daily"] <= 15  # a quiet feed: poll_interval is the ceiling
    assert 4.5 <= waits["busy"] <= 5  # min_poll_interval


def test_feed_requests_identify_rightswatch(lab: FeedLab, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(rss(ITEMS))
    lab.configure(one_feed(httpserver.url_for("/feed.xml")), RIGHTSWATCH_USER_AGENT="probe/1")
    lab.poll("f")
    ((request, _),) = httpserver.log
    assert request.headers["User-Agent"] == "probe/1"
    assert request.headers["Accept-Encoding"] == "gzip, deflate"


# --- the per-host limit ------------------------------------------------------------------


class _Recorder:
    """A feed host that records when each request started and how many overlapped."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0
        self.starts: list[float] = []

    def handler(self, _: Request) -> Response:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.starts.append(time.monotonic())
        time.sleep(0.3)
        with self.lock:
            self.active -= 1
        return Response(rss(ITEMS))


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.mark.parametrize("gate", ["local", "redis"])
def test_per_host_concurrency_and_spacing_hold_across_workers(
    threaded_server: HTTPServer, redis_url: str, gate: str
) -> None:
    recorder = _Recorder()
    threaded_server.expect_request("/feed.xml").respond_with_handler(recorder.handler)
    settings = load_settings({"RIGHTSWATCH_FETCH_TIMEOUT": "10"})
    shared = LocalHostGate()
    limits = FetchLimits(host_concurrency=2, host_delay=0.25, host_wait=30)

    def worker(errors: list[BaseException]) -> None:
        # One fetcher per thread, as each worker process has its own.
        fetcher = Fetcher(settings, gate=shared if gate == "local" else RedisHostGate(redis_url))
        try:
            for i in range(3):
                fetcher.fetch(threaded_server.url_for(f"/feed.xml?n={i}"), limits=limits)
        except BaseException as e:
            errors.append(e)
        finally:
            fetcher.close()

    errors: list[BaseException] = []
    threads = [threading.Thread(target=worker, args=(errors,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(recorder.starts) == 12
    assert recorder.most == 2
    starts = sorted(recorder.starts)
    # The gate spaces the starts; the server sees that less the client's own jitter.
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.2


def test_a_busy_host_defers_the_poll_without_a_failure(
    lab: FeedLab, threaded_server: HTTPServer
) -> None:
    threaded_server.expect_request("/feed.xml").respond_with_data(rss(ITEMS))
    runtime = lab.configure(f"feeds:\n  - id: f\n    url: {threaded_server.url_for('/feed.xml')}\n")
    gate = LocalHostGate()
    fetcher = Fetcher(runtime.settings, gate=gate)
    policy = PollPolicy(limits=FetchLimits(host_concurrency=1, host_delay=0, host_wait=0.2))

    def poll() -> PollOutcome:
        return ingest_feed(
            runtime.sessions,
            "f",
            fetcher=fetcher,
            matcher=runtime.matcher(),
            now=lab.now,
            policy=policy,
        )

    try:
        host = host_key(threaded_server.url_for("/feed.xml"))
        with gate.slot(host, concurrency=1, delay=0, wait=0, lease=60):
            outcome = poll()
        feed = lab.feed("f")
        assert not outcome.polled and feed.consecutive_failures == 0 and feed.last_error is None
        assert feed.next_poll_at is not None
        assert timedelta(seconds=30) <= feed.next_poll_at - lab.now <= timedelta(seconds=60)
        assert poll().new_entries == 2
    finally:
        fetcher.close()


# --- header arithmetic -------------------------------------------------------------------


def _headers(**values: str) -> object:
    import httpx

    return httpx.Headers({k.replace("_", "-"): v for k, v in values.items()})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Cache_Control": "max-age=60"}, 60.0),
        ({"Cache_Control": 'public, s-maxage="120", max-age=60'}, 120.0),
        ({"Cache_Control": "no-cache, max-age=60"}, None),
        (
            {
                "Date": "Sat, 28 Nov 2026 12:00:00 GMT",
                "Expires": "Sat, 28 Nov 2026 13:00:00 GMT",
            },
            3600.0,
        ),
        ({"Expires": "0"}, None),
        ({}, None),
    ],
)
def test_fresh_for(headers: dict[str, str], expected: float | None) -> None:
    assert fresh_for_seconds(_headers(**headers)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("Sat, 28 Nov 2026 12:10:00 GMT", 600.0),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after(value: str, expected: float | None) -> None:
    headers = _headers(Retry_After=value, Date="Sat, 28 Nov 2026 12:00:00 GMT")
    assert retry_after_seconds(headers) == expected  # type: ignore[arg-type]


def test_unreachable_hosts_and_bad_urls_are_one_line_errors() -> None:
    fetcher = Fetcher(load_settings({"RIGHTSWATCH_FETCH_TIMEOUT": "2"}), gate=LocalHostGate())
    try:
        with pytest.raises(FetchError, match=r"^cannot connect"):
            fetcher.fetch("http://127.0.0.1:9/feed.xml")
        with pytest.raises(FetchError, match=r"^file not found"):
            fetcher.fetch("file:///nonexistent/feed.xml")
    finally:
        fetcher.close()


def test_a_config_change_keeps_backoff_unless_the_interval_shrinks(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("", status=410)
    config = one_feed(httpserver.url_for("/feed.xml"), "    poll_interval: 1h\n")
    lab.configure(config)
    lab.poll("f")
    backed_off = lab.feed("f").next_poll_at
    assert backed_off is not None and backed_off - lab.now >= timedelta(hours=24)
    lab.configure(config.replace("title: KG", "title: Kyrgyzstan"))
    assert lab.feed("f").next_poll_at == backed_off
    lab.configure(config.replace("poll_interval: 1h", "poll_interval: 10m"))
    assert lab.feed("f").next_poll_at == lab.now
