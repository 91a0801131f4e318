"""One embedded ``run --once`` cycle, timed in its own process (for bench_ingest.py).

    python benchmarks/_embedded_run.py [PROFILE_OUT]

Reads its configuration from the RIGHTSWATCH_* environment like ``rightswatch run
--once``; prints one JSON line: start-up seconds (schema, YAML, the matcher
compiled), the first cycle (every entry new) and the second (every feed 304),
the entries and matches stored. With PROFILE_OUT, the first cycle runs under
cProfile and its statistics are written there.
"""

from __future__ import annotations

import cProfile
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from worker import logs, redaction
from worker.config import load_config
from worker.db.models import Entry, Match
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.settings import load_settings


def main() -> None:
    started = time.perf_counter()
    settings = load_settings()  # as `rightswatch run --once` starts
    logs.setup("WARNING", settings.log_format)
    load_config(settings.config_path, settings.environ)
    runtime = Runtime(settings)
    redaction.install(settings, runtime)
    service = EmbeddedService(runtime)
    service.prepare()
    runtime.matcher()
    startup = time.perf_counter() - started
    profile = cProfile.Profile() if len(sys.argv) > 1 else None
    started = time.perf_counter()
    if profile:
        profile.enable()
    first = service.run_once()
    if profile:
        profile.disable()
        profile.dump_stats(sys.argv[1])
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = service.run_once()
    seconds_304 = time.perf_counter() - started
    with runtime.sessions() as session:
        entries = session.scalar(select(func.count()).select_from(Entry)) or 0
        matches = session.scalar(select(func.count()).select_from(Match)) or 0
    runtime.close()
    assert first.feeds_failed == 0 and second.feeds_failed == 0, first.failed_feeds
    print(
        json.dumps(
            {
                "startup": startup,
                "seconds": seconds,
                "seconds_304": seconds_304,
                "entries": entries,
                "matches": matches,
                "feeds": first.feeds_polled,
            }
        )
    )


if __name__ == "__main__":
    main()
