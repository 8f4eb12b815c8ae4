"""The moderation API (keys with the `moderate` scope): queue, claims, decisions, authors, webhooks.

Reports come from the site's backend with a `submit` key and live here too. Conflicts
(QueueConflict, a stale revision) and invalid decisions become 409 and 422 in ``errors.py``.
"""

from __future__ import annotations

from flask import Blueprint, g
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Author, Comment
from ..workflow.authors import (
    AuthorActionError,
    AuthorPayload,
    add_note,
    author_summary,
    remove_note,
    set_flag,
)
from ..workflow.decisions import decide, undo
from ..workflow.queue import Filters, claim, claim_next, list_queue, queue_counts
from ..workflow.reports import report_comment
from ..workflow.submission import find_author, get_comment
from ..workflow.webhooks import list_deliveries
from .api import require_key
from .errors import ApiError
from .extension import services
from .openapi import Reply, operation
from .responses import (
    AuditLog,
    Deliveries,
    QueueItem,
    QueueListing,
    ReportResult,
    audit_payload,
    delivery_payload,
    item_payload,
)
from .schemas import ClaimIn, DecisionIn, DeliveriesQuery, NoteIn, QueueQuery, ReportIn, UndoIn

bp = Blueprint("moderation_api", __name__, url_prefix="/api/v1")


def _actor() -> str:
    return f"api:{g.caller.name}"


def _comment(session: Session, site_id: str) -> Comment:
    comment = get_comment(session, site_id)
    if comment is None:
        raise ApiError(404, "not_found", f"no comment with id {site_id!r}")
    return comment


@bp.post("/comments/<site_id:site_id>/reports")
@require_key("submit")
@operation(
    {
        201: (ReportResult, "counted"),
        200: (ReportResult, "this reader had already reported it: not counted again"),
    },
    errors=(404,),
    body=ReportIn,
)
def report(site_id: str, body: ReportIn) -> Reply:
    """A reader reports a comment; the same reader again is not counted twice."""
    svc = services()
    with svc.transaction() as session:
        comment = _comment(session, site_id)
        result = report_comment(
            session,
            comment,
            body.reporter_id,
            body.reason,
            body.note,
            svc.pipeline.rules.reports,
            svc.notify,
            body.reporter_created_at,
        )
        payload: ReportResult = {
            "comment_id": comment.site_id,
            "report_count": comment.report_count,
            "status": comment.status,
            "visible": comment.visible,
        }
    return payload, 201 if result.created else 200


@bp.get("/queue")
@require_key("moderate")
@operation({200: (QueueListing, "one page of the listing")}, query=QueueQuery)
def queue_listing(query: QueueQuery) -> QueueListing:
    """One page of a listing: pending, flagged, reported, decided, approved or rejected."""
    listing, sort, page, per_page = query.state, query.sort, query.page, query.per_page
    filters = Filters(query.article, query.category, query.site_rule)
    with services().sessions() as session:
        items, total = list_queue(session, listing, filters, sort, page, per_page)
        return {
            "state": listing,
            "sort": sort,
            "page": page,
            "per_page": per_page,
            "total": total,
            "counts": queue_counts(session, filters),
            "items": [item_payload(session, c) for c in items],
        }


@bp.post("/queue/next")
@require_key("moderate")
@operation(
    {200: (QueueItem, "the item, claimed for you")},
    errors=(404,),
    body=ClaimIn,
    body_required=False,  # an empty body: the pending queue, unfiltered
)
def queue_next(body: ClaimIn) -> QueueItem:
    """Claim the most urgent unclaimed item of a listing for a few minutes."""
    svc = services()
    with svc.transaction() as session:
        comment = claim_next(
            session,
            _actor(),
            body.listing,
            Filters(body.article, body.category, body.site_rule),
            svc.claim_minutes,
        )
        if comment is None:
            raise ApiError(404, "queue_empty", f"nothing unclaimed in the {body.listing} queue")
        return item_payload(session, comment)


@bp.post("/comments/<site_id:site_id>/claim")
@require_key("moderate")
@operation({200: (QueueItem, "the item, claimed for you")}, errors=(404, 409))
def claim_item(site_id: str) -> QueueItem:
    """Claim one item; refused while another moderator holds it."""
    svc = services()
    with svc.transaction() as session:
        comment = _comment(session, site_id)
        claim(session, comment, _actor(), svc.claim_minutes)
        return item_payload(session, comment)


@bp.post("/comments/<site_id:site_id>/decision")
@require_key("moderate")
@operation({200: (QueueItem, "the item as decided")}, errors=(404, 409, 422), body=DecisionIn)
def decision(site_id: str, body: DecisionIn) -> QueueItem:
    """Approve or reject; send the `revision` you saw so a decision on a stale view is refused."""
    svc = services()
    with svc.transaction() as session:
        comment = _comment(session, site_id)
        rules = svc.pipeline.rules
        decide(
            session,
            comment,
            _actor(),
            body.action,
            rules,
            svc.notify,
            body.site_rule,
            body.note,
            body.revision,
        )
        return item_payload(session, comment)


