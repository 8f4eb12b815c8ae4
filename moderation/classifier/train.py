"""Training the classifier from the shipped corpus (plus optional extra data) and saving it."""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from ..categories import SCORED_CATEGORIES
from ..config import PROJECT_ROOT
from . import artifact
from .datasets import CORPUS_DIR, Example, corpus_files, files_sha256, read_corpus, read_dataset
from .estimators import build_pipeline
from .metrics import summary, threshold_for_precision

# Bump when the recipe (features, model, parameters) changes: `make setup` then rebuilds.
RECIPE_VERSION = 3
DEFAULT_C = 0.5
# Precision the suggested thresholds aim for: flag (shown, reviewed) and hold (hidden until reviewed).
FLAG_PRECISION = 0.80
HOLD_PRECISION = 0.95

Progress = Callable[[str], None]


def label_matrix(examples: Sequence[Example], categories: Sequence[str]) -> np.ndarray:
    """0/1 matrix (examples x categories); a category an example does not label counts as 0."""
    return np.array([[e.labels.get(c, 0) for c in categories] for e in examples], dtype=np.int8)


def fit(
    examples: Sequence[Example],
    categories: Sequence[str] = SCORED_CATEGORIES,
    C: float = DEFAULT_C,
    min_df: int = 2,
    verbose: int = 0,
) -> Pipeline:
    """Fit a fresh Pipeline on examples."""
    pipeline = build_pipeline(categories, C=C, min_df=min_df, verbose=verbose)
    pipeline.fit([e.text for e in examples], label_matrix(examples, categories))
    return pipeline


def evaluate_holdout(
    examples: Sequence[Example],
    categories: Sequence[str],
    holdout: float,
    C: float,
    min_df: int,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metrics and suggested thresholds from a stratified held-out part of the examples."""
    y_all = label_matrix(examples, categories)
    train_idx, test_idx = train_test_split(
        np.arange(len(examples)), test_size=holdout, random_state=seed, stratify=y_all[:, 0]
    )
    pipeline = fit([examples[i] for i in train_idx], categories, C, min_df)
    probs = pipeline.predict_proba([examples[i].text for i in test_idx])
    y_test = y_all[test_idx]
    metrics: dict[str, Any] = {}
    thresholds: dict[str, Any] = {}
    for k, category in enumerate(categories):
        flag = threshold_for_precision(y_test[:, k], probs[:, k], FLAG_PRECISION)
        hold = threshold_for_precision(y_test[:, k], probs[:, k], HOLD_PRECISION)
        thresholds[category] = {
            f"flag_at_precision_{FLAG_PRECISION}": flag,
            f"hold_at_precision_{HOLD_PRECISION}": hold,
        }
        metrics[category] = summary(y_test[:, k], probs[:, k], flag)
    return metrics, thresholds


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def train_and_save(
    out: Path = artifact.DEFAULT_MODEL,
    extra: Sequence[tuple[Path, str]] = (),
    command: str = "flask model train",
    corpus_dir: Path = CORPUS_DIR,
    holdout: float = 0.2,
    C: float = DEFAULT_C,
    min_df: int = 2,
    progress: Progress = print,
    extra_examples: Sequence[Example] = (),
    extra_label: str | None = None,
) -> dict[str, Any]:
    """Train on the corpus plus extra files, measure on a holdout, refit on everything, save."""
    started = time.perf_counter()
    categories = SCORED_CATEGORIES
    files = corpus_files(corpus_dir)
    examples = read_corpus(corpus_dir)
    progress(f"corpus: {len(examples)} comments from {len(files)} files in {corpus_dir}")
    sources = []
    for path, fmt in extra:
        rows = read_dataset(path, fmt)
        sources.append({"path": str(path), "format": fmt, "rows": len(rows), "sha256": files_sha256([path])})
        progress(f"extra data: {len(rows)} comments from {path}")
        examples += rows
    if extra_examples:
        sources.append({"path": extra_label or "extra", "rows": len(extra_examples)})
        examples += list(extra_examples)
        progress(f"extra data: {len(extra_examples)} comments from {extra_label or 'extra'}")
    y = label_matrix(examples, categories)
    progress("labels: " + ", ".join(f"{c} {int(y[:, k].sum())}" for k, c in enumerate(categories)))

    metrics: dict[str, Any] = {}
    thresholds: dict[str, Any] = {}
    if holdout:
        progress(f"measuring on a {holdout:.0%} holdout ...")
        metrics, thresholds = evaluate_holdout(examples, categories, holdout, C, min_df)
        for category, m in metrics.items():
            progress(f"  {category:16s} ROC-AUC {m['roc_auc']:.3f}  AP {m['average_precision']:.3f}")

    progress(f"training on all {len(examples)} comments ...")
    pipeline = fit(examples, categories, C, min_df, verbose=1)
    corpus_hash = files_sha256(files)
    recipe = f"{RECIPE_VERSION}:{C}:{min_df}:{corpus_hash}:" + ",".join(
        s.get("sha256", s["path"]) for s in sources
    )
    version = f"clf-{datetime.now(UTC):%Y%m%d}-{hashlib.sha256(recipe.encode()).hexdigest()[:8]}"
    metadata = {
        "model_version": version,
        "recipe_version": RECIPE_VERSION,
        "categories": list(categories),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_command": command,
        "git_commit": _git_commit(),
        "versions": artifact.library_versions(),
        "corpus": {"path": str(corpus_dir), "files": [p.name for p in files], "sha256": corpus_hash},
        "extra_data": sources,
        "n_train": len(examples),
        "parameters": {"C": C, "min_df": min_df},
        "holdout": holdout,
        "metrics": metrics,
        "suggested_thresholds": thresholds,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    artifact.save(pipeline, out, metadata)
    progress(
        f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) as {version} in {metadata['training_seconds']} s"
    )
    return metadata


def stale_reason(path: Path = artifact.DEFAULT_MODEL, corpus_dir: Path = CORPUS_DIR) -> str | None:
    """Why the artifact needs rebuilding, or None when it is current."""
    if not path.exists():
        return "no model artifact"
    try:
        meta = artifact.read_metadata(path)
    except artifact.ModelError as exc:
        return str(exc)
    if meta.get("versions") != artifact.library_versions():
        return "library versions changed"
    if meta.get("recipe_version") != RECIPE_VERSION:
        return "training recipe changed"
    if meta.get("corpus", {}).get("sha256") != files_sha256(corpus_files(corpus_dir)):
        return "corpus changed"
    return None
