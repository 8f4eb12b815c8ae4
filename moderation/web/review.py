"""The moderators' review page: queue listings, the item page, decisions, authors, statistics, admin.

Server-rendered; every action is a plain form POST (with a CSRF token), so the basic
approve/reject flow works without JavaScript. `static/review.js` adds keyboard shortcuts.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..accounts.apikeys import SCOPES, ApiKeyError, create_key, list_keys, revoke_key
from ..accounts.moderators import (
    ROLES,
    ModeratorError,
    create_moderator,
    find_moderator,
    list_moderators,
    set_disabled,
)
from ..models import AuditEntry, Comment
from ..workflow.authors import AuthorActionError, add_note, author_summary, remove_note, set_flag
from ..workflow.decisions import DecisionError, decide, undo
from ..workflow.moderator_stats import moderator_stats
from ..workflow.queue import LISTINGS, Filters, QueueConflict, list_queue, listing_query, queue_counts
from ..workflow.reports import list_reports
from ..workflow.rulehits import shadow_matches
from ..workflow.rulestats import READY_AGREEMENT, READY_MIN_DECIDED, drift, rule_stats
from ..workflow.stats import summary
from ..workflow.submission import find_author, get_comment
from .auth import admin_required
from .errors import ApiError
from .extension import services
from .highlight import pieces
from .review_live import claim_on_open
from .schemas import QueueFilters, parse_query

bp = Blueprint("review", __name__, url_prefix="/review")
PER_PAGE = 25
RULE_STATS_DAYS = 30  # per-rule agreement needs decisions: a month of them
DRIFT_DAYS = 14


def _listing_args() -> QueueFilters:
    """Filters, sort and page from the query string; a value no listing can hold is a 400."""
    try:
        return parse_query(QueueFilters, request.args)
    except ApiError as exc:
        abort(400, exc.message)


def _item(session: Session, comment: Comment, with_reports: bool = True) -> dict[str, Any]:
    verdict = comment.verdict
    return {
        "comment": comment,
        "pieces": pieces(comment.text, verdict.get("matches", [])),
        "matches": verdict.get("matches", []),
        "reasons": verdict.get("reasons", []),
        "scores": verdict.get("scores", {}),
        "reports": list_reports(session, comment) if with_reports else [],
    }


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/review/") else default


@bp.get("/")
@login_required
def home():  # type: ignore[no-untyped-def]
    """Start at the most urgent queue."""
    return redirect(url_for("review.queue_view", state="pending"))


@bp.get("/queue/<state>")
@login_required
def queue_view(state: str):  # type: ignore[no-untyped-def]
    """One listing, most urgent first, with counts, filters and pagination."""
    if state not in LISTINGS:
        abort(404)
    args = _listing_args()
    sort, page = args.sort, args.page
    filters = Filters(args.article, args.category, args.site_rule)
    svc = services()
    with svc.sessions() as session:
        comments, total = list_queue(session, state, filters, sort, page, PER_PAGE)
        items = [_item(session, c) for c in comments]
        counts = queue_counts(session)
    return render_template(
        "review/queue.html",
        state=state,
        items=items,
        total=total,
        page=page,
        per_page=PER_PAGE,
        sort=sort,
        filters=filters,
        counts=counts,
        site_rules=svc.pipeline.rules.site_rules,
        listings=LISTINGS,
    )


def _neighbours(session: Session, comment: Comment, state: str | None) -> tuple[str | None, str | None]:
    if state not in LISTINGS:
        return None, None
    ids = list(session.scalars(listing_query(state, Filters()).with_only_columns(Comment.site_id).limit(500)))
    if comment.site_id not in ids:
        return None, ids[0] if ids else None
    i = ids.index(comment.site_id)
    return (ids[i - 1] if i > 0 else None), (ids[i + 1] if i + 1 < len(ids) else None)


@bp.get("/comments/<site_id:site_id>")
@login_required
def item_view(site_id: str):  # type: ignore[no-untyped-def]
    """Everything about one comment: why it is here, reports, context, author, history."""
    reviewing = claim_on_open(site_id, current_user.actor)  # opening a queued comment claims it
    if reviewing:
        flash(f"{reviewing} is reviewing this comment; deciding it now is refused.", "warning")
    svc = services()
    with svc.sessions() as session:
        comment = get_comment(session, site_id)
        if comment is None:
            abort(404)
        state = request.args.get("state") or comment.queue
        item = _item(session, comment)
        parent = get_comment(session, comment.parent_site_id) if comment.parent_site_id else None
        author = author_summary(session, comment.author)
        audit = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.comment_id == comment.id).order_by(AuditEntry.id)
            )
        )
        previous_id, next_id = _neighbours(session, comment, state)
        shadow = shadow_matches(session, comment)
    return render_template(
        "review/item.html",
        item=item,
        shadow=shadow,
        parent=parent,
        author=author,
        audit=audit,
        state=state,
        previous_id=previous_id,
        next_id=next_id,
        site_rules=svc.pipeline.rules.site_rules,
    )


def _decide_one(
    site_id: str, action: str, site_rule: str | None, note: str | None, revision: int | None
) -> tuple[bool, str]:
    svc = services()
    try:
        with svc.sessions() as session, session.begin():
            comment = get_comment(session, site_id)
            if comment is None:
                return False, f"No comment {site_id}."
            decide(
                session,
                comment,
                current_user.actor,
                action,
                svc.pipeline.rules,
                svc.notify,
                site_rule,
                note,
                revision,
            )
    except (DecisionError, QueueConflict) as exc:
        return False, f"{site_id}: {exc}"
    except StaleDataError:
        return (
            False,
            f"{site_id}: someone else acted on this comment at the same moment; reload and try again",
        )
    verb = "Approved" if action == "approve" else "Rejected"
    return True, f"{verb} {site_id}."


@bp.post("/comments/<site_id:site_id>/decide")
@login_required
def decide_view(site_id: str):  # type: ignore[no-untyped-def]
    """Approve, or reject with a site rule; refused when the comment changed meanwhile."""
    form = request.form
    revision = form.get("revision", type=int)
    ok, message = _decide_one(
        site_id, form.get("action", ""), form.get("site_rule") or None, form.get("note") or None, revision
    )
    flash(message, "success" if ok else "error")
    return redirect(_back(url_for("review.item_view", site_id=site_id)))


@bp.post("/comments/<site_id:site_id>/undo")
@login_required
def undo_view(site_id: str):  # type: ignore[no-untyped-def]
    """Undo the comment's last decision."""
    svc = services()
    try:
        with svc.sessions() as session, session.begin():
            comment = get_comment(session, site_id)
            if comment is None:
                abort(404)
            undo(session, comment, current_user.actor, svc.notify)
        flash(f"Undid the last decision on {site_id}.", "success")
    except (QueueConflict, StaleDataError) as exc:
        flash(f"{site_id}: {exc or 'changed meanwhile'}", "error")
    return redirect(_back(url_for("review.item_view", site_id=site_id)))


