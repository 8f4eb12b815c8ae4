"""The classifier: training, the saved artifact, loading safeguards and scoring."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sklearn
from conftest import FIXTURES

from moderation.categories import SCORED_CATEGORIES
from moderation.classifier import artifact
from moderation.classifier.datasets import corpus_files, files_sha256, read_dataset
from moderation.classifier.textprep import prepare
from moderation.classifier.train import stale_reason


@pytest.mark.parametrize(
    ("text", "prepared"),
    [
        ("sh1t happens", "shit happens"),
        ("a$$hole", "asshole"),
        ("f u c k off", "fuck off"),
        ("fuuuuuck", "fuuck"),
        ("Ѕhit", "shit"),
        ("b!tch", "bitch"),
        ("hello world!", "hello world!"),
        ("455 people in 2024", "455 people in 2024"),
        ("Scunthorpe", "scunthorpe"),
    ],
)
def test_text_preparation_undoes_disguises(text: str, prepared: str) -> None:
    assert prepare(text) == prepared


def test_artifact_and_sidecar(tiny_model: Path) -> None:
    meta = json.loads(tiny_model.with_suffix(".json").read_text())
    assert meta["categories"] == list(SCORED_CATEGORIES)
    assert meta["versions"]["scikit-learn"] == sklearn.__version__
    assert meta["corpus"]["sha256"] == files_sha256(corpus_files(FIXTURES / "tiny_corpus"))
    assert meta["model_version"].startswith("clf-")
    assert meta["training_command"]
    assert meta["n_train"] == 56


def test_scores_are_probabilities_that_rank_abuse_above_news(tiny_model: Path) -> None:
    clf = artifact.load(tiny_model)
    clean, abusive = clf.score(
        ["Thanks for the clear reporting on the council budget", "you pathetic idiot, fuck off"]
    )
    assert set(clean) == set(SCORED_CATEGORIES)
    assert all(0.0 <= v <= 1.0 for v in (*clean.values(), *abusive.values()))
    assert abusive["toxicity"] > clean["toxicity"]
    assert abusive["insult"] > clean["insult"]
    assert clf.score([]) == []


def test_refuses_artifact_from_another_sklearn(tiny_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m.skops"
    shutil.copy(tiny_model, copy)
    meta = json.loads(tiny_model.with_suffix(".json").read_text())
    meta["versions"]["scikit-learn"] = "0.24.2"
    copy.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(artifact.ModelError, match=r"made with scikit-learn 0\.24\.2.*rebuild"):
        artifact.load(copy)


def test_refuses_corrupt_and_missing_artifacts(tiny_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m.skops"
    shutil.copy(tiny_model.with_suffix(".json"), copy.with_suffix(".json"))
    copy.write_bytes(b"not a zip file")
    with pytest.raises(artifact.ModelError, match="cannot load"):
        artifact.load(copy)
    with pytest.raises(artifact.ModelError, match="no model metadata"):
        artifact.load(tmp_path / "absent.skops")


def test_staleness(tiny_model: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "tiny_corpus", corpus)
    assert stale_reason(tmp_path / "none.skops", corpus) == "no model artifact"
    assert stale_reason(tiny_model, corpus) is None
    with (corpus / "tiny.jsonl").open("a") as handle:
        handle.write(json.dumps({"text": "one more comment", "labels": []}) + "\n")
    assert stale_reason(tiny_model, corpus) == "corpus changed"


def test_jigsaw_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "jig.csv"
    path.write_text(
        "id,comment_text,toxic,severe_toxic,obscene,threat,insult,identity_hate\n"
        '1,"you idiot",1,0,0,0,1,0\n2,"nice edit",0,0,0,0,0,0\n3,"die",0,1,0,1,0,0\n'
    )
    rows = read_dataset(path)
    assert [r.labels["toxicity"] for r in rows] == [1, 0, 1]
    assert rows[0].labels["insult"] == 1 and rows[2].labels["threat"] == 1
    assert "sexual" not in rows[0].labels


def test_fast_scoring_path_equals_the_pipeline(tiny_model: Path) -> None:
    import numpy as np

    clf = artifact.load(tiny_model)
    texts = ["you pathetic idiot", "Thanks for the clear reporting", "f u c k off", ""]
    assert np.allclose(clf.predict_proba(texts), clf.pipeline.predict_proba(texts))
    assert clf.pipeline.named_steps["model"].coef_.flags["C_CONTIGUOUS"]


def test_fast_tfidf_transform_equals_sklearns(tiny_model: Path) -> None:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    clf = artifact.load(tiny_model)
    texts = [
        "you pathetic idiot idiot",
        "Thanks for the clear reporting",
        "",
        "zzzz unknown words only",
        "a",
        "tabs\tand\nnew lines  and   runs of spaces",
        "idiot " * 300,
        "ünïcödé wörds, ½ and emoji 🙂 stay",
    ]
    prepared = clf.pipeline.named_steps["prepare"].transform(texts)
    for _, vectorizer in clf.pipeline.named_steps["features"].transformer_list[:2]:
        fast = vectorizer.transform(prepared)
        slow = TfidfVectorizer.transform(vectorizer, prepared)
        assert fast.shape == slow.shape
        assert np.allclose(fast.toarray(), slow.toarray(), atol=1e-6)
        again = vectorizer.transform(prepared)  # now from the per-word cache
        assert np.allclose(again.toarray(), slow.toarray(), atol=1e-6)


def test_vocabulary_is_saved_as_packed_text_and_old_artifacts_still_load(tiny_model: Path) -> None:
    import numpy as np

    from moderation.classifier.estimators import CompactTfidfVectorizer

    clf = artifact.load(tiny_model)
    for _, vectorizer in clf.pipeline.named_steps["features"].transformer_list[:2]:
        state = vectorizer.__getstate__()
        assert "vocabulary_" not in state and state["terms_utf8_"].dtype == np.uint8
        restored = CompactTfidfVectorizer.__new__(CompactTfidfVectorizer)
        restored.__setstate__(state)
        assert restored.vocabulary_ == vectorizer.vocabulary_

        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        old = {k: v for k, v in state.items() if k not in ("terms_utf8_", "n_terms_")}
        old["terms_"] = np.array(terms, dtype=str)  # how artifacts were written before
        restored_old = CompactTfidfVectorizer.__new__(CompactTfidfVectorizer)
        restored_old.__setstate__(old)
        assert restored_old.vocabulary_ == vectorizer.vocabulary_
