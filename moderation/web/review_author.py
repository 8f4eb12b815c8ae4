"""The author page of the review site: everything one author wrote, with statuses, the reports
against them and by them, notes and what moderators did; suspension for a set time; and
"reject all recent comments" as one audited action behind a confirmation step."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..models import utcnow
from ..workflow.author_history import (
    author_comments,
    author_events,
    reports_against,
    reports_by,
    status_counts,
)
from ..workflow.authors import author_summary
from ..workflow.decisions import DecisionError
from ..workflow.submission import find_author
from ..workflow.suspensions import (
    RECENT_WINDOWS,
    SuspensionError,
    lift_suspension,
    recent_comments,
    reject_recent,
    suspend,
    suspended,
)
from .extension import services

bp = Blueprint("review_author", __name__, url_prefix="/review/authors")
PER_PAGE = 50
# What the suspension form offers, in hours.
SUSPENSIONS = {1: "1 hour", 24: "1 day", 72: "3 days", 168: "1 week", 720: "30 days"}
WINDOW_LABELS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days"}


@bp.get("/<site_id:author_id>")
@login_required
def author_view(author_id: str) -> ResponseReturnValue:
    """The author's whole record."""
    page = request.args.get("page", 1, type=int) or 1
    svc = services()
    with svc.sessions() as session:
        author = find_author(session, author_id)
        if author is None:
            abort(404)
        comments, total = author_comments(session, author, max(page, 1), PER_PAGE)
        context = {
            "author": author,
            "summary": author_summary(session, author, recent=0),
            "suspended": suspended(author),
            "comments": comments,
            "total": total,
            "counts": status_counts(session, author),
            "against": reports_against(session, author),
            "by": reports_by(session, author),
            "events": author_events(session, author),
        }
    return render_template(
        "review/author.html",
        page=max(page, 1),
        per_page=PER_PAGE,
        suspensions=SUSPENSIONS,
        windows=WINDOW_LABELS,
        site_rules=svc.pipeline.rules.breakable_site_rules(),
        **context,
    )


@bp.post("/<site_id:author_id>/suspend")
@login_required
def suspend_view(author_id: str) -> ResponseReturnValue:
    """Suspend the author for the chosen number of hours."""
    hours = request.form.get("hours", type=int)
    if hours not in SUSPENSIONS:
        flash("Choose how long the suspension lasts.", "error")
        return redirect(url_for("review_author.author_view", author_id=author_id))
    with services().transaction() as session:
        author = find_author(session, author_id)
        if author is None:
            abort(404)
        try:
            until = suspend(
                session,
                author,
                timedelta(hours=hours),
                current_user.actor,
                (request.form.get("note") or "").strip()[:2000] or None,
            )
        except SuspensionError as exc:
            flash(str(exc), "error")
            return redirect(url_for("review_author.author_view", author_id=author_id))
    flash(f"{author_id} is suspended until {until:%Y-%m-%d %H:%M} UTC.", "success")
    return redirect(url_for("review_author.author_view", author_id=author_id))


@bp.post("/<site_id:author_id>/unsuspend")
@login_required
def unsuspend_view(author_id: str) -> ResponseReturnValue:
    """End the author's suspension now."""
    with services().transaction() as session:
        author = find_author(session, author_id)
        if author is None:
            abort(404)
        lifted = lift_suspension(session, author, current_user.actor)
    flash(
        f"{author_id}'s suspension is lifted." if lifted else f"{author_id} is not suspended.",
        "success" if lifted else "error",
    )
    return redirect(url_for("review_author.author_view", author_id=author_id))


@bp.post("/<site_id:author_id>/reject-recent")
@login_required
def reject_recent_view(author_id: str) -> ResponseReturnValue:
    """First post: show what would be rejected. Second post (``confirm``): reject it all."""
    form = request.form
    window = form.get("window", "")
    site_rule = form.get("site_rule") or ""
    note = (form.get("note") or "").strip()[:2000] or None
    back = url_for("review_author.author_view", author_id=author_id)
    if window not in RECENT_WINDOWS or not site_rule:
        flash("Choose a period and the site rule the comments broke.", "error")
        return redirect(back)
    svc = services()
    rule = svc.pipeline.rules.site_rule(site_rule)
    if rule is None:
        flash(f"Unknown site rule {site_rule!r}.", "error")
        return redirect(back)
    if form.get("confirm") != "1":
        until = utcnow()
        since = until - RECENT_WINDOWS[window]
        with svc.sessions() as session:
            author = find_author(session, author_id)
            if author is None:
                abort(404)
            comments = recent_comments(session, author, since, until)
        return render_template(
            "review/reject_recent.html",
            author=author,
            comments=comments,
            window=window,
            since=since.isoformat(),
            until=until.isoformat(),
            site_rule=site_rule,
            rule=rule,
            note=note,
        )
    try:
        since = datetime.fromisoformat(form.get("since", ""))
        until = datetime.fromisoformat(form.get("until", ""))
    except ValueError:
        abort(400, "The confirmation form is incomplete; start again from the author page.")
    if since.tzinfo is None or until.tzinfo is None:
        abort(400, "The confirmation form is incomplete; start again from the author page.")
    with svc.transaction() as session:
        author = find_author(session, author_id)
        if author is None:
            abort(404)
        try:
            result = reject_recent(
                session,
                author,
                since,
                until,
                current_user.actor,
                svc.pipeline.rules,
                svc.notify,
                site_rule,
                note,
            )
        except DecisionError as exc:
            flash(str(exc), "error")
            return redirect(back)
    flash(f"Rejected {len(result.rejected)} recent comments by {author_id}.", "success")
    for site_id, why in result.skipped:
        flash(f"{site_id} left alone: {why}", "error")
    return redirect(back)
