"""The review queue: what is in it, in which order, and who is looking at what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnExpressionArgument, Select, func, or_, select, update
from sqlalchemy.orm import Session

from ..categories import SCORED_CATEGORIES
from ..database import rowcount
from ..models import Article, Comment, utcnow
from ..rules.reportpolicy import ReportPolicy

QUEUE_STATES = ("pending", "flagged", "reported")
LISTINGS = (*QUEUE_STATES, "decided", "approved", "rejected")
SORTS = ("priority", "newest", "oldest")
CLAIM_MINUTES = 5


class QueueConflict(Exception):
    """Someone else holds or decided the item; the message says who."""


# The classifier's categories count towards urgency; toxicity (their sum) and the contribution
# head's labels (good news) do not.
_URGENT_SCORES = frozenset(SCORED_CATEGORIES) - {"toxicity"}


def priority(
    verdict: Mapping[str, Any], report_weight: float, policy: ReportPolicy, reasons: set[str]
) -> float:
    """Urgency: the severest category among matches and report reasons, the top score, the reports."""
    categories = {m["category"] for m in verdict.get("matches", [])} | reasons
    severity = max((policy.severity.get(c, 1.0) for c in categories), default=0.0)
    scores = verdict.get("scores") or {}
    top_score = max((v for k, v in scores.items() if k in _URGENT_SCORES), default=0.0)
    return round(severity + 2.0 * top_score + report_weight, 4)


def queue_for_status(status: str) -> str | None:
    """Where a freshly decided comment goes: flagged and pending comments are reviewed."""
    return status if status in ("pending", "flagged") else None


@dataclass(frozen=True, slots=True)
class Filters:
    """Queue filters, as the API and the review page take them."""

    article: str | None = None
    category: str | None = None
    site_rule: str | None = None


_Row = TypeVarTuple("_Row")


def _filtered(query: Select[*_Row], filters: Filters) -> Select[*_Row]:
    if filters.article:
        query = query.join(Article, Comment.article_id == Article.id).where(
            Article.site_id == filters.article
        )
    if filters.category:
        query = query.where(Comment.categories.contains(f" {filters.category} ", autoescape=True))
    if filters.site_rule:
        query = query.where(Comment.site_rules.contains(f" {filters.site_rule} ", autoescape=True))
    return query


def listing_query(listing: str, filters: Filters, sort: str = "priority") -> Select[Comment]:
    """Comments in one listing, in order."""
    query = select(Comment)
    if listing in QUEUE_STATES:
        query = query.where(Comment.queue == listing)
    elif listing == "decided":
        query = query.where(Comment.queue.is_(None), Comment.decided_by.is_not(None))
    else:  # approved / rejected by a moderator
        query = query.where(
            Comment.queue.is_(None), Comment.decided_by.is_not(None), Comment.status == listing
        )
    query = _filtered(query, filters)
    order: tuple[ColumnExpressionArgument[Any], ...]
    if listing in QUEUE_STATES:
        order = {
            "priority": (Comment.priority.desc(), Comment.created_at, Comment.id),
            "newest": (Comment.created_at.desc(), Comment.id.desc()),
            "oldest": (Comment.created_at, Comment.id),
        }[sort]
    else:
        order = (Comment.decided_at.desc(), Comment.id.desc()) if sort != "oldest" else (Comment.decided_at,)
    return query.order_by(*order)


def list_queue(
    session: Session,
    listing: str,
    filters: Filters,
    sort: str = "priority",
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Comment], int]:
    """One page of a listing and the listing's total size."""
    query = listing_query(listing, filters, sort)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return items, total


def queue_counts(session: Session, filters: Filters = Filters()) -> dict[str, int]:
    """How many comments wait in each queue state."""
    query = _filtered(select(Comment.queue, func.count()).where(Comment.queue.is_not(None)), filters)
    counts = dict.fromkeys(QUEUE_STATES, 0)
    for state, count in session.execute(query.group_by(Comment.queue)):
        assert state is not None  # the query leaves out comments outside the queue
        counts[state] = count
    return counts


def _claimable(actor: str | None, now: Any) -> Any:
    """Unclaimed, expired, or (when ``actor`` is given) already the actor's own."""
    free = or_(Comment.claimed_by.is_(None), Comment.claimed_until < now)
    return free if actor is None else or_(free, Comment.claimed_by == actor)


def claim_next(
    session: Session, actor: str, listing: str, filters: Filters, minutes: float = CLAIM_MINUTES
) -> Comment | None:
    """Claim the most urgent unclaimed item, so two moderators never review the same one.

    On PostgreSQL the candidate row is locked with SKIP LOCKED, so concurrent
    moderators each get a different item instead of waiting on each other.
    """
    now = utcnow()
    for _ in range(5):
        # Items the moderator already holds are skipped: "next" moves on.
        query = listing_query(listing, filters).where(_claimable(None, now)).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Comment)
        comment = session.scalars(query).first()
        if comment is None:
            return None
        if _take(session, comment, actor, now, minutes):
            return comment
    return None


def _take(session: Session, comment: Comment, actor: str, now: Any, minutes: float) -> bool:
    """Set the claim if it is still free (a conditional UPDATE: safe without row locks too)."""
    result = session.execute(
        update(Comment)
        .where(Comment.id == comment.id, _claimable(actor, now))
        .values(claimed_by=actor, claimed_until=now + timedelta(minutes=minutes))
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        return False
    session.refresh(comment)
    return True


def claim(session: Session, comment: Comment, actor: str, minutes: float = CLAIM_MINUTES) -> None:
    """Claim one item; refused while someone else's claim is live."""
    now = utcnow()
    if not _take(session, comment, actor, now, minutes):
        session.refresh(comment)
        raise QueueConflict(
            f"{comment.claimed_by} is reviewing this comment until {comment.claimed_until:%H:%M:%S} UTC"
        )
