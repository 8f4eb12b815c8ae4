"""Comments that arrive together are submitted as one group (moderation/workflow/grouping.py).

A group is one transaction and one verdict batch; what each comment gets and what is stored
must be what it would get alone. The first group is held open (its verdicts wait on a gate) so
that the comments sent meanwhile queue up, as they do in a busy worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from moderation.pipeline import CommentContext, Pipeline
from moderation.web.extension import services
from moderation.workflow.grouping import Grouper
from moderation.workflow.submission import DuplicateIdConflict, NewComment, Submitted, submit_comment

OBSCENE = "you are a fucking idiot"
CLEAN = "The council should publish the budget before the vote."


class Gated:
    """The app's pipeline, with its first batch held until the test opens the gate; a text of
    ``refuse`` raises, as a comment the database refuses would."""

    def __init__(self, inner: Pipeline, refuse: str | None = None) -> None:
        self.inner = inner
        self.refuse = refuse
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.batches: list[list[str]] = []

    @property
    def rules(self) -> Any:
        return self.inner.rules

    def run(self, comments: Sequence[CommentContext]) -> list[Any]:
        self.batches.append([c.text for c in comments])
        if len(self.batches) == 1:
            self.entered.set()
            assert self.gate.wait(20), "the test never opened the gate"
        if self.refuse is not None and any(c.text == self.refuse for c in comments):
            raise RuntimeError("refused")
        return self.inner.run(comments)


class Sender:
    """Submits comments in threads; each one's outcome (or error) by its id."""

    def __init__(self, grouper: Grouper) -> None:
        self.grouper = grouper
        self.outcomes: dict[str, Any] = {}
        self.threads: list[threading.Thread] = []

    def send(self, new: NewComment, key: str | None = None) -> threading.Thread:
        def run() -> None:
            try:
                self.outcomes[key or new.site_id] = self.grouper.submit(new, "api:test")
            except Exception as exc:  # the test looks at it
                self.outcomes[key or new.site_id] = exc

        thread = threading.Thread(target=run)
        thread.start()
        self.threads.append(thread)
        return thread

    def join(self) -> None:
        for thread in self.threads:
            thread.join(30)
            assert not thread.is_alive()


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def held_open(app: Flask, leaders: int = 1, refuse: str | None = None) -> tuple[Grouper, Gated, Sender]:
    """A grouper whose first group is under way, held at its verdicts."""
    gated = Gated(services(app).pipeline, refuse)
    grouper = Grouper(services(app).sessions, gated, leaders=leaders)  # type: ignore[arg-type]
    sender = Sender(grouper)
    sender.send(NewComment("first", CLEAN, "author-first"))
    assert gated.entered.wait(20)
    return grouper, gated, sender


def rows(app: Flask, sql: str) -> list[Any]:
    with services(app).sessions() as session:
        return list(session.execute(text(sql)))


def test_comments_sent_meanwhile_go_as_one_group_each_with_its_own_verdict(app: Flask) -> None:
    grouper, gated, sender = held_open(app)
    texts = [OBSCENE if n % 2 else f"{CLEAN} ({n})" for n in range(6)]
    for n, body in enumerate(texts):
        sender.send(NewComment(f"c{n}", body, f"author-{n}", article_id="a1"))
    until(lambda: grouper.waiting == 6, "six comments waiting")
    gated.gate.set()
    sender.join()

    assert gated.batches == [[CLEAN], texts]  # the leader alone, then all six at once
    assert (grouper.groups, grouper.grouped) == (2, 7)
    pipeline = services(app).pipeline
    for n, body in enumerate(texts):
        got = sender.outcomes[f"c{n}"]
        assert isinstance(got, Submitted) and got.created
        alone = pipeline.assess(CommentContext(body))
        assert (got.verdict["status"], got.verdict["visible"]) == (alone.status, alone.visible)
        assert got.verdict["scores"] == alone.to_dict()["scores"]
    assert {s.verdict["status"] for s in sender.outcomes.values()} == {"approved", "rejected"}
    stored = rows(app, "SELECT site_id, status FROM comments ORDER BY site_id")
    assert stored == sorted(
        [("first", "approved")] + [(f"c{n}", sender.outcomes[f"c{n}"].verdict["status"]) for n in range(6)]
    )
    assert rows(app, "SELECT COUNT(*) FROM audit_log")[0][0] == 7
    counts = rows(
        app, "SELECT site_id, comment_count, rejected_count FROM authors WHERE site_id LIKE 'author-_'"
    )
    assert sorted(counts) == [(f"author-{n}", 1, n % 2) for n in range(6)]
    assert rows(app, "SELECT COUNT(*) FROM articles")[0][0] == 1


