"""Benchmark the matching engine against a naive one-regex-per-term baseline.

    python benchmarks/bench_matching.py [--names 100000 --keywords 1000 --entries 10000]

Generates watch lists (names with Cyrillic aliases, keyword rules, some
require/exclude/near/language rules) and entries of ~3 KB of mixed English and
Russian prose with planted mentions (see `_matching_data`), then measures:
compile time, entries/s and MB/s (UTF-8 bytes of all fields), and peak memory.
The baseline compiles `\\bterm\\b` (case-insensitive) for every configured name,
alias and keyword and runs all of them on a sample of entries; its throughput is
extrapolated from that sample because running it on everything takes hours.

`--base REV` instead compares this checkout's engine with the engine of an
earlier commit (its `worker` package exported from git into a temporary
directory), alternating the two `--repeats` times in one run and reporting
medians and the load average: the way to check a change against a budget on a
shared machine.

Each side runs in its own child process so that peak memory (ru_maxrss) is its
own. Timings are wall clock and process CPU time; the machine may be shared,
so CPU time is the fairer "one core" figure and is what the targets are checked
against. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

# With --base, a child takes the `worker` package from an exported earlier commit.
sys.path.insert(0, os.environ.get("BENCH_MATCHING_CODE") or str(Path(__file__).parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _matching_data import Corpus, make_corpus

from worker.matching import compile_matcher

_ROOT = Path(__file__).resolve().parent.parent
_CODE_VARIABLE = "BENCH_MATCHING_CODE"

TARGET_MB_PER_S = 20.0
TARGET_SPEEDUP = 100.0
TARGET_COMPILE_S = 15.0
TARGET_MEMORY_MB = 1024.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    """Resident memory now (Linux); the peak if /proc is not there."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return _peak_rss_mb()
    return pages * resource.getpagesize() / 1024 / 1024


def _corpus_bytes(corpus: Corpus, entries: int | None = None) -> int:
    documents = corpus.documents if entries is None else corpus.documents[:entries]
    return sum(len(text.encode()) for doc in documents for text in doc.fields.values())


class _Clock:
    """Wall-clock and CPU seconds of a block."""

    def __enter__(self) -> _Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def run_engine(corpus: Corpus) -> dict[str, Any]:
    rss_before = _current_rss_mb()
    with _Clock() as compile_clock:
        matcher = compile_matcher(corpus.watchlists)
    rss_compiled = _current_rss_mb()
    hits = 0
    with _Clock() as match_clock:
        for doc in corpus.documents:
            hits += len(matcher.match(doc))
    return {
        "compile_wall": compile_clock.wall,
        "compile_cpu": compile_clock.cpu,
        "match_wall": match_clock.wall,
        "match_cpu": match_clock.cpu,
        "entries": len(corpus.documents),
        "bytes": _corpus_bytes(corpus),
        "hits": hits,
        "patterns": matcher.pattern_count,
        "rss_before": rss_before,
        "rss_compiled": rss_compiled,
        "rss_peak": _peak_rss_mb(),
    }


def run_baseline(corpus: Corpus, sample: int) -> dict[str, Any]:
    rss_before = _current_rss_mb()
    with _Clock() as compile_clock:
        patterns = [re.compile(r"\b" + re.escape(term) + r"\b", re.I) for term in corpus.terms]
    hits = 0
    documents = corpus.documents[:sample]
    with _Clock() as match_clock:
        for doc in documents:
            for text in doc.fields.values():
                for pattern in patterns:
                    hits += sum(1 for _ in pattern.finditer(text))
    return {
        "compile_wall": compile_clock.wall,
        "compile_cpu": compile_clock.cpu,
        "match_wall": match_clock.wall,
        "match_cpu": match_clock.cpu,
        "entries": len(documents),
        "bytes": _corpus_bytes(corpus, sample),
        "hits": hits,
        "patterns": len(patterns),
        "rss_before": rss_before,
        "rss_compiled": _current_rss_mb(),
        "rss_peak": _peak_rss_mb(),
    }


def _child(args: argparse.Namespace, phase: str, code: str | None = None) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--names",
        str(args.names),
        "--keywords",
        str(args.keywords),
        "--entries",
        str(args.entries if phase == "engine" else args.baseline_entries),
        "--lists",
        str(args.lists),
        "--baseline-entries",
        str(args.baseline_entries),
    ]
    env = {**os.environ, _CODE_VARIABLE: code} if code else None
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return dict(json.loads(result.stdout))


def _export(revision: str, into: str) -> str:
    """The `worker` package of `revision`, unpacked under `into`."""
    archive = subprocess.run(
        ["git", "-C", str(_ROOT), "archive", "--format=tar", revision, "worker"],
        check=True,
        capture_output=True,
    ).stdout
    with tempfile.TemporaryFile() as file:
        file.write(archive)
        file.seek(0)
        with tarfile.open(fileobj=file) as tar:
            tar.extractall(into, filter="data")
    return into


def _figure(run: dict[str, Any], figure: str) -> float:
    """One figure of an engine run; MB/s and the RSS compiling added are derived."""
    if figure == "mb_per_s":
        return float(run["bytes"] / 1_000_000 / run["match_cpu"])
    if figure == "rss_added":
        return float(run["rss_compiled"] - run["rss_before"])
    return float(run[figure])


