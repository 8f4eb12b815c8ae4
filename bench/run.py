"""`make bench`: speed, memory and quality beside peers measured in the same run.

Writes bench/results/report.md, report.json and charts (PNG). Figures, not assertions: a
benchmark never fails a build. Peers: alt-profanity-check, better-profanity, and a plain TF-IDF +
logistic regression baseline trained on the project's corpus.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.generate import generate
from moderation.classifier import artifact, contribution, serving
from moderation.config import PROJECT_ROOT
from moderation.pipeline import CommentContext, Pipeline, available_cores
from moderation.rules import load_rules

RESULTS = PROJECT_ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
GUNICORN = ["--workers", "2", "--threads", "16"]  # the README's production settings for 2 cores
BACKENDS = ("sqlite", "postgresql")
OURS = "ours (full verdict)"
PEER = "alt-profanity-check"


def log(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


# -- in-process ---------------------------------------------------------------


def _rate(fn: Callable[[], Any], items: int) -> float:
    started = time.perf_counter()
    fn()
    return items / (time.perf_counter() - started)


def _single(fn: Callable[[str], Any], texts: Sequence[str]) -> dict[str, float]:
    for text in texts[:20]:
        fn(text)
    times = []
    for text in texts:
        started = time.perf_counter()
        fn(text)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "per_second": len(texts) / (sum(times) / 1000),
        "p50_ms": statistics.median(times),
        "p99_ms": times[int(0.99 * (len(times) - 1))],
    }


def tfidf_baseline() -> Any:
    """The plain baseline: word TF-IDF and one logistic regression for toxicity, on our corpus."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from moderation.classifier.datasets import read_corpus

    examples = read_corpus()
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=2000, class_weight="balanced"),
    )
    model.fit([e.text for e in examples], [e.labels["toxicity"] for e in examples])
    return model


def peers() -> dict[str, dict[str, Callable[..., Any]]]:
    """Batch and single scorers of every system (those installed)."""
    out: dict[str, dict[str, Callable[..., Any]]] = {}
    pipeline = Pipeline(
        load_rules(PROJECT_ROOT / "rules.yaml"), serving.load(artifact.DEFAULT_MODEL), model_required=True
    )
    # The service's whole verdict includes the contribution head (featuring) when it ships.
    if contribution.DEFAULT_MODEL.exists():
        pipeline.contribution = contribution.load(contribution.DEFAULT_MODEL)
    out[OURS] = {
        "batch": lambda texts: [pipeline.assess_texts(texts[i : i + 256]) for i in range(0, len(texts), 256)],
        "single": lambda text: pipeline.assess(CommentContext(text)),
    }
    try:
        from profanity_check import predict_prob

        out["alt-profanity-check"] = {"batch": predict_prob, "single": lambda t: predict_prob([t])}
    except ImportError:
        log("alt-profanity-check not installed: skipped")
    try:
        from better_profanity import profanity

        profanity.load_censor_words()
        out["better-profanity"] = {
            "batch": lambda texts: [profanity.contains_profanity(t) for t in texts],
            "single": profanity.contains_profanity,
        }
    except ImportError:
        log("better-profanity not installed: skipped")
    baseline = tfidf_baseline()
    out["tf-idf + logistic regression"] = {
        "batch": baseline.predict_proba,
        "single": lambda t: baseline.predict_proba([t]),
    }
    return out


