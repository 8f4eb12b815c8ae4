"""Leave one source out: train without a source, score that source (the figure closest to a new site).

Sources that share rows are left out together: ToxicSpans posts with their sentences, the Jigsaw
sample with the balanced subset. To keep a full run affordable on a small machine, the text
features (vocabulary and IDF) are fitted once on every source's training text — no labels are
used there — and only the per-category linear models are refitted without the left-out source,
for the categories that source labels. The models are not calibrated: ROC-AUC needs a ranking.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from ..categories import SCORED_CATEGORIES
from .estimators import CalibratedLinearMultiLabel, build_pipeline
from .metrics import summary
from .recipe import Recipe, Split, training_rows


def groups(recipe: Recipe, split: Split) -> dict[str, list[str]]:
    """Training sources by the group their rows belong to (sources of one group leave together)."""
    out: dict[str, list[str]] = {}
    for source in recipe.sources:
        if not source.train or source.name not in split.rows:
            continue
        rows = next((r for part in split.rows[source.name].values() for r in part), None)
        out.setdefault(rows.group if rows else source.name, []).append(source.name)
    return out


def leave_one_source_out(
    recipe: Recipe,
    split: Split,
    only: list[str] | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Per left-out group: ROC-AUC per category it labels, scored on all its rows."""
    from .train import label_matrix

    params = recipe.parameters
    C, min_df = float(params.pop("C", 0.5)), int(params.pop("min_df", 2))
    params["calibration_folds"] = 0
    everything, _, _ = training_rows(recipe, split)
    pipeline = build_pipeline(SCORED_CATEGORIES, C=C, min_df=min_df, **params)
    features = Pipeline(pipeline.steps[:-1])
    progress(f"features from {len(everything)} training texts ...")
    features.fit([e.text for e in everything])
    cache: dict[str, sp.csr_matrix] = {}

    def matrix(name: str, parts: list[str]) -> sp.csr_matrix:
        key = f"{name}:{','.join(parts)}"
        if key not in cache:
            rows = [e for part in parts for e in split.rows[name].get(part, [])]
            cache[key] = features.transform([e.text for e in rows])
        return cache[key]

    train_on = recipe.split["train_on"]
    results: dict[str, Any] = {}
    for group, names in groups(recipe, split).items():
        if only and group not in only:
            continue
        started = time.perf_counter()
        rows = [e for name in names for part in split.rows[name].values() for e in part]
        labelled = [c for c in SCORED_CATEGORIES if len({e.labels.get(c) for e in rows} - {None}) == 2]
        kept = Split({k: v for k, v in split.rows.items() if k not in names})
        examples, weights, _ = training_rows(recipe, kept)
        order = [n for n in kept.rows if recipe.source(n).train]
        X = sp.vstack([matrix(n, train_on) for n in order], format="csr")
        # training_rows drops rows of a zero-weight class: keep the matrix rows it kept.
        keep = _kept_rows(recipe, kept, order, train_on)
        Y = label_matrix(examples, labelled, missing=-1)
        # A category no other source teaches (both classes) cannot be measured this way.
        fittable = [
            k for k in range(len(labelled)) if min(np.bincount(Y[:, k][Y[:, k] >= 0], minlength=2)) >= 2
        ]
        labelled, Y = [labelled[k] for k in fittable], Y[:, fittable]
        model = CalibratedLinearMultiLabel(categories=tuple(labelled), C=C, cv=0).fit(X[keep], Y, weights)
        scores = model.decision_function(
            sp.vstack([matrix(n, list(split.rows[n])) for n in names], format="csr")
        )
        per: dict[str, Any] = {"rows": len(rows)}
        for k, category in enumerate(labelled):
            index = [i for i, e in enumerate(rows) if category in e.labels]
            y = np.array([rows[i].labels[category] for i in index])
            per[category] = round(float(summary(y, scores[index, k])["roc_auc"] or 0), 4)
            per[f"{category}_positives"] = int(y.sum())
        results[group] = per
        progress(
            f"  without {group}: toxicity ROC-AUC {per.get('toxicity', float('nan')):.3f} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    return results


def _kept_rows(recipe: Recipe, split: Split, order: list[str], parts: list[str]) -> np.ndarray:
    """Indices of the rows ``training_rows`` keeps, in the stacked order of ``order``."""
    keep: list[int] = []
    offset = 0
    for name in order:
        source = recipe.source(name)
        rows = [e for part in parts for e in split.rows[name].get(part, [])]
        for i, e in enumerate(rows):
            kind = "toxic" if e.labels["toxicity"] == 1 else "clean"
            if source.weight.get(kind, 0.0) > 0:
                keep.append(offset + i)
        offset += len(rows)
    return np.asarray(keep, dtype=np.int64)


def format_loso(results: dict[str, Any], in_source: dict[str, Any] | None = None) -> str:
    """The table as Markdown: one row per left-out group, ROC-AUC per category."""
    lines = [
        "| left out | rows | " + " | ".join(SCORED_CATEGORIES) + " |",
        "|---|---|" + "---|" * len(SCORED_CATEGORIES),
    ]
    for group, per in results.items():
        cells = [f"{per[c]:.3f}" if c in per else "-" for c in SCORED_CATEGORIES]
        lines.append(f"| {group} | {per['rows']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
