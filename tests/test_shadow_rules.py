"""Shadow rules: evaluated and recorded on every comment, never acting on one."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import count_rows, make_moderator, post_comment
from flask import Flask
from sqlalchemy import select
from test_review_views import login

from moderation.accounts.apikeys import create_key
from moderation.models import RuleHit
from moderation.pipeline import CommentContext, Pipeline
from moderation.rules import RulesError, parse_rules
from moderation.web.extension import services

LIVE_ONLY = """\
site_rules: {clean: Keep it Clean}
rules:
  - {id: frak, site_rule: clean, category: obscene, action: reject, when: {words: [frak]}}
"""
WITH_SHADOW = (
    LIVE_ONLY
    + """\
  - id: gorram
    site_rule: clean
    category: obscene
    action: reject
    mode: shadow
    when: {words: [gorram]}
"""
)


def test_mode_is_validated_with_its_line() -> None:
    rules = parse_rules(WITH_SHADOW)
    assert [r.id for r in rules.rules] == ["frak"]
    assert [(r.id, r.mode) for r in rules.shadow] == [("gorram", "shadow")]
    assert rules.modes() == {"frak": "live", "gorram": "shadow"}
    with pytest.raises(RulesError) as info:
        parse_rules(WITH_SHADOW.replace("mode: shadow", "mode: silent"))
    assert info.value.line == 8 and info.value.rule == "gorram"
    assert "unknown mode 'silent' (use live, shadow" in str(info.value)
    assert str(info.value).startswith("rules.yaml:8: rule 'gorram':")


def test_a_shadow_rule_is_recorded_but_never_acts() -> None:
    shadowed = Pipeline(parse_rules(WITH_SHADOW))
    plain = Pipeline(parse_rules(LIVE_ONLY))
    for text in ("what a gorram mess", "frak this gorram mess", "nothing here"):
        with_shadow, without = shadowed.assess(CommentContext(text)), plain.assess(CommentContext(text))
        assert (with_shadow.status, with_shadow.matches, with_shadow.reasons) == (
            without.status,
            without.matches,
            without.reasons,
        )
        assert "shadow" not in with_shadow.to_dict()
    verdict = shadowed.assess(CommentContext("what a gorram mess"))
    assert verdict.status == "approved"
    assert [(m.rule, m.action, m.start, m.end, m.text) for m in verdict.shadow] == [
        ("gorram", "reject", 7, 13, "gorram")
    ]


def _app(make_app, tmp_path: Path, rules: str) -> tuple[Flask, Path]:
    path = tmp_path / "rules.yaml"
    path.write_text(rules)
    app = make_app(
        MODERATION_RULES=str(path),
        RULES_RELOAD_SECONDS=0,
        WEBHOOK_URL="http://127.0.0.1:9/hook",
        WEBHOOK_SECRET="s",
    )
    return app, path


def _keys(app: Flask) -> tuple[dict[str, str], dict[str, str]]:
    with services(app).sessions() as session, session.begin():
        submit = {"Authorization": f"Bearer {create_key(session, 'site')}"}
        moderate = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
    return submit, moderate


def _hits(app: Flask) -> list[tuple[str, str, str, list]]:
    with services(app).sessions() as session:
        rows = session.execute(select(RuleHit.rule, RuleHit.mode, RuleHit.action, RuleHit.spans))
        return sorted((r, m, a, s) for r, m, a, s in rows)


def test_shadow_hits_are_stored_and_shown_to_moderators_only(make_app, tmp_path: Path) -> None:
    app, _ = _app(make_app, tmp_path, WITH_SHADOW)
    submit, moderate = _keys(app)
    client = app.test_client()
    verdict = post_comment(client, submit, "c1", "frak, what a gorram mess")
    assert verdict["status"] == "rejected"
    assert [m["rule"] for m in verdict["matches"]] == ["frak"]
    assert "shadow" not in str(verdict)  # the site never hears of shadow rules
    stored = client.get("/api/v1/comments/c1", headers=submit).get_json()
    assert {key: stored[key] for key in verdict} == verdict and "shadow" not in str(stored)
    assert _hits(app) == [("frak", "live", "reject", [[0, 4]]), ("gorram", "shadow", "reject", [[13, 19]])]

    item = client.post("/api/v1/comments/c1/claim", headers=moderate).get_json()
    assert item["shadow_matches"] == [
        {
            "rule": "gorram",
            "category": "obscene",
            "action": "reject",
            "start": 13,
            "end": 19,
            "text": "gorram",
        }
    ]
    assert [m["rule"] for m in item["matches"]] == ["frak"]

    make_moderator(app)
    login(client)
    page = client.get("/review/comments/c1").get_data(as_text=True)
    assert "data-shadow" in page and "would reject" in page and "(gorram)" in page


def test_reapply_records_a_new_shadow_rule_without_acting(make_app, tmp_path: Path) -> None:
    app, path = _app(make_app, tmp_path, LIVE_ONLY)
    submit, _ = _keys(app)
    client = app.test_client()
    post_comment(client, submit, "c1", "what a gorram mess")
    post_comment(client, submit, "c2", "all calm")
    assert _hits(app) == []
    path.write_text(WITH_SHADOW)
    audits = count_rows(app, "audit_log")

    result = app.test_cli_runner().invoke(args=["rules", "reapply"])

    assert result.exit_code == 0 and "checked 2, changed 0" in result.stderr
    assert _hits(app) == [("gorram", "shadow", "reject", [[7, 13]])]
    assert client.get("/api/v1/comments/c1", headers=submit).get_json()["status"] == "approved"
    assert count_rows(app, "webhook_deliveries") == 0
    assert count_rows(app, "audit_log") == audits
    # Back to live rules only: the shadow hit goes with the rule.
    path.write_text(LIVE_ONLY)
    app.test_cli_runner().invoke(args=["rules", "reapply"])
    assert _hits(app) == []
