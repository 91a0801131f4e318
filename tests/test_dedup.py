"""Every new report seen once: identity within a feed, stories across feeds.

The pure rules first (canonical links, keys, the near-duplicate measure and its
threshold on real-looking reports), then against PostgreSQL and local servers:
GUIDs or links that change, edited entries, and one report carried by three
feeds alerting each subscriber once, naming all three.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.feedlab import FeedLab
from tests.support.feeds import rss
from tests.support.receiver import signed_payloads
from worker import jobs
from worker.core import dedup
from worker.core.dedup import (
    EntryKeys,
    KnownEntry,
    canonical_link,
    jaccard,
    link_key,
    resolve,
    shingles,
)
from worker.db import entries

# --- reports for the similarity measure ------------------------------------------------

TITLE = "Kyrgyzstan: lawyer of Azimjan Askarov detained in Bishkek"
REPORT = """Police in Bishkek detained Valerian Vakhitov, the lawyer who defended the late human \
rights defender Azimjan Askarov, on the morning of 20 November as he left his office in the city \
centre. Officers in plain clothes did not show a warrant and took him to the Pervomaisky district \
police station, where he was questioned for six hours without access to a colleague.

According to his family, he was accused of "calling for mass unrest" over a post on social media \
in which he criticised the draft law on foreign representatives. Local organisations, including \
Bir Duino and the Justice for All coalition, said the charge was brought to punish him for his \
work on torture cases in the south of the country.

The detention comes weeks after parliament passed the law in its first reading. Several lawyers \
who represented victims of the June 2010 violence in Osh have reported surveillance and summonses \
since the summer. We call on the authorities to release Valerian Vakhitov immediately and \
unconditionally, to drop all charges against him, and to guarantee that lawyers can do their work \
without fear of reprisal."""

COPIES = {
    "site footer": REPORT
    + "\n\nThe post Kyrgyzstan: lawyer detained in Bishkek appeared first on Front Line Defenders.",
    "header and share links": "Statement | 21 November 2026\n"
    + REPORT
    + "\n\nShare this: Facebook Twitter Email Print. Read more on our website.",
    "lightly edited": REPORT.replace("on the morning of 20 November", "early on 20 November")
    .replace("six hours", "seven hours")
    .replace("immediately and unconditionally", "at once")
    .replace("since the summer", "since July"),
}

APPEAL = """Please write immediately in Russian, Kyrgyz or your own language: calling on the \
authorities to release the detained person immediately and unconditionally, as they are held \
solely for their peaceful human rights work; urging them to ensure that, pending release, the \
person is not tortured or otherwise ill-treated and has regular access to family and lawyers of \
their choosing; calling on them to end the harassment of human rights defenders in the country. \
Please send appeals before 31 January 2027 to the Prosecutor General and the Minister of Internal \
Affairs, with copies to diplomatic representatives accredited to your country. Please check with \
your section office if sending appeals after the above date."""
URGENT_ACTIONS = [
    (
        "Urgent Action: journalist Bolot Temirov arrested",
        """Journalist Bolot Temirov was arrested in Bishkek on 3 November after publishing an \
investigation into customs fraud. Police searched his office, seized computers and held him \
overnight. He faces charges of drug possession which his colleagues say were fabricated after \
officers planted a package in his car.\n"""
        + APPEAL,
    ),
    (
        "Urgent Action: activist Gulnara Dzhurabaeva detained",
        """Activist Gulnara Dzhurabaeva was detained at Manas airport on 12 November as she \
