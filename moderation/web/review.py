"""The moderators' review page: queue listings, the item page, decisions, authors, statistics, admin.

Server-rendered; every action is a plain form POST (with a CSRF token), so the basic
approve/reject flow works without JavaScript. `static/review.js` adds keyboard shortcuts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as session_store
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from ..accounts.apikeys import SCOPES, ApiKeyError, create_key, list_keys, revoke_key
from ..accounts.moderators import (
    ROLES,
    ModeratorError,
    create_moderator,
    find_moderator,
    list_moderators,
    record_account_action,
    set_disabled,
    set_password,
)
from ..categories import RULE_CATEGORIES
from ..models import Article, AuditEntry, Comment
from ..workflow.authors import AuthorActionError, add_note, author_summary, remove_note, set_flag
from ..workflow.decisions import DecisionError, decide, last_decision_by, undo, undoable
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


def _item(session: Session, comment: Comment, can_undo: bool = False) -> dict[str, Any]:
    verdict = comment.verdict
    unique = {(m["rule"], m.get("start"), m.get("end")): m for m in verdict.get("matches", [])}
    matches = list(unique.values())
    reports = list_reports(session, comment)
    return {
        "comment": comment,
        "pieces": pieces(comment.text, verdict.get("matches", [])),
        "matches": matches,
        "chips": _chips(matches),
        "reasons": list(dict.fromkeys(verdict.get("reasons", []))),
        "scores": verdict.get("scores", {}),
        "reports": reports,
        "report_reasons": Counter(r["reason"] for r in reports).most_common(),
        "undoable": can_undo,
    }


def _chips(matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One chip per site rule, category and action, however many passages matched."""
    chips: dict[tuple[str, str, str], dict[str, Any]] = {}
    for m in matches:
        if not m.get("site_rule"):
            continue
        key = (m["site_rule"], m["category"], m["action"])
        chip = chips.setdefault(key, {"site_rule": key[0], "category": key[1], "action": key[2], "rules": []})
        chip["rules"].append(m["rule"])
    return list(chips.values())


def _back(default: str) -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/review/") else default


@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    """Start at the most urgent queue."""
    return redirect(url_for("review.queue_view", state="pending"))


@bp.get("/queue/<state>")
@login_required
def queue_view(state: str) -> ResponseReturnValue:
    """One listing, most urgent first, with counts, filters and pagination."""
    if state not in LISTINGS:
        abort(404)
    return _queue_page(state, _listing_args(), request.full_path)


