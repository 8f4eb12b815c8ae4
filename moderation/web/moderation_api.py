"""The moderation API (keys with the `moderate` scope): queue, claims, decisions, authors, webhooks.

Reports come from the site's backend with a `submit` key and live here too. Conflicts
(QueueConflict, a stale revision) and invalid decisions become 409 and 422 in ``errors.py``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEntry, Comment
from ..workflow.audit import comment_payload
from ..workflow.authors import AuthorActionError, add_note, author_summary, remove_note, set_flag
from ..workflow.decisions import decide, undo
from ..workflow.queue import Filters, claim, claim_next, list_queue, queue_counts
from ..workflow.reports import list_reports, report_comment
from ..workflow.rulehits import shadow_matches
from ..workflow.submission import find_author, get_comment
from ..workflow.webhooks import list_deliveries
from .api import require_key
from .errors import ApiError
from .extension import services
from .schemas import (
    ClaimIn,
    DecisionIn,
    DeliveriesQuery,
    NoteIn,
    QueueQuery,
    ReportIn,
    parse_body,
    parse_query,
)

bp = Blueprint("moderation_api", __name__, url_prefix="/api/v1")


def _actor() -> str:
    return f"api:{g.caller.name}"


def _comment(session: Session, site_id: str) -> Comment:
    comment = get_comment(session, site_id)
    if comment is None:
        raise ApiError(404, "not_found", f"no comment with id {site_id!r}")
    return comment


def item_payload(session: Session, comment: Comment, reports: bool = True) -> dict[str, Any]:
    """A queue item: the comment, its verdict, why it is here, and its reports."""
    payload = {
        **comment_payload(comment),
        "text": comment.text,
        "priority": comment.priority,
        "brigade": comment.brigade,
        "report_weight": comment.report_weight,
        "claimed_by": comment.claimed_by,
        "claimed_until": comment.claimed_until.isoformat() if comment.claimed_until else None,
        "revision": comment.revision,
        "created_at": comment.created_at.isoformat(),
        "shadow_matches": shadow_matches(session, comment),
        "article": {"id": comment.article.site_id, "title": comment.article.title, "url": comment.article.url}
        if comment.article
        else None,
    }
    if reports:
        payload["reports"] = [{**r, "at": r["at"].isoformat()} for r in list_reports(session, comment)]
    return payload


@bp.post("/comments/<site_id:site_id>/reports")
@require_key("submit")
def report(site_id: str):  # type: ignore[no-untyped-def]
    """A reader reports a comment; the same reader again is not counted twice."""
    body = parse_body(ReportIn, request.get_data(cache=False))
    svc = services()
    with svc.sessions() as session, session.begin():
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
        payload = {
            "comment_id": comment.site_id,
            "report_count": comment.report_count,
            "status": comment.status,
            "visible": comment.visible,
        }
    return jsonify(payload), 201 if result.created else 200


@bp.get("/queue")
@require_key("moderate")
def queue_listing():  # type: ignore[no-untyped-def]
    """One page of a listing: pending, flagged, reported, decided, approved or rejected."""
    query = parse_query(QueueQuery, request.args)
    listing, sort, page, per_page = query.state, query.sort, query.page, query.per_page
    filters = Filters(query.article, query.category, query.site_rule)
    with services().sessions() as session:
        items, total = list_queue(session, listing, filters, sort, page, per_page)
        payload = {
            "state": listing,
            "sort": sort,
            "page": page,
            "per_page": per_page,
            "total": total,
            "counts": queue_counts(session, filters),
            "items": [item_payload(session, c) for c in items],
        }
    return jsonify(payload)


@bp.post("/queue/next")
@require_key("moderate")
def queue_next():  # type: ignore[no-untyped-def]
    """Claim the most urgent unclaimed item of a listing for a few minutes."""
    raw = request.get_data(cache=False)
    body = parse_body(ClaimIn, raw) if raw.strip() else ClaimIn()
    svc = services()
    with svc.sessions() as session, session.begin():
        comment = claim_next(
            session,
            _actor(),
            body.listing,
            Filters(body.article, body.category, body.site_rule),
            svc.claim_minutes,
        )
        if comment is None:
            raise ApiError(404, "queue_empty", f"nothing unclaimed in the {body.listing} queue")
        payload = item_payload(session, comment)
    return jsonify(payload)


@bp.post("/comments/<site_id:site_id>/claim")
@require_key("moderate")
def claim_item(site_id: str):  # type: ignore[no-untyped-def]
    """Claim one item; refused while another moderator holds it."""
    svc = services()
    with svc.sessions() as session, session.begin():
        comment = _comment(session, site_id)
        claim(session, comment, _actor(), svc.claim_minutes)
        payload = item_payload(session, comment)
    return jsonify(payload)


@bp.post("/comments/<site_id:site_id>/decision")
@require_key("moderate")
def decision(site_id: str):  # type: ignore[no-untyped-def]
    """Approve or reject; send the `revision` you saw so a decision on a stale view is refused."""
    body = parse_body(DecisionIn, request.get_data(cache=False))
    svc = services()
    with svc.sessions() as session, session.begin():
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
        payload = item_payload(session, comment)
    return jsonify(payload)


@bp.post("/comments/<site_id:site_id>/undo")
@require_key("moderate")
def undo_decision(site_id: str):  # type: ignore[no-untyped-def]
    """Undo the comment's last decision."""
    svc = services()
    with svc.sessions() as session, session.begin():
        comment = _comment(session, site_id)
        undo(session, comment, _actor(), svc.notify)
        payload = item_payload(session, comment)
    return jsonify(payload)


