"""The classifier inside the service: scores in verdicts, and holding when it cannot score."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES
from flask import Flask

from moderation.categories import SCORED_CATEGORIES
from moderation.web.extension import services

COMMENT = {"id": "m1", "text": "Thanks for the clear reporting on the budget", "author": {"id": "u1"}}


def _key(app: Flask) -> dict[str, str]:
    from moderation.accounts.apikeys import create_key

    with services(app).sessions() as session, session.begin():
        return {"Authorization": f"Bearer {create_key(session, 'k')}"}


def test_verdicts_carry_scores_and_model_version(make_app, tiny_model: Path) -> None:
    app = make_app(MODERATION_MODEL=str(tiny_model))
    client, auth = app.test_client(), _key(app)
    body = client.post("/api/v1/comments", json=COMMENT, headers=auth).get_json()
    assert set(body["scores"]) == set(SCORED_CATEGORIES)
    assert body["model_version"].startswith("clf-")
    assert client.get("/api/v1/comments/m1", headers=auth).get_json()["scores"] == body["scores"]
    health = client.get("/api/v1/health").get_json()
    assert health["status"] == "ok"
    assert health["model"]["loaded"] and health["model"]["version"] == body["model_version"]


def test_score_thresholds_in_rules_act_on_scores(make_app, tiny_model: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "site_rules: {nice: Be Nice}\nrules:\n"
        "  - {id: ml-insult, site_rule: nice, category: insult, action: hold,\n"
        "     when: {score: {insult: {gte: 0.5}}}}\n"
    )
    app = make_app(MODERATION_MODEL=str(tiny_model), MODERATION_RULES=str(rules))
    client, auth = app.test_client(), _key(app)
    rude = client.post(
        "/api/v1/score", json={"text": "you pathetic brainless idiot"}, headers=auth
    ).get_json()
    assert rude["scores"]["insult"] >= 0.5
    assert rude["status"] == "pending"
    assert rude["matches"][0]["rule"] == "ml-insult" and rude["matches"][0]["start"] is None
    polite = client.post("/api/v1/score", json={"text": COMMENT["text"]}, headers=auth).get_json()
    assert polite["status"] == "approved"


def test_missing_model_holds_comments_and_health_says_so(make_app, tmp_path: Path) -> None:
    app = make_app(MODERATION_MODEL=str(tmp_path / "missing.skops"))
    client, auth = app.test_client(), _key(app)
    body = client.post("/api/v1/comments", json=COMMENT, headers=auth).get_json()
    assert body["status"] == "pending" and body["visible"] is False
    assert "classifier-unavailable" in {m["rule"] for m in body["matches"]}
    health = client.get("/api/v1/health")
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded"
    assert "no model" in health.get_json()["model"]["error"]


def test_corrupt_model_holds_but_rejections_stand(make_app, tiny_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.skops"
    broken.write_bytes(b"\x00garbage")
    broken.with_suffix(".json").write_text(tiny_model.with_suffix(".json").read_text())
    app = make_app(MODERATION_MODEL=str(broken))
    client, auth = app.test_client(), _key(app)
    assert (
        client.post("/api/v1/score", json={"text": "hello"}, headers=auth).get_json()["status"] == "pending"
    )
    assert (
        client.post("/api/v1/score", json={"text": "f*ck you"}, headers=auth).get_json()["status"]
        == "rejected"
    )


def test_scoring_failure_holds_instead_of_500(make_app, tiny_model: Path) -> None:
    app = make_app(MODERATION_MODEL=str(tiny_model))
    pipeline = services(app).pipeline

    class Exploding:
        version = "boom"

        def score(self, texts):  # type: ignore[no-untyped-def]
            raise MemoryError("out of memory")

    pipeline.scorer = Exploding()
    resp = app.test_client().post("/api/v1/comments", json=COMMENT, headers=_key(app))
    assert resp.status_code == 201
    assert resp.get_json()["status"] == "pending"


def test_flask_model_train_with_jigsaw_data_and_evaluate(make_app, tmp_path: Path) -> None:
    jigsaw = tmp_path / "extra.csv"
    rows = ["id,comment_text,toxic,severe_toxic,obscene,threat,insult,identity_hate"]
    rows += [f'{i},"you worthless troll number {i}",1,0,0,0,1,0' for i in range(6)]
    rows += [f'{i + 10},"the citation for section {i} is fixed",0,0,0,0,0,0' for i in range(6)]
    jigsaw.write_text("\n".join(rows) + "\n")
    out = tmp_path / "m.skops"
    runner = make_app().test_cli_runner()
    result = runner.invoke(
        args=[
            "model",
            "train",
            "--data",
            str(jigsaw),
            "--out",
            str(out),
            "--holdout",
            "0",
            "--corpus",
            str(FIXTURES / "tiny_corpus"),
            "--min-df",
            "1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "extra data: 12 comments" in result.stderr
    assert "fitting insult" in result.stderr
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["n_train"] == 56 + 12
    assert meta["extra_data"][0]["rows"] == 12
    assert meta["training_command"].startswith("flask model train --data")

    plot = tmp_path / "curves.png"
    evaluated = runner.invoke(
        args=[
            "model",
            "evaluate",
            "--data",
            str(FIXTURES / "tiny_corpus" / "tiny.jsonl"),
            "--model",
            str(out),
            "--plot",
            str(plot),
        ]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "ROC-AUC" in evaluated.stdout and "insult" in evaluated.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    as_json = runner.invoke(
        args=["model", "evaluate", "--data", str(jigsaw), "--model", str(out), "--plot", str(plot), "--json"]
    )
    metrics = json.loads(as_json.stdout)["metrics"]
    assert metrics["toxicity"]["roc_auc"] == 1.0
    assert "sexual" not in metrics  # Jigsaw does not label it


def test_training_learns_from_moderators_decisions(make_app, tmp_path: Path) -> None:
    app = make_app()
    client = app.test_client()
    from moderation.accounts.apikeys import create_key

    with services(app).sessions() as session, session.begin():
        submit = {"Authorization": f"Bearer {create_key(session, 's')}"}
        mods = {"Authorization": f"Bearer {create_key(session, 'm', ('moderate',))}"}
    texts = {
        "d1": "You are a total moron",
        "d2": "You utter clown, nobody asked",
        "d3": "I know where you live",
    }
    for cid, text in texts.items():
        client.post("/api/v1/comments", json={"id": cid, "text": text, "author": {"id": "u"}}, headers=submit)
    client.post(
        "/api/v1/comments/d1/decision", json={"action": "reject", "site_rule": "be_nice"}, headers=mods
    )
    client.post("/api/v1/comments/d2/decision", json={"action": "approve"}, headers=mods)

    from moderation.classifier.from_decisions import decision_examples

    with services(app).sessions() as session:
        examples = {e.text: e.labels for e in decision_examples(session)}
    assert examples["You are a total moron"]["toxicity"] == 1
    assert examples["You are a total moron"]["insult"] == 1  # from the verdict's matches
    assert examples["You utter clown, nobody asked"] == dict.fromkeys(SCORED_CATEGORIES, 0)
    assert "I know where you live" not in examples  # undecided

    out = tmp_path / "m.skops"
    result = app.test_cli_runner().invoke(
        args=[
            "model",
            "train",
            "--from-decisions",
            "--out",
            str(out),
            "--holdout",
            "0",
            "--corpus",
            str(FIXTURES / "tiny_corpus"),
            "--min-df",
            "1",
        ]
    )
    assert result.exit_code == 0, result.output
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["n_train"] == 56 + 2
    assert {"path": "moderators' decisions", "rows": 2} in meta["extra_data"]
    assert "--from-decisions" in meta["training_command"]
