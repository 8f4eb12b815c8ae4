"""The toxicity model and the contribution head scored from one reading of a batch
(``classifier.paired``): each head's scores are those it gives alone, to the bit."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import FIXTURES

from bench.generate import generate
from moderation.classifier import artifact, compiled, contribution, paired, serving
from moderation.config import PROJECT_ROOT
from moderation.pipeline import CommentContext, Pipeline
from moderation.rules import load_rules

ODD = [
    "",
    "a",
    "\x00",
    "you\x00idiot\x00 a\x00b",
    "x" * 5000,
    "the the the " * 400,
    "🙂" * 300 + " you 🤬 idiot",
    "Ünïcödé wörds, ½, ＦＵＬＬ ＷＩＤＴＨ, \u0130stanbul",
    "I saw the police close the road at 7am; the fire crews are still there.",
]


def _scorers(path):  # type: ignore[no-untyped-def]
    return serving.load(path).scorer


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return generate(700, seed=23) + ODD


def _batches(texts: list[str]) -> list[list[str]]:
    """The texts in batches of 256, 37 and 3, and the first 60 one at a time."""
    out = [texts[i : i + size] for size in (256, 37, 3) for i in range(0, len(texts), size)]
    return out + [[text] for text in texts[:60]]


def test_the_shipped_heads_paired_score_what_each_scores_alone(texts: list[str]) -> None:
    assert compiled._linear is not None, "the C kernel is not built: run `make setup`"
    first, second = _scorers(artifact.DEFAULT_MODEL), _scorers(contribution.DEFAULT_MODEL)
    alone = (_scorers(artifact.DEFAULT_MODEL), _scorers(contribution.DEFAULT_MODEL))
    made = paired.pair(SimpleNamespace(scorer=first), SimpleNamespace(scorer=second))
    assert made is not None and first.pair is made and alone[0].pair is None
    assert made.table is first.table  # six categories and the idf: the pad lane carries the columns
    for batch in _batches(texts):
        ours = first.predict_proba(batch)
        assert second.paired_batch is not None and second.paired_batch[0] == batch
        theirs = second.predict_proba(batch)
        assert np.array_equal(ours, alone[0].predict_proba(batch))
        assert np.array_equal(theirs, alone[1].predict_proba(batch))


def test_the_second_head_takes_the_first_heads_reading_only_for_the_same_batch(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _scorers(artifact.DEFAULT_MODEL), _scorers(contribution.DEFAULT_MODEL)
    paired.pair(SimpleNamespace(scorer=first), SimpleNamespace(scorer=second))
    batch, other = texts[:50], texts[50:100]  # as many texts: told apart by their texts alone
    expected = second.predict_proba(other)
    first.predict_proba(batch)
    with monkeypatch.context() as patch:  # the same batch: read by the first head, not again
        patch.setattr(compiled._linear, "decisions", None)
        patch.setattr(compiled._linear, "pair_decisions", None)
        second.predict_proba(list(batch))
    # Another batch (or the sentences of one) is read by the second head itself.
    assert np.array_equal(second.predict_proba(other), expected)
    assert second.paired_batch is not None and second.paired_batch[0] == batch


def _tiny(examples: list, ngram_range: tuple[int, int] = (1, 2)) -> compiled.Scorer:  # type: ignore[type-arg]
    """A small compiled head fitted on ``examples``."""
    from moderation.classifier.estimators import build_pipeline
    from moderation.classifier.train import label_matrix

    categories = ("toxicity", "insult", "threat")
    pipeline = build_pipeline(categories, min_df=1, calibration_folds=2)
    pipeline.set_params(features__words__ngram_range=ngram_range)
    pipeline.fit([e.text for e in examples], label_matrix(examples, categories, missing=-1))
    form = compiled.derive(pipeline, "sha")
    compiled.check(form, pipeline.predict_proba, [e.text for e in examples[:20]])
    return compiled.Scorer(form)


def test_heads_with_vocabularies_of_their_own_score_as_they_do_alone() -> None:
    """Two heads fitted on different comments: each has n-grams the other lacks (the second's
    are numbered past the first's), and both still get their own scores to the bit."""
    from moderation.classifier.datasets import read_corpus

    examples = read_corpus(FIXTURES / "tiny_corpus")
    texts = [e.text for e in examples] + ODD + ["completely new words: zyzzyva quokka"]
    one, two = _tiny(examples[::2]), _tiny(examples[1::2])
    alone = _tiny(examples[::2]), _tiny(examples[1::2])
    made = paired.pair(SimpleNamespace(scorer=one), SimpleNamespace(scorer=two))
    assert made is not None
    theirs = made.table[:, made.lane]  # each of the first's columns as the second's
    assert np.any(theirs < 0) and made.blocks[0].width > one.tfidf[0].width  # each has its own
    assert made.table.shape[1] == one.table.shape[1] + 4  # three categories and the idf: no lane free
    for batch in _batches(texts):
        assert np.array_equal(one.predict_proba(batch), alone[0].predict_proba(batch))
        assert np.array_equal(two.predict_proba(batch), alone[1].predict_proba(batch))


def test_heads_that_read_text_differently_are_scored_alone(caplog: pytest.LogCaptureFixture) -> None:
    from moderation.classifier.datasets import read_corpus

    examples = read_corpus(FIXTURES / "tiny_corpus")
    one, two = _tiny(examples), _tiny(examples, ngram_range=(1, 3))
    with caplog.at_level(logging.INFO, logger="moderation.classifier.paired"):
        assert paired.pair(SimpleNamespace(scorer=one), SimpleNamespace(scorer=two)) is None
        assert paired.pair(SimpleNamespace(scorer=one), SimpleNamespace(scorer=two)) is None  # tried once
    assert [r.getMessage() for r in caplog.records] == [
        "the heads are scored one after the other: the steps differ in max_n"
    ]
    assert one.pair is None and one.unpaired is two
    expected = two.predict_proba(ODD)
    one.predict_proba(ODD)
    assert np.array_equal(two.predict_proba(ODD), expected)


def test_the_kernel_refuses_columns_it_cannot_pair() -> None:
    """The second model's columns (in a lane of the first's table past its idf) must lie in its
    table, and both models score the same batch: a ValueError otherwise, never a read out of
    bounds."""
    rng = np.random.default_rng(3)
    second_table = rng.uniform(0.5, 2, size=(6, 4)).astype(np.float32)
    none = np.zeros(0, dtype=np.int64)

    def run(second_columns: list[float], second_rows: int = 2, column: int = 3, lane: int = 3) -> None:
        first_table = rng.uniform(0.5, 2, size=(10, 4)).astype(np.float32)
        first_table[:, 3] = second_columns
        first = (first_table, np.array([0], dtype=np.int64), none, none, np.zeros(0, np.float32))
        second = (second_table, np.array([0], dtype=np.int64), none, none, np.zeros(0, np.float32))
        outs = np.zeros((2, 2), np.float32), np.zeros((second_rows, 2), np.float32)
        part = (np.array([0, 1, 1], dtype=np.int64), np.array([column, 12, 3], dtype=np.int64))
        compiled._linear.pair_decisions(
            [part], lane, compiled._log_counts(10), True, (*first, outs[0]), (*second, outs[1])
        )
        assert np.all(outs[0] != 0) and np.all(outs[1] != 0)  # column 12: the second's column 2 alone

    fine = [-1, -1, 0, 1, -1, -1, 2, -1, -1, 3]
    run(fine)
    for bad in ([-1, -1, 0, 6, -1, -1, 2, -1, -1, 3], [-2.0] * 10, [np.nan] * 10):
        with pytest.raises(ValueError, match="outside the second model's table"):
            run(bad)
    for lane in (2, 4, 1):
        with pytest.raises(ValueError, match="lane past the first's idf"):
            run(fine, lane=lane)
    with pytest.raises(ValueError, match="other batches"):
        run(fine, second_rows=3)
    with pytest.raises(ValueError, match="outside"):
        run(fine, column=16)


def test_a_pipeline_pairs_its_heads_after_a_thousand_comments_and_again_when_one_changes() -> None:
    """Pairing costs about a tenth of a second: a pipeline pairs its heads once it has run
    PAIR_AFTER comments (a `flask score` of a few never does), once, and again when a head is
    swapped (a model reloaded); the verdicts are the same before and after."""
    from moderation.pipeline import run

    rules = load_rules(PROJECT_ROOT / "rules.yaml")
    classifier, head = serving.load(artifact.DEFAULT_MODEL), contribution.load(contribution.DEFAULT_MODEL)
    pipeline = Pipeline(rules, classifier, model_required=True, contribution=head)
    reference = Pipeline(rules, _Unpaired(serving.load(artifact.DEFAULT_MODEL)), model_required=True)
    reference.contribution = contribution.load(contribution.DEFAULT_MODEL)
    comments = [CommentContext(t) for t in generate(run.PAIR_AFTER + 300, seed=29)]
    first, rest = comments[: run.PAIR_AFTER - 1], comments[run.PAIR_AFTER - 1 :]

    def same(batch: list[CommentContext]) -> None:
        assert [v.to_dict() for v in pipeline.run(batch)] == [v.to_dict() for v in reference.run(batch)]

    same(first)
    assert classifier.scorer.pair is None  # not yet
    same(rest)
    made = classifier.scorer.pair
    assert made is not None and made.second is head.classifier.scorer
    same(rest[:5])
    assert classifier.scorer.pair is made  # not made again
    swapped = serving.load(artifact.DEFAULT_MODEL)  # a model reloaded (live.py swaps it in)
    pipeline.scorer = swapped
    same(rest)
    assert swapped.scorer.pair is not None and swapped.scorer.pair.second is head.classifier.scorer


class _Unpaired:
    """A compiled classifier that never pairs (each head scored alone)."""

    def __init__(self, model: compiled.CompiledClassifier) -> None:
        self.model = model
        self.version = model.version

    def score_rounded(self, texts):  # type: ignore[no-untyped-def]
        return self.model.score_rounded(texts)

    def score(self, texts):  # type: ignore[no-untyped-def]
        return self.model.score(texts)


def test_threads_past_the_threshold_at_once_pair_the_heads_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gunicorn worker's threads cross PAIR_AFTER together: one pairs the heads (a tenth of a
    second), the others go on unpaired rather than build pairs of their own or wait; every
    verdict is the one the heads give alone."""
    from concurrent.futures import ThreadPoolExecutor

    from moderation.pipeline import run

    built = []
    real = paired.Pair.__init__

    def counted(self, first, second):  # type: ignore[no-untyped-def]
        built.append(1)
        real(self, first, second)

    monkeypatch.setattr(paired.Pair, "__init__", counted)
    rules = load_rules(PROJECT_ROOT / "rules.yaml")
    pipeline = Pipeline(
        rules,
        serving.load(artifact.DEFAULT_MODEL),
        model_required=True,
        contribution=contribution.load(contribution.DEFAULT_MODEL),
    )
    reference = Pipeline(rules, _Unpaired(serving.load(artifact.DEFAULT_MODEL)), model_required=True)
    reference.contribution = contribution.load(contribution.DEFAULT_MODEL)
    texts = generate(run.PAIR_AFTER + 200, seed=31)
    pipeline.run([CommentContext(t) for t in texts[: run.PAIR_AFTER - 1]])  # one short of pairing
    batches = [[CommentContext(t)] for t in texts[:200]]
    with ThreadPoolExecutor(8) as pool:
        verdicts = list(pool.map(lambda b: pipeline.run(b)[0].to_dict(), batches))
    assert built == [1] and pipeline.scorer.scorer.pair is not None
    assert verdicts == [reference.run(b)[0].to_dict() for b in batches]
