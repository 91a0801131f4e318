"""RSS documents for the local feed servers the tests start."""

from __future__ import annotations

from typing import Any

RSS_ITEM = (
    "<item><guid{perma}>{guid}</guid><title>{title}</title><link>{link}</link>"
    "<description><![CDATA[{description}]]></description>{date}</item>"
)


def feed_xml(items: list[dict[str, str]], title: str = "Test feed", language: str = "en") -> str:
    """A small RSS document; each item needs guid, title, description (and optionally link)."""
    body = "".join(
        f'<item><guid isPermaLink="false">{i["guid"]}</guid><title>{i["title"]}</title>'
        f"<link>{i.get('link', 'https://example.org/' + i['guid'])}</link>"
        f"<description><![CDATA[{i['description']}]]></description>"
        f"<pubDate>Mon, 16 Nov 2026 09:00:00 +0000</pubDate></item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link><description>t</description>"
        f"<language>{language}</language>{body}</channel></rss>"
    )


def rss(items: list[dict[str, Any]], title: str = "Test feed", extra: str = "") -> str:
    """An RSS 2.0 document; items need guid (or None), title, description, optional link,
    date and guid_is_link."""
    body = "".join(
        RSS_ITEM.format(
            perma="" if i.get("guid_is_link") else ' isPermaLink="false"',
            guid=i["guid"] or "",
            title=i["title"],
            link=i.get("link", f"https://example.org/{i['guid']}"),
            description=i["description"],
            date=f"<pubDate>{i['date']}</pubDate>" if i.get("date") else "",
        ).replace('<guid isPermaLink="false"></guid>', "")
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link><description>t</description>"
        f"{extra}{body}</channel></rss>"
    )
