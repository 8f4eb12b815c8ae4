"""Featuring comments: the editors' candidates, their feature / dismiss choice, and what the site shows.

A comment is a candidate when its verdict says so (the contribution block's ``candidate``: an
approved comment the contribution head or a ``feature_candidate`` rule picked). Editors feature
it (the site shows it among readers' picks) or dismiss it; both are audited, featuring and
unfeaturing push ``comment.featured`` / ``comment.unfeatured`` webhooks through the outbox, and
both are training data for the contribution head (:func:`decision_examples`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from ..categories import CONTRIBUTION_LABELS
from ..models import Article, Comment, utcnow
from ..shapes import OneOf, Timestamp, shape
from ..verdict import ContributionSpan
from .audit import FEATURED_EVENT, UNFEATURED_EVENT, Notify, lock, record_change

FEATURED = "featured"
DISMISSED = "dismissed"
# What an editor can do, and the feature state each leaves.
ACTIONS = {"feature": FEATURED, "dismiss": DISMISSED, "unfeature": None}


class FeatureRefused(Exception):
    """The comment cannot take this choice (not approved and visible, or already in that state)."""


@dataclass(frozen=True, slots=True)
class ArticleCandidates:
    """One article's candidates, best first."""

    article_id: str | None
    title: str | None
    url: str | None
    comments: list[Comment]


def _open_candidates() -> Any:
    return select(Comment).where(
        Comment.candidate.is_(True),
        Comment.feature_state.is_(None),
        Comment.status == "approved",
        Comment.visible.is_(True),
    )


def candidates(session: Session, article: str | None = None, limit: int = 200) -> list[ArticleCandidates]:
    """Candidates nobody has featured or dismissed yet, per article (best article first), each
    article's sorted by contribution score."""
    query = _open_candidates().order_by(Comment.contribution.desc(), Comment.id)
    if article is not None:
        query = query.join(Article, Comment.article_id == Article.id).where(Article.site_id == article)
    groups: dict[int | None, ArticleCandidates] = {}
    for comment in session.scalars(query.limit(limit)):
        key = comment.article_id
        if key not in groups:
            art = comment.article
            groups[key] = ArticleCandidates(
                art.site_id if art else None, art.title if art else None, art.url if art else None, []
            )
        groups[key].comments.append(comment)
    return list(groups.values())


def featured(session: Session, article_site_id: str) -> list[Comment] | None:
    """An article's featured comments that are still shown, in the order they were featured;
    None for an article the service does not know."""
    article = session.scalar(select(Article).where(Article.site_id == article_site_id))
    if article is None:
        return None
    query = (
        select(Comment)
        .where(Comment.article_id == article.id, Comment.feature_state == FEATURED, Comment.visible.is_(True))
        .order_by(Comment.featured_at, Comment.id)
    )
    return list(session.scalars(query))


def choose(session: Session, comment: Comment, action: str, actor: str, notify: Notify) -> Comment:
    """Feature, dismiss or unfeature one comment, audited (the caller commits).

    Featuring needs an approved, visible comment; a webhook goes out when the site's picks
    change (featured, or no longer featured).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    lock(session, comment)
    before, after = comment.feature_state, ACTIONS[action]
    if before == after:
        raise FeatureRefused(f"the comment is already {after or 'not featured'}")
    if after == FEATURED and not (comment.status == "approved" and comment.visible):
        raise FeatureRefused("only an approved, visible comment can be featured")
    comment.feature_state = after
    if after == FEATURED:
        comment.featured_at, comment.featured_by = utcnow(), actor
    elif before == FEATURED:
        comment.featured_at, comment.featured_by = None, None
    event = FEATURED_EVENT if after == FEATURED else UNFEATURED_EVENT if before == FEATURED else None
    block = (comment.verdict or {}).get("contribution") or {}
    record_change(
        session,
        comment,
        actor=actor,
        action=action,
        notify=notify,
        details={"feature_state": [before, after], "kind": block.get("kind"), "score": comment.contribution},
        event=event,
    )
    return comment


@shape
class FeaturedComment(TypedDict):
    """A featured comment, as the site's readers' picks show it."""

    id: str
    author_id: str | None
    kind: Annotated[str, OneOf(CONTRIBUTION_LABELS)] | None
    score: float | None
    spans: list[ContributionSpan]
    featured_at: Timestamp | None
    featured_by: str | None


@shape
class FeaturedList(TypedDict):
    """An article's featured comments still shown, in the order editors featured them."""

    article_id: str
    featured: list[FeaturedComment]


def featured_payload(comment: Comment) -> FeaturedComment:
    """One featured comment as the site's readers' picks endpoint shows it."""
    block = (comment.verdict or {}).get("contribution") or {}
    return {
        "id": comment.site_id,
        "author_id": comment.author.site_id if comment.author else None,
        "kind": block.get("kind"),
        "score": comment.contribution,
        "spans": block.get("spans", []),
        "featured_at": comment.featured_at.isoformat() if comment.featured_at else None,
        "featured_by": comment.featured_by,
    }


@dataclass(frozen=True, slots=True)
class LabelledText:
    """A decided comment as a training row: 1 or 0 per contribution label (absent: unknown)."""

    text: str
    labels: dict[str, int]


def decision_rows(session: Session) -> Sequence[LabelledText]:
    """Editors' choices as training rows: a featured comment is positive on the kind its verdict
    named (other labels unknown); a dismissed one is negative on every label."""
    rows = session.scalars(select(Comment).where(Comment.feature_state.in_((FEATURED, DISMISSED))))
    out = []
    for comment in rows:
        if comment.feature_state == DISMISSED:
            out.append(LabelledText(comment.text, {label: 0 for label in CONTRIBUTION_LABELS}))
            continue
        kind = ((comment.verdict or {}).get("contribution") or {}).get("kind")
        if kind in CONTRIBUTION_LABELS:
            out.append(LabelledText(comment.text, {kind: 1}))
    return out
