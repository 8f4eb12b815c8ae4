"""Quality on the public data sets in ../shared/datasets, beside alt-profanity-check.

    python -m bench.quality [--datasets ../shared/datasets] [--model models/classifier.skops]

Prints the classifier issue's figures and writes bench/results/quality.json. Skips
(exit 0, with a message) when the data sets are not there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from moderation.classifier import artifact
from moderation.classifier.datasets import read_dataset
from moderation.classifier.evaluate import score_examples
from moderation.config import PROJECT_ROOT
from moderation.decide import Decider
from moderation.rules import load_rules

DEFAULT_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
RESULTS = PROJECT_ROOT / "bench" / "results"


def _peer():  # type: ignore[no-untyped-def]
    try:
        from profanity_check import predict_prob
    except ImportError:
        return None
    return predict_prob


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p))


def measure(
    datasets: Path, model_path: Path, rules_path: Path, madlibs_limit: int | None = None
) -> dict[str, Any]:
    """Every quality figure, for our model and (where installed) alt-profanity-check."""
    clf = artifact.load(model_path)
    rules = load_rules(rules_path)
    decider = Decider(rules, clf, model_required=True)
    thresholds = rules.score_thresholds()
    peer = _peer()
    tox = clf.categories.index("toxicity")
    threat = clf.categories.index("threat")
    out: dict[str, Any] = {
        "model_version": clf.version,
        "rules_version": rules.version,
        "thresholds": thresholds,
    }

    jig = read_dataset(datasets / "jigsaw_sample" / "jigsaw_sample.csv")
    y = np.array([e.labels["toxicity"] for e in jig])
    p = score_examples(clf, jig)
    out["jigsaw_sample_toxic_auc"] = {"ours": _auc(y, p[:, tox])}
    per_cat = {}
    for k, cat in enumerate(clf.categories):
        yk = np.array([e.labels.get(cat, -1) for e in jig])
        if cat in jig[0].labels and 0 < yk.sum() < len(yk):
            per_cat[cat] = _auc(yk, p[:, k])
    out["jigsaw_sample_auc_per_category"] = per_cat

    clean = [e for e, row in zip(jig, y, strict=True) if row == 0 and not any(e.labels.values())]
    jig_verdicts = decider.decide_many([e.text for e in jig])
    not_approved = np.array([v.status != "approved" for v in jig_verdicts])
    hidden = np.array([not v.visible for v in jig_verdicts])
    out["jigsaw_sample_service"] = {
        "toxic_not_approved": float(not_approved[y == 1].mean()),
        "clean_not_approved": float(not_approved[y == 0].mean()),
        "clean_hidden": float(hidden[y == 0].mean()),
    }
    spans = read_dataset(datasets / "toxic_spans" / "comment_labels.csv")
    mixed = clean + spans
    y_mixed = np.array([0] * len(clean) + [1] * len(spans))
    p_mixed = score_examples(clf, mixed)[:, tox]
    out["toxic_spans_vs_clean_auc"] = {
        "ours": _auc(y_mixed, p_mixed),
        "n_toxic": len(spans),
        "n_clean": len(clean),
    }
    span_verdicts = decider.decide_many([e.text for e in spans])
    out["toxic_spans_service_not_approved"] = float(np.mean([v.status != "approved" for v in span_verdicts]))

    threats = [e for e in spans if e.labels["threat"]]
    verdicts = decider.decide_many([e.text for e in threats])
    p_threat = score_examples(clf, threats)[:, threat]
    out["threat_recall"] = {
        "n": len(threats),
        "threshold": thresholds.get("threat"),
        "model_at_threshold": float(np.mean(p_threat >= thresholds.get("threat", 0.5))),
        "service_any_threat_match": float(
            np.mean([any(m.category == "threat" for m in v.matches) for v in verdicts])
        ),
        "service_not_approved": float(np.mean([v.status != "approved" for v in verdicts])),
    }

    madlibs = read_dataset(datasets / "bias_madlibs" / "bias_madlibs_77k.csv")
    if madlibs_limit:
        rng = np.random.default_rng(0)
        madlibs = [madlibs[i] for i in rng.choice(len(madlibs), madlibs_limit, replace=False)]
    y_mad = np.array([e.labels["toxicity"] for e in madlibs])
    started = time.perf_counter()
    mad_verdicts = decider.decide_many([e.text for e in madlibs])
    elapsed = time.perf_counter() - started
    p_mad = np.array([v.scores["toxicity"] for v in mad_verdicts])
    not_approved = np.array([v.status != "approved" for v in mad_verdicts])
    out["bias_madlibs"] = {
        "n": len(madlibs),
        "auc": {"ours": _auc(y_mad, p_mad)},
        "not_bad_not_approved": {"ours": float(not_approved[y_mad == 0].mean())},
        "bad_not_approved": {"ours": float(not_approved[y_mad == 1].mean())},
        "verdicts_per_second": len(madlibs) / elapsed,
    }
    # False positives per identity term: the last word of "X is a <adjective> <identity>".
    groups: dict[str, list[bool]] = defaultdict(list)
    for e, flagged in zip(madlibs, not_approved, strict=True):
        if e.labels["toxicity"] == 0:
            groups[e.text.rstrip(". ").split()[-1].lower()].append(bool(flagged))
    rates = {g: float(np.mean(v)) for g, v in groups.items() if len(v) >= 20}
    out["bias_madlibs"]["identity_false_positive_rates"] = dict(sorted(rates.items(), key=lambda kv: -kv[1]))

    # Other sets: tweets (davidson), hate speech (ethos, GPL: evaluation only), the toxic-heavy Jigsaw subset.
    others = {
        "davidson": datasets / "davidson" / "labeled_data.csv",
        "ethos": datasets / "ethos" / "Ethos_Dataset_Binary.csv",
        "jigsaw_balanced_2k": datasets / "jigsaw_balanced_2k" / "train1.csv",
    }
    out["other_datasets_toxicity_auc"] = {}
    for name, path in others.items():
        rows = read_dataset(path)
        y_other = np.array([e.labels["toxicity"] for e in rows])
        entry = {"n": len(rows), "ours": _auc(y_other, score_examples(clf, rows)[:, tox])}
        if peer is not None:
            entry["alt_profanity_check"] = _auc(y_other, peer([e.text for e in rows]))
        out["other_datasets_toxicity_auc"][name] = entry

    if peer is not None:
        out["jigsaw_sample_toxic_auc"]["alt_profanity_check"] = _auc(y, peer([e.text for e in jig]))
        out["toxic_spans_vs_clean_auc"]["alt_profanity_check"] = _auc(y_mixed, peer([e.text for e in mixed]))
        peer_mad = peer([e.text for e in madlibs])
        out["bias_madlibs"]["auc"]["alt_profanity_check"] = _auc(y_mad, peer_mad)
        out["bias_madlibs"]["not_bad_not_approved"]["alt_profanity_check"] = float(
            (peer_mad[y_mad == 0] >= 0.5).mean()
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--model", type=Path, default=artifact.DEFAULT_MODEL)
    parser.add_argument("--rules", type=Path, default=PROJECT_ROOT / "rules.yaml")
    parser.add_argument(
        "--madlibs-limit", type=int, default=None, help="sample bias_madlibs for a quicker run"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "quality.json")
    args = parser.parse_args(argv)
    if not args.datasets.is_dir():
        print(f"skipping quality: no data sets at {args.datasets}", file=sys.stderr)
        return 0
    results = measure(args.datasets, args.model, args.rules, args.madlibs_limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
