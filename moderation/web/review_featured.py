""" "Candidates to feature": the review page's listing of contributions editors may pick.

Per article, best first; each candidate shows the sentences that make it one. Feature (`f`) or
dismiss (`d`), both plain form POSTs with a CSRF token (`static/featured.js` adds the keys).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from ..models import Comment
from ..workflow.featuring import ACTIONS, FEATURED, FeatureRefused, candidates, choose
from ..workflow.submission import get_comment
from .extension import services
from .highlight import pieces

bp = Blueprint("review_featured", __name__, url_prefix="/review/featured")
RECENT_FEATURED = 25
_DONE = {"feature": "Featured", "dismiss": "Dismissed", "unfeature": "No longer featured:"}


def _card(comment: Comment) -> dict[str, Any]:
    block = (comment.verdict or {}).get("contribution") or {}
    spans = [
        {"start": s["start"], "end": s["end"], "rule": block.get("kind") or "contribution"}
        for s in block.get("spans", [])
    ]
    return {"comment": comment, "pieces": pieces(comment.text, spans), "block": block}


@bp.get("/")
@login_required
def candidates_view() -> ResponseReturnValue:
    """Open candidates grouped by article, best first, and the most recently featured comments."""
    article = request.args.get("article") or None
    with services().sessions() as session:
        groups = [
            {"article": g, "cards": [_card(c) for c in g.comments]} for g in candidates(session, article)
        ]
        recent = session.scalars(
            select(Comment)
            .where(Comment.feature_state == FEATURED)
            .order_by(Comment.featured_at.desc())
            .limit(RECENT_FEATURED)
        ).all()
        featured_cards = [_card(c) for c in recent]
        return render_template(
            "review/featured.html", groups=groups, featured=featured_cards, article=article
        )


@bp.post("/<site_id:site_id>/<action>")
@login_required
def choose_view(site_id: str, action: str) -> ResponseReturnValue:
    """Feature, dismiss or unfeature one comment, then back to the listing."""
    if action not in ACTIONS:
        abort(404)
    back = request.form.get("next") or ""
    target = back if back.startswith("/review/") else url_for("review_featured.candidates_view")
    svc = services()
    try:
        with svc.transaction() as session:
            comment = get_comment(session, site_id)
            if comment is None:
                abort(404)
            choose(session, comment, action, current_user.actor, svc.notify)
    except FeatureRefused as exc:
        flash(f"#{site_id}: {exc}", "error")
        return redirect(target)
    except StaleDataError:
        flash(f"#{site_id} changed while you were choosing; try again", "error")
        return redirect(target)
    flash(f"{_DONE[action]} #{site_id}", "ok")
    return redirect(target)
