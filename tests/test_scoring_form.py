"""The compiled scoring form beside each artifact: written, followed, rebuilt, and what a
`flask score` process imports."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES

from moderation.classifier import artifact, compiled, contribution, serving
from moderation.config import PROJECT_ROOT

TEXTS = ["you pathetic idiot", "Thanks for the clear reporting", "f u c k off", "", "a\x00b", "🙂" * 50]


@pytest.fixture(scope="module")
def other_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second tiny classifier (another C, so other weights and another version)."""
    from moderation.classifier.train import train_and_save

    path = tmp_path_factory.mktemp("other") / "other.skops"
    train_and_save(path, corpus_dir=FIXTURES / "tiny_corpus", holdout=0, C=4.0, min_df=1, progress=print)
    return path


@pytest.fixture
def model(tiny_model: Path, tmp_path: Path) -> Path:
    """A copy of the tiny model, with no scoring form yet."""
    path = tmp_path / "model.skops"
    shutil.copy(tiny_model, path)
    shutil.copy(tiny_model.with_suffix(".json"), path.with_suffix(".json"))
    return path


def _replace(path: Path, source: Path) -> None:
    shutil.copy(source, path)
    shutil.copy(source.with_suffix(".json"), path.with_suffix(".json"))


def test_training_writes_the_form_and_serving_reads_it(tiny_model: Path) -> None:
    form = compiled.path_for(tiny_model)
    assert form == tiny_model.with_name("tiny.scoring.npz") and form.is_file()
    served = serving.load(tiny_model)
    assert isinstance(served, compiled.CompiledClassifier)
    reference = artifact.load(tiny_model)
    assert served.version == reference.version and served.categories == reference.categories
    assert np.abs(served.predict_proba(TEXTS) - reference.predict_proba(TEXTS)).max() <= 1e-6


def test_n_grams_with_nul_bytes_are_found_like_the_pipeline_finds_them(tmp_path: Path) -> None:
    from moderation.classifier.train import train_and_save

    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "tiny_corpus", corpus)
    with (corpus / "tiny.jsonl").open("a") as handle:
        for text, labels in [("you idi\x00ot, m\x00ron", ["insult"]), ("a\x00 calm re\x00ply", [])] * 3:
            handle.write(json.dumps({"text": text, "labels": labels}) + "\n")
    path = tmp_path / "nul.skops"
    train_and_save(path, corpus_dir=corpus, holdout=0, min_df=1, progress=lambda _: None)
    served = serving.load(path)
    meta, _ = compiled.read(compiled.path_for(path), artifact.file_sha256(path))
    assert any(block.get("nul_terms") for block in meta["blocks"])  # kept aside, and looked up there
    texts = ["you idi\x00ot", "m\x00ron and re\x00ply", "\x00", "a\x00", "idi\x00\x00ot", *TEXTS]
    reference = artifact.load(path).predict_proba(texts)
    assert np.abs(served.predict_proba(texts) - reference).max() <= 1e-6
    assert np.abs(np.vstack([served.predict_proba([t]) for t in texts]) - reference).max() <= 1e-6


def _without_the_weights(form: Path, other: Path) -> None:
    with np.load(form) as data:
        kept = {name: data[name] for name in data.files if name != "table"}
    np.savez(form, **kept)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda form, other: form.unlink(), "is missing"),
        (lambda form, other: form.write_bytes(b"PK\x03\x04 not an npz"), "is unreadable"),
        (lambda form, other: shutil.copy(compiled.path_for(other), form), "made from other bytes"),
        (_without_the_weights, "is malformed (KeyError"),
    ],
    ids=["missing", "garbage", "another-artifacts", "malformed"],
)
def test_a_missing_or_stale_form_is_reported_and_rebuilt(
    model: Path, other_model: Path, caplog: pytest.LogCaptureFixture, spoil, reason: str
) -> None:
    serving.load(model)  # writes the form
    form = compiled.path_for(model)
    spoil(form, other_model)
    with caplog.at_level(logging.WARNING, logger="moderation.classifier.serving"):
        served = serving.load(model)
    assert reason in caplog.text and "rebuild it" in caplog.text and f"written to {form}" in caplog.text
    assert isinstance(served, compiled.CompiledClassifier)
    reference = artifact.load(model)
    assert np.abs(served.predict_proba(TEXTS) - reference.predict_proba(TEXTS)).max() <= 1e-6
    compiled.read(form, artifact.file_sha256(model))  # the rebuilt form is current
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="moderation.classifier.serving"):
        serving.load(model)
    assert caplog.text == ""  # and the next start reads it quietly


