"""How fast the outbox drains: N matches → N signed webhooks to a local receiver.

    python benchmarks/deliveries.py [N]          # SQLite in a temporary folder
    RIGHTSWATCH_DATABASE_URL=postgresql://… python benchmarks/deliveries.py 1000

Runs the embedded service once (poll a local feed file, match, create the
outbox rows, send every delivery: claim, sign, POST, record) and prints the
time per delivery. The receiver answers 200 at once, so this measures our
side: the database round trips and the request, not a slow network.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.settings import load_settings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main(count: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="rw-bench-"))
    items = "".join(
        f"<item><guid>b{i}</guid><title>Report {i}</title><link>https://example.org/{i}</link>"
        f"<description>Tolekan Ismailova, report number {i}.</description></item>"
        for i in range(count)
    )
    (folder / "feed.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>{items}</channel></rss>'
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (folder / "config.yaml").write_text(
        f"feeds: [{{id: bench, url: 'file:{folder / 'feed.xml'}'}}]\n"
        "watchlists: [{id: kg, title: KG, people: [{name: Tolekan Ismailova}]}]\n"
        f"subscribers: [{{id: hook, webhook: 'http://127.0.0.1:{server.server_address[1]}/h', "
        "secret_env: BENCH_SECRET, watchlists: [kg]}]\n"
    )
    env = {
        "RIGHTSWATCH_CONFIG": str(folder / "config.yaml"),
        "RIGHTSWATCH_DATA_DIR": str(folder),
        "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": "true",
        "BENCH_SECRET": SECRET,
    }
    if url := os.environ.get("RIGHTSWATCH_DATABASE_URL"):
        env["RIGHTSWATCH_DATABASE_URL"] = url
    runtime = Runtime(load_settings(env))
    try:
        service = EmbeddedService(runtime)
        service.prepare()
        started = time.perf_counter()
        summary = service.run_once()
        elapsed = time.perf_counter() - started
    finally:
        runtime.close()
        server.shutdown()
    print(summary.line())
    print(
        f"{runtime.engine.dialect.name}: {summary.alerts_sent} webhooks in {elapsed:.2f} s "
        f"({1000 * elapsed / max(summary.alerts_sent, 1):.1f} ms per delivery, poll included)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
