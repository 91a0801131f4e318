"""Scale: 10,000 feeds on 100 hosts and 100,000 watched names on one 2-core machine.

    python benchmarks/bench_scale.py [--feeds 10000 --hosts 100 --names 100000 --children 2 4]

Needs PostgreSQL and Redis (as ``bench_ingest.py``). One local feed server
process listens on ``--hosts`` ports (each a host to the per-host gate) and
serves every feed, with ETag and 304. Measured, in this order:

1. **Start-up**: ``rightswatch worker -c N`` is started with a feed due that names
   a watched person and an outbox-folder subscriber: seconds from starting the
   process to the alert's file, and the memory of the parent and each prefork
   child (RSS, and PSS, which counts pages shared copy-on-write once).
2. **The beat tick**: with every feed due, the time one tick takes to claim them
   (``jobs.claim_due_feeds``) and enqueue their polls, the broker queue depth it
   leaves, and PostgreSQL's plan for the claim query (EXPLAIN ANALYZE).
3. **The first cycle**: every feed new (2 entries each), polled by the workers.
4. **The 304 path**: every feed due again, all answering 304; feeds per minute,
   with the configured politeness (``host_delay``) and with none, for each ``-c N``.

Prints markdown tables; the README quotes them.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ingest_data import _watchlist
from _matching_data import make_corpus
from bench_ingest import _admin_url, _free_port, _scratch_database, _wait

from worker import config_cache
from worker.security import crypto

HERE = Path(__file__).resolve().parent

SENTINEL = "sentinel"


def _write_feeds(folder: Path, feeds: int, names: list[str], rng: random.Random) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for feed in range(feeds):
        items = "".join(
            f'<item><guid isPermaLink="false">s{feed}-{i}</guid>'
            f"<title>Report {feed}-{i} on the courts in Bishkek</title>"
            f"<link>https://scale.example/{feed}/{i}</link>"
            f"<description>{rng.choice(names) if rng.random() < 0.02 else 'Weather'} "
            f"in the region, day {i}.</description></item>"
            for i in range(2)
        )
        (folder / f"feed{feed}.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Scale feed {feed}</title><link>https://scale.example/</link>"
            f"<description>d</description>{items}</channel></rss>",
            encoding="utf-8",
        )
    (folder / f"{SENTINEL}.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>s</title>'
        f"<item><guid>sentinel</guid><title>{names[0]} detained</title></item>"
        "</channel></rss>",
        encoding="utf-8",
    )


def _write_config(
    path: Path, ports: list[int], feeds: int, watchlists: list[Any], outbox: Path, delay: float
) -> None:
    import yaml

    config = {
        "defaults": {"host_concurrency": 2, "host_delay": f"{delay:g}s"},
        "feeds": [
            {"id": f"feed{i}", "url": f"http://127.0.0.1:{ports[i % len(ports)]}/feed{i}.xml"}
            for i in range(feeds)
        ]
        + [{"id": SENTINEL, "url": f"http://127.0.0.1:{ports[0]}/{SENTINEL}.xml"}],
        "watchlists": [_watchlist(w) for w in watchlists],
        "subscribers": [{"id": "desk", "outbox": str(outbox), "watchlists": [watchlists[0].id]}],
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _memory(pid: int) -> dict[str, float]:
    """RSS and PSS in MB of a process (from /proc)."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key.lower()] = int(rest.split()[0]) / 1024
    return values


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (what a loaded machine does not inflate)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _start_worker(env: dict[str, str], children: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker",
            "worker",
            "-c",
            str(children),
            "--prefetch-multiplier=8",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--children", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--host-delay", type=float, default=1.0, help="the politeness measured")
    parser.add_argument(
        "--startup-only", action="store_true", help="measure start-up and memory (1.) alone"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="remove the parsed-config cache before each worker starts (a changed file)",
    )
    parser.add_argument("--database-url", default=os.environ.get("RIGHTSWATCH_BENCH_DATABASE_URL"))
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("RIGHTSWATCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="rw-bench-scale-"))
    corpus = make_corpus(names=args.names, keywords=1000, entries=1, lists=100)
    names = [p.name for w in corpus.watchlists for p in w.people]
    _write_feeds(folder / "feeds", args.feeds, names, random.Random(11))
    ports = [_free_port() for _ in range(args.hosts)]
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_ingest_server.py"), str(folder / "feeds"), *map(str, ports)],
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
    database_url, drop_database = _scratch_database(_admin_url(args.database_url))
    config = folder / "rightswatch.yaml"
    outbox = folder / "outbox"
    _write_config(config, ports, args.feeds, corpus.watchlists, outbox, args.host_delay)
    env = {
        "RIGHTSWATCH_CONFIG": str(config),
        "RIGHTSWATCH_DATABASE_URL": database_url,
        "RIGHTSWATCH_BROKER_URL": args.redis_url,
        "RIGHTSWATCH_DATA_DIR": str(folder / "data"),
        "RIGHTSWATCH_LOG_LEVEL": "WARNING",
        "RIGHTSWATCH_ENCRYPTION_KEY": crypto.new_key(),
    }
    os.environ.update(env)
    try:
        results = _measure(args, env, config, outbox, folder)
    finally:
        server.terminate()
        server.wait(10)
        drop_database()
    _report(args, results)


def _measure(
    args: argparse.Namespace, env: dict[str, str], config: Path, outbox: Path, folder: Path
) -> dict[str, Any]:
    from sqlalchemy import func, select, text, update

    from worker import jobs
    from worker.celery_app import app
    from worker.db.models import Feed
    from worker.runtime import Runtime
    from worker.settings import load_settings
    from worker.tasks import enqueue_polls

    results: dict[str, Any] = {"startup": {}, "cycles": {}}
    started = time.perf_counter()
    runtime = Runtime(load_settings())
    runtime.migrate()
    runtime.sync_config()
    results["sync_seconds"] = time.perf_counter() - started
    broker = app.connection_for_write().default_channel.client  # type: ignore[attr-defined]
    broker.flushdb()

    def due_now(prefix: str = "") -> None:
        with runtime.sessions() as session, session.begin():
            session.execute(
                update(Feed).where(Feed.id.startswith(prefix)).values(next_poll_at=func.now())
            )

    def polled_since(since: Any) -> int:
        with runtime.sessions() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Feed)
                    .where(Feed.id.startswith("feed"), Feed.last_polled_at >= since)
                )
                or 0
            )

    def cycle() -> float:
        due_now("feed")
        since = runtime.clock()
        began = time.perf_counter()
        claimed = jobs.claim_due_feeds(runtime, runtime.clock())
        enqueue_polls(claimed, since.isoformat())
        print(f"cycle: {len(claimed)} feeds enqueued", file=sys.stderr)
        _wait(lambda: polled_since(since) >= args.feeds, 3600, f"{args.feeds} polls")
        return time.perf_counter() - began

    try:
        for children in args.children:
            for stale in outbox.glob("*.eml"):
                stale.unlink()
            with runtime.sessions() as session, session.begin():
                session.execute(text("DELETE FROM deliveries"))
                session.execute(text("DELETE FROM matches"))
                session.execute(
                    text(
                        "DELETE FROM story_sketches WHERE story_id IN "
                        "(SELECT id FROM entries WHERE feed_id = :f)"
                    ),
                    {"f": SENTINEL},
                )
                session.execute(text("DELETE FROM entries WHERE feed_id = :f"), {"f": SENTINEL})
                session.execute(
                    update(Feed).where(Feed.id == SENTINEL).values(body_hash=None, etag=None)
                )
            if args.cold:
                (folder / "data" / config_cache.FILE).unlink(missing_ok=True)
            began = time.perf_counter()
            worker = _start_worker(env, children, folder / f"worker-{children}.log")
            enqueue_polls([SENTINEL], runtime.clock().isoformat())
            _wait(lambda: any(outbox.glob("*.eml")), 600, "the first alert")
            first_alert = time.perf_counter() - began
            pids = [worker.pid, *_children(worker.pid)]
            memory = [_memory(pid) for pid in pids]
            results["startup"][children] = {
                "first_alert": first_alert,
                "cpu": [_cpu_seconds(pid) for pid in pids],
                "rss": [m["rss"] for m in memory],
                "pss": [m["pss"] for m in memory],
            }
            if args.startup_only:
                _stop(worker)
                continue
            if children == args.children[0]:
                results["first_cycle"] = cycle()
                due_now("feed")
                tick = time.perf_counter()
                tick_since = runtime.clock()
                claimed = jobs.claim_due_feeds(runtime, tick_since)
                enqueue_polls(claimed, tick_since.isoformat())
                results["tick"] = {
                    "seconds": time.perf_counter() - tick,
                    "claimed": len(claimed),
                    "queue": int(broker.llen("celery")),
                }
                _wait(lambda t=tick_since: polled_since(t) >= args.feeds, 3600, "the tick's polls")
                with runtime.sessions() as session:
                    due_now("feed")
                    plan = session.execute(
                        text(
                            "EXPLAIN ANALYZE SELECT id FROM feeds WHERE active AND next_poll_at "
                            "<= now() ORDER BY next_poll_at LIMIT 500 FOR UPDATE SKIP LOCKED"
                        )
                    ).scalars()
                    results["plan"] = list(plan)
                    session.rollback()
            polite = cycle()
            results["cycles"][children] = {"polite": polite}
            _stop(worker)
            _set_host_delay(config, 0)
            worker = _start_worker(env, children, folder / f"worker-{children}-nodelay.log")
            time.sleep(5)
            results["cycles"][children]["no_delay"] = cycle()
            _stop(worker)
            _set_host_delay(config, args.host_delay)
    finally:
        runtime.close()
    return results


