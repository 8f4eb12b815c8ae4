"""The contribution head: a second classifier scoring what editors would pick to feature.

Same conventions as the toxicity model: one saved Pipeline (``estimators.build_pipeline``, smaller
vocabularies), saved and verified by :mod:`.artifact` with its JSON sidecar. It is trained on
``corpus/contributions/*.jsonl`` (plus, with ``--from-decisions``, the comments editors featured
or dismissed). The held-out split is fixed by a hash of each text, so it never moves between
trainings; the shipped artifact is fitted on the training split only, so the figures in its
sidecar and the model card are those of the artifact itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..categories import CONTRIBUTION_LABELS
from ..config import PROJECT_ROOT
from . import artifact, serving
from .datasets import DatasetError, Example, corpus_files, files_sha256
from .sources import split_of, text_key

if TYPE_CHECKING:  # training needs scikit-learn: imported where it trains, never to serve
    from .train import Progress

DEFAULT_MODEL = PROJECT_ROOT / "models" / "contribution.skops"
CORPUS_DIR = PROJECT_ROOT / "corpus" / "contributions"
# Bump when features, model or parameters change.
RECIPE_VERSION = 1
SPLIT_SALT = "contribution-split-1"
TEST_PERCENT = 20
# A label's threshold is the lowest score whose held-out precision reaches this.
THRESHOLD_PRECISION = 0.90
PARAMETERS: dict[str, Any] = {
    "C": 2.0,
    "min_df": 2,
    "word_max_features": 30_000,
    "char_max_features": 60_000,
}


@dataclass
class ContributionModel:
    """A loaded contribution head: scores per label and the threshold each needs to name a kind."""

    classifier: serving.Model
    thresholds: Mapping[str, float]
    version: str

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Probabilities per label for each text."""
        return self.classifier.score(texts)

    def score_rounded(
        self, texts: Sequence[str]
    ) -> tuple[list[dict[str, float]], list[dict[str, float]] | None]:
        """:meth:`score`, and the same scores as a verdict holds them when the model rounds a
        batch at once (the compiled form does); None otherwise."""
        both = getattr(self.classifier, "score_rounded", None)
        if both is not None:
            return both(texts)
        return self.classifier.score(texts), None

    def label_scores(self, texts: Sequence[str], labels: Sequence[str]) -> list[float]:
        """Each text's probability of its own label: ``score(texts)[i][labels[i]]``, without a
        mapping per text (the sentences of a batch's contributions, each for its comment's kind)."""
        if len(texts) != len(labels):
            raise ValueError("one label per text")
        if not texts:
            return []
        column = {label: i for i, label in enumerate(self.classifier.categories)}
        probabilities = self.classifier.predict_proba(list(texts))
        return probabilities[np.arange(len(texts)), [column[label] for label in labels]].tolist()


def load(path: Path = DEFAULT_MODEL) -> ContributionModel:
    """Load and verify the artifact (see :func:`serving.load`); ModelError when it cannot be used."""
    classifier = serving.load(path)
    artifact.verify_hash(path, classifier.metadata)
    if tuple(classifier.categories) != CONTRIBUTION_LABELS:
        raise artifact.ModelError(f"{path} scores {classifier.categories}, not {CONTRIBUTION_LABELS}")
    thresholds = classifier.metadata.get("thresholds", {})
    missing = [label for label in CONTRIBUTION_LABELS if not isinstance(thresholds.get(label), int | float)]
    if missing:
        raise artifact.ModelError(f"{path}: the sidecar has no threshold for {', '.join(missing)}")
    chosen = {label: float(thresholds[label]) for label in CONTRIBUTION_LABELS}
    return ContributionModel(classifier, chosen, classifier.version)


def read_corpus(directory: Path = CORPUS_DIR) -> list[Example]:
    """Every corpus line as an example labelled 0/1 on each contribution label."""
    files = corpus_files(directory)
    if not files:
        raise DatasetError(f"no *.jsonl files in {directory}")
    examples = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, found = row["text"], set(row["contribution"])
            except (ValueError, KeyError, TypeError) as exc:
                raise DatasetError(f"{path}:{number}: not a corpus line ({exc})") from None
            unknown = found - set(CONTRIBUTION_LABELS)
            if unknown:
                raise DatasetError(f"{path}:{number}: unknown labels {sorted(unknown)}")
            labels = {label: int(label in found) for label in CONTRIBUTION_LABELS}
            examples.append(Example(text, labels, "contribution", text_key(text), row.get("kind", "")))
    return examples


