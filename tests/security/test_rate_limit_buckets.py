"""Rate limits count mailboxes and networks, not spellings (issue 15, item 10):
``victim+1@`` is ``victim@``, and IPv6 clients share their /64. The IPv6 clients
reach the API through uvicorn's trusted-proxy header from 127.0.0.1 (loopback only)."""

from __future__ import annotations

from tests.support.api import Stack
from worker.api.rate_limits import client_bucket, email_bucket


def subscribe(stack: Stack, email: str, client: str | None = None) -> int:
    headers = {"X-Forwarded-For": client} if client else {}
    answer = stack.api.post(
        "/subscriptions", json={"email": email, "watchlists": ["kg"]}, headers=headers
    )
    return answer.status_code


def test_plus_tags_share_the_address_limit(stack: Stack) -> None:
    tagged = ["victim+1@example.org", "victim+2@example.org", "Victim+x@Example.org"]
    assert [subscribe(stack, email) for email in tagged] == [202, 202, 202]
    assert subscribe(stack, "victim@example.org") == 429
    assert subscribe(stack, "victim+4@example.org") == 429
    resend = [
        stack.api.post(
            "/subscriptions/resend-confirmation", json={"email": f"r+{i}@example.org"}
        ).status_code
        for i in range(4)
    ]
    assert resend == [202, 202, 202, 429]


def test_ipv6_clients_are_limited_per_64(stack: Stack) -> None:
    same_network = [f"2001:db8:1:2::{i:x}" for i in range(1, 11)]
    assert [subscribe(stack, f"u{i}@example.org", c) for i, c in enumerate(same_network)] == [
        202
    ] * 10
    assert subscribe(stack, "next@example.org", "2001:db8:1:2:ffff::1") == 429
    assert subscribe(stack, "other@example.org", "2001:db8:1:3::1") == 202


def test_buckets() -> None:
    assert email_bucket("A.B+tag+more@Example.ORG") == "a.b@example.org"
    assert client_bucket("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_bucket("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_bucket("192.0.2.7") == "192.0.2.7"