def test_a_second_comment_by_one_author_waits_for_the_next_group(app: Flask) -> None:
    grouper, gated, sender = held_open(app)
    sender.send(NewComment("busy-1", OBSCENE, "busy"))
    until(lambda: grouper.waiting == 1, "the first waiting")
    sender.send(NewComment("busy-2", f"{CLEAN} again", "busy"))
    until(lambda: grouper.waiting == 2, "the second waiting")
    sender.send(NewComment("other-1", CLEAN + "!", "other"))
    until(lambda: grouper.waiting == 3, "the third waiting")
    gated.gate.set()
    sender.join()

    # busy-2 could not join busy-1's group; other-1 could.
    assert gated.batches[1:] == [[OBSCENE, CLEAN + "!"], [f"{CLEAN} again"]]
    assert all(isinstance(sender.outcomes[k], Submitted) for k in ("busy-1", "busy-2", "other-1"))
    assert rows(app, "SELECT comment_count, rejected_count FROM authors WHERE site_id = 'busy'") == [(2, 1)]


def test_an_id_sent_twice_at_once_is_stored_once_and_other_text_is_refused(app: Flask) -> None:
    grouper, gated, sender = held_open(app)
    sender.send(NewComment("dup", CLEAN, "poster-1"), key="sent")
    until(lambda: grouper.waiting == 1, "the first waiting")
    sender.send(NewComment("dup", CLEAN, "poster-1"), key="again")
    until(lambda: grouper.waiting == 2, "the repeat waiting")
    sender.send(NewComment("dup", OBSCENE, "poster-2"), key="other text")
    until(lambda: grouper.waiting == 3, "the conflicting one waiting")
    gated.gate.set()
    sender.join()

    sent, again = sender.outcomes["sent"], sender.outcomes["again"]
    assert isinstance(sent, Submitted) and sent.created
    assert isinstance(again, Submitted) and not again.created and again.verdict == sent.verdict
    assert isinstance(sender.outcomes["other text"], DuplicateIdConflict)
    assert rows(app, "SELECT COUNT(*) FROM comments WHERE site_id = 'dup'")[0][0] == 1
    assert rows(app, "SELECT comment_count FROM authors WHERE site_id = 'poster-1'") == [(1,)]


def test_a_comment_that_fails_its_group_fails_alone(app: Flask) -> None:
    grouper, gated, sender = held_open(app, refuse="boom")
    for n, (key, body) in enumerate((("ok-1", CLEAN), ("bad", "boom"), ("ok-2", OBSCENE)), 1):
        sender.send(NewComment(key, body, f"author-{key}"))
        until(lambda n=n: grouper.waiting == n, f"{n} waiting")
    gated.gate.set()
    sender.join()

    assert isinstance(sender.outcomes["bad"], RuntimeError)
    assert isinstance(sender.outcomes["ok-1"], Submitted) and isinstance(sender.outcomes["ok-2"], Submitted)
    # The group of three (its verdicts in the order of the authors' ids) failed as a whole, then
    # each was tried alone, in the order they came.
    assert gated.batches[1:] == [["boom", CLEAN, OBSCENE], [CLEAN], ["boom"], [OBSCENE]]
    assert [r[0] for r in rows(app, "SELECT site_id FROM comments ORDER BY site_id")] == [
        "first",
        "ok-1",
        "ok-2",
    ]
    assert rows(app, "SELECT COUNT(*) FROM authors WHERE site_id = 'author-bad'")[0][0] == 0


