"""Quality on held-out real data (../shared/datasets), beside alt-profanity-check on the same rows.

    python -m bench.quality [--datasets ../shared/datasets] [--model models/classifier.skops]

Prints the false-positive budget and recall table of the classifier issue — whole verdicts (rules
and model, the shipped rules.yaml) on the recipe's test split, which the model never trained on
and calibration never looked at — and writes bench/results/quality.json. alt-profanity-check is
scored on the very same rows; it acts when its probability is >= 0.5 (its own `predict`). Skips
(exit 0, with a message) when the data sets are not there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from moderation.classifier import artifact
from moderation.classifier.heldout import (
    ACTED_MEASURES,
    TARGETS,
    format_budget,
    measure_split,
    rules_firing,
    term_rates,
)
from moderation.classifier.recipe import (
    DEFAULT_DATASETS,
    DEFAULT_RECIPE,
    check_files,
    load_recipe,
    split_sources,
)
from moderation.classifier.train import held_out_metrics
from moderation.config import PROJECT_ROOT
from moderation.pipeline import Pipeline
from moderation.rules import load_rules

RESULTS = PROJECT_ROOT / "bench" / "results"


def _peer():  # type: ignore[no-untyped-def]
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None
    return predict_prob


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def peer_budget(texts: dict[str, list[str]], terms: list[str], peer: Any) -> dict[str, float]:
    """alt-profanity-check's figure for each budget line it can have (it cannot hide anything)."""
    probs = {name: np.asarray(peer(rows)) for name, rows in texts.items()}
    out: dict[str, float] = {}
    for target in TARGETS:
        if any(s not in probs for s in target.sets):
            continue
        first = probs[target.sets[0]]
        if target.measure in ACTED_MEASURES:
            out[target.name] = float((first >= 0.5).mean())
        elif target.measure == "term_max":
            rates = term_rates(first >= 0.5, terms)
            out[target.name] = next(iter(rates.values()), 0.0)
        elif target.measure == "auc_min":
            other = probs[target.sets[1]]
            y = np.r_[np.ones(len(first)), np.zeros(len(other))]
            value = _auc(y, np.r_[first, other])
            if value is not None:
                out[target.name] = value
    return out


def measure(
    datasets: Path, model_path: Path, rules_path: Path, recipe_path: Path = DEFAULT_RECIPE
) -> dict[str, Any]:
    """Every quality figure on the held-out test split, ours and alt-profanity-check's."""
    clf = artifact.load(model_path)
    rules = load_rules(rules_path)
    pipeline = Pipeline(rules, clf, model_required=True)
    recipe = load_recipe(recipe_path, datasets)
    check_files(recipe)
    split = split_sources(recipe)
    peer = _peer()
    started = time.perf_counter()
    sets, outcomes, table = measure_split(recipe, split, "test", pipeline.assess_texts, clf.categories)
    rows = sum(len(v) for v in sets.texts.values())
    elapsed = time.perf_counter() - started
    out: dict[str, Any] = {
        "model_version": clf.version,
        "rules_version": rules.version,
        "thresholds": rules.score_thresholds(),
        "split": "test",
        "sets": {name: len(texts) for name, texts in sets.texts.items()},
        "budget": table,
        "verdicts_per_second": rows / elapsed,
        "identity_term_rates": term_rates(outcomes.acted["madlibs_not_bad"], sets.terms)
        if "madlibs_not_bad" in outcomes.acted
        else {},
        "rules_firing_on_clean_sets": rules_firing(outcomes),
        "test_roc_auc_per_source": held_out_metrics(clf.pipeline, split, "test"),
    }
    if peer is not None:
        out["alt_profanity_check"] = peer_budget(sets.texts, sets.terms, peer)
        per_source = {}
        for name, parts in split.rows.items():
            test = parts.get("test", [])
            y = np.array([e.labels["toxicity"] for e in test])
            if len(test) and 0 < y.sum() < len(y):
                per_source[name] = _auc(y, np.asarray(peer([e.text for e in test])))
        out["alt_profanity_check_test_roc_auc_per_source"] = per_source
    return out


def markdown(results: dict[str, Any]) -> str:
    """The budget table (with alt-profanity-check's column) and per-source ROC-AUC, as Markdown."""
    peer = results.get("alt_profanity_check")
    lines = [
        f"Model `{results['model_version']}`, whole verdicts with the shipped rules, on the recipe's "
        "held-out test split (alt-profanity-check: acts at probability ≥ 0.5, same rows).",
        "",
        format_budget(results["budget"], peer),
        "",
        "| source (test split) | toxicity ROC-AUC ours | alt-profanity-check |",
        "|---|---|---|",
    ]
    theirs = results.get("alt_profanity_check_test_roc_auc_per_source", {})
    for name, per in results["test_roc_auc_per_source"].items():
        if "toxicity" in per:
            other = theirs.get(name)
            lines.append(f"| {name} | {per['toxicity']:.3f} | {'-' if other is None else f'{other:.3f}'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--model", type=Path, default=artifact.DEFAULT_MODEL)
    parser.add_argument("--rules", type=Path, default=PROJECT_ROOT / "rules.yaml")
    parser.add_argument("--recipe", type=Path, default=DEFAULT_RECIPE)
    parser.add_argument("--out", type=Path, default=RESULTS / "quality.json")
    args = parser.parse_args(argv)
    if not args.datasets.is_dir():
        print(f"skipping quality: no data sets at {args.datasets}", file=sys.stderr)
        return 0
    results = measure(args.datasets, args.model, args.rules, args.recipe)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
