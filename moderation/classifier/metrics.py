"""Quality measures shared by training, evaluation and the benchmark."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score


def at_threshold(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 when scores >= threshold count as positive."""
    predicted = p >= threshold
    tp = float(np.sum(predicted & (y == 1)))
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float(np.sum(y == 1)), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": threshold, "precision": precision, "recall": recall, "f1": f1}


def summary(y: np.ndarray, p: np.ndarray, threshold: float | None = None) -> dict[str, float | int | None]:
    """ROC-AUC, average precision and counts (and P/R/F1 at ``threshold``) for one category."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    both = 0 < y.sum() < len(y)
    out: dict[str, float | int | None] = {
        "n": len(y),
        "positives": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "average_precision": float(average_precision_score(y, p)) if both else None,
    }
    if threshold is not None:
        out.update(at_threshold(y, p, threshold))
    return out


def threshold_for_precision(y: np.ndarray, p: np.ndarray, target: float) -> float | None:
    """The lowest threshold whose precision reaches ``target`` (None if none does)."""
    precision, _, thresholds = precision_recall_curve(y, p)
    ok = np.nonzero(precision[:-1] >= target)[0]
    return float(thresholds[ok[0]]) if len(ok) else None
