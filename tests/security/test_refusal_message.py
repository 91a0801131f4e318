"""A refused webhook's 422 says only that the destination is not allowed, never what a
host resolves to inside the network (issue 15, item 11)."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.api import Stack


def test_refusal_does_not_tell_what_a_host_resolves_to(make_stack: Callable[..., Stack]) -> None:
    strict = make_stack(RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE="false")
    by_name = strict.hook_url.replace("127.0.0.1", "localhost")
    refused = strict.api.post("/subscriptions", json={"webhook": by_name, "watchlists": ["kg"]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.webhook"
    text = refused.text
    assert "not allowed" in text
    for leak in ("127.0.0.1", "::1", "resolves", "localhost"):
        assert leak not in text
    assert strict.hook.requests == []


def test_an_unresolvable_host_is_refused_without_the_resolver_error(
    make_stack: Callable[..., Stack],
) -> None:
    strict = make_stack(RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE="false")
    refused = strict.api.post(
        "/subscriptions",
        json={"webhook": "https://no-such-host.invalid/hook", "watchlists": ["kg"]},
    )
    assert refused.status_code == 422
    assert "Errno" not in refused.text and "no-such-host" not in refused.text
