"""Ingest throughput: a full poll cycle of rightswatch beside the `reader` library.

    python benchmarks/bench_ingest.py [--feeds 100 --entries 50 --names 10000 --workers 2]

Needs PostgreSQL and Redis (``--database-url``: a server database to create a
scratch database from; ``--redis-url``) and the bench extra
(``pip install -e '.[bench]'``, which brings `reader`).

One local feed server process (``_ingest_server.py``: asyncio, keep-alive, ETag
and 304) serves N feeds of M real-length entries (~3 KB of HTML each). Then:

rightswatch
    ``rightswatch worker -c 2`` (Celery prefork: two processes, both cores) on
    Redis, PostgreSQL behind it. The feeds are enqueued exactly as the
    scheduler does (``worker.tasks.enqueue_polls``: up to 10 feeds per task,
    spread over at least 16 tasks); each poll fetches, parses, normalises,
    matches against 10,000 watched names (100 watch lists), deduplicates
    (identity and cross-feed stories) and persists entries, matches and digest
    rows in one transaction. Cycle 1 has every entry new (entries/s); cycle 2
    gets 304 for every feed (feeds/s). The matchers are compiled before the
    clock starts (each worker process polls a warm-up feed first).
reader
    The same feeds read by reader's ``update_feeds()`` (fetch, parse with
    feedparser, store in SQLite, no matching), with its thread pool; both its
    default (1 worker) and ``--workers`` threads are measured and the faster
    is compared.

Prints a markdown table and whether the targets hold: rightswatch >= 2x reader's
entries/s, and its 304 path >= 500 feeds/s.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

TARGET_SPEEDUP = 2.0
TARGET_304_FEEDS_PER_S = 500.0
WARMUP = "warmup"
WARMUP_FEEDS = 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin_url(given: str | None) -> str:
    import sqlalchemy as sa

    candidates = (
        [given]
        if given
        else [
            f"postgresql+psycopg://{user}@127.0.0.1:5432/postgres"
            for user in ("postgres", os.environ.get("USER", "root"), "root")
        ]
    )
    for url in candidates:
        assert url is not None
        try:
            engine = sa.create_engine(url)
            with engine.connect():
                pass
            engine.dispose()
            return url
        except sa.exc.OperationalError:
            continue
    sys.exit("no PostgreSQL server found: pass --database-url postgresql+psycopg://…/postgres")


def _scratch_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    name = f"rw_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, drop


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.02)


def run_rightswatch(
    env: dict[str, str], feeds: int, workers: int, pool: str, rounds_304: int, log: Path
) -> dict[str, float]:
    os.environ.update(env)
    from sqlalchemy import func, select

    from worker.celery_app import app
    from worker.db.models import Entry, Feed, Match
    from worker.runtime import Runtime
    from worker.settings import load_settings
    from worker.tasks import enqueue_polls

    runtime = Runtime(load_settings())
    runtime.migrate()
    runtime.sync_config()
    app.connection_for_write().default_channel.client.flushdb()  # type: ignore[attr-defined]
    # prefork: one worker, N processes; solo: N single-process workers (no parent/child hop).
    commands = (
        [["-c", str(workers), "-P", "prefork"]]
        if pool == "prefork"
        else [["-P", "solo", "-n", f"bench{i}@%h"] for i in range(workers)]
    )
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "worker",
                "worker",
                *command,
                "--prefetch-multiplier=8",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env={**os.environ, **env},
            stdout=log.with_suffix(f".{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for i, command in enumerate(commands)
    ]

    def polled(prefix: str, since: Any = None) -> int:
        with runtime.sessions() as session:
            query = select(func.count()).select_from(Feed).where(Feed.id.startswith(prefix))
            query = query.where(
                Feed.last_polled_at.is_not(None) if since is None else Feed.last_polled_at >= since
            )
            return int(session.scalar(query) or 0)

    def cycle(prefix: str, count: int) -> float:
        since = runtime.clock()
        started = time.perf_counter()
        enqueue_polls([f"{prefix}{i}" for i in range(count)], since.isoformat())
        _wait(lambda: polled(prefix, since) >= count, 1800, f"{count} polls")
        return time.perf_counter() - started

    try:
        cycle(WARMUP, WARMUP_FEEDS)  # every process loads the config and compiles the matcher
        new_seconds = cycle("feed", feeds)
        with runtime.sessions() as session:
            entries = session.scalar(
                select(func.count()).select_from(Entry).where(Entry.feed_id.startswith("feed"))
            )
            matches = session.scalar(select(func.count()).select_from(Match))
        not_modified_seconds = sum(cycle("feed", feeds) for _ in range(rounds_304))
        with runtime.sessions() as session:
            statuses = set(
                session.scalars(select(Feed.last_status).where(Feed.id.startswith("feed")))
            )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(60)
        runtime.close()
    assert statuses == {304}, f"second cycle was not all 304: {statuses}"
    return {
        "entries": float(entries or 0),
        "matches": float(matches or 0),
        "seconds": new_seconds,
        "entries_per_s": (entries or 0) / new_seconds,
        "seconds_304": not_modified_seconds,
        "feeds_per_s_304": feeds * rounds_304 / not_modified_seconds,
    }


def run_reader(base_url: str, feeds: int, workers: int, folder: Path) -> dict[str, float]:
    from reader import make_reader

    best: dict[str, float] = {}
    for threads in sorted({1, workers}):
        reader = make_reader(str(folder / f"reader-{threads}.sqlite"))
        for i in range(feeds):
            reader.add_feed(f"{base_url}/feed{i}.xml")
        started = time.perf_counter()
        reader.update_feeds(workers=threads, scheduled=False)
        seconds = time.perf_counter() - started
        entries = reader.get_entry_counts().total or 0
        started = time.perf_counter()
        reader.update_feeds(workers=threads, scheduled=False)
        seconds_304 = time.perf_counter() - started
        reader.close()
        result = {
            "threads": float(threads),
            "entries": float(entries),
            "seconds": seconds,
            "entries_per_s": entries / seconds,
            "seconds_304": seconds_304,
            "feeds_per_s_304": feeds / seconds_304,
        }
        print(
            f"reader, {threads} thread(s): {result['entries_per_s']:.0f} entries/s, "
            f"304 path {result['feeds_per_s_304']:.0f} feeds/s",
            file=sys.stderr,
        )
        if not best or result["entries_per_s"] > best["entries_per_s"]:
            best = result
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--entries", type=int, default=50, help="entries per feed")
    parser.add_argument("--names", type=int, default=10_000, help="watched names")
    parser.add_argument("--workers", type=int, default=2, help="Celery processes, reader threads")
    parser.add_argument("--database-url", default=os.environ.get("RIGHTSWATCH_BENCH_DATABASE_URL"))
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("RIGHTSWATCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
    )
    parser.add_argument("--rounds-304", type=int, default=5, help="cycles of all-304 polls to time")
    parser.add_argument(
        "--pool",
        choices=("prefork", "solo"),
        default="prefork",
        help="one prefork worker with --workers processes, or --workers solo workers",
    )
    parser.add_argument("--skip-reader", action="store_true")
    args = parser.parse_args()

    from _ingest_data import write_config, write_feeds

    folder = Path(tempfile.mkdtemp(prefix="rw-bench-"))
    print(f"writing {args.feeds} feeds x {args.entries} entries to {folder}", file=sys.stderr)
    watchlists = write_feeds(folder / "feeds", args.feeds, args.entries, args.names)
    for i in range(WARMUP_FEEDS):
        (folder / "feeds" / f"{WARMUP}{i}.xml").write_text(
            '<?xml version="1.0"?><rss version="2.0"><channel><title>w</title>'
            f"<item><guid>w{i}</guid><title>warm-up</title></item></channel></rss>"
        )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_ingest_server.py"), str(folder / "feeds"), str(port)],
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
    base_url = f"http://127.0.0.1:{port}"
    database_url, drop_database = _scratch_database(_admin_url(args.database_url))
    config = folder / "rightswatch.yaml"
    write_config(config, base_url, args.feeds, watchlists)
    _add_warmup_feeds(config, base_url, WARMUP_FEEDS)
    env = {
        "RIGHTSWATCH_CONFIG": str(config),
        "RIGHTSWATCH_DATABASE_URL": database_url,
        "RIGHTSWATCH_BROKER_URL": args.redis_url,
        "RIGHTSWATCH_DATA_DIR": str(folder / "data"),
        "RIGHTSWATCH_LOG_LEVEL": "WARNING",
    }
    try:
        ours = run_rightswatch(
            env, args.feeds, args.workers, args.pool, args.rounds_304, folder / "worker.log"
        )
        theirs = (
            None if args.skip_reader else run_reader(base_url, args.feeds, args.workers, folder)
        )
    finally:
        server.terminate()
        server.wait(10)
        drop_database()
    _report(args, ours, theirs)


def _add_warmup_feeds(config: Path, base_url: str, count: int) -> None:
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["feeds"] += [
        {"id": f"{WARMUP}{i}", "url": f"{base_url}/{WARMUP}{i}.xml"} for i in range(count)
    ]
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _report(
    args: argparse.Namespace, ours: dict[str, float], theirs: dict[str, float] | None
) -> None:
    from worker import __version__

    print(
        f"\n{args.feeds} feeds x {args.entries} entries (~3 KB HTML each), "
        f"{args.names:,} watched names, {args.workers} workers, rightswatch {__version__}\n"
    )
    print("| reader | entries | first cycle | entries/s | 304 cycle | 304 feeds/s |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| rightswatch (Celery {args.pool} x{args.workers}, PostgreSQL, matching) "
        f"| {ours['entries']:.0f} | {ours['seconds']:.2f} s | {ours['entries_per_s']:.0f} "
        f"| {ours['seconds_304']:.2f} s | {ours['feeds_per_s_304']:.0f} |"
    )
    if theirs:
        print(
            f"| reader update_feeds(workers={theirs['threads']:.0f}) (SQLite, no matching) "
            f"| {theirs['entries']:.0f} | {theirs['seconds']:.2f} s "
            f"| {theirs['entries_per_s']:.0f} "
            f"| {theirs['seconds_304']:.2f} s | {theirs['feeds_per_s_304']:.0f} |"
        )
    print(f"\nmatches created: {ours['matches']:.0f}")
    ok = ours["feeds_per_s_304"] >= TARGET_304_FEEDS_PER_S
    print(f"304 path >= {TARGET_304_FEEDS_PER_S:.0f} feeds/s: {'yes' if ok else 'NO'}")
    if theirs:
        speedup = ours["entries_per_s"] / theirs["entries_per_s"]
        print(
            f"entries/s vs reader: {speedup:.2f}x (target >= {TARGET_SPEEDUP:.0f}x): "
            f"{'yes' if speedup >= TARGET_SPEEDUP else 'NO'}"
        )


if __name__ == "__main__":
    main()
