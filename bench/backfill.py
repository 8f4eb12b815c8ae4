"""`flask score` as a site runs it: start-up to the first verdict, and a backfill from a file.

    python -m bench.backfill [--comments 1000000] [--jobs 1 --jobs 2] [--starts 3]

Start-up: `flask --app app score one.jsonl` (one comment, both heads, the shipped rules), wall
time from launch to its verdict on stdout, median of ``--starts`` runs. Backfill: ``--comments``
generated comments (`bench/generate.py`, written to a temporary JSON-lines file in chunks, not
held in memory) scored by `flask score FILE --jobs N` for each ``--jobs`` (default: 1 and every
core), wall time to the last line, comments per second, and the largest process's peak RSS (the
parent or a worker). The output is counted, not kept. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.generate import generate
from moderation.config import PROJECT_ROOT
from moderation.pipeline import available_cores

FLASK = [str(Path(sys.executable).parent / "flask"), "--app", "app"]
CHUNK = 50_000  # comments generated at a time (each chunk has its own seed)


def write_comments(path: Path, n: int) -> None:
    """``n`` generated comments as JSON lines with ids, written chunk by chunk."""
    with path.open("w", encoding="utf-8") as out:
        for chunk, start in enumerate(range(0, n, CHUNK)):
            texts = generate(min(CHUNK, n - start), seed=7 + chunk)
            out.writelines(
                json.dumps({"id": f"c{start + i}", "text": t}, ensure_ascii=False) + "\n"
                for i, t in enumerate(texts)
            )


def _env() -> dict[str, str]:
    # Logging at WARNING: the service's start-up INFO lines are not part of the output.
    return {**os.environ, "LOG_LEVEL": "WARNING"}


def startup(starts: int) -> dict[str, Any]:
    """Seconds from launching `flask score` on one comment to its verdict, median of ``starts``."""
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.jsonl"
        one.write_text(json.dumps({"id": "c0", "text": "Thanks for the article, very clear."}) + "\n")
        times = []
        for _ in range(starts):
            began = time.perf_counter()
            proc = subprocess.Popen(
                [*FLASK, "score", str(one)], stdout=subprocess.PIPE, env=_env(), cwd=PROJECT_ROOT
            )
            assert proc.stdout is not None
            first = proc.stdout.readline()
            times.append(time.perf_counter() - began)
            proc.wait()
            if proc.returncode != 0 or not first:
                raise RuntimeError(f"flask score failed (exit {proc.returncode})")
    return {"runs": [round(t, 3) for t in times], "median_seconds": round(statistics.median(times), 3)}


def backfill(path: Path, n: int, jobs: int) -> dict[str, Any]:
    """Score the file with ``jobs`` processes; wall seconds, rate and peak RSS."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        [*FLASK, "score", str(path), "--jobs", str(jobs)],
        stdout=subprocess.PIPE,
        env=_env(),
        cwd=PROJECT_ROOT,
    )
    assert proc.stdout is not None
    lines = 0
    while block := proc.stdout.read(1 << 20):
        lines += block.count(b"\n")
    # This run's own peak: wait4 reports the child and the workers it waited for, not the runs before.
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - began
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or lines != n:
        raise RuntimeError(f"flask score --jobs {jobs}: exit {code}, {lines} of {n} lines")
    peak_mb = usage.ru_maxrss / 1024
    return {
        "jobs": jobs,
        "comments": n,
        "seconds": round(seconds, 1),
        "per_second": round(n / seconds),
        "largest_process_peak_rss_mb": round(peak_mb),
    }


def measure(comments: int, jobs: list[int], starts: int, log: Any = print) -> dict[str, Any]:
    """Start-up, then the backfill for each number of jobs."""
    log("flask score start-up ...")
    out: dict[str, Any] = {"startup": startup(starts), "backfill": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "comments.jsonl"
        log(f"writing {comments:,} generated comments ...")
        write_comments(path, comments)
        out["input_mb"] = round(path.stat().st_size / 1e6)
        for n in jobs:
            log(f"flask score --jobs {n} on {comments:,} comments ...")
            out["backfill"].append(backfill(path, comments, n))
            log(f"  {out['backfill'][-1]}")
    return out


def markdown(result: dict[str, Any]) -> str:
    """The figures as a Markdown section."""
    s = result["startup"]
    lines = [
        "## `flask score`: start-up and a backfill from a file",
        "",
        f"Start-up to the first verdict (one comment, both heads): median {s['median_seconds']:.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in s['runs'])}).",
        "",
        "| processes (`--jobs`) | comments | seconds | comments/s | largest process peak RSS MB |",
        "|---|---|---|---|---|",
    ]
    for b in result["backfill"]:
        lines.append(
            f"| {b['jobs']} | {b['comments']:,} | {b['seconds']:.1f} | {b['per_second']:,} | "
            f"{b['largest_process_peak_rss_mb']} |"
        )
    lines += ["", f"Input: {result['input_mb']} MB of JSON lines from `bench/generate.py`.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, action="append", help="default: 1 and every core")
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args(argv)
    jobs = args.jobs or sorted({1, available_cores()})
    result = measure(args.comments, jobs, args.starts, log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
