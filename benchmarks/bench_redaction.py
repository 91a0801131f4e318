"""Log redaction with many watched names: the old alternation regex against the new
filter (word set + the matcher's spans + a regex of addresses only), in one run.

    python benchmarks/bench_redaction.py [N]
"""

from __future__ import annotations

import random
import re
import string
import sys
import time

from worker.core.types import PersonSpec, WatchlistSpec
from worker.matching import compile_matcher
from worker.redaction import MASK, RedactionFilter

LINES = 200


def main(count: int) -> None:
    rng = random.Random(1)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(7)).title()

    people = tuple(PersonSpec(id=f"p{i}", name=f"{word()} {word()}") for i in range(count))
    strings = {"desk@example.org", "https://hooks.example.net/x?k=1"}
    for person in people:
        strings.add(person.name)
        strings.update(person.name.split())
    line = f"delivery msg_1: sending → sent entry_id=2 match_id=2 {people[count // 2].name}"

    started = time.perf_counter()
    ordered = sorted(strings, key=len, reverse=True)
    old = re.compile("|".join(re.escape(s) for s in ordered), re.IGNORECASE)
    old_build = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(LINES):
        old.sub(MASK, line)
    old_line = (time.perf_counter() - started) / LINES

    started = time.perf_counter()
    matcher = compile_matcher([WatchlistSpec(id="all", title="all", people=people)])
    compile_time = time.perf_counter() - started
    started = time.perf_counter()
    new = RedactionFilter(strings, matcher)
    new_build = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(LINES):
        assert people[count // 2].name not in new.scrub(line)
    new_line = (time.perf_counter() - started) / LINES
    print(f"{count} names")
    print(f"  baseline regex:   build {old_build:6.2f} s, {old_line * 1e3:8.2f} ms a line")
    print(
        f"  filter + matcher: build {new_build:6.2f} s (+ matcher {compile_time:.2f} s), "
        f"{new_line * 1e3:8.2f} ms a line"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