@bp.post("/comments/<site_id:site_id>/undo")
@require_key("moderate")
@operation(
    {200: (QueueItem, "the item as it was before the decision")},
    errors=(404, 409, 422),
    body=UndoIn,
    body_required=False,  # no body: undo whatever the last decision is
)
def undo_decision(site_id: str, body: UndoIn) -> QueueItem:
    """Undo the comment's last decision; send the `revision` you saw (the one the decision
    returned) so an undo from a stale view cannot reverse a decision you never saw."""
    svc = services()
    with svc.transaction() as session:
        comment = _comment(session, site_id)
        undo(session, comment, _actor(), svc.notify, body.revision)
        return item_payload(session, comment)


@bp.get("/comments/<site_id:site_id>/audit")
@require_key("moderate")
@operation({200: (AuditLog, "the comment's history")}, errors=(404,))
def comment_audit(site_id: str) -> AuditLog:
    """Everything that happened to a comment, oldest first."""
    with services().sessions() as session:
        comment = _comment(session, site_id)
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.comment_id == comment.id).order_by(AuditEntry.id)
        )
        return {"comment_id": comment.site_id, "entries": [audit_payload(e) for e in entries]}


def _author(session: Session, site_id: str) -> Author:
    author = find_author(session, site_id)
    if author is None:
        raise ApiError(404, "not_found", f"no author with id {site_id!r}")
    return author


@bp.get("/authors/<site_id:site_id>")
@require_key("moderate")
@operation({200: (AuthorPayload, "the author")}, errors=(404,))
def author_view(site_id: str) -> AuthorPayload:
    """An author's state, notes and recent comments."""
    with services().sessions() as session:
        return author_summary(session, _author(session, site_id))


@bp.post("/authors/<site_id:site_id>/notes")
@require_key("moderate")
@operation({201: (AuthorPayload, "noted; the author")}, errors=(404,), body=NoteIn)
def author_note(site_id: str, body: NoteIn) -> Reply:
    """Add a note to an author."""
    with services().transaction() as session:
        author = _author(session, site_id)
        add_note(session, author, body.text, _actor())
        payload = author_summary(session, author)
    return payload, 201


@bp.delete("/authors/<site_id:site_id>/notes/<row_id:note_id>")
@require_key("moderate")
@operation({200: (AuthorPayload, "removed; the author")}, errors=(404,))
def author_note_remove(site_id: str, note_id: int) -> AuthorPayload:
    """Remove a note (kept in the audit log)."""
    with services().transaction() as session:
        author = _author(session, site_id)
        try:
            remove_note(session, author, note_id, _actor())
        except AuthorActionError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        return author_summary(session, author)


def _flag(site_id: str, flag: str, on: bool) -> AuthorPayload:
    with services().transaction() as session:
        author = _author(session, site_id)
        set_flag(session, author, flag, on, _actor())
        return author_summary(session, author)


_AUTHOR = {200: (AuthorPayload, "the author")}


@bp.put("/authors/<site_id:site_id>/premoderation")
@require_key("moderate")
@operation(_AUTHOR, errors=(404,))
def premoderate(site_id: str) -> AuthorPayload:
    """Hold all the author's future comments for review."""
    return _flag(site_id, "premoderated", True)


@bp.delete("/authors/<site_id:site_id>/premoderation")
@require_key("moderate")
@operation(_AUTHOR, errors=(404,))
def unpremoderate(site_id: str) -> AuthorPayload:
    """Stop pre-moderating the author."""
    return _flag(site_id, "premoderated", False)


@bp.put("/authors/<site_id:site_id>/ban")
@require_key("moderate")
@operation(_AUTHOR, errors=(404,))
def ban(site_id: str) -> AuthorPayload:
    """Reject all the author's future comments."""
    return _flag(site_id, "banned", True)


@bp.delete("/authors/<site_id:site_id>/ban")
@require_key("moderate")
@operation(_AUTHOR, errors=(404,))
def unban(site_id: str) -> AuthorPayload:
    """Lift the ban."""
    return _flag(site_id, "banned", False)


@bp.get("/webhooks/deliveries")
@require_key("moderate")
@operation({200: (Deliveries, "the deliveries")}, query=DeliveriesQuery)
def deliveries(query: DeliveriesQuery) -> Deliveries:
    """Webhook deliveries with their state, newest first."""
    with services().sessions() as session:
        return {"deliveries": [delivery_payload(d) for d in list_deliveries(session, query.state)]}
