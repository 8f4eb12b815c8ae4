"""Replay before going live: `flask rules test` and workflow.replay change nothing and say what would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from conftest import TABLES, post_comment
from flask import Flask
from sqlalchemy import text, update

from moderation.accounts.apikeys import create_key
from moderation.models import Comment, utcnow
from moderation.pipeline import Pipeline
from moderation.rules import parse_rules
from moderation.web.extension import services
from moderation.workflow.replay import replay
from moderation.workflow.submission import NewComment, get_comment, submit_comment

LIVE = """\
site_rules: {clean: Keep it Clean}
rules:
  - {id: frak, site_rule: clean, category: obscene, action: reject, when: {words: [frak]}}
  - {id: darn, site_rule: clean, category: obscene, action: flag, when: {words: [darn]}}
"""
CANDIDATE = """\
site_rules: {clean: Keep it Clean}
rules:
  - {id: frak, site_rule: clean, category: obscene, action: reject, when: {words: [frak]}}
  - {id: gorram, site_rule: clean, category: obscene, action: reject, when: {words: [gorram]}}
  - {id: calm, site_rule: clean, category: other, action: flag, mode: shadow, when: {words: [calm]}}
"""


def snapshot(app: Flask) -> dict[str, list]:
    """Every row of every table."""
    with services(app).sessions() as session:
        return {
            table: [tuple(row) for row in session.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in TABLES.split(", ")
        }


def seeded(make_app, tmp_path: Path) -> Flask:
    """Comments of each kind, some decided by moderators."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(LIVE)
    app = make_app(MODERATION_RULES=str(rules), WEBHOOK_URL="http://127.0.0.1:9/h", WEBHOOK_SECRET="s")
    with services(app).sessions() as session, session.begin():
        submit = {"Authorization": f"Bearer {create_key(session, 'site')}"}
        mods = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
    client = app.test_client()
    texts = {
        "d1": "darn it",
        "d2": "darn again",
        "d3": "darn, said the   reader\nover two lines",
        "d4": "darn once more",
        "g1": "what a gorram mess",
        "g2": "gorram it",
        "g3": "gorram again",
        "k1": "all calm here",
        "k2": "calm and kind",
        "f1": "frak",
    }
    for n, (cid, body) in enumerate(texts.items()):
        post_comment(client, submit, cid, body, author=f"u{n}")
    decisions = {
        "d1": "approve",
        "d2": "approve",
        "d3": "reject",
        "g1": "reject",
        "g2": "reject",
        "k1": "approve",
    }
    for cid, action in decisions.items():
        body = {"action": action, "site_rule": "clean"} if action == "reject" else {"action": action}
        assert client.post(f"/api/v1/comments/{cid}/decision", json=body, headers=mods).status_code == 200
    return app


def test_flask_rules_test_prints_what_would_change_and_changes_nothing(make_app, tmp_path: Path) -> None:
    app = seeded(make_app, tmp_path)
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE)
    before = snapshot(app)

    result = app.test_cli_runner().invoke(
        args=["rules", "test", str(candidate), "--since", "7d", "--sample", "3"]
    )

    assert result.exit_code == 0, result.output
    assert snapshot(app) == before
    out = result.stdout
    assert "Replayed 10 comments from the last 7d" in out and "7 would change status." in out
    lines = [line.split() for line in out.splitlines()]
    assert ["flagged", "->", "approved", "4"] in lines
    assert ["approved", "->", "rejected", "3"] in lines
    assert ["approved", "->", "approved", "2", "(unchanged)"] in lines
    assert ["rejected", "->", "rejected", "1", "(unchanged)"] in lines
    assert ["+", "gorram", "(reject)", "3"] in lines and ["-", "darn", "(flag)", "4"] in lines
    assert ["calm", "2", "hits"] in lines
    # d3 (rejected by a moderator) loses its flag; g1 and g2 (rejected) gain one.
    assert "of 3 comments moderators rejected: rules in force act on 1 (33%), candidate on 2 (67%)" in out
    # d1 and d2 (approved) lose their flag; k1 (approved) was and stays untouched.
    assert "of 3 comments moderators approved: rules in force act on 2 (67%), candidate on 0 (0%)" in out
    sample = out.split("Sample of changed comments (first 3):\n")[1].splitlines()
    assert len(sample) == 6  # a line of id and transition, a line of excerpt, three times
    assert sample[0].split() == ["g3", "approved", "->", "rejected", "[+gorram", "(reject)]"]
    assert sample[1].strip() == "gorram again"


def test_limit_window_and_errors(make_app, tmp_path: Path) -> None:
    app = seeded(make_app, tmp_path)
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE)
    runner = app.test_cli_runner()
    limited = runner.invoke(args=["rules", "test", str(candidate), "--limit", "2"])
    assert "Replayed 2 comments from the last 7d (stopped at --limit 2)" in limited.stdout
    with services(app).sessions() as session, session.begin():
        old = [get_comment(session, cid).id for cid in ("d1", "d2", "d3", "d4", "g1")]
        session.execute(
            update(Comment).where(Comment.id.in_(old)).values(created_at=utcnow() - timedelta(days=3))
        )
    recent = runner.invoke(args=["rules", "test", str(candidate), "--since", "36h"])
    assert (
        "Replayed 5 comments from the last 36h" in recent.stdout and "2 would change status." in recent.stdout
    )

    broken = tmp_path / "broken.yaml"
    broken.write_text(CANDIDATE.replace("mode: shadow", "mode: quiet"))
    failed = runner.invoke(args=["rules", "test", str(broken)])
    assert failed.exit_code == 1
    assert f"Error: {broken}:5: rule 'calm': unknown mode 'quiet'" in failed.output
    bad_window = runner.invoke(args=["rules", "test", str(candidate), "--since", "a week"])
    assert bad_window.exit_code == 2 and "--since" in bad_window.output
    assert runner.invoke(args=["rules", "test", str(tmp_path / "missing.yaml")]).exit_code == 2


class _CountingScorer:
    """Insult scores from the text; counts how often the classifier is asked."""

    version = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        self.calls += 1
        return [{"insult": 0.7 if "twit" in t else 0.1} for t in texts]


def test_replay_uses_the_live_classifier_once_per_batch(make_app) -> None:
    app = make_app()
    svc = services(app)
    ml_insult = (
        "  - {id: ml-insult, site_rule: clean, category: insult, action: flag, "
        "when: {score: {insult: {gte: X}}}}\n"
    )
    live = parse_rules(LIVE + ml_insult.replace("X", "0.8"))
    scorer = _CountingScorer()
    pipeline = Pipeline(live, scorer, model_required=True)
    for n in range(5):
        submit_comment(svc.sessions, pipeline, NewComment(f"t{n}", f"you twit #{n}", "u"), "api:test")
    submit_comment(svc.sessions, pipeline, NewComment("c", "a kind word", "u"), "api:test")
    lowered = parse_rules(LIVE + ml_insult.replace("X", "0.6"))
    scorer.calls = 0
    before = snapshot(app)

    report = replay(svc.sessions, pipeline, lowered, batch=4)

    assert snapshot(app) == before
    assert scorer.calls == 2  # 6 comments in batches of 4, each scored once for both rule sets
    assert report.checked == 6 and report.transitions == {
        ("approved", "flagged"): 5,
        ("approved", "approved"): 1,
    }
    assert report.gained == {"ml-insult (flag)": 5}
