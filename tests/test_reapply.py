"""`flask rules reapply`: new rules reach recent comments no moderator has decided, with webhooks."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import count_rows, post_comment

from moderation.accounts.apikeys import create_key
from moderation.pipeline import ParallelPipeline
from moderation.web.extension import services
from moderation.workflow.reapply import reapply_rules

RULES = """\
site_rules: {clean: Keep it Clean}
rules:
  - {id: words, site_rule: clean, category: obscene, action: reject, when: {words: [WORD]}}
"""


def _app_and_keys(make_app, rules: Path, **config: str) -> tuple:
    """An app on the rules file, with a submit key's and a moderation key's headers."""
    app = make_app(MODERATION_RULES=str(rules), RULES_RELOAD_SECONDS=0, **config)
    with services(app).sessions() as session, session.begin():
        submit = {"Authorization": f"Bearer {create_key(session, 's')}"}
        mods = {"Authorization": f"Bearer {create_key(session, 'm', ('moderate',))}"}
    return app, submit, mods


def test_reapply_after_a_rules_change(make_app, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("WORD", "frak"))
    app, submit, mods = _app_and_keys(make_app, rules, WEBHOOK_URL="http://127.0.0.1:9/h", WEBHOOK_SECRET="s")
    client = app.test_client()
    post_comment(client, submit, "c1", "what a gorram mess")
    post_comment(client, submit, "c2", "gorram again, decided by a person")
    post_comment(client, submit, "c3", "nothing to see")
    client.post("/api/v1/comments/c2/decision", json={"action": "approve"}, headers=mods)
    rules.write_text(RULES.replace("WORD", "gorram"))

    runner = app.test_cli_runner()
    dry = runner.invoke(args=["rules", "reapply", "--dry-run"])
    assert dry.exit_code == 0 and dry.stdout.splitlines() == ["c1\tapproved -> rejected"]
    assert client.get("/api/v1/comments/c1", headers=submit).get_json()["status"] == "approved"

    done = runner.invoke(args=["rules", "reapply"])
    assert done.exit_code == 0, done.output
    assert "checked 2, changed 1" in done.stderr  # c2 was decided by a moderator: left alone
    body = client.get("/api/v1/comments/c1", headers=submit).get_json()
    assert (body["status"], body["visible"], body["matches"][0]["text"]) == ("rejected", False, "gorram")
    audit = client.get("/api/v1/comments/c1/audit", headers=mods).get_json()["entries"]
    assert audit[-1]["action"] == "rules-reapply" and audit[-1]["actor"].startswith("rules:")
    assert count_rows(app, "webhook_deliveries") == 1  # c1's rejection (c2's approval changed nothing)
    with services(app).sessions() as session:
        from sqlalchemy import text

        body = json.loads(session.execute(text("SELECT body FROM webhook_deliveries")).scalar_one())
    assert (body["comment"]["id"], body["previous_status"], body["comment"]["status"]) == (
        "c1",
        "approved",
        "rejected",
    )
    assert runner.invoke(args=["rules", "reapply"]).stderr.strip().endswith("changed 0")
    author = client.get("/api/v1/authors/u1", headers=mods).get_json()
    assert author["rejected_count"] == 1


def test_a_decision_made_while_the_rules_run_stands(make_app, tmp_path: Path, monkeypatch) -> None:
    # A moderator approves c1 (on another connection, committed) after reapply read it and while
    # the new rules score it: the moderator's decision stands; only c2 is changed by reapply.
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("WORD", "frak"))
    app, submit, mods = _app_and_keys(make_app, rules)
    client = app.test_client()
    post_comment(client, submit, "c1", "what a gorram mess")
    post_comment(client, submit, "c2", "gorram, and nobody decides this one")
    rules.write_text(RULES.replace("WORD", "gorram"))
    svc = services(app)
    scored = ParallelPipeline.run

    def score_while_a_moderator_decides(self: ParallelPipeline, contexts: list) -> list:
        verdicts = scored(self, contexts)
        decided = client.post("/api/v1/comments/c1/decision", json={"action": "approve"}, headers=mods)
        assert decided.status_code == 200, decided.get_json()
        return verdicts

    monkeypatch.setattr(ParallelPipeline, "run", score_while_a_moderator_decides)
    result = reapply_rules(svc.sessions, svc.pipeline, svc.notify, since_hours=24)
    assert result.changed == [("c2", "approved", "rejected")]
    assert client.get("/api/v1/comments/c1", headers=submit).get_json()["status"] == "approved"
    audit = client.get("/api/v1/comments/c1/audit", headers=mods).get_json()["entries"]
    assert audit[-1]["action"] == "approve"
    assert client.get("/api/v1/comments/c2", headers=submit).get_json()["status"] == "rejected"