def test_the_form_follows_a_retrained_artifact(model: Path, other_model: Path) -> None:
    before = serving.load(model)
    _replace(model, other_model)  # retrained (or a new artifact pulled) at the same path
    after = serving.load(model)
    assert after.version == artifact.read_metadata(other_model)["model_version"] != before.version
    expected = artifact.load(other_model).predict_proba(TEXTS)
    assert np.abs(after.predict_proba(TEXTS) - expected).max() <= 1e-6


def test_a_form_in_an_older_layout_is_rebuilt(
    model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(compiled, "FORMAT", compiled.FORMAT - 1)
    serving.load(model)
    monkeypatch.undo()
    with caplog.at_level(logging.WARNING, logger="moderation.classifier.serving"):
        assert isinstance(serving.load(model), compiled.CompiledClassifier)
    assert f"in layout {compiled.FORMAT - 1}, this version reads {compiled.FORMAT}" in caplog.text


def test_an_unwritable_folder_serves_the_form_from_memory(
    model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(path: Path, form: compiled.Form) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(compiled, "write", refuse)
    with caplog.at_level(logging.WARNING, logger="moderation.classifier.serving"):
        served = serving.load(model)
    assert isinstance(served, compiled.CompiledClassifier)
    assert "not saved" in caplog.text and "Permission denied" in caplog.text
    assert not compiled.path_for(model).exists()


def test_a_pipeline_the_form_cannot_reproduce_is_served_as_it_is(model: Path) -> None:
    classifier = artifact.load(model)
    classifier.pipeline.named_steps["features"].transformer_list[0][1].binary = True
    served, note = serving.compile_form(model, classifier, artifact.file_sha256(model))
    assert served is classifier
    assert "no compiled scoring form (TF-IDF settings not reproduced: binary)" in note
    assert not compiled.path_for(model).exists()


def test_a_form_that_scores_differently_is_refused(model: Path) -> None:
    classifier = artifact.load(model)
    meta, arrays = compiled.derive(classifier.pipeline, artifact.file_sha256(model))
    arrays["intercept"] = arrays["intercept"] + 1e-3
    with pytest.raises(compiled.NotCompilable, match="differ from the Pipeline's"):
        compiled.check((meta, arrays), classifier.predict_proba)


def test_model_check_writes_the_form_then_finds_it_current(make_app, model: Path) -> None:
    runner = make_app().test_cli_runner()
    first = runner.invoke(args=["model", "check", "--model", str(model)])
    assert first.exit_code == 0, first.output
    assert "was missing" in first.stderr and f"written to {compiled.path_for(model)}" in first.stderr
    again = runner.invoke(args=["model", "check", "--model", str(model)])
    assert again.exit_code == 0 and f"scoring form {compiled.path_for(model)} is current" in again.stderr


def test_promote_writes_the_form_of_the_promoted_artifact(make_app, model: Path) -> None:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["model", "promote", str(model)])
    assert result.exit_code == 0, result.output
    compiled.read(compiled.path_for(model), artifact.file_sha256(model))


CHILD = """
import json, sys
from flask.cli import main
sys.argv = ["flask", "--app", "app", "score", sys.argv[1]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = ("sklearn", "scipy", "skops", "joblib", "alembic", "flask_migrate", "matplotlib")
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))), file=sys.stderr)
"""


def test_flask_score_imports_no_scikit_learn(tmp_path: Path) -> None:
    for path in (artifact.DEFAULT_MODEL, contribution.DEFAULT_MODEL):
        serving.load(path)  # the shipped forms are current (`make setup` writes them)
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"text": "hello there you idiot"}) + "\n")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
        "MODEL_RELOAD_SECONDS": "0",
        "RULES_RELOAD_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(source)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["model_version"] == artifact.read_metadata(artifact.DEFAULT_MODEL)["model_version"]
    assert verdict["scores"]["insult"] > 0.5 and "eyewitness" in verdict["scores"]
    assert verdict["contribution"]["model_version"].startswith("contrib-")
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("memo", ["roomy", "full"])
def test_words_looked_up_a_batch_at_a_time_score_as_the_pipeline(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, memo: str
) -> None:
    """A batch's new words are searched together: a word new to the batch and repeated in it,
    words with a NUL, a batch of one, no texts, and a memo that fills up (and starts afresh) all give the
    Pipeline's scores, and the same bits every time."""
    if memo == "full":
        monkeypatch.setattr(compiled, "WORD_CACHE_SIZE", 3)
        monkeypatch.setattr(compiled, "WORD_CACHE_IDS", 10)
    served = serving.load(tiny_model)
    reference = artifact.load(tiny_model)
    texts = [
        "zqx zqx zqx idiot",
        "idiot zqx",
        "a\x00b idiot a\x00b \x00 \x00\x00",
        "brand new words here, brand new",
        *TEXTS,
    ]
    first = served.predict_proba(texts)  # every word unseen
    assert np.abs(first - reference.predict_proba(texts)).max() <= 1e-6
    for _ in range(2):  # the words remembered (or, with a full memo, learned again): the same bits
        assert np.array_equal(served.predict_proba(texts), first)
        for text, row in zip(texts, first, strict=True):
            assert np.array_equal(served.predict_proba([text])[0], row)
    assert np.array_equal(served.predict_proba(texts[:2] * 3), np.vstack([first[:2]] * 3))
    assert served.predict_proba([]).shape == reference.predict_proba([]).shape == (0, len(served.categories))
    memos = [block.words for block in served.scorer.tfidf if block.analyzer == "char_wb"]
    assert memos
    served.predict_proba(["zqxw idiot"])  # one new word
    for words in memos:
        assert words.kernel  # words found and numbered in C (a batch with a NUL: in a memo aside)
        assert words.used == int(words.sizes[: len(words.known())].sum())
        if memo == "full":  # over the limit: started afresh with this batch's words
            assert words.known() == ["zqxw", "idiot"]
        else:
            aside = words.aside.known() if words.aside is not None else []
            assert {"zqx", "zqxw", "idiot", "a\x00b", "\x00"} <= {*words.known(), *aside}


