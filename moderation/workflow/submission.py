"""Submitting comments: idempotent by the site's id, stored with their verdict and history.

The verdict comes from :mod:`moderation.pipeline`; :func:`verdict_columns` is the one place it
becomes the stored columns (tags, queue, priority), for submission and ``rules reapply`` alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from ..database import connection_transaction
from ..models import Author, Comment, utcnow
from ..pipeline import CommentContext, Pipeline
from ..rules import RuleSet
from ..verdict import AuthorFacts, Verdict, VerdictPayload
from .audit import comment_verdict, verdict_payload
from .queue import priority, queue_for_status
from .rulehits import hit_rows
from .submission_store import Prepared, Stored, prepare_many, store_many


@dataclass(frozen=True, slots=True)
class NewComment:
    """A comment as the site submits it."""

    site_id: str
    text: str
    author_id: str
    author_name: str | None = None
    author_created_at: datetime | None = None
    article_id: str | None = None
    article_title: str | None = None
    article_url: str | None = None
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class Submitted:
    """The stored comment's id and verdict, and whether this call created it."""

    site_id: str
    verdict: VerdictPayload
    created: bool


class DuplicateIdConflict(Exception):
    """The site id is taken by a comment with different text."""


def text_digest(text: str) -> str:
    """The fingerprint used to tell a re-post from a conflicting one."""
    return hashlib.sha256(text.encode()).hexdigest()


def author_facts(author: Any, created_at: datetime | None = None) -> AuthorFacts:
    """What the rules may know about an author (a new author has no history).

    ``author`` is an :class:`Author` or a row with the same columns, or ``None``.
    """
    created = created_at or (author.account_created_at if author else None)
    age = (utcnow() - created).total_seconds() / 86400 if created else None
    if author is None:
        return AuthorFacts(account_age_days=age)
    return AuthorFacts(age, author.comment_count, author.rejected_count)


def comment_context(text: str, author: Any, created_at: datetime | None = None) -> CommentContext:
    """The pipeline's view of a comment: its text, the author's facts and ban / pre-moderation.

    ``author`` is the stored author (an :class:`Author` or a row with its columns), or ``None``
    for one the database does not know: then only ``created_at`` is known and no state applies.
    """
    facts = author_facts(author, created_at)
    if author is None:
        return CommentContext(text, facts)
    return CommentContext(text, facts, author.banned, author.premoderated, author.suspended_until)


def find_author(session: Session, site_id: str) -> Author | None:
    """An author by the site's id."""
    return session.scalar(select(Author).where(Author.site_id == site_id))


def find_authors(session: Session, site_ids: Iterable[str]) -> dict[str, Author]:
    """Authors by the site's ids; ids the database does not know are left out."""
    wanted = set(site_ids)
    if not wanted:
        return {}
    return {a.site_id: a for a in session.scalars(select(Author).where(Author.site_id.in_(wanted)))}


def get_comment(session: Session, site_id: str) -> Comment | None:
    """A comment by the site's id."""
    return session.scalar(select(Comment).where(Comment.site_id == site_id))


def _existing(connection: Connection, new: NewComment, digest: str) -> Submitted:
    with Session(bind=connection) as session:  # in the connection's transaction
        comment = get_comment(session, new.site_id)
        assert comment is not None
        if comment.text_sha256 != digest:
            raise DuplicateIdConflict(new.site_id)
        return Submitted(comment.site_id, comment_verdict(comment), created=False)


def submit_comment(
    sessions: sessionmaker[Session], pipeline: Pipeline, new: NewComment, actor: str
) -> Submitted:
    """Assess and store a new comment; a re-post of the same id returns the stored one.

    Two concurrent posts of one id store one comment: the insert is
    ``ON CONFLICT DO NOTHING`` on the unique site id, and the loser reads the
    winner's row. The statements are in :mod:`.submission_store` (two on PostgreSQL).
    """
    outcome = submit_comments(sessions, pipeline, [(new, actor)])[0]
    if isinstance(outcome, DuplicateIdConflict):
        raise outcome
    return outcome


