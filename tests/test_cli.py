"""Command-line tools, run through Flask's CLI runner."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ban_author, count_rows
from flask import Flask

from moderation.classifier import artifact, contribution
from moderation.config import PROJECT_ROOT
from moderation.web import cli_command, create_app
from moderation.web.extension import services


def test_api_key_create_prints_only_the_key(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-key", "create", "site-a"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mk_")
    key = lines[0]
    client = app.test_client()
    assert (
        client.post(
            "/api/v1/score", json={"text": "hi"}, headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 200
    )

    listed = runner.invoke(args=["api-key", "list"])
    assert "site-a" in listed.stdout and "active" in listed.stdout
    secret = key.split("_", 2)[2]  # mk_<prefix>_<secret>; the secret may hold "_" itself
    assert len(secret) >= 40 and secret not in listed.output

    assert runner.invoke(args=["api-key", "create", "site-a"]).exit_code == 1  # names are unique
    assert runner.invoke(args=["api-key", "revoke", "site-a"]).exit_code == 0
    assert "revoked" in runner.invoke(args=["api-key", "list"]).stdout
    assert (
        client.post(
            "/api/v1/score", json={"text": "hi"}, headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 401
    )
    assert runner.invoke(args=["api-key", "revoke", "nobody"]).exit_code == 1


def test_keys_are_stored_hashed(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["api-key", "create", "hashed", "--scope", "moderate"])
    key = result.stdout.strip().splitlines()[0]
    from sqlalchemy import text

    from moderation.web.extension import services

    with services(app).sessions() as session:
        row = session.execute(text("SELECT prefix, secret_sha256, scopes FROM api_keys")).one()
    assert key.split("_", 2)[2] not in row.secret_sha256
    assert row.scopes == "moderate"


def test_score_jsonl_file(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"id": "a", "text": "Lovely piece"})
        + "\n"
        + json.dumps({"id": 2, "text": "what bullsh1t"})
        + "\n\n"
        + json.dumps({"text": "no id here, you moron"})
        + "\n"
    )
    result = app.test_cli_runner().invoke(args=["score", str(source)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("id") for r in rows] == ["a", 2, None]
    assert [r["status"] for r in rows] == ["approved", "rejected", "flagged"]
    assert "id" not in rows[2]
    assert rows[1]["matches"][0]["text"] == "bullsh1t"
    assert count_rows(app, "comments") == 0


def test_score_csv_with_text_column(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text('comment_id,body\n1,"fine, thanks"\n2,"f u c k off"\n')
    result = app.test_cli_runner().invoke(
        args=["score", str(source), "--text-column", "body", "--id-column", "comment_id"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r["status"]) for r in rows] == [("1", "approved"), ("2", "rejected")]


def test_score_reads_stdin(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["score", "-"], input='{"text": "hello there"}\n')
    assert json.loads(result.stdout)["status"] == "approved"


def test_score_reports_bad_lines(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"text": "ok"}\n{"txt": "no"}\n')
    result = app.test_cli_runner().invoke(args=["score", str(source)])
    assert result.exit_code == 1
    assert "line 2" in result.output
    missing = tmp_path / "in.csv"
    missing.write_text("a,b\n1,2\n")
    result = app.test_cli_runner().invoke(args=["score", str(missing)])
    assert result.exit_code == 1 and "no column 'text'" in result.output


def test_rules_check(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["rules", "check"])
    assert ok.exit_code == 0 and "rules, version" in ok.output
    broken = tmp_path / "rules.yaml"
    broken.write_text(
        "site_rules: {a: A}\nrules:\n  - id: x\n    site_rule: a\n    category: nope\n"
        "    action: flag\n    when: {length: {gt: 1}}\n"
    )
    result = runner.invoke(args=["rules", "check", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:5: rule 'x': unknown category 'nope'" in result.output


def test_refusals_print_one_error_line_on_stderr_and_exit_nonzero(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["api-key", "create", "site-a"])
    refused = {
        ("api-key", "create", "site-a"): (1, "Error: a key named 'site-a' already exists"),
        ("api-key", "revoke", "nobody"): (1, "Error: no key named 'nobody'"),
        ("moderator", "disable", "nobody"): (1, "Error: no moderator 'nobody'"),
        ("webhooks", "deliver", "--once"): (1, "Error: WEBHOOK_URL is not set"),
        ("webhooks", "retry", "7"): (1, "Error: no failed delivery 7"),
        ("webhooks", "retry"): (2, "Error: give a delivery id or --all"),
        ("webhooks", "retry", "7", "--all"): (2, "Error: give a delivery id or --all"),
        ("model", "evaluate"): (2, "Error: give --data FILE or --recipe FILE"),
        ("model", "info", "--model", str(tmp_path / "none.skops")): (1, "Error: "),
    }
    for args, (code, message) in refused.items():
        result = runner.invoke(args=list(args))
        assert (result.exit_code, result.stdout) == (code, ""), (args, result.output)
        assert result.stderr.splitlines()[-1].startswith(message), (args, result.stderr)
    # A usage error also shows how to call the command.
    assert "Usage: " in runner.invoke(args=["webhooks", "retry"]).stderr


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["/venv/bin/flask", "--app", "app", "score", "in.jsonl"], "score"),
        (["flask", "-A", "app", "--debug", "score"], "score"),
        (["flask", "--app=app", "-e", "site.env", "rules", "reapply"], "rules"),
        (["/usr/lib/python3/site-packages/flask/__main__.py", "score", "-"], "score"),
        (["flask", "--app", "score"], None),  # "score" is the --app value here, no command follows
        (["/venv/bin/gunicorn", "app:app", "score"], None),  # not the flask CLI
        (["-c"], None),
        ([], None),
    ],
)
def test_cli_command_names_the_command_the_flask_cli_runs(argv: list[str], command: str | None) -> None:
    assert cli_command(argv) == command


def test_flask_score_on_the_app_without_web_pages_gives_the_same_verdicts(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """`flask score` runs on ``create_app(web=False)``: the same verdicts (both heads, the author's
    ban from the database) as on the whole app, and none of its routes or other commands."""
    models = {
        "MODERATION_MODEL": str(artifact.DEFAULT_MODEL),
        "MODERATION_CONTRIBUTION_MODEL": str(contribution.DEFAULT_MODEL),
    }
    full = make_app(**models)
    ban_author(full, "u-7")
    texts = ["Thanks, a clear piece.", "what bullsh1t", "I saw the fire from my window.", "you moron"]
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": i, "text": t, "author": "u-7" if i == 0 else "u-1"}) + "\n"
            for i, t in enumerate(texts)
        )
    )
    lean = create_app(dict(full.config), web=False)
    try:
        assert set(lean.cli.commands) == {"score"}
        assert [rule.endpoint for rule in lean.url_map.iter_rules()] == ["static"]
        got = lean.test_cli_runner().invoke(args=["score", str(source)])
    finally:
        services(lean).models.close()
        services(lean).engine.dispose()
    want = full.test_cli_runner().invoke(args=["score", str(source)])
    assert want.exit_code == 0 and got.exit_code == 0, (want.output, got.output)
    assert got.stdout == want.stdout
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["rejected", "rejected", "approved", "flagged"]
    assert rows[0]["matches"][0]["rule"] == "author-banned"
    assert all(r["contribution"] is not None and r["model_version"] for r in rows)


@pytest.mark.parametrize(("argv", "commands"), [(["flask", "score"], ["score"]), (["flask", "run"], None)])
def test_app_module_builds_the_lean_app_for_flask_score_only(
    argv: list[str], commands: list[str] | None, sqlite_template: Path, tmp_path: Path
) -> None:
    database = tmp_path / "db.sqlite"
    shutil.copy(sqlite_template, database)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "LOG_LEVEL": "WARNING"}
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.argv = {argv!r}; import app; print(sorted(app.app.cli.commands))",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    listed = ast.literal_eval(shown.stdout.strip())
    if commands is None:
        assert {"score", "rules", "moderator", "model"} <= set(listed)
    else:
        assert listed == commands
