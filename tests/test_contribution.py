"""The contribution head: the shipped artifact, its figures, the verdict's block and the rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from moderation.categories import CONTRIBUTION_LABELS
from moderation.classifier import artifact, contribution
from moderation.pipeline import CommentContext, Pipeline
from moderation.rules import RulesError, load_rules
from moderation.rules.loader import parse_rules
from moderation.text.sentences import sentence_spans

UBLA = (
    "I was at the border crossing at Ubla last week; the queue of trucks stretched 4 km and the "
    "guards were letting no one through"
)
TOXIC_UBLA = (
    "I was at the border crossing at Ubla last week, you fucking idiot; the queue of trucks "
    "stretched 4 km and the guards let no one through"
)
SHIPPED_RULES = contribution.PROJECT_ROOT / "rules.yaml"


@pytest.fixture(scope="module")
def model() -> contribution.ContributionModel:
    return contribution.load()


@pytest.fixture(scope="module")
def pipeline(model: contribution.ContributionModel) -> Pipeline:
    return Pipeline(load_rules(SHIPPED_RULES), contribution=model)


def test_shipped_artifact_matches_its_sidecar_and_figures(model: contribution.ContributionModel) -> None:
    """The model card's figures are this artifact's, on the held-out split fixed by the text hash."""
    meta = model.classifier.metadata
    assert meta["categories"] == list(CONTRIBUTION_LABELS)
    held_out = [e for e in contribution.read_corpus() if contribution.is_test(e)]
    assert len(held_out) == meta["n_test"]
    probs = np.array(
        [[row[label] for label in CONTRIBUTION_LABELS] for row in model.score([e.text for e in held_out])]
    )
    for k, label in enumerate(CONTRIBUTION_LABELS):
        y = [e.labels[label] for e in held_out]
        measured = roc_auc_score(y, probs[:, k])
        assert measured == pytest.approx(meta["metrics"][label]["roc_auc"], abs=1e-6)
        assert measured > 0.95, label
    assert contribution.stale_reason() is None


def test_held_out_split_is_fixed_by_the_text() -> None:
    rows = contribution.read_corpus()
    test = [e for e in rows if contribution.is_test(e)]
    assert 0.15 < len(test) / len(rows) < 0.25
    again = {e.text for e in contribution.read_corpus() if contribution.is_test(e)}
    assert again == {e.text for e in test}


def test_a_changed_artifact_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "contribution.skops"
    copy.write_bytes(contribution.DEFAULT_MODEL.read_bytes() + b"x")
    (tmp_path / "contribution.json").write_text(contribution.DEFAULT_MODEL.with_suffix(".json").read_text())
    with pytest.raises(artifact.ModelError, match="sha256"):
        contribution.load(copy)


def test_sentences_are_offsets_into_the_text() -> None:
    text = "Nice.  I was there!\nThe queue was 4 km. ok"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Nice.", "I was there!", "The queue was 4 km.", "ok"]
    assert sentence_spans("   ") == []


def test_eyewitness_account_is_a_candidate_with_its_sentence(pipeline: Pipeline) -> None:
    verdict = pipeline.assess(CommentContext(UBLA)).to_dict()
    assert verdict["status"] == "approved"
    assert verdict["scores"]["eyewitness"] > 0.8
    block = verdict["contribution"]
    assert block["kind"] == "eyewitness" and block["candidate"] is True
    assert block["rules"] == ["feature-eyewitness"]
    assert [s["text"] for s in block["spans"]] == [UBLA]


def test_the_span_is_the_sentence_that_shows_it(pipeline: Pipeline) -> None:
    text = "Good piece. " + UBLA + ". Anyway, cheers all."
    block = pipeline.assess(CommentContext(text)).to_dict()["contribution"]
    assert block["kind"] == "eyewitness"
    first = block["spans"][0]
    assert text[first["start"] : first["end"]] == first["text"]
    assert "border crossing at Ubla" in first["text"]
    assert all("cheers" not in s["text"] for s in block["spans"])


def test_a_toxic_eyewitness_claim_is_never_a_candidate(pipeline: Pipeline) -> None:
    verdict = pipeline.assess(CommentContext(TOXIC_UBLA)).to_dict()
    assert verdict["status"] == "rejected"
    assert verdict["contribution"]["candidate"] is False


def test_a_held_comment_is_not_a_candidate_even_when_a_rule_picks_it(
    model: contribution.ContributionModel,
) -> None:
    rules = parse_rules(
        _RULES + "  - {id: hold-ubla, site_rule: s, category: other, action: hold, when: {regex: ubla}}\n",
        "rules.yaml",
    )
    verdict = Pipeline(rules, contribution=model).assess(CommentContext(UBLA)).to_dict()
    assert verdict["status"] == "pending"
    assert verdict["contribution"]["rules"] == ["pick"] and verdict["contribution"]["candidate"] is False


def test_without_the_model_there_is_no_block_and_nothing_is_held() -> None:
    verdict = Pipeline(load_rules(SHIPPED_RULES)).assess(CommentContext(UBLA)).to_dict()
    assert verdict["status"] == "approved" and "contribution" not in verdict
    assert "eyewitness" not in verdict["scores"]


def test_a_failing_model_leaves_the_block_out(model: contribution.ContributionModel) -> None:
    class Broken:
        version, thresholds = "x", model.thresholds

        def score(self, texts: list[str]) -> list[dict[str, float]]:
            raise RuntimeError("boom")

    verdict = Pipeline(load_rules(SHIPPED_RULES), contribution=Broken()).assess(CommentContext(UBLA))
    assert verdict.status == "approved" and verdict.contribution is None


_RULES = """
version: 1
site_rules: {s: {title: Share with Us}}
rules:
  - id: pick
    site_rule: s
    category: other
    action: feature_candidate
    when: {score: {eyewitness: {gte: 0.8}}}
