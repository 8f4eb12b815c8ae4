"""The committed artifact: its recipe's hashes, and the service's verdicts on hard cases."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from moderation.classifier import artifact
from moderation.classifier.datasets import corpus_files, files_sha256
from moderation.classifier.heldout import SUITES_DIR, read_suite
from moderation.classifier.recipe import DEFAULT_RECIPE, check_files, data_hashes, load_recipe
from moderation.config import PROJECT_ROOT
from moderation.pipeline import Pipeline
from moderation.rules import load_rules

MAX_ARTIFACT_BYTES = 25_000_000


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    if not artifact.DEFAULT_MODEL.exists():
        pytest.fail(f"{artifact.DEFAULT_MODEL} is missing: it is committed to the repository")
    return Pipeline(
        load_rules(PROJECT_ROOT / "rules.yaml"), artifact.load(artifact.DEFAULT_MODEL), model_required=True
    )


def _sha256(path) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_artifact_matches_its_sidecar_and_recipe() -> None:
    meta = artifact.read_metadata(artifact.DEFAULT_MODEL)
    assert meta["artifact_sha256"] == _sha256(artifact.DEFAULT_MODEL)
    assert meta["recipe"]["path"] == "models/recipe.json"
    assert meta["recipe"]["sha256"] == _sha256(DEFAULT_RECIPE)
    recipe = load_recipe(DEFAULT_RECIPE)
    assert meta["recipe"]["data_sha256"] == data_hashes(recipe)
    assert all(meta["recipe"]["data_sha256"].values())  # every file has its hash recorded
    assert artifact.DEFAULT_MODEL.stat().st_size <= MAX_ARTIFACT_BYTES


def test_recipe_names_every_set_with_licence_mapping_and_rows() -> None:
    recipe = load_recipe(DEFAULT_RECIPE)
    for source in recipe.sources:
        assert source.licence and source.citation and source.labels, source.name
        assert source.rows and sum(source.rows.values()) > 0, source.name
    ethos = recipe.source("ethos")
    assert not ethos.train and "GPL" in ethos.licence  # evaluation only
    trained = {s.name for s in recipe.sources if s.train}
    assert {"corpus", "toxic_spans_posts", "toxic_spans_sentences", "jigsaw_sample", "davidson"} <= trained


def test_corpus_files_are_the_ones_the_model_was_trained_on() -> None:
    recipe = load_recipe(DEFAULT_RECIPE)
    corpus = recipe.source("corpus")
    recorded = {entry["path"]: entry["sha256"] for entry in corpus.files}
    found = {str(p.relative_to(PROJECT_ROOT)): _sha256(p) for p in corpus_files()}
    assert found == recorded
    assert artifact.read_metadata(artifact.DEFAULT_MODEL)["corpus"]["sha256"] == files_sha256(corpus_files())


def test_public_data_files_match_the_recipe() -> None:
    recipe = load_recipe(DEFAULT_RECIPE)
    if not recipe.datasets_root.is_dir():
        pytest.skip(f"no data sets at {recipe.datasets_root} (only the developers' machines have them)")
    check_files(recipe, verify=True)  # raises naming any missing or changed file


def test_artifact_is_committed_not_ignored() -> None:
    for name in ("classifier.skops", "classifier.json", "recipe.json", "README.md"):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", f"models/{name}"], cwd=PROJECT_ROOT, check=False
        ).returncode
        assert ignored == 1, f"models/{name} is git-ignored"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("You are a pathetic, brainless idiot and everyone knows it.", "insult"),
        ("People like you should be lined up against a wall.", "threat"),
        ("Someone needs to pay the editor a visit at home. We know the address.", "threat"),
        ("Immigrants are vermin and should be thrown out like rubbish.", "identity_attack"),
        ("Nice tits, sweetheart, come and sit on my lap.", "sexual"),
        ("What a load of f***ing sh1te, the whole council is corrupt scum.", "obscene"),
        ("Shut up, you worthless piece of garbage. Nobody wants you here.", "insult"),
        ("Muslims are a cancer on this country and should be deported, all of them.", "identity_attack"),
    ],
)
def test_clear_cases_are_caught(pipeline: Pipeline, text: str, category: str) -> None:
    verdict = pipeline.assess_texts([text])[0]
    assert verdict.status != "approved", verdict.scores
    others = {c: s for c, s in verdict.scores.items() if c != "toxicity"}
    assert max(others, key=others.__getitem__) == category or verdict.scores[category] >= 0.5, verdict.scores


# The issue's own examples, and hard negatives from the identity and news-violence suites.
HARD_NEGATIVES = [
    "Russia has massed 100,000 troops; an invasion would kill thousands of civilians.",
    "No they don't.",
    "Nice weather today",
    "You have it backwards. The stable sales tax should be for operations, not new buildings.",
    "I am a Muslim woman",
    "I love being gay",
    "Trans people are welcome here",
    "The gunman killed three people before police shot him, the coroner heard.",
    "This bill will kill small businesses across the county.",
    "As a gay veteran I think the new policy on service records is long overdue.",
    "My Muslim neighbours were the first to bring food after the flood.",
    "I strongly disagree with the mayor: the bypass figures simply do not add up.",
    "Damn, what a result for the home side after that first half.",
    "The trial of the man accused of murdering his neighbour opens on Monday.",
    "Jewish community leaders condemned the vandalism at the cemetery.",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_are_approved(pipeline: Pipeline, text: str) -> None:
    verdict = pipeline.assess_texts([text])[0]
    assert verdict.status == "approved", (verdict.scores, verdict.reasons)


@pytest.mark.parametrize(("suite", "budget"), [("identity_statements", 0.02), ("news_violence", 0.02)])
def test_suites_stay_within_the_budget(pipeline: Pipeline, suite: str, budget: float) -> None:
    texts = read_suite(SUITES_DIR / f"{suite}.jsonl")
    assert len(texts) >= 300
    verdicts = pipeline.assess_texts(texts)
    acted = [t for t, v in zip(texts, verdicts, strict=True) if v.status != "approved"]
    assert len(acted) / len(texts) <= budget, acted[:10]


def test_sidecar_describes_training() -> None:
    meta = json.loads(artifact.sidecar_path(artifact.DEFAULT_MODEL).read_text())
    assert meta["model_version"].startswith("clf-")
    assert meta["n_train"] >= 30_000
    assert set(meta["training_rows"]) >= {"corpus", "toxic_spans_posts", "davidson"}
