"""Measuring a model on labeled data: numbers per category and a PNG of the curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from .artifact import Classifier
from .datasets import Example
from .metrics import summary


def score_examples(classifier: Classifier, examples: Sequence[Example], batch: int = 2000) -> np.ndarray:
    """Probabilities (examples x categories) in batches."""
    rows: list[np.ndarray] = []
    texts = [e.text for e in examples]
    for start in range(0, len(texts), batch):
        rows.append(classifier.predict_proba(texts[start : start + batch]))
    return np.vstack(rows) if rows else np.zeros((0, len(classifier.categories)))


def evaluate(
    classifier: Classifier, examples: Sequence[Example], thresholds: Mapping[str, float]
) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per-category metrics for the categories the data labels, and (y, p) for plotting."""
    probs = score_examples(classifier, examples)
    results: dict[str, Any] = {}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k, category in enumerate(classifier.categories):
        labeled = [i for i, e in enumerate(examples) if category in e.labels]
        if not labeled:
            continue
        y = np.array([examples[i].labels[category] for i in labeled])
        p = probs[labeled, k]
        results[category] = summary(y, p, thresholds.get(category))
        if 0 < y.sum() < len(y):
            curves[category] = (y, p)
    return results, curves


def format_table(results: Mapping[str, Any]) -> str:
    """A plain-text table of the metrics."""
    header = ("n", "pos", "ROC-AUC", "AP", "thresh", "prec", "recall", "F1")
    widths = (6, 6, 8, 6, 7, 6, 6, 6)
    lines = [f"{'category':16s} " + " ".join(f"{h:>{w}s}" for h, w in zip(header, widths, strict=True))]

    def fmt(value: Any, width: int) -> str:
        return f"{value:{width}.3f}" if isinstance(value, float) else f"{'-':>{width}s}"

    for category, m in results.items():
        values = [
            m.get(k) for k in ("roc_auc", "average_precision", "threshold", "precision", "recall", "f1")
        ]
        cells = [f"{m['n']:6d}", f"{m['positives']:6d}"] + [
            fmt(v, w) for v, w in zip(values, widths[2:], strict=True)
        ]
        lines.append(f"{category:16s} " + " ".join(cells))
    return "\n".join(lines)


def plot_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> None:
    """ROC and precision-recall curves of each category side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(12, 5.5))
    for category, (y, p) in curves.items():
        fpr, tpr, _ = roc_curve(y, p)
        precision, recall, _ = precision_recall_curve(y, p)
        roc_ax.plot(fpr, tpr, label=category)
        pr_ax.plot(recall, precision, label=category)
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    roc_ax.set(
        xlabel="false positive rate", ylabel="true positive rate", title="ROC", xlim=(0, 1), ylim=(0, 1.01)
    )
    pr_ax.set(xlabel="recall", ylabel="precision", title="precision-recall", xlim=(0, 1), ylim=(0, 1.01))
    for ax in (roc_ax, pr_ax):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if ax is roc_ax else "lower left")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