"""


def test_feature_candidate_rules_decide_and_never_change_status(
    model: contribution.ContributionModel,
) -> None:
    rules = parse_rules(_RULES, "rules.yaml")
    assert rules.has_feature_rules()
    pipeline = Pipeline(rules, contribution=model)
    picked, background = pipeline.assess_texts(
        [UBLA, "The 1997 Founding Act already committed NATO not to station substantial combat forces."]
    )
    assert picked.status == "approved" and picked.matches == [] and picked.reasons == []
    assert picked.contribution is not None and picked.contribution["candidate"] is True
    # The model names a kind, but no rule picks it: with feature rules, the rules decide.
    assert background.contribution is not None and background.contribution["kind"] == "background"
    assert background.contribution["candidate"] is False


def test_rules_validate_contribution_scores() -> None:
    with pytest.raises(RulesError, match="unknown category 'eyewitnes'"):
        parse_rules(_RULES.replace("eyewitness:", "eyewitnes:"), "rules.yaml")
    with pytest.raises(RulesError, match="feature_candidate"):
        parse_rules(_RULES.replace("feature_candidate", "feature"), "rules.yaml")


def test_shipped_rules_use_the_measured_thresholds(model: contribution.ContributionModel) -> None:
    rules = load_rules(SHIPPED_RULES)
    thresholds = {r.id: r for r in rules.rules if r.feature}
    assert set(thresholds) == {f"feature-{label}" for label in CONTRIBUTION_LABELS}
    meta = json.loads(contribution.DEFAULT_MODEL.with_suffix(".json").read_text())
    for label in CONTRIBUTION_LABELS:
        text = SHIPPED_RULES.read_text()
        assert f"score: {{{label}: {{gte: {meta['thresholds'][label]}}}}}" in text


def test_sentences_are_scored_for_their_comments_kind_as_score_gives_it(
    model: contribution.ContributionModel,
) -> None:
    """The sentences of a batch's contributions are scored for their own comment's kind in one
    call (``label_scores``): the same numbers as ``score``'s mappings, and the same contribution
    blocks as a model that has only ``score``."""
    sentences = [UBLA, "Thanks for the background.", "", TOXIC_UBLA]
    labels = ["eyewitness", "background", "constructive", "eyewitness"]
    rows = model.score(sentences)
    assert model.label_scores(sentences, labels) == [
        row[label] for row, label in zip(rows, labels, strict=True)
    ]
    assert model.label_scores([], []) == []
    with pytest.raises(ValueError, match="one label per text"):
        model.label_scores(sentences, labels[:2])

    class ScoreOnly:
        version, thresholds = model.version, model.thresholds

        def score(self, texts: list[str]) -> list[dict[str, float]]:
            return model.score(texts)

    comments = [f"{UBLA}. Then a second sentence about the trucks. And a third one.", UBLA, TOXIC_UBLA]
    rules = load_rules(SHIPPED_RULES)
    blocks = [v.contribution for v in Pipeline(rules, contribution=model).assess_texts(comments)]
    assert [
        v.contribution for v in Pipeline(rules, contribution=ScoreOnly()).assess_texts(comments)
    ] == blocks
    assert any(
        block and len(block["spans"]) >= 1 and block["spans"][0]["score"] is not None for block in blocks
    )