def _compare(args: argparse.Namespace) -> str:
    """This checkout against `args.base`, alternating, medians of `args.repeats` runs."""
    with tempfile.TemporaryDirectory() as directory:
        code = _export(args.base, directory)
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "new": []}
        loads = [os.getloadavg()[0]]
        for _ in range(args.repeats):
            runs["base"].append(_child(args, "engine", code))
            runs["new"].append(_child(args, "engine"))
            loads.append(os.getloadavg()[0])

    rows = [
        f"| | {args.base} | this checkout | change |",
        "|---|---:|---:|---:|",
    ]
    for label, figure, unit in (
        ("compile (CPU)", "compile_cpu", "s"),
        ("compile (wall)", "compile_wall", "s"),
        ("throughput (CPU)", "mb_per_s", "MB/s"),
        ("peak RSS (whole process)", "rss_peak", "MB"),
        ("RSS added by compiling", "rss_added", "MB"),
        ("automaton patterns", "patterns", ""),
        ("hits", "hits", ""),
    ):
        base, new = (statistics.median(_figure(run, figure) for run in runs[side]) for side in runs)
        change = f"{(new / base - 1) * 100:+.1f} %" if base else ""
        rows.append(f"| {label} | {base:,.2f} {unit} | {new:,.2f} {unit} | {change} |")
    header = (
        f"Matching engine, {args.base} against this checkout: {args.names:,} names, "
        f"{args.keywords:,} keywords, {args.entries:,} entries; medians of {args.repeats} "
        f"alternating runs; 1-minute load average {min(loads):.1f} to {max(loads):.1f} "
        f"on {os.cpu_count()} cores"
    )
    return "\n".join([header, "", *rows])


def _rate(count: float, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def _report(args: argparse.Namespace, engine: dict[str, Any], naive: dict[str, Any]) -> str:
    mb = 1_000_000
    engine_mbs_cpu = _rate(engine["bytes"] / mb, engine["match_cpu"])
    engine_mbs_wall = _rate(engine["bytes"] / mb, engine["match_wall"])
    naive_mbs_cpu = _rate(naive["bytes"] / mb, naive["match_cpu"])
    naive_mbs_wall = _rate(naive["bytes"] / mb, naive["match_wall"])
    engine_eps = _rate(engine["entries"], engine["match_cpu"])
    naive_eps = _rate(naive["entries"], naive["match_cpu"])
    speedup = engine_eps / naive_eps
    matcher_mb = engine["rss_compiled"] - engine["rss_before"]
    naive_mb = naive["rss_compiled"] - naive["rss_before"]
    checks = [
        (f"≥ {TARGET_MB_PER_S:.0f} MB/s", engine_mbs_cpu >= TARGET_MB_PER_S),
        (f"≥ {TARGET_SPEEDUP:.0f}x baseline", speedup >= TARGET_SPEEDUP),
        (f"compile ≤ {TARGET_COMPILE_S:.0f} s", engine["compile_wall"] <= TARGET_COMPILE_S),
        (f"memory ≤ {TARGET_MEMORY_MB:.0f} MB", engine["rss_peak"] <= TARGET_MEMORY_MB),
    ]
    rows = [
        "| | engine | naive regex baseline | engine / baseline |",
        "|---|---:|---:|---:|",
        f"| compile (wall / CPU) | {engine['compile_wall']:.2f} s / {engine['compile_cpu']:.2f} s"
        f" | {naive['compile_wall']:.2f} s / {naive['compile_cpu']:.2f} s | |",
        f"| patterns | {engine['patterns']:,} automaton patterns"
        f" | {naive['patterns']:,} regexes | |",
        f"| entries matched | {engine['entries']:,} | {naive['entries']:,} (sample) | |",
        f"| entries/s (CPU) | {engine_eps:,.0f} | {naive_eps:,.3f} | {speedup:,.0f}x |",
        f"| MB/s of text (CPU) | {engine_mbs_cpu:.1f} | {naive_mbs_cpu:.4f}"
        f" | {engine_mbs_cpu / naive_mbs_cpu:,.0f}x |",
        f"| MB/s of text (wall) | {engine_mbs_wall:.1f} | {naive_mbs_wall:.4f}"
        f" | {engine_mbs_wall / naive_mbs_wall:,.0f}x |",
        f"| peak RSS (whole process) | {engine['rss_peak']:.0f} MB"
        f" | {naive['rss_peak']:.0f} MB | |",
        f"| RSS added by compiling | {matcher_mb:.0f} MB | {naive_mb:.0f} MB | |",
        f"| hits per entry | {engine['hits'] / engine['entries']:.2f}"
        f" | {naive['hits'] / max(naive['entries'], 1):.2f} | |",
    ]
    header = (
        f"Matching benchmark: {args.names:,} names, {args.keywords:,} keywords, "
        f"{args.lists} watch lists, {engine['entries']:,} entries "
        f"({engine['bytes'] / mb:.1f} MB of text, {engine['bytes'] / engine['entries'] / 1000:.1f}"
        " KB per entry)"
    )
    verdict = "Targets: " + ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in checks)
    return "\n".join([header, "", *rows, "", verdict])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--keywords", type=int, default=1_000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--lists", type=int, default=100, help="watch lists to spread them over")
    parser.add_argument(
        "--baseline-entries", type=int, default=3, help="entries the slow baseline runs on"
    )
    parser.add_argument("--base", help="compare the engine with this earlier commit's")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side with --base")
    parser.add_argument("--phase", choices=("engine", "baseline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        corpus = make_corpus(args.names, args.keywords, args.entries, lists=args.lists)
        if args.phase == "engine":
            print(json.dumps(run_engine(corpus)))
        else:
            print(json.dumps(run_baseline(corpus, args.baseline_entries)))
        return
    if args.base:
        print(_compare(args))
        return
    engine = _child(args, "engine")
    naive = _child(args, "baseline")
    print(_report(args, engine, naive))


if __name__ == "__main__":
    main()