@bp.post("/bulk")
@login_required
def bulk_view():  # type: ignore[no-untyped-def]
    """Approve or reject the selected items."""
    form = request.form
    ids = form.getlist("ids")
    action = form.get("action", "")
    if not ids:
        flash("Select some comments first.", "error")
        return redirect(_back(url_for("review.home")))
    done, problems = 0, []
    for site_id in ids:
        ok, message = _decide_one(
            site_id,
            action,
            form.get("site_rule") or None,
            form.get("note") or None,
            form.get(f"revision-{site_id}", type=int),
        )
        done += ok
        if not ok:
            problems.append(message)
    verb = "approved" if action == "approve" else "rejected"
    flash(f"{done} of {len(ids)} comments {verb}.", "success" if not problems else "error")
    for message in problems:
        flash(message, "error")
    return redirect(_back(url_for("review.home")))


@bp.post("/authors/<site_id:author_id>/notes")
@login_required
def author_note(author_id: str):  # type: ignore[no-untyped-def]
    """Add a note to an author."""
    text = (request.form.get("text") or "").strip()
    with services().sessions() as session, session.begin():
        author = find_author(session, author_id)
        if author is None:
            abort(404)
        if text:
            add_note(session, author, text[:2000], current_user.actor)
            flash("Note added.", "success")
        else:
            flash("A note needs some text.", "error")
    return redirect(_back(url_for("review.home")))


@bp.post("/authors/<site_id:author_id>/notes/<row_id:note_id>/remove")
@login_required
def author_note_remove(author_id: str, note_id: int):  # type: ignore[no-untyped-def]
    """Remove a note (it stays in the audit log)."""
    with services().sessions() as session, session.begin():
        author = find_author(session, author_id)
        if author is None:
            abort(404)
        try:
            remove_note(session, author, note_id, current_user.actor)
            flash("Note removed.", "success")
        except AuthorActionError as exc:
            flash(str(exc), "error")
    return redirect(_back(url_for("review.home")))


