"""Operator alerts go through the same notifiers as subscribers' alerts.

So the operator webhook gets the reply cap, the User-Agent and Retry-After, and
operator e-mail is DKIM-signed — real HTTP and SMTP servers on loopback.
"""

from __future__ import annotations

import base64
import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.feedlab import FeedLab

GONE_FEED = "defaults:\n  host_delay: 0\nfeeds:\n  - id: news\n    url: {feed}\n"


def test_the_operator_webhook_is_capped_identified_and_told_when_to_come_back(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    seen: list[Request] = []

    def busy(request: Request) -> Response:
        seen.append(request)
        endless = (b"x" * 65536 for _ in itertools.count())  # only the cap ends the read
        return Response(endless, status=429, headers={"Retry-After": "7200"})

    httpserver.expect_request("/feed.xml").respond_with_data("gone", status=410)
    httpserver.expect_request("/ops", method="POST").respond_with_handler(busy)
    config = GONE_FEED.format(feed=httpserver.url_for("/feed.xml")) + (
        f"operators:\n  - id: ops-hook\n    webhook: {httpserver.url_for('/ops')}\n"
        "    secret_env: CASE_TRACKER_WEBHOOK_SECRET\n"
    )
    lab.configure(config, RIGHTSWATCH_USER_AGENT="rightswatch-desk-test/1")
    lab.run_once()
    (alert,) = lab.operator_alerts()
    assert alert.status == "retrying" and alert.last_status == 429
    assert alert.last_error is not None and len(alert.last_error) < 400
    assert alert.next_attempt_at >= lab.now + timedelta(seconds=7200)
    assert seen[0].headers["User-Agent"] == "rightswatch-desk-test/1"


def test_operator_email_is_dkim_signed(
    lab: FeedLab, httpserver: HTTPServer, smtp_server: tuple[str, Any], tmp_path: Path
) -> None:
    smtp_url, inbox = smtp_server
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "dkim.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    httpserver.expect_request("/feed.xml").respond_with_data("gone", status=410)
    config = GONE_FEED.format(feed=httpserver.url_for("/feed.xml"))
    lab.configure(
        config + "operators:\n  - id: ops\n    email: ops@example.org\n",
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_SMTP_FROM="rightswatch <alerts@rights.example.org>",
        RIGHTSWATCH_DKIM_DOMAIN="rights.example.org",
        RIGHTSWATCH_DKIM_SELECTOR="ops2026",
        RIGHTSWATCH_DKIM_PRIVATE_KEY_FILE=str(tmp_path / "dkim.pem"),
    )
    lab.run_once()
    (envelope,) = inbox.envelopes
    raw = envelope.original_content or envelope.content
    assert b"feed news is gone" in raw

    def dns(name: bytes, timeout: int = 5) -> bytes:
        if name == b"ops2026._domainkey.rights.example.org.":
            return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
        return b""

    assert dkim.verify(raw, dnsfunc=dns)
