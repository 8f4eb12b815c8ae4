"""In-process speed of the verdict, with and without the models: the figures of issue 15.

    python -m bench.speed [--repeats 3] [--texts 5000] [--single 1000] [--rules-only]

Prints, as JSON, the median over ``--repeats`` runs of: verdicts per second in batches of 256
(``bench/generate.py``'s comments, seed 7; also per second of CPU time) and p50 / p99 ms one
comment at a time (comments under 1,000 characters), for the rules alone (no model) and for the
full verdict (both heads, as `make bench` measures it). Every pipeline has the service's default
time budget. Run it on two checkouts back to back to compare them: timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.generate import generate
from moderation.classifier import artifact, contribution, serving
from moderation.config import PROJECT_ROOT
from moderation.pipeline import CommentContext, Pipeline
from moderation.rules import load_rules

BATCH = 256
TIME_BUDGET_MS = 250  # RULES_TIME_BUDGET_MS's default


def batch_rate(pipeline: Pipeline, texts: Sequence[str]) -> tuple[float, float]:
    """Verdicts per second over ``texts`` in batches, by the wall clock and by this process's CPU
    time (steadier than the wall clock on a machine that other work shares)."""
    pipeline.assess_texts(texts[:50])
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), BATCH):
        pipeline.assess_texts(texts[i : i + BATCH])
    return len(texts) / (time.perf_counter() - started), len(texts) / (time.process_time() - cpu)


def one_at_a_time(pipeline: Pipeline, texts: Sequence[str]) -> tuple[float, float]:
    """p50 and p99 milliseconds of one verdict."""
    for text in texts[:20]:
        pipeline.assess(CommentContext(text))
    times = []
    for text in texts:
        started = time.perf_counter()
        pipeline.assess(CommentContext(text))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def pipelines(rules_only: bool) -> dict[str, Pipeline]:
    """The rules alone and, unless ``rules_only``, the full verdict."""
    rules = load_rules(PROJECT_ROOT / "rules.yaml")
    out = {"rules": Pipeline(rules, time_budget_ms=TIME_BUDGET_MS)}
    if not rules_only:
        full = Pipeline(
            rules, serving.load(artifact.DEFAULT_MODEL), model_required=True, time_budget_ms=TIME_BUDGET_MS
        )
        if contribution.DEFAULT_MODEL.exists():
            full.contribution = contribution.load(contribution.DEFAULT_MODEL)
        out["full"] = full
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--single", type=int, default=1000)
    parser.add_argument("--rules-only", action="store_true")
    args = parser.parse_args(argv)
    texts = generate(args.texts)
    short = [t for t in texts if len(t) < 1000][: args.single]
    runs: dict[str, list[float]] = {}
    built = pipelines(args.rules_only)
    gc.collect()
    gc.freeze()  # as app.py does once the service is built (see bench.run.inprocess)
    for name, pipeline in built.items():
        for _ in range(args.repeats):
            wall, cpu = batch_rate(pipeline, texts)
            runs.setdefault(f"{name} per_second", []).append(wall)
            runs.setdefault(f"{name} per_cpu_second", []).append(cpu)
            p50, p99 = one_at_a_time(pipeline, short)
            runs.setdefault(f"{name} single p50_ms", []).append(p50)
            runs.setdefault(f"{name} single p99_ms", []).append(p99)
    report: dict[str, Any] = {key: round(statistics.median(values), 4) for key, values in runs.items()}
    report["runs"] = {key: [round(v, 4) for v in values] for key, values in runs.items()}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
