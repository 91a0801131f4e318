"""Why pages without a feed are parsed with lxml: it against selectolax, and our sources.

    python benchmarks/bench_html.py [--rows 20000] [--posts 10000]

1. A court list of ``--rows`` table rows (about 400 bytes each): parse, select
   every row, read its link, date and text — with lxml + cssselect (what
   rightswatch uses) and with selectolax's Lexbor parser.
2. Nesting: N nested ``<div>`` elements with text at the bottom, N doubling;
   Lexbor's tree builder takes time quadratic in N, libxml2 stops at 256 levels.
3. rightswatch's own parsers: the court list as an ``html:`` source and a t.me/s
   page of ``--posts`` posts as a Telegram source (:func:`parse_source`).

Best of three runs, wall clock, on whatever machine this is. selectolax is not a
dependency of rightswatch: ``pip install -e '.[bench]'`` brings it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lxml.etree
from lxml.cssselect import CSSSelector
from selectolax.lexbor import LexborHTMLParser

from worker.core.selectors import Pick
from worker.ingest.sources import SourceSpec, parse_source
from worker.ingest.sources.page import HtmlRules

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "feeds"


def court_list(rows: int) -> bytes:
    row = (
        '<tr class="case"><td class="date">{day:02d}.11.2026</td><td><a href="/case/{i}">'
        "Дело № {i} по обвинению Толекан Исмаиловой и других лиц по статье 330/a></td>"
        "<td>Судья Асанов</td></tr>"
    )
    body = "".join(row.format(i=i, day=i % 28 + 1) for i in range(rows))
    return f"<html><body><table>{body}</table></body></html>".encode()


def telegram_page(posts: int) -> bytes:
    page = (CORPUS / "telegram_channel.html").read_text(encoding="utf-8")
    start = page.index('<div class="tgme_widget_message_wrap', page.index("defenders_kg/123"))
    post = page[start : page.rindex("        </section>")]
    head = page[: page.index('<div class="tgme_widget_message_centered')]
    body = "".join(post.replace("defenders_kg/124", f"defenders_kg/{i}") for i in range(posts))
    return (head + body + "</section></div></main></body></html>").encode()


def nested(depth: int) -> bytes:
    return b"<html><body>" + b"<div>" * depth + b"Bir Duino" + b"</div>" * depth + b"</body></html>"


def best(run: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def with_lxml(body: bytes) -> int:
    parser = lxml.etree.HTMLParser(encoding="utf-8", no_network=True, huge_tree=False)
    root = lxml.etree.fromstring(body, parser)
    rows, link, date = CSSSelector("tr.case"), CSSSelector("a"), CSSSelector("td.date")
    total = 0
    for row in rows(root):
        total += len(link(row)[0].get("href") or "") + len("".join(date(row)[0].itertext()))
        total += len("".join(row.itertext()))
    return total


def with_selectolax(body: bytes) -> int:
    tree = LexborHTMLParser(body)
    total = 0
    for row in tree.css("tr.case"):
        anchor, date = row.css_first("a"), row.css_first("td.date")
        total += len((anchor.attributes.get("href") if anchor else "") or "")
        total += len(date.text() if date else "") + len(row.text())
    return total


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--rows", type=int, default=20_000)
    arguments.add_argument("--posts", type=int, default=10_000)
    options = arguments.parse_args()

    page = court_list(options.rows)
    print(f"court list: {options.rows:,} rows, {len(page) / 1e6:.1f} MB\n")
    print("| parser | parse + select + read |\n|---|---|")
    print(f"| lxml + cssselect | {best(lambda: with_lxml(page)) * 1000:.0f} ms |")
    print(f"| selectolax (Lexbor) | {best(lambda: with_selectolax(page)) * 1000:.0f} ms |")

    print("\n| nested divs | lxml parse | selectolax parse |\n|---|---|---|")
    for depth in (5_000, 10_000, 20_000, 40_000):
        body = nested(depth)
        parser = lxml.etree.HTMLParser(no_network=True, huge_tree=False)
        lx = best(lambda body=body, parser=parser: lxml.etree.fromstring(body, parser))
        sx = best(lambda body=body: LexborHTMLParser(body), repeat=1)
        print(f"| {depth:,} | {lx * 1000:.1f} ms | {sx * 1000:.0f} ms |")

    rules = HtmlRules(item="tr.case", date=Pick("td.date"))
    html_spec = SourceSpec("html", rules)
    tg = telegram_page(options.posts)
    tg_spec = SourceSpec("telegram", telegram_backfill=1000)
    print("\n| rightswatch source | body | parse_source |\n|---|---|---|")
    took = best(lambda: parse_source(html_spec, page, "https://court.example/"))
    print(f"| html: the court list (first 1,000 rows) | {len(page) / 1e6:.1f} MB | {took:.2f} s |")
    took = best(lambda: parse_source(tg_spec, tg, "https://t.me/s/defenders_kg", "text/html"))
    print(f"| telegram: {options.posts:,} posts | {len(tg) / 1e6:.1f} MB | {took:.2f} s |")


if __name__ == "__main__":
    main()