returned from a conference in Almaty. Border guards confiscated her passport and phone. Relatives \
were told she is accused of organising an unauthorised rally against the construction of a dam \
near her village in the Jalal-Abad region.\n"""
        + APPEAL,
    ),
]
UNRELATED = """A court in Termez sentenced blogger Otabek Sattoriy to six and a half years in \
prison on charges of extortion and slander, which local human rights defenders say were brought \
to silence his reporting on corruption among regional officials. The trial was closed to the \
public and his lawyers were not allowed to call defence witnesses."""


def _text(title: str, body: str) -> frozenset[int]:
    return shingles(dedup.story_text(title, body, ""))


@pytest.mark.parametrize("copy", sorted(COPIES))
def test_syndicated_copies_are_near_identical(copy: str) -> None:
    a, b = _text(TITLE, REPORT), _text(TITLE, COPIES[copy])
    assert jaccard(a, b) >= 0.8
    assert dedup.near_identical(a, b, dedup.title_words(TITLE), dedup.title_words(TITLE))
    # A copy whose title got a prefix is still the same report.
    prefixed = dedup.title_words("Statement: " + TITLE)
    assert dedup.near_identical(a, b, dedup.title_words(TITLE), prefixed)


def test_distinct_reports_sharing_a_template_are_not_one_story() -> None:
    (title_a, body_a), (title_b, body_b) = URGENT_ACTIONS
    a, b = _text(title_a, body_a), _text(title_b, body_b)
    # The appeal template is longer than either case: the texts alone look alike…
    assert jaccard(a, b) >= dedup.SAME_STORY_JACCARD
    # …but the titles name different people.
    assert not dedup.near_identical(a, b, dedup.title_words(title_a), dedup.title_words(title_b))
    unrelated = _text("Uzbekistan: blogger sentenced", UNRELATED)
    assert jaccard(_text(TITLE, REPORT), unrelated) < 0.05
    short = _text("Statement", "Bir Duino calls for release.")
    assert not dedup.near_identical(short, short, frozenset(), frozenset())


def test_the_signature_finds_copies_and_skips_unrelated_reports() -> None:
    original = dedup.signature(_text(TITLE, REPORT))
    assert len(original) == dedup.BINS
    for body in COPIES.values():
        copy = dedup.signature(_text(TITLE, body))
        assert set(dedup.bands(original)) & set(dedup.bands(copy))
        assert dedup.estimate(dedup.positions(original), dedup.positions(copy)) >= 0.7
    unrelated = dedup.signature(_text("Blogger sentenced", UNRELATED))
    assert not set(dedup.bands(original)) & set(dedup.bands(unrelated))
    assert dedup.estimate(dedup.positions(original), dedup.positions(unrelated)) < 0.1


@pytest.mark.parametrize(
    ("link", "canonical"),
    [
        ("https://EXAMPLE.org/a/", "https://example.org/a"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:443/a?b=2&a=1", "https://example.org/a?a=1&b=2"),
        ("https://example.org/a?utm_medium=rss&fbclid=1&p=2&gclid=x", "https://example.org/a?p=2"),
        ("https://example.org/a?mc_cid=1&_hsenc=2&mtm_campaign=3", "https://example.org/a"),
        ("https://example.org/a#comments", "https://example.org/a"),
    ],
)
def test_canonical_link(link: str, canonical: str) -> None:
    assert canonical_link(link) == canonical


def test_link_keys_ignore_the_scheme_and_home_pages_are_not_keys() -> None:
    assert link_key("http://example.org/report/1") == link_key("https://Example.org/report/1/")
    assert link_key("https://example.org/") is None and link_key("https://example.org") is None
    assert link_key("javascript:alert(1)") is None and link_key(None) is None


def test_resolve_finds_entries_whose_guid_changed_by_their_link() -> None:
    known = [
        KnownEntry(1, EntryKeys("guid:g1", "l1"), "t1"),
        KnownEntry(2, EntryKeys("guid:g2", "l2"), "t2"),
        KnownEntry(3, EntryKeys("hash:t3", None), "t3"),
    ]
    fresh = [
        EntryKeys("guid:g1", "l1-moved"),  # same GUID, new link
        EntryKeys("guid:g9", "l2"),  # new GUID, same link
        EntryKeys("guid:g8", "l2"),  # the same link again: entry 2 is already claimed
        EntryKeys("hash:t3", None),  # no GUID or link, same text
        EntryKeys("guid:g6", "l6"),  # new
    ]
    found = resolve(fresh, known)
    assert [k.id if k else None for k in found] == [1, 2, None, 3, None]


# --- against the database -------------------------------------------------------------------

WATCH = """\
defaults:
  host_delay: 0
watchlists:
  - id: kg
    title: Kyrgyzstan
    people: [{name: Valerian Vakhitov}, {name: Tolekan Ismailova}]
  - id: ngo
    title: NGOs
    keywords: [Justice for All]