def is_test(example: Example) -> bool:
    """Whether a row is in the fixed held-out split (a hash of its folded text)."""
    key = example.key or text_key(example.text)
    return split_of("contribution", key, SPLIT_SALT, TEST_PERCENT, 0) == "test"


def measure(pipeline: Any, test: Sequence[Example]) -> tuple[dict[str, Any], dict[str, float]]:
    """ROC-AUC, average precision and the thresholds for each label on held-out rows."""
    from .metrics import summary, threshold_for_precision
    from .train import label_matrix

    probs = pipeline.predict_proba([e.text for e in test])
    y = label_matrix(test, CONTRIBUTION_LABELS)
    metrics: dict[str, Any] = {}
    thresholds: dict[str, float] = {}
    for k, label in enumerate(CONTRIBUTION_LABELS):
        found = threshold_for_precision(y[:, k], probs[:, k], THRESHOLD_PRECISION)
        thresholds[label] = round(found if found is not None else 1.0, 4)
        metrics[label] = summary(y[:, k], probs[:, k], thresholds[label])
    return metrics, thresholds


def train_and_save(
    out: Path = DEFAULT_MODEL,
    corpus_dir: Path = CORPUS_DIR,
    extra_examples: Sequence[Example] = (),
    command: str = "flask model train-contribution",
    progress: Progress = print,
) -> dict[str, Any]:
    """Fit on the training split (plus extra rows), measure on the held-out split, save."""
    from .train import _git_commit, fit

    started = time.perf_counter()
    examples = read_corpus(corpus_dir)
    test = [e for e in examples if is_test(e)]
    train = [e for e in examples if not is_test(e)]
    test_texts = {e.key for e in test}
    # Editors' decisions on a text that is also a held-out corpus line stay out of training.
    extra = [e for e in extra_examples if text_key(e.text) not in test_texts]
    progress(f"corpus: {len(examples)} comments ({len(train)} train, {len(test)} held out) in {corpus_dir}")
    if extra_examples:
        progress(f"editors' decisions: {len(extra)} comments")
    params = dict(PARAMETERS)
    C, min_df = float(params.pop("C")), int(params.pop("min_df"))
    pipeline = fit([*train, *extra], CONTRIBUTION_LABELS, C, min_df, **params)
    metrics, thresholds = measure(pipeline, test)
    for label, m in metrics.items():
        progress(
            f"  {label:13s} ROC-AUC {m['roc_auc']:.3f}  AP {m['average_precision']:.3f}  "
            f"threshold {thresholds[label]:.4f} (precision {m['precision']:.2f}, recall {m['recall']:.2f})"
        )
    files = corpus_files(corpus_dir)
    corpus_hash = files_sha256(files)
    version = f"contrib-{datetime.now(UTC):%Y%m%d}-{corpus_hash[:8]}"
    metadata = {
        "model_version": version,
        "recipe_version": RECIPE_VERSION,
        "categories": list(CONTRIBUTION_LABELS),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_command": command,
        "git_commit": _git_commit(),
        "versions": artifact.library_versions(),
        "corpus": {"path": _relative(corpus_dir), "files": [p.name for p in files], "sha256": corpus_hash},
        "extra_data": [{"path": "editors' decisions", "rows": len(extra)}] if extra_examples else [],
        "split": {"salt": SPLIT_SALT, "test_percent": TEST_PERCENT, "key": "sha256 of the folded text"},
        "n_train": len(train) + len(extra),
        "n_test": len(test),
        "parameters": {"C": C, "min_df": min_df, **params},
        "holdout": "fixed test split (hash of the text); the artifact is fitted on the rest",
        "metrics": metrics,
        "threshold_precision": THRESHOLD_PRECISION,
        "thresholds": thresholds,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    artifact.save(pipeline, out, metadata)
    progress(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) as {version}")
    return metadata


def stale_reason(path: Path = DEFAULT_MODEL, corpus_dir: Path = CORPUS_DIR) -> str | None:
    """Why the contribution artifact needs rebuilding, or None when it is current."""
    from . import train

    return train.stale_reason(path, corpus_dir, RECIPE_VERSION, what="contribution")


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
