"""Smoke test of the artifact `make setup` builds from the shipped corpus, with the shipped rules."""

from __future__ import annotations

import pytest

from moderation.classifier import artifact
from moderation.config import PROJECT_ROOT
from moderation.decide import Decider
from moderation.rules import load_rules


@pytest.fixture(scope="module")
def decider() -> Decider:
    if not artifact.DEFAULT_MODEL.exists():
        pytest.fail(f"{artifact.DEFAULT_MODEL} is missing: `make setup` builds it")
    return Decider(
        load_rules(PROJECT_ROOT / "rules.yaml"), artifact.load(artifact.DEFAULT_MODEL), model_required=True
    )


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("You are a pathetic, brainless idiot and everyone knows it.", "insult"),
        ("People like you should be lined up against a wall.", "threat"),
        ("Someone needs to pay the editor a visit at home. We know the address.", "threat"),
        ("Immigrants are vermin and should be thrown out like rubbish.", "identity_attack"),
        ("Nice tits, sweetheart, come and sit on my lap.", "sexual"),
        ("What a load of f***ing sh1te, the whole council is corrupt scum.", "obscene"),
    ],
)
def test_clear_cases_are_caught(decider: Decider, text: str, category: str) -> None:
    verdict = decider.decide(text)
    assert verdict.status != "approved", verdict.scores
    assert verdict.scores[category] >= 0.5, verdict.scores


@pytest.mark.parametrize(
    "text",
    [
        "Russia has massed 100,000 troops near Ukraine; an invasion would kill thousands of civilians.",
        "The gunman killed three people before police shot him, the coroner heard.",
        "This bill will kill small businesses across the county.",
        "As a gay veteran I think the new policy on service records is long overdue.",
        "My Muslim neighbours were the first to bring food after the flood.",
        "I strongly disagree with the mayor: the bypass figures simply do not add up.",
        "I was on the bridge when the bus stopped; people were running and screaming.",
        "Damn, what a result for the home side after that first half.",
        "The trial of the man accused of murdering his neighbour opens on Monday.",
        "Jewish community leaders condemned the vandalism at the cemetery.",
    ],
)
def test_hard_negatives_are_approved(decider: Decider, text: str) -> None:
    verdict = decider.decide(text)
    assert verdict.status == "approved", (verdict.scores, verdict.reasons)


def test_artifact_metadata_describes_the_shipped_corpus() -> None:
    from moderation.classifier.datasets import corpus_files, files_sha256

    meta = artifact.read_metadata(artifact.DEFAULT_MODEL)
    assert meta["corpus"]["sha256"] == files_sha256(corpus_files())
    assert meta["n_train"] >= 6000