"""


def _items(guids: list[str], links: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "guid": g,
            "link": link,
            "title": f"Report {i}",
            "description": f"Valerian Vakhitov report number {i} " + "words " * i,
        }
        for i, (g, link) in enumerate(zip(guids, links, strict=True))
    ]


def test_guids_that_change_while_links_stay_make_no_new_entry(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    links = [f"https://example.org/report/{i}?utm_source=rss" for i in range(3)]
    httpserver.expect_request("/feed.xml").respond_with_data(rss(_items(["a", "b", "c"], links)))
    lab.configure(
        f"feeds:\n  - id: f\n    url: {httpserver.url_for('/feed.xml')}\n{WATCH}"
        "subscribers:\n  - id: s\n    console: true\n    watchlists: [kg]\n"
    )
    first = lab.poll("f")
    assert (first.new_entries, len(first.delivery_ids)) == (3, 3)
    httpserver.clear_all_handlers()
    moved = [link.replace("?utm_source=rss", "/?utm_source=email") for link in links]
    httpserver.expect_request("/feed.xml").respond_with_data(rss(_items(["x", "y", "z"], moved)))
    lab.advance(timedelta(hours=1))
    second = lab.poll("f")
    assert (second.new_entries, second.new_match_ids, second.delivery_ids) == (0, (), ())
    assert [e.guid for e in lab.entries("f")] == ["x", "y", "z"]


def test_links_that_change_while_guids_stay_make_no_new_entry(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    links = [f"https://example.org/report/{i}" for i in range(3)]
    httpserver.expect_request("/feed.xml").respond_with_data(rss(_items(["a", "b", "c"], links)))
    lab.configure(f"feeds:\n  - id: f\n    url: {httpserver.url_for('/feed.xml')}\n{WATCH}")
    assert lab.poll("f").new_entries == 3
    httpserver.clear_all_handlers()
    new_links = [f"https://example.org/2026/11/report-{i}" for i in range(3)]
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(_items(["a", "b", "c"], new_links))
    )
    lab.advance(timedelta(hours=1))
    assert lab.poll("f").new_entries == 0
    assert len(lab.entries("f")) == 3


def test_items_sharing_one_guid_or_link_are_still_told_apart(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    same_guid = _items(["dup", "dup", "dup"], [f"https://example.org/r/{i}" for i in range(3)])
    same_link = _items(["", "", ""], ["https://example.org/news"] * 3)
    httpserver.expect_request("/a.xml").respond_with_data(rss(same_guid))
    httpserver.expect_request("/b.xml").respond_with_data(rss(same_link))
    lab.configure(
        f"feeds:\n  - id: a\n    url: {httpserver.url_for('/a.xml')}\n"
        f"  - id: b\n    url: {httpserver.url_for('/b.xml')}\n{WATCH}"
    )
    assert lab.poll("a").new_entries == 3 and lab.poll("b").new_entries == 3
    lab.advance(timedelta(hours=1))
    assert lab.poll("a").new_entries == 0 and lab.poll("b").new_entries == 0


def test_an_edited_entry_keeps_its_identity_and_alerts_only_for_a_new_watch_list(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    item = {"guid": "e1", "title": "Lawyer detained", "description": "Valerian Vakhitov held."}
    httpserver.expect_request("/feed.xml").respond_with_data(rss([item]))
    lab.configure(
        f"feeds:\n  - id: f\n    url: {httpserver.url_for('/feed.xml')}\n{WATCH}"
        "subscribers:\n  - id: s\n    console: true\n    watchlists: [kg, ngo]\n"
    )
    assert len(lab.poll("f").delivery_ids) == 1
    edits = [
        ("Valerian Vakhitov held overnight in Bishkek.", 0),
        ("Valerian Vakhitov and Tolekan Ismailova held.", 0),  # same watch list: no new alert
        ("Valerian Vakhitov held, says Justice for All.", 1),  # a watch list it did not match
        ("Valerian Vakhitov held, says Justice for All (updated).", 0),
    ]
    for description, alerts in edits:
        httpserver.clear_all_handlers()
        httpserver.expect_request("/feed.xml").respond_with_data(
            rss([{**item, "description": description}])
        )
        lab.advance(timedelta(hours=1))
        outcome = lab.poll("f")
        assert (outcome.new_entries, outcome.changed_entries) == (0, 1)
        assert len(outcome.delivery_ids) == alerts, description
    (entry,) = lab.entries("f")
    assert entry.summary == "Valerian Vakhitov held, says Justice for All (updated)."
    assert entry.updated_at == lab.now


# --- one report, three feeds ------------------------------------------------------------------

LINK = "https://www.frontlinedefenders.org/en/case/vakhitov-detained"
THREE_FEEDS = [
    ("fld", "Front Line Defenders", LINK + "?utm_source=rss", COPIES["site footer"]),
    ("birduino", "Bir Duino news", LINK + "/", COPIES["header and share links"]),
    ("regional", "Regional digest", "https://regional.example/2026/11/lawyer", REPORT),
]


def _three_feed_config(server: HTTPServer, extra_feeds: str = "", defaults: str = "") -> str:
    feeds = "".join(
        f"  - id: {fid}\n    title: {title}\n    url: {server.url_for(f'/{fid}.xml')}\n"
        for fid, title, _, _ in THREE_FEEDS
    )
    return (
        f"defaults:\n  host_delay: 0\n{defaults}feeds:\n{feeds}{extra_feeds}"
        "watchlists:\n  - id: kg\n    title: Kyrgyzstan\n"
        "    people: [{name: Valerian Vakhitov}, {name: Tolekan Ismailova}]\n"
        "subscribers:\n  - id: desk\n    email: desk@example.org\n    watchlists: [kg]\n"
        f"  - id: tracker\n    webhook: {server.url_for('/hook')}\n"
        "    secret_env: CASE_TRACKER_WEBHOOK_SECRET\n    watchlists: [kg]\n"
    )


def _serve_three(server: HTTPServer) -> None:
    for fid, _, link, body in THREE_FEEDS:
        item = {"guid": f"{fid}-1", "title": TITLE, "link": link, "description": body}
        server.expect_request(f"/{fid}.xml").respond_with_data(rss([item]))
    server.expect_request("/hook", method="POST").respond_with_data("ok")


def test_one_report_in_three_feeds_is_one_alert_per_subscriber_naming_all_three(
    lab: FeedLab, httpserver: HTTPServer, smtp_server: tuple[str, Any]
) -> None:
    smtp_url, inbox = smtp_server
    _serve_three(httpserver)
    lab.configure(_three_feed_config(httpserver), RIGHTSWATCH_SMTP_URL=smtp_url)
    assert lab.run_once() == (
        "feeds: 3 polled, 0 failed | entries: 3 new | matches: 3 new | alerts: 2 sent, 0 failed"
    )
    # Feeds are polled in id order: Bir Duino's copy came first.
    (mail,) = inbox.messages
    assert "Also reported by: Front Line Defenders, Regional digest" in _plain(mail)
    (payload,) = signed_payloads(httpserver, "/hook")
    assert payload["data"]["entry"]["feed"]["title"] == "Bir Duino news"
    assert payload["data"]["also_reported_by"] == ["Front Line Defenders", "Regional digest"]

    # A late copy makes no alert; a copy naming someone new in the same watch list does.
    late = {"guid": "late-1", "title": TITLE, "link": LINK, "description": REPORT}
    more = {
        "guid": "more-1",
        "title": TITLE,
        "link": "https://more.example/x",
        "description": REPORT + " Tolekan Ismailova attended the hearing.",
    }
    httpserver.expect_request("/late.xml").respond_with_data(rss([late]))
    httpserver.expect_request("/more.xml").respond_with_data(rss([more]))
    extra = (
        f"  - id: late\n    url: {httpserver.url_for('/late.xml')}\n"
        f"  - id: more\n    url: {httpserver.url_for('/more.xml')}\n"
    )
    lab.advance(timedelta(hours=2))
    lab.configure(_three_feed_config(httpserver, extra), RIGHTSWATCH_SMTP_URL=smtp_url)
    assert lab.run_once().endswith("entries: 2 new | matches: 2 new | alerts: 2 sent, 0 failed")
    assert len(inbox.messages) == 2
    assert "Tolekan Ismailova" in str(inbox.messages[1]["Subject"])


def test_the_story_window_ends(lab: FeedLab, httpserver: HTTPServer) -> None:
    _serve_three(httpserver)
    lab.configure(_three_feed_config(httpserver, defaults="  story_window: 1d\n"))
    assert len(lab.poll("fld").delivery_ids) == 2
    lab.advance(timedelta(hours=23))
    assert lab.poll("birduino").delivery_ids == ()
    lab.advance(timedelta(days=2))
    assert len(lab.poll("regional").delivery_ids) == 2


def test_feeds_polled_at_the_same_moment_still_share_one_story(lab: FeedLab) -> None:
    server = HTTPServer(threaded=True)
    server.start()
    barrier = threading.Barrier(3, timeout=20)
    try:
        for fid, _, link, body in THREE_FEEDS:
            item = {"guid": f"{fid}-1", "title": TITLE, "link": link, "description": body}
            document = rss([item])

            def together(_: Request, document: str = document) -> Response:
                barrier.wait()  # the three polls get their bodies at the same moment
                return Response(document, content_type="application/rss+xml")

            server.expect_request(f"/{fid}.xml").respond_with_handler(together)
        lab.configure(_three_feed_config(server, defaults="  host_concurrency: 3\n"))
        lab.rt.matcher()
        results: list[Any] = []
        threads = [
            threading.Thread(target=lambda fid=fid: results.append(lab.poll(fid)))
            for fid, _, _, _ in THREE_FEEDS
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        server.clear()
        server.stop()
    assert sorted(r.new_entries for r in results) == [1, 1, 1]
    assert sum(len(r.delivery_ids) for r in results) == 2
    deliveries = lab.deliveries()
    assert sorted(d.subscriber_id for d in deliveries) == ["desk", "tracker"]
    with lab.rt.sessions() as session:
        (match_id,) = {d.match_id for d in deliveries}
        assert match_id is not None
        others = entries.also_reported_by(session, match_id)
    assert len(others) == 2


def _plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def test_story_hold_delays_alerts(lab: FeedLab, httpserver: HTTPServer) -> None:
    _serve_three(httpserver)
    lab.configure(_three_feed_config(httpserver, defaults="  story_hold: 2m\n"))
    outcome = jobs.poll(lab.rt, "fld")  # as the Celery task polls: with the hold
    assert len(outcome.delivery_ids) == 2
    assert all(d.next_attempt_at - lab.now == timedelta(minutes=2) for d in lab.deliveries())