def _set_host_delay(config: Path, delay: float) -> None:
    text = config.read_text(encoding="utf-8")
    lines = [
        f"  host_delay: {delay:g}s" if line.startswith("  host_delay:") else line
        for line in text.splitlines()
    ]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    from worker import __version__

    feeds = args.feeds
    print(
        f"\n{feeds:,} feeds on {args.hosts} hosts, {args.names:,} watched names in 100 lists, "
        f"rightswatch {__version__}, {os.cpu_count()} CPUs\n"
    )
    print(f"config mirrored into PostgreSQL: {results['sync_seconds']:.1f} s\n")
    start = "cold: the YAML parsed" if args.cold else "warm: the parsed YAML from its cache"
    print(f"start-up {start}; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}\n")
    print(
        "| `worker -c N` | first alert after start | CPU until then (parent + children) "
        "| RSS parent + children "
        "| PSS total |"
    )
    print("|---|---:|---:|---:|---:|")
    for children, s in results["startup"].items():
        rss = " + ".join(f"{v:.0f}" for v in s["rss"])
        cpu = " + ".join(f"{v:.1f}" for v in s["cpu"])
        print(
            f"| {children} | {s['first_alert']:.1f} s | {sum(s['cpu']):.1f} s ({cpu}) | {rss} MB "
            f"| {sum(s['pss']):.0f} MB |"
        )
    if args.startup_only:
        return
    tick = results["tick"]
    print(
        f"\nbeat tick with {feeds:,} feeds due: {tick['claimed']:,} claimed and enqueued in "
        f"{tick['seconds']:.2f} s; queue depth {tick['queue']:,} tasks"
    )
    print(f"first cycle (every feed new): {feeds / results['first_cycle'] * 60:,.0f} feeds/min")
    print("\nclaim query plan:\n")
    print("\n".join(f"    {line}" for line in results["plan"]))
    print(f"\n| `worker -c N` | 304 path, host_delay {args.host_delay:g}s | 304 path, no delay |")
    print("|---|---:|---:|")
    for children, c in results["cycles"].items():
        print(
            f"| {children} | {feeds / c['polite'] * 60:,.0f} feeds/min "
            f"| {feeds / c['no_delay'] * 60:,.0f} feeds/min |"
        )


if __name__ == "__main__":
    main()