@bp.post("/authors/<site_id:author_id>/flag")
@login_required
def author_flag(author_id: str):  # type: ignore[no-untyped-def]
    """Turn pre-moderation or a ban on or off."""
    flag = request.form.get("flag")
    on = request.form.get("on") == "1"
    if flag not in ("premoderated", "banned"):
        abort(400)
    with services().sessions() as session, session.begin():
        author = find_author(session, author_id)
        if author is None:
            abort(404)
        set_flag(session, author, flag, on, current_user.actor)
    words = {
        ("premoderated", True): "pre-moderated",
        ("premoderated", False): "no longer pre-moderated",
        ("banned", True): "banned",
        ("banned", False): "no longer banned",
    }
    flash(f"{author_id} is {words[(flag, on)]}.", "success")
    return redirect(_back(url_for("review.home")))


@bp.get("/stats")
@login_required
def stats_view():  # type: ignore[no-untyped-def]
    """Queue size, decisions over time, overturned auto-actions per rule, report accuracy."""
    svc = services()
    rules = svc.pipeline.rules
    with svc.sessions() as session:
        data = summary(session)
        per_moderator = moderator_stats(session)
        rule_rows = rule_stats(session, RULE_STATS_DAYS, rules.modes())
        drifted = drift(session, rules.classifier_rules(), DRIFT_DAYS)
    queue_rows = [{"state": state, "n": n} for state, n in data["queue"].items()]
    overturned_rows = [
        {"rule": r["rule"], "overturned": r["overturned"], "upheld": r["decided"] - r["overturned"]}
        for r in data["overturned"][:12]
    ]
    return render_template(
        "review/stats.html",
        data=data,
        queue_rows=queue_rows,
        overturned_rows=overturned_rows,
        per_moderator=per_moderator,
        rule_rows=rule_rows,
        rule_days=RULE_STATS_DAYS,
        ready_agreement=READY_AGREEMENT,
        ready_min=READY_MIN_DECIDED,
        drift=drifted,
        drift_rows=[{"day": d["day"][5:], "pct": round((d["share"] or 0) * 100, 1)} for d in drifted["days"]],
    )


@bp.get("/admin")
@admin_required
def admin_view():  # type: ignore[no-untyped-def]
    """Moderators and API keys."""
    with services().sessions() as session:
        moderators = list_moderators(session)
        keys = list_keys(session)
    return render_template("review/admin.html", moderators=moderators, keys=keys, roles=ROLES, scopes=SCOPES)


@bp.post("/admin/moderators")
@admin_required
def admin_create_moderator():  # type: ignore[no-untyped-def]
    """Create a moderator."""
    form = request.form
    try:
        with services().sessions() as session, session.begin():
            create_moderator(
                session,
                form.get("username", "").strip(),
                form.get("password", ""),
                form.get("role", "moderator"),
            )
        flash(f"Moderator {form.get('username')} created.", "success")
    except ModeratorError as exc:
        flash(str(exc), "error")
    return redirect(url_for("review.admin_view"))


@bp.post("/admin/moderators/<username>/disable")
@admin_required
def admin_disable_moderator(username: str):  # type: ignore[no-untyped-def]
    """Disable or re-enable a moderator."""
    disable = request.form.get("disable") == "1"
    if disable and username == current_user.username:
        flash("You cannot disable yourself.", "error")
        return redirect(url_for("review.admin_view"))
    with services().sessions() as session, session.begin():
        moderator = find_moderator(session, username)
        if moderator is None:
            abort(404)
        set_disabled(session, moderator, disable)
    flash(f"{username} {'disabled' if disable else 'enabled'}.", "success")
    return redirect(url_for("review.admin_view"))


@bp.post("/admin/api-keys")
@admin_required
def admin_create_key():  # type: ignore[no-untyped-def]
    """Create an API key and show it once."""
    scopes = tuple(s for s in request.form.getlist("scopes") if s in SCOPES) or ("submit",)
    try:
        with services().sessions() as session, session.begin():
            key = create_key(session, request.form.get("name", ""), scopes)
    except ApiKeyError as exc:
        flash(str(exc), "error")
        return redirect(url_for("review.admin_view"))
    with services().sessions() as session:
        moderators, keys = list_moderators(session), list_keys(session)
    return render_template(
        "review/admin.html", moderators=moderators, keys=keys, roles=ROLES, scopes=SCOPES, new_key=key
    )


@bp.post("/admin/api-keys/<name>/revoke")
@admin_required
def admin_revoke_key(name: str):  # type: ignore[no-untyped-def]
    """Revoke an API key."""
    try:
        with services().sessions() as session, session.begin():
            revoke_key(session, name)
        flash(f"Key {name} revoked.", "success")
    except ApiKeyError as exc:
        flash(str(exc), "error")
    return redirect(url_for("review.admin_view"))