def submit_comments(
    sessions: sessionmaker[Session], pipeline: Pipeline, comments: Sequence[tuple[NewComment, str]]
) -> list[Submitted | DuplicateIdConflict]:
    """:func:`submit_comment` for several comments (each with its actor) in one transaction.

    Their ids must be distinct and so must their authors (a caller puts a second comment by
    one author in a later call, so that it sees the first one's counts). On PostgreSQL the
    group costs two round trips besides BEGIN and COMMIT, the verdicts are one batch, and the
    authors are locked in the order of their ids. Each comment's outcome, in order: what
    :func:`submit_comment` returns, or the :class:`DuplicateIdConflict` it would raise; an
    error of the database fails them all (nothing of the group is stored).
    """
    if len({new.site_id for new, _ in comments}) < len(comments) or len(
        {new.author_id for new, _ in comments}
    ) < len(comments):
        raise ValueError("a group's comments need distinct ids and distinct authors")
    order = sorted(range(len(comments)), key=lambda i: comments[i][0].author_id)
    digests = [text_digest(new.text) for new, _ in comments]
    outcomes: dict[int, Submitted | DuplicateIdConflict] = {}
    with connection_transaction(sessions) as connection:
        first_seen = utcnow()
        found = prepare_many(connection, [_prepare_params(comments[i][0], first_seen) for i in order])
        fresh = [(i, ready) for i, ready in zip(order, found, strict=True) if ready is not None]
        contexts = [comment_context(comments[i][0].text, ready.author) for i, ready in fresh]
        verdicts = pipeline.run(contexts) if contexts else []
        now = utcnow()
        rows = [
            _stored_rows(*comments[i], digests[i], ready, verdict, pipeline, now)
            for (i, ready), verdict in zip(fresh, verdicts, strict=True)
        ]
        inserted = store_many(connection, rows)
        for (i, _), verdict, (values, _), comment_pk in zip(fresh, verdicts, rows, inserted, strict=True):
            if comment_pk is not None:
                # From what was stored: reading the row back would cost another query.
                payload = verdict_payload(verdict.status, verdict.visible, values["verdict"])
                outcomes[i] = Submitted(comments[i][0].site_id, payload, created=True)
        for i in order:
            if i not in outcomes:  # the id was taken, before or meanwhile
                outcomes[i] = _existing_or_conflict(connection, comments[i][0], digests[i])
    return [outcomes[i] for i in range(len(comments))]


def _prepare_params(new: NewComment, first_seen: datetime) -> tuple[dict[str, Any], bool]:
    params = {
        "comment_site_id": new.site_id,
        "author_site_id": new.author_id,
        "author_name": new.author_name,
        "author_created_at": new.author_created_at,
        "author_first_seen_at": first_seen,
        "article_site_id": new.article_id,
        "article_title": new.article_title,
        "article_url": new.article_url,
    }
    return params, new.article_id is not None


def _stored_rows(
    new: NewComment,
    actor: str,
    digest: str,
    prepared: Prepared,
    verdict: Verdict,
    pipeline: Pipeline,
    now: datetime,
) -> tuple[dict[str, Any], Stored]:
    """The comment's columns and what is stored with it (audit entry, counters, rule hits)."""
    author_pk, article_pk = prepared.author.id, prepared.article_pk
    values = {
        "site_id": new.site_id,
        "text": new.text,
        "text_sha256": digest,
        "author_id": author_pk,
        "article_id": article_pk,
        "parent_site_id": new.parent_id,
        "status": verdict.status,
        "visible": verdict.visible,
        **verdict_columns(verdict, pipeline.rules),
        "report_count": 0,
        "report_weight": 0.0,
        "brigade": False,
        "submitted_by": actor,
        "created_at": now,
        "updated_at": now,
        "revision": 0,
    }
    audit = {
        "author_id": author_pk,
        "action": "verdict",
        "actor": f"rules:{verdict.rules_version}",
        "from_status": None,
        "to_status": verdict.status,
        "from_visible": None,
        "to_visible": verdict.visible,
        "site_rule": None,
        "reason": "; ".join(verdict.reasons) or None,
        "note": None,
        "details": None,
        "created_at": now,
    }
    return values, Stored(author_pk, verdict.status == "rejected", audit, hit_rows(verdict))


def _existing_or_conflict(
    connection: Connection, new: NewComment, digest: str
) -> Submitted | DuplicateIdConflict:
    try:
        return _existing(connection, new, digest)
    except DuplicateIdConflict as conflict:
        return conflict


def tag_string(tags: Iterable[str]) -> str:
    """Tags stored as " a b " so a filter can look for " a "."""
    unique = sorted(set(tags))
    return f" {' '.join(unique)} " if unique else ""


def verdict_columns(verdict: Verdict, rules: RuleSet, report_weight: float = 0.0) -> dict[str, Any]:
    """The stored columns that follow from a verdict, except status and visibility (which
    a caller sets itself: submission directly, reapply through the audited change)."""
    verdict_dict = verdict.to_dict()
    site_rule_keys = {r.key for m in verdict.matches if (r := rules.site_rule(m.site_rule))}
    return {
        "verdict": verdict_dict,
        "categories": tag_string(m.category for m in verdict.matches),
        "site_rules": tag_string(site_rule_keys),
        "queue": queue_for_status(verdict.status),
        "priority": priority(verdict_dict, report_weight, rules.reports, set()),
        "rules_version": verdict.rules_version,
        "model_version": verdict.model_version,
        **contribution_columns(verdict_dict),
    }


def contribution_columns(verdict: Mapping[str, Any]) -> dict[str, Any]:
    """The featuring columns that follow from a verdict: top contribution score and candidacy."""
    block = verdict.get("contribution")
    if not block:
        return {"contribution": None, "candidate": False}
    return {"contribution": block.get("score"), "candidate": bool(block.get("candidate"))}