def test_cells_past_32_bits_score_the_same(tiny_model: Path) -> None:
    """Without the kernel, a batch whose (row, column) cells do not fit 32 bits is counted in 64
    (a batch of over 5,000 comments with the shipped model; here a wider feature space stands in
    for it). The kernel numbers no cells: it groups each row's columns."""
    served = serving.load(tiny_model)
    texts = [*TEXTS, "you idiot, you idiot", "a\x00b"]
    expected = served.predict_proba(texts)
    served.scorer.width = 1 << 31  # (row, column) pairs are numbered rows * width + column
    assert np.array_equal(served.scorer.predict_proba(texts, kernel=False), expected)


@pytest.mark.parametrize("ngram_range", [(1, 3), (2, 3)])
def test_word_n_grams_longer_than_two_are_found_like_the_pipeline_finds_them(
    ngram_range: tuple[int, int],
) -> None:
    """Word n-grams are looked up by their tokens' numbers: a site's model with trigrams, or with
    no unigrams, scores as its Pipeline, and no n-gram runs from one comment into the next."""
    from moderation.classifier.datasets import read_corpus
    from moderation.classifier.estimators import build_pipeline
    from moderation.classifier.train import label_matrix

    examples = read_corpus(FIXTURES / "tiny_corpus")
    categories = ("toxicity", "insult", "threat")
    pipeline = build_pipeline(categories, min_df=1, calibration_folds=2)
    pipeline.set_params(features__words__ngram_range=ngram_range)
    pipeline.fit([e.text for e in examples], label_matrix(examples, categories, missing=-1))
    words = pipeline.named_steps["features"].transformer_list[0][1]
    lengths = {len(term.split()) for term in words.vocabulary_}
    assert lengths == set(range(ngram_range[0], ngram_range[1] + 1))
    form = compiled.derive(pipeline, "sha")
    samples = ["you are a complete idiot", "complete", "idiot you are", *TEXTS]
    samples += [e.text for e in examples[:5]]
    compiled.check(form, pipeline.predict_proba, samples)  # NotCompilable if any score differs
    scorer = compiled.Scorer(form)
    one_by_one = np.vstack([scorer.predict_proba([t]) for t in samples])
    assert np.array_equal(scorer.predict_proba(samples), one_by_one)


