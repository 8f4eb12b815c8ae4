"""Training the classifier from the shipped corpus (plus optional extra data) and saving it."""

from __future__ import annotations

import hashlib
import json
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
from .recipe import (
    Recipe,
    Split,
    check_files,
    check_rows,
    data_hashes,
    load_recipe,
    refresh_corpus,
    split_sources,
    training_rows,
)
from .recipe import record as recipe_record

# Bump when the recipe (features, model, parameters) changes: `make setup` then rebuilds.
RECIPE_VERSION = 3
DEFAULT_C = 0.5
# Precision the suggested thresholds aim for: flag (shown, reviewed) and hold (hidden until reviewed).
FLAG_PRECISION = 0.80
HOLD_PRECISION = 0.95

Progress = Callable[[str], None]


def label_matrix(examples: Sequence[Example], categories: Sequence[str], missing: int = 0) -> np.ndarray:
    """Label matrix (examples x categories); a category an example does not label is ``missing``."""
    return np.array([[e.labels.get(c, missing) for c in categories] for e in examples], dtype=np.int8)


def fit(
    examples: Sequence[Example],
    categories: Sequence[str] = SCORED_CATEGORIES,
    C: float = DEFAULT_C,
    min_df: int = 2,
    verbose: int = 0,
    weights: np.ndarray | None = None,
    **params: Any,
) -> Pipeline:
    """Fit a fresh Pipeline on examples (a category an example does not label is masked out)."""
    pipeline = build_pipeline(categories, C=C, min_df=min_df, verbose=verbose, **params)
    pipeline.fit(
        [e.text for e in examples],
        label_matrix(examples, categories, missing=-1),
        model__sample_weight=weights,
    )
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
    sources: list[dict[str, Any]] = []
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


def stale_reason(
    path: Path = artifact.DEFAULT_MODEL,
    corpus_dir: Path = CORPUS_DIR,
    recipe_version: int = RECIPE_VERSION,
    what: str = "model",
) -> str | None:
    """Why the artifact needs rebuilding, or None when it is current (libraries, the training
    recipe's version and the corpus it was trained on are what it must match)."""
    if not path.exists():
        return f"no {what} artifact"
    try:
        meta = artifact.read_metadata(path)
    except artifact.ModelError as exc:
        return str(exc)
    if meta.get("versions") != artifact.library_versions():
        return "library versions changed"
    if meta.get("recipe_version") != recipe_version:
        return "training recipe changed"
    if meta.get("corpus", {}).get("sha256") != files_sha256(corpus_files(corpus_dir)):
        return "corpus changed"
    return None


def held_out_metrics(pipeline: Pipeline, split: Split, part: str = "test") -> dict[str, Any]:
    """ROC-AUC per source and category on one split the model did not train on."""
    out: dict[str, Any] = {}
    for name, parts in split.rows.items():
        rows = parts.get(part, [])
        if not rows:
            continue
        probs = np.vstack(
            [pipeline.predict_proba([e.text for e in rows[i : i + 4000]]) for i in range(0, len(rows), 4000)]
        )
        per: dict[str, Any] = {}
        for k, category in enumerate(SCORED_CATEGORIES):
            labelled = [i for i, e in enumerate(rows) if category in e.labels]
            y = np.array([rows[i].labels[category] for i in labelled])
            if 0 < y.sum() < len(y):
                per[category] = round(float(summary(y, probs[labelled, k])["roc_auc"] or 0), 4)
        if per:
            out[name] = per
    return out


def train_from_recipe(
    recipe_path: Path,
    out: Path = artifact.DEFAULT_MODEL,
    datasets_root: Path | None = None,
    record: bool = False,
    command: str = "flask model train --recipe",
    progress: Progress = print,
) -> dict[str, Any]:
    """Train from a recipe: check every file and its hash, split, weigh, fit, save with a sidecar.

    With ``record``, the hashes and row counts found are written back into the recipe (for a new
    or deliberately changed recipe); without it, any difference is an error naming the file.
    """
    started = time.perf_counter()
    recipe = load_recipe(recipe_path, datasets_root)
    if record:
        refresh_corpus(recipe)
    check_files(recipe, verify=not record)
    progress(f"recipe {recipe_path}: {len(recipe.sources)} sources, data from {recipe.datasets_root}")
    split = split_sources(recipe)
    if record:
        recipe.data = recipe_record(recipe, split)
        recipe_path.write_text(json.dumps(recipe.data, indent=2, ensure_ascii=False) + "\n")
        recipe = load_recipe(recipe_path, datasets_root)
        progress(f"recorded hashes and row counts in {recipe_path}")
    check_rows(recipe, split)
    examples, weights, used = training_rows(recipe, split)
    for name, info in used.items():
        progress(
            f"  {name:22s} toxic {info['train_rows']['toxic']:6d}  clean {info['train_rows']['clean']:6d}"
        )
    params = recipe.parameters
    C, min_df = float(params.pop("C", DEFAULT_C)), int(params.pop("min_df", 2))
    progress(f"training on {len(examples)} rows ({', '.join(recipe.split['train_on'])} split) ...")
    pipeline = fit(examples, SCORED_CATEGORIES, C, min_df, verbose=1, weights=weights, **params)
    if params.get("calibration_folds") == 0:
        rows, row_weights, _ = training_rows(recipe, split, ["calibration"])
        progress(f"Platt calibration on the calibration split ({len(rows)} rows) ...")
        features = Pipeline(pipeline.steps[:-1]).transform([e.text for e in rows])
        labels = label_matrix(rows, SCORED_CATEGORIES, missing=-1)
        pipeline.named_steps["model"].recalibrate(features, labels, row_weights)
    fitted_at = time.perf_counter()
    progress(f"fitted in {fitted_at - started:.0f} s; measuring on the test split ...")
    metrics = held_out_metrics(pipeline, split, "test")
    recipe_bytes = recipe_path.read_bytes()
    recipe_hash = hashlib.sha256(recipe_bytes).hexdigest()
    version = f"clf-{datetime.now(UTC):%Y%m%d}-{recipe_hash[:8]}"
    metadata = {
        "model_version": version,
        "recipe_version": RECIPE_VERSION,
        "categories": list(SCORED_CATEGORIES),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_command": command,
        "git_commit": _git_commit(),
        "versions": artifact.library_versions(),
        "recipe": {
            "path": _relative(recipe_path),
            "sha256": recipe_hash,
            "data_sha256": data_hashes(recipe),
            "split": recipe.split,
        },
        "corpus": _corpus_info(recipe),
        "extra_data": [],
        "training_rows": used,
        "n_train": len(examples),
        "parameters": {"C": C, "min_df": min_df, **params},
        "holdout": "fixed test split (see recipe.split)",
        "metrics": {"test_roc_auc": metrics},
        "training_seconds": round(fitted_at - started, 1),
    }
    artifact.save(pipeline, out, metadata)
    progress(
        f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) as {version}; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    return metadata


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _corpus_info(recipe: Recipe) -> dict[str, Any]:
    """The corpus part of a recipe, in the sidecar's corpus shape (files and one combined hash)."""
    for source in recipe.sources:
        if source.reader == "corpus":
            paths = [recipe.file_path(source, f["path"]) for f in source.files]
            return {
                "path": _relative(paths[0].parent),
                "files": [p.name for p in paths],
                "sha256": files_sha256(paths),
            }
    return {}