def audit_payload(entry: AuditEntry) -> dict[str, Any]:
    """One audit log entry."""
    return {
        "id": entry.id,
        "action": entry.action,
        "actor": entry.actor,
        "at": entry.created_at.isoformat(),
        "from_status": entry.from_status,
        "to_status": entry.to_status,
        "from_visible": entry.from_visible,
        "to_visible": entry.to_visible,
        "site_rule": entry.site_rule,
        "reason": entry.reason,
        "note": entry.note,
    }


@bp.get("/comments/<site_id:site_id>/audit")
@require_key("moderate")
def comment_audit(site_id: str):  # type: ignore[no-untyped-def]
    """Everything that happened to a comment, oldest first."""
    with services().sessions() as session:
        comment = _comment(session, site_id)
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.comment_id == comment.id).order_by(AuditEntry.id)
        )
        payload = {"comment_id": comment.site_id, "entries": [audit_payload(e) for e in entries]}
    return jsonify(payload)


def _author(session: Session, site_id: str):  # type: ignore[no-untyped-def]
    author = find_author(session, site_id)
    if author is None:
        raise ApiError(404, "not_found", f"no author with id {site_id!r}")
    return author


@bp.get("/authors/<site_id:site_id>")
@require_key("moderate")
def author_view(site_id: str):  # type: ignore[no-untyped-def]
    """An author's state, notes and recent comments."""
    with services().sessions() as session:
        payload = author_summary(session, _author(session, site_id))
    return jsonify(payload)


@bp.post("/authors/<site_id:site_id>/notes")
@require_key("moderate")
def author_note(site_id: str):  # type: ignore[no-untyped-def]
    """Add a note to an author."""
    body = parse_body(NoteIn, request.get_data(cache=False))
    with services().sessions() as session, session.begin():
        author = _author(session, site_id)
        add_note(session, author, body.text, _actor())
        payload = author_summary(session, author)
    return jsonify(payload), 201


@bp.delete("/authors/<site_id:site_id>/notes/<row_id:note_id>")
@require_key("moderate")
def author_note_remove(site_id: str, note_id: int):  # type: ignore[no-untyped-def]
    """Remove a note (kept in the audit log)."""
    with services().sessions() as session, session.begin():
        author = _author(session, site_id)
        try:
            remove_note(session, author, note_id, _actor())
        except AuthorActionError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        payload = author_summary(session, author)
    return jsonify(payload)


def _flag(site_id: str, flag: str, on: bool):  # type: ignore[no-untyped-def]
    with services().sessions() as session, session.begin():
        author = _author(session, site_id)
        set_flag(session, author, flag, on, _actor())
        payload = author_summary(session, author)
    return jsonify(payload)


@bp.put("/authors/<site_id:site_id>/premoderation")
@require_key("moderate")
def premoderate(site_id: str):  # type: ignore[no-untyped-def]
    """Hold all the author's future comments for review."""
    return _flag(site_id, "premoderated", True)


@bp.delete("/authors/<site_id:site_id>/premoderation")
@require_key("moderate")
def unpremoderate(site_id: str):  # type: ignore[no-untyped-def]
    """Stop pre-moderating the author."""
    return _flag(site_id, "premoderated", False)


@bp.put("/authors/<site_id:site_id>/ban")
@require_key("moderate")
def ban(site_id: str):  # type: ignore[no-untyped-def]
    """Reject all the author's future comments."""
    return _flag(site_id, "banned", True)


@bp.delete("/authors/<site_id:site_id>/ban")
@require_key("moderate")
def unban(site_id: str):  # type: ignore[no-untyped-def]
    """Lift the ban."""
    return _flag(site_id, "banned", False)


@bp.get("/webhooks/deliveries")
@require_key("moderate")
def deliveries():  # type: ignore[no-untyped-def]
    """Webhook deliveries with their state, newest first."""
    state = parse_query(DeliveriesQuery, request.args).state
    with services().sessions() as session:
        rows = list_deliveries(session, state)
        payload = {
            "deliveries": [
                {
                    "id": d.id,
                    "event": d.event,
                    "state": d.state,
                    "attempts": d.attempts,
                    "next_attempt_at": d.next_attempt_at.isoformat(),
                    "last_status": d.last_status,
                    "last_error": d.last_error,
                    "created_at": d.created_at.isoformat(),
                    "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
                }
                for d in rows
            ]
        }
    return jsonify(payload)
