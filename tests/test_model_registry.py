"""Model candidates: train never overwrites the live model; compare; promote and roll back in
every running process through the database."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, post_comment
from flask import Flask
from sqlalchemy import select

from moderation.accounts.apikeys import create_key
from moderation.classifier import artifact
from moderation.classifier.train import train_and_save
from moderation.models import AuditEntry, ModelVersion
from moderation.pipeline import Pipeline
from moderation.web.extension import services

TINY_CORPUS = FIXTURES / "tiny_corpus"


@pytest.fixture(scope="session")
def other_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second tiny classifier with another version (another C)."""
    path = tmp_path_factory.mktemp("other") / "other.skops"
    train_and_save(path, corpus_dir=TINY_CORPUS, holdout=0, C=4.0, min_df=1, progress=lambda _: None)
    return path


@pytest.fixture
def live_model(tiny_model: Path, tmp_path: Path) -> Path:
    """A copy of the tiny model serving as the configured MODERATION_MODEL."""
    path = tmp_path / "live" / "classifier.skops"
    path.parent.mkdir()
    shutil.copy(tiny_model, path)
    shutil.copy(tiny_model.with_suffix(".json"), path.with_suffix(".json"))
    return path


def version_of(path: Path) -> str:
    return artifact.read_metadata(path)["model_version"]


def health_model(app: Flask) -> dict:
    return app.test_client().get("/api/v1/health").get_json()["model"]


