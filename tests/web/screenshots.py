"""``make screenshots``: every page in English, Russian and Kyrgyz, as PNGs in docs/screenshots/.

Runs the API on a throw-away SQLite database with a sample configuration and a local
SMTP server, and photographs the pages in Debian's Chromium (Playwright).

    python -m tests.web.screenshots [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, sync_playwright
from pytest_httpserver import HTTPServer

from tests.support.api import LiveServer
from tests.support.feeds import feed_xml
from tests.support.network import free_port
from worker.api import service
from worker.api.app import create_app
from worker.api.schemas import SubscriptionCreate
from worker.db import subscribers
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.security.tokens import subscriber_token, unsubscribe_token
from worker.settings import load_settings

KEY = "screenshots only, not a secret"
TOKEN = "screenshots-operator-token"
CONFIG = """\
feeds:
  - id: news
    title: Bir Duino news
    url: {feed}
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    description: Human-rights defenders, lawyers and journalists at risk in Kyrgyzstan
    public: true
    people: [{{name: Azimjan Askarov}}]
  - id: ca
    title: Central Asia journalists
    description: Reporters detained or threatened in Central Asia
    public: true
    people: [{{name: Bir Duino}}]
subscribers:
  - id: kg-desk
    email: kg-desk@example.org
    watchlists: [kg]
"""


ITEMS = [
    {
        "guid": "1",
        "title": "Суд над Азимжаном Аскаровым",
        "description": "Правозащитник Азимжан Аскаров остаётся в заключении.",
    },
    {"guid": "2", "title": "Bir Duino statement", "description": "Bir Duino calls for release."},
]


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def shoot(page: Page, url: str, path: Path) -> None:
    page.goto(url)
    page.screenshot(path=str(path), full_page=True)
    print(path)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rw-screenshots-"))
    config = work / "rightswatch.yaml"
    feed = HTTPServer(host="127.0.0.1", port=free_port())
    feed.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS), content_type="application/rss+xml"
    )
    feed.start()
    config.write_text(CONFIG.format(feed=feed.url_for("/feed.xml")), encoding="utf-8")
    smtp = Controller(_Sink(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = load_settings(
        {
            "RIGHTSWATCH_CONFIG": str(config),
            "RIGHTSWATCH_DATA_DIR": str(work / "data"),
            "RIGHTSWATCH_DATABASE_URL": f"sqlite:///{work / 'rw.db'}",
            "RIGHTSWATCH_SECRET_KEY": KEY,
            "RIGHTSWATCH_PUBLIC_URL": url,
            "RIGHTSWATCH_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
            "RIGHTSWATCH_API_TOKEN": TOKEN,
        }
    )
    runtime = Runtime(settings)
    worker = EmbeddedService(runtime)
    worker.prepare()
    worker.run_once()
    with runtime.sessions() as session, session.begin():
        pending = service.create(
            session,
            SubscriptionCreate(email="reporter@example.org", watchlists=["kg"]),
            KEY,
            runtime.clock(),
        )
        active = service.create(
            session,
            SubscriptionCreate(
                email="desk@example.org", watchlists=["kg", "ca"], frequency="daily"
            ),
            KEY,
            runtime.clock(),
        )
        subscribers.activate_subscriber(session, active.subscriber.id, runtime.clock())
    links = {
        "confirm": f"/confirm/{subscriber_token(KEY, 'confirm', pending.subscriber.id)}",
        "manage": f"/manage/{active.manage_token}",
        "unsubscribe": f"/unsubscribe/{unsubscribe_token(KEY, active.subscriber.id)}",
    }
    desk_pages = {
        "desk-feeds": "/desk/feeds",
        "desk-subscribers": "/desk/subscribers",
        "desk-person": "/desk/people/azimjan-askarov",
    }
    with LiveServer(create_app(settings), port), sync_playwright() as playwright:
        opted_out = httpx.post(f"{url}/unsubscribe/{unsubscribe_token(KEY, 'kg-desk')}")
        opted_out.raise_for_status()  # the YAML subscriber the desk's Enable button is for
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        for language in ("en", "ru", "ky"):
            context = browser.new_context(viewport={"width": 900, "height": 700})
            page = context.new_page()
            shoot(page, f"{url}/?lang={language}", out / f"home-{language}.png")
            shoot(page, f"{url}/subscribe?lang={language}", out / f"subscribe-{language}.png")
            page.locator("#email").fill("reporter@example.org")  # and no watch list chosen
            page.get_by_role("button").last.click()
            page.screenshot(path=str(out / f"subscribe-errors-{language}.png"), full_page=True)
            for name, link in links.items():
                shoot(page, f"{url}{link}?lang={language}", out / f"{name}-{language}.png")
            shoot(page, f"{url}/desk/login?lang={language}", out / f"desk-login-{language}.png")
            page.locator("#token").fill(TOKEN)
            page.get_by_role("button").last.click()
            shoot(page, f"{url}/desk?q=Аскаров", out / f"desk-{language}.png")
            page.locator("a[href^='/desk/matches/']").first.click()
            page.screenshot(path=str(out / f"desk-match-{language}.png"), full_page=True)
            for name, link in desk_pages.items():
                shoot(page, f"{url}{link}", out / f"{name}-{language}.png")
            context.close()
        browser.close()
    runtime.close()
    smtp.stop()
    feed.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
