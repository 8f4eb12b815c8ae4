"""Leave one source out: train without a source, score that source (the figure closest to a new site).

Sources that share rows are left out together: ToxicSpans posts with their sentences, the Jigsaw
sample with the balanced subset. The models here are not calibrated (``calibration_folds`` 0):
ROC-AUC only needs a ranking, and that keeps a full run to one plain fit per left-out source.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..categories import SCORED_CATEGORIES
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
    from .train import fit

    params = recipe.parameters
    C, min_df = float(params.pop("C", 0.5)), int(params.pop("min_df", 2))
    params["calibration_folds"] = 0
    results: dict[str, Any] = {}
    for group, names in groups(recipe, split).items():
        if only and group not in only:
            continue
        started = time.perf_counter()
        kept = Split({k: v for k, v in split.rows.items() if k not in names})
        examples, weights, _ = training_rows(recipe, kept)
        pipeline = fit(examples, SCORED_CATEGORIES, C, min_df, weights=weights, **params)
        rows = [e for name in names for part in split.rows[name].values() for e in part]
        probs = np.vstack(
            [pipeline.predict_proba([e.text for e in rows[i : i + 4000]]) for i in range(0, len(rows), 4000)]
        )
        per: dict[str, Any] = {"rows": len(rows)}
        for k, category in enumerate(SCORED_CATEGORIES):
            labelled = [i for i, e in enumerate(rows) if category in e.labels]
            y = np.array([rows[i].labels[category] for i in labelled])
            if 0 < y.sum() < len(y):
                per[category] = round(float(summary(y, probs[labelled, k])["roc_auc"] or 0), 4)
                per[f"{category}_positives"] = int(y.sum())
        results[group] = per
        progress(
            f"  without {group}: toxicity ROC-AUC {per.get('toxicity', float('nan')):.3f} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    return results


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
