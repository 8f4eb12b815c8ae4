"""Per-rule agreement with moderators (GET /api/v1/rules/stats, the statistics page) and drift."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import count_rows, make_moderator, post_comment
from flask import Flask
from sqlalchemy import update
from test_review_views import login

from moderation.accounts.apikeys import create_key
from moderation.models import Comment, RuleHit, utcnow
from moderation.pipeline import Pipeline
from moderation.rules import parse_rules
from moderation.web.extension import services
from moderation.workflow.decisions import decide
from moderation.workflow.rulestats import drift, parse_window, wilson, window_days
from moderation.workflow.submission import NewComment, get_comment, submit_comment

RULES = """\
site_rules: {clean: Keep it Clean, nice: Be Nice}
rules:
  - {id: frak, site_rule: clean, category: obscene, action: reject, when: {words: [frak]}}
  - {id: darn, site_rule: clean, category: obscene, action: flag, when: {words: [darn]}}
  - {id: unused, site_rule: clean, category: obscene, action: flag, when: {words: [zzyzx]}}
  - {id: gorram, site_rule: clean, category: obscene, action: reject, mode: shadow, when: {words: [gorram]}}
  - {id: ml-insult, site_rule: nice, category: insult, action: flag, when: {score: {insult: {gte: 0.8}}}}
  - {id: ml-threat, site_rule: nice, category: threat, action: hold, when: {score: {threat: {gte: 0.9}}}}