def test_character_n_grams_are_searched_as_strings_when_their_numbers_do_not_fit(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vocabulary with too many characters to pack its n-grams into 63 bits (a site's model on
    a script with thousands of characters) keeps the sorted strings and scores the same."""
    pipeline = artifact.load(tiny_model).pipeline
    numbered = compiled.derive(pipeline, "sha")
    assert any("bits" in block for block in numbered[0]["blocks"])
    monkeypatch.setattr(compiled, "_char_keys", lambda terms, longest: None)
    meta, arrays = compiled.derive(pipeline, "sha")
    assert not any("bits" in block for block in meta["blocks"])
    assert any(name.startswith("sorted") for name in arrays)
    texts = ["you idiot, zqx", "ünïcödé 🙂 words", "a\x00b", "a lone \ud800 surrogate", *TEXTS]
    compiled.check((meta, arrays), pipeline.predict_proba, texts)
    assert np.array_equal(
        compiled.Scorer((meta, arrays)).predict_proba(texts), compiled.Scorer(numbered).predict_proba(texts)
    )


def test_without_the_c_kernel_the_form_says_so_and_scores_the_same(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with_kernel = serving.load(tiny_model).predict_proba(TEXTS)
    monkeypatch.setattr(compiled, "_linear", None)
    compiled._warn_no_kernel.cache_clear()
    with caplog.at_level(logging.WARNING, logger="moderation.classifier.compiled"):
        served = serving.load(tiny_model)
    assert any("C kernel" in r.getMessage() and "make setup" in r.getMessage() for r in caplog.records)
    assert isinstance(served, compiled.CompiledClassifier)
    assert np.array_equal(served.predict_proba(TEXTS), with_kernel)
    compiled._warn_no_kernel.cache_clear()


@pytest.mark.parametrize("ngram_range", [(2, 5), (4, 6), (1, 3)])
def test_character_n_grams_of_any_range_are_found_like_the_pipeline_finds_them(
    ngram_range: tuple[int, int],
) -> None:
    """The kernel packs a word's character n-grams as scikit-learn's ``_char_wb_ngrams`` makes
    them, short words included (with n from 4, "a" is taken whole, padded: " a ")."""
    from moderation.classifier.datasets import read_corpus
    from moderation.classifier.estimators import build_pipeline
    from moderation.classifier.train import label_matrix

    assert compiled._linear is not None, "the C kernel is not built: run `make setup`"
    examples = read_corpus(FIXTURES / "tiny_corpus")
    categories = ("toxicity", "insult", "threat")
    pipeline = build_pipeline(categories, min_df=1, calibration_folds=2)
    pipeline.set_params(features__chars__ngram_range=ngram_range)
    pipeline.fit([e.text for e in examples], label_matrix(examples, categories, missing=-1))
    form = compiled.derive(pipeline, "sha")
    samples = ["a b c", "I am a", "you are a complete idiot", "zzzz qqq ü", *TEXTS]
    samples += [e.text for e in examples[:5]]
    compiled.check(form, pipeline.predict_proba, samples)  # NotCompilable if any score differs
    scorer = compiled.Scorer(form)
    chars = next(block for block in scorer.tfidf if block.analyzer == "char_wb")
    assert chars.lookup is not None  # the kernel's path, not the numpy one
    one_by_one = np.vstack([scorer.predict_proba([t]) for t in samples])
    assert np.array_equal(scorer.predict_proba(samples), one_by_one)
