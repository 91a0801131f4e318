"""Ingest throughput: a full poll cycle of rightswatch beside the `reader` library.

    python benchmarks/bench_ingest.py [--feeds 100 --entries 50 --names 10000 --workers 2]
        [--modes embedded,celery --workloads news,overlap]

Celery mode needs PostgreSQL and Redis (``--database-url``: a server database to
create a scratch database from; ``--redis-url``); all need the bench extra
(``pip install -e '.[bench]'``, which brings `reader`).

One local feed server process (``_ingest_server.py``: asyncio, keep-alive, ETag
and 304) per workload serves N feeds of M entries:

news
    real-length articles (~3 KB of HTML each), some naming watched people.
overlap
    entries sharing paragraphs: one of four appeal templates longer than the
    entry's own text and a standard footer in every entry, four in five naming a
    watched person, every third a syndicated copy from the previous feed.

Then, on each workload:

rightswatch embedded
    ``rightswatch run --once`` (``_embedded_run.py``: the same start-up and
    ``EmbeddedService.run_once``, in its own process): SQLite, one process,
    fetch, parse, match, dedup, persist. Start-up (schema, YAML, matcher) is
    reported apart, as reader's ``make_reader`` and ``add_feed`` are not timed.
rightswatch Celery
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

Prints a markdown table and whether the targets hold: Celery >= 2x reader's
entries/s on news and its 304 path >= 500 feeds/s; embedded >= 1x reader on news
and >= 0.5x on overlap.
"""

from __future__ import annotations

import argparse
import json
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
TARGET_EMBEDDED = {"news": 1.0, "overlap": 0.5}
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


STARTING_ENVIRONMENT = dict(os.environ)
"""The environment before a Celery run set its database and broker in this process: an
embedded run of the next workload must not inherit them (the database is dropped by then)."""


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


def run_embedded(env: dict[str, str], profile: Path | None) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(HERE / "_embedded_run.py"), *([str(profile)] if profile else [])],
        env={**STARTING_ENVIRONMENT, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"embedded run failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["entries_per_s"] = result["entries"] / result["seconds"]
    result["feeds_per_s_304"] = result["feeds"] / result["seconds_304"]
    return result


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
    parser.add_argument("--modes", default="embedded,celery", help="embedded, celery or both")
    parser.add_argument("--workloads", default="news,overlap", help="news, overlap or both")
    parser.add_argument("--profile", type=Path, help="cProfile the embedded cycles to DIR")
    args = parser.parse_args()
    modes = set(args.modes.split(","))

    from _ingest_data import write_config, write_feeds, write_overlap_feeds

    folder = Path(tempfile.mkdtemp(prefix="rw-bench-"))
    results: dict[str, dict[str, dict[str, float] | None]] = {}
    for workload in args.workloads.split(","):
        here = folder / workload
        print(f"{workload}: {args.feeds} feeds x {args.entries} entries in {here}", file=sys.stderr)
        writer = write_overlap_feeds if workload == "overlap" else write_feeds
        watchlists = writer(here / "feeds", args.feeds, args.entries, args.names)
        for i in range(WARMUP_FEEDS):
            (here / "feeds" / f"{WARMUP}{i}.xml").write_text(
                '<?xml version="1.0"?><rss version="2.0"><channel><title>w</title>'
                f"<item><guid>w{i}</guid><title>warm-up</title></item></channel></rss>"
            )
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, str(HERE / "_ingest_server.py"), str(here / "feeds"), str(port)],
            stdout=subprocess.PIPE,
        )
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        base_url = f"http://127.0.0.1:{port}"
        config = here / "rightswatch.yaml"
        write_config(config, base_url, args.feeds, watchlists)
        common = {
            "RIGHTSWATCH_CONFIG": str(config),
            "RIGHTSWATCH_LOG_LEVEL": "WARNING",
        }
        found: dict[str, dict[str, float] | None] = {}
        try:
            if "embedded" in modes:
                profile = args.profile / f"embedded-{workload}.prof" if args.profile else None
                if profile:
                    profile.parent.mkdir(parents=True, exist_ok=True)
                found["embedded"] = run_embedded(
                    {**common, "RIGHTSWATCH_DATA_DIR": str(here / "embedded")}, profile
                )
            if "celery" in modes:
                celery_config = here / "rightswatch-celery.yaml"
                write_config(celery_config, base_url, args.feeds, watchlists)
                _add_warmup_feeds(celery_config, base_url, WARMUP_FEEDS)
                database_url, drop_database = _scratch_database(_admin_url(args.database_url))
                try:
                    found["celery"] = run_rightswatch(
                        {
                            **common,
                            "RIGHTSWATCH_CONFIG": str(celery_config),
                            "RIGHTSWATCH_DATABASE_URL": database_url,
                            "RIGHTSWATCH_BROKER_URL": args.redis_url,
                            "RIGHTSWATCH_DATA_DIR": str(here / "data"),
                        },
                        args.feeds,
                        args.workers,
                        args.pool,
                        args.rounds_304,
                        here / "worker.log",
                    )
                finally:
                    drop_database()
            found["reader"] = (
                None if args.skip_reader else run_reader(base_url, args.feeds, args.workers, here)
            )
        finally:
            server.terminate()
            server.wait(10)
        results[workload] = found
    _report(args, results)