"""


def test_wilson_interval() -> None:
    assert wilson(0, 0) is None
    low, high = wilson(10, 10)
    assert low == pytest.approx(10 / (10 + 1.959964**2)) and high == pytest.approx(1.0)
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    low, high = wilson(0, 4)
    assert low == 0.0 and 0.4 < high < 0.5


def test_window_parsing() -> None:
    assert parse_window("7d") == timedelta(days=7) and window_days(parse_window("7d")) == 7
    assert window_days(parse_window("36h")) == 2 and window_days(parse_window("1h")) == 1
    assert parse_window("366d") == timedelta(days=366)
    for bad in ("0d", "7", "7w", "367d", "-1d", "d", "7d7", "7\x00d", "", "9999h"):
        with pytest.raises(ValueError, match="such as 7d or 36h"):
            parse_window(bad)


def _app(make_app, tmp_path: Path) -> tuple[Flask, dict[str, str], dict[str, str]]:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    app = make_app(MODERATION_RULES=str(path), WEBHOOK_URL="http://127.0.0.1:9/hook", WEBHOOK_SECRET="s")
    with services(app).sessions() as session, session.begin():
        submit = {"Authorization": f"Bearer {create_key(session, 'site')}"}
        moderate = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
    return app, submit, moderate


def _by_rule(body: dict) -> dict[str, dict]:
    return {(r["rule"]): r for r in body["rules"]}


def test_a_shadow_rule_changes_nothing_while_its_statistics_fill(make_app, tmp_path: Path) -> None:
    app, submit, moderate = _app(make_app, tmp_path)
    client = app.test_client()
    # 75 decisions, all agreeing: the least for a 95% lower bound of 95% (n / (n + z²) >= 0.95).
    for n in range(75):
        verdict = post_comment(client, submit, f"g{n}", f"what a gorram mess #{n}", author=f"u{n}")
        assert (verdict["status"], verdict["matches"], verdict["reasons"]) == ("approved", [], [])
    for n in range(3):
        assert post_comment(client, submit, f"d{n}", f"darn it #{n}")["status"] == "flagged"
    post_comment(client, submit, "f0", "frak")
    assert count_rows(app, "webhook_deliveries") == 0

    before = client.get("/api/v1/rules/stats", headers=moderate)
    assert before.status_code == 200
    gorram = _by_rule(before.get_json())["gorram"]
    assert (gorram["mode"], gorram["hits"], gorram["decided"], gorram["ready_to_go_live"]) == (
        "shadow",
        75,
        0,
        False,
    )
    assert len(gorram["hits_per_day"]) == 7 and gorram["hits_per_day"][-1]["hits"] == 75

    for n in range(74):
        decision = {"action": "reject", "site_rule": "clean"}
        resp = client.post(f"/api/v1/comments/g{n}/decision", json=decision, headers=moderate)
        assert resp.status_code == 200 and resp.get_json()["shadow_matches"][0]["rule"] == "gorram"
    for cid, action in (("d0", "approve"), ("d1", "approve"), ("d2", "reject")):
        body = {"action": action, "site_rule": "clean"} if action == "reject" else {"action": action}
        assert client.post(f"/api/v1/comments/{cid}/decision", json=body, headers=moderate).status_code == 200

    rules = _by_rule(client.get("/api/v1/rules/stats?since=30d", headers=moderate).get_json())
    # 74 of 74: the lower bound is 0.9507, just ready.
    assert (rules["gorram"]["decided"], rules["gorram"]["agreed"], rules["gorram"]["overturned"]) == (
        74,
        74,
        0,
    )
    assert rules["gorram"]["interval"][0] == pytest.approx(74 / (74 + 1.959964**2))
    assert rules["gorram"]["ready_to_go_live"] is True
    darn = rules["darn"]
    assert (darn["mode"], darn["hits"], darn["decided"], darn["agreed"], darn["overturned"]) == (
        "live",
        3,
        3,
        1,
        2,
    )
    assert darn["agreement"] == pytest.approx(1 / 3)
    assert darn["interval"] == pytest.approx(list(wilson(1, 3)))
    assert darn["ready_to_go_live"] is False  # live rules are already live
    assert (rules["frak"]["hits"], rules["frak"]["decided"], rules["frak"]["agreement"]) == (1, 0, None)
    assert (rules["unused"]["hits"], rules["unused"]["interval"]) == (0, None)
    assert len(rules["gorram"]["hits_per_day"]) == 30
    # The machine's verdicts never moved: only the moderators' decisions reached the site.
    assert count_rows(app, "webhook_deliveries") == 74 + 3  # one per decision, none from the shadow rule

    make_moderator(app)
    login(client)
    page = client.get("/review/stats").get_data(as_text=True)
    assert 'data-rule="gorram" data-mode="shadow"' in page
    assert page.count("data-ready") == 1 and "ready to go live" in page


def test_one_overturn_keeps_a_shadow_rule_waiting(make_app, tmp_path: Path) -> None:
    app, submit, moderate = _app(make_app, tmp_path)
    client = app.test_client()
    for n in range(20):
        post_comment(client, submit, f"g{n}", f"gorram #{n}", author=f"u{n}")
        body = {"action": "reject", "site_rule": "clean"} if n else {"action": "approve"}
        client.post(f"/api/v1/comments/g{n}/decision", json=body, headers=moderate)
    gorram = _by_rule(client.get("/api/v1/rules/stats", headers=moderate).get_json())["gorram"]
    assert (gorram["decided"], gorram["agreed"], gorram["overturned"]) == (20, 19, 1)
    assert gorram["agreement"] == 0.95 and gorram["ready_to_go_live"] is False


def test_window_and_errors(make_app, tmp_path: Path) -> None:
    app, submit, moderate = _app(make_app, tmp_path)
    client = app.test_client()
    post_comment(client, submit, "old", "darn, an old one")
    post_comment(client, submit, "new", "darn, a new one")
    with services(app).sessions() as session, session.begin():
        old = get_comment(session, "old")
        session.execute(
            update(RuleHit)
            .where(RuleHit.comment_id == old.id)
            .values(day=utcnow().date() - timedelta(days=9))
        )
    assert (
        _by_rule(client.get("/api/v1/rules/stats?since=7d", headers=moderate).get_json())["darn"]["hits"] == 1
    )
    assert (
        _by_rule(client.get("/api/v1/rules/stats?since=10d", headers=moderate).get_json())["darn"]["hits"]
        == 2
    )
    for bad in ("0d", "abc", "400d", "7d%00"):
        resp = client.get(f"/api/v1/rules/stats?since={bad}", headers=moderate)
        assert resp.status_code == 422, bad
        assert resp.get_json()["error"]["code"] == "invalid_field"
        assert resp.get_json()["error"]["message"].startswith("since: must be")
    assert client.get("/api/v1/rules/stats").status_code == 401
    forbidden = client.get("/api/v1/rules/stats", headers=submit)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"


class _Scorer:
    """Scores from words in the text, so the thresholds act where a test wants them to."""

    version = "test-scorer"

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [
            {"insult": 0.9 if "insult" in t else 0.1, "threat": 0.95 if "threat" in t else 0.0} for t in texts
        ]


def test_drift_per_day_and_category(make_app, tmp_path: Path) -> None:
    app, _, _ = _app(make_app, tmp_path)
    svc = services(app)
    rules = parse_rules(RULES)
    pipeline = Pipeline(rules, _Scorer())
    texts = {
        "y1": "an insult yesterday",
        "y2": "calm yesterday",
        "t1": "an insult today",
        "t2": "an insult and a threat today",
        "t3": "calm today",
        "t4": "calm again today",
    }
    for cid, text in texts.items():
        submit_comment(svc.sessions, pipeline, NewComment(cid, text, author_id="u"), "api:test")
    yesterday = utcnow() - timedelta(days=1)
    with svc.sessions() as session, session.begin():
        ids = [get_comment(session, cid).id for cid in ("y1", "y2")]
        session.execute(update(Comment).where(Comment.id.in_(ids)).values(created_at=yesterday))
        session.execute(update(RuleHit).where(RuleHit.comment_id.in_(ids)).values(day=yesterday.date()))
        for cid, action in (("t1", "approve"), ("t2", "reject"), ("y1", "reject")):
            comment = get_comment(session, cid)
            decide(session, comment, "mo", action, rules, svc.notify, "nice" if action == "reject" else None)

    assert sorted(rules.classifier_rules()) == ["ml-insult", "ml-threat"]
    with svc.sessions() as session:
        found = drift(session, rules.classifier_rules(), days=3)
    assert found["categories"] == ["insult", "threat"]
    first, before, today = found["days"]
    assert (first["comments"], first["share"], first["overturn_rate"]) == (0, None, None)
    assert (before["comments"], before["acted"], before["share"]) == (2, 1, 0.5)
    assert (before["decided"], before["overturned"], before["overturn_rate"]) == (1, 0, 0.0)
    assert (today["comments"], today["acted"], today["share"]) == (4, 2, 0.5)
    assert (today["decided"], today["overturned"], today["overturn_rate"]) == (2, 1, 0.5)
    assert today["categories"]["insult"] == {"acted": 2, "decided": 2, "overturned": 1, "share": 0.5}
    assert today["categories"]["threat"] == {"acted": 1, "decided": 1, "overturned": 0, "share": 0.25}
    assert before["categories"]["threat"]["share"] == 0.0

    client = app.test_client()
    make_moderator(app)
    login(client)
    page = client.get("/review/stats").get_data(as_text=True)
    assert f'data-day="{today["day"]}"' in page and "data-drift" in page
