"""Webhook receivers the tests control: a scripted one, and reading signed requests back."""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver:
    """A webhook receiver we control: scripted statuses, optional delay, every request kept."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.delay = 0.0
        self.arrived = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def respond(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.script.append((status, headers, body))

    def start(self, port: int = 0) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                receiver.arrived.set()
                if receiver.delay:
                    time.sleep(receiver.delay)
                status, headers, reply = (
                    receiver.script.pop(0) if receiver.script else (200, {}, b"ok")
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids(self) -> list[str]:
        return [headers["webhook-id"] for _, headers, _ in self.requests]

    def verified(self, secret: str = WEBHOOK_SECRET) -> list[dict[str, Any]]:
        verifier = Webhook(secret)
        return [
            verifier.verify(body, {k.lower(): v for k, v in headers.items()})
            for _, headers, body in self.requests
        ]


def signed_payloads(
    server: HTTPServer, path: str, secret: str = WEBHOOK_SECRET
) -> list[dict[str, Any]]:
    """The verified payloads pytest-httpserver received at ``path`` (raises on a bad signature)."""
    verifier = Webhook(secret)
    return [
        verifier.verify(
            request.get_data(as_text=True), {k.lower(): v for k, v in request.headers.items()}
        )
        for request, _ in server.log
        if request.path == path
    ]