def _queue_page(
    state: str, args: QueueFilters, back: str, kept: dict[str, Any] | None = None, status: int = 200
) -> ResponseReturnValue:
    """The listing page; ``kept`` re-checks what the moderator chose when their form was refused."""
    sort, page = args.sort, args.page
    category = (args.category or "").strip().lower().replace(" ", "_") or None
    svc = services()
    with svc.sessions() as session:
        article, article_title = _article(session, args.article)
        filters = Filters(article, category, args.site_rule)
        comments, total = list_queue(session, state, filters, sort, page, PER_PAGE)
        last_page = max(1, -(-total // PER_PAGE))
        if page > last_page and request.method == "GET":
            # Past the end (e.g. after deciding the last page's items): the last page there is.
            target: dict[str, Any] = {**request.args, "state": state, "page": last_page}
            return redirect(url_for("review.queue_view", **target))
        can_undo = undoable(session, [c.id for c in comments])
        items = [_item(session, c, c.id in can_undo) for c in comments]
        counts = queue_counts(session, filters)
    return render_template(
        "review/queue.html",
        state=state,
        items=items,
        total=total,
        page=page,
        per_page=PER_PAGE,
        sort=sort,
        filters=filters,
        article_title=article_title,
        counts=counts,
        categories=RULE_CATEGORIES,
        site_rules=svc.pipeline.rules.breakable_site_rules(),
        listings=LISTINGS,
        back=back,
        kept=kept or {"ids": (), "site_rule": None},
    ), status


def _article(session: Session, typed: str | None) -> tuple[str | None, str | None]:
    """The article filter as an id, from the id or the title the page shows; and that title."""
    if not typed:
        return None, None
    typed = typed.strip()
    found = session.scalar(select(Article).where(Article.site_id == typed))
    if found is None:
        found = session.scalars(
            select(Article).where(func.lower(Article.title) == typed.lower()).order_by(Article.id.desc())
        ).first()
    if found is None:
        return typed, None
    return found.site_id, found.title


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
def item_view(site_id: str) -> ResponseReturnValue:
    """Everything about one comment: why it is here, reports, context, author, history."""
    reviewing = claim_on_open(site_id, current_user.actor)  # opening a queued comment claims it
    if reviewing:
        flash(f"{reviewing} is reviewing this comment; deciding it now is refused.", "warning")
    return _item_page(site_id, request.args.get("state"))


def _item_page(
    site_id: str, state: str | None, kept: dict[str, Any] | None = None, status: int = 200
) -> ResponseReturnValue:
    """The item page; ``kept`` re-fills the decision form when the moderator's form was refused."""
    svc = services()
    with svc.sessions() as session:
        comment = get_comment(session, site_id)
        if comment is None:
            abort(404)
        state = state or comment.queue
        item = _item(session, comment, comment.id in undoable(session, [comment.id]))
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
        site_rules=svc.pipeline.rules.breakable_site_rules(),
        back=url_for("review.item_view", site_id=site_id, state=state),
        kept=kept or {},
    ), status


def _decide_one(
    site_id: str, action: str, site_rule: str | None, note: str | None, revision: int | None
) -> tuple[bool, str]:
    svc = services()
    try:
        with svc.transaction() as session:
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
def decide_view(site_id: str) -> ResponseReturnValue:
    """Approve, or reject with a site rule; refused when the comment changed meanwhile."""
    form = request.form
    revision = form.get("revision", type=int)
    ok, message = _decide_one(
        site_id, form.get("action", ""), form.get("site_rule") or None, form.get("note") or None, revision
    )
    # A decision can be undone from the message it leaves (and with `u` from anywhere).
    flash(message, "success undoable" if ok else "error")
    return redirect(_back(url_for("review.item_view", site_id=site_id)))


@bp.post("/comments/<site_id:site_id>/undo")
@login_required
def undo_view(site_id: str) -> ResponseReturnValue:
    """Undo the comment's last decision; refused when the comment changed since the page was loaded."""
    svc = services()
    try:
        with svc.transaction() as session:
            comment = get_comment(session, site_id)
            if comment is None:
                abort(404)
            entry = undo(
                session, comment, current_user.actor, svc.notify, request.form.get("revision", type=int)
            )
            message = f"{entry.reason} on {site_id}: {_where(comment)}."  # "Undid reject by ..."
        flash(message, "success")
    except (QueueConflict, StaleDataError) as exc:
        flash(f"{site_id}: {exc or 'changed meanwhile'}", "error")
    return redirect(_back(url_for("review.item_view", site_id=site_id)))


_YOUR = {"approve": "your approval", "reject": "your rejection"}


def _where(comment: Comment) -> str:
    return f"back in the {comment.queue} queue" if comment.queue else f"{comment.status} again"


@bp.post("/undo-last")
@login_required
def undo_last_view() -> ResponseReturnValue:
    """Undo the moderator's own last decision, wherever they are now (the `u` key)."""
    svc = services()
    back = _back(url_for("review.home"))
    with svc.sessions() as session:
        entry = last_decision_by(session, current_user.actor)
        comment = session.get(Comment, entry.comment_id) if entry and entry.comment_id else None
        site_id = comment.site_id if comment else None
    if entry is None or site_id is None:
        flash("You have no decision left to undo.", "error")
        return redirect(back)
    what = _YOUR[entry.action]
    try:
        with svc.transaction() as session:
            comment = get_comment(session, site_id)
            assert comment is not None
            revision = (entry.details or {}).get("revision_after")
            undo(session, comment, current_user.actor, svc.notify, revision)
            flash(f"Undid {what} of {site_id}: {_where(comment)}.", "success")
    except (QueueConflict, StaleDataError) as exc:
        flash(f"Cannot undo {what} of {site_id}: {exc or 'it changed meanwhile'}", "error")
    if back.startswith("/review/comments/"):
        # On an item page, go back to the comment restored, in the listing being worked.
        state = request.args.get("state") or parse_qs(urlsplit(back).query).get("state", [None])[0]
        return redirect(url_for("review.item_view", site_id=site_id, state=state))
    return redirect(back)


@bp.post("/bulk")
@login_required
def bulk_view() -> ResponseReturnValue:
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
def author_note(author_id: str) -> ResponseReturnValue:
    """Add a note to an author."""
    text = (request.form.get("text") or "").strip()
    with services().transaction() as session:
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
def author_note_remove(author_id: str, note_id: int) -> ResponseReturnValue:
    """Remove a note (it stays in the audit log)."""
    with services().transaction() as session:
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
def author_flag(author_id: str) -> ResponseReturnValue:
    """Turn pre-moderation or a ban on or off."""
    flag = request.form.get("flag")
    on = request.form.get("on") == "1"
    if flag not in ("premoderated", "banned"):
        abort(400)
    with services().transaction() as session:
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
def stats_view() -> ResponseReturnValue:
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
def admin_view() -> ResponseReturnValue:
    """Moderators and API keys; a key just created is shown here once."""
    throttle = current_app.extensions["login_throttle"]
    with services().sessions() as session:
        moderators = list_moderators(session)
        keys = list_keys(session)
    locked = {m.username for m in moderators if throttle.locked(m.username)}
    return render_template(
        "review/admin.html",
        moderators=moderators,
        locked=locked,
        keys=keys,
        roles=ROLES,
        scopes=SCOPES,
        new_key=session_store.pop("new_key", None),
    )


@bp.post("/admin/moderators")
@admin_required
def admin_create_moderator() -> ResponseReturnValue:
    """Create a moderator."""
    form = request.form
    try:
        with services().transaction() as session:
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
def admin_disable_moderator(username: str) -> ResponseReturnValue:
    """Disable or re-enable a moderator."""
    disable = request.form.get("disable") == "1"
    if disable and username == current_user.username:
        flash("You cannot disable yourself.", "error")
        return redirect(url_for("review.admin_view"))
    with services().transaction() as session:
        moderator = find_moderator(session, username)
        if moderator is None:
            abort(404)
        set_disabled(session, moderator, disable)
    flash(f"{username} {'disabled' if disable else 'enabled'}.", "success")
    return redirect(url_for("review.admin_view"))


@bp.post("/admin/moderators/<username>/unlock")
@admin_required
def admin_unlock_moderator(username: str) -> ResponseReturnValue:
    """Forget a moderator's failed log-ins, so a locked-out moderator can log in again (audited)."""
    with services().transaction() as session:
        moderator = find_moderator(session, username)
        if moderator is None:
            abort(404)
        current_app.extensions["login_throttle"].unlock(username)
        record_account_action(session, current_user.actor, "moderator-unlock", moderator)
    flash(f"{username} can log in again.", "success")
    return redirect(url_for("review.admin_view"))


@bp.post("/admin/moderators/<username>/password")
@admin_required
def admin_set_password(username: str) -> ResponseReturnValue:
    """Set a moderator's password (audited); their open sessions end."""
    try:
        with services().transaction() as session:
            moderator = find_moderator(session, username)
            if moderator is None:
                abort(404)
            set_password(session, moderator, request.form.get("password", ""), current_user.actor)
        current_app.extensions["login_throttle"].unlock(username)
        flash(f"New password set for {username}; their open sessions have ended.", "success")
    except ModeratorError as exc:
        flash(str(exc), "error")
    return redirect(url_for("review.admin_view"))


@bp.post("/admin/api-keys")
@admin_required
def admin_create_key() -> ResponseReturnValue:
    """Create an API key, then show it once on the Admin page (redirect after POST: a reload
    does not create another)."""
    scopes = tuple(s for s in request.form.getlist("scopes") if s in SCOPES) or ("submit",)
    name = request.form.get("name", "").strip()
    try:
        with services().transaction() as session:
            key = create_key(session, name, scopes)
    except ApiKeyError as exc:
        flash(str(exc), "error")
        return redirect(url_for("review.admin_view"))
    session_store["new_key"] = {"name": name, "key": key}
    return redirect(url_for("review.admin_view"))


@bp.post("/admin/api-keys/<row_id:key_id>/revoke")
@admin_required
def admin_revoke_key(key_id: int) -> ResponseReturnValue:
    """Revoke an API key (by id: any name, even one made before names were checked)."""
    try:
        with services().transaction() as session:
            name = revoke_key(session, key_id=key_id).name
        flash(f"Key {name} revoked.", "success")
    except ApiKeyError as exc:
        flash(str(exc), "error")
    return redirect(url_for("review.admin_view"))


@bp.app_errorhandler(CSRFError)
def csrf_refused(exc: CSRFError) -> ResponseReturnValue:
    """A form whose CSRF token expired (or is missing): nothing is done, and nothing chosen is lost.

    The page is drawn again with a fresh token and the moderator's choices filled in, so one more
    click does what they meant.
    """
    expired = "expired" in (exc.description or "")
    message = (
        "This page was open so long that its form expired, so nothing was done."
        if expired
        else "The form's security token was missing or wrong, so nothing was done."
    )
    form = request.form
    if request.endpoint == "auth.login":
        flash(f"{message} Log in again.", "error")
        return render_template("review/login.html", username=form.get("username", "")), 400
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    back = _back(url_for("review.home"))
    if request.endpoint == "review.decide_view" and request.view_args:
        flash(f"{message} Your choice is kept: press the button again.", "error")
        state = parse_qs(urlsplit(back).query).get("state", [None])[0]
        kept = {"site_rule": form.get("site_rule"), "note": form.get("note")}
        return _item_page(request.view_args["site_id"], state, kept, 400)
    if request.endpoint == "review.bulk_view":
        target = urlsplit(back)
        state = target.path.rsplit("/", 1)[-1]
        if target.path.startswith("/review/queue/") and state in LISTINGS:
            flash(f"{message} Your selection is kept: press the button again.", "error")
            try:
                args = parse_query(QueueFilters, MultiDict(parse_qsl(target.query)))
            except ApiError:
                args = QueueFilters()
            selection: dict[str, Any] = {"ids": form.getlist("ids"), "site_rule": form.get("site_rule")}
            return _queue_page(state, args, back, selection, 400)
    flash(f"{message} Please do it again.", "error")
    return redirect(back)
