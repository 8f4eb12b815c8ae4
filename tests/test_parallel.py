"""Scoring on several processes: the same verdicts, in the same order, in bounded memory."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ban_author, post_comment
from flask import Flask

from moderation.accounts.apikeys import create_key
from moderation.pipeline import CommentContext, ParallelPipeline
from moderation.web.extension import services

TEXTS = [
    "Thanks for the clear report on the council budget.",
    "you absolute idiot, read the article",
    "Russia has massed troops; an invasion would kill thousands.",
    "f u c k this",
    "BUY CHEAP WATCHES http://a.example.com http://b.example.com http://c.example.com",
    "",
    "I live two streets away and heard the sirens all night.",
]


def _records(n: int) -> list[dict]:
    records = [{"id": f"c{i}", "text": f"{TEXTS[i % len(TEXTS)]} #{i}"} for i in range(n)]
    for record in records[::50]:
        record["author"] = "banned-one"
    return records


def _score(app: Flask, source: Path, *args: str) -> list[dict]:
    result = app.test_cli_runner().invoke(args=["score", str(source), "--batch-size", "16", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_flask_score_on_two_processes_matches_one(make_app, tiny_model: Path, tmp_path: Path) -> None:
    app = make_app(MODERATION_MODEL=str(tiny_model))
    ban_author(app, "banned-one")
    source = tmp_path / "comments.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in _records(300)))

    records = _records(300)
    del records[7]["id"]  # a record without an id gets a line without one
    records[8]["id"] = None  # and one whose id is null keeps it
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    one = _score(app, source, "--jobs", "1")
    two = _score(app, source, "--jobs", "2")

    assert two == one
    assert [line.get("id", "-") for line in two] == [
        "-" if i == 7 else None if i == 8 else f"c{i}" for i in range(300)
    ]
    assert {line["status"] for line in two[::50]} == {"rejected"}  # the banned author, in every worker
    assert all(line["scores"] for line in two)  # the classifier ran in the workers


def test_workers_score_with_the_contribution_head_too(make_app, tiny_model: Path, tmp_path: Path) -> None:
    from moderation.classifier import contribution

    app = make_app(
        MODERATION_MODEL=str(tiny_model), MODERATION_CONTRIBUTION_MODEL=str(contribution.DEFAULT_MODEL)
    )
    source = tmp_path / "comments.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in _records(40)))
    one, two = _score(app, source, "--jobs", "1"), _score(app, source, "--jobs", "2")
    assert two == one
    # As a submission's verdict has them: the head's scores and the contribution block.
    assert all("eyewitness" in line["scores"] and line["contribution"] for line in two)


def test_an_input_of_one_batch_is_scored_without_workers(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moderation.web import score_cli

    started: list[int] = []

    class Recording(ParallelPipeline):
        def __init__(self, pipeline, jobs: int) -> None:  # type: ignore[no-untyped-def]
            started.append(jobs)
            super().__init__(pipeline, jobs)

    monkeypatch.setattr(score_cli, "ParallelPipeline", Recording)
    source = tmp_path / "comments.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in _records(16)))
    assert len(_score(app, source, "--jobs", "2")) == 16  # 16 comments, batches of 16: one batch
    source.write_text("".join(json.dumps(r) + "\n" for r in _records(17)))
    assert len(_score(app, source, "--jobs", "2")) == 17
    assert started == [1, 2]


def test_the_stream_is_read_only_as_fast_as_workers_score_it(app: Flask) -> None:
    consumed = []

    def batches() -> Iterator[list[CommentContext]]:
        for i in range(40):
            consumed.append(i)
            yield [CommentContext(f"comment {i}")]

    with ParallelPipeline(services(app).pipeline, 2) as parallel:
        results = parallel.stream(batches())
        first = next(results)
        assert len(consumed) <= 2 * 2  # at most two batches per worker in flight
        rest = list(results)
    assert len(first) == 1 and len(rest) == 39


def test_workers_are_other_processes_and_stop_with_the_block(app: Flask) -> None:
    with ParallelPipeline(services(app).pipeline, 2) as parallel:
        pool = parallel._pool
        assert pool is not None
        pids = {pool.submit(os.getpid).result() for _ in range(8)}
        verdicts = parallel.run([CommentContext(t) for t in TEXTS])
    assert os.getpid() not in pids
    assert [v.status for v in verdicts] == [
        v.status for v in services(app).pipeline.run([CommentContext(t) for t in TEXTS])
    ]
    assert parallel._pool is None


def test_jobs_must_be_positive(app: Flask) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ParallelPipeline(services(app).pipeline, 0)
    result = app.test_cli_runner().invoke(args=["score", "-", "--jobs", "0"], input='{"text": "x"}\n')
    assert result.exit_code == 2 and "--jobs" in result.output


def test_reapply_on_two_processes_changes_the_same_comments(make_app, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    base = "site_rules: {clean: Keep it Clean}\nrules:\n"
    rule = "  - {id: w, site_rule: clean, category: obscene, action: reject, when: {words: [WORD]}}\n"
    rules.write_text(base + rule.replace("WORD", "frak"))
    app = make_app(MODERATION_RULES=str(rules), RULES_RELOAD_SECONDS=0)
    with services(app).sessions() as session, session.begin():
        submit = {"Authorization": f"Bearer {create_key(session, 's')}"}
    client = app.test_client()
    for i in range(60):
        post_comment(client, submit, f"c{i}", "what a gorram mess" if i % 3 == 0 else f"fine comment {i}")
    rules.write_text(base + rule.replace("WORD", "gorram"))
    runner = app.test_cli_runner()
    dry_one = runner.invoke(args=["rules", "reapply", "--dry-run", "--jobs", "1"])
    dry_two = runner.invoke(args=["rules", "reapply", "--dry-run", "--jobs", "2"])
    assert dry_one.exit_code == dry_two.exit_code == 0
    assert dry_two.stdout == dry_one.stdout
    assert len(dry_two.stdout.splitlines()) == 20

    done = runner.invoke(args=["rules", "reapply", "--jobs", "2"])
    assert done.exit_code == 0, done.output
    with services(app).sessions() as session:
        from moderation.workflow.submission import get_comment

        statuses = {get_comment(session, f"c{i}").status for i in range(0, 60, 3)}
    assert statuses == {"rejected"}
