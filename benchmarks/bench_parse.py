"""Benchmark parsing of non-UTF-8 feeds: transcoded fast path vs feedparser, same run.

    python benchmarks/bench_parse.py [--feeds 40 --entries 50 --rounds 3]

Writes the ingest benchmark's feeds (real-length English and Russian articles),
re-encodes each in windows-1251, KOI8-R and UTF-16, and parses every body both
ways: :func:`worker.ingest.parse.parse_feed` (which transcodes such a body to
UTF-8 for the fast path) and :func:`parse_with_feedparser` (what every non-UTF-8
feed went through before). The two results must be equal. Rounds alternate the
two sides so a busy machine slows both alike; prints CPU-time entries/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ingest_data import write_feeds

from worker.core.types import ParsedFeed
from worker.ingest.parse import parse_feed, parse_with_feedparser

ENCODINGS = {
    "windows-1251": ("windows-1251", b""),
    "koi8-r": ("koi8-r", b""),
    "utf-16": ("utf-16-le", b"\xff\xfe"),
}


def _bodies(folder: Path, encoding: str) -> list[bytes]:
    codec, bom = ENCODINGS[encoding]
    bodies = []
    for path in sorted(folder.glob("feed*.xml")):
        text = path.read_text(encoding="utf-8").replace(
            'encoding="UTF-8"', f'encoding="{encoding}"'
        )
        bodies.append(bom + text.encode(codec, "xmlcharrefreplace"))
    return bodies


def _timed(parse: Callable[[bytes, str, str | None], ParsedFeed], bodies: list[bytes]) -> float:
    started = time.process_time()
    for body in bodies:
        parse(body, "https://bench.example/feed", "application/rss+xml")
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rw-bench-parse-"))
    write_feeds(folder, args.feeds, args.entries, names=1000)
    entries = args.feeds * args.entries
    print("| encoding | fast path (transcoded), entries/s | feedparser, entries/s | speed-up |")
    print("|---|---:|---:|---:|")
    for encoding in ENCODINGS:
        bodies = _bodies(folder, encoding)
        for body in bodies:
            fast = parse_feed(body, "https://bench.example/feed", "application/rss+xml")
            slow = parse_with_feedparser(body, "https://bench.example/feed", "application/rss+xml")
            assert fast == slow, f"{encoding}: the fast path differs from feedparser"
        fast_s = slow_s = 0.0
        for _ in range(args.rounds):
            fast_s += _timed(parse_feed, bodies)
            slow_s += _timed(parse_with_feedparser, bodies)
        fast_rate = entries * args.rounds / fast_s
        slow_rate = entries * args.rounds / slow_s
        ratio = fast_rate / slow_rate
        print(f"| {encoding} | {fast_rate:,.0f} | {slow_rate:,.0f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