def _add_warmup_feeds(config: Path, base_url: str, count: int) -> None:
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["feeds"] += [
        {"id": f"{WARMUP}{i}", "url": f"{base_url}/{WARMUP}{i}.xml"} for i in range(count)
    ]
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _report(
    args: argparse.Namespace, results: dict[str, dict[str, dict[str, float] | None]]
) -> None:
    from worker import __version__

    print(
        f"\n{args.feeds} feeds x {args.entries} entries, {args.names:,} watched names, "
        f"{args.workers} Celery processes / reader threads, rightswatch {__version__}\n"
    )
    print("| workload | reader | entries | matches | first cycle | entries/s | 304 feeds/s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    labels = {
        "embedded": "rightswatch run --once (embedded, SQLite, one process, matching)",
        "celery": f"rightswatch Celery {args.pool} x{args.workers}, PostgreSQL, matching",
        "reader": "reader update_feeds() (SQLite, no matching)",
    }
    verdicts = []
    for workload, found in results.items():
        for mode, result in found.items():
            if result is None:
                continue
            label = labels[mode]
            if mode == "reader":
                label = (
                    f"reader update_feeds(workers={result['threads']:.0f}) (SQLite, no matching)"
                )
            if mode == "embedded":
                label += f"; start-up {result['startup']:.1f} s"
            print(
                f"| {workload} | {label} | {result['entries']:.0f} "
                f"| {result.get('matches', 0):.0f} | {result['seconds']:.2f} s "
                f"| {result['entries_per_s']:.0f} | {result['feeds_per_s_304']:.0f} |"
            )
        theirs = found.get("reader")
        if not theirs:
            continue
        for mode, target in (("embedded", TARGET_EMBEDDED.get(workload)), ("celery", None)):
            ours = found.get(mode)
            if ours is None:
                continue
            goal = (
                target if mode == "embedded" else (TARGET_SPEEDUP if workload == "news" else None)
            )
            speedup = ours["entries_per_s"] / theirs["entries_per_s"]
            verdict = f"{workload}, {mode}: {speedup:.2f}x reader's entries/s"
            if goal is not None:
                verdict += f" (target >= {goal:.1f}x): {'yes' if speedup >= goal else 'NO'}"
            verdicts.append(verdict)
        celery = found.get("celery")
        if celery is not None:
            ok = celery["feeds_per_s_304"] >= TARGET_304_FEEDS_PER_S
            verdicts.append(
                f"{workload}, Celery 304 path >= {TARGET_304_FEEDS_PER_S:.0f} feeds/s: "
                f"{'yes' if ok else 'NO'}"
            )
    print()
    for verdict in verdicts:
        print(verdict)


if __name__ == "__main__":
    main()