def test_a_lone_comment_is_submitted_at_once_as_before(app: Flask) -> None:
    svc = services(app)
    grouper = Grouper(svc.sessions, svc.pipeline)
    got = grouper.submit(NewComment("solo", OBSCENE, "solo-author"), "api:test")
    assert got.created and got.verdict["status"] == "rejected"
    again = grouper.submit(NewComment("solo", OBSCENE, "solo-author"), "api:test")
    assert not again.created and again.verdict == got.verdict
    with pytest.raises(DuplicateIdConflict):
        grouper.submit(NewComment("solo", CLEAN, "solo-author"), "api:test")
    assert (grouper.groups, grouper.grouped) == (3, 3)
    # The same as the one-comment call the CLI and tests use.
    alone = submit_comment(
        svc.sessions, svc.pipeline, NewComment("solo-2", OBSCENE, "solo-author"), "api:test"
    )
    assert alone.verdict["scores"] == got.verdict["scores"]
    assert rows(app, "SELECT comment_count, rejected_count FROM authors WHERE site_id = 'solo-author'") == [
        (2, 2)
    ]


def test_on_sqlite_one_group_at_a_time_on_postgresql_two(app: Flask) -> None:
    """SQLite has one writer: a second group would only wait for the first one's lock."""
    leaders = services(app).submissions.leaders
    assert leaders == (1 if services(app).engine.dialect.name == "sqlite" else 2)
    grouper, gated, sender = held_open(app, leaders=leaders)
    sender.send(NewComment("second", OBSCENE, "author-second"))
    if leaders == 1:
        until(lambda: grouper.waiting == 1, "the second comment queued behind the held group")
    else:
        until(lambda: "second" in sender.outcomes, "the second comment stored meanwhile")
    gated.gate.set()
    sender.join()
    assert isinstance(sender.outcomes["second"], Submitted)


# -- PostgreSQL only: two groups under way at once, and a refusal by the server itself ----------


ON_POSTGRESQL = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@ON_POSTGRESQL
def test_a_second_group_goes_ahead_while_the_first_is_held(app: Flask) -> None:
    grouper, gated, sender = held_open(app, leaders=2)
    # The first group holds its transaction open; a comment by another author does not wait for it.
    got = grouper.submit(NewComment("meanwhile", CLEAN, "author-meanwhile"), "api:test")
    assert got.created and not gated.gate.is_set()
    # A comment by the held group's author waits for its row lock, then sees its count.
    sender.send(NewComment("same-author", OBSCENE, "author-first"))
    time.sleep(0.3)
    assert "same-author" not in sender.outcomes
    gated.gate.set()
    sender.join()
    assert isinstance(sender.outcomes["same-author"], Submitted)
    assert rows(app, "SELECT comment_count FROM authors WHERE site_id = 'author-first'") == [(2,)]


@ON_POSTGRESQL
def test_a_comment_the_server_refuses_fails_alone(app: Flask) -> None:
    grouper, gated, sender = held_open(app)
    # PostgreSQL's text holds no NUL: the driver refuses this title (the API refuses it earlier).
    sender.send(NewComment("ok-1", CLEAN, "author-ok-1", article_id="art", article_title="Story"))
    until(lambda: grouper.waiting == 1, "one waiting")
    sender.send(NewComment("bad", CLEAN, "author-bad", article_id="art-2", article_title="Bad\x00title"))
    sender.send(NewComment("ok-2", OBSCENE, "author-ok-2", article_id="art"))
    until(lambda: grouper.waiting == 3, "three waiting")
    gated.gate.set()
    sender.join()
    assert isinstance(sender.outcomes["bad"], Exception) and not isinstance(sender.outcomes["bad"], Submitted)
    assert [r[0] for r in rows(app, "SELECT site_id FROM comments ORDER BY site_id")] == [
        "first",
        "ok-1",
        "ok-2",
    ]
    assert rows(app, "SELECT COUNT(*) FROM articles WHERE site_id = 'art-2'")[0][0] == 0