def inprocess(texts: list[str], single_n: int, runs: int = 3) -> dict[str, Any]:
    """Comments per second in batches and one at a time, and single-comment latency: the median
    of ``runs`` runs of each, after a first pass over the comments (reported on its own: ours
    starts it with its per-process memos of words and tokens empty, as a fresh process does)."""
    results = {}
    systems = peers()
    # As app.py does for the service once it is built: what the process lives with (here every
    # system's model, word lists and vocabularies) frozen out of the garbage collector's later
    # full collections, which otherwise walk it all (53 ms each, a tenth of a batch run's time
    # when the peers' vocabularies share the process).
    gc.collect()
    gc.freeze()
    for name, fns in systems.items():
        batch_texts = texts if name != "better-profanity" else texts[: single_n // 2]
        single_texts = texts[:single_n] if name != "better-profanity" else texts[: single_n // 4]
        first = _rate(lambda f=fns["batch"], b=batch_texts: f(b), len(batch_texts))
        batches = [_rate(lambda f=fns["batch"], b=batch_texts: f(b), len(batch_texts)) for _ in range(runs)]
        singles = [_single(fns["single"], single_texts) for _ in range(runs)]
        results[name] = {
            "batch_per_second": statistics.median(batches),
            "first_pass_per_second": first,
            **{key: statistics.median(s[key] for s in singles) for key in singles[0]},
            "runs": {"batch_per_second": batches, **{key: [s[key] for s in singles] for key in singles[0]}},
        }
        log(
            f"  {name}: batch {results[name]['batch_per_second']:,.0f}/s "
            f"({', '.join(f'{b:,.0f}' for b in batches)}; first pass {first:,.0f}/s), "
            f"single p50 {results[name]['p50_ms']:.3f} ms"
        )
    return results


# -- HTTP under gunicorn -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _stored(url: str, run_id: str) -> int:
    from sqlalchemy import create_engine, text

    from moderation.database import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT COUNT(*) FROM comments WHERE site_id LIKE :p"), {"p": f"bench-{run_id}-%"}
        )
        value = int(count.scalar_one())
    engine.dispose()
    return value


def http(backend: str, seconds: float, rate: float, gunicorn: Sequence[str] = GUNICORN) -> dict[str, Any]:
    """Sustained comments/s at saturation and latency at a fixed offered rate, under gunicorn."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    admin = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        import psycopg

        name = f"bench_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    # Saturated throughput of one key: the per-key rate limit would cap it, so it is off here.
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "bench",
        "API_RATE_LIMIT": "0",
    }
    flask = [str(BIN / "flask"), "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True)
    key = subprocess.run(
        [*flask, "api-key", "create", "bench"],
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), *gunicorn, "--bind", f"127.0.0.1:{port}", "app:app"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/v1/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        out: dict[str, Any] = {"backend": backend, "gunicorn": " ".join(gunicorn)}
        for mode in ("saturate", "rate"):
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.loadgen",
                    "--url",
                    base,
                    "--key",
                    key,
                    "--mode",
                    mode,
                    "--seconds",
                    str(seconds),
                    "--rate",
                    str(rate),
                    "--connections",
                    "32" if mode == "saturate" else "64",
                ],
                cwd=PROJECT_ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(result.stdout)
            figures["stored"] = _stored(url, figures["run_id"])
            figures["lost"] = figures["acknowledged"] - figures["stored"]
            out[mode] = figures
            log(
                f"  {backend} {mode}: {figures['throughput']}/s, p50 {figures['p50_ms']:.1f} ms, "
                f"p99 {figures['p99_ms']:.1f} ms, lost {figures['lost']}"
            )
        workers = _children(server.pid)
        out["worker_rss_mb"] = [_rss(pid) for pid in workers]
        return out
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
            admin.close()


# -- training and artifact ----------------------------------------------------


def training() -> dict[str, Any]:
    """Time and peak memory of training the shipped model from its recipe, in a process of its own.

    Without ../shared/datasets (a site's machine) it times the corpus-only `flask model train`.
    """
    from moderation.classifier.recipe import DEFAULT_DATASETS, DEFAULT_RECIPE

    out = Path(tempfile.mkdtemp(prefix="bench-train-")) / "m.skops"
    if DEFAULT_DATASETS.is_dir():
        args, what = ["--recipe", str(DEFAULT_RECIPE)], "flask model train --recipe models/recipe.json"
    else:
        args, what = ["--holdout", "0"], "flask model train (corpus only)"
    code = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        f"subprocess.run([{str(BIN / 'flask')!r}, '--app', 'app', 'model', 'train', '--out', {str(out)!r},"
        f" *{args!r}], check=True, capture_output=True);"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    env = {**os.environ, "MODERATION_MODEL": "none", "LOG_LEVEL": "WARNING"}
    seconds, peak_kb = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    return {
        "command": what,
        "seconds": float(seconds),
        "peak_rss_mb": int(peak_kb) / 1024,
        "artifact_mb": artifact.DEFAULT_MODEL.stat().st_size / 1e6,
    }


def model_load_seconds() -> float:
    """Time to load the shipped model as the service does (its compiled scoring form) in a fresh
    process, numpy already imported."""
    code = (
        "import time, numpy; from moderation.classifier import artifact, serving; t = time.perf_counter();"
        "serving.load(artifact.DEFAULT_MODEL); print(time.perf_counter() - t)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True, capture_output=True, text=True
    )
    return float(result.stdout.split()[-1])


def in_process_rss() -> float:
    """Peak RSS of this process after loading the model (what a worker carries)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- report --------------------------------------------------------------------


def charts(report: dict[str, Any]) -> list[str]:
    """Bar charts of throughput and latency as PNG files; returns their names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["inprocess"])
    made = []
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    x = np.arange(len(names))
    left.bar(x - 0.2, [report["inprocess"][n]["batch_per_second"] for n in names], 0.4, label="batch")
    left.bar(x + 0.2, [report["inprocess"][n]["per_second"] for n in names], 0.4, label="one at a time")
    left.set(yscale="log", ylabel="comments / second", title="In-process throughput")
    right.bar(x - 0.2, [report["inprocess"][n]["p50_ms"] for n in names], 0.4, label="p50")
    right.bar(x + 0.2, [report["inprocess"][n]["p99_ms"] for n in names], 0.4, label="p99")
    right.set(yscale="log", ylabel="ms", title="Single-comment latency")
    for ax in (left, right):
        ax.set_xticks(x, names, rotation=15, ha="right", fontsize=8)
        ax.legend()
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(RESULTS / "inprocess.png", dpi=110)
    plt.close(fig)
    made.append("inprocess.png")
    if report.get("http"):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        backends = [h["backend"] for h in report["http"]]
        left.bar(backends, [h["saturate"]["throughput"] for h in report["http"]])
        left.set(ylabel="comments / second", title="POST /api/v1/comments at saturation")
        right.bar([f"{b} p50" for b in backends], [h["rate"]["p50_ms"] for h in report["http"]])
        right.bar([f"{b} p99" for b in backends], [h["rate"]["p99_ms"] for h in report["http"]])
        right.set(
            ylabel="ms",
            title=f"Latency at {report['http'][0]['rate']['offered_rate']:.0f} comments/s offered",
        )
        fig.tight_layout()
        fig.savefig(RESULTS / "http.png", dpi=110)
        plt.close(fig)
        made.append("http.png")
    return made


def relative_to_peer(inprocess: dict[str, Any]) -> str | None:
    """Our in-process figures as shares of alt-profanity-check's in the same run: steadier from
    run to run than either alone, where other work shares the machine."""
    if OURS not in inprocess or PEER not in inprocess:
        return None
    ours, peer = inprocess[OURS], inprocess[PEER]
    return (
        f"Relative to {PEER} in this run (steadier than the absolute figures on a shared machine): "
        f"batch rate {ours['batch_per_second'] / peer['batch_per_second']:.1%} of its rate, "
        f"one-at-a-time p50 {ours['p50_ms'] / peer['p50_ms']:.2f} times its p50."
    )


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown."""
    m = report["machine"]
    lines = [
        "# Benchmark report",
        "",
        f"{report['date']} · {m['cpus']} CPUs · {m['platform']} · Python {m['python']} · "
        f"model {report['model_version']} · command `make bench`",
        "",
        "## In-process scoring",
        "",
        f"{report['texts']} comments from `bench/generate.py` (seed 7); one-at-a-time figures over "
        f"{report['single_n']} of them; each figure the median of {report.get('runs', 1)} runs in one "
        "process, after a first pass over the comments (ours starts it with its word and token memos "
        "empty, as a fresh process does).",
        "",
        "| system | batch comments/s | runs | first pass | one at a time comments/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in report["inprocess"].items():
        runs = ", ".join(f"{b:,.0f}" for b in r.get("runs", {}).get("batch_per_second", []))
        first = r.get("first_pass_per_second")
        lines.append(
            f"| {name} | {r['batch_per_second']:,.0f} | {runs} | {'-' if first is None else format(first, ',.0f')} | "
            f"{r['per_second']:,.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} |"
        )
    ratio = relative_to_peer(report["inprocess"])
    if ratio:
        lines += ["", ratio]
    lines += ["", "![in-process](inprocess.png)", ""]
    if report.get("http"):
        lines += [
            "## HTTP: POST /api/v1/comments under gunicorn",
            "",
            f"`gunicorn {report['http'][0]['gunicorn']}`; load from a separate process (`bench/loadgen.py`). "
            "Each backend's row is its median run (by saturated rate) of those listed, each on a fresh server.",
            "",
            "| backend | saturated comments/s | p50 / p99 ms at saturation | offered/s | p50 / p99 ms | acknowledged | stored | lost | worker RSS MB after the runs | runs: saturated/s; p99 ms at the offered rate; lost |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for h in report["http"]:
            s, r = h["saturate"], h["rate"]
            rss = max((w.get("VmRSS", 0) for w in h["worker_rss_mb"]), default=0)
            peak = max((w.get("VmHWM", 0) for w in h["worker_rss_mb"]), default=0)
            runs = h.get("runs", {})
            each = "; ".join(
                ", ".join(format(v, form) for v in runs.get(key, []))
                for key, form in (("saturated_per_second", ",.0f"), ("p99_ms_at_rate", ".1f"), ("lost", "d"))
            )
            lines.append(
                f"| {h['backend']} | {s['throughput']:,.0f} | {s['p50_ms']:.1f} / {s['p99_ms']:.1f} | {r['offered_rate']:.0f} | "
                f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} | {s['acknowledged'] + r['acknowledged']} | "
                f"{s['stored'] + r['stored']} | {s['lost'] + r['lost']} | {rss:.0f} (peak {peak:.0f}) | {each} |"
            )
        lines += ["", "![http](http.png)", ""]
    if report.get("backfill"):
        from bench import backfill

        lines += [backfill.markdown(report["backfill"])]
    t = report["training"]
    lines += [
        "## Memory and size",
        "",
        f"- Artifact: {t['artifact_mb']:.1f} MB, served from its compiled scoring form, loaded in "
        f"{report['model_load_seconds']:.2f} s by a fresh process; `{t['command']}`: {t['seconds']:.0f} s"
        + (f", peak RSS {t['peak_rss_mb']:.0f} MB." if t["peak_rss_mb"] == t["peak_rss_mb"] else "."),
        f"- This benchmark process with the model and all peers loaded: {report['bench_process_peak_rss_mb']:.0f} MB.",
        "",
    ]
    if report.get("quality"):
        from bench import quality

        lines += [
            "## Quality: false-positive budget and recall (../shared/datasets, held out)",
            "",
            quality.markdown(report["quality"]),
            "",
            "Full figures, per identity term, which rules fire on the clean sets: `quality.json`.",
            "",
        ]
    return "\n".join(lines)


def http_runs(
    backend: str, runs: int, seconds: float, rate: float, gunicorn: Sequence[str]
) -> list[dict[str, Any]]:
    """``runs`` HTTP runs of one backend, each on a fresh server and database."""
    done = []
    for i in range(runs):
        log(f"HTTP on {backend}, run {i + 1} of {runs} ...")
        done.append(http(backend, seconds, rate, gunicorn))
    return done


def median_run(done: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median saturated rate, with every run's saturated rate, p99 at the
    offered rate and losses beside it."""
    ranked = sorted(done, key=lambda r: r["saturate"]["throughput"])
    return {
        **ranked[(len(ranked) - 1) // 2],
        "runs": {
            "saturated_per_second": [r["saturate"]["throughput"] for r in done],
            "p99_ms_at_rate": [r["rate"]["p99_ms"] for r in done],
            "lost": [r["saturate"]["lost"] + r["rate"]["lost"] for r in done],
        },
    }


def http_only(backends: Sequence[str], repeat: int, seconds: float, rate: float, gunicorn: list[str]) -> int:
    """`--http-only`: the HTTP runs alone, ``repeat`` times per backend, each on a fresh server and
    database; prints every run and the medians as JSON (for before/after comparisons)."""
    out: dict[str, Any] = {}
    for backend in backends:
        runs = http_runs(backend, repeat, seconds, rate, gunicorn)
        out[backend] = {
            "runs": runs,
            "median_saturated_per_second": statistics.median(r["saturate"]["throughput"] for r in runs),
            "median_p99_ms_at_rate": statistics.median(r["rate"]["p99_ms"] for r in runs),
            "lost": sum(r["saturate"]["lost"] + r["rate"]["lost"] for r in runs),
        }
        log(
            f"{backend}: median {out[backend]['median_saturated_per_second']}/s saturated, "
            f"median p99 {out[backend]['median_p99_ms_at_rate']:.1f} ms at {rate:g}/s, lost {out[backend]['lost']}"
        )
    print(json.dumps(out, indent=2, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--single", type=int, default=1000)
    parser.add_argument(
        "--runs", type=int, default=3, help="in-process runs per system (the median is reported)"
    )
    parser.add_argument("--http-seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument(
        "--http-only",
        action="store_true",
        help="only the HTTP runs (--backend, --repeat); prints their figures as JSON, writes no report",
    )
    parser.add_argument("--backend", choices=BACKENDS, action="append", help="with --http-only; default both")
    parser.add_argument("--repeat", type=int, default=1, help="with --http-only: runs per backend")
    parser.add_argument(
        "--http-runs",
        type=int,
        default=3,
        help="HTTP runs per backend in the report (the median run is shown)",
    )
    parser.add_argument(
        "--gunicorn", default=" ".join(GUNICORN), help=f"gunicorn options (default {' '.join(GUNICORN)!r})"
    )
    parser.add_argument(
        "--backfill-comments",
        type=int,
        default=1_000_000,
        help="comments for the `flask score` backfill, with 1 process and every core (0: skip it)",
    )
    parser.add_argument(
        "--skip-training",
        action="store_true",
        help="report the sidecar's training time instead of retraining",
    )
    args = parser.parse_args(argv)
    gunicorn = args.gunicorn.split()
    if args.http_only:
        return http_only(args.backend or list(BACKENDS), args.repeat, args.http_seconds, args.rate, gunicorn)
    RESULTS.mkdir(parents=True, exist_ok=True)
    texts = generate(args.texts)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "texts": len(texts),
        "single_n": args.single,
        "runs": args.runs,
    }
    log("in-process scoring ...")
    report["inprocess"] = inprocess(texts, args.single, args.runs)
    report["model_version"] = artifact.read_metadata(artifact.DEFAULT_MODEL)["model_version"]
    report["bench_process_peak_rss_mb"] = in_process_rss()
    if args.skip_training:
        meta = artifact.read_metadata(artifact.DEFAULT_MODEL)
        report["training"] = {
            "command": f"{meta.get('training_command')} (from the sidecar; --skip-training)",
            "seconds": meta.get("training_seconds", 0.0),
            "peak_rss_mb": float("nan"),
            "artifact_mb": artifact.DEFAULT_MODEL.stat().st_size / 1e6,
        }
    else:
        log("training ...")
        report["training"] = training()
    report["model_load_seconds"] = model_load_seconds()
    if not args.skip_http:
        report["http"] = [
            median_run(http_runs(backend, args.http_runs, args.http_seconds, args.rate, gunicorn))
            for backend in BACKENDS
        ]
    if args.backfill_comments:
        from bench import backfill

        report["backfill"] = backfill.measure(
            args.backfill_comments, sorted({1, available_cores()}), starts=3, log=log
        )
    from bench import quality

    if quality.DEFAULT_DATASETS.is_dir():
        log("quality ...")
        report["quality"] = quality.measure(
            quality.DEFAULT_DATASETS, artifact.DEFAULT_MODEL, PROJECT_ROOT / "rules.yaml"
        )
        (RESULTS / "quality.json").write_text(json.dumps(report["quality"], indent=2) + "\n")
    else:
        log("no ../shared/datasets: quality skipped")
    report["charts"] = charts(report)
    (RESULTS / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (RESULTS / "report.md").write_text(markdown(report))
    log(f"wrote {RESULTS / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
