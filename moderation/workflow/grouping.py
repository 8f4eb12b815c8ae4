"""Submissions that arrive together are stored together.

A worker's request threads hand their comments to one :class:`Grouper`. A thread that arrives
while fewer than ``leaders`` groups are under way leads: it takes every comment waiting (its own
first), submits them in one transaction with one verdict batch (:func:`submit_comments`), hands
each waiting thread its outcome, and passes the lead to the first comment that arrived
meanwhile. A comment alone is submitted at once, as before; under load a group costs one
BEGIN, two round trips and one COMMIT on PostgreSQL instead of that per comment, and its
verdicts are scored as a batch. Two groups may be under way at once, so that the next group is
read and scored while the last one waits for its commit.

A group holds at most one comment per author and per id (a second one waits for the next
group, and sees the first one's counts, as one at a time would). Another group under way with
the same author waits for the row lock, as concurrent requests always did. If a group of
several fails (say a deadlock, possible only when two groups change the same articles' titles
in crossed order), each of its comments is tried again alone: no comment can fail another.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from ..pipeline import Pipeline
from .submission import DuplicateIdConflict, NewComment, Submitted, submit_comments

MAX_GROUP = 32  # comments a group takes at most
LEADERS = 2  # groups under way at once in one process


@dataclass(slots=True, eq=False)
class _Waiting:
    new: NewComment
    actor: str
    ready: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    outcome: Submitted | DuplicateIdConflict | None = None
    error: BaseException | None = None

    def result(self) -> Submitted:
        if self.error is not None:
            raise self.error
        if isinstance(self.outcome, DuplicateIdConflict):
            raise self.outcome
        assert self.outcome is not None
        return self.outcome


class Grouper:
    """Submits comments for many threads, in groups of those that arrive together."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        pipeline: Pipeline,
        max_group: int = MAX_GROUP,
        leaders: int = LEADERS,
    ) -> None:
        self._sessions = sessions
        self._pipeline = pipeline
        self._max_group = max_group
        self._max_leaders = leaders
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []
        self._leaders = 0
        self.groups = 0  # groups submitted, and the comments in them (for the bench and tests)
        self.grouped = 0

    @property
    def leaders(self) -> int:
        """How many groups may be under way at once."""
        return self._max_leaders

    @property
    def waiting(self) -> int:
        """Comments waiting for a group to take them."""
        with self._lock:
            return len(self._waiting)

    def submit(self, new: NewComment, actor: str) -> Submitted:
        """What :func:`~moderation.workflow.submission.submit_comment` returns (or raises)."""
        me = _Waiting(new, actor)
        with self._lock:
            lead = self._leaders < self._max_leaders
            if lead:
                self._leaders += 1
            else:
                self._waiting.append(me)
        if not lead:
            me.ready.wait()
            if not me.lead:  # a group took it
                return me.result()
        group = self._take(me)
        try:
            self._submit(group)
        finally:
            with self._lock:
                # The lead passes to the comment that has waited longest, out of the queue.
                successor = self._waiting.pop(0) if self._waiting else None
                if successor is None:
                    self._leaders -= 1
                else:
                    successor.lead = True
            if successor is not None:
                successor.ready.set()
            for waiting in group:
                if waiting.outcome is None and waiting.error is None:  # interrupted
                    waiting.error = RuntimeError("the group's submission was interrupted")
                if waiting is not me:
                    waiting.ready.set()
        return me.result()

    def _take(self, leader: _Waiting) -> list[_Waiting]:
        """The leader's group: it, then the comments waiting in order, one per id and author."""
        group = [leader]
        ids, authors = {leader.new.site_id}, {leader.new.author_id}
        with self._lock:
            rest: list[_Waiting] = []
            for waiting in self._waiting:
                new = waiting.new
                if len(group) < self._max_group and new.site_id not in ids and new.author_id not in authors:
                    group.append(waiting)
                    ids.add(new.site_id)
                    authors.add(new.author_id)
                else:
                    rest.append(waiting)
            self._waiting = rest
            self.groups += 1
            self.grouped += len(group)
        return group

    def _submit(self, group: list[_Waiting]) -> None:
        pipeline = self._pipeline
        try:
            outcomes = submit_comments(self._sessions, pipeline, [(w.new, w.actor) for w in group])
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                return
            for waiting in group:  # alone, so one refused comment fails no other
                try:
                    waiting.outcome = submit_comments(
                        self._sessions, pipeline, [(waiting.new, waiting.actor)]
                    )[0]
                except Exception as alone:
                    waiting.error = alone
            return
        for waiting, outcome in zip(group, outcomes, strict=True):
            waiting.outcome = outcome