def wait_for(condition: Callable[[], bool], what: str, deadline: float = 60.0) -> None:
    """Wait until the polling threads caught up (the interval is short; the deadline is generous)."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def test_train_writes_a_candidate_beside_the_live_model(make_app, live_model: Path, tmp_path: Path) -> None:
    candidates = tmp_path / "candidates"
    app = make_app(MODERATION_MODEL=str(live_model), MODEL_CANDIDATES_DIR=str(candidates))
    before = artifact.file_sha256(live_model)
    args = ["model", "train", "--corpus", str(TINY_CORPUS), "--holdout", "0", "--min-df", "1", "--C", "2"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    version = result.stdout.strip()
    candidate = candidates / f"{version}.skops"
    assert candidate.is_file() and version_of(candidate) == version
    # The artifact, its sidecar and its compiled scoring form, all under the version's name.
    names = {p.name for p in candidates.iterdir()}
    assert names == {f"{version}.json", f"{version}.skops", f"{version}.scoring.npz"}
    assert artifact.file_sha256(live_model) == before  # the live model is untouched

    again = app.test_cli_runner().invoke(args=args)  # the same data and parameters: the same version
    assert again.exit_code == 0, again.output
    assert (candidates / f"{version}-2.skops").is_file()  # never over an earlier candidate
    assert artifact.file_sha256(candidate) == artifact.read_metadata(candidate)["artifact_sha256"]

    refused = app.test_cli_runner().invoke(args=[*args, "--out", str(live_model)])
    assert refused.exit_code == 1
    assert "is the live model" in refused.output
    assert artifact.file_sha256(live_model) == before


def auth_for(app: Flask, scope: str = "submit") -> dict[str, str]:
    with services(app).sessions() as session, session.begin():
        key = create_key(session, f"{scope}-{uuid.uuid4().hex[:6]}", (scope,))
    return {"Authorization": f"Bearer {key}"}


def decide(client, mod_auth: dict[str, str], cid: str, action: str) -> None:
    body = {"action": action, **({"site_rule": "be_nice"} if action == "reject" else {})}
    resp = client.post(f"/api/v1/comments/{cid}/decision", json=body, headers=mod_auth)
    assert resp.status_code == 200, resp.get_json()


DECIDED = [
    ("d1", "You are a pathetic idiot and a clown", "reject"),
    ("d2", "What a brainless moron wrote this", "reject"),
    ("d3", "Shut up, you ignorant fool", "reject"),
    ("d4", "The council meets again on Tuesday to vote on the budget", "approve"),
    ("d5", "Thanks for the clear reporting on the flood defences", "approve"),
    ("d6", "I disagree with the columnist about the tram extension", "approve"),
    ("d7", "The stupid idea of a toll road is back again", "approve"),
]


def small_recipe(tmp_path: Path) -> Path:
    """A recipe whose only source is the tiny fixture corpus (the real one reads every data set)."""
    recipe = {
        "recipe_version": 1,
        "datasets_root": str(tmp_path),
        "split": {"salt": "test-salt", "test_percent": 40, "calibration_percent": 10},
        "sources": [
            {
                "name": "corpus",
                "reader": "corpus",
                "root": "project",
                "files": [{"path": str(TINY_CORPUS / "tiny.jsonl")}],
            }
        ],
    }
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    return path


def test_compare_prints_both_models_on_decided_comments_and_evaluation_sets(
    make_app, live_model: Path, other_model: Path, tmp_path: Path
) -> None:
    app = make_app(MODERATION_MODEL=str(live_model))
    client = app.test_client()
    auth, mod_auth = auth_for(app), auth_for(app, "moderate")
    for cid, text, action in DECIDED:
        post_comment(client, auth, cid, text)
        decide(client, mod_auth, cid, action)
    post_comment(client, auth, "undecided", "Nobody decided this one")
    runner = app.test_cli_runner()
    recipe = small_recipe(tmp_path)

    result = runner.invoke(args=["model", "compare", str(other_model), "--recipe", str(recipe), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["live"] == version_of(live_model) and report["candidate"] == version_of(other_model)
    decisions = report["decisions"]
    assert decisions["n"] == len(DECIDED)  # only what moderators decided
    service = decisions["rows"]["service (whole verdict)"]
    # The same figures by hand: each model through the pipeline with the live rules.
    svc = services(app)
    texts = [text for _, text, _ in DECIDED]
    rejected = [action == "reject" for _, _, action in DECIDED]
    statuses = {}
    for name, path in (("live", live_model), ("candidate", other_model)):
        pipeline = Pipeline(svc.pipeline.rules, artifact.load(path), model_required=True)
        statuses[name] = [v.status for v in pipeline.assess_texts(texts)]
        acted = [s != "approved" for s in statuses[name]]
        hits = sum(a and r for a, r in zip(acted, rejected, strict=True))
        assert service[name]["acted"] == sum(acted)
        assert service[name]["positives"] == 3
        assert service[name]["recall"] == hits / 3
        assert service[name]["acted_rate"] == sum(acted) / len(DECIDED)
    changed = sum(a != b for a, b in zip(statuses["live"], statuses["candidate"], strict=True))
    assert decisions["changed"] == changed
    assert {"toxicity", "insult"} <= set(decisions["rows"])
    evaluation = report["evaluation_sets"]
    assert evaluation["n"] > 0 and "service (whole verdict)" in evaluation["rows"]
    assert {row["name"] for row in evaluation["budget"]["live"]} >= {"corpus_clean_acted"}

    table = runner.invoke(args=["model", "compare", str(other_model), "--recipe", str(recipe)])
    assert table.exit_code == 0, table.output
    out = table.stdout
    assert f"Comments moderators decided: {len(DECIDED)} comments" in out
    assert "| measure | n | positive | live precision | live recall | live acted on |" in out
    assert "| service (whole verdict) | 7 | 3 |" in out
    assert f"status would change on {changed} of {len(DECIDED)} comments" in out
    assert "Held-out test split of recipe.json" in out
    assert "| corpus clean + hard negatives acted on | ≤ 2.0% |" in out


def test_compare_skips_the_evaluation_sets_when_the_data_sets_are_absent(
    make_app, live_model: Path, other_model: Path, tmp_path: Path
) -> None:
    app = make_app(MODERATION_MODEL=str(live_model))
    args = ["model", "compare", str(other_model), "--datasets", str(tmp_path / "absent")]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Comments moderators decided: none yet" in result.stdout
    assert "Evaluation sets skipped: missing data file" in result.stdout


def test_compare_refuses_an_unknown_candidate(make_app, tmp_path: Path) -> None:
    app = make_app(MODEL_CANDIDATES_DIR=str(tmp_path))
    result = app.test_cli_runner().invoke(args=["model", "compare", "clf-nope"])
    assert result.exit_code == 1
    assert "no candidate 'clf-nope'" in result.output


def test_promote_and_rollback_reach_two_running_instances(
    make_app, live_model: Path, other_model: Path
) -> None:
    one = make_app(MODERATION_MODEL=str(live_model), MODEL_RELOAD_SECONDS=0.1)
    two = make_app(MODERATION_MODEL=str(live_model), MODEL_RELOAD_SECONDS=0.1)
    old, new = version_of(live_model), version_of(other_model)
    for app in (one, two):
        model = health_model(app)  # also starts the polling thread, as any request does
        assert (model["version"], model["source"], model["reload_error"]) == (old, "configured", None)

    result = one.test_cli_runner().invoke(args=["model", "promote", str(other_model), "--actor", "alice"])
    assert result.exit_code == 0, result.output
    assert f"promoted {new}" in result.stdout
    for app in (one, two):
        wait_for(lambda app=app: health_model(app)["version"] == new, f"{new} live")
        assert health_model(app)["source"] == "promoted"
    verdict = post_comment(two.test_client(), auth_for(two), "after-promote", "Thanks for the article")
    assert verdict["model_version"] == new
    three = make_app(MODERATION_MODEL=str(live_model), MODEL_RELOAD_SECONDS=0.1)  # started after it
    assert health_model(three)["version"] == new

    result = two.test_cli_runner().invoke(args=["model", "rollback", "--actor", "bob"])
    assert result.exit_code == 0, result.output
    assert "rolled back to the configured MODERATION_MODEL" in result.stdout
    for app in (one, two, three):
        wait_for(lambda app=app: health_model(app)["version"] == old, f"{old} back")
        assert health_model(app)["source"] == "configured"

    with services(one).sessions() as session:
        audit = session.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.details)
            .where(AuditEntry.action.like("model-%"))
            .order_by(AuditEntry.id)
        ).all()
        rows = session.scalars(select(ModelVersion).order_by(ModelVersion.id)).all()
    assert [(a, who) for a, who, _ in audit] == [("model-promote", "alice"), ("model-rollback", "bob")]
    assert audit[0][2]["version"] == new and audit[0][2]["sha256"] == artifact.file_sha256(other_model)
    assert [(r.action, r.version, r.promoted_by) for r in rows] == [
        ("promote", new, "alice"),
        ("rollback", None, "bob"),
    ]
    nothing = one.test_cli_runner().invoke(args=["model", "rollback"])
    assert nothing.exit_code == 1 and "nothing to roll back" in nothing.output


def test_rollback_returns_to_the_previously_promoted_model(
    make_app, tiny_model: Path, other_model: Path, tmp_path: Path
) -> None:
    app = make_app(MODERATION_MODEL="none")
    runner = app.test_cli_runner()
    live = services(app).models
    assert health_model(app)["version"] is None
    for path in (tiny_model, other_model):
        assert runner.invoke(args=["model", "promote", str(path)]).exit_code == 0
    live.check()
    assert live.version == version_of(other_model)
    assert runner.invoke(args=["model", "rollback"]).exit_code == 0
    live.check()
    assert live.version == version_of(tiny_model)
    assert runner.invoke(args=["model", "rollback"]).exit_code == 0
    live.check()
    assert live.version is None and health_model(app)["required"] is False  # back to rules alone
    newest = runner.invoke(args=["model", "history"]).stdout.splitlines()[0].split("\t")
    assert newest[2] == "rollback" and newest[3].startswith("cli:")
    assert newest[4] == "configured MODERATION_MODEL"


def test_a_promoted_artifact_that_will_not_load_leaves_the_old_model_serving(
    make_app, live_model: Path, other_model: Path, tmp_path: Path
) -> None:
    app = make_app(MODERATION_MODEL=str(live_model))
    copy = tmp_path / "candidate.skops"
    shutil.copy(other_model, copy)
    shutil.copy(other_model.with_suffix(".json"), copy.with_suffix(".json"))
    assert app.test_cli_runner().invoke(args=["model", "promote", str(copy)]).exit_code == 0
    copy.write_bytes(copy.read_bytes()[:-10] + b"0123456789")  # not the bytes that were promoted
    live = services(app).models
    assert live.check() is False
    model = health_model(app)
    assert model["version"] == version_of(live_model)  # the old model keeps serving
    assert "sha256 differs" in model["reload_error"]
    assert app.test_client().get("/api/v1/health").get_json()["status"] == "ok"
    # A process starting now serves its configured model and says why.
    fresh = make_app(MODERATION_MODEL=str(live_model))
    assert health_model(fresh)["version"] == version_of(live_model)
    assert "not loaded" in health_model(fresh)["reload_error"]
    # Put the right bytes back: the next check takes it.
    shutil.copy(other_model, copy)
    assert live.check() is True
    assert health_model(app)["version"] == version_of(other_model)
    assert health_model(app)["reload_error"] is None


def test_promote_refuses_an_artifact_that_does_not_match_its_sidecar(
    make_app, other_model: Path, tmp_path: Path
) -> None:
    app = make_app()
    copy = tmp_path / "broken.skops"
    copy.write_bytes(other_model.read_bytes()[:-10] + b"0123456789")
    shutil.copy(other_model.with_suffix(".json"), copy.with_suffix(".json"))
    result = app.test_cli_runner().invoke(args=["model", "promote", str(copy)])
    assert result.exit_code == 1
    assert "not promoted" in result.output
    with services(app).sessions() as session:
        assert session.scalar(select(ModelVersion.id)) is None


def test_model_commands_work_on_the_promoted_model_by_default(
    make_app, live_model: Path, other_model: Path
) -> None:
    """`flask model info` (like evaluate, calibrate and check) without --model reads the model
    that is live: the promoted one once there is one, the configured one before and after."""
    app = make_app(MODERATION_MODEL=str(live_model))
    runner = app.test_cli_runner()

    def info_version() -> str:
        result = runner.invoke(args=["model", "info"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["model_version"]

    assert info_version() == version_of(live_model)
    assert runner.invoke(args=["model", "promote", str(other_model)]).exit_code == 0
    services(app).models.check()
    assert info_version() == version_of(other_model)
    assert runner.invoke(args=["model", "rollback"]).exit_code == 0
    services(app).models.check()
    assert info_version() == version_of(live_model)
