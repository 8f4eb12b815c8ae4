"""One verdict pipeline: submission, `/score`, `flask score` and `rules reapply` agree.

The phases (classify -> rules -> author state -> hold-if-unscored) run in one function;
an author's ban or pre-moderation reaches every caller, not only submission.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import post_comment
from flask import Flask
from flask.testing import FlaskClient

from moderation.pipeline import CommentContext, Pipeline
from moderation.pipeline.phases import BANNED_RULE, PREMODERATED_RULE, UNSCORED_RULE
from moderation.rules import parse_rules
from moderation.web.batch import read_records

TEXT = "Thanks for the thoughtful article about the harbour"
RULES = """\
site_rules: {clean: Keep it Clean}
rules:
  - {id: rude, site_rule: clean, category: insult, action: flag, when: {words: [numpty]}}
  - {id: foul, site_rule: clean, category: obscene, action: reject, when: {words: [frak]}}
"""


def _flask_score(app: Flask, tmp_path: Path, records: Sequence[dict]) -> list[dict]:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = app.test_cli_runner().invoke(args=["score", str(source)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _score(client: FlaskClient, auth: dict, author: str) -> dict:
    resp = client.post("/api/v1/score", json={"text": TEXT, "author": {"id": author}}, headers=auth)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_every_caller_gets_the_same_status_for_banned_and_premoderated_authors(
    app: Flask, client: FlaskClient, auth: dict, mod_auth: dict, tmp_path: Path
) -> None:
    # Stored before the moderators act, so `rules reapply` has something to re-assess.
    for cid, author in (("early-7", "u-7"), ("early-8", "u-8"), ("early-9", "u-9")):
        assert post_comment(client, auth, cid, TEXT, author=author)["status"] == "approved"
    assert client.put("/api/v1/authors/u-7/ban", headers=mod_auth).status_code == 200
    assert client.put("/api/v1/authors/u-8/premoderation", headers=mod_auth).status_code == 200

    expected = {
        "u-7": ("rejected", BANNED_RULE),
        "u-8": ("pending", PREMODERATED_RULE),
        "u-9": ("approved", None),
    }
    scored = _flask_score(app, tmp_path, [{"id": a, "text": TEXT, "author": a} for a in expected])
    reapplied = app.test_cli_runner().invoke(args=["rules", "reapply"])
    assert reapplied.exit_code == 0, reapplied.output
    for (author, (status, rule)), from_cli in zip(expected.items(), scored, strict=True):
        from_score = _score(client, auth, author)
        submitted = post_comment(client, auth, f"late-{author}", TEXT, author=author)
        stored = client.get(f"/api/v1/comments/early-{author[2:]}", headers=auth).get_json()
        answers = {"/score": from_score, "submission": submitted, "flask score": from_cli, "reapply": stored}
        assert {k: v["status"] for k, v in answers.items()} == dict.fromkeys(answers, status), author
        for name, answer in answers.items():
            rules = [m["rule"] for m in answer["matches"]]
            assert rules == ([rule] if rule else []), (author, name)


def test_flask_score_reads_authors_from_csv_and_ignores_unknown_ones(
    app: Flask, client: FlaskClient, auth: dict, mod_auth: dict, tmp_path: Path
) -> None:
    post_comment(client, auth, "c1", TEXT, author="u-7")
    client.put("/api/v1/authors/u-7/ban", headers=mod_auth)
    source = tmp_path / "in.csv"
    source.write_text(f"id,body,who\n1,{TEXT},u-7\n2,{TEXT},stranger\n3,{TEXT},\n")
    result = app.test_cli_runner().invoke(
        args=["score", str(source), "--text-column", "body", "--author-column", "who"]
    )
    assert result.exit_code == 0, result.output
    statuses = [json.loads(line)["status"] for line in result.stdout.splitlines()]
    assert statuses == ["rejected", "approved", "approved"]


def test_a_json_line_takes_an_author_id_or_object_and_refuses_anything_else() -> None:
    lines = '{"text": "a", "author": "u-1"}\n{"text": "b", "author": {"id": "u-2"}}\n{"text": "c"}\n'
    records = list(read_records(io.StringIO(lines)))
    assert [r.get("author") for r in records] == ["u-1", "u-2", None]
    with pytest.raises(ValueError, match="line 2: 'author'"):
        list(read_records(io.StringIO('{"text": "a"}\n{"text": "b", "author": 7}\n')))


def test_a_lone_surrogate_in_a_json_line_is_a_clear_error_naming_its_line(app: Flask, tmp_path: Path) -> None:
    # JSON can spell one (backslash-u d800); re2 and UTF-8 cannot encode it, so it used to crash the run.
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "fine"}\n{"text": "bad \\ud800 text"}\n', encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["score", str(source)])
    assert result.exit_code != 0
    assert "line 2: 'text' holds a lone surrogate" in result.output
    with pytest.raises(ValueError, match="line 1: 'author' holds a lone surrogate"):
        list(read_records(io.StringIO('{"text": "a", "author": "u-\\udfff"}\n')))


class Failing:
    version = "broken"

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        raise RuntimeError("no scores today")


def _rules(pipeline: Pipeline, comment: CommentContext) -> tuple[str, list[str]]:
    verdict = pipeline.assess(comment)
    return verdict.status, [m.rule for m in verdict.matches]


def test_phases_merge_by_the_strongest_action() -> None:
    rules = parse_rules(RULES)
    plain = Pipeline(rules)
    # Pre-moderation holds what would be shown, and adds nothing to what is already kept back.
    assert _rules(plain, CommentContext("you numpty", premoderated=True)) == (
        "pending",
        ["rude", PREMODERATED_RULE],
    )
    assert _rules(plain, CommentContext("frak off", premoderated=True)) == ("rejected", ["foul"])
    # A ban rejects whatever the rules found.
    assert _rules(plain, CommentContext("you numpty", banned=True)) == ("rejected", ["rude", BANNED_RULE])
    # A classifier that cannot score holds the comment; a ban still rejects it.
    unscored = Pipeline(rules, Failing(), model_required=True)
    assert _rules(unscored, CommentContext(TEXT)) == ("pending", [UNSCORED_RULE])
    assert _rules(unscored, CommentContext(TEXT, banned=True)) == ("rejected", [BANNED_RULE, UNSCORED_RULE])
