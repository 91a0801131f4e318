"""The API's trailing-slash redirect is relative: a forged ``Host`` header never comes
back in a Location (issue 15, item 19)."""

from __future__ import annotations

from tests.support.api import Stack


def test_trailing_slash_redirect_ignores_the_host_header(stack: Stack) -> None:
    for path, expected in (
        ("/watchlists/", "/watchlists"),
        ("/watchlists/?lang=de", "/watchlists?lang=de"),
    ):
        answer = stack.api.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert answer.status_code in (307, 308)
        assert answer.headers["location"] == expected
    assert stack.api.get("/watchlists/", follow_redirects=True).status_code == 200
    assert "evil" not in stack.api.get("//evil.example/", headers={"Host": "evil.example"}).text
    assert stack.api.get("/no-such-page/", follow_redirects=False).status_code == 404
